/**
 * The engine judging canaries from a REAL Prometheus: real demo-app processes behind the embedded
 * router, the engine's Prometheus exposition (what `rollgate serve` serves at /metrics) scraped
 * every second by a Prometheus started on 127.0.0.1 by the test, and an AnalysisTemplate whose
 * metric is a PromQL error ratio by `{{version}}` (threshold judge). A healthy canary is promoted
 * and a canary answering 5xx is aborted by analysis, both on numbers read back from Prometheus.
 * Skipped with a reason when no prometheus binary is installed; failing under CI=true.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import { DEPLOYMENT_LABELS, emptyDeploymentStatus, readDeploymentStatus, type RolloutStatus } from '../../src/core/rollout/index.js';
import { createEngine, type Engine } from '../../src/engine/index.js';
import type { NewObject, Store } from '../../src/ports/store.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../src/proxy/prometheus.js';
import { mergeExpositions } from '../../src/server/metrics/exposition.js';
import { describeWithPrometheus, startPrometheus, type PrometheusServer } from '../helpers/prometheus.js';
import { auditChainOk, ROOT, silentLogger, startLoad } from './helpers.js';
import { memoryRuntime } from './memory-runtime.js';

const SERVICE = 'prom-shop';

/** Creating objects, deploying and waiting on one store + engine. */
function controls(store: () => Store, engine: () => Engine, service: string, log: () => string = () => '') {
  const create = (object: NewObject) => store().transaction((stores) => stores.objects.create(object)).then(() => undefined);
  const rollout = async (name: string) => readDeploymentStatus((await store().read.objects.get('Deployment', name))?.status ?? null).rollout;
  const deploy = async (name: string, version: string, env?: Record<string, string>) => {
    await create({
      kind: 'Deployment',
      name,
      labels: { [DEPLOYMENT_LABELS.service]: service, [DEPLOYMENT_LABELS.environment]: 'default' },
      spec: { service, version, ...(env ? { env } : {}) },
      status: emptyDeploymentStatus() as unknown as Record<string, unknown>,
    });
    engine().wake(name);
  };
  const waitFor = async (name: string, phases: string[], timeoutMs = 60_000): Promise<RolloutStatus> => {
    const deadline = Date.now() + timeoutMs;
    let last: RolloutStatus | null = null;
    while (Date.now() < deadline) {
      last = await rollout(name);
      if (last && phases.includes(last.phase)) return last;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const measurements = last?.analysisRuns.flatMap((run) => run.metrics.flatMap((metric) => metric.measurements.map((m) => `${m.phase}: ${m.message ?? JSON.stringify(m.inputs.canary)}`)));
    throw new Error(`${name} did not reach ${phases.join('/')} in ${timeoutMs} ms; last: ${last?.phase} ${last?.message}; measurements: ${measurements?.join(' | ')}\n${log()}`);
  };
  return { create, deploy, waitFor };
}
const selector = (extra = '') => `job="{{args.job}}",service="{{service}}",version="{{version}}"${extra}`;
/** Share of the version's requests answered 5xx in the window; 0 when it had none (the 5xx series may not exist). */
const ERROR_RATIO = `(sum(increase(rollgate_proxy_requests_total{${selector(',code_class="5xx"')}}[{{window}}])) or vector(0)) / sum(increase(rollgate_proxy_requests_total{${selector()}}[{{window}}]))`;

describeWithPrometheus('engine: canary analysis from a real Prometheus', (bin) => {
  let dir: string;
  let store: Store;
  let engine: Engine | null = null;
  let exposition: http.Server;
  let prometheus: PrometheusServer;
  let load: ReturnType<typeof startLoad> | null = null;

  const { create, deploy, waitFor } = controls(
    () => store,
    () => engine!,
    SERVICE,
    () => prometheus.log(),
  );

  beforeAll(async () => {
    // What `rollgate serve` exposes at /metrics: the engine's counters and every router's series.
    exposition = http.createServer((req, res) => {
      req.resume();
      void (engine ? engine.metrics() : Promise.resolve([])).then((texts) => {
        res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
        res.end(mergeExpositions(texts));
      });
    });
    await new Promise<void>((resolve) => exposition.listen(0, '127.0.0.1', resolve));
    prometheus = await startPrometheus({ bin, targets: [`127.0.0.1:${(exposition.address() as AddressInfo).port}`], scrapeIntervalMs: 1000 });

    dir = mkdtempSync(path.join(tmpdir(), 'rollgate-prom-engine-'));
    store = await openSqliteStore({ file: path.join(dir, 'rollgate.db') });
    engine = createEngine({ store, logger: silentLogger, dataDir: dir, workingDir: ROOT, rescanMs: 500, prometheus: { address: prometheus.url, timeoutMs: 5000 } });
    await engine.start();

    await create({
      kind: 'AnalysisTemplate',
      name: 'prom-errors',
      spec: {
        args: [{ name: 'job', value: 'rollgate' }],
        judge: { threshold: {} },
        metrics: [
          {
            name: 'error-ratio',
            provider: {
              prometheus: {
                query: ERROR_RATIO,
                requests: `sum(increase(rollgate_proxy_requests_total{${selector()}}[{{window}}]))`,
                errors: `sum(increase(rollgate_proxy_requests_total{${selector(',code_class="5xx"')}}[{{window}}]))`,
                timeout: '5s',
                retries: 1,
              },
            },
            initialDelay: '2s',
            interval: '2s',
            count: 3,
            successCondition: 'canary.value <= 0.05',
            failureLimit: 0,
            noDataPolicy: 'pause',
          },
        ],
      },
    });
    await create({
      kind: 'RolloutStrategy',
      name: 'prom-quick',
      spec: { canary: { steps: [{ setWeight: 50 }, { analysis: { templates: ['prom-errors'] } }], scaleDownDelaySeconds: 1 } },
    });
    await create({
      kind: 'Service',
      name: SERVICE,
      spec: {
        owner: 'team',
        tier: 'standard',
        strategy: 'prom-quick',
        target: { type: 'process', command: 'node examples/demo-app/server.js', env: { SERVICE }, healthCheck: { path: '/healthz', intervalSeconds: 1 } },
        router: { type: 'embedded', listen: '127.0.0.1:0' },
      },
    });
  }, 60_000);

  afterAll(async () => {
    await load?.stop();
    await engine?.stop();
    await store?.close();
    await prometheus?.stop();
    await new Promise<void>((resolve) => (exposition ? exposition.close(() => resolve()) : resolve()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('deploys the first version directly', async () => {
    await deploy('prom-shop-v1', '1.0.0');
    const status = await waitFor('prom-shop-v1', ['Healthy', 'Aborted', 'Degraded']);
    expect(status.phase, status.message ?? '').toBe('Healthy');
    const address = (await engine!.runtimes.peek(SERVICE))?.address?.();
    load = startLoad(address!, 4);
  }, 60_000);

  it('promotes a healthy canary on error ratios read from Prometheus', async () => {
    await deploy('prom-shop-v2', '2.0.0');
    const status = await waitFor('prom-shop-v2', ['Healthy', 'Aborted', 'Degraded', 'Paused']);
    expect(status.phase, status.message ?? '').toBe('Healthy');
    const metric = status.analysisRuns[0]!.metrics[0]!;
    expect(metric.phase).toBe('Successful');
    expect(metric.measurements).toHaveLength(3);
    for (const m of metric.measurements) {
      expect(m.phase, m.message ?? '').toBe('Successful');
      expect(m.inputs.canary!.value).toBe(0);
      expect(m.inputs.canary!.requests).toBeGreaterThan(0);
      expect(m.inputs.canary!.errorRate).toBe(0);
      expect(m.inputs.baseline!.requests).toBeGreaterThan(0);
    }
    // The numbers came from Prometheus: it holds the canary's traffic by version.
    const stored = await prometheus.query('sum(rollgate_proxy_requests_total{service="prom-shop",version="2.0.0"})');
    expect(Number(stored.result[0]?.value[1] ?? 0)).toBeGreaterThan(0);
    const router = await (await engine!.runtimes.peek(SERVICE))!.router.verify();
    expect(router).toMatchObject({ stableVersion: '2.0.0', canaryVersion: null, canaryWeight: 0 });
  }, 90_000);

  it('aborts a canary answering 5xx, judged from Prometheus, and sends traffic back to stable', async () => {
    await deploy('prom-shop-v3', '3.0.0', { ERROR_RATE: '0.5', SEED: '7' });
    const status = await waitFor('prom-shop-v3', ['Healthy', 'Aborted', 'Degraded', 'Paused']);
    expect(status.phase, status.message ?? '').toBe('Aborted');
    expect(status.abort?.reason).toBe('AnalysisFailed');
    expect(status.canaryWeight).toBe(0);
    const metric = status.analysisRuns[0]!.metrics[0]!;
    const failed = metric.measurements.at(-1)!;
    expect(failed.phase).toBe('Failed');
    expect(failed.inputs.canary!.value!).toBeGreaterThan(0.2);
    expect(failed.inputs.canary!.errorRate!).toBeCloseTo(failed.inputs.canary!.value!, 6);
    expect(failed.inputs.baseline!.value).toBe(0);
    const router = await (await engine!.runtimes.peek(SERVICE))!.router.verify();
    expect(router).toMatchObject({ stableVersion: '2.0.0', canaryWeight: 0 });
    const service = await store.read.objects.get('Service', SERVICE);
    expect(service?.status).toMatchObject({ environments: { default: { stableVersion: '2.0.0' } } });
    expect(await auditChainOk(store)).toBe(true);
  }, 90_000);
});

/** The engine's Prometheus wiring on in-memory runtimes: what observe.ts sends, and the error without a Prometheus. */
describe('engine: prometheus provider wiring (in-memory runtime, recorded HTTP)', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function engineWith(prometheus: Parameters<typeof createEngine>[0]['prometheus']) {
    const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-prom-wiring-'));
    const store = await openSqliteStore({ file: path.join(dir, 'rollgate.db') });
    const engine = createEngine({ store, logger: silentLogger, dataDir: dir, runtimeFactory: async () => memoryRuntime(), rescanMs: 200, ...(prometheus ? { prometheus } : {}) });
    await engine.start();
    cleanups.push(async () => {
      await engine.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const c = controls(
      () => store,
      () => engine,
      'wired',
    );
    await c.create({
      kind: 'AnalysisTemplate',
      name: 'wired',
      spec: {
        args: [{ name: 'selector', value: 'job="api"' }],
        metrics: [
          {
            name: 'ratio',
            provider: { prometheus: { query: 'avg(ratio{service="{{service}}",version="{{version}}",arm="{{arm}}",{{args.selector}}}[{{window}}])', step: '500ms', timeout: '3s', retries: 0 } },
            interval: '1s',
            count: 1,
            successCondition: 'canary.value <= 0.05',
            consecutiveErrorLimit: 0,
          },
          {
            name: 'elsewhere',
            provider: { prometheus: { address: 'http://other-prometheus.invalid:9091', requests: 'sum(requests{version="{{version}}"})' } },
            interval: '1s',
            count: 1,
            successCondition: 'canary.requests > 0',
            consecutiveErrorLimit: 0,
          },
        ],
      },
    });
    await c.create({ kind: 'RolloutStrategy', name: 'wired', spec: { canary: { steps: [{ setWeight: 50 }, { analysis: { templates: ['wired'] } }] } } });
    await c.create({
      kind: 'Service',
      name: 'wired',
      spec: { owner: 'team', tier: 'standard', strategy: 'wired', target: { type: 'process', command: 'unused' }, router: { type: 'embedded', listen: '127.0.0.1:0' } },
    });
    return c;
  }

  it('sends each metric\'s templates, step, timeout, service and run args to its Prometheus', async () => {
    const seen: URL[] = [];
    const fetch: typeof globalThis.fetch = async (input) => {
      const url = new URL(String(input));
      seen.push(url);
      const data = url.pathname.endsWith('query_range') ? { resultType: 'matrix', result: [{ metric: {}, values: [[1, '0.01'], [2, '0.03']] }] } : { resultType: 'vector', result: [{ metric: {}, value: [1, '12'] }] };
      return new Response(JSON.stringify({ status: 'success', data }), { status: 200 });
    };
    const c = await engineWith({ address: 'http://default-prometheus.invalid:9090', fetch });
    await c.deploy('wired-v1', '1.0.0');
    expect((await c.waitFor('wired-v1', ['Healthy', 'Aborted', 'Degraded'])).phase).toBe('Healthy');
    await c.deploy('wired-v2', '2.0.0');
    const status = await c.waitFor('wired-v2', ['Healthy', 'Aborted', 'Degraded', 'Paused']);
    expect(status.phase, JSON.stringify(status.analysisRuns[0]?.metrics.map((m) => m.measurements.map((x) => x.message)))).toBe('Healthy');

    const ranges = seen.filter((url) => url.host === 'default-prometheus.invalid:9090');
    expect(ranges.map((url) => url.pathname)).toEqual(['/api/v1/query_range', '/api/v1/query_range']);
    const canary = ranges.find((url) => url.searchParams.get('query')!.includes('canary'))!;
    expect(canary.searchParams.get('query')).toMatch(/^avg\(ratio\{service="wired",version="2\.0\.0",arm="canary",job="api"\}\[\d+s\]\)$/);
    expect(canary.searchParams.get('step')).toBe('0.5');
    expect(canary.searchParams.get('timeout')).toBe('3');
    const other = seen.filter((url) => url.host === 'other-prometheus.invalid:9091');
    expect(other.map((url) => url.searchParams.get('query')).sort()).toEqual(['sum(requests{version="1.0.0"})', 'sum(requests{version="2.0.0"})']);
    const [ratio, elsewhere] = status.analysisRuns[0]!.metrics;
    expect(ratio!.measurements[0]!.inputs.canary).toEqual({ requests: 0, errors: 0, errorRate: null, latency: null, value: 0.02 });
    expect(elsewhere!.measurements[0]!.inputs.canary).toMatchObject({ requests: 12 });
  }, 30_000);

  it('without a Prometheus address, the measurement says how to configure one', async () => {
    const c = await engineWith(undefined);
    await c.deploy('wired-v1', '1.0.0');
    expect((await c.waitFor('wired-v1', ['Healthy', 'Aborted', 'Degraded'])).phase).toBe('Healthy');
    await c.deploy('wired-v2', '2.0.0');
    const status = await c.waitFor('wired-v2', ['Healthy', 'Aborted', 'Degraded', 'Paused']);
    expect(status.phase).toBe('Aborted');
    const ratio = status.analysisRuns[0]!.metrics.find((m) => m.name === 'ratio')!;
    expect(ratio.measurements[0]!.phase).toBe('Error');
    expect(ratio.measurements[0]!.message).toMatch(/no Prometheus is configured: start the server with --prometheus-url URL \(or env ROLLGATE_PROMETHEUS_URL\), or set the metric's provider\.prometheus\.address/);
  }, 30_000);
});
