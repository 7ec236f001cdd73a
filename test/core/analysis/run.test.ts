import { describe, expect, it } from 'vitest';
import { acknowledgeRun, createRun, dueMetrics, evaluateRun, MAX_MEASUREMENTS_KEPT, nextDueAt, recordMeasurement, stopRun } from '../../../src/core/analysis/run.js';
import type { AnalysisRunStatus, MetricSpec, SamplePair } from '../../../src/core/analysis/types.js';

const pair = (canaryErrors: number | null): SamplePair => ({
  baseline: { requests: 1000, errors: 10, errorRate: 0.01, latency: null },
  canary: canaryErrors === null ? null : { requests: 100, errors: canaryErrors, errorRate: canaryErrors / 100, latency: null },
});

const metricSpec = (overrides: Partial<MetricSpec> = {}): MetricSpec => ({
  name: 'errors',
  provider: { builtin: { metric: 'errorRate' } },
  interval: '1s',
  successCondition: 'canary.errorRate <= 0.02',
  failureCondition: 'canary.errorRate > 0.1',
  noDataPolicy: 'pause',
  ...overrides,
});

type Answer = number | null | 'error';

/** Runs a one-metric run through answers (canary error count per measurement, null = no data). */
function drive(spec: MetricSpec, answers: Answer[], defaultCount: number | null = 1): AnalysisRunStatus {
  const run = createRun({ id: 'r', kind: 'step', attempt: 1, stepIndex: 0, templates: [{ name: 't', spec: { metrics: [spec] } }], args: {}, startedAt: 0, defaultCount });
  for (const answer of answers) {
    const state = run.metrics[0]!;
    if (state.nextMeasurementAt === null) break;
    const now = state.nextMeasurementAt;
    recordMeasurement(state, spec, { window: { startMs: state.windowStart, endMs: now }, result: answer === 'error' ? { error: 'timeout' } : pair(answer) }, now);
    evaluateRun(run, now);
  }
  return run;
}

describe('analysis run', () => {
  it('schedules the first measurement one interval after start + initialDelay', () => {
    const run = createRun({
      id: 'r',
      kind: 'step',
      attempt: 1,
      stepIndex: 0,
      templates: [{ name: 't', spec: { metrics: [metricSpec({ interval: '30s', initialDelay: '1m' })] } }],
      args: {},
      startedAt: 1000,
      defaultCount: 1,
    });
    expect(run.metrics[0]).toMatchObject({ key: 't/errors', windowStart: 61_000, nextMeasurementAt: 91_000, judge: 'threshold' });
    expect(run.metrics[0]!.settings).toMatchObject({ count: 1, intervalMs: 30_000, failureLimit: 0, inconclusiveLimit: 0, consecutiveErrorLimit: 4, noDataPolicy: 'pause' });
    expect(dueMetrics(run, 90_999)).toEqual([]);
    expect(dueMetrics(run, 91_000)).toHaveLength(1);
    expect(nextDueAt(run)).toBe(91_000);
  });

  it('defaults: 1 minute interval; count 1 for step runs, unbounded for background', () => {
    const spec = metricSpec({ interval: undefined });
    const step = createRun({ id: 'r', kind: 'step', attempt: 1, stepIndex: 0, templates: [{ name: 't', spec: { metrics: [spec] } }], args: {}, startedAt: 0, defaultCount: 1 });
    expect(step.metrics[0]!.settings).toMatchObject({ intervalMs: 60_000, count: 1 });
    const background = drive(metricSpec(), Array(50).fill(0), null);
    expect(background.phase).toBe('Running');
    expect(background.metrics[0]!.counted).toBe(50);
    expect(background.metrics[0]!.measurements).toHaveLength(MAX_MEASUREMENTS_KEPT);
    expect(background.metrics[0]!.measurements[0]!.seq).toBe(31);
  });

  it.each<[string, Partial<MetricSpec>, Answer[], AnalysisRunStatus['phase'], RegExp | null]>([
    ['count reached', { count: 3 }, [0, 1, 0], 'Successful', null],
    ['a failure beyond failureLimit 0', { count: 3 }, [0, 50], 'Failed', /1 failed measurement\(s\), failureLimit 0/],
    ['failures within failureLimit', { count: 3, failureLimit: 1 }, [50, 0, 0], 'Successful', null],
    ['failures beyond failureLimit 1', { count: 5, failureLimit: 1 }, [50, 0, 50], 'Failed', /2 failed/],
    ['inconclusive beyond inconclusiveLimit 0', { count: 3 }, [5], 'Inconclusive', /1 inconclusive measurement\(s\), inconclusiveLimit 0/],
    ['inconclusive within inconclusiveLimit', { count: 3, inconclusiveLimit: 1 }, [5, 0, 0], 'Successful', null],
    ['4 consecutive errors are tolerated', { count: 1 }, ['error', 'error', 'error', 'error', 0], 'Successful', null],
    ['5 consecutive errors fail (consecutiveErrorLimit 4)', { count: 1 }, ['error', 'error', 'error', 'error', 'error'], 'Failed', /5 consecutive errors, consecutiveErrorLimit 4 \(last: provider: timeout\)/],
    ['a success resets the error streak', { count: 3, consecutiveErrorLimit: 1 }, ['error', 0, 'error', 0, 'error', 0], 'Successful', null],
    ['consecutiveErrorLimit 0', { count: 3, consecutiveErrorLimit: 0 }, ['error'], 'Failed', /1 consecutive errors/],
    ['no data pauses (noDataPolicy pause)', { count: 3 }, [0, null], 'Inconclusive', /t\/errors: no data/],
    ['no data fails (noDataPolicy fail)', { count: 3, noDataPolicy: 'fail' }, [0, null], 'Failed', /1 failed/],
    ['no data passes (noDataPolicy pass)', { count: 2, noDataPolicy: 'pass' }, [0, null], 'Successful', null],
  ])('%s', (_name, overrides, answers, phase, message) => {
    const run = drive(metricSpec(overrides), answers);
    expect(run.phase).toBe(phase);
    if (message) expect(run.message).toMatch(message);
  });

  it('errors do not count toward count; no data under pause does not either', () => {
    const run = drive(metricSpec({ count: 2 }), ['error', 0, 'error', 0]);
    expect(run.metrics[0]).toMatchObject({ phase: 'Successful', counted: 2, errors: 2, successful: 2 });
    expect(run.metrics[0]!.measurements.map((m) => m.countedAs)).toEqual(['error', 'successful', 'error', 'successful']);
  });

  it('ignores a duplicate or stale window and a run that is not measuring', () => {
    const spec = metricSpec({ count: 5 });
    const run = drive(spec, [0]);
    const state = run.metrics[0]!;
    const before = JSON.stringify(state);
    expect(recordMeasurement(state, spec, { window: { startMs: 0, endMs: state.windowStart }, result: pair(0) }, 10_000)).toBe(false);
    expect(recordMeasurement(state, spec, { window: { startMs: 0, endMs: 20_000 }, result: pair(0) }, 10_000)).toBe(false); // from the future
    expect(JSON.stringify(state)).toBe(before);
    stopRun(run, 'Terminated', 'skipped', 5000);
    expect(recordMeasurement(state, spec, { window: { startMs: 1000, endMs: 4000 }, result: pair(0) }, 5000)).toBe(false);
    expect(run).toMatchObject({ phase: 'Terminated', finishedAt: 5000, message: 'skipped' });
  });

  it('acknowledge (resume) measures again from now; only new inconclusive results count', () => {
    const spec = metricSpec({ count: 3 });
    const run = drive(spec, [5]);
    expect(run.phase).toBe('Inconclusive');
    acknowledgeRun(run, 50_000);
    const state = run.metrics[0]!;
    expect(run.phase).toBe('Running');
    expect(state).toMatchObject({ phase: 'Running', windowStart: 50_000, nextMeasurementAt: 51_000, acknowledged: { inconclusive: 1, noData: 0 } });
    recordMeasurement(state, spec, { window: { startMs: 50_000, endMs: 51_000 }, result: pair(0) }, 51_000);
    recordMeasurement(state, spec, { window: { startMs: 51_000, endMs: 52_000 }, result: pair(0) }, 52_000);
    evaluateRun(run, 52_000);
    expect(run.metrics[0]!.phase).toBe('Successful');
    expect(run).toMatchObject({ phase: 'Successful', finishedAt: 52_000 });
  });

  it('a run with several metrics succeeds only when all do and fails when one does', () => {
    const a = metricSpec({ name: 'a', count: 1 });
    const b = metricSpec({ name: 'b', count: 2 });
    const run = createRun({ id: 'r', kind: 'step', attempt: 1, stepIndex: 0, templates: [{ name: 't', spec: { metrics: [a, b] } }], args: {}, startedAt: 0, defaultCount: 1 });
    recordMeasurement(run.metrics[0]!, a, { window: { startMs: 0, endMs: 1000 }, result: pair(0) }, 1000);
    recordMeasurement(run.metrics[1]!, b, { window: { startMs: 0, endMs: 1000 }, result: pair(0) }, 1000);
    expect(run.metrics.map((m) => m.phase)).toEqual(['Successful', 'Running']);
    recordMeasurement(run.metrics[1]!, b, { window: { startMs: 1000, endMs: 2000 }, result: pair(90) }, 2000);
    expect(run.metrics.map((m) => m.phase)).toEqual(['Successful', 'Failed']);
  });
});
