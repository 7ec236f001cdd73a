/**
 * Context for error-rate goals: the power of the best fixed-sample test that knows the horizon in
 * advance and looks once, at the end (no sequential detector can beat it on average at the same α).
 * Conditional on the total errors N of both arms (Poisson), the canary's errors are
 * Binomial(N, θ) with θ0 = share under A/A and θ1 = share·p_c / (share·p_c + (1−share)·p_b); the
 * one-sided exact binomial test at level α (not randomised) rejects when canary errors ≥ c_N.
 */
import { logFactorial } from './rng.js';

function logBinomialPmf(n: number, k: number, p: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k) + k * Math.log(p) + (n - k) * Math.log1p(-p);
}

function upperTail(n: number, from: number, p: number): number {
  let sum = 0;
  for (let k = n; k >= from; k--) sum += Math.exp(logBinomialPmf(n, k, p));
  return sum;
}

export function oracleErrorPower(options: { rps: number; share: number; seconds: number; errorBaseline: number; errorCanary: number; alpha: number }): number {
  const { rps, share, seconds, errorBaseline, errorCanary, alpha } = options;
  const canaryRate = rps * seconds * share * errorCanary;
  const baselineRate = rps * seconds * (1 - share) * errorBaseline;
  const lambda = canaryRate + baselineRate;
  const theta1 = canaryRate / lambda;
  const theta0 = share;
  const maxN = Math.ceil(lambda + 12 * Math.sqrt(lambda) + 20);
  let power = 0;
  for (let n = 1; n <= maxN; n++) {
    const weight = Math.exp(-lambda + n * Math.log(lambda) - logFactorial(n));
    if (weight < 1e-14) continue;
    // smallest c with P0(X ≥ c) ≤ α
    let tail0 = 0;
    let c = n + 1;
    for (let k = n; k >= 0; k--) {
      const next = tail0 + Math.exp(logBinomialPmf(n, k, theta0));
      if (next > alpha) break;
      tail0 = next;
      c = k;
    }
    if (c > n) continue;
    power += weight * upperTail(n, c, theta1);
  }
  return power;
}
