/**
 * `/api/v1/{plural}` for every kind in KINDS. Routes are generated per kind so the OpenAPI
 * document carries each kind's own document and object schemas.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { API_PREFIX } from '../../core/api.js';
import { nameSchema } from '../../core/resources/common.js';
import { documentSchema, KIND_NAMES, KINDS, storedObjectSchema, type KindName } from '../../core/resources/kinds.js';
import type { ValidDocument } from '../../core/resources/validate.js';
import type { Store } from '../../ports/store.js';
import type { AppEnv } from '../context.js';
import { problemResponse, secureRoute } from '../route.js';
import type { Commit } from '../transaction.js';
import { toApiObject } from './representation.js';
import type { ObjectService } from './service.js';

/** `team=payments,tier=critical`: exact matches only, like the store supports. */
const LABEL_SELECTOR = /^[A-Za-z0-9][-A-Za-z0-9_./]*=[-A-Za-z0-9_.]*(,[A-Za-z0-9][-A-Za-z0-9_./]*=[-A-Za-z0-9_.]*)*$/;

export function parseLabelSelector(selector: string | undefined): Record<string, string> | undefined {
  if (!selector) return undefined;
  return Object.fromEntries(selector.split(',').map((pair) => pair.split('=', 2) as [string, string]));
}

const listQuery = z.object({
  labelSelector: z.string().regex(LABEL_SELECTOR, 'must be key=value pairs separated by commas, e.g. team=payments,tier=critical').optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  cursor: z.string().min(1).optional(),
});
const nameParams = z.object({ name: nameSchema });
const deleteQuery = z.object({ version: z.coerce.number().int().positive().optional() });

const notFound = problemResponse('No object with that name');
const conflict = problemResponse('Version mismatch, name taken, or (on delete) still referred to; `currentVersion` tells the stored version');
const invalid = problemResponse('Invalid document or a reference to a missing object; `errors[].path` names the field');

function kindRoutes(kind: KindName) {
  const def = KINDS[kind];
  const collection = `${API_PREFIX}/${def.plural}`;
  const item = `${collection}/{name}`;
  const stored = storedObjectSchema(kind).openapi(kind);
  const document = documentSchema(kind).openapi(`${kind}Document`);
  const json = <S extends z.ZodType>(schema: S) => ({ content: { 'application/json': { schema } } });
  const tags = [kind];
  return {
    list: secureRoute({
      permission: 'viewer', method: 'get', path: collection, operationId: `list${kind}`, tags, summary: `List ${def.plural}`,
      request: { query: listQuery },
      responses: { 200: { description: `One page of ${def.plural}, ordered by name`, ...json(z.object({ items: z.array(stored), nextCursor: z.string().nullable() })) } },
    }),
    get: secureRoute({
      permission: 'viewer', method: 'get', path: item, operationId: `get${kind}`, tags, summary: `Get one ${kind}`,
      request: { params: nameParams },
      responses: { 200: { description: kind, ...json(stored) }, 404: notFound },
    }),
    create: secureRoute({
      permission: def.writeRole, method: 'post', path: collection, operationId: `create${kind}`, tags,
      summary: def.category === 'record' ? `Create a ${kind} (metadata.name is generated when omitted)` : `Create a ${kind}`,
      request: { body: { required: true, ...json(document) } },
      responses: { 201: { description: 'Created', ...json(stored) }, 409: conflict, 422: invalid },
    }),
    replace: secureRoute({
      permission: def.writeRole, method: 'put', path: item, operationId: `replace${kind}`, tags,
      summary: `Replace an existing ${kind}'s labels, annotations and spec (no upsert; metadata.version, when given, must match)`,
      request: { params: nameParams, body: { required: true, ...json(document) } },
      responses: { 200: { description: 'Updated', ...json(stored) }, 404: notFound, 409: conflict, 422: invalid },
    }),
    remove: secureRoute({
      permission: def.writeRole, method: 'delete', path: item, operationId: `delete${kind}`, tags,
      summary: `Delete a ${kind} nothing refers to (with ?version=, only that version)`,
      request: { params: nameParams, query: deleteQuery },
      responses: { 200: { description: 'The deleted object', ...json(stored) }, 404: notFound, 409: conflict },
    }),
  };
}

export function registerObjectRoutes(app: OpenAPIHono<AppEnv>, deps: { store: Store; commit: Commit; objects: ObjectService }): void {
  const { store, commit, objects } = deps;
  for (const kind of KIND_NAMES) {
    const routes = kindRoutes(kind);

    app.openapi(routes.list, async (c) => {
      const { labelSelector, limit, cursor } = c.req.valid('query');
      const labels = parseLabelSelector(labelSelector);
      const page = await objects.list(store.read, kind, { limit: limit ?? 100, ...(labels ? { labels } : {}), ...(cursor ? { cursor } : {}) });
      return c.json({ items: page.items.map(toApiObject), nextCursor: page.nextCursor }, 200);
    });

    app.openapi(routes.get, async (c) => {
      const { name } = c.req.valid('param');
      return c.json(toApiObject(await objects.get(store.read, kind, name)), 200);
    });

    // Kinds with their own workflow API are only read here (their writes live under /api/v1/<managedBy>).
    if (KINDS[kind].managedBy) continue;

    app.openapi(routes.create, async (c) => {
      const document = c.req.valid('json') as ValidDocument;
      const actor = c.var.principal.actor;
      const created = await commit((stores) => objects.create(stores, actor, document));
      return c.json(toApiObject(created), 201);
    });

    app.openapi(routes.replace, async (c) => {
      const { name } = c.req.valid('param');
      const document = c.req.valid('json') as ValidDocument;
      const actor = c.var.principal.actor;
      const updated = await commit((stores) => objects.update(stores, actor, name, document));
      return c.json(toApiObject(updated), 200);
    });

    app.openapi(routes.remove, async (c) => {
      const { name } = c.req.valid('param');
      const { version } = c.req.valid('query');
      const actor = c.var.principal.actor;
      const deleted = await commit((stores) => objects.remove(stores, actor, kind, name, version));
      return c.json(toApiObject(deleted), 200);
    });
  }
}
