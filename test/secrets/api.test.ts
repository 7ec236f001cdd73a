/**
 * `/api/v1/secrets` on the real app: values go in and never come back out (answers, errors, audit
 * events, logs), writes are audited by name and keys, and only admins get in.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BuiltinSecretProvider, EnvSecretProvider, ephemeralKeyring } from '../../src/adapters/secrets/index.js';
import { verifyChain } from '../../src/core/audit/chain.js';
import { memoryLog, startTestServer, type TestServer } from '../server/helpers.js';

const VALUE = 'api-test-value-9f8e7d';
let server: TestServer;
afterEach(() => server?.close());

async function builtinServer(log = memoryLog()) {
  server = await startTestServer({ logger: log.logger, app: {} });
  const provider = new BuiltinSecretProvider({ store: server.store, keyring: ephemeralKeyring() });
  // A second app on the same store, with this provider (startTestServer's own may have another key).
  const { createApp } = await import('../../src/server/app.js');
  const app = createApp({ store: server.store, logger: log.logger, secrets: { provider, kind: 'builtin' } });
  const call = async (method: string, path: string, body?: unknown, token = server.adminToken) => {
    const response = await app.request(path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, text, body: text ? JSON.parse(text) : null };
  };
  return { provider, call, log };
}

describe('secrets API', () => {
  it('PUT stores, GET lists names and keys, PATCH merges, DELETE removes; no answer ever holds a value', async () => {
    const { provider, call } = await builtinServer();
    const answers: string[] = [];
    const put = await call('PUT', '/api/v1/secrets/db', { data: { password: VALUE, user: 'app-user-value' } });
    answers.push(put.text);
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ name: 'db', keys: ['password', 'user'], updatedAt: expect.any(String) });
    expect(await provider.resolve({ name: 'db', key: 'password' })).toBe(VALUE);

    const list = await call('GET', '/api/v1/secrets');
    answers.push(list.text);
    expect(list.body).toEqual({ provider: 'builtin', writable: true, listable: true, items: [{ name: 'db', keys: ['password', 'user'], updatedAt: expect.any(String) }] });

    const patch = await call('PATCH', '/api/v1/secrets/db', { data: { password: `${VALUE}-rotated`, user: null, extra: 'extra-value' } });
    answers.push(patch.text);
    expect(patch.body.keys).toEqual(['extra', 'password']);
    expect(await provider.resolve({ name: 'db', key: 'password' })).toBe(`${VALUE}-rotated`);

    const replaced = await call('PUT', '/api/v1/secrets/db', { data: { only: 'only-value' } });
    answers.push(replaced.text);
    expect(replaced.body.keys).toEqual(['only']);

    const deleted = await call('DELETE', '/api/v1/secrets/db');
    answers.push(deleted.text);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ name: 'db', keys: ['only'] });
    const again = await call('DELETE', '/api/v1/secrets/db');
    expect(again.status).toBe(404);

    for (const text of answers) expect(text).not.toMatch(/api-test-value|app-user-value|extra-value|only-value/);
    // There is no route that reads a value back.
    expect((await call('GET', '/api/v1/secrets/db')).status).toBe(404);
  });

  it('audits writes with the secret name and key names only, in a valid chain', async () => {
    const { call } = await builtinServer();
    await call('PUT', '/api/v1/secrets/db', { data: { password: VALUE, user: 'app-user-value' } });
    await call('PATCH', '/api/v1/secrets/db', { data: { user: null } });
    await call('DELETE', '/api/v1/secrets/db');
    const events = (await server.store.read.audit.list()).filter((event) => event.kind === 'Secret');
    expect(events.map((event) => [event.action, event.name, event.actor, event.details])).toEqual([
      ['secret.put', 'db', 'token:admin', { provider: 'builtin', keys: ['password', 'user'], set: ['password', 'user'], removed: [] }],
      ['secret.patch', 'db', 'token:admin', { provider: 'builtin', keys: ['password'], set: [], removed: ['user'] }],
      ['secret.delete', 'db', 'token:admin', { provider: 'builtin', keys: ['password'] }],
    ]);
    for (const event of events) {
      expect(event.beforeDigest).toBeNull();
      expect(event.afterDigest).toBeNull();
    }
    expect(JSON.stringify(await server.store.read.audit.list())).not.toMatch(/api-test-value|app-user-value/);
    expect(verifyChain(await server.store.read.audit.list()).ok).toBe(true);
  });

  it('refuses bad input with problems that name fields, never values', async () => {
    const { call } = await builtinServer();
    const badKey = await call('PUT', '/api/v1/secrets/db', { data: { 'bad/key': VALUE } });
    expect(badKey.status).toBe(422);
    const empty = await call('PUT', '/api/v1/secrets/db', { data: {} });
    expect(empty.status).toBe(422);
    const notString = await call('PUT', '/api/v1/secrets/db', { data: { password: 42 } });
    expect(notString.status).toBe(422);
    const tooBig = await call('PUT', '/api/v1/secrets/db', { data: { password: 'x'.repeat(64 * 1024 + 1) } });
    expect(tooBig.status).toBe(422);
    const badName = await call('PUT', '/api/v1/secrets/Bad_Name', { data: { password: VALUE } });
    expect(badName.status).toBe(400);
    for (const answer of [badKey, empty, notString, tooBig, badName]) expect(answer.text).not.toContain(VALUE);
    expect((await call('GET', '/api/v1/secrets')).body.items).toEqual([]);
  });

  it('is admin only', async () => {
    const { call } = await builtinServer();
    const deployer = await server.token('ci', 'deployer');
    expect((await call('PUT', '/api/v1/secrets/db', { data: { password: VALUE } }, deployer)).status).toBe(403);
    expect((await call('GET', '/api/v1/secrets', undefined, deployer)).status).toBe(403);
    expect((await call('DELETE', '/api/v1/secrets/db', undefined, deployer)).status).toBe(403);
  });

  it('with a read-only provider (env), lists what it can and refuses writes with 409 secrets-unavailable', async () => {
    server = await startTestServer();
    const { createApp } = await import('../../src/server/app.js');
    const { createLogger } = await import('../../src/server/logger.js');
    const app = createApp({ store: server.store, logger: createLogger({ level: 'silent' }), secrets: { provider: new EnvSecretProvider({ env: {} }), kind: 'env' } });
    const headers = { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' };
    const list = await app.request('/api/v1/secrets', { headers });
    expect(await list.json()).toEqual({ provider: 'env', writable: false, listable: false, items: [] });
    const put = await app.request('/api/v1/secrets/db', { method: 'PUT', headers, body: JSON.stringify({ data: { password: VALUE } }) });
    expect(put.status).toBe(409);
    const problem = (await put.json()) as { type: string; detail: string };
    expect(problem.type).toBe('https://rollgate.dev/problems/secrets-unavailable');
    expect(problem.detail).toMatch(/"env" provider, which Rollgate cannot write/);
    expect(JSON.stringify(problem)).not.toContain(VALUE);
    expect((await server.store.read.audit.list()).filter((event) => event.kind === 'Secret')).toEqual([]);
  });

  it('without any provider, says so (409) and lists nothing', async () => {
    server = await startTestServer();
    const { createApp } = await import('../../src/server/app.js');
    const { createLogger } = await import('../../src/server/logger.js');
    const app = createApp({ store: server.store, logger: createLogger({ level: 'silent' }) });
    const headers = { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' };
    expect(await (await app.request('/api/v1/secrets', { headers })).json()).toEqual({ provider: 'none', writable: false, listable: false, items: [] });
    const put = await app.request('/api/v1/secrets/db', { method: 'PUT', headers, body: JSON.stringify({ data: { password: VALUE } }) });
    expect(put.status).toBe(409);
    expect(((await put.json()) as { detail: string }).detail).toBe('this server has no secret provider configured');
  });

  it('never logs a value, even at debug level', async () => {
    const log = memoryLog();
    const { call } = await builtinServer(log);
    await call('PUT', '/api/v1/secrets/db', { data: { password: VALUE } });
    await call('PUT', '/api/v1/secrets/db', { data: { 'bad/key': VALUE } });
    await call('GET', '/api/v1/secrets');
    expect(log.text()).toContain('/api/v1/secrets/db');
    expect(log.text()).not.toContain(VALUE);
  });
});
