/**
 * The MetricProvider contract (src/ports/metric-provider.ts), run against every implementation:
 * builtin (embedded proxy statistics), Prometheus, and any fake.
 *
 * The harness generates known traffic (k requests with e errors, optionally with an injected
 * latency) for a version and tells the suite how coarse its windows are. Around each window edge
 * the suite lets `resolutionMs` pass on the provider's clock before and after taking the edge, so
 * that no request lands within one resolution step of an edge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricProvider, MetricWindow, VersionSample } from '../../src/ports/metric-provider.js';

export interface Traffic {
  version: string;
  requests: number;
  /** How many of `requests` are answered 5xx. */
  errors: number;
  /** Latency the service adds to each request. Default 0. */
  latencyMs?: number;
}

export interface MetricProviderHarness {
  provider: MetricProvider;
  /** Two distinct versions the harness can send traffic to. */
  versions: { baseline: string; canary: string };
  /** Sends the traffic and resolves when every request has finished. Bounded. */
  generate(traffic: Traffic): Promise<void>;
  /** The provider's clock, ms since epoch. Default Date.now. */
  now?(): number;
  /** Lets `ms` pass on the provider's clock (a fake clock may jump). Default: real sleep. */
  advance?(ms: number): Promise<void>;
  /** Window granularity of the provider. Default 1000. */
  resolutionMs?: number;
  /** Waits until generated traffic is visible to queries (e.g. a Prometheus scrape). Default: nothing. */
  settle?(): Promise<void>;
  /** Relative tolerance on counts for providers that extrapolate (e.g. PromQL increase()). Default 0: exact. */
  countTolerance?: number;
  teardown(): Promise<void>;
}

/** Per case: generous, for routers that reload and providers that scrape. */
const CASE_TIMEOUT_MS = 120_000;

export function describeMetricProviderContract(label: string, setup: () => Promise<MetricProviderHarness>): void {
  describe(`MetricProvider contract: ${label}`, () => {
    let h: MetricProviderHarness;
    let baseline: string;
    let canary: string;
    const now = () => (h.now ? h.now() : Date.now());
    const advance = (ms: number) => (h.advance ? h.advance(ms) : new Promise<void>((r) => setTimeout(r, ms)));
    const resolution = () => h.resolutionMs ?? 1000;
    /** A window edge with one resolution step of quiet on both sides. */
    const edge = async () => {
      await advance(resolution() + 50);
      const t = now();
      await advance(resolution() + 50);
      return t;
    };
    const query = async (metric: string, window: MetricWindow, versions = { baseline, canary }) => {
      await h.settle?.();
      return h.provider.query({ metric, window, versions });
    };
    const expectCount = (actual: number, expected: number, what: string) => {
      const tol = (h.countTolerance ?? 0) * expected;
      expect(Math.abs(actual - expected), `${what}: got ${actual}, expected ${expected} ± ${tol}`).toBeLessThanOrEqual(tol);
    };
    const expectSample = (sample: VersionSample | null, requests: number, errors: number, what: string) => {
      expect(sample, `${what}: sample`).not.toBeNull();
      expectCount(sample!.requests, requests, `${what} requests`);
      expectCount(sample!.errors, errors, `${what} errors`);
      expect(sample!.errorRate).not.toBeNull();
      expectRate(sample!.errorRate!, errors / requests, `${what} errorRate`);
    };
    // A provider that extrapolates counts (PromQL increase()) scales each series separately, so a
    // ratio of two counts is only as exact as the counts.
    const expectRate = (actual: number, expected: number, what: string) => {
      const tol = Math.max(0.005, (h.countTolerance ?? 0) * expected);
      expect(Math.abs(actual - expected), `${what}: got ${actual}, expected ${expected} ± ${tol}`).toBeLessThanOrEqual(tol);
    };

    beforeAll(async () => {
      h = await setup();
      ({ baseline, canary } = h.versions);
      expect(baseline).not.toEqual(canary);
    }, CASE_TIMEOUT_MS);

    afterAll(async () => {
      await h?.teardown();
    }, CASE_TIMEOUT_MS);

    it('counts and errorRate match the generated traffic, per version', async () => {
      const start = await edge();
      await h.generate({ version: baseline, requests: 40, errors: 2 });
      await h.generate({ version: canary, requests: 30, errors: 9 });
      const end = await edge();
      const result = await query('errorRate', { startMs: start, endMs: end });
      expectSample(result.baseline, 40, 2, 'baseline');
      expectSample(result.canary, 30, 9, 'canary');
      expectRate(result.canary!.errorRate!, 0.3, 'canary errorRate');
    }, CASE_TIMEOUT_MS);

    it('a version with no traffic in the window gives a null sample, not zeros', async () => {
      const start = await edge();
      await h.generate({ version: baseline, requests: 20, errors: 0 });
      const end = await edge();
      const result = await query('errorRate', { startMs: start, endMs: end });
      expectSample(result.baseline, 20, 0, 'baseline');
      expect(result.baseline!.errorRate).toBe(0);
      expect(result.canary).toBeNull();
      const never = await query('errorRate', { startMs: start, endMs: end }, { baseline, canary: 'never-deployed-0.0.0' });
      expect(never.canary).toBeNull();
    }, CASE_TIMEOUT_MS);

    it('windows exclude traffic outside them', async () => {
      await h.generate({ version: baseline, requests: 10, errors: 10 }); // before
      const t0 = await edge();
      await h.generate({ version: baseline, requests: 25, errors: 5 }); // inside [t0, t1)
      const t1 = await edge();
      await h.generate({ version: baseline, requests: 15, errors: 0 }); // inside [t1, t2)
      const t2 = await edge();

      expectSample((await query('errorRate', { startMs: t0, endMs: t1 })).baseline, 25, 5, '[t0, t1)');
      expectSample((await query('errorRate', { startMs: t1, endMs: t2 })).baseline, 15, 0, '[t1, t2)');
      expectSample((await query('errorRate', { startMs: t0, endMs: t2 })).baseline, 40, 5, '[t0, t2)');
      // A quiet window between edges has no data.
      const quietStart = await edge();
      const quietEnd = await edge();
      expect((await query('errorRate', { startMs: quietStart, endMs: quietEnd })).baseline).toBeNull();
    }, CASE_TIMEOUT_MS);

    it('latency quantiles are ordered and near a known injected latency', async (ctx) => {
      if (!h.provider.capabilities.latency) ctx.skip('provider declares latency: false');
      const injected = 0.05; // seconds
      const start = await edge();
      await h.generate({ version: canary, requests: 40, errors: 0, latencyMs: injected * 1000 });
      await h.generate({ version: baseline, requests: 40, errors: 0, latencyMs: 0 });
      const end = await edge();
      const result = await query('latency', { startMs: start, endMs: end });
      for (const [name, sample] of [['baseline', result.baseline], ['canary', result.canary]] as const) {
        expect(sample, name).not.toBeNull();
        const l = sample!.latency;
        expect(l, `${name} latency`).not.toBeNull();
        expect(l!.p50).toBeGreaterThan(0);
        expect(l!.p50).toBeLessThanOrEqual(l!.p90);
        expect(l!.p90).toBeLessThanOrEqual(l!.p95);
        expect(l!.p95).toBeLessThanOrEqual(l!.p99);
        expect(l!.p99).toBeLessThanOrEqual(l!.max);
        expect(l!.mean).toBeGreaterThan(0);
        expect(l!.mean).toBeLessThanOrEqual(l!.max);
      }
      const c = result.canary!.latency!;
      // Never faster than the injected delay; at most twice it plus 50 ms (proxy overhead, histogram
      // bucketing, a loaded test machine).
      expect(c.p50).toBeGreaterThanOrEqual(injected * 0.95);
      expect(c.p50).toBeLessThanOrEqual(injected * 2 + 0.05);
      expect(c.max).toBeGreaterThanOrEqual(injected * 0.95);
      expect(result.baseline!.latency!.p50).toBeLessThan(c.p50);
    }, CASE_TIMEOUT_MS);
  });
}
