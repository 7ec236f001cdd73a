/**
 * Per-version request statistics of the embedded data plane.
 *
 * Two views are kept, both updated on every finished request:
 * - per version, a ring of 1-second buckets (request count, error count and an HDR latency
 *   histogram each) covering the retention period, plus cumulative totals. Any window
 *   [start, end) inside the retention is answered by merging its buckets;
 * - per (version, arm), Prometheus counters: requests by status class and a classic latency
 *   histogram, rendered by `renderPrometheus`.
 *
 * Window resolution is one second. A bucket holds what finished during its second and belongs to a
 * window when the second's END lies in (startMs, endMs]: only complete seconds are counted, so a
 * window never sees a bucket still filling up; consecutive windows [a, b) and [b, c) share no
 * bucket and leave none out, whatever their alignment; a window reports at most one second late.
 *
 * The hot path (`record`) allocates nothing once a bucket's histogram exists: bucket histograms are
 * reset and reused as the ring wraps.
 */
import { build, type Histogram } from 'hdr-histogram-js';

export type Arm = 'stable' | 'canary';

/** Latency is recorded in microseconds, 1 µs .. 60 s at 2 significant digits (≤ 1% error). */
const LOWEST_US = 1;
const HIGHEST_US = 60_000_000;
const SIGNIFICANT_DIGITS = 2;

/** Default retention of the 1-second buckets: 15 minutes. */
export const DEFAULT_RETENTION_SECONDS = 900;

/** Upper bounds (seconds) of the classic Prometheus histogram, covering 1 ms .. 10 s. */
export const PROMETHEUS_LATENCY_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** A fresh, empty latency histogram with the proxy's layout (values in microseconds). */
export function newLatencyHistogram(): Histogram {
  return build({
    bitBucketSize: 32,
    autoResize: false,
    lowestDiscernibleValue: LOWEST_US,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: SIGNIFICANT_DIGITS,
  });
}

function toMicros(seconds: number): number {
  const us = Math.round(seconds * 1e6);
  return us < LOWEST_US ? LOWEST_US : us > HIGHEST_US ? HIGHEST_US : us;
}

/** Latency quantiles in seconds. */
export interface LatencySummary {
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

/** What one version did in a window (or since the proxy started). */
export interface WindowStats {
  requests: number;
  /** 5xx responses, including the proxy's own 502 for an unreachable upstream. */
  errors: number;
  /** null when no request finished in the window. */
  latency: LatencySummary | null;
  /** The merged latency histogram (microseconds); a fresh copy the caller may keep. */
  histogram: Histogram;
}

export function summarize(histogram: Histogram): LatencySummary | null {
  if (histogram.totalCount === 0) return null;
  const max = histogram.maxValue / 1e6;
  const at = (p: number) => Math.min(histogram.getValueAtPercentile(p) / 1e6, max);
  return { mean: histogram.mean / 1e6, p50: at(50), p90: at(90), p95: at(95), p99: at(99), max };
}

class SecondBucket {
  second = -1;
  requests = 0;
  errors = 0;
  histogram: Histogram | null = null;
}

/** The 1-second buckets and totals of one version. */
export class VersionStats {
  /** The last second a request was recorded in (-1: never). */
  lastSecond = -1;
  totalRequests = 0;
  totalErrors = 0;
  readonly totalHistogram: Histogram = newLatencyHistogram();
  private readonly ring: SecondBucket[];

  constructor(
    readonly version: string,
    ringSize: number,
    /** The second these stats were created in. */
    readonly createdSecond: number,
  ) {
    this.ring = Array.from({ length: ringSize }, () => new SecondBucket());
  }

  /** Hot path. */
  record(second: number, error: boolean, micros: number): void {
    const ring = this.ring;
    const bucket = ring[second % ring.length]!;
    if (bucket.second !== second) {
      bucket.second = second;
      bucket.requests = 0;
      bucket.errors = 0;
      if (bucket.histogram !== null) bucket.histogram.reset();
    }
    if (bucket.histogram === null) bucket.histogram = newLatencyHistogram();
    this.lastSecond = second;
    bucket.requests++;
    this.totalRequests++;
    if (error) {
      bucket.errors++;
      this.totalErrors++;
    }
    bucket.histogram.recordValue(micros);
    this.totalHistogram.recordValue(micros);
  }

  /** Merges the buckets of seconds firstSecond..lastSecond (inclusive). */
  merge(firstSecond: number, lastSecond: number): WindowStats {
    const histogram = newLatencyHistogram();
    let requests = 0;
    let errors = 0;
    for (let s = firstSecond; s <= lastSecond; s++) {
      const bucket = this.ring[s % this.ring.length]!;
      if (bucket.second !== s || bucket.requests === 0) continue;
      requests += bucket.requests;
      errors += bucket.errors;
      if (bucket.histogram !== null) histogram.add(bucket.histogram);
    }
    return { requests, errors, latency: summarize(histogram), histogram };
  }
}

const CODE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'other'] as const;

/** Prometheus counters of one (version, arm). */
export class SeriesStats {
  /** Requests by status class, indexed like CODE_CLASSES. */
  readonly codes = new Float64Array(CODE_CLASSES.length);
  /** Non-cumulative counts per PROMETHEUS_LATENCY_BUCKETS bound; the last slot is +Inf. */
  readonly buckets = new Float64Array(PROMETHEUS_LATENCY_BUCKETS.length + 1);
  sum = 0;
  count = 0;

  constructor(
    readonly version: string,
    readonly arm: Arm,
  ) {}

  /** Hot path. */
  observe(status: number, seconds: number): void {
    const cls = (status / 100) | 0;
    this.codes[cls >= 1 && cls <= 5 ? cls - 1 : 5]!++;
    const bounds = PROMETHEUS_LATENCY_BUCKETS;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    this.buckets[i]!++;
    this.sum += seconds;
    this.count++;
  }
}

export interface ProxyStatsOptions {
  /** Wall clock in ms since epoch; inject a fake one in tests. Default Date.now. */
  now?: () => number;
  /** How long 1-second buckets are kept. Default 900 (15 minutes). */
  retentionSeconds?: number;
}

/** All statistics of one proxy. */
export class ProxyStats {
  readonly now: () => number;
  readonly retentionSeconds: number;
  private readonly ringSize: number;
  private readonly byVersion = new Map<string, VersionStats>();
  private readonly bySeries = new Map<string, SeriesStats>();

  constructor(options: ProxyStatsOptions = {}) {
    this.now = options.now ?? Date.now;
    const retention = options.retentionSeconds ?? DEFAULT_RETENTION_SECONDS;
    if (!Number.isInteger(retention) || retention < 1) throw new RangeError('retentionSeconds must be a positive integer');
    this.retentionSeconds = retention;
    // One spare slot so that the current (partial) second never overwrites the oldest retained one.
    this.ringSize = retention + 2;
  }

  /** The stats of `version`, created on first use (not on the hot path: the proxy resolves it when backends change). */
  versionStats(version: string): VersionStats {
    let stats = this.byVersion.get(version);
    if (!stats) {
      stats = new VersionStats(version, this.ringSize, Math.floor(this.now() / 1000));
      this.byVersion.set(version, stats);
    }
    return stats;
  }

  /** The Prometheus series of (version, arm), created on first use. */
  series(version: string, arm: Arm): SeriesStats {
    const key = `${arm}\u0000${version}`;
    let series = this.bySeries.get(key);
    if (!series) {
      series = new SeriesStats(version, arm);
      this.bySeries.set(key, series);
    }
    return series;
  }

  /** Records one finished request. Hot path: no allocation once the current bucket exists. */
  record(version: VersionStats, series: SeriesStats, status: number, seconds: number): void {
    const second = Math.floor(this.now() / 1000);
    version.record(second, status >= 500, toMicros(seconds));
    series.observe(status, seconds);
  }

  /**
   * Forgets versions not in `keep` that have existed for longer than the retention and recorded
   * nothing within it (their windows are all empty anyway), with their Prometheus series, so a
   * long-lived proxy does not grow with every rollout. Called by the proxy when backends change.
   */
  pruneIdle(keep: ReadonlySet<string>): void {
    const oldest = Math.floor(this.now() / 1000) - this.retentionSeconds;
    for (const [version, stats] of this.byVersion) {
      if (keep.has(version) || stats.lastSecond >= oldest || stats.createdSecond >= oldest) continue;
      this.byVersion.delete(version);
      for (const [key, series] of this.bySeries) if (series.version === version) this.bySeries.delete(key);
    }
  }

  /** Versions that have stats (served, or were routed to, at some point). */
  versions(): string[] {
    return [...this.byVersion.keys()];
  }

  /** Oldest ms (inclusive) a window may start at and still be fully retained. */
  retainedSinceMs(): number {
    const current = Math.floor(this.now() / 1000);
    return (current - this.retentionSeconds + 1) * 1000;
  }

  /**
   * What `version` did in [startMs, endMs), or null when it served no request there (or never).
   * Throws RangeError when the window starts before the retained history.
   */
  window(version: string, startMs: number, endMs: number): WindowStats | null {
    if (!(Number.isFinite(startMs) && Number.isFinite(endMs))) throw new RangeError('window bounds must be finite numbers');
    if (endMs < startMs) throw new RangeError('window end is before its start');
    const retainedSince = this.retainedSinceMs();
    if (Math.floor(startMs / 1000) * 1000 < retainedSince) {
      throw new RangeError(
        `window starts at ${new Date(startMs).toISOString()}, before the retained ${this.retentionSeconds} s of history (since ${new Date(retainedSince).toISOString()})`,
      );
    }
    const stats = this.byVersion.get(version);
    if (!stats) return null;
    // Buckets whose second ends in (startMs, endMs]; never the current, still-filling second.
    const first = Math.max(Math.floor(startMs / 1000), retainedSince / 1000);
    const last = Math.min(Math.floor(endMs / 1000) - 1, Math.floor(this.now() / 1000) - 1);
    if (last < first) return null;
    const merged = stats.merge(first, last);
    return merged.requests === 0 ? null : merged;
  }

  /** Everything `version` did since the proxy started, or null when it served nothing. */
  total(version: string): WindowStats | null {
    const stats = this.byVersion.get(version);
    if (!stats || stats.totalRequests === 0) return null;
    const histogram = newLatencyHistogram();
    histogram.add(stats.totalHistogram);
    return { requests: stats.totalRequests, errors: stats.totalErrors, latency: summarize(histogram), histogram };
  }

  /** All Prometheus series, in creation order. */
  allSeries(): SeriesStats[] {
    return [...this.bySeries.values()];
  }
}

export { CODE_CLASSES };
