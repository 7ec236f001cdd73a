import { createServer } from 'node:net';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, ConnectionError, createClient, UnexpectedResponseError, type ChangeEvent } from '../../src/client/index.js';
import { apiObject, sendJson, sendProblem, startStub, type StubHandler, type StubServer } from './stub-server.js';

let stub: StubServer | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

async function serve(handler: StubHandler) {
  stub = await startStub(handler);
  return { stub, client: createClient({ server: `${stub.url}/`, token: 'rg_secret' }) };
}

describe('createClient: objects', () => {
  it('lists with the plural path, label selector, limit, cursor and the bearer token', async () => {
    const { stub, client } = await serve((_req, res) => sendJson(res, 200, { items: [apiObject('Service', 'checkout', { owner: 'a' })], nextCursor: 'c2' }));
    const page = await client.list('Service', { labels: { team: 'payments', tier: 'critical' }, limit: 10, cursor: 'c1' });
    expect(page.nextCursor).toBe('c2');
    expect(page.items[0]!.metadata.name).toBe('checkout');
    const [request] = stub.requests;
    expect(request!.method).toBe('GET');
    expect(request!.path).toBe('/api/v1/services');
    expect(request!.query.get('labelSelector')).toBe('team=payments,tier=critical');
    expect(request!.query.get('limit')).toBe('10');
    expect(request!.query.get('cursor')).toBe('c1');
    expect(request!.headers.authorization).toBe('Bearer rg_secret');
  });

  it('sends no Authorization header without a token', async () => {
    stub = await startStub((_req, res) => sendJson(res, 200, { items: [], nextCursor: null }));
    await createClient({ server: stub.url }).list('Environment');
    expect(stub.requests[0]!.headers.authorization).toBeUndefined();
    expect(stub.requests[0]!.path).toBe('/api/v1/environments');
  });

  it('listAll follows nextCursor to the last page', async () => {
    const pages: Record<string, { items: unknown[]; nextCursor: string | null }> = {
      '': { items: [apiObject('Environment', 'a'), apiObject('Environment', 'b')], nextCursor: 'p2' },
      p2: { items: [apiObject('Environment', 'c')], nextCursor: 'p3' },
      p3: { items: [apiObject('Environment', 'd')], nextCursor: null },
    };
    const { stub, client } = await serve((req, res) => sendJson(res, 200, pages[req.query.get('cursor') ?? '']));
    const all = await client.listAll('Environment', { labels: 'tier=prod' });
    expect(all.map((object) => object.metadata.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(stub.requests.map((req) => req.query.get('cursor'))).toEqual([null, 'p2', 'p3']);
    expect(stub.requests.every((req) => req.query.get('labelSelector') === 'tier=prod')).toBe(true);
  });

  it('listAll stops with an error when the server repeats a cursor', async () => {
    const { client } = await serve((_req, res) => sendJson(res, 200, { items: [], nextCursor: 'same' }));
    await expect(client.listAll('Service')).rejects.toThrow(UnexpectedResponseError);
  });

  it('get returns the object, or null on 404', async () => {
    const { stub, client } = await serve((req, res) =>
      req.path.endsWith('/checkout') ? sendJson(res, 200, apiObject('Service', 'checkout')) : sendProblem(res, 404, { title: 'Not Found' }),
    );
    expect((await client.get('Service', 'checkout'))?.kind).toBe('Service');
    expect(await client.get('Service', 'nope')).toBeNull();
    expect(stub.requests.map((req) => req.path)).toEqual(['/api/v1/services/checkout', '/api/v1/services/nope']);
  });

  it('create POSTs the document to the collection, update PUTs it to the item', async () => {
    const { stub, client } = await serve((req, res) => sendJson(res, req.method === 'POST' ? 201 : 200, apiObject('RolloutStrategy', 'canary', {}, 2)));
    const document = { apiVersion: 'rollgate.dev/v1alpha1', kind: 'RolloutStrategy' as const, metadata: { name: 'canary', version: 1 }, spec: { canary: { stepWeights: [10, 50] } } };
    await client.create(document);
    const updated = await client.update(document);
    expect(updated.metadata.version).toBe(2);
    const [post, put] = stub.requests;
    expect([post!.method, post!.path]).toEqual(['POST', '/api/v1/rolloutstrategies']);
    expect([put!.method, put!.path]).toEqual(['PUT', '/api/v1/rolloutstrategies/canary']);
    expect(post!.json).toEqual(document);
    expect(post!.headers['content-type']).toBe('application/json');
  });

  it('delete sends ?version= and tells deleted (true) from not found (false)', async () => {
    const { stub, client } = await serve((req, res) =>
      req.path.endsWith('/gone') ? sendProblem(res, 404, { title: 'Not Found' }) : sendJson(res, 200, apiObject('Service', 'checkout')),
    );
    expect(await client.delete('Service', 'checkout', 3)).toBe(true);
    expect(await client.delete('Service', 'gone')).toBe(false);
    expect(stub.requests[0]!.method).toBe('DELETE');
    expect(stub.requests[0]!.query.get('version')).toBe('3');
    expect(stub.requests[1]!.query.has('version')).toBe(false);
  });
});

describe('createClient: apply, audit, tokens', () => {
  it('apply POSTs {documents, dryRun} and returns the parsed result', async () => {
    const { stub, client } = await serve((_req, res) =>
      sendJson(res, 200, { dryRun: true, results: [{ kind: 'Service', name: 'checkout', action: 'created', version: 1 }] }),
    );
    const documents = [{ apiVersion: 'rollgate.dev/v1alpha1', kind: 'Service', metadata: { name: 'checkout' }, spec: {} }];
    const result = await client.apply(documents, { dryRun: true });
    expect(result.results[0]!.action).toBe('created');
    expect(stub.requests[0]!.path).toBe('/api/v1/apply');
    expect(stub.requests[0]!.json).toEqual({ documents, dryRun: true });
  });

  it('turns a problem+json answer into an ApiError with status and field errors', async () => {
    const errors = [{ document: 1, path: ['spec', 'canary', 'steps', 0, 'setWeight'], message: 'Too big' }];
    const { client } = await serve((_req, res) => sendProblem(res, 422, { title: 'Unprocessable Content', detail: 'invalid documents', errors }));
    const error = await client.apply([{}]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    expect(apiError.status).toBe(422);
    expect(apiError.problem.errors).toEqual(errors);
    expect(apiError.message).toBe('invalid documents');
    expect(apiError.request).toBe('POST /api/v1/apply');
  });

  it('makes a problem from an error answer that is not problem JSON', async () => {
    const { client } = await serve((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>bad gateway</html>');
    });
    const error = (await client.audit.verify().catch((caught: unknown) => caught)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(502);
    expect(error.problem.title).toBe('Bad Gateway');
    expect(error.problem.detail).toBeUndefined();
  });

  it('rejects a 2xx answer that does not have the wire shape', async () => {
    const { client } = await serve((_req, res) => sendJson(res, 200, { dryRun: 'yes' }));
    await expect(client.apply([{}])).rejects.toThrow(/unexpected response from POST \/api\/v1\/apply: dryRun/);
  });

  it('audit.list passes the filters; verify parses the verdict', async () => {
    const event = { seq: 4, time: 't', actor: 'token:admin', action: 'create', kind: 'Service', name: 'checkout', beforeDigest: null, afterDigest: 'sha256:x', prevHash: 'a', hash: 'b' };
    const { stub, client } = await serve((req, res) =>
      req.path === '/api/v1/audit/verify'
        ? sendJson(res, 200, { ok: false, checked: 3, brokenAt: 2, reason: 'hash mismatch' })
        : sendJson(res, 200, { items: [event], nextCursor: '4' }),
    );
    const page = await client.audit.list({ afterSeq: 3, limit: 1, kind: 'Service', actor: 'token:admin' });
    expect(page).toEqual({ items: [event], nextCursor: '4' });
    expect(Object.fromEntries(stub.requests[0]!.query)).toEqual({ afterSeq: '3', limit: '1', kind: 'Service', actor: 'token:admin' });
    expect(await client.audit.verify()).toEqual({ ok: false, checked: 3, brokenAt: 2, reason: 'hash mismatch' });
    await client.audit.list({ order: 'desc', beforeSeq: 40, limit: 50, action: 'rollout.*', name: 'checkout' });
    expect(Object.fromEntries(stub.requests.at(-1)!.query)).toEqual({ order: 'desc', beforeSeq: '40', limit: '50', action: 'rollout.*', name: 'checkout' });
  });

  it('tokens: create, list and revoke', async () => {
    const info = { id: 'tok_1', name: 'ci', role: 'deployer', createdAt: '2026-01-01T00:00:00Z', revokedAt: null, user: null };
    const { stub, client } = await serve((req, res) => {
      if (req.method === 'POST') return sendJson(res, 201, { ...info, token: 'rg_abc' });
      if (req.method === 'GET') return sendJson(res, 200, { items: [info] });
      return sendJson(res, 200, { ...info, revokedAt: '2026-01-02T00:00:00Z' });
    });
    expect((await client.tokens.create({ name: 'ci', role: 'deployer' })).token).toBe('rg_abc');
    expect(await client.tokens.list()).toEqual([info]);
    await client.tokens.revoke('ci');
    expect(stub.requests.map((req) => `${req.method} ${req.path}`)).toEqual(['POST /api/v1/tokens', 'GET /api/v1/tokens', 'DELETE /api/v1/tokens/ci']);
    expect(stub.requests[0]!.json).toEqual({ name: 'ci', role: 'deployer' });
  });
});

describe('createClient: connection problems', () => {
  it('names the server when nothing listens there', async () => {
    const port = await freePort();
    const client = createClient({ server: `http://127.0.0.1:${port}` });
    const error = await client.health().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(new RegExp(`^cannot reach Rollgate at http://127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED`));
  });

  it('rejects a server URL that is not http(s)', () => {
    expect(() => createClient({ server: 'ftp://example.com' })).toThrow(/only http and https/);
    expect(() => createClient({ server: 'not a url' })).toThrow(/invalid server URL/);
  });

  it('keeps a path prefix of the server URL', async () => {
    stub = await startStub((_req, res) => sendJson(res, 200, { status: 'ok' }));
    await createClient({ server: `${stub.url}/rollgate/` }).health();
    expect(stub.requests[0]!.path).toBe('/rollgate/healthz');
  });
});

describe('createClient: events (SSE)', () => {
  const change = (seq: number): ChangeEvent => ({ seq, action: 'create', kind: 'Service', name: `s${seq}`, version: 1, actor: 'token:admin', time: 't' });

  /** Writes the chunks with pauses so they arrive as separate reads. */
  const streamChunks = (chunks: string[], keepOpen = false) => async (_req: unknown, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const chunk of chunks) {
      res.write(chunk);
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    if (!keepOpen) res.end();
  };

  it('parses change events, including one split across chunks, and skips comments and other events', async () => {
    const first = `event: change\nid: 1\ndata: ${JSON.stringify(change(1))}\n\n`;
    const second = `event: change\r\nid: 2\r\ndata: ${JSON.stringify(change(2))}\r\n\r\n`;
    const cut = second.indexOf('"name"');
    const { stub, client } = await serve(
      streamChunks([': connected\n\n', first, 'event: other\ndata: {}\n\n', second.slice(0, cut), second.slice(cut, -1), second.slice(-1)]),
    );
    const received: ChangeEvent[] = [];
    for await (const event of client.events({ lastEventId: '0' })) received.push(event);
    expect(received).toEqual([change(1), change(2)]);
    expect(stub.requests[0]!.headers.accept).toBe('text/event-stream');
    expect(stub.requests[0]!.headers['last-event-id']).toBe('0');
    expect(stub.requests[0]!.headers.authorization).toBe('Bearer rg_secret');
  });

  it('decodes a UTF-8 character split between two network chunks', async () => {
    const event = { ...change(3), name: 'café' };
    const bytes = Buffer.from(`event: change\ndata: ${JSON.stringify(event)}\n\n`, 'utf8');
    const split = bytes.indexOf(Buffer.from('é', 'utf8')) + 1;
    const { client } = await serve(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(bytes.subarray(0, split));
      await new Promise((resolve) => setTimeout(resolve, 15));
      res.end(bytes.subarray(split));
    });
    const received: ChangeEvent[] = [];
    for await (const item of client.events()) received.push(item);
    expect(received).toEqual([event]);
  });

  it('stops reading when the consumer breaks out, even if the stream stays open', async () => {
    const { client } = await serve(streamChunks([`event: change\ndata: ${JSON.stringify(change(7))}\n\n`], true));
    const received: ChangeEvent[] = [];
    for await (const event of client.events()) {
      received.push(event);
      break;
    }
    expect(received).toEqual([change(7)]);
  });

  it('ends with the abort reason when the signal is aborted', async () => {
    const { client } = await serve(streamChunks([': waiting\n\n'], true));
    const controller = new AbortController();
    const iterator = client.events({ signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop watching')), 50);
    await expect(iterator.next()).rejects.toThrow('stop watching');
  });

  it('throws ApiError when the stream is refused', async () => {
    const { client } = await serve((_req, res) => sendProblem(res, 401, { title: 'Unauthorized' }));
    await expect(client.events().next()).rejects.toMatchObject({ name: 'ApiError', status: 401 });
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
