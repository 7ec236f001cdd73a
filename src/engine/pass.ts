/**
 * One engine pass over one rollout, in DESIGN.md's fixed order: load; gather observations; decide
 * (pure core); apply the actions through the ports; write status and audit events once, in one
 * transaction, compare-and-swap on the Deployment's version and checked against the lease's
 * fencing token; return when to look again.
 */
import { digestOf } from '../core/audit/chain.js';
import type { DeploymentSpec } from '../core/resources/deployment.js';
import type { ServiceSpec } from '../core/resources/service.js';
import type { EnvSpec } from '../core/secrets/env.js';
import {
  decide,
  isFinishedPhase,
  OPERATION_RESULTS_KEPT,
  readDeploymentStatus,
  type DecideResult,
  type DeploymentStatus,
  type RolloutSpec,
} from '../core/rollout/index.js';
import type { Notifier } from '../ports/notifier.js';
import { ConflictError, type StoredObject, type Stores } from '../ports/store.js';
import { applyActions } from './effects.js';
import { applyChangeEffects, othersFinishedVia, planChangeEffects, type ChangeEffectInput } from './governance/change-effects.js';
import { observeGate, type ObservedGate } from './governance/runtime-gate.js';
import { gatherObservations } from './observe.js';
import { resolveRolloutSpec, ResolveError, stableVersionOf, type ServiceEnvironmentStatus } from './resolve.js';
import type { RuntimeRegistry } from './runtime.js';
import { createEngineSecrets, SecretResolutionError, type EngineSecrets } from './secrets.js';

export type Commit = <T>(work: (stores: Stores) => Promise<T>) => Promise<T>;

/** Thrown inside the status transaction when this process no longer holds the rollout's lease. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

export interface PassDeps {
  read: Pick<Stores, 'objects'>;
  commit: Commit;
  runtimes: RuntimeRegistry;
  notifier?: Notifier;
  now: () => Date;
  /** Checks, inside the write transaction, that this process still owns the rollout. */
  assertOwner(stores: Stores, rollout: string): Promise<void>;
  /** Resolves secretRefs into a version's env and redacts their values; default: no provider. */
  secrets?: EngineSecrets;
}

/** For passes run without secrets: plain env works, a secretRef fails to resolve. */
export const NO_SECRETS: EngineSecrets = createEngineSecrets();

export type PassOutcome =
  /** `decidedAt`: the `now` (ms) decide() ran with, which `requeueAfterMs` counts from. */
  | { kind: 'done'; requeueAfterMs: number | null; phase: string | null; wrote: boolean; decidedAt?: number }
  | { kind: 'gone' }
  | { kind: 'conflict' };

const AUDIT_ACTOR = 'system:engine';

export async function runPass(deps: PassDeps, name: string): Promise<PassOutcome> {
  const deployment = await deps.read.objects.get('Deployment', name);
  if (!deployment) return { kind: 'gone' };
  const stored = readDeploymentStatus(deployment.status);
  if (stored.rollout && isFinishedPhase(stored.rollout.phase) && stored.pendingOperations.length === 0 && stored.rollout.retirements.every((r) => r.retiredAt !== null)) {
    return { kind: 'done', requeueAfterMs: null, phase: stored.rollout.phase, wrote: false };
  }

  let resolved: RolloutSpec;
  let service: StoredObject | null = null;
  try {
    if (stored.resolved) {
      resolved = stored.resolved;
    } else {
      ({ spec: resolved, service } = await resolveRolloutSpec(deps.read, deployment));
    }
  } catch (error) {
    if (!(error instanceof ResolveError)) throw error;
    return writeUnresolvable(deps, deployment, stored, error.message);
  }
  service ??= await deps.read.objects.get('Service', resolved.service);
  if (!service) return writeUnresolvable(deps, deployment, stored, `service "${resolved.service}" no longer exists`);

  const runtime = await deps.runtimes.get(resolved.service, service.spec as unknown as ServiceSpec, resolved.environment ?? 'default');
  const now = deps.now().getTime();
  const deploymentSpec = deployment.spec as unknown as DeploymentSpec;
  // The governance gate, for a rollout that can still start or advance (a retry starts one again).
  const unfinished = stored.rollout === null || !isFinishedPhase(stored.rollout.phase) || stored.pendingOperations.some((operation) => operation.type === 'retry');
  const observed: ObservedGate | null = unfinished ? await observeGate(deps.read, deployment, resolved, now, service) : null;
  const observations = { ...(await gatherObservations(runtime, resolved, stored.rollout, stored.pendingOperations, now)), gate: observed?.gate ?? null };
  const result = decide({ spec: resolved, status: stored.rollout, observations, now });

  let applied: Awaited<ReturnType<typeof applyActions>>;
  try {
    applied = await applyActions(result.actions, {
      runtime,
      deployment: name,
      environment: resolved.environment ?? 'default',
      ...(deploymentSpec.artifact?.digest ? { artifactDigest: deploymentSpec.artifact.digest } : {}),
      ...(deps.notifier ? { notifier: deps.notifier } : {}),
      now: deps.now,
      envFor: async (version) => {
        const environment = resolved.environment ?? 'default';
        const env = version === resolved.canaryVersion ? deploymentSpec.env : await envOfStable(deps.read, service, environment, version);
        return (deps.secrets ?? NO_SECRETS).envFor(service.spec as unknown as ServiceSpec, environment, env);
      },
    });
  } catch (error) {
    // A secret that does not resolve (yet): the operator fixes it with `rollgate secret set`, so
    // the rollout waits where it is, visibly, and tries again, instead of failing for good.
    if (error instanceof SecretResolutionError) return writeBlocked(deps, deployment, stored, error.message);
    throw error;
  }

  const next = nextDeploymentStatus(stored, resolved, result, now);
  const deploymentChanged = result.events.length > 0 || applied.promoted.length > 0 || !sameJson(next, stored);
  // The change record this Deployment runs under: moved along with the rollout (see change-effects.ts).
  const changeName = deploymentSpec.change ?? null;
  const changeInput: ChangeEffectInput = { deployment: name, service: resolved.service, rollout: result.status, gate: observed?.gate ?? null, now };
  let changeWork = false;
  if (changeName) {
    const change = observed?.change ?? (await deps.read.objects.get('Change', changeName));
    changeWork = change !== null && (await planChangeEffects(change, changeInput, othersFinishedVia(deps.read.objects, change, name))) !== null;
  }
  if (!deploymentChanged && !changeWork) return { kind: 'done', requeueAfterMs: result.requeueAfterMs, phase: next.rollout?.phase ?? null, wrote: false, decidedAt: now };

  try {
    await deps.commit(async (stores) => {
      await deps.assertOwner(stores, name);
      if (deploymentChanged) await stores.objects.update('Deployment', name, deployment.version, { status: next as unknown as Record<string, unknown> });
      // Digests only for the events that carry them: most passes record a measurement and have none.
      const before = result.events.length > 0 ? digestOf(stored.rollout) : null;
      const after = result.events.length > 0 ? digestOf(next.rollout) : null;
      for (const event of result.events) {
        await stores.audit.append({
          time: new Date(event.at).toISOString(),
          actor: event.actor === 'system' ? AUDIT_ACTOR : event.actor,
          action: `rollout.${event.type}`,
          kind: 'Deployment',
          name,
          beforeDigest: before,
          afterDigest: after,
          details: { message: event.message, phase: event.phase, attempt: event.attempt, step: event.stepIndex, seq: event.seq },
        });
      }
      for (const promotion of applied.promoted) await recordStable(stores, resolved, name, promotion.version, deps.now());
      // Governance effects on the change, after the Deployment: re-read here, compare-and-swap on its version.
      if (changeName) await applyChangeEffects(stores, changeName, changeInput);
    });
  } catch (error) {
    // Another writer (an operator's request, another pass) got there first: the effects applied
    // are idempotent, so the next pass simply decides again from the newer status.
    if (error instanceof ConflictError) return { kind: 'conflict' };
    throw error;
  }
  return { kind: 'done', requeueAfterMs: result.requeueAfterMs, phase: next.rollout?.phase ?? null, wrote: true, decidedAt: now };
}

/**
 * True when `a` and `b` have the same canonical JSON (`canonicalJson(a) === canonicalJson(b)`:
 * object members in any order, undefined members absent, undefined array items null), without
 * building either string (that was a quarter of a pass's CPU). Like canonicalJson, it throws on a
 * non-finite number it compares.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (typeof a === 'number' && !Number.isFinite(a)) throw new TypeError('non-finite number in canonical JSON');
  if (typeof b === 'number' && !Number.isFinite(b)) throw new TypeError('non-finite number in canonical JSON');
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    // Leaves: equal when they serialise the same (functions and symbols become null in JSON).
    return a === b || JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    if (a.length !== other.length) return false;
    for (let i = 0; i < a.length; i += 1) if (!sameJson(a[i], other[i])) return false;
    return true;
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  let count = 0;
  for (const key of Object.keys(left)) {
    if (left[key] === undefined) continue;
    count += 1;
    if (!Object.hasOwn(right, key) || right[key] === undefined || !sameJson(left[key], right[key])) return false;
  }
  for (const key of Object.keys(right)) if (right[key] !== undefined) count -= 1;
  return count === 0;
}

/** The env of the Deployment that made `version` stable, so a restarted stable version gets it back. */
export async function envOfStable(read: Pick<Stores, 'objects'>, service: StoredObject, environment: string, version: string): Promise<EnvSpec | undefined> {
  const stable = stableVersionOf(service, environment);
  if (!stable || stable.stableVersion !== version) return undefined;
  const deployment = await read.objects.get('Deployment', stable.deployment);
  return (deployment?.spec as unknown as DeploymentSpec | undefined)?.env;
}

function nextDeploymentStatus(stored: DeploymentStatus, resolved: RolloutSpec, result: DecideResult, now: number): DeploymentStatus {
  const handled = new Set(result.operationResults.map((operation) => operation.id));
  const actors = new Map(stored.pendingOperations.map((operation) => [operation.id, operation.actor]));
  return {
    rollout: result.status,
    resolved,
    pendingOperations: stored.pendingOperations.filter((operation) => !handled.has(operation.id)),
    operationResults: [
      ...stored.operationResults,
      ...result.operationResults.map((operation) => ({ ...operation, actor: actors.get(operation.id) ?? 'unknown', handledAt: now })),
    ].slice(-OPERATION_RESULTS_KEPT),
  };
}

/** The service's stable version per environment, written in the same transaction as the promotion. */
async function recordStable(stores: Stores, resolved: RolloutSpec, deployment: string, version: string, now: Date): Promise<void> {
  const service = await stores.objects.get('Service', resolved.service);
  if (!service) return;
  const environment = resolved.environment ?? 'default';
  const current = stableVersionOf(service, environment);
  if (current?.stableVersion === version && current.deployment === deployment) return;
  const entry: ServiceEnvironmentStatus = { stableVersion: version, deployment, since: now.toISOString() };
  const environments = { ...((service.status?.environments ?? {}) as Record<string, unknown>), [environment]: entry };
  await stores.objects.update('Service', service.name, service.version, { status: { ...(service.status ?? {}), environments } });
  await stores.audit.append({
    time: now.toISOString(),
    actor: AUDIT_ACTOR,
    action: 'service.stable',
    kind: 'Service',
    name: service.name,
    beforeDigest: digestOf(service.status),
    afterDigest: digestOf({ ...(service.status ?? {}), environments }),
    details: { environment, version, previous: current?.stableVersion ?? null, deployment },
  });
}

/** How soon a blocked rollout tries again. */
export const BLOCKED_RETRY_MS = 5_000;

/**
 * The rollout could not take its step: the reason goes on the status (once per distinct message,
 * with an audit event) and the rollout is passed again later. Its rollout status is left as it
 * was: the step's effects did not all happen.
 */
async function writeBlocked(deps: PassDeps, deployment: StoredObject, stored: DeploymentStatus, message: string): Promise<PassOutcome> {
  const phase = stored.rollout?.phase ?? null;
  if (stored.blocked?.message === message) return { kind: 'done', requeueAfterMs: BLOCKED_RETRY_MS, phase, wrote: false };
  const blocked: DeploymentStatus = { ...stored, blocked: { message, at: deps.now().toISOString() } };
  try {
    await deps.commit(async (stores) => {
      await deps.assertOwner(stores, deployment.name);
      await stores.objects.update('Deployment', deployment.name, deployment.version, { status: blocked as unknown as Record<string, unknown> });
      await stores.audit.append({
        time: deps.now().toISOString(),
        actor: AUDIT_ACTOR,
        action: 'rollout.Blocked',
        kind: 'Deployment',
        name: deployment.name,
        beforeDigest: digestOf(deployment.status),
        afterDigest: digestOf(blocked),
        details: { message },
      });
    });
  } catch (error) {
    if (error instanceof ConflictError) return { kind: 'conflict' };
    throw error;
  }
  return { kind: 'done', requeueAfterMs: BLOCKED_RETRY_MS, phase, wrote: true };
}

/** A rollout whose inputs cannot be resolved fails visibly instead of retrying forever. */
async function writeUnresolvable(deps: PassDeps, deployment: StoredObject, stored: DeploymentStatus, message: string): Promise<PassOutcome> {
  if (stored.failure?.message === message) return { kind: 'done', requeueAfterMs: null, phase: null, wrote: false };
  const failure: DeploymentStatus = { ...stored, failure: { message, at: deps.now().toISOString() } };
  try {
    await deps.commit(async (stores) => {
      await deps.assertOwner(stores, deployment.name);
      await stores.objects.update('Deployment', deployment.name, deployment.version, { status: failure as unknown as Record<string, unknown> });
      await stores.audit.append({
        time: deps.now().toISOString(),
        actor: AUDIT_ACTOR,
        action: 'rollout.Unresolvable',
        kind: 'Deployment',
        name: deployment.name,
        beforeDigest: digestOf(deployment.status),
        afterDigest: digestOf(failure),
        details: { message },
      });
    });
  } catch (error) {
    if (error instanceof ConflictError) return { kind: 'conflict' };
    throw error;
  }
  return { kind: 'done', requeueAfterMs: null, phase: null, wrote: true };
}
