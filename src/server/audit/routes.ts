/** `GET /api/v1/audit` and `GET /api/v1/audit/verify`. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { API_PREFIX, auditListQuerySchema, auditPageSchema, auditVerifySchema } from '../../core/api.js';
import type { Store } from '../../ports/store.js';
import type { AppEnv } from '../context.js';
import { secureRoute } from '../route.js';
import type { AuditService } from './service.js';

export const auditListRoute = secureRoute({
  permission: 'viewer',
  method: 'get',
  path: `${API_PREFIX}/audit`,
  operationId: 'listAuditEvents',
  tags: ['Audit'],
  summary: 'Audit events by seq, oldest first (or newest first with order=desc); pass nextCursor back as afterSeq (as beforeSeq with order=desc) for the next page',
  request: { query: auditListQuerySchema },
  responses: { 200: { description: 'One page of events', content: { 'application/json': { schema: auditPageSchema } } } },
});

export const auditVerifyRoute = secureRoute({
  permission: 'viewer',
  method: 'get',
  path: `${API_PREFIX}/audit/verify`,
  operationId: 'verifyAuditChain',
  tags: ['Audit'],
  summary: 'Recompute the whole hash chain; names the first broken event',
  responses: { 200: { description: 'Verdict (ok:false is still a 200: the check itself succeeded)', content: { 'application/json': { schema: auditVerifySchema } } } },
});

export function registerAuditRoutes(app: OpenAPIHono<AppEnv>, deps: { store: Store; audit: AuditService }): void {
  const { store, audit } = deps;
  app.openapi(auditListRoute, async (c) => {
    const { afterSeq, beforeSeq, limit, kind, name, actor, action, order } = c.req.valid('query');
    const page = await audit.page(store.read, {
      limit: limit ?? 100,
      ...(afterSeq !== undefined ? { afterSeq } : {}),
      ...(beforeSeq !== undefined ? { beforeSeq } : {}),
      ...(kind ? { kind } : {}),
      ...(name ? { name } : {}),
      ...(actor ? { actor } : {}),
      ...(action ? { action } : {}),
      ...(order === 'desc' ? { order } : {}),
    });
    return c.json(page, 200);
  });
  app.openapi(auditVerifyRoute, async (c) => c.json(await audit.verify(store.read), 200));
}
