/**
 * What the control plane stores in a Deployment's `status`: the rollout state machine's status,
 * the spec it was resolved to when the rollout started, and the operator requests queue. The API
 * appends operations (compare-and-swap on the Deployment's version); the engine consumes them.
 */
import type { Operation, OperationResult, RolloutSpec, RolloutStatus } from './types.js';

export const OPERATION_RESULTS_KEPT = 20;

export interface TimedOperation extends Operation {
  /** When the API accepted the request (ms since epoch). */
  requestedAt: number;
}

export interface DeploymentStatus {
  /** null until the engine's first pass. */
  rollout: RolloutStatus | null;
  /** The spec the rollout runs with, frozen at its first pass (later edits to the strategy do not move it). */
  resolved: RolloutSpec | null;
  /** Operator requests not handled yet, oldest first. */
  pendingOperations: TimedOperation[];
  /** What became of handled requests, newest last (at most OPERATION_RESULTS_KEPT). */
  operationResults: Array<OperationResult & { actor: string; handledAt: number }>;
  /** Set when the rollout could not start: its service, strategy or templates are missing. */
  failure?: { message: string; at: string } | null;
  /**
   * Set while the rollout cannot take its next step for a reason an operator can fix without
   * touching the Deployment (a secretRef that does not resolve yet); the engine tries again, and
   * the next pass that gets through clears it.
   */
  blocked?: { message: string; at: string } | null;
}

export const emptyDeploymentStatus = (): DeploymentStatus => ({ rollout: null, resolved: null, pendingOperations: [], operationResults: [] });

/** Reads a stored status leniently: missing parts get their empty value. */
export function readDeploymentStatus(stored: Record<string, unknown> | null): DeploymentStatus {
  const status = (stored ?? {}) as Partial<DeploymentStatus>;
  return {
    rollout: status.rollout ?? null,
    resolved: status.resolved ?? null,
    pendingOperations: Array.isArray(status.pendingOperations) ? status.pendingOperations : [],
    operationResults: Array.isArray(status.operationResults) ? status.operationResults : [],
    ...(status.failure ? { failure: status.failure } : {}),
    ...(status.blocked ? { blocked: status.blocked } : {}),
  };
}

/** Phases after which a rollout needs no more passes (once its retirements are done). */
export const isFinishedPhase = (phase: RolloutStatus['phase']): boolean => phase === 'Healthy' || phase === 'Aborted' || phase === 'Degraded';

/** Labels the server puts on every Deployment so "the rollouts of service X" is a label query. */
export const DEPLOYMENT_LABELS = Object.freeze({ service: 'rollgate.dev/service', environment: 'rollgate.dev/environment' });
