/**
 * Change records: creation (manual and automatic), the state machine, edits that expire approvals,
 * approvals with separation of duties, post-release reviews. Filled in by the changes feature; the
 * signature of `createAutomatic` is fixed (the releases feature calls it).
 */
import type { ChangeEvidence } from '../../core/resources/change.js';
import type { StoredObject, Stores } from '../../ports/store.js';

export interface AutomaticChangeInput {
  /** The user who asked for the promotion / deployment (never allowed to approve it). */
  requestedBy: string;
  /** Audit actor of the request. */
  actor: string;
  environment: string;
  services: string[];
  release?: string;
  /** Names the Deployments this change authorizes will have (generated before they are created). */
  deployments: string[];
  /** Artifact authors (never allowed to approve). */
  authors: string[];
  title: string;
  type?: 'normal' | 'standard' | 'emergency';
  plannedStart?: string;
  plannedEnd?: string;
  justification?: string;
  /** Approvals a pipeline stage adds to the environment's rules. */
  extraApprovals?: Array<{ group: string; count: number; reason: string }>;
  evidence?: ChangeEvidence[];
  /** Risk facts the caller knows better than the change service. */
  scopeItems?: number;
  irreversibleMigration?: boolean;
}

export interface ChangeServiceDeps {
  now: () => Date;
}

export function createChangeService(deps: ChangeServiceDeps) {
  void deps;
  return {
    /**
     * Creates a change for a production promotion or deployment, computes its risk and required
     * approvals and moves it as far as it can go by itself: to Authorize (waiting for approvals) or
     * Scheduled (nothing to approve). Writes audit events. Not safe to repeat (each call is one change).
     */
    async createAutomatic(stores: Pick<Stores, 'objects' | 'audit'>, input: AutomaticChangeInput): Promise<StoredObject> {
      void stores;
      throw new Error(`automatic change records are not implemented yet (${input.title})`);
    },
  };
}

export type ChangeService = ReturnType<typeof createChangeService>;
