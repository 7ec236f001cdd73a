/**
 * `/api/v1/secrets`: admin-only management of the secrets specs refer to with `secretRef`
 * (docs/secrets.md). Values are accepted and never returned: every answer names secrets and keys
 * only, and the audit log records the same.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { z } from 'zod';
import { secretInfoSchema, secretListSchema, secretNameParamSchema, secretPatchSchema, secretPutSchema, SECRETS_PATH } from '../../core/secrets/api.js';
import type { AppEnv } from '../context.js';
import type { GovernanceRouteDeps } from '../governance-deps.js';
import { problem, problemResponse as problemBody } from '../problem.js';
import { problemResponse, secureRoute } from '../route.js';
import { createSecretService, SecretsUnavailableError, type ServerSecrets } from './service.js';

export { SECRET_AUDIT_KIND, type ServerSecrets } from './service.js';

const tags = ['Secrets'];
const json = <S extends z.ZodType>(schema: S) => ({ content: { 'application/json': { schema } } });
const UNAVAILABLE = problemResponse('The server has no secret provider Rollgate can write (not configured, or `env` / `file`)');

export const listSecretsRoute = secureRoute({
  permission: 'admin',
  method: 'get',
  path: SECRETS_PATH,
  operationId: 'listSecrets',
  tags,
  summary: 'List secrets: names, keys and last update, never values',
  responses: { 200: { description: 'The provider and its secrets', ...json(secretListSchema) } },
});

export const putSecretRoute = secureRoute({
  permission: 'admin',
  method: 'put',
  path: `${SECRETS_PATH}/{name}`,
  operationId: 'putSecret',
  tags,
  summary: 'Create or replace a secret (its keys become exactly `data`); the values are never returned',
  request: { params: secretNameParamSchema, body: { required: true, ...json(secretPutSchema) } },
  responses: {
    200: { description: 'Stored (sealed with AES-256-GCM by the builtin provider): names and keys only', ...json(secretInfoSchema) },
    409: UNAVAILABLE,
    422: problemResponse('Invalid key names, no keys, or a value too large'),
  },
});

export const patchSecretRoute = secureRoute({
  permission: 'admin',
  method: 'patch',
  path: `${SECRETS_PATH}/{name}`,
  operationId: 'patchSecret',
  tags,
  summary: 'Set some keys of a secret (null removes a key), keeping the others; creates the secret if needed',
  request: { params: secretNameParamSchema, body: { required: true, ...json(secretPatchSchema) } },
  responses: {
    200: { description: 'The secret afterwards: names and keys only (no keys left: it no longer exists)', ...json(secretInfoSchema) },
    409: UNAVAILABLE,
    422: problemResponse('Invalid key names, or a value too large'),
  },
});

export const deleteSecretRoute = secureRoute({
  permission: 'admin',
  method: 'delete',
  path: `${SECRETS_PATH}/{name}`,
  operationId: 'deleteSecret',
  tags,
  summary: 'Delete a secret and all its keys',
  request: { params: secretNameParamSchema },
  responses: {
    200: { description: 'The deleted secret: its name and the keys it had', ...json(secretInfoSchema) },
    404: problemResponse('No secret with that name'),
    409: UNAVAILABLE,
  },
});

export interface SecretRouteDeps extends Pick<GovernanceRouteDeps, 'commit' | 'now'> {
  /** Absent: the routes answer 409 `secrets-unavailable` (GET lists nothing). */
  secrets?: ServerSecrets | undefined;
}

export function registerSecretsRoutes(app: OpenAPIHono<AppEnv>, deps: SecretRouteDeps): void {
  const service = createSecretService({ commit: deps.commit, now: deps.now, secrets: deps.secrets });
  /** SecretsUnavailableError as its problem; anything else goes on to the app's error handler. */
  const guarded = async <T>(c: Parameters<Parameters<typeof app.openapi>[1]>[0], work: () => Promise<T>): Promise<T | Response> => {
    try {
      return await work();
    } catch (error) {
      if (error instanceof SecretsUnavailableError) return problemBody(c, problem(409, 'secrets-unavailable', error.message));
      throw error;
    }
  };

  app.openapi(listSecretsRoute, async (c) => c.json(await service.list(), 200));

  app.openapi(putSecretRoute, async (c) => {
    const { name } = c.req.valid('param');
    const { data } = c.req.valid('json');
    const result = await guarded(c, () => service.put(c.var.principal.actor, name, data));
    return (result instanceof Response ? result : c.json(result, 200)) as never;
  });

  app.openapi(patchSecretRoute, async (c) => {
    const { name } = c.req.valid('param');
    const { data } = c.req.valid('json');
    const result = await guarded(c, () => service.patch(c.var.principal.actor, name, data));
    return (result instanceof Response ? result : c.json(result, 200)) as never;
  });

  app.openapi(deleteSecretRoute, async (c) => {
    const { name } = c.req.valid('param');
    const result = await guarded(c, () => service.delete(c.var.principal.actor, name));
    return (result instanceof Response ? result : c.json(result, 200)) as never;
  });
}
