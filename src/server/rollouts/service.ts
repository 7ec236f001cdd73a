/**
 * Rollout operations and queries. An operator's request (promote, abort, ...) is appended to the
 * Deployment's `status.pendingOperations` with compare-and-swap on the object's version; the
 * engine consumes the queue and reports in `status.operationResults`. The engine validates every
 * operation against the state machine; this service only refuses the obviously pointless ones.
 */
import { randomUUID } from 'node:crypto';
import type { DeploymentStatus, TimedOperation } from '../../core/rollout/deployment-status.js';
import { readDeploymentStatus } from '../../core/rollout/deployment-status.js';
import type { OperationType, RolloutStatus } from '../../core/rollout/types.js';
import { ConflictError, NotFoundError, type StoredObject, type Stores } from '../../ports/store.js';
import { objectDigest } from '../objects/representation.js';
import { deploymentSelector, listDeployments, newestFirst } from './deployments.js';

type Reader = Pick<Stores, 'objects'>;
type Writer = Pick<Stores, 'objects' | 'audit'>;

export const OPERATION_TYPES = ['promote', 'promoteFull', 'abort', 'retry', 'pause', 'resume'] as const satisfies readonly OperationType[];

/** Requests queued and not yet handled, per Deployment; more means the engine is not consuming them. */
export const MAX_PENDING_OPERATIONS = 20;

/** Compare-and-swap attempts for one request before the conflict is reported (409). */
export const CAS_ATTEMPTS = 5;

export interface OperationRequest {
  type: OperationType;
  reason?: string | undefined;
}

/** An operation that cannot apply to the rollout as it stands (409); never retried. */
export class OperationRefusedError extends Error {
  override readonly name = 'OperationRefusedError';
}

/**
 * Why `type` cannot apply to a finished rollout, or null. Mirrors decide()'s rules for the
 * finished phases only: after Healthy nothing applies; after Aborted only `retry`; after Degraded
 * `retry` and `abort` (decide() accepts an abort of a degraded rollout: it becomes Aborted).
 */
export function refusalFor(rollout: RolloutStatus | null, type: OperationType): string | null {
  if (rollout === null) return null;
  switch (rollout.phase) {
    case 'Healthy':
      return `the rollout finished: ${rollout.canaryVersion} is stable${rollout.previousStableVersion ? `; deploy ${rollout.previousStableVersion} to roll back` : ''}`;
    case 'Aborted':
      return type === 'retry' ? null : `the rollout was aborted (${rollout.abort?.message ?? 'no reason recorded'}); only retry applies`;
    case 'Degraded':
      return type === 'retry' || type === 'abort' ? null : `the rollout is degraded (${rollout.abort?.message ?? rollout.message}); fix the cause and retry, or abort`;
    default:
      return null;
  }
}

/** Runs `attempt` again when it loses a compare-and-swap race (ConflictError), a few times. */
export async function retryOnConflict<T>(attempt: () => Promise<T>, attempts = CAS_ATTEMPTS): Promise<T> {
  for (let tried = 1; ; tried += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof ConflictError) || tried >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * 2 ** tried));
    }
  }
}

export interface RolloutServiceDeps {
  now: () => Date;
  /** Operation ids; injected for tests. */
  newId?: () => string;
}

export function createRolloutService(deps: RolloutServiceDeps) {
  const newId = deps.newId ?? randomUUID;

  async function service(stores: Reader, name: string): Promise<void> {
    if (!(await stores.objects.get('Service', name))) throw new NotFoundError(`Service "${name}" not found`);
  }

  /** The Deployments of a service (in one environment, or any), newest first. */
  async function deployments(stores: Reader, serviceName: string, environment?: string): Promise<StoredObject[]> {
    await service(stores, serviceName);
    return (await listDeployments(stores.objects, deploymentSelector(serviceName, environment))).sort(newestFirst);
  }

  return {
    /**
     * Appends the operation to `status.pendingOperations` (CAS on the version read in this
     * transaction; wrap the transaction in `retryOnConflict`) and writes the audit event
     * `rollout.<type>`.
     */
    async queueOperation(stores: Writer, actor: string, name: string, request: OperationRequest): Promise<{ operationId: string; deployment: StoredObject }> {
      const current = await stores.objects.get('Deployment', name);
      if (!current) throw new NotFoundError(`Deployment "${name}" not found`);
      const status = readDeploymentStatus(current.status);
      const refusal = refusalFor(status.rollout, request.type);
      if (refusal) throw new OperationRefusedError(`cannot ${request.type} Deployment "${name}": ${refusal}`);
      if (status.pendingOperations.length >= MAX_PENDING_OPERATIONS) {
        throw new OperationRefusedError(`Deployment "${name}" already has ${status.pendingOperations.length} operations waiting for the engine; is the engine running?`);
      }
      const time = deps.now();
      const reason = request.reason?.trim() || undefined;
      const operation: TimedOperation = { id: newId(), type: request.type, actor, ...(reason ? { reason } : {}), requestedAt: time.getTime() };
      // Everything else in the status is the engine's: keep it exactly as read.
      const pendingOperations: DeploymentStatus['pendingOperations'] = [...status.pendingOperations, operation];
      const updated = await stores.objects.update('Deployment', name, current.version, { status: { ...(current.status ?? {}), pendingOperations } });
      await stores.audit.append({
        time: time.toISOString(),
        actor,
        action: `rollout.${request.type}`,
        kind: 'Deployment',
        name,
        beforeDigest: objectDigest(current),
        afterDigest: objectDigest(updated),
        // version: what the SSE change event reports.
        details: { version: updated.version, operationId: operation.id, reason: reason ?? null },
      });
      return { operationId: operation.id, deployment: updated };
    },

    /** The latest Deployment of the service (by creation), in `environment` when given. */
    async current(stores: Reader, serviceName: string, environment?: string): Promise<StoredObject> {
      const [latest] = await deployments(stores, serviceName, environment);
      if (!latest) throw new NotFoundError(`service "${serviceName}" has no deployments${environment ? ` in environment "${environment}"` : ''}`);
      return latest;
    },

    /** The service's Deployments, newest first, at most `limit`. */
    async history(stores: Reader, serviceName: string, environment: string | undefined, limit: number): Promise<StoredObject[]> {
      return (await deployments(stores, serviceName, environment)).slice(0, limit);
    },
  };
}

export type RolloutService = ReturnType<typeof createRolloutService>;
