/**
 * The MetricProvider contract against PrometheusMetricProvider backed by a REAL Prometheus (the
 * Debian binary, started on 127.0.0.1 by test/helpers/prometheus.ts with a fresh TSDB), scraping an
 * embedded router's exposition served on loopback while the harness sends traffic through it.
 * Skipped with a reason when no prometheus binary is installed; failing under CI=true.
 *
 * Scrape interval: 250 ms. The presets read counts with `increase()`, which Prometheus extrapolates
 * from the first and last samples in the range to the range's edges: with samples every `s` seconds
 * over an `N`-second window, counts come out up to N / (N − 2s) too high (1.14 for the ~4 s windows
 * of resolutionMs 2000 at 250 ms; 2.0 at a 1 s interval, too loose to test anything). countTolerance
 * covers that; error rates are exact (numerator and denominator are scaled alike).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusMetricProvider } from '../../src/adapters/metrics/prometheus.js';
import { EmbeddedRouter } from '../../src/adapters/routers/embedded.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../src/proxy/prometheus.js';
import { describeMetricProviderContract } from '../contract/metric-provider-contract.js';
import { describeWithPrometheus, startPrometheus, type PrometheusServer } from '../helpers/prometheus.js';
import { HOST, sendMany, startUpstream, waitFor, type Upstream } from '../proxy/helpers.js';

const BASELINE = '3.0.0';
const CANARY = '3.1.0';

interface Rig {
  router: EmbeddedRouter;
  upstreams: Upstream[];
  exposition: http.Server;
  prometheus: PrometheusServer;
  generate(t: { version: string; requests: number; errors: number; latencyMs?: number }): Promise<void>;
  close(): Promise<void>;
}

/** Router in front of two in-process upstreams, its exposition on loopback, a Prometheus scraping it. */
async function startRig(bin: string, scrapeIntervalMs: number): Promise<Rig> {
  const upstreams = await Promise.all([startUpstream(BASELINE), startUpstream(CANARY)]);
  const router = new EmbeddedRouter({ service: 'metrics', listen: { host: HOST, port: 0 } });
  const { port } = await router.start();
  await router.setBackends({
    stable: { version: BASELINE, endpoints: [upstreams[0]!.endpoint] },
    canary: { version: CANARY, endpoints: [upstreams[1]!.endpoint] },
  });
  const exposition = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
    res.end(router.renderPrometheus());
  });
  await new Promise<void>((resolve) => exposition.listen(0, HOST, resolve));
  const target = `${HOST}:${(exposition.address() as AddressInfo).port}`;
  let prometheus: PrometheusServer;
  try {
    prometheus = await startPrometheus({ bin, targets: [target], scrapeIntervalMs });
  } catch (error) {
    await router.close();
    await Promise.all(upstreams.map((u) => u.close()));
    exposition.close();
    throw error;
  }
  const generate: Rig['generate'] = async ({ version, requests, errors, latencyMs = 0 }) => {
    await router.setWeights({ canary: version === CANARY ? 100 : 0 });
    const before = router.stats.total(version)?.requests ?? 0;
    const ok = await sendMany(port, requests - errors, { path: `/?delayMs=${latencyMs}`, concurrency: 8 });
    const failed = errors > 0 ? await sendMany(port, errors, { path: `/?status=500&delayMs=${latencyMs}`, concurrency: 8 }) : [];
    expect(ok.every((r) => r.status === 200 && r.headers['x-test-version'] === version)).toBe(true);
    expect(failed.every((r) => r.status === 500 && r.headers['x-test-version'] === version)).toBe(true);
    expect(await waitFor(() => (router.stats.total(version)?.requests ?? 0) >= before + requests)).toBe(true);
  };
  return {
    router,
    upstreams,
    exposition,
    prometheus,
    generate,
    async close() {
      await prometheus.stop();
      await new Promise<void>((resolve) => exposition.close(() => resolve()));
      await router.close();
      await Promise.all(upstreams.map((u) => u.close()));
    },
  };
}

/**
 * Every series the presets read exists before the contract starts: `increase()` cannot count what
 * a series held at its first scrape, so a counter born inside a window would be undercounted.
 */
async function warmUp(rig: Rig): Promise<void> {
  await rig.generate({ version: BASELINE, requests: 20, errors: 10 });
  await rig.generate({ version: CANARY, requests: 20, errors: 10 });
  await rig.prometheus.waitForScrape();
}

describeWithPrometheus('PrometheusMetricProvider on a real Prometheus', (bin) => {
  describeMetricProviderContract('prometheus provider (presets over the embedded router series), real Prometheus', async () => {
    const rig = await startRig(bin, 250);
    await warmUp(rig);
    return {
      provider: new PrometheusMetricProvider({ address: rig.prometheus.url }),
      versions: { baseline: BASELINE, canary: CANARY },
      generate: rig.generate,
      resolutionMs: 2000,
      settle: () => rig.prometheus.waitForScrape(),
      countTolerance: 0.2,
      teardown: () => rig.close(),
    };
  });

  describe('PrometheusMetricProvider specifics, real Prometheus', () => {
    let rig: Rig;
    let start: number;
    let end: number;
    beforeAll(async () => {
      rig = await startRig(bin, 250);
      await warmUp(rig);
      await new Promise((resolve) => setTimeout(resolve, 600));
      start = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 600));
      await rig.generate({ version: CANARY, requests: 50, errors: 10, latencyMs: 20 });
      await rig.generate({ version: BASELINE, requests: 50, errors: 0 });
      await new Promise((resolve) => setTimeout(resolve, 600));
      end = Date.now();
      await rig.prometheus.waitForScrape();
    }, 60_000);
    afterAll(async () => {
      await rig?.close();
    });

    const versions = { baseline: BASELINE, canary: CANARY };

    it('explicit queries with {{version}}, {{service}} and {{args.X}}: counts, value and histogram', async () => {
      const provider = new PrometheusMetricProvider({ address: rig.prometheus.url });
      const selector = '{service="{{service}}",version="{{version}}",job="{{args.job}}"}';
      const result = await provider.query({
        metric: 'tmpl/errors',
        window: { startMs: start, endMs: end },
        versions,
        service: 'metrics',
        args: { job: 'rollgate' },
        queries: {
          value: `(sum(increase(rollgate_proxy_requests_total{service="{{service}}",version="{{version}}",code_class="5xx"}[{{window}}])) or vector(0)) / sum(increase(rollgate_proxy_requests_total${selector}[{{window}}]))`,
          requests: `sum(increase(rollgate_proxy_requests_total${selector}[{{window}}]))`,
          errors: `sum(increase(rollgate_proxy_requests_total{service="{{service}}",version="{{version}}",code_class="5xx"}[{{window}}]))`,
          histogram: `sum by (le) (increase(rollgate_proxy_request_duration_seconds_bucket${selector}[{{window}}]))`,
        },
      });
      const canary = result.canary!;
      // increase() extrapolates each series from its own first and last samples in the range, so
      // the 5xx and 2xx series need not be scaled alike: the ratio is 0.2 within the extrapolation
      // error (seen: 0.238 on a loaded CI machine), not exactly.
      expect(Math.abs(canary.value! - 0.2)).toBeLessThanOrEqual(0.2 * 0.3);
      expect(Math.abs(canary.errorRate! - 0.2)).toBeLessThanOrEqual(0.2 * 0.3);
      expect(Math.abs(canary.requests - 50)).toBeLessThanOrEqual(50 * 0.5);
      expect(canary.histogram!.bounds).toEqual([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
      expect(canary.histogram!.counts).toHaveLength(14);
      // 20 ms upstream delay: the median sits in (0.01, 0.025] or just above.
      expect(canary.latency!.p50).toBeGreaterThan(0.01);
      expect(canary.latency!.p50).toBeLessThanOrEqual(0.05);
      expect(result.baseline!.value).toBe(0);
      expect(result.baseline!.errors).toBe(0);
    });

    it('a range query with a step averages the points', async () => {
      const provider = new PrometheusMetricProvider({ address: rig.prometheus.url });
      const result = await provider.query({
        metric: 'tmpl/weight',
        window: { startMs: start, endMs: end },
        versions,
        queries: { value: 'max(rollgate_proxy_canary_weight) + 0 * count(rollgate_proxy_requests_total{version="{{version}}"})' },
        stepMs: 250,
      });
      // The weight was 100 while the canary was generated and 0 after; the average lies between.
      expect(result.canary!.value).toBeGreaterThan(0);
      expect(result.canary!.value).toBeLessThan(100);
      expect(result.baseline!.value).toBe(result.canary!.value);
    });

    it('reports the PromQL error text of a bad query without retrying', async () => {
      const provider = new PrometheusMetricProvider({ address: rig.prometheus.url, retries: 3 });
      await expect(provider.query({ metric: 'tmpl/bad', window: { startMs: start, endMs: end }, versions, queries: { value: 'sum(rate(x[{{window}}])' } })).rejects.toThrow(
        /value query of metric "tmpl\/bad" for (baseline|canary) \(version 3\.\d\.0\): Prometheus answered 400 bad_data: .*parse error.* — PromQL: sum\(rate\(x\[\d+s\]\)/,
      );
    });

    it('several series for a value query is an error naming the count', async () => {
      const provider = new PrometheusMetricProvider({ address: rig.prometheus.url });
      await expect(
        provider.query({ metric: 'tmpl/many', window: { startMs: start, endMs: end }, versions, queries: { value: 'rollgate_proxy_requests_total{version="{{version}}"}' } }),
      ).rejects.toThrow(/returned 2 series, expected one/);
    });
  });
});
