/**
 * Small numeric helpers of the sequential judge. Everything works in log space: e-values of a
 * clear regression easily exceed what a double holds.
 */

/**
 * ln Φ(x) for the standard normal CDF, finite for every finite x. Uses the Chebyshev fit of
 * erfc from Numerical Recipes (`erfcc`, fractional error < 1.2e-7 everywhere), whose form
 * t·exp(−z² + poly(t)) gives the logarithm directly, so Φ(−40) does not underflow to ln 0.
 */
export function logNormalCdf(x: number): number {
  const z = -x / Math.SQRT2;
  const a = Math.abs(z);
  const t = 1 / (1 + 0.5 * a);
  const poly =
    -1.26551223 +
    t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const logErfcAbs = Math.log(t) - a * a + poly;
  const logErfc = z >= 0 ? logErfcAbs : Math.log(2 - Math.exp(logErfcAbs));
  return Math.log(0.5) + logErfc;
}

/** ln Σ exp(values[i]) over the indices in [from, to), without overflow; −Infinity when empty. */
export function logSumExp(values: readonly number[], from = 0, to = values.length): number {
  let max = -Infinity;
  for (let i = from; i < to; i++) if (values[i]! > max) max = values[i]!;
  if (max === -Infinity || !Number.isFinite(max)) return max;
  let sum = 0;
  for (let i = from; i < to; i++) sum += Math.exp(values[i]! - max);
  return max + Math.log(sum);
}

/** ln(e^a + e^b) without overflow. */
export function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b)));
}

/** `x` rounded to 4 significant digits (keeps stored details small); ±Infinity becomes ±1e300 so JSON keeps it. */
export function round4(x: number): number {
  if (x === Infinity) return 1e300;
  if (x === -Infinity) return -1e300;
  if (!Number.isFinite(x) || x === 0) return 0;
  return Number(x.toPrecision(4));
}

/** e = exp(logE) for display, capped at 1e300 so it stays a JSON number. */
export function eValueOf(logE: number): number {
  return logE >= Math.log(1e300) ? 1e300 : Math.exp(logE);
}
