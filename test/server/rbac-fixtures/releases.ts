import { DIGEST, doc, type TestServer } from '../helpers.js';
import type { RbacFixture } from './types.js';

/**
 * RBAC walk fixtures for the release workflow routes. Each call gets a Release of its own (on the
 * seeded `base` service and environment). Decisions and sign-offs need the deciding user in a
 * group: the walk's approver and admin tokens act as users `as-approver` and `admin`, so those
 * Users are put in `release-managers` and `compliance` (keeping groups other fixtures gave them).
 */
const PAST = '2020-01-01T00:00:00Z';
const GROUPS = ['release-managers', 'compliance'];

async function expectStatus(response: Promise<{ status: number; body: unknown }>, status: number, what: string): Promise<void> {
  const answer = await response;
  if (answer.status !== status) throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.body)}`);
}

async function ensureDeciders(server: TestServer): Promise<void> {
  for (const user of ['as-approver', 'admin']) {
    const existing = await server.json('GET', `/api/v1/users/${user}`);
    if (existing.status === 404) {
      await expectStatus(server.json('POST', '/api/v1/users', { body: doc('User', user, { groups: GROUPS }) }), 201, `user ${user}`);
      continue;
    }
    const groups: string[] = existing.body.spec.groups ?? [];
    if (GROUPS.every((group) => groups.includes(group))) continue;
    await expectStatus(server.json('PUT', `/api/v1/users/${user}`, { body: doc('User', user, { ...existing.body.spec, groups: [...new Set([...groups, ...GROUPS])] }) }), 200, `user ${user}`);
  }
}

async function createRelease(server: TestServer, name: string, extra: Record<string, unknown> = {}): Promise<void> {
  const spec = {
    version: '1.0.0',
    components: [{ service: 'base', version: '1.0.0', digest: DIGEST }],
    scope: [{ title: 'rbac item', classification: 'enhancement' }],
    goNoGo: { environment: 'base', criteria: [] },
    ...extra,
  };
  await expectStatus(server.json('POST', '/api/v1/releases', { body: doc('Release', name, spec) }), 201, `release ${name}`);
}

export const RELEASES_FIXTURES: RbacFixture[] = [
  {
    method: 'POST',
    path: '/api/v1/releases/{name}/results',
    async prepare(server, unique) {
      await createRelease(server, unique);
      return { path: `/api/v1/releases/${unique}/results`, body: { name: 'e2e', type: 'test', passed: true, service: 'base' } };
    },
  },
  {
    method: 'POST',
    path: '/api/v1/releases/{name}/scope-exceptions',
    async prepare(server, unique) {
      await createRelease(server, unique, { freezeDate: PAST });
      return { path: `/api/v1/releases/${unique}/scope-exceptions`, body: { reason: 'rbac walk', remove: ['rbac item'] } };
    },
  },
  {
    method: 'POST',
    path: '/api/v1/releases/{name}/scope-exceptions/{id}/decision',
    async prepare(server, unique) {
      await ensureDeciders(server);
      await createRelease(server, unique, { freezeDate: PAST });
      // Requested by someone other than any walk token's user, so separation of duties holds.
      await server.store.transaction(async (stores) => {
        const current = (await stores.objects.get('Release', unique))!;
        const exception = { id: 'ex-1', requestedBy: 'someone-else', requestedAt: PAST, reason: 'rbac walk', add: [], remove: ['rbac item'], state: 'pending' };
        await stores.objects.update('Release', unique, current.version, { status: { scopeExceptions: [exception] } });
      });
      return { path: `/api/v1/releases/${unique}/scope-exceptions/ex-1/decision`, body: { decision: 'reject', comment: 'rbac walk' } };
    },
  },
  {
    method: 'POST',
    path: '/api/v1/releases/{name}/signoffs',
    async prepare(server, unique) {
      await ensureDeciders(server);
      await createRelease(server, unique);
      return { path: `/api/v1/releases/${unique}/signoffs`, body: { group: 'compliance', comment: 'rbac walk' } };
    },
  },
  {
    method: 'GET',
    path: '/api/v1/releases/{name}/go-no-go',
    async prepare(server, unique) {
      await createRelease(server, unique);
      return { path: `/api/v1/releases/${unique}/go-no-go` };
    },
  },
  {
    method: 'POST',
    path: '/api/v1/releases/{name}/go-no-go',
    async prepare(server, unique) {
      await ensureDeciders(server);
      await createRelease(server, unique);
      // no-go needs no criterion met: only the role and the release-managers group decide.
      return { path: `/api/v1/releases/${unique}/go-no-go`, body: { environment: 'base', decision: 'no-go', comment: 'rbac walk' } };
    },
  },
  {
    method: 'GET',
    path: '/api/v1/releases/{name}/overview',
    async prepare(server, unique) {
      await createRelease(server, unique);
      return { path: `/api/v1/releases/${unique}/overview` };
    },
  },
];
