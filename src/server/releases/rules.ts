/**
 * Rules the objects service applies to Release writes (whichever route they come through: the
 * objects API or apply):
 * - scope freeze: from `spec.freezeDate` on, the scope and the freeze date itself change only
 *   through an approved scope exception (POST /api/v1/releases/{name}/scope-exceptions);
 * - promotion: once the release was promoted anywhere, its version and components are what was
 *   promoted and cannot change (a new build is a new release).
 * The freeze in force is the stored one: an update cannot unfreeze itself by moving the date.
 */
import { canonicalJson } from '../../core/audit/chain.js';
import { describeScopeDiff, freezeState, isEmptyDiff, scopeDiff } from '../../core/governance/release.js';
import { readReleaseStatus, type GateResult } from '../../core/governance/records.js';
import type { ReleaseSpec } from '../../core/resources/release.js';
import type { ValidDocument } from '../../core/resources/validate.js';
import type { StoredObject, Stores } from '../../ports/store.js';
import { GateRefusedError } from '../errors.js';

export interface RuleContext {
  actor: string;
  /** The requesting user (see Principal.user); `system` for the engine. */
  user: string;
  now: Date;
}

/** Components compared by what gets deployed, whatever their order. */
const componentsKey = (spec: ReleaseSpec): string => canonicalJson([...spec.components].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0)));

/** The gate results refusing this update of a Release; empty: the update may go ahead. Pure. */
export function releaseUpdateRefusals(current: Pick<StoredObject, 'name' | 'spec' | 'status'>, next: Pick<ValidDocument, 'spec'>, now: Date): GateResult[] {
  const before = current.spec as ReleaseSpec;
  const after = next.spec as ReleaseSpec;
  const gates: GateResult[] = [];
  const freeze = freezeState(before, now);
  if (freeze.frozen) {
    const diff = scopeDiff(before.scope ?? [], after.scope ?? []);
    if (!isEmptyDiff(diff)) {
      gates.push({
        gate: 'freeze',
        name: current.name,
        outcome: 'deny',
        message: `scope is frozen since ${before.freezeDate}: request an exception (rollgate release exception request ${current.name} ...) for ${describeScopeDiff(diff)}`,
      });
    }
    if (after.freezeDate !== before.freezeDate) {
      gates.push({
        gate: 'freeze',
        name: current.name,
        outcome: 'deny',
        message: `scope is frozen since ${before.freezeDate}: the freeze date cannot change any more (it would reopen the scope)`,
      });
    }
  }
  const promotions = readReleaseStatus(current.status).promotions;
  if (promotions.length > 0) {
    const first = promotions[0]!;
    const promoted = `the release was promoted to ${first.environment} at ${first.at}`;
    if (after.version !== before.version) {
      gates.push({ gate: 'promotion', name: current.name, outcome: 'deny', message: `${promoted}: its version (${before.version}) cannot change; create a new release for ${after.version}` });
    }
    if (componentsKey(after) !== componentsKey(before)) {
      gates.push({ gate: 'promotion', name: current.name, outcome: 'deny', message: `${promoted}: its components (services, versions, digests) cannot change; create a new release` });
    }
  }
  return gates;
}

/** A refused Release update; the objects and apply routes record it (audit `release.update-refused`) after the rollback. */
export class ReleaseUpdateRefusedError extends GateRefusedError {
  constructor(
    message: string,
    gates: GateResult[],
    readonly refusal: { release: string; actor: string; at: string },
  ) {
    super(message, gates);
  }
}

/** Throws ReleaseUpdateRefusedError (409 `gate-refused`) when the update of a Release breaks its scope freeze or changes what was promoted. */
export async function checkReleaseUpdate(_stores: Pick<Stores, 'objects' | 'audit'>, current: StoredObject, document: ValidDocument, ctx: RuleContext): Promise<void> {
  const gates = releaseUpdateRefusals(current, document, ctx.now);
  if (gates.length > 0) {
    throw new ReleaseUpdateRefusedError(`Release "${current.name}" cannot be updated: ${gates.map((gate) => gate.message).join('; ')}`, gates, {
      release: current.name,
      actor: ctx.actor,
      at: ctx.now.toISOString(),
    });
  }
}

/** Records a refused Release update in its own transaction (the request's one rolled back). */
export async function recordReleaseUpdateRefusal(stores: Pick<Stores, 'audit'>, error: ReleaseUpdateRefusedError): Promise<void> {
  await stores.audit.append({
    time: error.refusal.at,
    actor: error.refusal.actor,
    action: 'release.update-refused',
    kind: 'Release',
    name: error.refusal.release,
    beforeDigest: null,
    afterDigest: null,
    details: { gates: error.gates },
  });
}

/**
 * Throws ReleaseUpdateRefusedError when a Release may not be deleted: once its scope froze or it was
 * promoted, deleting and recreating it would dodge the freeze and lose its record.
 */
export function checkReleaseDelete(current: StoredObject, ctx: RuleContext): void {
  const spec = current.spec as unknown as ReleaseSpec;
  const gates: GateResult[] = [];
  if (freezeState(spec, ctx.now).frozen) {
    gates.push({ gate: 'freeze', name: current.name, outcome: 'deny', message: `scope is frozen since ${spec.freezeDate}: a frozen release cannot be deleted (its record stays; create a new release instead)` });
  }
  const promotions = readReleaseStatus(current.status).promotions;
  if (promotions.length > 0) {
    gates.push({ gate: 'promotion', name: current.name, outcome: 'deny', message: `the release was promoted to ${promotions.map((p) => p.environment).join(', ')}: its record cannot be deleted` });
  }
  if (gates.length > 0) {
    throw new ReleaseUpdateRefusedError(`Release "${current.name}" cannot be deleted: ${gates.map((gate) => gate.message).join('; ')}`, gates, {
      release: current.name,
      actor: ctx.actor,
      at: ctx.now.toISOString(),
    });
  }
}
