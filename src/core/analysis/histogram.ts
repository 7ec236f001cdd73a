/**
 * Latency histograms as judges receive them (see `LatencyHistogram` in types.ts): helpers to build
 * one from raw values, merge, count exceedances and read quantiles. Pure.
 */
import type { LatencyHistogram } from './types.js';

/**
 * The embedded router's fine layout: upper bounds from 100 µs to ~105 s, 8 buckets per doubling
 * (each bound 2^(1/8) ≈ 9% above the previous), 161 bounds. Fine enough that quantile edges and
 * log-latency moments read from it are within ~4.5% of the raw values.
 */
export const FINE_LATENCY_BOUNDS: readonly number[] = Object.freeze(
  Array.from({ length: 161 }, (_, i) => Number((1e-4 * 2 ** (i / 8)).toPrecision(6))),
);

/** Index of the bucket holding `value` (seconds): the first bound ≥ value, or bounds.length (overflow). */
export function bucketIndex(bounds: readonly number[], value: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bounds[mid]! >= value) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** A histogram of raw latencies (seconds) over `bounds` (default FINE_LATENCY_BOUNDS). */
export function histogramOf(values: readonly number[], bounds: readonly number[] = FINE_LATENCY_BOUNDS): LatencyHistogram {
  const counts = new Array<number>(bounds.length + 1).fill(0);
  for (const value of values) counts[bucketIndex(bounds, value)]! += 1;
  return { bounds: [...bounds], counts };
}

export function histogramTotal(histogram: LatencyHistogram): number {
  let total = 0;
  for (const count of histogram.counts) total += count;
  return total;
}

/** Requests above `edge` seconds, exact when `edge` is one of the histogram's bounds. */
export function countAbove(histogram: LatencyHistogram, edge: number): number {
  let above = 0;
  const { bounds, counts } = histogram;
  for (let i = 0; i < counts.length; i++) {
    const lower = i === 0 ? 0 : bounds[i - 1]!;
    if (lower >= edge) above += counts[i]!;
  }
  return above;
}

/** The smallest bound whose cumulative share reaches `q` (an upper estimate of the q-quantile); null when empty. */
export function quantileBound(histogram: LatencyHistogram, q: number): number | null {
  const total = histogramTotal(histogram);
  if (total === 0) return null;
  let cumulative = 0;
  for (let i = 0; i < histogram.bounds.length; i++) {
    cumulative += histogram.counts[i]!;
    if (cumulative >= q * total) return histogram.bounds[i]!;
  }
  return histogram.bounds[histogram.bounds.length - 1] ?? null;
}

/** Sum of two histograms with the same bounds (throws when the bounds differ). */
export function mergeHistograms(a: LatencyHistogram, b: LatencyHistogram): LatencyHistogram {
  if (a.bounds.length !== b.bounds.length || a.bounds.some((bound, i) => bound !== b.bounds[i])) throw new Error('histograms have different bucket bounds');
  return { bounds: [...a.bounds], counts: a.counts.map((count, i) => count + (b.counts[i] ?? 0)) };
}

/**
 * Count, sum and sum of squares of ln(latency), each request placed at its bucket's geometric
 * midpoint (the overflow at the last bound, the first bucket at half its bound).
 */
export function logMoments(histogram: LatencyHistogram): { count: number; sum: number; sumSquares: number } {
  const { bounds, counts } = histogram;
  let count = 0;
  let sum = 0;
  let sumSquares = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i]!;
    if (n === 0) continue;
    const upper = i < bounds.length ? bounds[i]! : bounds[bounds.length - 1]!;
    const lower = i === 0 ? upper / 2 : bounds[i - 1]!;
    const point = i < bounds.length ? Math.log(Math.sqrt(lower * upper)) : Math.log(upper);
    count += n;
    sum += n * point;
    sumSquares += n * point * point;
  }
  return { count, sum, sumSquares };
}
