/** Kayenta's MannWhitneyClassifier rules on plain number arrays. */
import { describe, expect, it } from 'vitest';
import { classifyMannWhitney, handleNaNs, meanRatio, type ClassifierConfig } from '../../../../src/core/analysis/kayenta/classifier.js';
import { gaussian, mulberry32 } from '../../../../src/core/analysis/kayenta/random.js';

// NetflixACAJudge.scala's settings: tolerance 0.25, confidence 0.98; Kayenta's metric defaults.
const config = (overrides: Partial<ClassifierConfig> = {}): ClassifierConfig => ({
  confidence: 0.98,
  tolerance: 0.25,
  direction: 'either',
  nanStrategy: 'remove',
  allowedIncrease: 1,
  criticalIncrease: 1,
  critical: false,
  ...overrides,
});

const normal = gaussian(mulberry32(7));
const series = (n: number, mean: number, sd: number) => Array.from({ length: n }, () => mean + sd * normal());
const baseline = series(60, 100, 5);
const higher = series(60, 120, 5);
const lower = series(60, 80, 5);
const similar = series(60, 100, 5);

describe('classifyMannWhitney', () => {
  it('a clear increase is High, with the estimate, interval, effect size and counts', () => {
    const result = classifyMannWhitney(higher, baseline, config());
    expect(result.classification).toBe('High');
    expect(result.critical).toBe(false);
    expect(result.hodgesLehmann!).toBeGreaterThan(15);
    expect(result.hodgesLehmann!).toBeLessThan(25);
    const [low, high] = result.interval!;
    expect(low).toBeGreaterThan(0.25 * Math.abs(result.hodgesLehmann!));
    expect(high).toBeGreaterThan(low);
    expect(result.effectSize).toBeCloseTo(meanRatio(higher, baseline), 12);
    expect(result.effectSize).toBeGreaterThan(1.1);
    expect(result.points).toEqual({ canary: 60, baseline: 60 });
    expect(result.pValue!).toBeLessThan(1e-6);
    expect(result.reason).toMatch(/High/);
  });

  it('a clear decrease passes when only increases are bad, and is Low under either / decrease', () => {
    expect(classifyMannWhitney(lower, baseline, config({ direction: 'increase' })).classification).toBe('Pass');
    expect(classifyMannWhitney(lower, baseline, config({ direction: 'either' })).classification).toBe('Low');
    expect(classifyMannWhitney(lower, baseline, config({ direction: 'decrease' })).classification).toBe('Low');
    expect(classifyMannWhitney(higher, baseline, config({ direction: 'decrease' })).classification).toBe('Pass');
  });

  it('similar data passes', () => {
    const result = classifyMannWhitney(similar, baseline, config());
    expect(result.classification).toBe('Pass');
    expect(result.interval![0]).toBeLessThan(0);
    expect(result.interval![1]).toBeGreaterThan(0);
  });

  it('identical data passes without a test, effect 1', () => {
    const shuffled = [...baseline].reverse();
    const result = classifyMannWhitney(shuffled, baseline, config());
    expect(result).toMatchObject({ classification: 'Pass', effectSize: 1, hodgesLehmann: null, interval: null });
    expect(result.reason).toMatch(/identical/);
    // A single value across both arms (different counts) passes too.
    expect(classifyMannWhitney([3, 3, 3], [3], config()).classification).toBe('Pass');
  });

  it('allowedIncrease keeps a small but certain increase from being High', () => {
    // Canary 2% above the baseline, with little noise: the test is certain, the effect small.
    const base = series(60, 100, 0.5);
    const canary = base.map((v) => v * 1.02);
    expect(classifyMannWhitney(canary, base, config()).classification).toBe('High');
    const blocked = classifyMannWhitney(canary, base, config({ allowedIncrease: 1.05 }));
    expect(blocked.classification).toBe('Pass');
    expect(blocked.effectSize).toBeCloseTo(1.02, 6);
  });

  it('a critical metric is flagged critical only past criticalIncrease', () => {
    expect(classifyMannWhitney(higher, baseline, config({ critical: true })).critical).toBe(true);
    const moderate = classifyMannWhitney(higher, baseline, config({ critical: true, criticalIncrease: 1.5 }));
    expect(moderate).toMatchObject({ classification: 'High', critical: false });
    const severe = classifyMannWhitney(higher, baseline, config({ critical: true, criticalIncrease: 1.1 }));
    expect(severe).toMatchObject({ classification: 'High', critical: true });
    expect(severe.reason).toMatch(/critical/);
    // Low is checked against criticalDecrease (default 1).
    expect(classifyMannWhitney(lower, baseline, config({ critical: true })).critical).toBe(true);
    // A Pass is never critical.
    expect(classifyMannWhitney(similar, baseline, config({ critical: true })).critical).toBe(false);
  });

  it('nanStrategy remove drops NaN points, replace counts them as 0', () => {
    const canary = [...higher.slice(0, 30), NaN, null, NaN];
    const removed = classifyMannWhitney(canary, baseline, config());
    expect(removed.points).toEqual({ canary: 30, baseline: 60 });
    expect(removed.classification).toBe('High');
    const replaced = classifyMannWhitney(canary, baseline, config({ nanStrategy: 'replace' }));
    expect(replaced.points).toEqual({ canary: 33, baseline: 60 });
    expect(replaced.effectSize).toBeCloseTo(meanRatio([...higher.slice(0, 30), 0, 0, 0], baseline), 12);
    expect(handleNaNs([1, NaN, null, Infinity, 2], 'remove')).toEqual([1, 2]);
    expect(handleNaNs([1, NaN, null, 2], 'replace')).toEqual([1, 0, 0, 2]);
  });

  it('an arm with no points is NoData under remove (critical if the metric is), Pass under replace', () => {
    expect(classifyMannWhitney([], baseline, config())).toMatchObject({ classification: 'NoData', critical: false });
    expect(classifyMannWhitney([NaN, null], baseline, config({ critical: true }))).toMatchObject({ classification: 'NoData', critical: true });
    expect(classifyMannWhitney(higher, [], config()).reason).toMatch(/baseline/);
    expect(classifyMannWhitney([], [], config({ nanStrategy: 'replace' })).classification).toBe('Pass');
  });

  it('two constant arms get seeded noise, so the same data always gets the same answer', () => {
    const canary = [0.3, 0.3, 0.3, 0.3, 0.3, 0.3];
    const base = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
    const first = classifyMannWhitney(canary, base, config());
    const second = classifyMannWhitney(canary, base, config());
    expect(first.classification).toBe('High');
    expect(first).toEqual(second);
    expect(first.hodgesLehmann!).toBeCloseTo(0.2, 4);
    expect(first.effectSize).toBeCloseTo(3, 3);
    // A baseline of zeros stays zeros (noise is scaled to the value); the mean ratio is then undefined.
    const fromZero = classifyMannWhitney(canary, [0, 0, 0, 0, 0, 0], config());
    expect(fromZero.classification).toBe('High');
    expect(Number.isNaN(fromZero.effectSize)).toBe(true);
  });

  it('with one point per arm the test cannot be computed: Error, never critical (as Kayenta)', () => {
    const result = classifyMannWhitney([0.3], [0.1], config({ critical: true }));
    expect(result).toMatchObject({ classification: 'Error', critical: false, hodgesLehmann: null });
    expect(result.reason).toMatch(/tied/);
  });

  it('too few points for the confidence: the interval is the range of differences (as R and Kayenta)', () => {
    // 2 + 2 points fully separated: |z| ≤ 1.22 < 2.33, so the interval is [min x − max y, max x − min y].
    const result = classifyMannWhitney([1.2, 1.3], [1.0, 1.05], config());
    expect(result.confidenceAchieved).toBe(false);
    expect(result.interval![0]).toBeCloseTo(0.15, 12);
    expect(result.interval![1]).toBeCloseTo(0.3, 12);
    expect(result.classification).toBe('High');
    expect(result.reason).toMatch(/clamped to the range of differences/);
    // Overlapping arms pass.
    expect(classifyMannWhitney([1.2, 0.9], [1.0, 1.05], config()).classification).toBe('Pass');
  });

  it('requireConfidence (not Kayenta): a High or Low resting on an unreachable interval end is Error', () => {
    const guarded = classifyMannWhitney([1.2, 1.3], [1.0, 1.05], config({ requireConfidence: true }));
    expect(guarded).toMatchObject({ classification: 'Error', critical: false, confidenceAchieved: false });
    expect(guarded.reason).toMatch(/too few points to classify yet: 2 canary and 2 baseline points cannot reach 98% confidence/);
    expect(guarded.interval).not.toBeNull();
    expect(classifyMannWhitney([0.9, 1.0], [1.2, 1.3], config({ requireConfidence: true, critical: true }))).toMatchObject({ classification: 'Error', critical: false });
    // A Pass on the range of differences stays a Pass; enough points classify as Kayenta does.
    expect(classifyMannWhitney([1.2, 0.9], [1.0, 1.05], config({ requireConfidence: true })).classification).toBe('Pass');
    expect(classifyMannWhitney(higher, baseline, config({ requireConfidence: true })).classification).toBe('High');
    // 5 + 5 fully separated points reach 98% (max |z| = 12/4.787 = 2.51 > 2.33).
    expect(classifyMannWhitney([2, 2.1, 2.2, 2.3, 2.4], [1, 1.1, 1.2, 1.3, 1.4], config({ requireConfidence: true })).classification).toBe('High');
    expect(classifyMannWhitney([2, 2.1, 2.2, 2.3], [1, 1.1, 1.2, 1.3], config({ requireConfidence: true })).classification).toBe('Error');
  });
});
