/**
 * PrometheusMetricProvider against a loopback HTTP server that plays Prometheus's HTTP API and
 * records every request: templating and escaping, instant vs range queries, result shapes,
 * histogram conversion, no data, retries, errors and timeouts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusMetricProvider, type PrometheusMetricProviderConfig } from '../../src/adapters/metrics/prometheus.js';
import { fromCumulativeBuckets, histogramQuantile, summarizeHistogram } from '../../src/adapters/metrics/prometheus-histogram.js';
import { promqlDuration, promqlString, renderPromql } from '../../src/adapters/metrics/promql-template.js';
import type { MetricQuery } from '../../src/ports/metric-provider.js';

interface Recorded {
  path: string;
  params: Record<string, string>;
  headers: http.IncomingHttpHeaders;
}

type Reply = { status?: number; body: unknown; delayMs?: number } | 'destroy';
type Handler = (request: Recorded) => Reply;

const ok = (result: unknown, resultType = 'vector'): Reply => ({ body: { status: 'success', data: { resultType, result } } });
const vector = (...series: Array<[Record<string, string>, string]>) => ok(series.map(([metric, value]) => ({ metric, value: [1700000000, value] })));
const one = (value: string) => vector([{}, value]);

let server: http.Server;
let base: string;
let requests: Recorded[] = [];
let handler: Handler = () => one('1');
const sockets = new Set<import('node:net').Socket>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const recorded: Recorded = { path: url.pathname, params: Object.fromEntries(url.searchParams), headers: req.headers };
    requests.push(recorded);
    req.resume();
    const reply = handler(recorded);
    if (reply === 'destroy') {
      req.socket.destroy();
      return;
    }
    const send = () => {
      if (res.destroyed) return;
      const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json' });
      res.end(text);
    };
    if (reply.delayMs) setTimeout(send, reply.delayMs);
    else send();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

afterEach(async () => {
  // A request cancelled when its sibling failed may still reach the server: let it land here.
  await new Promise((resolve) => setTimeout(resolve, 100));
  requests = [];
  handler = () => one('1');
});

const provider = (config: Partial<PrometheusMetricProviderConfig> = {}) => new PrometheusMetricProvider({ address: base, retryDelayMs: 1, ...config });
const WINDOW = { startMs: 1_700_000_000_000, endMs: 1_700_000_090_400 };
const query = (extra: Partial<MetricQuery> = {}): MetricQuery => ({ metric: 'tmpl/m', window: WINDOW, versions: { baseline: '1.0.0', canary: '2.0.0' }, ...extra });

describe('PromQL templates', () => {
  it('escapes a version for a double-quoted string literal and renders every placeholder', () => {
    expect(promqlString('2.0.0-"rc"\\1\n')).toBe('2.0.0-\\"rc\\"\\\\1\\n');
    expect(promqlString('a\u0001b')).toBe('a\\x01b');
    expect(promqlDuration(90_400)).toBe('90s');
    expect(promqlDuration(90_600)).toBe('91s');
    expect(promqlDuration(300)).toBe('1s');
    expect(promqlDuration(0)).toBe('1s');
    const text = renderPromql('x{version="{{version}}",arm="{{ arm }}",service="{{service}}",job="{{args.job}}"}[{{window}}]', {
      version: 'v"2',
      arm: 'canary',
      windowMs: 60_000,
      service: 'shop',
      args: { job: 'api' },
    });
    expect(text).toBe('x{version="v\\"2",arm="canary",service="shop",job="api"}[60s]');
  });

  it('names an unknown placeholder, a missing argument and a missing service', () => {
    const context = { version: '1', arm: 'baseline' as const, windowMs: 1000, args: { a: '1' } };
    expect(() => renderPromql('up{x="{{versoin}}"}', context)).toThrow(/unknown placeholder \{\{versoin\}\}/);
    expect(() => renderPromql('up{x="{{args.b}}"}', context)).toThrow(/\{\{args\.b\}\}.*no argument "b" \(it has: a\)/);
    expect(() => renderPromql('up{x="{{service}}"}', context)).toThrow(/\{\{service\}\}.*no service/);
  });
});

describe('PrometheusMetricProvider', () => {
  it('renders the templates per arm and runs instant queries at the window end', async () => {
    handler = () => one('0.25');
    const result = await provider().query(
      query({
        versions: { baseline: '1.0.0', canary: '2.0.0-"rc"' },
        queries: { value: 'sum(rate(errors{version="{{version}}",arm="{{arm}}",service="{{service}}"}[{{window}}])) / {{args.scale}}' },
        service: 'shop',
        args: { scale: '2' },
      }),
    );
    expect(requests).toHaveLength(2);
    const byArm = Object.fromEntries(requests.map((r) => [/arm="(\w+)"/.exec(r.params.query!)![1], r]));
    expect(byArm.baseline!.path).toBe('/api/v1/query');
    expect(byArm.baseline!.params).toMatchObject({ query: 'sum(rate(errors{version="1.0.0",arm="baseline",service="shop"}[90s])) / 2', time: '1700000090.400', timeout: '10' });
    expect(byArm.canary!.params.query).toBe('sum(rate(errors{version="2.0.0-\\"rc\\"",arm="canary",service="shop"}[90s])) / 2');
    // A value-only sample has no counts: 0 / 0 / null / null.
    expect(result.canary).toEqual({ requests: 0, errors: 0, errorRate: null, latency: null, value: 0.25 });
    expect(result.baseline).toEqual(result.canary);
  });

  it('fails on an unknown placeholder before sending anything, naming the query, arm and placeholder', async () => {
    await expect(provider().query(query({ queries: { requests: 'sum(x{v="{{verison}}"})' } }))).rejects.toThrow(/requests query of metric "tmpl\/m" for (baseline|canary).*unknown placeholder \{\{verison\}\}/);
    expect(requests).toHaveLength(0);
  });

  it('accepts a scalar, and answers no data for an empty vector or NaN', async () => {
    handler = (r) => (r.params.query!.includes('baseline') ? ok([1700000000, '3.5'], 'scalar') : ok([]));
    expect(await provider().query(query({ queries: { value: 'scalar(x{arm="{{arm}}"})' } }))).toEqual({
      baseline: { requests: 0, errors: 0, errorRate: null, latency: null, value: 3.5 },
      canary: null,
    });
    handler = () => one('NaN');
    expect(await provider().query(query({ queries: { value: 'a / b' } }))).toEqual({ baseline: null, canary: null });
  });

  it('refuses several series for a value, naming the count, and a range vector from an instant query', async () => {
    handler = () => vector([{ pod: 'a' }, '1'], [{ pod: 'b' }, '2'], [{ pod: 'c' }, '2']);
    await expect(provider().query(query({ queries: { value: 'x' } }))).rejects.toThrow(/value query .* for (baseline|canary) \(version [\d.]+\): returned 3 series, expected one .*\{pod="a"\}/);
    handler = () => ok([{ metric: {}, values: [[1, '1']] }], 'matrix');
    await expect(provider().query(query({ queries: { value: 'x[5m]' } }))).rejects.toThrow(/got matrix \(a range vector/);
    handler = () => one('+Inf');
    await expect(provider().query(query({ queries: { value: 'x' } }))).rejects.toThrow(/\+Inf/);
  });

  it('with a step, runs a range query over the window and averages the points (NaN skipped)', async () => {
    handler = () =>
      ok(
        [
          {
            metric: {},
            values: [
              [1, '1'],
              [2, 'NaN'],
              [3, '2'],
              [4, '6'],
            ],
          },
        ],
        'matrix',
      );
    const result = await provider().query(query({ queries: { value: 'rate(x{version="{{version}}"}[30s])' }, stepMs: 15_000 }));
    expect(requests.map((r) => r.path)).toEqual(['/api/v1/query_range', '/api/v1/query_range']);
    expect(requests[0]!.params).toMatchObject({ start: '1700000000.000', end: '1700000090.400', step: '15' });
    expect(result.canary!.value).toBe(3);
    handler = () => ok([], 'matrix');
    expect(await provider().query(query({ queries: { value: 'x' }, stepMs: 1000 }))).toEqual({ baseline: null, canary: null });
  });

  it('sums counts across series; an empty errors result is 0 errors, empty or zero requests is no data', async () => {
    handler = (r) => {
      const canary = r.params.query!.includes('2.0.0');
      if (r.params.query!.startsWith('requests')) return canary ? vector([{ code: '200' }, '90'], [{ code: '500' }, '10']) : ok([]);
      return canary ? vector([{ code: '500' }, '10']) : ok([]);
    };
    const q = query({ queries: { requests: 'requests{version="{{version}}"}', errors: 'errors{version="{{version}}"}' } });
    expect(await provider().query(q)).toEqual({ baseline: null, canary: { requests: 100, errors: 10, errorRate: 0.1, latency: null } });

    handler = (r) => (r.params.query!.startsWith('requests') ? one(r.params.query!.includes('2.0.0') ? '40' : '0') : ok([]));
    expect(await provider().query(q)).toEqual({ baseline: null, canary: { requests: 40, errors: 0, errorRate: 0, latency: null } });

    handler = () => one('NaN');
    await expect(provider().query(q)).rejects.toThrow(/(requests|errors) query .*returned NaN, not a count/);
  });

  it('turns cumulative le buckets into a non-cumulative histogram and histogram_quantile-style latency', async () => {
    // Two series per le (e.g. two pods, not aggregated): summed. Unsorted, +Inf as text.
    const buckets: Array<[string, number]> = [
      ['0.1', 60],
      ['+Inf', 100],
      ['0.05', 20],
      ['0.5', 90],
      ['1', 96],
    ];
    handler = (r) => (r.params.query!.includes('1.0.0') ? ok([]) : vector(...buckets.flatMap(([le, n]): Array<[Record<string, string>, string]> => [[{ le, pod: 'a' }, String(n / 2)], [{ le, pod: 'b' }, String(n / 2)]])));
    const result = await provider().query(query({ queries: { histogram: 'sum by (le, pod) (increase(h_bucket{version="{{version}}"}[{{window}}]))' } }));
    expect(result.baseline).toBeNull();
    const sample = result.canary!;
    expect(sample.histogram).toEqual({ bounds: [0.05, 0.1, 0.5, 1], counts: [20, 40, 30, 6, 4] });
    expect(sample.requests).toBe(100);
    expect(sample.errors).toBe(0);
    expect(sample.errorRate).toBeNull();
    const l = sample.latency!;
    // histogram_quantile(0.5): rank 50 in (0.05, 0.1] holding 20..60 → 0.05 + 0.05 * 30/40.
    expect(l.p50).toBeCloseTo(0.0875, 10);
    // 0.9: rank 90 = the top of (0.1, 0.5] → 0.5; 0.95: rank 95 in (0.5, 1] holding 90..96 → 0.5 + 0.5 * 5/6.
    expect(l.p90).toBeCloseTo(0.5, 10);
    expect(l.p95).toBeCloseTo(0.5 + 0.5 * (5 / 6), 10);
    // 0.99: rank 99 in the overflow → the highest finite bound.
    expect(l.p99).toBe(1);
    expect(l.max).toBe(1);
    expect(l.mean).toBeCloseTo((20 * 0.025 + 40 * 0.075 + 30 * 0.3 + 6 * 0.75 + 4 * 1) / 100, 10);
  });

  it('refuses a histogram without le or without a +Inf bucket', async () => {
    handler = () => vector([{}, '3']);
    await expect(provider().query(query({ queries: { histogram: 'x' } }))).rejects.toThrow(/histogram query .*without an "le" label/);
    handler = () => vector([{ le: '0.1' }, '3']);
    await expect(provider().query(query({ queries: { histogram: 'x' } }))).rejects.toThrow(/no le="\+Inf" bucket/);
  });

  it('presets: without queries, errorRate / latency read the embedded router series by versionLabel and service', async () => {
    handler = (r) => {
      const q = r.params.query!;
      if (q.includes('_bucket')) return vector([{ le: '0.01' }, '8'], [{ le: '0.1' }, '10'], [{ le: '+Inf' }, '10']);
      if (q.includes('5xx')) return one('2');
      return one('10');
    };
    const result = await provider({ versionLabel: 'app_version' }).query(query({ metric: 'errorRate', service: 'shop' }));
    const sent = requests.filter((r) => r.params.query!.includes('2.0.0')).map((r) => r.params.query).sort();
    expect(sent).toEqual([
      'sum by (le) (increase(rollgate_proxy_request_duration_seconds_bucket{app_version="2.0.0",service="shop"}[90s]))',
      'sum(increase(rollgate_proxy_requests_total{app_version="2.0.0",service="shop",code_class="5xx"}[90s]))',
      'sum(increase(rollgate_proxy_requests_total{app_version="2.0.0",service="shop"}[90s]))',
    ]);
    expect(result.canary).toMatchObject({ requests: 10, errors: 2, errorRate: 0.2, value: 0.2, histogram: { bounds: [0.01, 0.1], counts: [8, 2, 0] } });
    expect(result.canary!.latency!.max).toBe(0.1);
    const rate = await provider().query(query({ metric: 'requestRate' }));
    expect(rate.canary!.value).toBeCloseTo(10 / 90.4, 10);
    // Any other metric string is the value query itself.
    requests = [];
    handler = () => one('7');
    expect((await provider().query(query({ metric: 'vector(7)' }))).canary!.value).toBe(7);
    expect(requests[0]!.params.query).toBe('vector(7)');
  });

  it('retries after a 503 and a dropped connection, then succeeds', async () => {
    let calls = 0;
    handler = () => {
      calls += 1;
      if (calls === 1) return { status: 503, body: 'upstream unavailable' };
      if (calls === 2) return 'destroy';
      return one('5');
    };
    const result = await provider({ retries: 2 }).query(query({ versions: { baseline: 'x', canary: 'x' }, queries: { value: 'v{arm="{{arm}}"}' } }));
    expect(result.baseline!.value).toBe(5);
    expect(calls).toBe(4); // one arm needed three attempts, the other one
  });

  it('gives up after the retries, listing each failure', async () => {
    handler = () => ({ status: 503, body: { status: 'error', errorType: 'unavailable', error: 'TSDB not ready' } });
    await expect(provider({ retries: 1 }).query(query({ queries: { value: 'x{arm="{{arm}}"}' } }))).rejects.toThrow(/TSDB not ready \(2 attempts: Prometheus answered 503 unavailable: TSDB not ready; Prometheus/);
    const attempts = ['baseline', 'canary'].map((arm) => requests.filter((r) => r.params.query!.includes(arm)).length);
    // The arm that failed first tried twice; its failure cancelled the other's next attempt, if any was left.
    expect(Math.max(...attempts)).toBe(2);
  });

  it('never retries a 400, and reports the text Prometheus gave', async () => {
    handler = () => ({ status: 400, body: { status: 'error', errorType: 'bad_data', error: '1:5: parse error: unexpected "}"' } });
    const failure = provider({ retries: 3 }).query(query({ queries: { value: 'sum(x}' } }));
    await expect(failure).rejects.toThrow(/value query of metric "tmpl\/m" for (baseline|canary) \(version [\d.]+\): Prometheus answered 400 bad_data: 1:5: parse error: unexpected "}" — PromQL: sum\(x\}/);
    // Never retried: at most one request per arm (the first failure cancels the other arm's).
    expect(requests.length).toBeGreaterThanOrEqual(1);
    expect(requests.length).toBeLessThanOrEqual(2);
  });

  it('times out a slow answer (AbortSignal), retrying it, and reports the timeout', async () => {
    handler = () => ({ body: { status: 'success', data: { resultType: 'vector', result: [] } }, delayMs: 1000 });
    const started = Date.now();
    await expect(provider({ timeoutMs: 100, retries: 1 }).query(query({ queries: { value: 'x' } }))).rejects.toThrow(/timed out after 100 ms \(2 attempts/);
    expect(Date.now() - started).toBeLessThan(900);
    expect(requests.length).toBeGreaterThanOrEqual(2);
    expect(requests.length).toBeLessThanOrEqual(4);
    // The query's own timeout and retries override the provider's.
    requests = [];
    await expect(provider({ timeoutMs: 5000, retries: 3 }).query(query({ queries: { value: 'x' }, timeoutMs: 50, retries: 0 }))).rejects.toThrow(/timed out after 50 ms — PromQL: x$/);
    expect(requests.length).toBeLessThanOrEqual(2);
  });

  it('reports an unreachable server without leaking credentials, sending them as basic auth', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const failure = new PrometheusMetricProvider({ address: `http://admin:s3cret@127.0.0.1:${port}`, retries: 1, retryDelayMs: 1 }).query(query({ queries: { value: 'x' } }));
    await expect(failure).rejects.toThrow(/cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    await failure.catch((error: Error) => expect(error.message).not.toContain('s3cret'));

    const withAuth = new PrometheusMetricProvider({ address: `${base.replace('http://', 'http://admin:s3cret@')}/prefix/` });
    expect(withAuth.config.address).toBe(`${base}/prefix`);
    await withAuth.query(query({ queries: { value: 'x' } }));
    expect(requests[0]!.path).toBe('/prefix/api/v1/query');
    expect(requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('admin:s3cret').toString('base64')}`);
  });

  it('validates its config and the query, and declares its capabilities', async () => {
    expect(() => new PrometheusMetricProvider({ address: 'not a url' })).toThrow(TypeError);
    expect(() => new PrometheusMetricProvider({ address: 'ftp://host' })).toThrow(/http\(s\)/);
    expect(() => new PrometheusMetricProvider({ address: base, retries: -1 })).toThrow(RangeError);
    expect(() => new PrometheusMetricProvider({ address: base, versionLabel: 'bad-label' })).toThrow(/label name/);
    const p = provider();
    expect(p.capabilities).toEqual({ latency: true, windows: true });
    expect(Object.isFrozen(p.config)).toBe(true);
    expect(p.config).toMatchObject({ timeoutMs: 10_000, retries: 2, versionLabel: 'version' });
    await expect(p.query(query({ window: { startMs: 5, endMs: 5 } }))).rejects.toThrow(RangeError);
    await expect(p.query(query({ queries: {} }))).rejects.toThrow(/has no query/);
    await expect(p.query(query({ queries: { value: 'x' }, stepMs: 0 }))).rejects.toThrow(/stepMs/);
    expect(requests).toHaveLength(0);
  });

  it('uses an injected fetch', async () => {
    const seen: string[] = [];
    const fake: typeof fetch = async (input) => {
      seen.push(String(input));
      return new Response(JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [1, '42'] } }), { status: 200 });
    };
    const result = await new PrometheusMetricProvider({ address: 'http://prometheus.invalid:9090', fetch: fake }).query(query({ queries: { value: 'vector(42)' } }));
    expect(result.canary!.value).toBe(42);
    expect(seen[0]).toMatch(/^http:\/\/prometheus\.invalid:9090\/api\/v1\/query\?query=vector%2842%29&time=1700000090\.400/);
  });
});

describe('Prometheus histogram helpers', () => {
  it('repairs non-monotonic cumulative counts, and an empty histogram is no data', () => {
    expect(
      fromCumulativeBuckets([
        { le: 0.1, count: 5 },
        { le: 0.2, count: 4.9 },
        { le: Infinity, count: 6 },
      ]),
    ).toEqual({ bounds: [0.1, 0.2], counts: [5, 0, 1] });
    expect(fromCumulativeBuckets([{ le: Infinity, count: 0 }])).toBeNull();
    expect(() => fromCumulativeBuckets([{ le: 1, count: 1 }])).toThrow(/\+Inf/);
  });

  it('reads quantiles like histogram_quantile', () => {
    const h = { bounds: [1, 2, 4], counts: [10, 0, 10, 0] };
    expect(histogramQuantile(h, 0.25)).toBeCloseTo(0.5, 10);
    expect(histogramQuantile(h, 0.5)).toBeCloseTo(1, 10);
    expect(histogramQuantile(h, 0.75)).toBeCloseTo(3, 10);
    expect(histogramQuantile({ bounds: [1], counts: [0, 5] }, 0.5)).toBe(1);
    expect(histogramQuantile({ bounds: [], counts: [5] }, 0.5)).toBeNull();
    expect(summarizeHistogram({ bounds: [1, 2, 4], counts: [0, 0, 0, 0] })).toBeNull();
    expect(summarizeHistogram(h)).toMatchObject({ max: 4, mean: (10 * 0.5 + 10 * 3) / 20 });
  });
});
