/**
 * Latency distributions of the simulation, as CDFs, and their bucket probabilities over
 * FINE_LATENCY_BOUNDS (what the embedded router reports).
 *
 * - `lognormal-0.6`, `lognormal-1.0`: lognormal(μ = ln 0.1 s, σ).
 * - `pareto-tail`: lognormal(μ = ln 0.1 s, σ 0.6) body up to its p95 (≈ 0.268 s), Pareto(α = 2)
 *   tail above it: P(X > x) = 0.05·(x / p95)^−2 (finite mean, infinite variance; p99 ≈ 0.60 s,
 *   p99.9 ≈ 1.9 s).
 * Canary changes: `x1.1` / `x1.5` multiply every latency; `tail1.5` multiplies only values above
 * the baseline's p98 by 1.5 (so nothing lands between p98 and 1.5·p98). The shared incident
 * multiplies both arms' latencies by 2 on top of that.
 */
import { bucketIndex, FINE_LATENCY_BOUNDS } from '../../src/core/analysis/histogram.js';

export type LatencyFamily = 'lognormal-0.6' | 'lognormal-1.0' | 'pareto-tail';
export type LatencyChange = 'none' | 'x1.1' | 'x1.5' | 'tail1.5';

export const BOUNDS: readonly number[] = FINE_LATENCY_BOUNDS;
/** Buckets: one per bound plus the overflow. */
export const BUCKETS = FINE_LATENCY_BOUNDS.length + 1;

const MU = Math.log(0.1);

// The same normal CDF / quantile the Kayenta judge uses (Hart 1968 / West 2005, |error| < 1e-14).
export { normalCdf, normalQuantile } from '../../src/core/analysis/kayenta/normal.js';
import { normalCdf, normalQuantile } from '../../src/core/analysis/kayenta/normal.js';

export type Cdf = (x: number) => number;

export function familyCdf(family: LatencyFamily): Cdf {
  switch (family) {
    case 'lognormal-0.6':
      return (x) => (x <= 0 ? 0 : normalCdf((Math.log(x) - MU) / 0.6));
    case 'lognormal-1.0':
      return (x) => (x <= 0 ? 0 : normalCdf((Math.log(x) - MU) / 1.0));
    case 'pareto-tail': {
      const p95 = Math.exp(MU + 0.6 * normalQuantile(0.95));
      return (x) => (x <= 0 ? 0 : x <= p95 ? normalCdf((Math.log(x) - MU) / 0.6) : 1 - 0.05 * (x / p95) ** -2);
    }
  }
}

/** The q-quantile of a CDF, by bisection on a log scale. */
export function quantileOf(cdf: Cdf, q: number): number {
  let lo = Math.log(1e-9);
  let hi = Math.log(1e6);
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (cdf(Math.exp(mid)) < q) lo = mid;
    else hi = mid;
  }
  return Math.exp(hi);
}

export const scaled = (cdf: Cdf, factor: number): Cdf => (x) => cdf(x / factor);

/** Values above `edge` multiplied by `factor` (> 1); values below unchanged. */
export function tailScaled(cdf: Cdf, edge: number, factor: number): Cdf {
  const atEdge = cdf(edge);
  return (x) => (x <= edge ? cdf(x) : x <= edge * factor ? atEdge : cdf(x / factor));
}

export function changedCdf(family: LatencyFamily, change: LatencyChange): Cdf {
  const base = familyCdf(family);
  switch (change) {
    case 'none':
      return base;
    case 'x1.1':
      return scaled(base, 1.1);
    case 'x1.5':
      return scaled(base, 1.5);
    case 'tail1.5':
      return tailScaled(base, quantileOf(base, 0.98), 1.5);
  }
}

/** P(bucket i) over BOUNDS (the last entry is the overflow above the last bound). */
export function bucketProbabilities(cdf: Cdf): Float64Array {
  const probabilities = new Float64Array(BUCKETS);
  let previous = 0;
  for (let i = 0; i < BOUNDS.length; i++) {
    const at = cdf(BOUNDS[i]!);
    probabilities[i] = Math.max(0, at - previous);
    previous = at;
  }
  probabilities[BOUNDS.length] = Math.max(0, 1 - previous);
  return probabilities;
}

/**
 * "Slow" requests for the bad-request count of latency scenarios: those in buckets above the first
 * bound ≥ the baseline's true p99 (so "slower than the baseline p99" at bucket resolution, ≤ 9%).
 * Returns the index of the first bucket counted as slow.
 */
export function slowBucketFrom(family: LatencyFamily): number {
  const p99 = quantileOf(familyCdf(family), 0.99);
  return bucketIndex(BOUNDS, p99) + 1;
}
