/**
 * Two-sample Mann-Whitney (Wilcoxon rank-sum) test with a confidence interval for the location
 * shift, as Kayenta computes it (kayenta-mannwhitney/.../MannWhitney.scala, itself a port of the
 * asymptotic branch of R's `wilcox.test(x, y, conf.int = TRUE, correct = TRUE)`):
 *
 *   W(μ)  = Σ ranks of (x − μ) in (x − μ) ∪ y  −  nx(nx+1)/2          (ties get average ranks)
 *   dz(μ) = W(μ) − nx·ny/2
 *   σ(μ)  = √( nx·ny/12 · ((nx+ny+1) − Σ(t³−t) / ((nx+ny)(nx+ny−1))) )  (t: sizes of tie groups)
 *   z(μ)  = (dz − sign(dz)·½) / σ                                        (continuity correction)
 *
 * z is a non-increasing step function of μ. The confidence interval is {μ : |z(μ)| ≤ z_{1−α/2}},
 * found by root-finding z(μ) = ±z_{1−α/2} on [min x − max y, max x − min y]; an endpoint the data
 * cannot reach is clamped to that bracket (MannWhitney.scala `findRoot`, as R's `root`). The
 * location estimate is a root of z(μ) = 0 (Hodges–Lehmann: about the median of the pairwise
 * differences xᵢ − yⱼ). The p-value is the two-sided normal-approximation p at μ = 0.
 *
 * `x` is the experiment (canary) and `y` the control (baseline): a positive estimate means the
 * canary is higher (MannWhitneyClassifier.scala calls `mannWhitneyUTest(experiment, control, …)`).
 */
import { normalCdf, normalQuantile } from './normal.js';

/** Kayenta's MannWhitneyException / R's stop(): the statistic is undefined for these data. */
export class MannWhitneyError extends Error {
  override readonly name = 'MannWhitneyError';
}

export interface MannWhitneyResult {
  /** Location shift of x relative to y (x − y): the root of z(μ) = 0. */
  estimate: number;
  /** Confidence interval for the shift. */
  lower: number;
  upper: number;
  confidence: number;
  /** Two-sided p-value of "no shift" (μ = 0), normal approximation with tie and continuity correction. */
  pValue: number;
  /** R's W statistic at μ = 0: rank sum of x minus nx(nx+1)/2. */
  statistic: number;
  /**
   * False when an interval endpoint was clamped to the range of pairwise differences because the
   * requested confidence is not reachable with so few points (R warns "requested conf.level not
   * achievable"); the interval is then the whole range of differences.
   */
  confidenceAchieved: boolean;
  /**
   * Whether any arrangement of samples of these sizes (and these ties within each sample) could
   * reach the confidence: the largest |z|, with x entirely above y, is (nx·ny/2 − ½)/σ₀ (σ₀: σ
   * with the within-sample ties only). When false the interval is always the range of
   * differences, whatever the data: e.g. up to 4 + 4 distinct points at 98%.
   */
  confidenceReachable: boolean;
}

/** The standardized statistic's parts at shift μ. */
export interface WilcoxonAt {
  dz: number;
  sigma: number;
  /** (dz − sign(dz)/2) / σ. */
  z: number;
}

const ascending = (values: readonly number[]): Float64Array => Float64Array.from(values).sort();

/**
 * dz and σ of (x − μ) against y, from both samples sorted ascending: one merge pass (x − μ stays
 * sorted because subtracting a constant is monotone in floating point too), tie groups ranked by
 * their average rank (NaturalRanking with TiesStrategy.AVERAGE in MannWhitney.scala).
 */
function wilcoxonAtSorted(xs: Float64Array, ys: Float64Array, mu: number): WilcoxonAt {
  const nx = xs.length;
  const ny = ys.length;
  let i = 0;
  let j = 0;
  let placed = 0;
  let rankSumX = 0;
  let tieTerm = 0;
  while (i < nx || j < ny) {
    const xv = i < nx ? xs[i]! - mu : Infinity;
    const yv = j < ny ? ys[j]! : Infinity;
    const v = xv <= yv ? xv : yv;
    let cx = 0;
    while (i < nx && xs[i]! - mu === v) {
      cx++;
      i++;
    }
    let cy = 0;
    while (j < ny && ys[j] === v) {
      cy++;
      j++;
    }
    const t = cx + cy;
    rankSumX += cx * (placed + (t + 1) / 2);
    tieTerm += t * t * t - t;
    placed += t;
  }
  const dz = rankSumX - (nx * (nx + 1)) / 2 - (nx * ny) / 2;
  const n = nx + ny;
  const sigma = Math.sqrt(((nx * ny) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  // Every observation tied: the statistic has no variance (MannWhitney.scala throws, as R stops).
  if (!(sigma > 0)) throw new MannWhitneyError('cannot compute confidence interval when all observations are tied');
  const correction = Math.sign(dz) * 0.5; // correct = TRUE, alternative = "two.sided"
  return { dz, sigma, z: (dz - correction) / sigma };
}

/** dz, σ and z of (x − μ) against y (MannWhitney.scala `wilcoxonDiff` without the quantile). */
export function wilcoxonAt(x: readonly number[], y: readonly number[], mu: number): WilcoxonAt {
  checkSamples(x, y);
  return wilcoxonAtSorted(ascending(x), ascending(y), mu);
}

/** MannWhitney.scala `wilcoxonDiff(mu, quantile, x, y)`: z(μ) − quantile. */
export function wilcoxonDiff(mu: number, quantile: number, x: readonly number[], y: readonly number[]): number {
  return wilcoxonAt(x, y, mu).z - quantile;
}

/** Σ(t³ − t) over the groups of equal values of a sorted sample. */
function tieTerm(sorted: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i + 1;
    while (j < sorted.length && sorted[j] === sorted[i]) j++;
    const t = j - i;
    sum += t * t * t - t;
    i = j;
  }
  return sum;
}

function checkSamples(x: readonly number[], y: readonly number[]): void {
  if (x.length === 0 || y.length === 0) throw new MannWhitneyError('both samples need at least one value');
  for (const v of x) if (!Number.isFinite(v)) throw new MannWhitneyError('samples must be finite numbers');
  for (const v of y) if (!Number.isFinite(v)) throw new MannWhitneyError('samples must be finite numbers');
}

/**
 * The pairwise difference xᵢ − yⱼ nearest to the middle of [a, b] (searched in [a − slack, b + slack]),
 * or null if there is none. z(μ) only changes where x − μ crosses a y, so every root of it is
 * such a difference.
 */
function differenceNear(xs: Float64Array, ys: Float64Array, a: number, b: number, slack: number): number | null {
  const middle = a + (b - a) / 2;
  let best: number | null = null;
  for (const x of xs) {
    // ys ascending: the first y ≥ x − middle and the one before it are the candidates for x.
    const target = x - middle;
    let lo = 0;
    let hi = ys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ys[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    for (const j of [lo - 1, lo]) {
      if (j < 0 || j >= ys.length) continue;
      const d = x - ys[j]!;
      if (d < a - slack || d > b + slack) continue;
      if (best === null || Math.abs(d - middle) < Math.abs(best - middle)) best = d;
    }
  }
  return best;
}

/**
 * Robust bisection of the non-increasing step function g on [lo, hi]: the midpoint of the set
 * where g crosses (or touches) zero, i.e. of [sup{g > 0}, inf{g < 0}]. Each bound is bracketed by
 * bisection, then snapped to the pairwise difference inside the bracket: the exact place where z
 * jumps. For a jump across zero both bounds are that difference; where g is 0 on a whole interval
 * (the continuity correction makes z(μ) = 0 between two differences) the result is the interval's
 * middle, one of the roots Kayenta's Brent solver may return, chosen deterministically.
 *
 * Kayenta uses Brent with an absolute tolerance of 1e-4 (BrentSolver.java), so its roots sit
 * anywhere within 1e-4 of the jump; on data with many equal values (error rates of 0) that noise
 * alone decided whether "lower > 0.25·|estimate|". Snapping gives the exact value instead.
 */
function zeroCrossing(xs: Float64Array, ys: Float64Array, g: (mu: number) => number, lo: number, hi: number, gLo: number, gHi: number): number {
  const tolerance = (hi - lo) * 1e-12;
  const bound = (stayLeft: (value: number) => boolean): number => {
    let a = lo;
    let b = hi;
    for (let iteration = 0; iteration < 200 && b - a > tolerance; iteration++) {
      const m = a + (b - a) / 2;
      if (m <= a || m >= b) break;
      if (stayLeft(g(m))) a = m;
      else b = m;
    }
    return differenceNear(xs, ys, a, b, tolerance) ?? a + (b - a) / 2;
  };
  const left = gLo <= 0 ? lo : gHi > 0 ? hi : bound((value) => value > 0);
  const right = gHi >= 0 ? hi : gLo < 0 ? lo : bound((value) => value >= 0);
  return left === right ? left : left + (right - left) / 2;
}

/**
 * The test, the interval at `confidence` and the location estimate. Throws MannWhitneyError when
 * a sample is empty or not finite, or when each sample holds a single distinct value (then all
 * observations tie at μ = x − y and σ = 0: Kayenta's classifier reports the metric as Error).
 */
export function mannWhitneyTest(x: readonly number[], y: readonly number[], confidence = 0.95): MannWhitneyResult {
  checkSamples(x, y);
  if (!(confidence > 0 && confidence < 1)) throw new MannWhitneyError('confidence must be in (0, 1)');
  const xs = ascending(x);
  const ys = ascending(y);
  const muMin = xs[0]! - ys[ys.length - 1]!;
  const muMax = xs[xs.length - 1]! - ys[0]!;
  // Both samples constant: z(μ) is evaluated at μ = muMin = muMax where every observation ties
  // (in exact arithmetic; floating-point x − (x − y) need not equal y, so decide it here).
  if (muMin === muMax) throw new MannWhitneyError('cannot compute confidence interval when all observations are tied');
  const z = (mu: number) => wilcoxonAtSorted(xs, ys, mu).z;

  // MannWhitney.scala: zQuant = Φ⁻¹(α/2); the lower endpoint solves z(μ) = −zQuant, the upper z(μ) = zQuant.
  const zq = -normalQuantile((1 - confidence) / 2);
  const endpoint = (quantile: number): { value: number; reached: boolean } => {
    const g = (mu: number) => z(mu) - quantile;
    const gLo = g(muMin);
    const gHi = g(muMax);
    // findRoot: an endpoint the statistic cannot reach is the end of the bracket.
    if (gLo <= 0) return { value: muMin, reached: false };
    if (gHi >= 0) return { value: muMax, reached: false };
    return { value: zeroCrossing(xs, ys, g, muMin, muMax, gLo, gHi), reached: true };
  };
  const lower = endpoint(zq);
  const upper = endpoint(-zq);
  // The estimate: Brent on the whole bracket in MannWhitney.scala (no clamping).
  const estimate = zeroCrossing(xs, ys, z, muMin, muMax, z(muMin), z(muMax));

  const nx = xs.length;
  const ny = ys.length;
  const n = nx + ny;
  const withinTies = tieTerm(xs) + tieTerm(ys);
  const maxZ = ((nx * ny) / 2 - 0.5) / Math.sqrt(((nx * ny) / 12) * (n + 1 - withinTies / (n * (n - 1))));

  const atZero = wilcoxonAtSorted(xs, ys, 0);
  const pValue = Math.min(1, 2 * Math.min(normalCdf(atZero.z), normalCdf(-atZero.z)));
  return {
    estimate,
    lower: lower.value,
    upper: upper.value,
    confidence,
    pValue,
    statistic: atZero.dz + (xs.length * ys.length) / 2,
    confidenceAchieved: lower.reached && upper.reached,
    confidenceReachable: maxZ > zq,
  };
}
