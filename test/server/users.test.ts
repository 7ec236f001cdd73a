/**
 * Identities (docs/governance.md, "Identities"): tokens bound to Users, the principal the auth
 * middleware builds from them, `GET /api/v1/whoami`, `GET /api/v1/groups`, and what the audit log
 * records as the actor.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ObjectRepository, StoredObject, TokenRecord } from '../../src/ports/store.js';
import { principalFor } from '../../src/server/auth/principal.js';
import { doc, startTestServer, type TestServer } from './helpers.js';

let server: TestServer;

beforeEach(async () => {
  server = await startTestServer();
});
afterEach(() => server.close());

async function createUser(name: string, spec: Record<string, unknown>): Promise<void> {
  const created = await server.json('POST', '/api/v1/users', { body: doc('User', name, spec) });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
}

/** Creates a token through the API and returns its secret. */
async function token(body: { name: string; role: string; user?: string }): Promise<string> {
  const created = await server.json('POST', '/api/v1/tokens', { body });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.token as string;
}

const whoami = async (secret: string | null) => server.json('GET', '/api/v1/whoami', { token: secret });
const auditEvents = async (query: string) => (await server.json('GET', `/api/v1/audit?limit=1000&${query}`)).body.items as any[];

describe('whoami', () => {
  it('answers for a token created without a user: the token name as user, no groups, actor token:<name>', async () => {
    const answer = await whoami(server.adminToken);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ user: 'admin', groups: [], role: 'admin', token: 'admin', actor: 'token:admin' });
    expect((await whoami(null)).status).toBe(401);
  });

  it('answers for a token bound to a user with the User object’s groups and actor user:<name>', async () => {
    await createUser('alice', { displayName: 'Alice Doe', email: 'alice@example.com', groups: ['cab', 'release-managers'] });
    const secret = await token({ name: 'alice-laptop', role: 'viewer', user: 'alice' });
    expect((await whoami(secret)).body).toEqual({ user: 'alice', groups: ['cab', 'release-managers'], role: 'viewer', token: 'alice-laptop', actor: 'user:alice' });
  });

  it('reads the groups on every request, so a membership change applies at once; a deleted User leaves none', async () => {
    await createUser('alice', { groups: ['cab'] });
    const secret = await token({ name: 'alice-laptop', role: 'viewer', user: 'alice' });
    expect((await whoami(secret)).body.groups).toEqual(['cab']);

    const updated = await server.json('PUT', '/api/v1/users/alice', { body: doc('User', 'alice', { groups: ['compliance', 'cab'] }) });
    expect(updated.status).toBe(200);
    expect((await whoami(secret)).body.groups).toEqual(['compliance', 'cab']);

    expect((await server.json('DELETE', '/api/v1/users/alice')).status).toBe(200);
    expect((await whoami(secret)).body).toMatchObject({ user: 'alice', groups: [], actor: 'user:alice' });
  });

  it('lets an unbound token act as the User of its name, with that User’s groups (ADR 0004)', async () => {
    await createUser('bob', { groups: ['cab'] });
    const secret = await token({ name: 'bob', role: 'viewer' });
    expect((await whoami(secret)).body).toEqual({ user: 'bob', groups: ['cab'], role: 'viewer', token: 'bob', actor: 'token:bob' });
  });
});

describe('principalFor', () => {
  const record = (user: string | null): TokenRecord => ({ id: 'id', name: 'tok', role: 'deployer', hash: 'h', createdAt: 't', revokedAt: null, user });
  const countingUsers = (spec: Record<string, unknown> | null) => {
    const calls: string[] = [];
    const users: Pick<ObjectRepository, 'get'> = {
      async get(kind, name) {
        calls.push(`${kind}/${name}`);
        return spec === null ? null : ({ kind, name, spec } as StoredObject);
      },
    };
    return { users, calls };
  };

  it('reads the User once: the bound one, or the one named like an unbound token', async () => {
    const bound = countingUsers({ groups: ['cab', 'cab', 'qa'] });
    expect(await principalFor(record('alice'), bound.users)).toEqual({ tokenName: 'tok', role: 'deployer', user: 'alice', groups: ['cab', 'qa'], actor: 'user:alice' });
    expect(bound.calls).toEqual(['User/alice']);

    const unbound = countingUsers({ groups: ['cab'] });
    expect(await principalFor(record(null), unbound.users)).toEqual({ tokenName: 'tok', role: 'deployer', user: 'tok', groups: ['cab'], actor: 'token:tok' });
    expect(unbound.calls).toEqual(['User/tok']);
  });

  it('grants no groups for a missing User or a spec that does not parse', async () => {
    expect((await principalFor(record('alice'), countingUsers(null).users)).groups).toEqual([]);
    expect((await principalFor(record('alice'), countingUsers({ groups: 'cab' }).users)).groups).toEqual([]);
  });
});

describe('tokens bound to users', () => {
  it('records the user on the token, in the list and in the audit details of create and revoke', async () => {
    await createUser('alice', { groups: ['cab'] });
    const created = await server.json('POST', '/api/v1/tokens', { body: { name: 'alice-laptop', role: 'approver', user: 'alice' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'alice-laptop', role: 'approver', user: 'alice', revokedAt: null, token: expect.stringMatching(/^rg_/) });
    await token({ name: 'ci', role: 'deployer' });

    const listed = (await server.json('GET', '/api/v1/tokens')).body.items as any[];
    expect(listed.map((t) => [t.name, t.user])).toEqual([
      ['admin', null],
      ['alice-laptop', 'alice'],
      ['ci', null],
    ]);
    expect((await server.json('DELETE', '/api/v1/tokens/alice-laptop')).body).toMatchObject({ name: 'alice-laptop', user: 'alice' });

    const events = await auditEvents('kind=Token');
    expect(events.map((e) => [e.action, e.name, e.details])).toEqual([
      ['token.create', 'admin', { role: 'admin', id: expect.any(String), user: null }],
      ['token.create', 'alice-laptop', { role: 'approver', id: created.body.id, user: 'alice' }],
      ['token.create', 'ci', { role: 'deployer', id: expect.any(String), user: null }],
      ['token.revoke', 'alice-laptop', { role: 'approver', id: created.body.id, user: 'alice' }],
    ]);
  });

  it('refuses a user that does not exist with 422 naming `user`, and creates nothing', async () => {
    const before = (await auditEvents('kind=Token')).length;
    const refused = await server.json('POST', '/api/v1/tokens', { body: { name: 'ghost-token', role: 'viewer', user: 'ghost' } });
    expect(refused.status).toBe(422);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body.errors).toEqual([{ path: ['user'], message: expect.stringContaining('no User named "ghost"') }]);

    const invalid = await server.json('POST', '/api/v1/tokens', { body: { name: 'bad', role: 'viewer', user: 'Not A Name' } });
    expect(invalid.status).toBe(422);
    expect(invalid.body.errors.map((e: { path: unknown[] }) => e.path)).toEqual([['user']]);

    expect((await server.json('GET', '/api/v1/tokens')).body.items.map((t: { name: string }) => t.name)).toEqual(['admin']);
    expect(await auditEvents('kind=Token')).toHaveLength(before);
  });

  it('audits the writes of a bound token as user:<name>, and of an unbound one as token:<name>', async () => {
    await createUser('alice', { groups: ['release-managers'] });
    const alice = await token({ name: 'alice-laptop', role: 'admin', user: 'alice' });
    const robot = await token({ name: 'robot', role: 'admin' });

    expect((await server.json('POST', '/api/v1/environments', { token: alice, body: doc('Environment', 'prod', {}) })).status).toBe(201);
    expect((await server.json('POST', '/api/v1/environments', { token: robot, body: doc('Environment', 'dev', {}) })).status).toBe(201);
    expect((await server.json('POST', '/api/v1/tokens', { token: alice, body: { name: 'made-by-alice', role: 'viewer' } })).status).toBe(201);

    expect((await auditEvents('actor=user:alice')).map((e) => [e.action, e.kind, e.name])).toEqual([
      ['create', 'Environment', 'prod'],
      ['token.create', 'Token', 'made-by-alice'],
    ]);
    expect((await auditEvents('actor=token:robot')).map((e) => [e.action, e.kind, e.name])).toEqual([['create', 'Environment', 'dev']]);
    expect(await auditEvents('actor=token:alice-laptop')).toEqual([]);
  });
});

describe('groups', () => {
  it('lists every group with its members from the User objects, sorted by name', async () => {
    const viewer = await token({ name: 'viewer', role: 'viewer' });
    expect((await server.json('GET', '/api/v1/groups', { token: viewer })).body).toEqual({ items: [] });

    await createUser('carol', {});
    await createUser('bob', { groups: ['cab'] });
    await createUser('alice', { groups: ['release-managers', 'cab'] });
    await createUser('dave', { groups: ['compliance'] });
    const answer = await server.json('GET', '/api/v1/groups', { token: viewer });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      items: [
        { name: 'cab', members: ['alice', 'bob'] },
        { name: 'compliance', members: ['dave'] },
        { name: 'release-managers', members: ['alice'] },
      ],
    });
    expect((await server.json('GET', '/api/v1/groups', { token: null })).status).toBe(401);
  });

  it('follows every page of users', async () => {
    await server.store.transaction(async (stores) => {
      for (let i = 0; i < 1005; i += 1) await stores.objects.create({ kind: 'User', name: `u-${String(i).padStart(4, '0')}`, spec: { groups: ['everyone'] } });
    });
    const [everyone] = (await server.json('GET', '/api/v1/groups')).body.items;
    expect(everyone.members).toHaveLength(1005);
    expect(everyone.members.at(-1)).toBe('u-1004');
  });
});
