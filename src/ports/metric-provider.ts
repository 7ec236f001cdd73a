/** Where analysis reads its numbers: the embedded router's own counters, or Prometheus. */

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
  /** errors / requests; null when requests is 0. */
  errorRate: number | null;
  /** Latency in seconds; null when no request finished in the window. */
  latency: { mean: number; p50: number; p90: number; p95: number; p99: number; max: number } | null;
  /** For providers that answer a single number (e.g. a PromQL query). */
  value?: number | null;
}

export interface MetricQuery {
  /** Provider-specific metric: `errorRate`, `latency`, `requestRate`, or a query string. */
  metric: string;
  window: MetricWindow;
  /** Versions to report on, e.g. { baseline: "2.0.0", canary: "2.1.0" }. */
  versions: { baseline: string; canary: string };
}

export interface MetricProvider {
  readonly capabilities: MetricProviderCapabilities;
  /**
   * Samples for baseline and canary in the window. Safe to repeat; no side effects.
   * A null sample means no data for that version (distinct from zero requests counted).
   */
  query(query: MetricQuery): Promise<{ baseline: VersionSample | null; canary: VersionSample | null }>;
}
