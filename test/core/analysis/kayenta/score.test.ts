/** Kayenta's WeightedSumScorer + ThresholdScoreClassifier semantics. */
import { describe, expect, it } from 'vitest';
import type { Classification } from '../../../../src/core/analysis/kayenta/classifier.js';
import { scoreTemplate, type ScoreEntry } from '../../../../src/core/analysis/kayenta/score.js';

const entry = (metric: string, classification: Classification, group = 'default', extra: Partial<ScoreEntry> = {}): ScoreEntry => ({
  metric,
  group,
  critical: false,
  classification,
  ...extra,
});
const thresholds = { pass: 95, marginal: 75 };

describe('scoreTemplate', () => {
  it('one group: 100 · passes / (passes + highs + lows)', () => {
    expect(scoreTemplate([entry('a', 'Pass')], thresholds)).toMatchObject({ score: 100, outcome: 'Pass', groups: { default: 100 }, message: null });
    expect(scoreTemplate([entry('a', 'High')], thresholds)).toMatchObject({ score: 0, outcome: 'Fail' });
    expect(scoreTemplate([entry('a', 'Pass'), entry('b', 'High')], thresholds).score).toBe(50);
    const three = scoreTemplate([entry('a', 'Pass'), entry('b', 'High'), entry('c', 'Low')], thresholds);
    expect(three.score).toBe(33.33); // rounded to 2 decimals
    expect(three.message).toBe('High: b; Low: c');
  });

  it('weights per group', () => {
    const weights = { groupWeights: { g1: 75, g2: 25 }, ...thresholds };
    const result = scoreTemplate([entry('a', 'Pass', 'g1'), entry('b', 'Pass', 'g1'), entry('c', 'High', 'g2')], weights);
    expect(result).toMatchObject({ score: 75, outcome: 'Marginal', groups: { g1: 100, g2: 0 } });
    // 15/85: group 1 scores 1/3, group 2 fails: 15 · 33.3/100 = 5.
    const unequal = scoreTemplate(
      [entry('h', 'High', 'g1'), entry('l', 'Low', 'g1'), entry('p', 'Pass', 'g1'), entry('x', 'High', 'g2')],
      { groupWeights: { g1: 15, g2: 85 }, ...thresholds },
    );
    expect(unequal.score).toBe(5);
  });

  it('groups without a weight share what the weights leave, equally', () => {
    // 40 to "errors"; "latency" and "saturation" get (100 − 40)/2 = 30 each.
    const result = scoreTemplate(
      [entry('e', 'Pass', 'errors'), entry('l1', 'Pass', 'latency'), entry('l2', 'High', 'latency'), entry('s', 'High', 'saturation')],
      { groupWeights: { errors: 40 }, ...thresholds },
    );
    expect(result.groups).toEqual({ errors: 100, latency: 50, saturation: 0 });
    expect(result.score).toBe(40 + 15 + 0);
    // Without weights every group gets an equal share.
    const equal = scoreTemplate([entry('a', 'Pass', 'g1'), entry('b', 'High', 'g1'), entry('c', 'High', 'g2')], thresholds);
    expect(equal.score).toBe(25);
  });

  it('NoData and Error are left out of a group; a group with nothing scored counts as 100 in the summary', () => {
    const result = scoreTemplate([entry('a', 'Pass', 'g1'), entry('b', 'Pass', 'g1'), entry('c', 'NoData', 'g2')], thresholds);
    // 1 of 3 NoData (< 50%): group g2 reports 0 but counts as 100.
    expect(result).toMatchObject({ score: 100, outcome: 'Pass', groups: { g1: 100, g2: 0 } });
    expect(result.message).toBe('NoData: c');
    const withNoData = scoreTemplate([entry('p', 'Pass', 'g1'), entry('n', 'NoData', 'g1'), entry('h', 'High', 'g2')], { groupWeights: { g1: 50, g2: 50 }, ...thresholds });
    expect(withNoData.score).toBe(50);
    const withError = scoreTemplate([entry('p', 'Pass'), entry('e', 'Error'), entry('h', 'High')], thresholds);
    expect(withError.score).toBe(50);
    expect(withError.message).toMatch(/not scored \(Error\): e/);
  });

  it('a critical failure scores 0, whatever the rest', () => {
    const result = scoreTemplate([entry('a', 'Pass'), entry('b', 'High', 'default', { critical: true })], thresholds);
    expect(result).toMatchObject({ score: 0, outcome: 'Fail' });
    expect(result.message).toBe('critical metric failed: b (High)');
    // A critical metric that passes does not.
    expect(scoreTemplate([entry('a', 'Low'), entry('b', 'Pass', 'default', { critical: true })], thresholds).score).toBe(50);
    // A critical NoData does (Kayenta flags it critical).
    expect(scoreTemplate([entry('a', 'Pass'), entry('a2', 'Pass'), entry('b', 'NoData', 'default', { critical: true })], thresholds).score).toBe(0);
    // The classifier's flag wins: a critical metric High below criticalIncrease only counts as High.
    expect(scoreTemplate([entry('a', 'Pass'), entry('b', 'High', 'default', { critical: true, criticalFailure: false })], thresholds).score).toBe(50);
    expect(scoreTemplate([entry('a', 'Pass'), entry('b', 'High', 'default', { critical: true, criticalFailure: true })], thresholds).score).toBe(0);
  });

  it('50% or more NoData scores 0', () => {
    const half = scoreTemplate([entry('a', 'Pass'), entry('b', 'NoData')], thresholds);
    expect(half).toMatchObject({ score: 0, outcome: 'Fail' });
    expect(half.message).toBe('50% or more metrics returned NODATA: b');
    expect(scoreTemplate([entry('a', 'NoData')], thresholds).score).toBe(0);
    expect(scoreTemplate([entry('a', 'Pass'), entry('b', 'Pass'), entry('c', 'NoData')], thresholds).score).toBe(100);
  });

  it('outcome thresholds: Pass at or above pass, Marginal at or above marginal, else Fail', () => {
    const four = (passes: number) => Array.from({ length: 4 }, (_, i) => entry(`m${i}`, i < passes ? 'Pass' : 'High'));
    expect(scoreTemplate(four(3), { pass: 75, marginal: 50 }).outcome).toBe('Pass'); // 75
    expect(scoreTemplate(four(3), { pass: 76, marginal: 75 }).outcome).toBe('Marginal');
    expect(scoreTemplate(four(3), { pass: 95, marginal: 76 }).outcome).toBe('Fail');
    expect(scoreTemplate(four(4), thresholds).outcome).toBe('Pass');
  });
});
