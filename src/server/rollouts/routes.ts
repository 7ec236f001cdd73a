/**
 * Rollout routes: queue an operator's operation on a Deployment, and read a service's current
 * rollout and its history. Deployments themselves are created through the objects routes (or
 * apply); the rules that apply to them live in ./deployments.ts.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { API_PREFIX } from '../../core/api.js';
import { nameSchema } from '../../core/resources/common.js';
import { storedObjectSchema } from '../../core/resources/kinds.js';
import type { Store } from '../../ports/store.js';
import type { AppEnv } from '../context.js';
import { toApiObject } from '../objects/representation.js';
import { problem, problemResponse as problemBody } from '../problem.js';
import { problemResponse, secureRoute } from '../route.js';
import type { Commit } from '../transaction.js';
import { OPERATION_TYPES, OperationRefusedError, retryOnConflict, type RolloutService } from './service.js';

const json = <S extends z.ZodType>(schema: S) => ({ content: { 'application/json': { schema } } });
const deployment = storedObjectSchema('Deployment');
const nameParams = z.object({ name: nameSchema });
const tags = ['Rollouts'];

export const operationRequestSchema = z.strictObject({
  type: z.enum(OPERATION_TYPES),
  /** Why; kept in the rollout's events, the abort record and the audit log. */
  reason: z.string().max(500).optional(),
});

export const operationAcceptedSchema = z.object({
  /** Find it in `status.operationResults` once the engine handled it. */
  operationId: z.string(),
  deployment,
});

const environmentQuery = { environment: nameSchema.optional() };

export const rolloutRoutes = {
  operate: secureRoute({
    permission: 'deployer',
    method: 'post',
    path: `${API_PREFIX}/deployments/{name}/operations`,
    operationId: 'queueRolloutOperation',
    tags,
    summary: 'Queue an operation (promote, promoteFull, abort, retry, pause, resume) on a Deployment\'s rollout; the engine applies it and reports in status.operationResults',
    request: { params: nameParams, body: { required: true, ...json(operationRequestSchema) } },
    responses: {
      202: { description: 'Queued in status.pendingOperations', ...json(operationAcceptedSchema) },
      404: problemResponse('No Deployment with that name'),
      409: problemResponse('The rollout finished and the operation cannot apply (only retry after Aborted or Degraded, nothing after Healthy), or the queue is full'),
      422: problemResponse('Unknown operation type'),
    },
  }),
  current: secureRoute({
    permission: 'viewer',
    method: 'get',
    path: `${API_PREFIX}/services/{name}/rollout`,
    operationId: 'getCurrentRollout',
    tags,
    summary: 'The latest Deployment of a service (in one environment, or any), with its rollout status',
    request: { params: nameParams, query: z.object(environmentQuery) },
    responses: {
      200: { description: 'The Deployment; status.rollout holds the rollout status (null until the engine starts it)', ...json(deployment) },
      404: problemResponse('No such service, or it has no deployments (in that environment)'),
    },
  }),
  history: secureRoute({
    permission: 'viewer',
    method: 'get',
    path: `${API_PREFIX}/services/{name}/rollouts`,
    operationId: 'listRollouts',
    tags,
    summary: 'The Deployments of a service (in one environment, or any), newest first',
    request: { params: nameParams, query: z.object({ ...environmentQuery, limit: z.coerce.number().int().min(1).max(1000).default(20) }) },
    responses: {
      200: { description: 'Newest first', ...json(z.object({ items: z.array(deployment) })) },
      404: problemResponse('No such service'),
    },
  }),
};

export interface RolloutRouteDeps {
  store: Store;
  commit: Commit;
  rollouts: RolloutService;
  /** Called after the commit with the Deployment whose rollout got an operation. */
  onDeploymentChange: (name: string) => void;
}

export function registerRolloutRoutes(app: OpenAPIHono<AppEnv>, deps: RolloutRouteDeps): void {
  const { store, commit, rollouts } = deps;

  app.openapi(rolloutRoutes.operate, async (c) => {
    const { name } = c.req.valid('param');
    const request = c.req.valid('json');
    const actor = c.var.principal.actor;
    try {
      // The engine writes the same object: a lost compare-and-swap re-reads and appends again.
      const queued = await retryOnConflict(() => commit((stores) => rollouts.queueOperation(stores, actor, name, request)));
      deps.onDeploymentChange(name);
      return c.json({ operationId: queued.operationId, deployment: toApiObject(queued.deployment) }, 202);
    } catch (error) {
      if (error instanceof OperationRefusedError) return problemBody(c, problem(409, 'operation-refused', error.message)) as never;
      throw error;
    }
  });

  app.openapi(rolloutRoutes.current, async (c) => {
    const { name } = c.req.valid('param');
    const { environment } = c.req.valid('query');
    return c.json(toApiObject(await rollouts.current(store.read, name, environment)), 200);
  });

  app.openapi(rolloutRoutes.history, async (c) => {
    const { name } = c.req.valid('param');
    const { environment, limit } = c.req.valid('query');
    const items = await rollouts.history(store.read, name, environment, limit);
    return c.json({ items: items.map(toApiObject) }, 200);
  });
}
