/** `GET /api/v1/audit` and `GET /api/v1/audit/verify`. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { API_PREFIX, auditPageSchema, auditVerifySchema } from '../../core/api.js';
import type { Store } from '../../ports/store.js';
import type { AppEnv } from '../context.js';
import { secureRoute } from '../route.js';
import type { AuditService } from './service.js';

const auditQuery = z.object({
  afterSeq: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  kind: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  actor: z.string().min(1).optional(),
});

export const auditListRoute = secureRoute({
  permission: 'viewer',
  method: 'get',
  path: `${API_PREFIX}/audit`,
  operationId: 'listAuditEvents',
  tags: ['Audit'],
  summary: 'Audit events ascending by seq; pass nextCursor back as afterSeq for the next page',
  request: { query: auditQuery },
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
    const { afterSeq, limit, kind, name, actor } = c.req.valid('query');
    const page = await audit.page(store.read, {
      limit: limit ?? 100,
      ...(afterSeq !== undefined ? { afterSeq } : {}),
      ...(kind ? { kind } : {}),
      ...(name ? { name } : {}),
      ...(actor ? { actor } : {}),
    });
    return c.json(page, 200);
  });
  app.openapi(auditVerifyRoute, async (c) => c.json(await audit.verify(store.read), 200));
}
