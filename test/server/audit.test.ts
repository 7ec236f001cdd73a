import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuditService } from '../../src/server/audit/service.js';
import { createTokenService } from '../../src/server/tokens/service.js';
import { doc, startTestServer, type TestServer } from './helpers.js';

let server: TestServer | undefined;
let dir: string | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const events = async (s: TestServer, query = '') => (await s.json('GET', `/api/v1/audit?limit=1000${query}`)).body.items as any[];

describe('audit', () => {
  it('records exactly one event per mutation, with the actor and state digests', async () => {
    server = await startTestServer();
    const s = server;
    const ops: Array<[string, string, unknown?]> = [
      ['POST', '/api/v1/environments', doc('Environment', 'prod', {})],
      ['PUT', '/api/v1/environments/prod', doc('Environment', 'prod', { production: true })],
      ['POST', '/api/v1/apply', { documents: [doc('Environment', 'staging', {}), doc('Environment', 'prod', { production: true })] }],
      ['DELETE', '/api/v1/environments/staging'],
      ['POST', '/api/v1/tokens', { name: 'ci', role: 'deployer' }],
      ['DELETE', '/api/v1/tokens/ci'],
      ['DELETE', '/api/v1/tokens/ci'], // repeat: already revoked, no state change
    ];
    const start = (await events(s)).length;
    expect(start).toBe(1); // the admin token's creation at first start
    const expected = [
      ['create', 'Environment', 'prod'],
      ['update', 'Environment', 'prod'],
      ['create', 'Environment', 'staging'], // apply: prod is unchanged, so only staging
      ['delete', 'Environment', 'staging'],
      ['token.create', 'Token', 'ci'],
      ['token.revoke', 'Token', 'ci'],
    ];
    let secret = '';
    for (const [method, url, body] of ops) {
      const response = await s.json(method, url, body === undefined ? {} : { body });
      expect(response.status, `${method} ${url}`).toBeLessThan(300);
      if (url === '/api/v1/tokens') secret = response.body.token;
    }
    const log = (await events(s)).slice(start);
    expect(log.map((event) => [event.action, event.kind, event.name])).toEqual(expected);
    for (const event of log) expect(event.actor).toBe('token:admin');
    expect(log[0]).toMatchObject({ beforeDigest: null, afterDigest: expect.stringMatching(/^sha256:/), details: { version: 1 } });
    expect(log[1].beforeDigest).toBe(log[0].afterDigest);
    expect(log[3]).toMatchObject({ afterDigest: null, beforeDigest: expect.stringMatching(/^sha256:/) });
    expect(JSON.stringify(await events(s))).not.toContain(secret);

    expect((await s.json('GET', '/api/v1/audit/verify')).body).toMatchObject({ ok: true, checked: start + expected.length });
  });

  it('filters and pages', async () => {
    server = await startTestServer();
    for (const name of ['a', 'b', 'c']) await server.json('POST', '/api/v1/environments', { body: doc('Environment', name, {}) });
    expect((await events(server, '&name=b')).map((event) => event.name)).toEqual(['b']);
    expect((await events(server, '&kind=Environment')).length).toBe(3);
    expect((await events(server, '&actor=system')).map((event) => event.action)).toEqual(['token.create']);
    const first = await server.json('GET', '/api/v1/audit?limit=2');
    expect(first.body.items.map((event: any) => event.seq)).toEqual([1, 2]);
    expect(first.body.nextCursor).toBe('2');
    const second = await server.json('GET', `/api/v1/audit?limit=2&afterSeq=${first.body.nextCursor}`);
    expect(second.body.items.map((event: any) => event.seq)).toEqual([3, 4]);
    expect(second.body.nextCursor).toBeNull();
  });

  it('pages newest first with order=desc: nextCursor is the next page\'s beforeSeq', async () => {
    server = await startTestServer();
    for (const name of ['a', 'b', 'c', 'd']) await server.json('POST', '/api/v1/environments', { body: doc('Environment', name, {}) });
    // seq 1 is the admin token's creation; 2..5 the environments.
    const first = await server.json('GET', '/api/v1/audit?order=desc&limit=2');
    expect(first.status).toBe(200);
    expect(first.body.items.map((event: any) => event.seq)).toEqual([5, 4]);
    expect(first.body.nextCursor).toBe('4');
    const second = await server.json('GET', `/api/v1/audit?order=desc&limit=2&beforeSeq=${first.body.nextCursor}`);
    expect(second.body.items.map((event: any) => event.seq)).toEqual([3, 2]);
    expect(second.body.nextCursor).toBe('2');
    const third = await server.json('GET', `/api/v1/audit?order=desc&limit=2&beforeSeq=${second.body.nextCursor}`);
    expect(third.body.items.map((event: any) => event.seq)).toEqual([1]);
    expect(third.body.nextCursor).toBeNull();
    // Filters apply in either order; ascending stays the default.
    expect((await events(server, '&order=desc&kind=Environment')).map((event) => event.name)).toEqual(['d', 'c', 'b', 'a']);
    expect((await events(server, '&order=asc&kind=Environment')).map((event) => event.name)).toEqual(['a', 'b', 'c', 'd']);
    expect((await events(server, '&beforeSeq=3')).map((event) => event.seq)).toEqual([1, 2]);
    expect((await events(server, '&order=desc&afterSeq=2&beforeSeq=5')).map((event) => event.seq)).toEqual([4, 3]);
  });

  it('filters by action, exactly or by a prefix with a trailing *', async () => {
    server = await startTestServer();
    await server.json('POST', '/api/v1/environments', { body: doc('Environment', 'prod', {}) });
    await server.json('PUT', '/api/v1/environments/prod', { body: doc('Environment', 'prod', { production: true }) });
    await server.json('POST', '/api/v1/tokens', { body: { name: 'ci', role: 'deployer' } });
    await server.json('DELETE', '/api/v1/tokens/ci');
    const actions = async (query: string) => (await events(server!, query)).map((event) => event.action);
    expect(await actions('&action=update')).toEqual(['update']);
    expect(await actions('&action=token.*')).toEqual(['token.create', 'token.create', 'token.revoke']);
    expect(await actions(`&action=${encodeURIComponent('token.*')}&order=desc`)).toEqual(['token.revoke', 'token.create', 'token.create']);
    expect(await actions('&action=token.*&actor=token:admin')).toEqual(['token.create', 'token.revoke']);
    expect(await actions('&action=token')).toEqual([]);
  });

  it('refuses an unknown order and a beforeSeq below 1', async () => {
    server = await startTestServer();
    for (const query of ['order=newest', 'beforeSeq=0', 'beforeSeq=x', 'action=']) {
      const response = await server.json('GET', `/api/v1/audit?${query}`);
      expect(response.status, query).toBe(400);
    }
  });

  it('verifies across pages, continuing from each page head', async () => {
    server = await startTestServer();
    for (let i = 0; i < 6; i++) await server.json('POST', '/api/v1/environments', { body: doc('Environment', `e${i}`, {}) });
    const audit = createAuditService();
    const paged = await audit.verify(server.store.read, 2);
    const whole = await audit.verify(server.store.read, 1000);
    expect(paged).toEqual(whole);
    expect(paged).toMatchObject({ ok: true, checked: 7 });
  });

  it('reports a row altered directly in the database', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'rollgate-audit-'));
    const file = path.join(dir, 'rollgate.db');
    server = await startTestServer({ file });
    await server.json('POST', '/api/v1/environments', { body: doc('Environment', 'prod', {}) });
    await server.json('POST', '/api/v1/environments', { body: doc('Environment', 'staging', {}) });
    expect((await server.json('GET', '/api/v1/audit/verify')).body).toMatchObject({ ok: true, checked: 3 });

    const raw = new Database(file);
    raw.prepare('UPDATE audit_events SET actor = ? WHERE seq = 2').run('token:someone-else');
    raw.close();

    const verdict = await server.json('GET', '/api/v1/audit/verify');
    expect(verdict.status).toBe(200);
    expect(verdict.body).toMatchObject({ ok: false, brokenAt: 2, checked: 1, reason: expect.stringMatching(/altered/) });
  });
});

describe('tokens', () => {
  it('mints the admin token once, lists without secrets, and revokes', async () => {
    server = await startTestServer();
    const again = await server.store.transaction((stores) => createTokenService({ now: () => new Date() }).ensureAdminToken(stores));
    expect(again).toBeNull();
    expect(server.adminToken).toMatch(/^rg_[A-Za-z0-9_-]{43}$/);

    const created = await server.json('POST', '/api/v1/tokens', { body: { name: 'ci', role: 'deployer' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'ci', role: 'deployer', revokedAt: null, token: expect.stringMatching(/^rg_/) });
    expect((await server.json('POST', '/api/v1/tokens', { body: { name: 'ci', role: 'viewer' } })).status).toBe(409);

    const listed = await server.json('GET', '/api/v1/tokens');
    expect(listed.body.items.map((token: any) => token.name).sort()).toEqual(['admin', 'ci']);
    const text = JSON.stringify(listed.body);
    expect(text).not.toContain(created.body.token);
    expect(text).not.toContain(server.adminToken);
    for (const token of listed.body.items) expect(Object.keys(token).sort()).toEqual(['createdAt', 'id', 'name', 'revokedAt', 'role', 'user']);

    expect((await server.json('GET', '/api/v1/environments', { token: created.body.token })).status).toBe(200);
    const revoked = await server.json('DELETE', '/api/v1/tokens/ci');
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    const refused = await server.json('GET', '/api/v1/environments', { token: created.body.token });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await server.json('DELETE', '/api/v1/tokens/nobody')).status).toBe(404);
  });
});
