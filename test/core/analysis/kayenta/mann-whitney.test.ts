/**
 * The Mann-Whitney statistics against values computed by hand (formulas in the comments) and
 * against their invariants. p-values also match scipy.stats.mannwhitneyu(method='asymptotic',
 * use_continuity=True), which implements R's normal approximation with tie correction.
 */
import { describe, expect, it } from 'vitest';
import { mannWhitneyTest, MannWhitneyError, wilcoxonAt, wilcoxonDiff } from '../../../../src/core/analysis/kayenta/mann-whitney.js';
import { normalCdf, normalQuantile } from '../../../../src/core/analysis/kayenta/normal.js';
import { gaussian, mulberry32 } from '../../../../src/core/analysis/kayenta/random.js';

describe('normal distribution', () => {
  it('has the textbook quantiles and CDF values', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 14);
    expect(normalQuantile(0.99)).toBeCloseTo(2.3263478740408408, 14);
    expect(normalQuantile(0.025)).toBeCloseTo(-1.959963984540054, 14);
    expect(normalQuantile(0.5)).toBe(0);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232306167813, 12);
    expect(normalCdf(0)).toBe(0.5);
    expect(normalCdf(1.96)).toBeCloseTo(0.9750021048517795, 15);
    expect(normalCdf(-1)).toBeCloseTo(0.15865525393145707, 15);
    expect(normalCdf(-3)).toBeCloseTo(0.0013498980316300933, 16);
  });

  it('inverts its CDF', () => {
    for (const p of [1e-8, 0.001, 0.01, 0.02, 0.1, 0.3, 0.5, 0.77, 0.95, 0.999]) expect(normalCdf(normalQuantile(p))).toBeCloseTo(p, 13);
  });
});

// Pairwise differences xᵢ − yⱼ, ascending.
const differences = (x: number[], y: number[]) => x.flatMap((a) => y.map((b) => a - b)).sort((a, b) => a - b);

describe('mannWhitneyTest: hand-computed vectors', () => {
  it('x = 4,5,6 vs y = 1,2,3: W = 9, p = 0.08086, interval not reachable, estimate 3', () => {
    // Ranks of x are 4,5,6: W = 15 − 6 = 9; dz = 9 − 4.5 = 4.5; σ = √(9/12·7) = √5.25;
    // z = (4.5 − 0.5)/√5.25 = 1.7457; p = 2Φ(−1.7457) = 0.080856 (R: W = 9, p-value = 0.08086).
    const result = mannWhitneyTest([4, 5, 6], [1, 2, 3], 0.95);
    expect(result.statistic).toBe(9);
    expect(result.pValue).toBeCloseTo(2 * normalCdf(-4 / Math.sqrt(5.25)), 14);
    expect(result.pValue).toBeCloseTo(0.08085559837005224, 12);
    // |z| never reaches 1.96 with 3 + 3 points: both endpoints clamp to [min x − max y, max x − min y].
    expect(result.confidenceAchieved).toBe(false);
    expect([result.lower, result.upper]).toEqual([1, 5]);
    // Differences 1,2,2,3,3,3,4,4,5: z = 0 exactly where 3 is crossed.
    expect(result.estimate).toBeCloseTo(3, 9);
  });

  it('5 vs 5 without ties: the interval ends are the 3rd and 23rd of the 25 differences at 95%', () => {
    const x = [10, 12, 15, 19, 24];
    const y = [0.5, 1.7, 3.1, 6.6, 8.4];
    const d = differences(x, y);
    // σ = √(25·11/12) = 4.7871. Between d₍ⱼ₋₁₎ and d₍ⱼ₎, #{d > μ} = 26 − j, dz = 13.5 − j, z = (13 − j)/σ:
    // z > 1.96 ⇔ j ≤ 3, so the lower end is d₍₃₎; symmetrically z ≥ −1.96 ⇔ j ≤ 23: upper end d₍₂₃₎.
    const result = mannWhitneyTest(x, y, 0.95);
    expect(result.confidenceAchieved).toBe(true);
    expect(result.lower).toBeCloseTo(d[2]!, 9); // 3.6
    expect(result.upper).toBeCloseTo(d[22]!, 9); // 20.9
    expect(result.lower).toBeCloseTo(3.6, 9);
    expect(result.upper).toBeCloseTo(20.9, 9);
    // At 90% (z = 1.645): 13 − j > 7.87 ⇔ j ≤ 5: lower end d₍₅₎ = 6.6.
    expect(mannWhitneyTest(x, y, 0.9).lower).toBeCloseTo(d[4]!, 9);
    // With the continuity correction z = 0 on all of [d₍₁₂₎, d₍₁₄₎] (dz = ±½); its middle is returned.
    expect(result.estimate).toBeCloseTo((d[11]! + d[13]!) / 2, 9); // (10.6 + 11.9)/2
    // W = 25 (complete separation), z = 12/σ, p = 0.012186.
    expect(result.statistic).toBe(25);
    expect(result.pValue).toBeCloseTo(0.012185780355344813, 12);
  });

  it('ties: average ranks and the tie-corrected variance', () => {
    // Pooled 0,0,1,1,1,2,2,2,3,4,5: ranks of x (1,2,2,3,5) are 4,7,7,9,11 → W = 38 − 15 = 23, dz = 8;
    // Σ(t³ − t) = 6 + 24 + 24 = 54, σ = √(30/12 · (12 − 54/110)) = 5.3640; z = 7.5/σ; p = 0.16205.
    const x = [1, 2, 2, 3, 5];
    const y = [0, 0, 1, 1, 2, 4];
    const at = wilcoxonAt(x, y, 0);
    expect(at.dz).toBe(8);
    expect(at.sigma).toBeCloseTo(Math.sqrt(2.5 * (12 - 54 / 110)), 12);
    const result = mannWhitneyTest(x, y, 0.95);
    expect(result.statistic).toBe(23);
    expect(result.pValue).toBeCloseTo(0.1620516143696369, 12);
    // An even number (30) of differences: the middle of the zero set is their median, 1.
    expect(result.estimate).toBeCloseTo(1, 9);
  });

  it('wilcoxonDiff is the standardized statistic minus the quantile, decreasing in μ', () => {
    const x = [10, 12, 15, 19, 24];
    const y = [0.5, 1.7, 3.1, 6.6, 8.4];
    expect(wilcoxonDiff(0, 0, x, y)).toBeCloseTo(12 / Math.sqrt(25 * 11 / 12), 12);
    expect(wilcoxonDiff(0, 1.5, x, y)).toBeCloseTo(12 / Math.sqrt(25 * 11 / 12) - 1.5, 12);
    let previous = Infinity;
    for (let mu = -20; mu <= 30; mu += 0.37) {
      const value = wilcoxonDiff(mu, 0, x, y);
      expect(value).toBeLessThanOrEqual(previous);
      previous = value;
    }
  });

  it('roots are exact pairwise differences, so heavily tied data gives exact answers', () => {
    // Counts in {0..3}: z(μ) jumps only at integer μ, so every root is an integer (the estimate may be
    // the middle of two). Kayenta's Brent (tolerance 1e-4) would return a point near them instead.
    const normal = gaussian(mulberry32(5));
    const counts = (n: number, shift: number) => Array.from({ length: n }, () => Math.max(0, Math.min(3, Math.round(1.5 + normal()))) + shift);
    const same = mannWhitneyTest(counts(500, 0), counts(500, 0), 0.98);
    expect([same.lower, same.estimate, same.upper]).toEqual([0, 0, 0]);
    const shifted = mannWhitneyTest(counts(500, 1), counts(500, 0), 0.98);
    expect([shifted.lower, shifted.estimate, shifted.upper]).toEqual([1, 1, 1]);
    const mostlyZero = mannWhitneyTest([0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 0], [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], 0.95);
    for (const value of [mostlyZero.lower, mostlyZero.upper]) expect(Number.isInteger(value)).toBe(true);
    expect(Number.isInteger(mostlyZero.estimate * 2)).toBe(true);
  });

  it('confidenceReachable: whether samples of these sizes could ever be significant', () => {
    // Max |z| = (nx·ny/2 − ½)/σ₀: 4 + 4 distinct points give 7.5/√12 = 2.165 < 2.326 (98%), 5 + 5 give 12/√(275/12) = 2.507.
    const four = mannWhitneyTest([5, 6, 7, 8], [1, 2, 3, 4], 0.98);
    expect(four.confidenceReachable).toBe(false);
    expect([four.lower, four.upper]).toEqual([1, 7]); // clamped to the range of differences
    expect(mannWhitneyTest([5, 6, 7, 8], [1, 2, 3, 4], 0.95).confidenceReachable).toBe(true); // 2.165 > 1.96
    expect(mannWhitneyTest([6, 7, 8, 9, 10], [1, 2, 3, 4, 5], 0.98).confidenceReachable).toBe(true);
    // Ties within a sample shrink σ₀: 5 canary points against 5 zeros (σ₀ = √(25/12 · (11 − 120/90)) = 4.488, max z 2.67).
    const zeros = mannWhitneyTest([0.31, 0.29, 0.3, 0.32, 0.28], [0, 0, 0, 0, 0], 0.98);
    expect(zeros.confidenceReachable).toBe(true);
    // Its lower end is the smallest difference, 0.28: z jumps past 2.326 right there.
    expect(zeros.lower).toBe(0.28);
  });

  it('rejects data it cannot test', () => {
    expect(() => mannWhitneyTest([], [1])).toThrow(MannWhitneyError);
    expect(() => mannWhitneyTest([1, NaN], [1])).toThrow(MannWhitneyError);
    // One value per arm: every observation ties at μ = x − y (σ = 0), as R and Kayenta refuse.
    expect(() => mannWhitneyTest([2], [1])).toThrow(/all observations are tied/);
    expect(() => mannWhitneyTest([2, 2, 2], [1, 1])).toThrow(/all observations are tied/);
  });
});

describe('mannWhitneyTest: invariants', () => {
  const normal = gaussian(mulberry32(42));
  const draw = (n: number, mean: number, sd: number, decimals?: number) =>
    Array.from({ length: n }, () => {
      const v = mean + sd * normal();
      return decimals === undefined ? v : Number(v.toFixed(decimals));
    });
  const cases = [
    { x: draw(30, 10.5, 1), y: draw(30, 10, 1) },
    { x: draw(12, 3, 2), y: draw(45, 1, 2) },
    { x: draw(40, 5, 1, 0), y: draw(35, 5.5, 1, 0) }, // heavy ties
    { x: draw(7, 0.2, 0.01), y: draw(9, 0.2, 0.01) },
  ];

  it.each(cases.map((c, i) => [i, c] as const))('case %i: shifting x by c shifts the estimate and interval by c', (_, { x, y }) => {
    const base = mannWhitneyTest(x, y, 0.98);
    const c = 2.5; // exactly representable steps keep the pooled order (and ties) unchanged
    const shifted = mannWhitneyTest(x.map((v) => v + c), y, 0.98);
    expect(shifted.estimate).toBeCloseTo(base.estimate + c, 6);
    expect(shifted.lower).toBeCloseTo(base.lower + c, 6);
    expect(shifted.upper).toBeCloseTo(base.upper + c, 6);
    // Shifting both arms changes nothing.
    const both = mannWhitneyTest(x.map((v) => v + c), y.map((v) => v + c), 0.98);
    expect(both.estimate).toBeCloseTo(base.estimate, 6);
    expect(both.pValue).toBeCloseTo(base.pValue, 12);
  });

  it.each(cases.map((c, i) => [i, c] as const))('case %i: swapping x and y negates the estimate and interval', (_, { x, y }) => {
    const forward = mannWhitneyTest(x, y, 0.95);
    const backward = mannWhitneyTest(y, x, 0.95);
    expect(backward.estimate).toBeCloseTo(-forward.estimate, 6);
    expect(backward.lower).toBeCloseTo(-forward.upper, 6);
    expect(backward.upper).toBeCloseTo(-forward.lower, 6);
    expect(backward.pValue).toBeCloseTo(forward.pValue, 12);
    expect(backward.statistic).toBe(x.length * y.length - forward.statistic);
  });

  it.each(cases.map((c, i) => [i, c] as const))('case %i: the interval holds the estimate and widens with the confidence', (_, { x, y }) => {
    const r90 = mannWhitneyTest(x, y, 0.9);
    const r98 = mannWhitneyTest(x, y, 0.98);
    expect(r90.lower).toBeLessThanOrEqual(r90.estimate);
    expect(r90.estimate).toBeLessThanOrEqual(r90.upper);
    expect(r98.lower).toBeLessThanOrEqual(r90.lower);
    expect(r98.upper).toBeGreaterThanOrEqual(r90.upper);
    expect(r90.estimate).toBe(r98.estimate);
  });

  it('the estimate is within the two middle pairwise differences (Hodges–Lehmann)', () => {
    for (const { x, y } of cases) {
      const d = differences(x, y);
      const n = d.length;
      const low = d[Math.floor((n - 1) / 2) - 1]!;
      const high = d[Math.ceil((n - 1) / 2) + 1]!;
      const { estimate } = mannWhitneyTest(x, y, 0.95);
      expect(estimate).toBeGreaterThanOrEqual(low - 1e-9);
      expect(estimate).toBeLessThanOrEqual(high + 1e-9);
    }
  });

  it('scales with the data', () => {
    const { x, y } = cases[0]!;
    const base = mannWhitneyTest(x, y, 0.95);
    const scaled = mannWhitneyTest(x.map((v) => v * 1000), y.map((v) => v * 1000), 0.95);
    expect(scaled.estimate / 1000).toBeCloseTo(base.estimate, 6);
    expect(scaled.lower / 1000).toBeCloseTo(base.lower, 6);
    expect(scaled.upper / 1000).toBeCloseTo(base.upper, 6);
  });
});
