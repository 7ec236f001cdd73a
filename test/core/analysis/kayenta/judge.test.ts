/** The mannWhitney judge: points accumulated across measurements in JSON state, verdicts and details. */
import { describe, expect, it } from 'vitest';
import { JUDGES, checkAnalysisTemplate } from '../../../../src/core/analysis/judge.js';
import { MAX_POINTS, latencyField, mannWhitneyJudge, pointOf, readState } from '../../../../src/core/analysis/kayenta/judge.js';
import { gaussian, mulberry32 } from '../../../../src/core/analysis/kayenta/random.js';
import type { JsonValue, MetricJudgeConfig, MetricSpec, Sample } from '../../../../src/core/analysis/types.js';

const config = (overrides: Partial<Extract<MetricJudgeConfig, { kind: 'mannWhitney' }>> = {}): MetricJudgeConfig => ({
  kind: 'mannWhitney',
  confidence: 0.98,
  tolerance: 0.25,
  allowedIncrease: 1,
  criticalIncrease: 1,
  direction: 'either',
  nanStrategy: 'remove',
  group: 'latency',
  critical: false,
  pass: 95,
  marginal: 75,
  groupWeights: null,
  ...overrides,
});

const latencyMetric: MetricSpec = { name: 'p99', provider: { builtin: { metric: 'latency' } }, noDataPolicy: 'pause' };
const errorMetric: MetricSpec = { name: 'errors', provider: { builtin: { metric: 'errorRate' } }, noDataPolicy: 'pause' };
const promMetric: MetricSpec = { name: 'q', provider: { prometheus: { query: 'x' } }, noDataPolicy: 'pause' };

const sample = (p99: number | null, errorRate: number | null = 0.01, value?: number | null): Sample => ({
  requests: 100,
  errors: 1,
  errorRate,
  latency: p99 === null ? null : { mean: p99 / 2, p50: p99 / 4, p90: p99 / 2, p95: p99 * 0.8, p99, max: p99 * 2 },
  ...(value !== undefined ? { value } : {}),
});

/** Runs `windows` measurements, passing the state through JSON as the run stores it. */
function run(pairs: Array<[Sample | null, Sample | null]>, metric = latencyMetric, judgeConfig = config()) {
  let state: JsonValue = null;
  const verdicts = [];
  for (const [canary, baseline] of pairs) {
    const verdict = mannWhitneyJudge.judge({ metric, canary, baseline, state, config: judgeConfig });
    state = JSON.parse(JSON.stringify(verdict.state ?? null)) as JsonValue;
    verdicts.push({ ...verdict, state });
  }
  return verdicts;
}

const normal = gaussian(mulberry32(11));
const around = (mean: number, sd: number) => mean + sd * normal();

describe('mannWhitneyJudge', () => {
  it('is registered under its name', () => {
    expect(JUDGES.get('mannWhitney')).toBe(mannWhitneyJudge);
  });

  it('accumulates one point per arm per measurement and re-judges all of them', () => {
    const pairs: Array<[Sample, Sample]> = Array.from({ length: 20 }, () => [sample(around(0.3, 0.01)), sample(around(0.2, 0.01))]);
    const verdicts = run(pairs);
    const last = verdicts.at(-1)!;
    expect(last.details).toMatchObject({ classification: 'High', points: { canary: 20, baseline: 20 }, group: 'latency', confidence: 0.98, critical: false });
    expect(last.phase).toBe('Failed');
    expect((last.state as { canary: number[] }).canary).toHaveLength(20);
    expect((last.state as { canary: number[] }).canary[0]).toBe(pairs[0]![0].latency!.p99);
    // Each verdict saw every point so far.
    verdicts.forEach((verdict, i) => expect((verdict.details as { points: { canary: number } }).points.canary).toBe(i + 1));
    // Never a conclusion: the template's score decides.
    expect(verdicts.every((verdict) => verdict.conclusion === undefined)).toBe(true);
  });

  it('details are rounded to 4 significant digits', () => {
    const pairs: Array<[Sample, Sample]> = Array.from({ length: 12 }, () => [sample(around(0.3, 0.01)), sample(around(0.2, 0.01))]);
    const details = run(pairs).at(-1)!.details as { hodgesLehmann: number; interval: [number, number]; effectSize: number; pValue: number };
    for (const value of [details.hodgesLehmann, ...details.interval, details.effectSize, details.pValue]) {
      expect(Number(value.toPrecision(4))).toBe(value);
    }
    expect(details.effectSize).toBeGreaterThan(1.3);
    expect(details.interval[0]).toBeLessThan(details.hodgesLehmann);
  });

  it('passes a healthy canary and maps classifications to phases', () => {
    const healthy = run(Array.from({ length: 15 }, () => [sample(around(0.2, 0.01)), sample(around(0.2, 0.01))] as [Sample, Sample]));
    expect(healthy.at(-1)!).toMatchObject({ phase: 'Successful', details: { classification: 'Pass' } });
    const faster = run(Array.from({ length: 15 }, () => [sample(around(0.1, 0.01)), sample(around(0.2, 0.01))] as [Sample, Sample]));
    expect(faster.at(-1)!).toMatchObject({ phase: 'Failed', details: { classification: 'Low' } });
    const onlyIncrease = run(
      Array.from({ length: 15 }, () => [sample(around(0.1, 0.01)), sample(around(0.2, 0.01))] as [Sample, Sample]),
      latencyMetric,
      config({ direction: 'increase' }),
    );
    expect(onlyIncrease.at(-1)!.phase).toBe('Successful');
  });

  it('identical error rates pass from the first measurement', () => {
    const verdicts = run([[sample(0.1, 0), sample(0.1, 0)], [sample(0.1, 0), sample(0.1, 0)]], errorMetric);
    expect(verdicts.map((v) => v.phase)).toEqual(['Successful', 'Successful']);
  });

  it('too few points to classify: Inconclusive with classification Error, then High once 98% is reachable', () => {
    const pairs: Array<[Sample, Sample]> = Array.from({ length: 6 }, (_, i) => [sample(0.3 + i * 0.001), sample(0.2 + i * 0.001)]);
    const verdicts = run(pairs, latencyMetric, config({ critical: true }));
    // 1 + 1 points: every observation ties at the shift (Kayenta's Error).
    expect(verdicts[0]).toMatchObject({ phase: 'Inconclusive', details: { classification: 'Error', critical: false, hodgesLehmann: null, interval: null } });
    expect(verdicts[0]!.message).toMatch(/tied/);
    // 2..4 points per arm, fully separated: Kayenta would say High on the range of differences.
    for (const verdict of verdicts.slice(1, 4)) {
      expect(verdict).toMatchObject({ phase: 'Inconclusive', details: { classification: 'Error', critical: false } });
      expect(verdict.message).toMatch(/too few points/);
    }
    expect(verdicts[4]).toMatchObject({ phase: 'Failed', details: { classification: 'High', critical: true, points: { canary: 5, baseline: 5 } } });
  });

  it('a critical error-rate regression against a zero baseline forces 0 once 5 + 5 points are in', () => {
    const pairs: Array<[Sample, Sample]> = [0.31, 0.29, 0.3, 0.32, 0.28].map((rate) => [sample(0.1, rate), sample(0.1, 0)]);
    const verdicts = run(pairs, errorMetric, config({ critical: true, direction: 'increase' }));
    expect(verdicts.slice(0, 4).map((v) => (v.details as { classification: string }).classification)).toEqual(['Error', 'Error', 'Error', 'Error']);
    expect(verdicts[4]).toMatchObject({ phase: 'Failed', details: { classification: 'High', critical: true, effectSize: null, interval: [0.28, 0.32] } });
  });

  it('a missing sample adds no point; no value is a NaN point for nanStrategy', () => {
    const noCanary = run([[null, sample(0.2)]]);
    expect(noCanary[0]).toMatchObject({ phase: 'Inconclusive', details: { classification: 'NoData', points: { canary: 0, baseline: 1 } } });
    expect(noCanary[0]!.state).toEqual({ canary: [], baseline: [0.2] });
    // No latency in the window: a null point, dropped under remove, 0 under replace.
    const removed = run([[sample(null), sample(0.2)]]);
    expect(removed[0]!.state).toEqual({ canary: [null], baseline: [0.2] });
    expect(removed[0]!.details).toMatchObject({ classification: 'NoData', points: { canary: 0, baseline: 1 } });
    const replaced = run([[sample(null), sample(0.2)], [sample(null), sample(0.21)]], latencyMetric, config({ nanStrategy: 'replace' }));
    expect(replaced[1]!.details).toMatchObject({ points: { canary: 2, baseline: 2 } });
    // A critical metric without data is flagged critical.
    expect(run([[null, sample(0.2)]], latencyMetric, config({ critical: true }))[0]!.details).toMatchObject({ classification: 'NoData', critical: true });
  });

  it('keeps at most MAX_POINTS per arm, the newest', () => {
    const old = Array.from({ length: MAX_POINTS }, (_, i) => i);
    const verdict = mannWhitneyJudge.judge({ metric: promMetric, canary: sample(1, 0, 5000), baseline: sample(1, 0, 6000), state: { canary: old, baseline: old }, config: config() });
    const state = verdict.state as { canary: number[]; baseline: number[] };
    expect(state.canary).toHaveLength(MAX_POINTS);
    expect(state.canary[0]).toBe(1);
    expect(state.canary.at(-1)).toBe(5000);
    expect(state.baseline.at(-1)).toBe(6000);
    expect(verdict.details).toMatchObject({ points: { canary: MAX_POINTS, baseline: MAX_POINTS } });
  });

  it('starts over from malformed state', () => {
    expect(readState(null)).toEqual({ canary: [], baseline: [] });
    expect(readState([1, 2])).toEqual({ canary: [], baseline: [] });
    expect(readState({ canary: [1, 'x', null], baseline: 3 })).toEqual({ canary: [1, null, null], baseline: [] });
  });

  it('takes the point from value, else from the builtin metric', () => {
    expect(pointOf(sample(0.4, 0.02, 7), latencyMetric)).toBe(7);
    expect(pointOf(sample(0.4, 0.02), latencyMetric)).toBe(0.4);
    expect(pointOf(sample(0.4, 0.02), { ...latencyMetric, provider: { builtin: { metric: 'latency', quantile: 0.9 } } })).toBe(0.2);
    expect(pointOf(sample(0.4, 0.02), errorMetric)).toBe(0.02);
    expect(pointOf(sample(0.4, null), errorMetric)).toBeNull();
    expect(pointOf(sample(0.4, 0.02, 12.5), { ...errorMetric, provider: { builtin: { metric: 'requestRate' } } })).toBe(12.5);
    expect(pointOf(sample(0.4, 0.02, null), promMetric)).toBeNull();
    expect(pointOf(sample(0.4, 0.02, NaN), promMetric)).toBeNull();
    expect(pointOf(null, promMetric)).toBeUndefined();
    expect([0.5, 0.9, 0.95, 0.99, 0.75, undefined].map(latencyField)).toEqual(['p50', 'p90', 'p95', 'p99', 'p99', 'p99']);
  });

  it('check rejects CEL conditions and nothing else', () => {
    expect(mannWhitneyJudge.check(latencyMetric, config())).toEqual([]);
    expect(mannWhitneyJudge.check({ ...latencyMetric, successCondition: 'true', failureCondition: 'false' }, config())).toEqual([
      { field: 'successCondition', message: 'the mannWhitney judge compares the arms; remove the condition' },
      { field: 'failureCondition', message: 'the mannWhitney judge compares the arms; remove the condition' },
    ]);
    const problems = checkAnalysisTemplate({ judge: { mannWhitney: { confidence: 0.98, tolerance: 0.25, allowedIncrease: 1, criticalIncrease: 1, direction: 'either', nanStrategy: 'remove', pass: 95, marginal: 75 } }, metrics: [{ ...errorMetric, failureCondition: 'x' }] });
    expect(problems).toEqual([{ path: ['metrics', 0, 'failureCondition'], message: 'the mannWhitney judge compares the arms; remove the condition' }]);
  });

  it('reports settings of another judge as an Error instead of throwing', () => {
    const verdict = mannWhitneyJudge.judge({ metric: latencyMetric, canary: sample(0.1), baseline: sample(0.1), state: null, config: { kind: 'threshold' } });
    expect(verdict.phase).toBe('Error');
  });
});
