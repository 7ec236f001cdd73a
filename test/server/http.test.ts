import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/ports/store.js';
import { createApp } from '../../src/server/app.js';
import { createLogger } from '../../src/server/logger.js';
import { doc, memoryLog, seed, startTestServer, type TestServer } from './helpers.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('HTTP behaviour', () => {
  it('rejects bodies over the limit with a 413 problem', async () => {
    server = await startTestServer({ app: { bodyLimitBytes: 1024 } });
    const big = doc('Environment', 'prod', { description: 'x'.repeat(2000) });
    const response = await server.json('POST', '/api/v1/environments', { body: big });
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.body).toMatchObject({ status: 413, title: 'Content Too Large' });
    // Chunked bodies (no Content-Length) are measured as they stream.
    const chunked = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(JSON.stringify(big)));
        controller.close();
      },
    });
    const streamed = await server.app.request('/api/v1/environments', {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: chunked,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    // The default is 1 MiB: the same body passes.
    const roomy = await startTestServer();
    expect((await roomy.json('POST', '/api/v1/environments', { body: big })).status).toBe(201);
    await roomy.close();
  });

  it('answers malformed JSON with a 400 problem', async () => {
    server = await startTestServer();
    const response = await server.json('POST', '/api/v1/environments', { rawBody: '{"apiVersion": ' });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.body).toMatchObject({ status: 400, type: expect.stringMatching(/malformed-request$/), errors: [{ path: [], message: expect.stringMatching(/JSON/) }] });
    const wrongType = await server.json('POST', '/api/v1/environments', { rawBody: 'kind: Environment', headers: { 'content-type': 'application/yaml' } });
    expect(wrongType.status).toBe(415);
    expect(wrongType.headers.get('content-type')).toBe('application/problem+json');
  });

  it('answers unknown routes and missing tokens with problems', async () => {
    server = await startTestServer();
    const missing = await server.json('GET', '/api/v1/nothing');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
    const anonymous = await server.json('GET', '/api/v1/environments', { token: null });
    expect(anonymous).toMatchObject({ status: 401, body: { status: 401, title: 'Unauthorized' } });
    const unknown = await server.json('GET', '/api/v1/environments', { token: 'rg_not-a-real-token' });
    expect(unknown.status).toBe(401);
    const viewer = await server.token('v', 'viewer');
    const forbidden = await server.json('GET', '/api/v1/tokens', { token: viewer });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.detail).toMatch(/requires role "admin"/);
  });

  it('hides internals of unexpected errors and logs them', async () => {
    const log = memoryLog();
    server = await startTestServer();
    const real = server.store;
    const broken: Store = {
      dialect: real.dialect,
      transaction: (work) => real.transaction(work),
      ping: () => Promise.reject(new Error('disk on fire')),
      close: () => real.close(),
      read: {
        audit: real.read.audit,
        tokens: real.read.tokens,
        leases: real.read.leases,
        secrets: real.read.secrets,
        objects: { ...real.read.objects, list: () => Promise.reject(new Error('SQLITE_CORRUPT at /var/lib/secret/path')) },
      },
    };
    const app = createApp({ store: broken, logger: log.logger });
    const response = await app.request('/api/v1/environments', { headers: { authorization: `Bearer ${server.adminToken}` } });
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const text = await response.text();
    expect(text).not.toMatch(/SQLITE|secret|stack/);
    expect(log.text()).toContain('SQLITE_CORRUPT');

    const ready = await app.request('/readyz');
    expect(ready.status).toBe(503);
    expect(await ready.text()).not.toContain('disk on fire');
  });

  it('serves health checks and the OpenAPI 3.1 document without a token', async () => {
    server = await startTestServer();
    expect((await server.json('GET', '/healthz', { token: null })).body).toEqual({ status: 'ok' });
    expect((await server.json('GET', '/readyz', { token: null })).body).toEqual({ status: 'ready' });
    const openapi = (await server.json('GET', '/api/openapi.json', { token: null })).body;
    expect(openapi.openapi).toBe('3.1.0');
    expect(openapi.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(openapi.paths['/api/v1/pipelines'].post.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/PipelineDocument');
    expect(openapi.components.schemas.Pipeline.properties.spec.properties.stages).toBeDefined();
    expect(openapi.paths['/healthz'].get.security).toEqual([]);
  });

  it('never writes a token to the log', async () => {
    const log = memoryLog();
    server = await startTestServer({ logger: log.logger });
    await seed(server);
    const created = await server.json('POST', '/api/v1/tokens', { body: { name: 'ci', role: 'deployer' } });
    const secrets = [server.adminToken, created.body.token as string];
    await server.json('GET', `/api/v1/environments?cursor=${server.adminToken}`);
    await server.json('GET', '/api/v1/environments', { token: `${server.adminToken}x` });
    await server.json('POST', '/api/v1/apply', { body: { documents: [doc('Environment', 'qa', {})] }, token: created.body.token });
    await server.json('POST', '/api/v1/environments', { rawBody: `{"token": "${server.adminToken}"` });
    await server.json('DELETE', '/api/v1/tokens/ci');
    const text = log.text();
    expect(text).toContain('"path":"/api/v1/environments"');
    expect(text).toContain('"status":401');
    for (const secret of secrets) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(secret.slice(3)); // without the prefix, too
    }
    expect(text.toLowerCase()).not.toContain('bearer');
  });

  it('redacts credential fields logged by any code', () => {
    const log = memoryLog();
    log.logger.info({ authorization: 'Bearer one', token: 'two', password: 'three', secret: 'four', req: { headers: { authorization: 'five' } }, webhook: { token: 'six' } }, 'x');
    const text = log.text();
    for (const value of ['one', 'two', 'three', 'four', 'five', 'six']) expect(text).not.toContain(`"${value}"`);
    expect(text).toContain('[redacted]');
    expect(createLogger({ level: 'silent' }).level).toBe('silent');
  });

  it('writes human-readable lines when asked, still redacted', () => {
    const chunks: string[] = [];
    const destination = new Writable({ write: (chunk, _encoding, callback) => (chunks.push(chunk.toString()), callback()) });
    const logger = createLogger({ pretty: true, destination });
    logger.info({ method: 'GET', token: 'rg_secret' }, 'request');
    const text = chunks.join('');
    expect(text).toMatch(/INFO.*request/);
    expect(text).not.toContain('rg_secret');
    expect(() => JSON.parse(text)).toThrow();
  });
});
