/** Liveness and readiness probes; public so orchestrators need no token. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { Store } from '../../ports/store.js';
import type { AppEnv } from '../context.js';
import type { Logger } from '../logger.js';
import { problem, problemResponse as problemBody } from '../problem.js';
import { problemResponse, secureRoute } from '../route.js';

const statusSchema = z.object({ status: z.string() });

export const healthzRoute = secureRoute({
  permission: 'public',
  method: 'get',
  path: '/healthz',
  operationId: 'healthz',
  tags: ['Health'],
  summary: 'The process is up (does not touch the store)',
  responses: { 200: { description: 'Alive', content: { 'application/json': { schema: statusSchema } } } },
});

export const readyzRoute = secureRoute({
  permission: 'public',
  method: 'get',
  path: '/readyz',
  operationId: 'readyz',
  tags: ['Health'],
  summary: 'The store answers; 503 otherwise',
  responses: {
    200: { description: 'Ready', content: { 'application/json': { schema: statusSchema } } },
    503: problemResponse('The store did not answer'),
  },
});

export function registerHealthRoutes(app: OpenAPIHono<AppEnv>, deps: { store: Store; logger: Logger }): void {
  app.openapi(healthzRoute, (c) => c.json({ status: 'ok' }, 200));
  app.openapi(readyzRoute, async (c) => {
    try {
      await deps.store.ping();
    } catch (error) {
      // The reason stays in the log: readiness is public and may be probed by anyone.
      deps.logger.warn({ err: error }, 'readiness check failed');
      return problemBody(c, problem(503, 'not-ready', 'the store is not answering'));
    }
    return c.json({ status: 'ready' }, 200);
  });
}
