import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxy, type EmbeddedProxy } from '../../src/proxy/index.js';
import { HOST, request, sendMany, startUpstream, type Upstream } from './helpers.js';

describe('proxy forwarding', () => {
  let a1: Upstream;
  let a2: Upstream;
  let b: Upstream;
  let proxy: EmbeddedProxy;
  let port: number;

  beforeAll(async () => {
    [a1, a2, b] = await Promise.all([startUpstream('1.0.0'), startUpstream('1.0.0'), startUpstream('1.1.0')]);
    proxy = createProxy({ listen: { host: HOST, port: 0 }, service: 'fwd' });
    ({ port } = await proxy.start());
    proxy.setBackends({ stable: { version: '1.0.0', endpoints: [a1.endpoint, a2.endpoint] }, canary: { version: '1.1.0', endpoints: [b.endpoint] } });
  });
  afterAll(async () => {
    await proxy.stop();
    await Promise.all([a1.close(), a2.close(), b.close()]);
  });

  it('start() is idempotent and returns the bound address', async () => {
    expect(await proxy.start()).toEqual({ host: HOST, port });
    expect(proxy.address()).toEqual({ host: HOST, port });
  });

  it('answers 503 before any backend is set', async () => {
    const empty = createProxy({ listen: { host: HOST, port: 0 } });
    const { port: p } = await empty.start();
    const reply = await request(p);
    expect(reply.status).toBe(503);
    expect(reply.body).toMatch(/no backends/);
    await empty.stop();
    await empty.stop();
  });

  it('keeps method, path, query and headers; adds X-Forwarded-*; strips hop-by-hop headers', async () => {
    const reply = await request(port, {
      method: 'DELETE',
      path: '/headers?x=1&y=%20two&x=3',
      headers: { Host: 'shop.example', 'X-Custom': 'keep me', Connection: 'X-Drop', 'X-Drop': 'gone', 'X-Forwarded-For': '203.0.113.9', TE: 'trailers' },
    });
    expect(reply.status).toBe(200);
    const seen = JSON.parse(reply.body) as { method: string; url: string; headers: Record<string, string> };
    expect(seen.method).toBe('DELETE');
    expect(seen.url).toBe('/headers?x=1&y=%20two&x=3');
    expect(seen.headers.host).toBe('shop.example');
    expect(seen.headers['x-custom']).toBe('keep me');
    expect(seen.headers['x-drop']).toBeUndefined();
    expect(seen.headers.te).toBeUndefined();
    expect(seen.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe('shop.example');
    expect(reply.headers['x-rollgate-version']).toBe('1.0.0');
  });

  it('round-robins across the endpoints of a version', async () => {
    const before = [a1.received, a2.received];
    await sendMany(port, 40, { concurrency: 1 });
    expect(a1.received - before[0]!).toBe(20);
    expect(a2.received - before[1]!).toBe(20);
  });

  it('streams a large request body through and back (no buffering limit)', async () => {
    const body = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const req = http.request({ host: HOST, port, method: 'PUT', path: '/echo' }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(reply.length).toBe(body.length);
    expect(reply.equals(body)).toBe(true);
  });

  it('streams both ways: echoed bytes come back before the request body has ended', async () => {
    const firstEchoBeforeEnd = await new Promise<boolean>((resolve, reject) => {
      let ended = false;
      const req = http.request({ host: HOST, port, method: 'POST', path: '/echo', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        res.once('data', () => {
          const before = !ended;
          ended = true;
          req.end('last\n');
          res.resume();
          res.on('end', () => resolve(before));
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.write('first\n');
      req.flushHeaders();
      setTimeout(() => {
        if (!ended) {
          ended = true;
          req.end();
        }
      }, 2000);
    });
    expect(firstEchoBeforeEnd).toBe(true);
  });

  it('streams the response: the first chunk arrives long before the last', async () => {
    const times = await new Promise<{ first: number; end: number }>((resolve, reject) => {
      const t0 = Date.now();
      let first = 0;
      http
        .get({ host: HOST, port, path: '/stream?chunks=5&intervalMs=60' }, (res) => {
          res.on('data', () => {
            if (first === 0) first = Date.now() - t0;
          });
          res.on('end', () => resolve({ first, end: Date.now() - t0 }));
        })
        .on('error', reject);
    });
    expect(times.end - times.first).toBeGreaterThanOrEqual(180);
  });

  it('answers HEAD and keeps multiple Set-Cookie headers', async () => {
    const upstream = http.createServer((_req, res) => {
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
      res.end('hello');
    });
    await new Promise<void>((r) => upstream.listen(0, HOST, r));
    const p = createProxy({ listen: { host: HOST, port: 0 } });
    const { port: pp } = await p.start();
    p.setBackends({ stable: { version: 'v', endpoints: [`${HOST}:${(upstream.address() as { port: number }).port}`] }, canary: null });
    const get = await request(pp);
    expect(get.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(get.body).toBe('hello');
    const head = await request(pp, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    await p.stop();
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  it('state() reports the live table; backends are copied, not referenced', async () => {
    const endpoints = [b.endpoint];
    proxy.setBackends({ stable: { version: '1.0.0', endpoints: [a1.endpoint, a2.endpoint] }, canary: { version: '1.1.0', endpoints } });
    endpoints.push('127.0.0.1:1');
    proxy.setWeights({ canary: 12.5 });
    proxy.setHeaderRoute({ name: 'qa', match: [{ headerName: 'x-qa' }] });
    const state = proxy.state();
    expect(state).toMatchObject({ canaryWeight: 12.5, stableVersion: '1.0.0', canaryVersion: '1.1.0', headerRoute: 'qa', sticky: false });
    expect(state.backends?.canary?.endpoints).toEqual([b.endpoint]);
    expect(state.headerRouteSpec).toEqual({ name: 'qa', match: [{ headerName: 'x-qa' }] });
    const qa = await sendMany(port, 20, { headers: { 'x-qa': '' } });
    expect(qa.every((r) => r.headers['x-rollgate-version'] === '1.1.0')).toBe(true);
    proxy.setHeaderRoute(null);
    proxy.setWeights({ canary: 0 });
  });
});
