/** `/api/v1/tokens`: admin-only token management. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { API_PREFIX, tokenCreatedSchema, tokenCreateSchema, tokenInfoSchema, tokenListSchema } from '../../core/api.js';
import type { Store } from '../../ports/store.js';
import type { AppEnv } from '../context.js';
import { problemResponse, secureRoute } from '../route.js';
import type { Commit } from '../transaction.js';
import type { TokenService } from './service.js';

const collection = `${API_PREFIX}/tokens`;
const tags = ['Tokens'];

export const createTokenRoute = secureRoute({
  permission: 'admin',
  method: 'post',
  path: collection,
  operationId: 'createToken',
  tags,
  summary: 'Create a token, optionally bound to a User; the secret is in this response only',
  request: { body: { required: true, content: { 'application/json': { schema: tokenCreateSchema } } } },
  responses: {
    201: { description: 'Created; store `token` now, it cannot be shown again', content: { 'application/json': { schema: tokenCreatedSchema } } },
    409: problemResponse('A token with that name exists (revoked ones included)'),
    422: problemResponse('Invalid name or role, or `user` names no User'),
  },
});

export const listTokensRoute = secureRoute({
  permission: 'admin',
  method: 'get',
  path: collection,
  operationId: 'listTokens',
  tags,
  summary: 'List tokens (never their secrets or hashes)',
  responses: { 200: { description: 'All tokens, revoked ones included', content: { 'application/json': { schema: tokenListSchema } } } },
});

export const revokeTokenRoute = secureRoute({
  permission: 'admin',
  method: 'delete',
  path: `${collection}/{name}`,
  operationId: 'revokeToken',
  tags,
  summary: 'Revoke a token (safe to repeat)',
  request: { params: z.object({ name: tokenCreateSchema.shape.name }) },
  responses: {
    200: { description: 'The revoked token', content: { 'application/json': { schema: tokenInfoSchema } } },
    404: problemResponse('No token with that name'),
  },
});

export function registerTokenRoutes(app: OpenAPIHono<AppEnv>, deps: { store: Store; commit: Commit; tokens: TokenService }): void {
  const { store, commit, tokens } = deps;
  app.openapi(createTokenRoute, async (c) => {
    const input = c.req.valid('json');
    const actor = c.var.principal.actor;
    return c.json(await commit((stores) => tokens.create(stores, actor, input)), 201);
  });
  app.openapi(listTokensRoute, async (c) => c.json({ items: await tokens.list(store.read) }, 200));
  app.openapi(revokeTokenRoute, async (c) => {
    const { name } = c.req.valid('param');
    const actor = c.var.principal.actor;
    return c.json(await commit((stores) => tokens.revoke(stores, actor, name)), 200);
  });
}
