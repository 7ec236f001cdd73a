/** Prometheus-style reading of a latency histogram (what Flagger, Argo and Kayenta queries return). */
import { BOUNDS as IMPORTED_BOUNDS } from '../distributions.js';

const BOUNDS: readonly number[] = IMPORTED_BOUNDS;
const NB = BOUNDS.length + 1;

/**
 * `histogram_quantile(q, …)` over a histogram with FINE_LATENCY_BOUNDS: linear interpolation inside
 * the bucket holding rank q·total (the first bucket from 0), the last finite bound when the rank
 * falls in +Inf; NaN when the histogram is empty.
 */
export function histogramQuantile(counts: readonly number[], q: number): number {
  let total = 0;
  for (let i = 0; i < NB; i++) total += counts[i]!;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < BOUNDS.length; i++) {
    const count = counts[i]!;
    if (cumulative + count >= rank && count > 0) {
      const lower = i === 0 ? 0 : BOUNDS[i - 1]!;
      const upper = BOUNDS[i]!;
      return lower + ((upper - lower) * (rank - cumulative)) / count;
    }
    cumulative += count;
  }
  return BOUNDS[BOUNDS.length - 1]!;
}
