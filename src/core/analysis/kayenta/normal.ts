/**
 * Standard normal CDF and quantile, for the Mann-Whitney normal approximation. Kayenta takes them
 * from Apache Commons Math (`NormalDistribution(0, 1)` in kayenta-mannwhitney/.../MannWhitney.scala);
 * these are written here to avoid a dependency: relative error ~1e-15 for |x| < 5 (where every
 * confidence level a template can ask for lies), ~1e-8 in the far tail.
 */

/**
 * P(Z ≤ x). Hart's double-precision rational approximation (Hart et al. 1968, algorithm 5666, as
 * given by G. West, "Better approximations to cumulative normal functions", 2005).
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const z = Math.abs(x);
  let tail: number;
  if (z > 37) {
    tail = 0;
  } else {
    const e = Math.exp((-z * z) / 2);
    if (z < 7.07106781186547) {
      let n = 3.52624965998911e-2 * z + 0.700383064443688;
      n = n * z + 6.37396220353165;
      n = n * z + 33.912866078383;
      n = n * z + 112.079291497871;
      n = n * z + 221.213596169931;
      n = n * z + 220.206867912376;
      let d = 8.83883476483184e-2 * z + 1.75566716318264;
      d = d * z + 16.064177579207;
      d = d * z + 86.7807322029461;
      d = d * z + 296.564248779674;
      d = d * z + 637.333633378831;
      d = d * z + 793.826512519948;
      d = d * z + 440.413735824752;
      tail = (e * n) / d;
    } else {
      let c = z + 0.65;
      c = z + 4 / c;
      c = z + 3 / c;
      c = z + 2 / c;
      c = z + 1 / c;
      tail = e / c / 2.506628274631;
    }
  }
  return x > 0 ? 1 - tail : tail;
}

/** Upper tail P(Z > x), without the cancellation of 1 − normalCdf(x) for large x. */
export function normalSf(x: number): number {
  return normalCdf(-x);
}

const A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
const B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];

/**
 * The p-quantile of the standard normal (Commons Math `inverseCumulativeProbability`). Acklam's
 * rational approximation (relative error 1.15e-9) refined by one Halley step on normalCdf, which
 * brings it to double precision.
 */
export function normalQuantile(p: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  // Φ⁻¹(p) = −Φ⁻¹(1 − p); 1 − p is exact for p ≥ 0.5, and the lower tail keeps full precision.
  if (p > 0.5) return -normalQuantile(1 - p);
  const low = 0.02425;
  let x: number;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((C[0]! * q + C[1]!) * q + C[2]!) * q + C[3]!) * q + C[4]!) * q + C[5]!) / ((((D[0]! * q + D[1]!) * q + D[2]!) * q + D[3]!) * q + 1);
  } else {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((A[0]! * r + A[1]!) * r + A[2]!) * r + A[3]!) * r + A[4]!) * r + A[5]!) * q) / (((((B[0]! * r + B[1]!) * r + B[2]!) * r + B[3]!) * r + B[4]!) * r + 1);
  }
  // One Halley step on e = Φ(x) − p (x ≤ 0 here, where normalCdf is a direct tail value).
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}
