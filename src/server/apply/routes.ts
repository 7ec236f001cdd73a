/** `POST /api/v1/apply`: the route behind `rollgate apply -f`. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { API_PREFIX, applyRequestSchema, applyResultSchema } from '../../core/api.js';
import type { Store } from '../../ports/store.js';
import type { AppEnv } from '../context.js';
import { problemResponse, secureRoute } from '../route.js';
import type { Commit } from '../transaction.js';
import type { ApplyService } from './service.js';

export const applyRoute = secureRoute({
  // deployer may apply records; each document additionally needs its kind's write role.
  permission: 'deployer',
  method: 'post',
  path: `${API_PREFIX}/apply`,
  operationId: 'apply',
  tags: ['Apply'],
  summary: 'Create or update a batch of documents in one transaction (idempotent; dryRun writes nothing)',
  request: { body: { required: true, content: { 'application/json': { schema: applyRequestSchema } } } },
  responses: {
    200: { description: 'What happened (or would happen) to each document, in order', content: { 'application/json': { schema: applyResultSchema } } },
    409: problemResponse('A document gave metadata.version and the stored version differs'),
    422: problemResponse('Invalid documents or missing references; errors[] lists document index and path for all of them'),
  },
});

export function registerApplyRoutes(app: OpenAPIHono<AppEnv>, deps: { store: Store; commit: Commit; apply: ApplyService }): void {
  const { store, commit, apply } = deps;
  app.openapi(applyRoute, async (c) => {
    const request = c.req.valid('json');
    const principal = c.var.principal;
    const documents = apply.validate(request.documents);
    apply.authorize(documents, principal.role);
    if (request.dryRun) {
      const plan = await apply.plan(store.read, documents);
      return c.json({ dryRun: true, results: apply.preview(plan) }, 200);
    }
    // Plan inside the transaction so references and versions cannot change between check and write.
    const results = await commit(async (stores) => apply.execute(stores, principal.actor, await apply.plan(stores, documents)));
    return c.json({ dryRun: false, results }, 200);
  });
}
