/**
 * What a rollout pass does to the change record that authorizes it (ADR 0004): written in the same
 * transaction as the rollout status, compare-and-swap on the change's version, with audit events.
 *
 * - The gate is open and the rollout deployed (its new version was ensured) while the change is
 *   `Scheduled`: the change moves to `Implement`.
 * - The gate is open only thanks to an emergency override of a blackout, the first time:
 *   `status.override` and a mandatory `status.postReleaseReview` are recorded (`change.override`).
 * - The rollout finished (Healthy, Aborted, Degraded) and so did every other Deployment the change
 *   authorizes, while the change is `Implement`: it moves to `Review`, the reason naming each outcome.
 * - The gate's results are kept in `status.gates` (per service) when they changed.
 *
 * `planChangeEffects` computes the new status and audit events from the change as read (it does not
 * write); `applyChangeEffects` re-reads the change inside the transaction and writes them.
 */
import { digestOf } from '../../core/audit/chain.js';
import { transition } from '../../core/governance/change.js';
import type { RuntimeGate } from '../../core/governance/gate.js';
import { changeRecordStatusSchema, type ChangeRecordStatus, type GateResult } from '../../core/governance/records.js';
import { changeSpecSchema, type ChangeState } from '../../core/resources/change.js';
import { isFinishedPhase, readDeploymentStatus, type RolloutStatus } from '../../core/rollout/index.js';
import type { StoredObject, Stores } from '../../ports/store.js';

export const ENGINE_ACTOR = 'system:engine';

export interface ChangeEffectInput {
  /** The Deployment this pass is about. */
  deployment: string;
  /** Its service: the gate results are stored per service. */
  service: string;
  /** The rollout status decide() returned this pass. */
  rollout: RolloutStatus;
  /** This pass's gate; null when none was evaluated (no gate applies, or the rollout had finished). */
  gate: RuntimeGate | null;
  now: number;
}

export interface ChangeAudit {
  action: string;
  details: Record<string, unknown>;
}

export interface ChangeEffects {
  status: ChangeRecordStatus;
  audits: ChangeAudit[];
}

/** Outcome of each other Deployment of the change; `finished` false while any is still running. */
export type OthersFinished = () => Promise<{ finished: boolean; outcomes: string[] }>;

const outcomeOf = (name: string, rollout: RolloutStatus): string =>
  rollout.phase === 'Healthy' ? `rollout ${name} Healthy` : `rollout ${name} ${rollout.phase}${rollout.abort ? `: ${rollout.abort.message}` : ''}`;

/** Results compared on what people read (policy inputs such as the time are left out). */
const resultKey = (results: readonly GateResult[]) =>
  JSON.stringify(results.map((result) => [result.gate, result.name, result.outcome, result.message, result.service ?? null, result.expression ?? null]));

/** The gate's results as stored on the change: each tagged with the service the gate was evaluated for. */
export const tagResults = (results: readonly GateResult[], service: string): GateResult[] => results.map((result) => (result.service ? result : { ...result, service }));

/** The effects of this pass on `change`, or null when there are none. Does not write. */
export async function planChangeEffects(change: StoredObject, input: ChangeEffectInput, othersFinished: OthersFinished): Promise<ChangeEffects | null> {
  const spec = changeSpecSchema.safeParse(change.spec);
  const parsed = changeRecordStatusSchema.safeParse(change.status ?? {});
  if (!spec.success || !parsed.success) return null;
  let status: ChangeRecordStatus = parsed.data;
  const audits: ChangeAudit[] = [];
  const { rollout, gate, now, deployment } = input;
  const at = new Date(now).toISOString();

  const move = (to: ChangeState, reason: string): boolean => {
    const result = transition({ spec: spec.data, status }, to, { actor: ENGINE_ACTOR, now, reason });
    if (!result.ok) return false;
    const from = status.state;
    status = { ...status, state: to, stateEnteredAt: result.event.at, history: [...status.history, { at: result.event.at, actor: ENGINE_ACTOR, from, to, reason }] };
    audits.push({ action: `change.${to}`, details: { from, to, reason, deployment } });
    return true;
  };

  // Scheduled → Implement: the rollout passed the gate and deployed.
  if (gate?.open && status.state === 'Scheduled' && rollout.newVersion.ensuredAt !== null) {
    move('Implement', `rollout ${deployment} passed the governance gate and started (${gate.message})`);
  }

  // Emergency override of a blackout, recorded once with a mandatory post-release review.
  if (gate?.open && gate.override && !status.override && status.state !== 'Canceled' && status.state !== 'Closed') {
    const reason = `emergency change ran inside blackout ${gate.override.window}`;
    status = {
      ...status,
      override: { at, window: gate.override.window, approvers: gate.override.approvers, reason },
      postReleaseReview: status.postReleaseReview?.required ? status.postReleaseReview : { required: true, reason, createdAt: at },
    };
    audits.push({ action: 'change.override', details: { window: gate.override.window, approvers: gate.override.approvers, deployment, reason } });
  }

  // Implement → Review once every rollout of the change has finished.
  if (isFinishedPhase(rollout.phase) && status.state === 'Implement') {
    const others = await othersFinished();
    if (others.finished) move('Review', [outcomeOf(deployment, rollout), ...others.outcomes].join('; '));
  }

  // The gate's latest results for this service, when they changed.
  if (gate) {
    const mine = tagResults(gate.results, input.service);
    const kept = status.gates.filter((result) => result.service !== input.service);
    const before = status.gates.filter((result) => result.service === input.service);
    if (resultKey(before) !== resultKey(mine)) {
      status = { ...status, gates: [...kept, ...mine] };
      audits.push({
        action: 'change.gates',
        details: { deployment, service: input.service, open: gate.open, message: gate.message, results: mine.map((result) => `${result.gate} ${result.name}: ${result.outcome}`) },
      });
    }
  }

  return audits.length > 0 ? { status, audits } : null;
}

/** The other Deployments the change authorizes (`status.deployments`), read through `objects`. */
export function othersFinishedVia(objects: Pick<Stores, 'objects'>['objects'], change: StoredObject, self: string): OthersFinished {
  return async () => {
    const listed = changeRecordStatusSchema.safeParse(change.status ?? {});
    const names = [...new Set(listed.success ? listed.data.deployments : [])].filter((name) => name !== self);
    const outcomes: string[] = [];
    for (const name of names) {
      const other = await objects.get('Deployment', name);
      if (!other) continue;
      const rollout = readDeploymentStatus(other.status).rollout;
      if (!rollout || !isFinishedPhase(rollout.phase)) return { finished: false, outcomes: [] };
      outcomes.push(outcomeOf(name, rollout));
    }
    return { finished: true, outcomes };
  };
}

/**
 * Inside the status transaction: re-reads the change, computes this pass's effects and writes them
 * (compare-and-swap on the version just read) with one audit event each. Returns whether it wrote.
 */
export async function applyChangeEffects(stores: Pick<Stores, 'objects' | 'audit'>, changeName: string, input: ChangeEffectInput): Promise<boolean> {
  const change = await stores.objects.get('Change', changeName);
  if (!change) return false;
  const effects = await planChangeEffects(change, input, othersFinishedVia(stores.objects, change, input.deployment));
  if (!effects) return false;
  // Keys this schema does not know (written by a newer version) are kept as they are.
  const nextStatus = { ...(change.status ?? {}), ...(effects.status as unknown as Record<string, unknown>) };
  await stores.objects.update('Change', changeName, change.version, { status: nextStatus });
  const beforeDigest = digestOf(change.status);
  const afterDigest = digestOf(nextStatus);
  const time = new Date(input.now).toISOString();
  for (const audit of effects.audits) {
    await stores.audit.append({ time, actor: ENGINE_ACTOR, action: audit.action, kind: 'Change', name: changeName, beforeDigest, afterDigest, details: audit.details });
  }
  return true;
}
