/**
 * Seeded simulation helpers for the sequential judge's tests: a PRNG, exact Poisson draws and
 * lognormal latency histograms. No dependency, deterministic for a given seed.
 */
import { mulberry32 } from '../../../../src/core/analysis/kayenta/random.js';
import { FINE_LATENCY_BOUNDS, bucketIndex } from '../../../../src/core/analysis/histogram.js';
import type { LatencyHistogram, MetricJudgeConfig, MetricSpec, Sample } from '../../../../src/core/analysis/types.js';

/** Seeded uniform [0, 1) numbers: the judge's own mulberry32. */
export const prng = mulberry32;

/** Standard normal (Box-Muller). */
export function normal(random: () => number): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

const LOG_FACTORIALS = [0, 0, 0.6931471805599453, 1.791759469228055, 3.1780538303479458, 4.787491742782046, 6.579251212010101, 8.525161361065415, 10.60460290274525, 12.801827480081469];
function logFactorial(k: number): number {
  if (k < 10) return LOG_FACTORIALS[k]!;
  const x = k + 1;
  // Stirling series for ln Γ(x), plenty for k ≥ 10.
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * x ** 3) + 1 / (1260 * x ** 5);
}

/** Exact Poisson draw: Knuth's product method below 10, Hörmann's PTRS (1993, as in numpy) above. */
export function poisson(random: () => number, mean: number): number {
  if (mean <= 0) return 0;
  if (mean < 10) {
    const limit = Math.exp(-mean);
    let k = 0;
    let product = random();
    while (product > limit) {
      k += 1;
      product *= random();
    }
    return k;
  }
  const slam = Math.sqrt(mean);
  const loglam = Math.log(mean);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invalpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const U = random() - 0.5;
    const V = random();
    const us = 0.5 - Math.abs(U);
    const k = Math.floor(((2 * a) / us + b) * U + mean + 0.43);
    if (us >= 0.07 && V <= vr) return k;
    if (k < 0 || (us < 0.013 && V > us)) continue;
    if (Math.log(V) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -mean + k * loglam - logFactorial(k)) return k;
  }
}

/**
 * A histogram of `n` lognormal latencies (median `median` s, log-sd `sigma`) over
 * FINE_LATENCY_BOUNDS; `transform` maps each raw latency (e.g. a tail-only slowdown).
 */
export function lognormalHistogram(random: () => number, n: number, median: number, sigma: number, transform: (x: number) => number = (x) => x): LatencyHistogram {
  const counts = new Array<number>(FINE_LATENCY_BOUNDS.length + 1).fill(0);
  const mu = Math.log(median);
  for (let i = 0; i < n; i++) counts[bucketIndex(FINE_LATENCY_BOUNDS, transform(Math.exp(mu + sigma * normal(random))))]! += 1;
  return { bounds: [...FINE_LATENCY_BOUNDS], counts };
}

/** A Sample with counts (and optionally a histogram). */
export function countSample(requests: number, errors: number, histogram?: LatencyHistogram | null): Sample {
  return { requests, errors, errorRate: requests > 0 ? errors / requests : null, latency: null, ...(histogram !== undefined ? { histogram } : {}) };
}

export const errorMetric: MetricSpec = { name: 'errors', provider: { builtin: { metric: 'errorRate' } }, noDataPolicy: 'pause' };
export const latencyMetric: MetricSpec = { name: 'latency', provider: { builtin: { metric: 'latency' } }, noDataPolicy: 'pause' };

/** Sequential settings as metricJudgeConfigs resolves them for one metric. */
export function sequentialConfig(overrides: Partial<Extract<MetricJudgeConfig, { kind: 'sequential' }>> = {}): Extract<MetricJudgeConfig, { kind: 'sequential' }> {
  return { kind: 'sequential', alpha: 0.05, templateAlpha: 0.05, tolerance: 0.1, quantiles: [0.5, 0.9, 0.99], edgeSamples: 500, ...overrides };
}
