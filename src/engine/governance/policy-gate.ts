/**
 * Loads the facts policies see (release, artifacts with signatures and attestations, posted
 * results, risk, approvals, environment, time) and evaluates the Policies of one gate. Shared by
 * the server (gate `promote`) and the engine (gate `start`). Filled in by the policies feature.
 */
import type { GateResult } from '../../core/governance/records.js';
import type { PolicyGate } from '../../core/resources/policy.js';
import type { StoredObject, Stores } from '../../ports/store.js';

export interface PolicySubject {
  environment: string;
  /** The Release being promoted or deployed; null for a Deployment without one. */
  release: StoredObject | null;
  /** What would run: one entry per component. */
  components: Array<{ service: string; version: string; digest: string | null }>;
  /** The change record that authorizes it, when there is one. */
  change: StoredObject | null;
}

/** One result per applicable policy and component (pass / warn / deny), with expression and inputs. */
export async function evaluatePolicyGate(read: Pick<Stores, 'objects'>, subject: PolicySubject, gate: PolicyGate, now: Date): Promise<GateResult[]> {
  void read;
  void subject;
  void gate;
  void now;
  return [];
}
