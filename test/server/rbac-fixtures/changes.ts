import type { RbacFixture } from './types.js';

/** RBAC walk fixtures for the changes routes. */
export const CHANGES_FIXTURES: RbacFixture[] = [
  {
    method: 'GET',
    path: '/api/v1/changes/{name}',
    async prepare(server, unique) {
      await server.store.transaction((stores) =>
        stores.objects.create({
          kind: 'Change',
          name: unique,
          spec: { type: 'normal', title: 'rbac walk', services: [], businessServices: [], evidence: [] },
          status: { state: 'New', requestedBy: 'admin' },
        }),
      );
      return { path: `/api/v1/changes/${unique}` };
    },
  },
];
