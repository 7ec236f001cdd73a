/**
 * The latency location-shift test: is the canary's log-latency shifted up against the baseline's?
 * A mixture sequential probability ratio test (mSPRT; Robbins 1970, Johari et al. "Always valid
 * inference", KDD 2017 / Operations Research 2022; research doc §1 "Difference of means") on
 * per-window differences of mean log-latency, so exp(θ) is the ratio of geometric-mean latencies.
 *
 * Per window w: d_w = mean ln(latency) of the canary − that of the baseline, with variance
 * v_w = σ̂_c²/n_c + σ̂_b²/n_b. Differencing inside the window cancels whatever moves both arms
 * (load swings, shared incidents). With Z = Σ d_w/v_w and I = Σ 1/v_w the log-likelihood ratio
 * of a shift θ is θZ − θ²I/2, and mixing θ over a half-normal N(0, τ²) prior on θ > 0 gives
 *   Λ = 2 (1+τ²I)^{-1/2} exp(τ²Z² / (2(1+τ²I))) Φ(τZ / √(1+τ²I)),
 * a nonnegative supermartingale under θ ≤ 0 (each component has expectation exp(θ'θ/v) ≤ 1).
 *
 * Validity caveat: σ̂ is a plug-in (within-window variance of log-latency accumulated so far, per
 * arm), so the test is valid only approximately, for large counts; bucket midpoints (histogram.ts
 * `logMoments`) also coarsen it. The exceedance tests (counts.ts on "latency > edge") are the
 * exactly valid latency tests; this one adds power for whole-distribution shifts. Per-arm
 * variances (Welch) rather than one pooled σ̂ keep a noisier but not slower canary (variance-only
 * change, mostly at a 10% share) from looking like a shift; with equal variances they coincide.
 */
import { logNormalCdf } from './math.js';
import type { RatioEvidence } from './counts.js';

/** ln-latency moments of one arm in one window, as histogram.ts `logMoments` returns them. */
export type LogMoments = { count: number; sum: number; sumSquares: number };

/** Within-window sum of squares of ln-latency and its degrees of freedom, accumulated over windows. */
export type ArmSpread = { requests: number; sumSquares: number; df: number };

/** Running state of the shift test. */
export type ShiftTestState = { z: number; info: number; canary: ArmSpread; baseline: ArmSpread };

/*
 * τ = ln 1.1: a normal mixture's boundary is tightest at the information I* where
 * τ² = (2 ln(1/α) + ln(1 + 2 ln(1/α))) / I* (confseq `TwoSidedNormalMixture` tuning; research doc
 * §1), and a shift θ is detected once θ²I ≈ 2 ln(1/α) + ln(1 + τ²I). Solving both at the same I
 * gives τ ≈ θ within a few percent for every α in 0.001..0.1. So τ = ln 1.1 makes the test
 * sharpest for ~10% shifts in geometric-mean latency, the default tolerance; larger shifts are
 * still caught within a window or two because the likelihood then dominates the prior.
 */
export const SHIFT_TAU = Math.log(1.1);
const TAU2 = SHIFT_TAU * SHIFT_TAU;

/** Floor of the plug-in variance of ln-latency (σ ≥ 0.01), so one-bucket data cannot make v_w zero. */
export const SHIFT_VARIANCE_FLOOR = 1e-4;

/** A shift test with no evidence yet. */
export function createShiftTest(): ShiftTestState {
  const arm = (): ArmSpread => ({ requests: 0, sumSquares: 0, df: 0 });
  return { z: 0, info: 0, canary: arm(), baseline: arm() };
}

function addSpread(spread: ArmSpread, moments: LogMoments): ArmSpread {
  const n = moments.count;
  if (!(n > 0)) return spread;
  const ss = Math.max(0, moments.sumSquares - (moments.sum * moments.sum) / n);
  return { requests: spread.requests + n, sumSquares: spread.sumSquares + ss, df: spread.df + n - 1 };
}

const varianceOf = (spread: ArmSpread): number | null => (spread.df > 0 ? Math.max(SHIFT_VARIANCE_FLOOR, spread.sumSquares / spread.df) : null);

/**
 * Adds one window (pure; O(1)). A window where an arm had no request, or before any arm has a
 * variance estimate, only updates the totals.
 */
export function updateShiftTest(state: ShiftTestState, canary: LogMoments, baseline: LogMoments): ShiftTestState {
  const c = addSpread(state.canary, canary);
  const b = addSpread(state.baseline, baseline);
  const next: ShiftTestState = { z: state.z, info: state.info, canary: c, baseline: b };
  if (!(canary.count > 0 && baseline.count > 0)) return next;
  const varC = varianceOf(c);
  const varB = varianceOf(b);
  // An arm without a variance yet borrows the other's: the floor alone would overstate precision.
  const sc = varC ?? varB;
  const sb = varB ?? varC;
  if (sc === null || sb === null) return next;
  const d = canary.sum / canary.count - baseline.sum / baseline.count;
  const v = sc / canary.count + sb / baseline.count;
  next.z += d / v;
  next.info += 1 / v;
  return next;
}

/**
 * The one-sided mixture's critical value: the S ≥ 0 with ln Λ(S) = ln(1/α), where
 * ln Λ(S) = ln 2 − ½ ln(1+τ²I) + s²/2 + ln Φ(s), s = τS/√(1+τ²I), is increasing in s
 * (d/ds [s²/2 + ln Φ(s)] = (sΦ(s) + φ(s))/Φ(s) > 0). Bisection: 60 steps, O(1).
 */
function criticalS(info: number, alpha: number): number {
  const spread = 1 + TAU2 * info;
  const target = Math.log(1 / alpha) - Math.log(2) + 0.5 * Math.log(spread);
  let lo = 0;
  let hi = Math.sqrt(2 * Math.max(target, 0)) + 2;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if ((mid * mid) / 2 + logNormalCdf(mid) < target) lo = mid;
    else hi = mid;
  }
  return (hi * Math.sqrt(spread)) / SHIFT_TAU;
}

/**
 * The evidence of the shift test at level α. The e-value is the one-sided half-normal mixture
 * above. The bounds for exp(θ) are the same one-sided mixture centred at θ0 (S = Z − θ0·I for
 * the lower bound, θ0·I − Z for the upper): each is a confidence sequence at α (Robbins 1970;
 * Howard et al. 2021, "Time-uniform, nonparametric, nonasymptotic confidence sequences"), so the
 * alarm is exactly "lower bound > 1" and `pass` (upper ≤ 1 + tolerance) is a one-sided claim at α.
 */
export function shiftTestEvidence(state: ShiftTestState, alpha: number, margin = 0): RatioEvidence {
  const { z, info } = state;
  if (!(info > 0)) return { logE: 0, estimate: 1, lower: 0, upper: null };
  const spread = 1 + TAU2 * info;
  // Against "θ ≤ margin": the same one-sided mixture centred at the margin (S = Z − margin·I).
  const s = z - margin * info;
  const logE = Math.log(2) - 0.5 * Math.log(spread) + (TAU2 * s * s) / (2 * spread) + logNormalCdf((SHIFT_TAU * s) / Math.sqrt(spread));
  const half = criticalS(info, alpha) / info;
  const theta = z / info;
  return { logE, estimate: Math.exp(theta), lower: Math.exp(theta - half), upper: Math.exp(theta + half) };
}
