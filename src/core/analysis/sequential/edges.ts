/**
 * Quantile edges of the exceedance tests (research doc §4, "O(1) streaming approximation"):
 * baseline latency quantiles fixed once, after which "latency > edge" is a per-request event
 * tested with the conditional count test (counts.ts). That is exactly valid and O(buckets) per
 * window, where a confidence band on the whole quantile function is far too wide at p99.
 *
 * The edges come from baseline data only and are used from the window AFTER they were fixed:
 * testing on the data that chose an edge would bias the baseline's exceedance share down (an
 * edge at the baseline's own empirical p99 has at most 1% above it by construction), which
 * would make an equal canary look worse. Later windows are independent of the edges.
 */
import { countAbove, histogramTotal, mergeHistograms, quantileBound } from '../histogram.js';
import type { LatencyHistogram } from '../types.js';
import type { CountWindow } from './counts.js';

/** Collecting baseline histograms until `edgeSamples` requests, then the fixed edges (seconds, one per quantile). */
export type EdgeState = { phase: 'collecting'; bounds: number[]; counts: number[] } | { phase: 'fixed'; edges: number[] };

/** Edges not yet fixed, nothing collected. */
export function createEdgeState(): EdgeState {
  return { phase: 'collecting', bounds: [], counts: [] };
}

const sameBounds = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((bound, i) => bound === b[i]);

/**
 * Adds a baseline window to the collection (pure; O(buckets)); fixes the edges at the bucket
 * bounds `quantileBound` gives once at least `edgeSamples` requests are collected. Bounds that
 * change between windows (a re-configured Prometheus histogram) restart the collection: buckets
 * of different layouts cannot be added exactly.
 */
export function collectBaseline(state: EdgeState, baseline: LatencyHistogram, quantiles: readonly number[], edgeSamples: number): EdgeState {
  if (state.phase === 'fixed') return state;
  const collected: LatencyHistogram =
    state.counts.length > 0 && sameBounds(state.bounds, baseline.bounds)
      ? mergeHistograms({ bounds: state.bounds, counts: state.counts }, baseline)
      : { bounds: [...baseline.bounds], counts: [...baseline.counts] };
  if (histogramTotal(collected) < Math.max(1, edgeSamples)) return { phase: 'collecting', bounds: collected.bounds, counts: collected.counts };
  const edges: number[] = [];
  for (const q of quantiles) {
    const edge = quantileBound(collected, q);
    if (edge === null) return { phase: 'collecting', bounds: collected.bounds, counts: collected.counts };
    edges.push(edge);
  }
  return { phase: 'fixed', edges };
}

/**
 * The smallest bucket bound ≥ `edge` present in both layouts (`edge` itself when both have it), so
 * both arms' counts above it are exact. Using a slightly higher edge in a window keeps the test
 * valid: under "the canary is no slower" its exceedance share is no higher at any edge.
 */
export function commonEdge(edge: number, a: readonly number[], b: readonly number[]): number | null {
  // Both are ascending: walk them together (no allocation; this runs per edge per window).
  let i = 0;
  let j = 0;
  while (i < a.length && a[i]! < edge) i++;
  while (j < b.length && b[j]! < edge) j++;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) return a[i]!;
    if (a[i]! < b[j]!) i++;
    else j++;
  }
  return null;
}

/**
 * One window of an exceedance test: exposure = requests with a recorded latency, events = those
 * above the edge. Null when the two histograms share no bound at or above the edge.
 */
export function exceedanceWindow(edge: number, canary: LatencyHistogram, baseline: LatencyHistogram): CountWindow | null {
  const at = commonEdge(edge, canary.bounds, baseline.bounds);
  if (at === null) return null;
  return {
    canary: { requests: histogramTotal(canary), events: countAbove(canary, at) },
    baseline: { requests: histogramTotal(baseline), events: countAbove(baseline, at) },
  };
}
