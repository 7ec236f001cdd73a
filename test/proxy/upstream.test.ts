/**
 * The upstream side of the data plane (undici pools per endpoint, raw header arrays): connection
 * reuse, pool lifecycle across backend changes and restarts, backpressure, 1xx responses, queued
 * requests whose client leaves, and the raw-header forwarding rules.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxy, type EmbeddedProxy } from '../../src/proxy/index.js';
import { HOST, request, sendMany, sleep, startUpstream, waitFor, type Upstream } from './helpers.js';

/** An HTTP upstream that counts the TCP connections it accepted and has open. */
async function countingUpstream(handler: http.RequestListener) {
  const server = http.createServer(handler);
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  server.on('connection', (s) => {
    accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  return {
    endpoint: `${HOST}:${(server.address() as net.AddressInfo).port}`,
    get accepted() {
      return accepted;
    },
    get open() {
      return sockets.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

/** Sends raw bytes on a new connection and returns everything read until the server closes it (or 2 s). */
function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, HOST, () => socket.write(text));
    let out = '';
    socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
    setTimeout(() => socket.destroy(), 2000);
  });
}

describe('upstream connections', () => {
  let proxy: EmbeddedProxy;
  let port: number;

  beforeAll(async () => {
    proxy = createProxy({ listen: { host: HOST, port: 0 }, service: 'up' });
    ({ port } = await proxy.start());
  });
  afterAll(async () => {
    await proxy.stop();
  });

  it('keeps upstream connections alive: 200 sequential requests use one connection', async () => {
    const up = await countingUpstream((_req, res) => res.end('ok'));
    proxy.setBackends({ stable: { version: 'k', endpoints: [up.endpoint] }, canary: null });
    const replies = await sendMany(port, 200, { concurrency: 1 });
    expect(replies.every((r) => r.status === 200 && r.body === 'ok')).toBe(true);
    expect(up.accepted).toBe(1);
    // 8 concurrent clients: at most 8 connections, however many requests.
    await sendMany(port, 400, { concurrency: 8 });
    expect(up.accepted).toBeLessThanOrEqual(8);
    await up.close();
  });

  it('keeps the client connection alive across requests with bodies', async () => {
    const up = await countingUpstream((req, res) => req.pipe(res));
    proxy.setBackends({ stable: { version: 'k', endpoints: [up.endpoint] }, canary: null });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const clientSockets = new Set<net.Socket>();
    for (let i = 0; i < 5; i++) {
      const reply = await new Promise<string>((resolve, reject) => {
        const req = http.request({ host: HOST, port, method: 'POST', path: '/', agent }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve(body));
        });
        req.on('socket', (s) => clientSockets.add(s));
        req.on('error', reject);
        req.end(`body ${i}`);
      });
      expect(reply).toBe(`body ${i}`);
    }
    expect(clientSockets.size).toBe(1);
    agent.destroy();
    await up.close();
  });

  it('a removed endpoint finishes its requests in flight, then its connections are closed', async () => {
    const a = await countingUpstream((_req, res) => setTimeout(() => res.end('from a'), 300));
    const b = await countingUpstream((_req, res) => res.end('from b'));
    proxy.setBackends({ stable: { version: 'v1', endpoints: [a.endpoint] }, canary: null });
    const inFlight = request(port);
    await waitFor(() => a.open === 1);
    proxy.setBackends({ stable: { version: 'v2', endpoints: [b.endpoint] }, canary: null });
    expect((await request(port)).body).toBe('from b');
    const slow = await inFlight;
    expect(slow.status).toBe(200);
    expect(slow.body).toBe('from a');
    expect(slow.headers['x-rollgate-version']).toBe('v1');
    expect(await waitFor(() => a.open === 0)).toBe(true);
    await Promise.all([a.close(), b.close()]);
  });

  it('stop() closes upstream connections, and a restarted proxy opens new ones', async () => {
    const up = await countingUpstream((_req, res) => res.end('ok'));
    const p = createProxy({ listen: { host: HOST, port: 0 } });
    const { port: pp } = await p.start();
    p.setBackends({ stable: { version: 'r', endpoints: [up.endpoint] }, canary: null });
    expect((await request(pp)).status).toBe(200);
    expect(up.open).toBe(1);
    await p.stop();
    expect(await waitFor(() => up.open === 0)).toBe(true);
    const { port: pp2 } = await p.start();
    expect((await request(pp2)).body).toBe('ok');
    expect(up.accepted).toBe(2);
    await p.stop();
    await up.close();
  });

  it('a client that leaves while its request waits for a connection: the request is never sent, counted 499', async () => {
    const up = await startUpstream('q');
    const p = createProxy({ listen: { host: HOST, port: 0 }, maxSocketsPerEndpoint: 1 });
    const { port: pp } = await p.start();
    p.setBackends({ stable: { version: 'q', endpoints: [up.endpoint] }, canary: null });
    const first = request(pp, { path: '/?delayMs=300' });
    await waitFor(() => up.received === 1);
    await new Promise<void>((resolve) => {
      const req = http.get({ host: HOST, port: pp, path: '/queued' });
      req.on('error', () => resolve());
      setTimeout(() => req.destroy(), 50);
    });
    expect((await first).status).toBe(200);
    expect((await request(pp)).status).toBe(200);
    expect(up.received).toBe(2); // the first and the last: the abandoned one never reached the upstream
    await waitFor(() => (p.stats.total('q')?.requests ?? 0) >= 3);
    expect(p.renderPrometheus()).toMatch(/code_class="4xx"\} 1\n/);
    await p.stop();
    await up.close();
  });

  it('validates maxSocketsPerEndpoint and upstreamTimeoutMs up front', () => {
    const listen = { host: HOST, port: 0 };
    expect(() => createProxy({ listen, maxSocketsPerEndpoint: 0 })).toThrow(RangeError);
    expect(() => createProxy({ listen, maxSocketsPerEndpoint: 1.5 })).toThrow(RangeError);
    expect(() => createProxy({ listen, maxSocketsPerEndpoint: Infinity })).not.toThrow();
    expect(() => createProxy({ listen, upstreamTimeoutMs: -1 })).toThrow(RangeError);
    expect(() => createProxy({ listen, upstreamTimeoutMs: Number.NaN })).toThrow(RangeError);
  });
});

describe('responses through the upstream pool', () => {
  let up: Upstream;
  let proxy: EmbeddedProxy;
  let port: number;

  beforeAll(async () => {
    up = await startUpstream('9.0.0');
    proxy = createProxy({ listen: { host: HOST, port: 0 } });
    ({ port } = await proxy.start());
    proxy.setBackends({ stable: { version: '9.0.0', endpoints: [up.endpoint] }, canary: null });
  });
  afterAll(async () => {
    await proxy.stop();
    await up.close();
  });

  it('a large response to a slow reader arrives whole (backpressure pauses and resumes the upstream)', async () => {
    const size = 24 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 7);
    const big = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': size });
      let sent = 0;
      const pump = () => {
        while (sent < size) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    await new Promise<void>((r) => big.listen(0, HOST, r));
    const p = createProxy({ listen: { host: HOST, port: 0 } });
    const { port: pp } = await p.start();
    p.setBackends({ stable: { version: 'big', endpoints: [`${HOST}:${(big.address() as net.AddressInfo).port}`] }, canary: null });
    const received = await new Promise<number>((resolve, reject) => {
      http
        .get({ host: HOST, port: pp, path: '/' }, (res) => {
          let n = 0;
          res.pause();
          setTimeout(() => res.resume(), 300); // the proxy's writes back up meanwhile
          res.on('data', (d: Buffer) => {
            n += d.length;
            if (d.some((x) => x !== 7)) reject(new Error('corrupt'));
          });
          res.on('end', () => resolve(n));
          res.on('error', reject);
        })
        .on('error', reject);
    });
    expect(received).toBe(size);
    await p.stop();
    await new Promise<void>((r) => big.close(() => r()));
  });

  it('1xx informational responses are not forwarded; the final response is', async () => {
    const early = http.createServer((_req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
      setTimeout(() => res.end('final'), 20);
    });
    await new Promise<void>((r) => early.listen(0, HOST, r));
    const p = createProxy({ listen: { host: HOST, port: 0 } });
    const { port: pp } = await p.start();
    p.setBackends({ stable: { version: 'e', endpoints: [`${HOST}:${(early.address() as net.AddressInfo).port}`] }, canary: null });
    const raw = await rawExchange(pp, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(raw.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    expect(raw).not.toMatch(/103/);
    expect(raw.endsWith('final')).toBe(true);
    await p.stop();
    await new Promise<void>((r) => early.close(() => r()));
  });

  it('keeps repeated headers in order; joins repeated X-Forwarded-For; replaces an upstream X-Rollgate-Version', async () => {
    const raw = await rawExchange(
      port,
      'GET /headers HTTP/1.1\r\nHost: shop.example\r\nX-Multi: one\r\nX-Forwarded-For: 203.0.113.1\r\nX-Multi: two\r\n' +
        'X-Forwarded-For: 203.0.113.2\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n',
    );
    const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4).replace(/^[0-9a-f]+\r\n|\r\n0\r\n\r\n$/g, '')) as { headers: Record<string, string> };
    expect(body.headers['x-multi']).toBe('one, two');
    expect(body.headers['x-forwarded-for']).toBe('203.0.113.1, 203.0.113.2, 127.0.0.1');
    expect(body.headers['x-forwarded-proto']).toBe('https');
    expect(body.headers['x-forwarded-host']).toBe('shop.example');

    const spoof = http.createServer((_req, res) => {
      res.setHeader('X-Rollgate-Version', 'spoofed');
      res.setHeader('Keep-Alive', 'timeout=77');
      res.end('x');
    });
    await new Promise<void>((r) => spoof.listen(0, HOST, r));
    const p = createProxy({ listen: { host: HOST, port: 0 } });
    const { port: pp } = await p.start();
    p.setBackends({ stable: { version: 'real', endpoints: [`${HOST}:${(spoof.address() as net.AddressInfo).port}`] }, canary: null });
    const reply = await request(pp);
    expect(reply.headers['x-rollgate-version']).toBe('real');
    expect(reply.headers['keep-alive']).not.toBe('timeout=77'); // hop-by-hop: the proxy's own, if any
    await p.stop();
    await new Promise<void>((r) => spoof.close(() => r()));
  });

  it('a request with two Host headers is refused with 400 and not forwarded', async () => {
    const before = up.received;
    const raw = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nConnection: close\r\n\r\n');
    expect(raw.startsWith('HTTP/1.1 400')).toBe(true);
    await sleep(20);
    expect(up.received).toBe(before);
  });

  it('an asterisk-form request (OPTIONS *) is answered 400: the upstream client cannot send it', async () => {
    const before = up.received;
    const raw = await rawExchange(port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(raw.startsWith('HTTP/1.1 400')).toBe(true);
    expect(raw).toMatch(/rollgate: request cannot be forwarded/);
    expect(up.received).toBe(before);
    expect((await request(port)).status).toBe(200);
  });

  it('a GET with a body and a chunked POST are forwarded with their bodies', async () => {
    // (Node's client frames a GET body only when told its length.)
    const get = await request(port, { method: 'GET', path: '/echo', body: 'get-body', headers: { 'content-length': '8' } });
    expect(get.body).toBe('get-body');
    const chunked = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: HOST, port, method: 'POST', path: '/echo' }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.write('part one, ');
      setTimeout(() => req.end('part two'), 20);
    });
    expect(chunked).toBe('part one, part two');
  });
});
