import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxy, type EmbeddedProxy } from '../../src/proxy/index.js';
import { HOST, request, sendMany, startUpstream, waitFor, type Upstream } from './helpers.js';

describe('changes under continuous concurrent load', () => {
  let s1: Upstream;
  let s2: Upstream;
  let c1: Upstream;
  let proxy: EmbeddedProxy;
  let port: number;

  beforeAll(async () => {
    [s1, s2, c1] = await Promise.all([startUpstream('5.0.0'), startUpstream('5.0.0'), startUpstream('5.1.0')]);
    proxy = createProxy({ listen: { host: HOST, port: 0 }, service: 'load' });
    ({ port } = await proxy.start());
  });
  afterAll(async () => {
    await proxy.stop();
    await Promise.all([s1.close(), s2.close(), c1.close()]);
  });

  it('3,000 requests from 20 clients while weights flip every few ms and backends change: none fails', async () => {
    const full = { stable: { version: '5.0.0', endpoints: [s1.endpoint, s2.endpoint] }, canary: { version: '5.1.0', endpoints: [c1.endpoint] } };
    const reduced = { stable: { version: '5.0.0', endpoints: [s2.endpoint] }, canary: null };
    proxy.setBackends(full);
    const weights = [0, 30, 70, 100, 12.5];
    let flips = 0;
    const flipper = setInterval(() => {
      proxy.setWeights({ canary: weights[flips % weights.length]! });
      if (flips % 10 === 5) proxy.setBackends(reduced);
      if (flips % 10 === 0) proxy.setBackends(full);
      flips++;
    }, 3);
    const N = 3000;
    const before = (proxy.stats.total('5.0.0')?.requests ?? 0) + (proxy.stats.total('5.1.0')?.requests ?? 0);
    const started = Date.now();
    let replies;
    try {
      replies = await sendMany(port, N, { path: '/?delayMs=1', concurrency: 20 });
    } finally {
      clearInterval(flipper);
    }
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(flips).toBeGreaterThan(20);
    expect(replies).toHaveLength(N);
    expect(replies.filter((r) => r.status !== 200)).toEqual([]);
    expect(new Set(replies.map((r) => r.headers['x-rollgate-version']))).toEqual(new Set(['5.0.0', '5.1.0']));
    const recorded = () => proxy.stats.total('5.0.0')!.requests + proxy.stats.total('5.1.0')!.requests - before;
    await waitFor(() => recorded() >= N);
    expect(recorded()).toBe(N);
    expect((proxy.stats.total('5.0.0')?.errors ?? 0) + (proxy.stats.total('5.1.0')?.errors ?? 0)).toBe(0);
  });

  it('a request in flight to a removed backend completes; the next goes to the new one', async () => {
    proxy.setBackends({ stable: { version: '5.0.0', endpoints: [s1.endpoint] }, canary: null });
    proxy.setWeights({ canary: 0 });
    const slow = request(port, { path: '/?delayMs=300' });
    await new Promise((r) => setTimeout(r, 50));
    proxy.setBackends({ stable: { version: '5.1.0', endpoints: [c1.endpoint] }, canary: null });
    const fast = await request(port);
    expect(fast.headers['x-test-version']).toBe('5.1.0');
    const done = await slow;
    expect(done.status).toBe(200);
    expect(done.headers['x-test-version']).toBe('5.0.0');
  });

  it('a weight change does not close a client keep-alive connection', async () => {
    proxy.setBackends({ stable: { version: '5.0.0', endpoints: [s1.endpoint] }, canary: { version: '5.1.0', endpoints: [c1.endpoint] } });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    agent.on('free', (socket) => sockets.add(socket));
    for (let i = 0; i < 20; i++) {
      proxy.setWeights({ canary: i % 2 === 0 ? 0 : 100 });
      const reply = await request(port, { agent });
      expect(reply.headers['x-rollgate-version']).toBe(i % 2 === 0 ? '5.0.0' : '5.1.0');
    }
    expect(sockets.size).toBe(1);
    agent.destroy();
  });
});
