/**
 * MetricProvider over the Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`).
 *
 * A query carries up to four PromQL templates (`MetricQuery.queries`, from an AnalysisTemplate's
 * `provider.prometheus` block), rendered once per arm (see promql-template.ts for the
 * placeholders) and run as instant queries at the window's end:
 * - `value`: one number (a scalar or a single-series vector) → `value`. With `stepMs` it is run as
 *   a range query over the window instead and its points are averaged (NaN points skipped). More
 *   than one series is an error naming the count; an empty result, or NaN, is no data.
 * - `requests`, `errors`: counts, summed across the series returned → `requests`, `errors`,
 *   `errorRate` (errors / requests; null without an `errors` query). An empty `requests` result,
 *   or 0 requests, is no data; an empty `errors` result is 0 errors. NaN is an error.
 * - `histogram`: classic histogram buckets, e.g.
 *   `sum by (le) (increase(http_request_duration_seconds_bucket{version="{{version}}"}[{{window}}]))`;
 *   series with the same `le` are summed, cumulative counts become a non-cumulative
 *   `histogram` (the `+Inf` bucket as the overflow) and a `latency` summary as
 *   `histogram_quantile` reads it (the mean from bucket midpoints). An empty result is no data.
 *   Without a `requests` query, `requests` is the histogram's total.
 * An arm whose `value`, `requests` or `histogram` query has no data gets a null sample. Every
 * sample has `requests`, `errors`, `errorRate` and `latency`: a value-only query gives
 * 0 / 0 / null / null there (no counts were asked for). Counts read through `increase()` are
 * extrapolated by Prometheus and may be fractional.
 *
 * Without `queries`, `metric` names a preset over the embedded router's exposition
 * (`rollgate_proxy_requests_total`, `rollgate_proxy_request_duration_seconds`), selecting the
 * version by `versionLabel` (and `service` when the query names one): `errorRate` (also as
 * `value`), `requestRate` (requests per second of the window, as `value`) and `latency` — each with
 * requests, errors and the histogram. Any other `metric` is run as the `value` query.
 *
 * Each HTTP request has a timeout (AbortSignal) and is retried with a short backoff after a
 * network error, a 5xx or a timeout — never after a 4xx or a PromQL error, whose text Prometheus
 * gives is reported. Errors name the query (`value`, `requests`, `errors`, `histogram`), the arm and
 * the version. Credentials in the address (`http://user:pass@host`) are sent as basic auth and
 * never appear in messages.
 */
import type { LatencyHistogram } from '../../core/analysis/types.js';
import type { MetricProvider, MetricProviderCapabilities, MetricQueries, MetricQuery, VersionSample } from '../../ports/metric-provider.js';
import { fromCumulativeBuckets, summarizeHistogram, type CumulativeBucket } from './prometheus-histogram.js';
import { renderPromql } from './promql-template.js';

export const PROMETHEUS_PRESET_METRICS = Object.freeze(['errorRate', 'requestRate', 'latency'] as const);

export interface PrometheusMetricProviderConfig {
  /** Base URL of the Prometheus HTTP API, e.g. `http://127.0.0.1:9090` (a path prefix is kept). */
  address: string;
  /** Per-request timeout, ms. Default 10 000. */
  timeoutMs?: number;
  /** Retries after a network error, 5xx or timeout. Default 2. */
  retries?: number;
  /** First retry delay, ms, doubled per retry (at most 2 s). Default 100. */
  retryDelayMs?: number;
  /** The label carrying the version in the preset metrics' selectors. Default `version`. */
  versionLabel?: string;
  /** fetch to use (tests inject one). Default: the global fetch. */
  fetch?: typeof fetch;
}

type Arm = 'baseline' | 'canary';
type QueryKind = keyof MetricQueries;
type Result = { baseline: VersionSample | null; canary: VersionSample | null };

const CAPABILITIES: MetricProviderCapabilities = Object.freeze({ latency: true, windows: true });
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_RETRY_DELAY_MS = 2000;

/** A failure that retrying cannot fix (4xx, PromQL error, malformed answer). */
class Permanent extends Error {}

interface PromSeries {
  metric?: Record<string, string>;
  value?: [number, string];
  values?: Array<[number, string]>;
  histogram?: unknown;
  histograms?: unknown;
}

interface PromData {
  resultType: 'scalar' | 'vector' | 'matrix' | 'string';
  result: unknown;
}

/** A Prometheus sample value: Go float syntax plus `NaN`, `+Inf`, `-Inf`. */
function parseValue(text: unknown): number {
  if (text === 'NaN') return NaN;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  const n = typeof text === 'string' && text.trim() !== '' ? Number(text) : NaN;
  if (Number.isNaN(n)) throw new Permanent(`malformed sample value ${JSON.stringify(text)}`);
  return n;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class PrometheusMetricProvider implements MetricProvider {
  readonly capabilities: MetricProviderCapabilities = CAPABILITIES;
  readonly config: Readonly<Required<Omit<PrometheusMetricProviderConfig, 'fetch'>> & Pick<PrometheusMetricProviderConfig, 'fetch'>>;
  /** The address without credentials, for requests and messages. */
  readonly #base: string;
  readonly #authorization: string | null;

  constructor(config: PrometheusMetricProviderConfig) {
    let url: URL;
    try {
      url = new URL(config?.address);
    } catch {
      throw new TypeError(`PrometheusMetricProvider: config.address must be an http(s) URL, got ${JSON.stringify(config?.address)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`PrometheusMetricProvider: config.address must be an http(s) URL, got protocol "${url.protocol}"`);
    const timeoutMs = config.timeoutMs ?? 10_000;
    const retries = config.retries ?? 2;
    const retryDelayMs = config.retryDelayMs ?? 100;
    const versionLabel = config.versionLabel ?? 'version';
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError('PrometheusMetricProvider: timeoutMs must be a positive number');
    if (!Number.isInteger(retries) || retries < 0 || retries > 10) throw new RangeError('PrometheusMetricProvider: retries must be an integer in 0..10');
    if (!Number.isFinite(retryDelayMs) || retryDelayMs < 0) throw new RangeError('PrometheusMetricProvider: retryDelayMs must be a non-negative number');
    if (!LABEL_NAME.test(versionLabel)) throw new TypeError(`PrometheusMetricProvider: versionLabel "${versionLabel}" is not a Prometheus label name`);
    if (config.fetch !== undefined && typeof config.fetch !== 'function') throw new TypeError('PrometheusMetricProvider: config.fetch must be a function');

    this.#authorization = url.username || url.password ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}` : null;
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    this.#base = url.toString().replace(/\/+$/, '');
    this.config = Object.freeze({ address: this.#base, timeoutMs, retries, retryDelayMs, versionLabel, ...(config.fetch ? { fetch: config.fetch } : {}) });
  }

  async query(query: MetricQuery): Promise<Result> {
    const { startMs, endMs } = query?.window ?? ({} as MetricQuery['window']);
    if (!Number.isFinite(startMs) || !Number.isFinite(endMs) || endMs <= startMs) throw new RangeError('PrometheusMetricProvider: window needs finite startMs < endMs');
    const { baseline, canary } = query.versions ?? ({} as MetricQuery['versions']);
    if (typeof baseline !== 'string' || typeof canary !== 'string') throw new TypeError('PrometheusMetricProvider: versions.baseline and versions.canary must be strings');
    if (query.stepMs !== undefined && !(Number.isFinite(query.stepMs) && query.stepMs > 0)) throw new RangeError('PrometheusMetricProvider: stepMs must be a positive number');
    if (query.timeoutMs !== undefined && !(Number.isFinite(query.timeoutMs) && query.timeoutMs > 0)) throw new RangeError('PrometheusMetricProvider: timeoutMs must be a positive number');
    if (query.retries !== undefined && !(Number.isInteger(query.retries) && query.retries >= 0 && query.retries <= 10)) throw new RangeError('PrometheusMetricProvider: retries must be an integer in 0..10');

    const preset = query.queries ? null : (PROMETHEUS_PRESET_METRICS as readonly string[]).includes(query.metric) ? query.metric : null;
    const queries = query.queries ?? (preset ? this.#presetQueries(query.service) : { value: query.metric });
    const kinds = (['value', 'requests', 'errors', 'histogram'] as const).filter((kind) => typeof queries[kind] === 'string' && queries[kind]!.trim() !== '');
    if (kinds.length === 0) throw new Error(`PrometheusMetricProvider: metric "${query.metric}" has no query (give at least one of value, requests, errors, histogram)`);

    // The first failure cancels the other requests of this query; it settles only once none is in flight.
    const cancel = new AbortController();
    const settled = await Promise.allSettled(
      (['baseline', 'canary'] as const).map((arm) =>
        this.#sample(query, arm, arm === 'baseline' ? baseline : canary, queries, kinds, preset, cancel.signal).catch((error: unknown) => {
          cancel.abort();
          throw error;
        }),
      ),
    );
    const failures = settled.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected').map((outcome) => outcome.reason as Error);
    const failure = failures.find((error) => !(error.cause instanceof Cancelled)) ?? failures[0];
    if (failure) throw failure;
    const [baselineSample, canarySample] = settled.map((outcome) => (outcome as PromiseFulfilledResult<VersionSample | null>).value);
    return { baseline: baselineSample!, canary: canarySample! };
  }

  /** The embedded router's series for one version (and service). */
  #presetQueries(service: string | undefined): MetricQueries {
    const selector = (extra = '') => `{${this.config.versionLabel}="{{version}}"${service !== undefined ? ',service="{{service}}"' : ''}${extra}}`;
    return {
      requests: `sum(increase(rollgate_proxy_requests_total${selector()}[{{window}}]))`,
      errors: `sum(increase(rollgate_proxy_requests_total${selector(',code_class="5xx"')}[{{window}}]))`,
      histogram: `sum by (le) (increase(rollgate_proxy_request_duration_seconds_bucket${selector()}[{{window}}]))`,
    };
  }

  async #sample(query: MetricQuery, arm: Arm, version: string, queries: MetricQueries, kinds: readonly QueryKind[], preset: string | null, cancel: AbortSignal): Promise<VersionSample | null> {
    const { startMs, endMs } = query.window;
    const context = { version, arm, windowMs: endMs - startMs, ...(query.service !== undefined ? { service: query.service } : {}), ...(query.args ? { args: query.args } : {}) };
    const settled = await Promise.allSettled(
      kinds.map(async (kind) => {
        let promql: string | null = null;
        try {
          promql = renderPromql(queries[kind]!, context);
          return [kind, await this.#run(kind, promql, query, cancel)] as const;
        } catch (error) {
          const where = `PrometheusMetricProvider: ${kind} query of metric "${query.metric}" for ${arm} (version ${version})`;
          throw new Error(`${where}: ${(error as Error).message}${promql !== null ? ` — PromQL: ${promql}` : ''}`, { cause: error });
        }
      }),
    );
    const failures = settled.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected').map((outcome) => outcome.reason as Error);
    const failure = failures.find((error) => !(error.cause instanceof Cancelled)) ?? failures[0];
    if (failure) throw failure;
    const answers = settled.map((outcome) => (outcome as PromiseFulfilledResult<readonly [QueryKind, number | LatencyHistogram | null]>).value);
    const got = Object.fromEntries(answers) as Partial<Record<QueryKind, number | LatencyHistogram | null>>;

    const value = got.value as number | null | undefined;
    const requestsCounted = got.requests as number | null | undefined;
    const errorsCounted = got.errors as number | null | undefined;
    const histogram = got.histogram as LatencyHistogram | null | undefined;
    // No data: any of the queries that say whether the version served anything came back empty.
    if (value === null || requestsCounted === null || requestsCounted === 0 || histogram === null) return null;

    const requests = requestsCounted ?? (histogram ? histogram.counts.reduce((sum, count) => sum + count, 0) : 0);
    const errors = errorsCounted ?? 0;
    const errorRate = kinds.includes('errors') && requests > 0 ? errors / requests : null;
    const sample: VersionSample = { requests, errors, errorRate, latency: histogram ? summarizeHistogram(histogram) : null };
    if (histogram !== undefined) sample.histogram = histogram;
    if (value !== undefined) sample.value = value;
    else if (preset === 'errorRate') sample.value = errorRate;
    else if (preset === 'requestRate') sample.value = requests / ((endMs - startMs) / 1000);
    return sample;
  }

  /** Runs one rendered query; the number / histogram it yields, or null for no data. */
  async #run(kind: QueryKind, promql: string, query: MetricQuery, cancel: AbortSignal): Promise<number | LatencyHistogram | null> {
    const { startMs, endMs } = query.window;
    const seconds = (ms: number) => (ms / 1000).toFixed(3);
    if (kind === 'value' && query.stepMs !== undefined) {
      const data = await this.#request('/api/v1/query_range', { query: promql, start: seconds(startMs), end: seconds(endMs), step: String(query.stepMs / 1000) }, query, cancel);
      return averageOf(data);
    }
    const data = await this.#request('/api/v1/query', { query: promql, time: seconds(endMs) }, query, cancel);
    if (kind === 'value') return singleValue(data);
    if (kind === 'histogram') return histogramOf(data);
    return countOf(data);
  }

  /** One API call with timeout and retries; the `data` of a successful answer. Stops early once `cancel` fires. */
  async #request(path: string, params: Record<string, string>, query: MetricQuery, cancel: AbortSignal): Promise<PromData> {
    const timeoutMs = query.timeoutMs ?? this.config.timeoutMs;
    const retries = query.retries ?? this.config.retries;
    const url = `${this.#base}${path}?${new URLSearchParams({ ...params, timeout: String(timeoutMs / 1000) }).toString()}`;
    const doFetch = this.config.fetch ?? globalThis.fetch;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#authorization) headers.authorization = this.#authorization;
    const failures: string[] = [];
    for (let attempt = 0; ; attempt++) {
      if (cancel.aborted) throw new Cancelled('cancelled: another query of this measurement failed');
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      const onCancel = () => controller.abort();
      cancel.addEventListener('abort', onCancel);
      try {
        const response = await doFetch(url, { headers, signal: controller.signal });
        const text = await response.text();
        return parseAnswer(response.status, text);
      } catch (error) {
        if (error instanceof Permanent) throw error;
        if (cancel.aborted) throw new Cancelled('cancelled: another query of this measurement failed');
        const reason = controller.signal.aborted ? `timed out after ${timeoutMs} ms` : error instanceof Retryable ? error.message : `cannot reach ${this.#base}: ${describeNetworkError(error)}`;
        failures.push(reason);
        if (attempt >= retries) {
          const tries = attempt + 1;
          throw new Error(tries > 1 ? `${reason} (${tries} attempts: ${failures.join('; ')})` : reason);
        }
      } finally {
        clearTimeout(timer);
        cancel.removeEventListener('abort', onCancel);
      }
      await delay(Math.min(this.config.retryDelayMs * 2 ** attempt, MAX_RETRY_DELAY_MS));
    }
  }
}

/** A failure worth another attempt (5xx). */
class Retryable extends Error {}

/** The request was dropped because a sibling request of the same measurement failed. */
class Cancelled extends Error {}

function describeNetworkError(error: unknown): string {
  const err = error as { message?: string; cause?: { code?: string; message?: string } };
  const cause = err?.cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return cause?.message ?? err?.message ?? String(error);
}

interface ApiAnswer {
  status?: string;
  data?: PromData;
  errorType?: string;
  error?: string;
}

function parseAnswer(status: number, text: string): PromData {
  let body: ApiAnswer | null = null;
  try {
    body = JSON.parse(text) as ApiAnswer;
  } catch {
    body = null;
  }
  const snippet = () => text.replace(/\s+/g, ' ').trim().slice(0, 200);
  if (body && body.status === 'error') {
    const message = `Prometheus answered ${status} ${body.errorType ?? 'error'}: ${body.error ?? '(no error text)'}`;
    if (status >= 500) throw new Retryable(message);
    throw new Permanent(message);
  }
  if (status >= 500) throw new Retryable(`Prometheus answered HTTP ${status}${snippet() ? `: ${snippet()}` : ''}`);
  if (status < 200 || status >= 300) throw new Permanent(`Prometheus answered HTTP ${status}${snippet() ? `: ${snippet()}` : ''}`);
  if (!body || body.status !== 'success' || !body.data || typeof body.data !== 'object') throw new Permanent(`not a Prometheus API answer: ${snippet() || '(empty body)'}`);
  return body.data;
}

function seriesOf(data: PromData, expected: 'vector' | 'matrix'): PromSeries[] {
  if (data.resultType !== expected || !Array.isArray(data.result)) {
    const hint = data.resultType === 'matrix' ? ' (a range vector: wrap it in a function such as increase() or avg_over_time())' : '';
    throw new Permanent(`expected a ${expected === 'vector' ? 'scalar or instant vector' : 'range vector'} result, got ${String(data.resultType)}${hint}`);
  }
  const series = data.result as PromSeries[];
  if (series.some((s) => s.histogram !== undefined || s.histograms !== undefined)) throw new Permanent('native histograms are not supported; use classic histogram buckets (`_bucket` series with `le`)');
  return series;
}

const labelsOf = (s: PromSeries) => {
  const labels = Object.entries(s.metric ?? {}).map(([name, value]) => `${name}="${value}"`);
  return `{${labels.join(',')}}`;
};

function singleValue(data: PromData): number | null {
  if (data.resultType === 'scalar') return finiteOrNoData(parseValue((data.result as [number, string])[1]));
  const series = seriesOf(data, 'vector');
  if (series.length === 0) return null;
  if (series.length > 1) throw new Permanent(`returned ${series.length} series, expected one (aggregate them, e.g. with sum()): ${series.slice(0, 3).map(labelsOf).join(', ')}${series.length > 3 ? ', …' : ''}`);
  return finiteOrNoData(parseValue(series[0]!.value?.[1]));
}

/** NaN (e.g. 0/0 without traffic) is no data; ±Inf cannot be judged. */
function finiteOrNoData(value: number): number | null {
  if (Number.isNaN(value)) return null;
  if (!Number.isFinite(value)) throw new Permanent(`returned ${value > 0 ? '+Inf' : '-Inf'}, which cannot be judged`);
  return value;
}

function averageOf(data: PromData): number | null {
  const series = seriesOf(data, 'matrix');
  if (series.length === 0) return null;
  if (series.length > 1) throw new Permanent(`returned ${series.length} series, expected one (aggregate them, e.g. with sum()): ${series.slice(0, 3).map(labelsOf).join(', ')}${series.length > 3 ? ', …' : ''}`);
  let sum = 0;
  let n = 0;
  for (const [, text] of series[0]!.values ?? []) {
    const value = parseValue(text);
    if (Number.isNaN(value)) continue;
    if (!Number.isFinite(value)) throw new Permanent(`returned ${value > 0 ? '+Inf' : '-Inf'} at some step, which cannot be averaged`);
    sum += value;
    n += 1;
  }
  return n === 0 ? null : sum / n;
}

function countOf(data: PromData): number | null {
  const values = data.resultType === 'scalar' ? [parseValue((data.result as [number, string])[1])] : seriesOf(data, 'vector').map((s) => parseValue(s.value?.[1]));
  if (values.length === 0) return null;
  let total = 0;
  for (const value of values) {
    if (!Number.isFinite(value)) throw new Permanent(`returned ${Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf'}, not a count`);
    total += value;
  }
  return total;
}

function histogramOf(data: PromData): LatencyHistogram | null {
  const series = seriesOf(data, 'vector');
  if (series.length === 0) return null;
  const byLe = new Map<number, number>();
  for (const s of series) {
    const le = s.metric?.le;
    if (le === undefined) throw new Permanent(`returned a series without an "le" label (${labelsOf(s)}); the histogram query must return classic buckets, e.g. sum by (le) (increase(..._bucket[{{window}}]))`);
    const bound = parseValue(le);
    if (Number.isNaN(bound)) throw new Permanent(`returned le="${le}", not a bucket bound`);
    const count = parseValue(s.value?.[1]);
    if (!Number.isFinite(count)) throw new Permanent(`returned ${Number.isNaN(count) ? 'NaN' : count} for bucket le="${le}", not a count`);
    byLe.set(bound, (byLe.get(bound) ?? 0) + count);
  }
  const buckets: CumulativeBucket[] = [...byLe].map(([le, count]) => ({ le, count }));
  try {
    return fromCumulativeBuckets(buckets);
  } catch (error) {
    throw new Permanent((error as Error).message);
  }
}
