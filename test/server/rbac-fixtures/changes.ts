import type { TestServer } from '../helpers.js';
import type { RbacFixture } from './types.js';

/** A complete normal change on the seeded service `base`, planned a day ahead. */
const fullSpec = () => {
  const start = Date.now() + 24 * 3_600_000;
  return {
    type: 'normal',
    title: 'rbac walk',
    services: ['base'],
    businessServices: [],
    evidence: [],
    plannedStart: new Date(start).toISOString(),
    plannedEnd: new Date(start + 3_600_000).toISOString(),
    implementationPlan: 'deploy',
    backoutPlan: 'abort',
    testPlan: 'smoke',
    justification: 'rbac walk',
  };
};

/** A Change written straight to the store in `state` (the walk needs a state, not the workflow that leads there). */
async function changeIn(server: TestServer, name: string, state: string, status: Record<string, unknown> = {}): Promise<void> {
  await server.store.transaction((stores) =>
    stores.objects.create({ kind: 'Change', name, spec: fullSpec(), status: { state, requestedBy: 'someone-else', environment: 'base', ...status } }),
  );
}

/** The approver-capable walk tokens act as users `as-approver` and `admin`: both in group cab (created once). */
async function approverUsers(server: TestServer): Promise<void> {
  for (const name of ['as-approver', 'admin']) {
    if (await server.store.read.objects.get('User', name)) continue;
    await server.store.transaction((stores) => stores.objects.create({ kind: 'User', name, spec: { groups: ['cab'] } }));
  }
}

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
  {
    method: 'POST',
    path: '/api/v1/changes',
    async prepare() {
      return { path: '/api/v1/changes', body: { ...fullSpec(), environment: 'base' } };
    },
  },
  {
    method: 'PATCH',
    path: '/api/v1/changes/{name}',
    async prepare(server, unique) {
      await changeIn(server, unique, 'New');
      return { path: `/api/v1/changes/${unique}`, body: { title: 'rbac walk, edited' } };
    },
  },
  {
    method: 'POST',
    path: '/api/v1/changes/{name}/transitions',
    async prepare(server, unique) {
      await changeIn(server, unique, 'New');
      return { path: `/api/v1/changes/${unique}/transitions`, body: { to: 'Assess' } };
    },
  },
  {
    method: 'POST',
    path: '/api/v1/changes/{name}/approvals',
    async prepare(server, unique) {
      await approverUsers(server);
      await changeIn(server, unique, 'Authorize', { requiredApprovals: [{ group: 'cab', count: 2, reason: 'rbac walk' }] });
      return { path: `/api/v1/changes/${unique}/approvals`, body: { decision: 'approve', comment: 'rbac walk' } };
    },
  },
  {
    method: 'POST',
    path: '/api/v1/changes/{name}/review',
    async prepare(server, unique) {
      await changeIn(server, unique, 'Review', { postReleaseReview: { required: true, reason: 'rbac walk', createdAt: new Date().toISOString() } });
      return { path: `/api/v1/changes/${unique}/review`, body: { notes: 'rbac walk review' } };
    },
  },
  {
    method: 'GET',
    path: '/api/v1/changes/{name}/audit',
    async prepare(server, unique) {
      await changeIn(server, unique, 'New');
      return { path: `/api/v1/changes/${unique}/audit` };
    },
  },
];
