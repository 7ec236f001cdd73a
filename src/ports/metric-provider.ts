/** Where analysis reads its numbers: the embedded router's own counters, or Prometheus. */
import type { LatencyHistogram } from '../core/analysis/types.js';

export interface MetricProviderCapabilities {
  /** Returns latency quantiles. */
  readonly latency: boolean;
  /** Can answer for an arbitrary past window (not only "since the canary started"). */
  readonly windows: boolean;
}

export interface MetricWindow {
  /** Inclusive start, ms since epoch. */
  startMs: number;
  /** Exclusive end, ms since epoch. */
  endMs: number;
}

/** What one version did in a window. */
export interface VersionSample {
  requests: number;
  /** Responses counted as errors (5xx and connection failures). */
  errors: number;
  /** errors / requests; null when requests is 0 (or when the provider was not asked for errors). */
  errorRate: number | null;
  /** Latency in seconds; null when no request finished in the window (or latency was not asked for). */
  latency: { mean: number; p50: number; p90: number; p95: number; p99: number; max: number } | null;
  /** For providers that answer a single number (e.g. a PromQL query). */
  value?: number | null;
  /**
   * Latency distribution in the window (non-cumulative counts per ascending upper bound in seconds,
   * the last count above the last bound), for judges that test distributions. Absent or null when
   * the provider has none.
   */
  histogram?: LatencyHistogram | null;
}

/**
 * Query templates of a provider that runs queries (Prometheus: PromQL). Each is rendered once per
 * arm with the placeholders `{{version}}`, `{{arm}}`, `{{window}}`, `{{service}}` and `{{args.NAME}}`.
 */
export interface MetricQueries {
  /** One number per version (`VersionSample.value`). */
  value?: string;
  /** Number of requests in the window. */
  requests?: string;
  /** Number of errors (bad events) in the window. */
  errors?: string;
  /** Classic histogram buckets by `le` (cumulative, as Prometheus keeps them) over the window. */
  histogram?: string;
}

export interface MetricQuery {
  /**
   * Provider-specific metric: `errorRate`, `latency`, `requestRate`, or a query string. When
   * `queries` is given, a name for messages only (e.g. `template/metric`).
   */
  metric: string;
  window: MetricWindow;
  /** Versions to report on, e.g. { baseline: "2.0.0", canary: "2.1.0" }. */
  versions: { baseline: string; canary: string };
  /** Query templates (providers that run queries); absent: `metric` says what to measure. */
  queries?: MetricQueries;
  /** Evaluate the `value` query over the window at this step (ms) and average it; absent: one instant query at the window's end. */
  stepMs?: number;
  /** Per-request timeout (ms) overriding the provider's. */
  timeoutMs?: number;
  /** Retries after a failed request (network error, 5xx, timeout) overriding the provider's. */
  retries?: number;
  /** The service being rolled out (`{{service}}`). */
  service?: string;
  /** The analysis run's resolved arguments (`{{args.NAME}}`). */
  args?: Record<string, string>;
}

export interface MetricProvider {
  readonly capabilities: MetricProviderCapabilities;
  /**
   * Samples for baseline and canary in the window. Safe to repeat; no side effects (queries only
   * read). A null sample means no data for that version in the window — nothing was counted for it,
   * which judges treat as "no data", never as zero requests or a zero error rate. A provider that
   * cannot answer (unreachable, bad query, malformed result) throws; the error names what failed.
   */
  query(query: MetricQuery): Promise<{ baseline: VersionSample | null; canary: VersionSample | null }>;
}
