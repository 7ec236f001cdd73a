import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuiltinMetricProvider, toFineHistogram } from '../../src/adapters/metrics/builtin.js';
import { EmbeddedRouter } from '../../src/adapters/routers/embedded.js';
import { ProxyStats } from '../../src/proxy/index.js';
import { newLatencyHistogram } from '../../src/proxy/stats.js';
import { bucketIndex, FINE_LATENCY_BOUNDS } from '../../src/core/analysis/histogram.js';
import { describeMetricProviderContract } from '../contract/metric-provider-contract.js';
import { HOST, fakeClock, sendMany, startUpstream, waitFor, type Upstream } from '../proxy/helpers.js';

interface Setup {
  router: EmbeddedRouter;
  port: number;
  upstreams: Upstream[];
  generate(t: { version: string; requests: number; errors: number; latencyMs?: number }): Promise<void>;
}

/** A router in front of two in-process upstreams; traffic is steered to one version with weight 0 / 100. */
async function routerWithTraffic(now?: () => number): Promise<Setup> {
  const upstreams = await Promise.all([startUpstream('3.0.0'), startUpstream('3.1.0')]);
  const router = new EmbeddedRouter({ service: 'metrics', listen: { host: HOST, port: 0 }, ...(now ? { stats: { now } } : {}) });
  const { port } = await router.start();
  await router.setBackends({
    stable: { version: '3.0.0', endpoints: [upstreams[0]!.endpoint] },
    canary: { version: '3.1.0', endpoints: [upstreams[1]!.endpoint] },
  });
  return {
    router,
    port,
    upstreams,
    async generate({ version, requests, errors, latencyMs = 0 }) {
      await router.setWeights({ canary: version === '3.1.0' ? 100 : 0 });
      const before = router.stats.total(version)?.requests ?? 0;
      const ok = await sendMany(port, requests - errors, { path: `/?delayMs=${latencyMs}`, concurrency: 8 });
      const failed = errors > 0 ? await sendMany(port, errors, { path: `/?status=500&delayMs=${latencyMs}`, concurrency: 8 }) : [];
      expect(ok.every((r) => r.status === 200 && r.headers['x-test-version'] === version)).toBe(true);
      expect(failed.every((r) => r.status === 500 && r.headers['x-test-version'] === version)).toBe(true);
      // Finished from the proxy's side too (recorded), before the caller moves the clock on.
      expect(await waitFor(() => (router.stats.total(version)?.requests ?? 0) >= before + requests)).toBe(true);
    },
  };
}

describeMetricProviderContract('builtin provider, embedded proxy, fake stats clock', async () => {
  const clock = fakeClock();
  const s = await routerWithTraffic(clock.now);
  return {
    provider: new BuiltinMetricProvider({ stats: s.router.stats }),
    versions: { baseline: '3.0.0', canary: '3.1.0' },
    generate: s.generate,
    now: clock.now,
    advance: async (ms) => clock.advance(ms),
    resolutionMs: 1000,
    teardown: async () => {
      await s.router.close();
      await Promise.all(s.upstreams.map((u) => u.close()));
    },
  };
});

describe('BuiltinMetricProvider specifics', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await routerWithTraffic();
  });
  afterAll(async () => {
    await s.router.close();
    await Promise.all(s.upstreams.map((u) => u.close()));
  });

  it('answers on the real clock for the window up to now, with requestRate as value', async () => {
    const start = Date.now() - 1; // a second before the traffic: it adds nothing
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5)); // next second
    const from = Date.now();
    await s.generate({ version: '3.1.0', requests: 12, errors: 3 });
    // Only complete seconds count: wait for the one the traffic ended in to be over.
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    const provider = new BuiltinMetricProvider({ stats: s.router.stats });
    const endMs = Date.now();
    const result = await provider.query({ metric: 'requestRate', window: { startMs: from - (from % 1000), endMs }, versions: { baseline: '3.0.0', canary: '3.1.0' } });
    expect(result.baseline).toBeNull();
    expect(result.canary).toMatchObject({ requests: 12, errors: 3, errorRate: 0.25 });
    expect(result.canary!.value).toBeGreaterThan(0);
    const rate = await provider.query({ metric: 'errorRate', window: { startMs: start, endMs }, versions: { baseline: '3.1.0', canary: '3.1.0' } });
    expect(rate.canary?.value).toBe(0.25);
    expect(rate.baseline).toEqual(rate.canary);
    // Distribution judges get the latency histogram (FINE_LATENCY_BOUNDS); counting metrics do not.
    expect(rate.canary?.histogram).toBeUndefined();
    const latency = await provider.query({ metric: 'latency', window: { startMs: from - (from % 1000), endMs }, versions: { baseline: '3.0.0', canary: '3.1.0' } });
    expect(latency.canary!.histogram!.bounds).toEqual([...FINE_LATENCY_BOUNDS]);
    expect(latency.canary!.histogram!.counts.reduce((a, b) => a + b, 0)).toBe(12);
  });

  it('re-buckets the HDR histogram onto the fine bounds, each value in the bucket that holds it', () => {
    const hdr = newLatencyHistogram();
    for (const micros of [1_500, 1_500, 1_500, 20_000, 20_000]) hdr.recordValue(micros);
    const fine = toFineHistogram(hdr)!;
    expect(fine.counts[bucketIndex(FINE_LATENCY_BOUNDS, 0.0015)]).toBe(3);
    expect(fine.counts[bucketIndex(FINE_LATENCY_BOUNDS, 0.02)]).toBe(2);
    expect(fine.counts.reduce((a, b) => a + b, 0)).toBe(5);
  });

  it('rejects unknown metrics, malformed windows and windows older than the retention', async () => {
    const clock = fakeClock();
    const stats = new ProxyStats({ now: clock.now, retentionSeconds: 60 });
    const provider = new BuiltinMetricProvider({ stats });
    const versions = { baseline: 'a', canary: 'b' };
    const now = clock.now();
    await expect(provider.query({ metric: 'rate(http_requests_total[5m])', window: { startMs: now - 1000, endMs: now }, versions })).rejects.toThrow(/unknown metric/);
    await expect(provider.query({ metric: 'errorRate', window: { startMs: now, endMs: now - 1 }, versions })).rejects.toThrow(RangeError);
    await expect(provider.query({ metric: 'errorRate', window: { startMs: now - 120_000, endMs: now }, versions })).rejects.toThrow(/retained 60 s/);
    expect(await provider.query({ metric: 'errorRate', window: { startMs: now - 59_000, endMs: now }, versions })).toEqual({ baseline: null, canary: null });
    expect(provider.capabilities).toEqual({ latency: true, windows: true });
    expect(() => new BuiltinMetricProvider({} as never)).toThrow(TypeError);
  });
});
