import type { RbacFixture } from './types.js';

/** RBAC walk fixtures for the secrets routes (admin only; GET needs none). */
export const SECRETS_FIXTURES: RbacFixture[] = [
  {
    method: 'PUT',
    path: '/api/v1/secrets/{name}',
    prepare: async (_server, unique) => ({ path: `/api/v1/secrets/${unique}`, body: { data: { password: `rbac-walk-${unique}` } } }),
  },
  {
    method: 'PATCH',
    path: '/api/v1/secrets/{name}',
    prepare: async (_server, unique) => ({ path: `/api/v1/secrets/${unique}`, body: { data: { token: `rbac-walk-${unique}` } } }),
  },
  {
    method: 'DELETE',
    path: '/api/v1/secrets/{name}',
    async prepare(server, unique) {
      const created = await server.json('PUT', `/api/v1/secrets/${unique}`, { body: { data: { password: `rbac-walk-${unique}` } } });
      if (created.status !== 200) throw new Error(`secret ${unique}: ${created.status} ${JSON.stringify(created.body)}`);
      return { path: `/api/v1/secrets/${unique}` };
    },
  },
];
