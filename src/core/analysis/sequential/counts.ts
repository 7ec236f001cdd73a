/**
 * The conditional count test: which arm did each event (an error, a request slower than an edge)
 * come from? Lindon & Malek, "Anytime-valid inference for multinomial count data" (NeurIPS 2022,
 * arXiv 2011.03567) and Netflix's "Sequential A/B testing keeps the world streaming, part 2:
 * counting processes"; research doc ../shared/research/canary-statistics.md §1b.
 *
 * Model: canary events occur at e^δ times the baseline's per-request rate. Within window w, with
 * ρ_w the canary's share of requests, an event comes from the canary with probability
 * θ_w(δ) = ρ_w e^δ / (ρ_w e^δ + 1 − ρ_w), and H0 (canary no worse) is δ ≤ 0, i.e. θ_w ≤ ρ_w.
 * Anything that moves both arms' rates together in a window (diurnal load, a shared incident, a
 * dependency outage) cancels from θ_w, because only the split of the window's events is used.
 *
 * Why conditioning on the observed request counts is valid: given the window's requests n_c, n_b
 * and its event total x, under H0 with a common per-request event probability the canary's
 * events x_c are hypergeometric (Poisson events: exactly Binomial(x, ρ_w)). The hypergeometric is
 * dominated in convex order by the binomial with the same mean (Hoeffding 1963, "Probability
 * inequalities for sums of bounded random variables", Theorem 4), and the window's likelihood-
 * ratio factor (θ/ρ)^x_c ((1−θ)/(1−ρ))^x_b is an exponential, hence convex, function of x_c for
 * fixed x. So each factor has expectation ≤ 1 under H0 (= 1 for Poisson events at equal rates;
 * smaller for the alarm's components, δ > 0, when the canary is strictly better, whose events are
 * then stochastically fewer), the product over windows is a nonnegative supermartingale, and so is
 * any fixed-weight mixture of them. Ville's inequality then bounds the chance that the mixture
 * ever reaches 1/α by α, however often it is looked at and however ρ_w changes between windows
 * (ρ_w is known before the window's events are split, so it may depend on anything earlier).
 *
 * The mixture over δ is a fixed grid rather than the Beta-binomial closed form because the
 * closed form needs a constant ρ, and rollout steps change ρ (research doc §1b, "If ρ_t changes").
 */
import { logAdd, logSumExp } from './math.js';

/** Requests and events of one arm (one window, or totals so far). */
export type ArmCounts = { requests: number; events: number };

/** One window's input of a count test. */
export type CountWindow = { canary: ArmCounts; baseline: ArmCounts };

/** Running state of one count test: a log-likelihood ratio per grid point and the totals so far. */
export type CountTestState = { logLR: number[]; canary: ArmCounts; baseline: ArmCounts };

/** What a count test shows now: log e-value of "canary worse" and the rate ratio's anytime-valid interval. */
export interface RatioEvidence {
  /** ln of the one-sided e-value (alarm when ≥ ln(1/α)). */
  logE: number;
  /** Point estimate of the ratio canary/baseline. */
  estimate: number;
  /** Interval for the ratio; `lower` 0 and `upper` null mean unbounded on that side. */
  lower: number;
  upper: number | null;
}

/*
 * The δ grid (δ = log rate ratio canary/baseline): δ = 0.2·sinh(0.08·i), i = −38..42, 81 points
 * covering ratios 0.124..17.8 (about 1/8 to 16). The sinh spacing is ~0.016 wide around 0 and
 * becomes geometric (8% per step) for large |δ|. That matches the width of the likelihood at
 * the moment of an alarm, which is about δ/4 (the alarm needs δ²·info/2 ≈ ln(1/α) + ln(#points)
 * ≈ 8 nats): no effect size falls between two points by more than a fraction of that width, so
 * the grid loses little against a continuous mixture. Small effects (≤ ×1.1, the default
 * tolerance) get fine steps, so the pass interval is not widened by the grid.
 */
const GRID_SCALE = 0.2;
const GRID_STEP = 0.08;
const GRID_FIRST = -38;
const GRID_LAST = 42;

/** The δ grid: ascending, 81 points, δ = 0 (ratio 1) among them. */
export const DELTA_GRID: readonly number[] = Object.freeze(
  Array.from({ length: GRID_LAST - GRID_FIRST + 1 }, (_, i) => GRID_SCALE * Math.sinh(GRID_STEP * (GRID_FIRST + i))),
);
const ZERO_INDEX = -GRID_FIRST;
const EXPM1_GRID: readonly number[] = DELTA_GRID.map((delta) => Math.expm1(delta));

/*
 * Mixture weights: equal for every grid point, i.e. uniform in the sinh coordinate. That prior is
 * flat in δ near 0 and log-uniform in δ beyond ±0.2: every relative effect size from ×1.2 to ×16
 * costs the same ~ln(42) nats, so neither a ×1.1 tail drift nor a ×10 outage is favoured over
 * the other. The alarm mixes the 42 points with δ > 0 (weights 1/42, summing to 1: one-sided).
 * Each bound of the interval is the same construction around another grid point δ_k: the lower
 * bound mixes the points above δ_k, the upper bound those below it, equally weighted.
 */
const FIRST_POSITIVE = ZERO_INDEX + 1;
const LOG_FAIL_WEIGHT = -Math.log(DELTA_GRID.length - FIRST_POSITIVE);

/** A count test with no evidence yet. */
export function createCountTest(): CountTestState {
  return { logLR: new Array<number>(DELTA_GRID.length).fill(0), canary: { requests: 0, events: 0 }, baseline: { requests: 0, events: 0 } };
}

const clean = (value: number): number => (Number.isFinite(value) && value > 0 ? value : 0);

/**
 * Adds one window to a count test (pure: returns a new state). O(grid size). Events are capped
 * at the arm's requests; a window where one arm had no requests carries no comparison and only
 * adds to the totals.
 */
export function updateCountTest(state: CountTestState, window: CountWindow): CountTestState {
  const nc = clean(window.canary.requests);
  const nb = clean(window.baseline.requests);
  const xc = Math.min(clean(window.canary.events), nc);
  const xb = Math.min(clean(window.baseline.events), nb);
  const logLR = state.logLR.slice();
  if (nc > 0 && nb > 0 && xc + xb > 0) {
    const rho = nc / (nc + nb);
    for (let j = 0; j < logLR.length; j++) {
      // ln(θ/ρ) = δ − ln(1 + ρ(e^δ − 1)) and ln((1−θ)/(1−ρ)) = −ln(1 + ρ(e^δ − 1)).
      const shared = Math.log1p(rho * EXPM1_GRID[j]!);
      logLR[j] = logLR[j]! + xc * DELTA_GRID[j]! - (xc + xb) * shared;
    }
  }
  return {
    logLR,
    canary: { requests: state.canary.requests + nc, events: state.canary.events + xc },
    baseline: { requests: state.baseline.requests + nb, events: state.baseline.events + xb },
  };
}

/**
 * ln e-value of "the canary is worse than e^margin": the grid points above δ0 mixed against δ0,
 * with δ0 the first grid point ≥ margin (rounding up keeps it valid: a slightly wider margin).
 * Under any δ ≤ δ0 each component's factor has expectation ≤ 1 (monotone likelihood ratio of the
 * binomial split), so the mixture is a supermartingale and Ville bounds its false alarms by α.
 */
function marginLogE(L: readonly number[], margin: number): number {
  let k0 = DELTA_GRID.findIndex((delta) => delta >= margin - 1e-12);
  if (k0 < 0 || k0 >= L.length - 1) k0 = L.length - 2;
  return logSumExp(L, k0 + 1, L.length) - Math.log(L.length - 1 - k0) - L[k0]!;
}

/**
 * The evidence of a count test at level α. O(grid size).
 * - e-value (canary worse): Σ_{δ_j > 0} w_j exp(L_j).
 * - lower bound: the smallest grid point δ_k that the one-sided mixture against it,
 *   mean_{j > k} exp(L_j − L_k), has not rejected (< 1/α); upper bound: the largest δ_k not
 *   rejected by mean_{j < k} exp(L_j − L_k). Under δ = δ_k both mixtures are martingales (for
 *   Poisson events; the convex-order argument above covers δ_k = 0 for any events), so by
 *   Ville each bound is wrong at any time with probability ≤ α (a confidence sequence; the
 *   interval as a whole ≥ 1 − 2α). At δ_k = 0 the lower-bound mixture is the alarm's e-value, so
 *   an alarm and a lower bound ≥ 1 go together, and `pass` (upper ≤ 1 + tolerance) is a
 *   one-sided claim at the same α. Both bounds are widened to the next grid point outwards,
 *   because the true δ may lie between two points.
 * - estimate: the grid maximum-likelihood point (ties go to the point nearest ratio 1).
 */
export function countTestEvidence(state: CountTestState, alpha: number, margin = 0): RatioEvidence {
  const L = state.logLR;
  const G = L.length;
  const logE = margin > 0 ? marginLogE(L, margin) : LOG_FAIL_WEIGHT + logSumExp(L, FIRST_POSITIVE, G);
  const level = Math.log(1 / alpha);
  // above[k] = ln Σ_{j ≥ k} exp(L_j); below[k] = ln Σ_{j < k} exp(L_j).
  const above = new Array<number>(G + 1).fill(-Infinity);
  for (let k = G - 1; k >= 0; k--) above[k] = logAdd(above[k + 1]!, L[k]!);
  const below = new Array<number>(G + 1).fill(-Infinity);
  for (let k = 1; k <= G; k++) below[k] = logAdd(below[k - 1]!, L[k - 1]!);
  let first = G - 1;
  for (let k = 0; k < G - 1; k++) {
    if (above[k + 1]! - Math.log(G - 1 - k) - L[k]! < level) {
      first = k;
      break;
    }
  }
  let last = 0;
  for (let k = G - 1; k > 0; k--) {
    if (below[k]! - Math.log(k) - L[k]! < level) {
      last = k;
      break;
    }
  }
  let best = ZERO_INDEX;
  for (let k = 0; k < G; k++) {
    const closer = Math.abs(k - ZERO_INDEX) < Math.abs(best - ZERO_INDEX);
    if (L[k]! > L[best]! + 1e-12 || (Math.abs(L[k]! - L[best]!) <= 1e-12 && closer)) best = k;
  }
  return {
    logE,
    estimate: Math.exp(DELTA_GRID[best]!),
    lower: first === 0 ? 0 : Math.exp(DELTA_GRID[first - 1]!),
    upper: last === G - 1 ? null : Math.exp(DELTA_GRID[last + 1]!),
  };
}
