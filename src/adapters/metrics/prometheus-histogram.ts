/**
 * Prometheus classic histograms (cumulative `le` buckets) as analysis reads them: a
 * `LatencyHistogram` (non-cumulative counts, the `+Inf` bucket as the overflow) and a latency
 * summary read from the buckets the way PromQL's `histogram_quantile` does. Pure.
 */
import type { LatencyHistogram, LatencySummary } from '../../core/analysis/types.js';

/** One cumulative bucket: requests with latency ≤ `le` seconds. */
export interface CumulativeBucket {
  le: number;
  count: number;
}

/**
 * Cumulative buckets (any order; one per `le`) → non-cumulative histogram with ascending finite
 * bounds and the `+Inf` count as the overflow. Like `histogram_quantile`, a cumulative count below
 * the previous bucket's (possible when `increase()` extrapolates each bucket separately) is raised
 * to it. Returns null when the histogram is empty (total 0): no data. Throws when there is no
 * `+Inf` bucket.
 */
export function fromCumulativeBuckets(buckets: readonly CumulativeBucket[]): LatencyHistogram | null {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  if (sorted.length === 0 || sorted[sorted.length - 1]!.le !== Infinity) throw new Error('the histogram has no le="+Inf" bucket');
  const bounds: number[] = [];
  const counts: number[] = [];
  let previous = 0;
  for (const bucket of sorted) {
    const cumulative = Math.max(bucket.count, previous);
    counts.push(cumulative - previous);
    if (bucket.le !== Infinity) bounds.push(bucket.le);
    previous = cumulative;
  }
  if (previous <= 0) return null;
  return { bounds, counts };
}

/**
 * The q-quantile by linear interpolation within its bucket, as `histogram_quantile`: the first
 * bucket starts at 0 (unless its bound is ≤ 0), and a quantile in the overflow is the highest finite
 * bound. null when the histogram is empty or has no finite bound.
 */
export function histogramQuantile(histogram: LatencyHistogram, q: number): number | null {
  const { bounds, counts } = histogram;
  if (bounds.length === 0) return null;
  let total = 0;
  for (const count of counts) total += count;
  if (total <= 0) return null;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < bounds.length; i++) {
    const count = counts[i]!;
    if (cumulative + count >= rank && count > 0) {
      const upper = bounds[i]!;
      if (i === 0 && upper <= 0) return upper;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      return lower + (upper - lower) * ((rank - cumulative) / count);
    }
    cumulative += count;
  }
  return bounds[bounds.length - 1]!;
}

/**
 * Latency summary of a histogram, in seconds: quantiles as `histogramQuantile`; `mean` with each
 * request at its bucket's midpoint (Prometheus's `_sum` is not part of a bucket query), the overflow
 * at the highest finite bound; `max` the highest finite bound holding data (the highest finite
 * bound when the overflow holds any). null when empty or without a finite bound.
 */
export function summarizeHistogram(histogram: LatencyHistogram): LatencySummary | null {
  const { bounds, counts } = histogram;
  if (bounds.length === 0) return null;
  let total = 0;
  let weighted = 0;
  let highest = -1;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i]!;
    if (count <= 0) continue;
    const finite = Math.min(i, bounds.length - 1);
    const upper = bounds[finite]!;
    const lower = i === 0 ? Math.min(0, upper) : bounds[i - 1]!;
    const point = i < bounds.length ? (lower + upper) / 2 : upper;
    total += count;
    weighted += count * point;
    highest = finite;
  }
  if (total <= 0) return null;
  const q = (p: number) => histogramQuantile(histogram, p)!;
  return { mean: weighted / total, p50: q(0.5), p90: q(0.9), p95: q(0.95), p99: q(0.99), max: bounds[highest]! };
}
