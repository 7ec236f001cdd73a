import { describe, expect, it } from 'vitest';
import { availableOperations, chartData, evidenceOf, filterRolloutRows, formatField, metricSeries, planSteps, rolloutRows, stepTimeline, weightSeries } from './derive.js';
import { deployment, deploymentStatus, measurement, metric, rolloutStatus, run, STRATEGY, T0 } from './fixtures.js';

describe('rolloutRows', () => {
  it('lists every deployment newest first with phase, weight, start, duration and message (as `rollout history`)', () => {
    const now = T0 + 65_000;
    const rows = rolloutRows(
      [
        deployment('shop-1', { service: 'shop', version: '1.0.0' }, deploymentStatus(rolloutStatus({ phase: 'Healthy', canaryWeight: 100, finishedAt: T0 + 12_000, message: '1.0.0 is stable' })), new Date(T0 - 60_000).toISOString()),
        deployment('shop-2', { service: 'shop', environment: 'prod', version: '2.0.0' }, deploymentStatus(rolloutStatus()), new Date(T0).toISOString()),
        deployment('cart-1', { service: 'cart', version: '3.0.0' }, { failure: { message: 'strategy "x" not found', at: new Date(T0).toISOString() } }, new Date(T0 + 1000).toISOString()),
        deployment('cart-2', { service: 'cart', version: '3.1.0' }, null, new Date(T0 + 2000).toISOString()),
      ],
      now,
    );
    expect(rows.map((row) => [row.name, row.environment, row.phase, row.weight, row.durationMs, row.running, row.message])).toEqual([
      ['cart-2', 'default', 'Pending', null, null, false, 'waiting for the engine'],
      ['cart-1', 'default', 'Failed', null, null, false, 'cannot start: strategy "x" not found'],
      ['shop-2', 'prod', 'Progressing', 20, 65_000, true, 'step 2 of 4: analysis'],
      ['shop-1', 'default', 'Healthy', 100, 12_000, false, '1.0.0 is stable'],
    ]);
  });

  it('filters by service (or name), environment and phase', () => {
    const rows = rolloutRows(
      [deployment('shop-2', { service: 'shop', environment: 'prod', version: '2' }, deploymentStatus(rolloutStatus())), deployment('cart-1', { service: 'cart', version: '1' }, null)],
      T0,
    );
    expect(filterRolloutRows(rows, { service: 'SHO', environment: '', phase: '' }).map((r) => r.name)).toEqual(['shop-2']);
    expect(filterRolloutRows(rows, { service: '', environment: 'prod', phase: '' }).map((r) => r.name)).toEqual(['shop-2']);
    expect(filterRolloutRows(rows, { service: '', environment: '', phase: 'Pending' }).map((r) => r.name)).toEqual(['cart-1']);
  });
});

describe('availableOperations (mirrors decide())', () => {
  const types = (overrides: Parameters<typeof rolloutStatus>[0]) => availableOperations(rolloutStatus(overrides)).map((op) => op.type);
  it('offers what the phase allows', () => {
    expect(types({ phase: 'Progressing' })).toEqual(['promote', 'promoteFull', 'pause', 'abort']);
    expect(types({ phase: 'Paused', pause: { reason: 'pauseStep', message: '', since: T0, until: null, actor: 'system' } })).toEqual(['promote', 'promoteFull', 'pause', 'abort']);
    expect(types({ phase: 'Paused', pause: { reason: 'user', message: '', since: T0, until: null, actor: 'user:a' } })).toEqual(['promote', 'promoteFull', 'resume', 'abort']);
    expect(types({ phase: 'Paused', pause: { reason: 'inconclusive', message: '', since: T0, until: null, actor: 'system' } })).toEqual(['promote', 'promoteFull', 'resume', 'pause', 'abort']);
    expect(types({ phase: 'Paused', pause: { reason: 'gate', message: '', since: T0, until: null, actor: 'system' } })).toEqual(['pause', 'abort']);
    expect(types({ phase: 'Progressing', stepIndex: 4 })).toEqual(['promoteFull', 'pause', 'abort']);
    expect(types({ phase: 'Aborted' })).toEqual(['retry']);
    expect(types({ phase: 'Degraded' })).toEqual(['retry', 'abort']);
    expect(types({ phase: 'Healthy' })).toEqual([]);
    expect(availableOperations(null)).toEqual([]);
  });
});

describe('steps', () => {
  it('labels the plan as the engine does and marks done / current / next', () => {
    expect(planSteps({ strategy: STRATEGY } as never)!.map((step) => step.label)).toEqual(['setWeight 20', 'analysis golden', 'pause 3s', 'pause (until promoted)']);
    const timeline = stepTimeline(rolloutStatus(), { strategy: STRATEGY } as never);
    expect(timeline.map((step) => `${step.label}:${step.state}`)).toEqual(['setWeight 20:done', 'analysis golden:current', 'pause 3s:next', 'pause (until promoted):next']);
    expect(stepTimeline(rolloutStatus({ phase: 'Aborted' }), { strategy: STRATEGY } as never)[1]!.state).toBe('stopped');
  });

  it('expands Flagger stepWeights into weight + analysis steps, and blue-green into its phases', () => {
    expect(planSteps({ strategy: { canary: { stepWeights: [10, 50], analysis: { templates: ['golden'] } } } } as never)!.map((s) => s.label)).toEqual(['setWeight 10', 'analysis golden', 'setWeight 50', 'analysis golden']);
    expect(planSteps({ strategy: { blueGreen: { autoPromotionEnabled: false } } } as never)!.map((s) => s.label)).toEqual(['preview (x-rollgate-preview: true)', 'await promotion', 'switch 100% to the new version', 'remove preview route']);
  });

  it('falls back to the current step label when the plan is unknown', () => {
    expect(stepTimeline(rolloutStatus(), null).map((s) => s.label)).toEqual(['step 1', 'analysis golden', 'step 3', 'step 4']);
  });
});

describe('weightSeries', () => {
  it('is a step function from the traffic events, ending now', () => {
    expect(weightSeries(rolloutStatus(), T0 + 9_000)).toEqual([
      { at: T0, weight: 0 },
      { at: T0 + 2_000, weight: 20 },
      { at: T0 + 9_000, weight: 20 },
    ]);
  });

  it('drops to 0 on abort and ends when the rollout finished', () => {
    const status = rolloutStatus({ phase: 'Aborted', canaryWeight: 0, finishedAt: T0 + 7_000 });
    status.history.push({ seq: 4, at: T0 + 7_000, type: 'Aborted', attempt: 1, stepIndex: 1, phase: 'Aborted', actor: 'user:a', message: 'aborted by user:a' });
    expect(weightSeries(status, T0 + 60_000)).toEqual([
      { at: T0, weight: 0 },
      { at: T0 + 2_000, weight: 20 },
      { at: T0 + 7_000, weight: 0 },
    ]);
  });

  it('goes to 100 on promotion', () => {
    const status = rolloutStatus({ phase: 'Healthy', canaryWeight: 100, finishedAt: T0 + 8_000 });
    status.history.push({ seq: 4, at: T0 + 8_000, type: 'Promoted', attempt: 1, stepIndex: 4, phase: 'Healthy', actor: 'system', message: '2.0.0 is stable at 100%' });
    expect(weightSeries(status, T0 + 9_000).at(-1)).toEqual({ at: T0 + 8_000, weight: 100 });
  });
});

describe('metricSeries and evidence', () => {
  const first = run('a1/s1', [metric([measurement(1, T0 + 6_000, 1), measurement(2, T0 + 7_000, 2)])]);
  const failed = measurement(3, T0 + 9_000, 9, { phase: 'Failed', countedAs: 'failed' });
  const second = run('a1/s3', [metric([failed], { phase: 'Failed' })], { stepIndex: 3, startedAt: T0 + 8_000, finishedAt: T0 + 9_100, phase: 'Failed' });
  const old = run('a0', [metric([measurement(1, T0, 0)])], { attempt: 0 });

  it('joins the current attempt runs per metric, oldest first, with the moments verdicts fell', () => {
    const [series, ...rest] = metricSeries(rolloutStatus({ analysisRuns: [second, first, old] }));
    expect(rest).toEqual([]);
    expect(series!.key).toBe('golden/errors');
    expect(series!.fields).toEqual(['errorRate']);
    expect(series!.measurements.map((m) => `${m.runId}#${m.seq}`)).toEqual(['a1/s1#1', 'a1/s1#2', 'a1/s3#3']);
    expect(series!.verdicts).toEqual([
      { at: T0 + 9_100, label: '#3 failed', tone: 'bad' },
      { at: T0 + 9_100, label: 'a1/s3: Failed', tone: 'bad' },
    ]);
    const [xs, canary, baseline] = chartData(series!, 'errorRate');
    expect(xs).toEqual([(T0 + 6_000) / 1000, (T0 + 7_000) / 1000, (T0 + 9_000) / 1000]);
    expect(canary).toEqual([0.01, 0.02, 0.09]);
    expect(baseline).toEqual([0.0025, 0.0025, 0.0025]);
  });

  it('reads the fields a threshold condition names', () => {
    const m = metric([measurement(1, T0, 0)], { judge: 'threshold', settings: { ...metric([]).settings, successCondition: 'canary.p99 <= baseline.p99 * 1.2 && canary.errorRate < 0.01' } });
    const [series] = metricSeries(rolloutStatus({ analysisRuns: [run('a1/s1', [m])] }));
    expect(series!.fields).toEqual(['p99', 'errorRate']);
  });

  it('reads the sequential judge evidence, the Mann-Whitney classification and threshold results', () => {
    const evidence = evidenceOf(measurement(1, T0, 1).details);
    expect(evidence).toMatchObject({ kind: 'sequential', verdict: 'running', tests: [{ name: 'errors', eValue: 3.2, threshold: 40, estimate: 1.8, lower: 0.6, upper: 5.1, samples: 'canary 1 of 100 · baseline 1 of 400' }] });
    expect(evidenceOf({ classification: 'High', critical: true, hodgesLehmann: 0.4, interval: [0.1, 0.7], confidence: 0.95, effectSize: 1.3, points: { canary: 10, baseline: 10 } })).toMatchObject({ kind: 'mannWhitney', classification: 'High', critical: true, interval: [0.1, 0.7], points: '10 vs 10 points' });
    expect(evidenceOf({ success: true, failure: false })).toEqual({ kind: 'threshold', success: true, failure: false });
    expect(evidenceOf(null)).toEqual({ kind: 'none' });
  });

  it('formats values as the CLI does', () => {
    expect(formatField('errorRate', 0.0123)).toBe('1.23%');
    expect(formatField('p99', 0.0456)).toBe('46ms');
    expect(formatField('p99', 1.5)).toBe('1.50s');
    expect(formatField('requests', 12345)).toBe('12,345');
    expect(formatField('errorRate', null)).toBe('–');
  });
});
