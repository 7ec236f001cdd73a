import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxy, type EmbeddedProxy } from '../../src/proxy/index.js';
import { HOST, request, sleep, startUpstream, waitFor, type Upstream } from './helpers.js';

/** A port nothing listens on: bind, read the port, close. */
async function deadEndpoint(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return `${HOST}:${port}`;
}

describe('failures', () => {
  let good: Upstream;
  let proxy: EmbeddedProxy;
  let port: number;

  beforeAll(async () => {
    good = await startUpstream('7.0.0');
    proxy = createProxy({ listen: { host: HOST, port: 0 }, service: 'fail' });
    ({ port } = await proxy.start());
  });
  afterAll(async () => {
    await proxy.stop();
    await good.close();
  });

  it('upstream down → 502 with a short body, counted as an error for that version', async () => {
    proxy.setBackends({ stable: { version: '7.0.0', endpoints: [good.endpoint] }, canary: { version: '7.9.9', endpoints: [await deadEndpoint()] } });
    proxy.setWeights({ canary: 100 });
    const replies = await Promise.all(Array.from({ length: 5 }, () => request(port)));
    for (const reply of replies) {
      expect(reply.status).toBe(502);
      expect(reply.body).toMatch(/^rollgate: upstream 7\.9\.9 unreachable \(ECONNREFUSED\)\n$/);
      expect(reply.headers['x-rollgate-version']).toBe('7.9.9');
    }
    // A request with a body to a dead upstream: 502 too, and the connection is closed.
    const post = await request(port, { method: 'POST', path: '/echo', body: 'x'.repeat(1000) });
    expect(post.status).toBe(502);
    expect(post.headers.connection).toBe('close');

    await waitFor(() => (proxy.stats.total('7.9.9')?.requests ?? 0) >= 6);
    const total = proxy.stats.total('7.9.9')!;
    expect(total).toMatchObject({ requests: 6, errors: 6 });
    expect(proxy.stats.total('7.9.9')).toMatchObject({ requests: 6, errors: 6 });
    expect(proxy.renderPrometheus()).toContain('rollgate_proxy_requests_total{service="fail",version="7.9.9",arm="canary",code_class="5xx"} 6');
    // The stable arm is unaffected.
    proxy.setWeights({ canary: 0 });
    expect((await request(port)).status).toBe(200);
  });

  it('a client abort mid-response does not crash the proxy and aborts the upstream request', async () => {
    proxy.setBackends({ stable: { version: '7.0.0', endpoints: [good.endpoint] }, canary: null });
    const abortedBefore = good.aborted;
    const requestsBefore = proxy.stats.total('7.0.0')?.requests ?? 0;
    await new Promise<void>((resolve, reject) => {
      const req = http.get({ host: HOST, port, path: '/stream?chunks=200&intervalMs=10' }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => (err.message.includes('aborted') || (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
    });
    for (let i = 0; i < 50 && good.aborted === abortedBefore; i++) await sleep(20);
    expect(good.aborted).toBe(abortedBefore + 1);
    expect((await request(port)).status).toBe(200);
    // Counted once, with the status that had been sent (not an error).
    for (let i = 0; i < 50 && (proxy.stats.total('7.0.0')?.requests ?? 0) < requestsBefore + 2; i++) await sleep(10);
    expect(proxy.stats.total('7.0.0')).toMatchObject({ requests: requestsBefore + 2, errors: 0 });
  });

  it('a client abort before the response is counted as 499 and aborts the upstream request', async () => {
    const abortedBefore = good.aborted;
    await new Promise<void>((resolve) => {
      const req = http.get({ host: HOST, port, path: '/?delayMs=2000' });
      req.on('error', () => resolve());
      setTimeout(() => req.destroy(), 100);
    });
    for (let i = 0; i < 50 && good.aborted === abortedBefore; i++) await sleep(20);
    expect(good.aborted).toBe(abortedBefore + 1);
    await sleep(20);
    expect(proxy.renderPrometheus()).toMatch(/rollgate_proxy_requests_total\{service="fail",version="7\.0\.0",arm="stable",code_class="4xx"\} 1\n/);
    expect((await request(port)).status).toBe(200);
  });

  it('an upstream dying mid-response breaks the client response and counts an error', async () => {
    const errorsBefore = proxy.stats.total('7.0.0')?.errors ?? 0;
    const outcome = await new Promise<string>((resolve) => {
      http
        .get({ host: HOST, port, path: '/destroy-mid' }, (res) => {
          res.on('data', () => {});
          res.on('end', () => resolve('end'));
          res.on('error', () => resolve('error'));
          res.on('aborted', () => resolve('aborted'));
        })
        .on('error', () => resolve('error'));
    });
    expect(outcome).not.toBe('end');
    for (let i = 0; i < 50 && (proxy.stats.total('7.0.0')?.errors ?? 0) === errorsBefore; i++) await sleep(10);
    expect(proxy.stats.total('7.0.0')!.errors).toBe(errorsBefore + 1);
    expect((await request(port)).status).toBe(200);
  });

  it('an upstream that does not answer within upstreamTimeoutMs → 504, counted as an error', async () => {
    const p = createProxy({ listen: { host: HOST, port: 0 }, upstreamTimeoutMs: 100 });
    const { port: pp } = await p.start();
    p.setBackends({ stable: { version: '7.0.0', endpoints: [good.endpoint] }, canary: null });
    const reply = await request(pp, { path: '/?delayMs=1000' });
    expect(reply.status).toBe(504);
    await waitFor(() => (p.stats.total('7.0.0')?.requests ?? 0) >= 1);
    expect(p.stats.total('7.0.0')).toMatchObject({ requests: 1, errors: 1 });
    expect((await request(pp, { path: '/?delayMs=10' })).status).toBe(200);
    await p.stop();
  });

  it('retries once on a fresh connection when a reused keep-alive socket was closed by the upstream (bodyless only)', async () => {
    // Each connection answers its first request and drops the connection on the second: the race
    // a keep-alive pool meets when the upstream closes an idle socket just as it is reused.
    const racy = net.createServer((socket) => {
      let requests = 0;
      let buffered = '';
      socket.on('data', (d: Buffer) => {
        buffered += d.toString('latin1');
        while (buffered.includes('\r\n\r\n')) {
          const end = buffered.indexOf('\r\n\r\n') + 4;
          const head = buffered.slice(0, end);
          const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (buffered.length < end + length) return;
          buffered = buffered.slice(end + length);
          if (++requests === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Demo-Version: r\r\n\r\nok');
          else socket.destroy();
        }
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => racy.listen(0, HOST, r));
    const p = createProxy({ listen: { host: HOST, port: 0 } });
    const { port: pp } = await p.start();
    p.setBackends({ stable: { version: 'r', endpoints: [`${HOST}:${(racy.address() as net.AddressInfo).port}`] }, canary: null });
    for (let i = 0; i < 5; i++) {
      const reply = await request(pp);
      expect(reply.status).toBe(200);
      expect(reply.body).toBe('ok');
    }
    // With a body the request is not replayed: on the pooled connection (which has answered once)
    // it fails with 502; the next one gets a fresh connection.
    expect((await request(pp, { method: 'POST', body: 'a' })).status).toBe(502);
    expect((await request(pp, { method: 'POST', body: 'b' })).status).toBe(200);
    await p.stop();
    await new Promise<void>((r) => racy.close(() => r()));
  });

  it('stop() lets a request in flight finish, then refuses new connections', async () => {
    const p = createProxy({ listen: { host: HOST, port: 0 }, stopGraceMs: 3000 });
    const { port: pp } = await p.start();
    p.setBackends({ stable: { version: '7.0.0', endpoints: [good.endpoint] }, canary: null });
    const inFlight = request(pp, { path: '/?delayMs=300' });
    await sleep(50);
    const stopped = p.stop();
    expect((await inFlight).status).toBe(200);
    await stopped;
    await expect(request(pp, { timeoutMs: 1000 })).rejects.toThrow();
  });
});
