import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/core/rollout/decide.js';
import { dueMeasurements } from '../../../src/core/rollout/due.js';
import type { RolloutStrategySpec } from '../../../src/core/resources/rollout-strategy.js';
import type { Action, DecideResult } from '../../../src/core/rollout/types.js';
import { actionTypes, canarySpec, errorRateTemplate, failing, healthy, op, sample, World } from './harness.js';

const happyStrategy: RolloutStrategySpec = {
  canary: {
    steps: [{ setWeight: 5 }, { analysis: { templates: [{ templateName: 'error-rate' }] } }, { setWeight: 25 }, { pause: { duration: '2m' } }, { setWeight: 100 }],
  },
};
const happySpec = () => canarySpec(happyStrategy, { 'error-rate': errorRateTemplate({ count: 3 }) });

const ofType = <T extends Action['type']>(result: DecideResult, type: T) => result.actions.filter((action): action is Extract<Action, { type: T }> => action.type === type);

describe('canary: the happy path 5% → analysis → 25% → pause 2m → 100%', () => {
  it('walks every step pass by pass, ends Healthy and retires the old version after the delay', () => {
    const world = new World(happySpec());
    world.startsAs = 'starting';

    // Pass 1: the new version is ensured; nothing shifts before it is ready.
    let result = world.pass();
    expect(result.status.phase).toBe('Progressing');
    expect(ofType(result, 'ensureVersion')).toEqual([expect.objectContaining({ version: '1.1.0', role: 'canary', canaryWeight: 0, idempotencyKey: 'checkout-7/a1/init/ensure=1.1.0' })]);
    expect(ofType(result, 'setWeight')).toEqual([]);
    expect(result.requeueAfterMs).toBe(1000);
    expect(result.events.map((event) => event.type)).toEqual(['RolloutStarted']);

    // Pass 2: still starting: wait.
    result = world.after(1000);
    expect(result.actions).toEqual([]);
    expect(result.status.message).toMatch(/waiting for 1\.1\.0 to be ready/);

    // Pass 3: ready → backends + 5%.
    world.target.set('1.1.0', { state: 'ready' });
    result = world.after(1000);
    expect(actionTypes(result)).toEqual(['setWeight', 'setBackends', 'setWeight']);
    expect(ofType(result, 'setWeight').map((action) => action.canaryWeight)).toEqual([0, 5]);
    expect(ofType(result, 'setWeight')[1]!.idempotencyKey).toBe('checkout-7/a1/s0/setWeight=5');
    expect(result.status.canaryWeight).toBe(5);
    expect(result.status.stepIndex).toBe(0);

    // Pass 4: the router reports 5% → step done; the analysis run starts (first measurement in 10 s).
    result = world.after(1000);
    expect(result.status.stepIndex).toBe(1);
    expect(result.status.analysisRuns).toHaveLength(1);
    expect(result.status.analysisRuns[0]).toMatchObject({ id: 'a1/s1', kind: 'step', phase: 'Running' });
    expect(result.requeueAfterMs).toBe(10_000);
    expect(dueMeasurements(world.spec, world.status, world.now)).toEqual([]);
    const runStart = world.now;

    // Passes 5-7: three measurements, each stored with its inputs.
    expect(dueMeasurements(world.spec, world.status, world.now + 10_000)).toEqual([
      expect.objectContaining({ runId: 'a1/s1', metric: 'error-rate/error-rate', window: { startMs: runStart, endMs: runStart + 10_000 }, versions: { baseline: '1.0.0', canary: '1.1.0' } }),
    ]);
    result = world.after(10_000);
    const metric = () => world.status!.analysisRuns[0]!.metrics[0]!;
    expect(metric().counted).toBe(1);
    expect(metric().measurements[0]).toMatchObject({
      seq: 1,
      phase: 'Successful',
      window: { startMs: runStart, endMs: runStart + 10_000 },
      inputs: { baseline: healthy.baseline, canary: healthy.canary, successCondition: 'canary.errorRate <= 0.05', failureCondition: null },
      details: { success: true, failure: null },
    });
    result = world.after(10_000);
    expect(result.status.stepIndex).toBe(1);
    result = world.after(10_000);
    expect(result.status.analysisRuns[0]!.phase).toBe('Successful');
    // Same pass: analysis done → 25% sent.
    expect(result.status.stepIndex).toBe(2);
    expect(ofType(result, 'setWeight').map((action) => action.canaryWeight)).toEqual([25]);

    // Router reports 25% → pause 2m.
    result = world.after(1000);
    expect(result.status.phase).toBe('Paused');
    expect(result.status.pause).toMatchObject({ reason: 'pauseStep', until: world.now + 120_000 });
    expect(result.requeueAfterMs).toBe(120_000);

    // A pass during the pause changes nothing.
    result = world.after(60_000);
    expect(result.actions).toEqual([]);
    expect(result.status.phase).toBe('Paused');

    // Pause over → 100%.
    result = world.after(60_000);
    expect(result.status.phase).toBe('Progressing');
    expect(ofType(result, 'setWeight').map((action) => action.canaryWeight)).toEqual([100]);

    // Router reports 100% → promotion.
    result = world.after(1000);
    expect(result.status.phase).toBe('Healthy');
    expect(result.status).toMatchObject({ stableVersion: '1.1.0', previousStableVersion: '1.0.0', canaryWeight: 100, headerRoute: null });
    expect(ofType(result, 'markStable')).toEqual([expect.objectContaining({ version: '1.1.0', previous: '1.0.0', idempotencyKey: 'checkout-7/a1/promote/markStable=1.1.0' })]);
    expect(ofType(result, 'notify')).toEqual([expect.objectContaining({ event: 'Promoted', phase: 'Healthy' })]);
    expect(result.status.retirements).toEqual([{ version: '1.0.0', notBefore: world.now + 30_000, retiredAt: null, reason: 'replaced by 1.1.0' }]);
    expect(result.requeueAfterMs).toBe(30_000);
    expect(world.router).toEqual({ canaryWeight: 0, stableVersion: '1.1.0', canaryVersion: null, headerRoute: null });

    // Not before the delay.
    result = world.after(10_000);
    expect(ofType(result, 'retireVersion')).toEqual([]);
    result = world.after(20_000);
    expect(ofType(result, 'retireVersion')).toEqual([expect.objectContaining({ version: '1.0.0' })]);
    expect(result.status.retirements[0]!.retiredAt).toBe(world.now);
    expect(result.requeueAfterMs).toBeNull();
    expect(world.target.has('1.0.0')).toBe(false);

    // Finished: further passes are no-ops.
    result = world.after(60_000);
    expect(result.actions).toEqual([]);
    expect(result.events).toEqual([]);
    expect(result.requeueAfterMs).toBeNull();
    expect(result.status.history.map((event) => event.type)).toEqual(
      expect.arrayContaining(['RolloutStarted', 'NewVersionReady', 'TrafficShifted', 'StepCompleted', 'AnalysisStarted', 'AnalysisCompleted', 'Paused', 'Resumed', 'Promoted', 'VersionRetired']),
    );
  });

  it('completes a weight step right after the action when the router cannot verify', () => {
    const world = new World(happySpec(), { verify: false });
    world.pass();
    let result = world.after(1000);
    expect(ofType(result, 'setWeight').map((action) => action.canaryWeight)).toEqual([0, 5]);
    expect(result.status.stepIndex).toBe(0);
    result = world.after(1000);
    expect(result.status.stepIndex).toBe(1);
    const final = world.runUntil((r) => r.status.phase === 'Healthy');
    expect(final.status.phase).toBe('Healthy');
  });
});

describe('canary: step kinds', () => {
  it('setWeight waits for the router and re-sends the weight when it reports something else', () => {
    const world = new World(canarySpec({ canary: { steps: [{ setWeight: 30 }] } }));
    world.pass();
    world.router.canaryWeight = 0;
    const sent = world.after(1000);
    expect(ofType(sent, 'setWeight').map((action) => action.canaryWeight)).toEqual([0, 30]);
    world.router.canaryWeight = 10; // the data plane lost it
    let result = world.after(1000);
    expect(result.status.stepIndex).toBe(0);
    expect(result.actions).toEqual([]);
    result = world.after(5000);
    expect(ofType(result, 'setWeight')).toEqual([expect.objectContaining({ canaryWeight: 30, idempotencyKey: 'checkout-7/a1/s0/setWeight=30/r1' })]);
    result = world.after(1000);
    expect(result.status.phase).toBe('Healthy');
  });

  it('pause without duration waits for promote', () => {
    const world = new World(canarySpec({ canary: { steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }] } }));
    world.pass();
    world.after(1000);
    let result = world.after(1000);
    expect(result.status.phase).toBe('Paused');
    expect(result.status.pause).toMatchObject({ reason: 'pauseStep', until: null });
    expect(result.requeueAfterMs).toBeNull();
    expect(ofType(result, 'notify')).toEqual([expect.objectContaining({ event: 'Paused' })]);
    result = world.after(3_600_000);
    expect(result.status.phase).toBe('Paused');
    // resume is not the way out of a pause step.
    result = world.after(1000, [op('resume')]);
    expect(result.operationResults[0]).toMatchObject({ accepted: false, message: expect.stringMatching(/use promote/) });
    result = world.after(1000, [op('promote', 'user:bob', 'looks good')]);
    expect(result.operationResults[0]).toMatchObject({ accepted: true });
    expect(result.status.phase).toBe('Progressing');
    expect(result.status.stepIndex).toBe(2);
    expect(ofType(result, 'setWeight').map((action) => action.canaryWeight)).toEqual([50]);
    expect(result.events.find((event) => event.type === 'StepSkipped')).toMatchObject({ actor: 'user:bob', message: expect.stringMatching(/looks good/) });
  });

  it('setHeaderRoute sends matching requests to the canary; promotion removes it', () => {
    const strategy: RolloutStrategySpec = {
      canary: {
        steps: [
          { setHeaderRoute: { name: 'beta', match: [{ headerName: 'x-beta', headerValue: { exact: 'yes' } }] } },
          { setWeight: 20 },
        ],
      },
    };
    const world = new World(canarySpec(strategy));
    world.pass();
    let result = world.after(1000);
    expect(ofType(result, 'setHeaderRoute')).toEqual([
      expect.objectContaining({ route: { name: 'beta', match: [{ headerName: 'x-beta', exact: 'yes' }] }, idempotencyKey: 'checkout-7/a1/s0/headerRoute=beta' }),
    ]);
    expect(result.status.headerRoute).toEqual({ name: 'beta', match: [{ headerName: 'x-beta', exact: 'yes' }] });
    expect(world.router.headerRoute).toBe('beta');
    result = world.after(1000);
    expect(result.status.stepIndex).toBe(1);
    result = world.after(1000);
    expect(result.status.phase).toBe('Healthy');
    expect(result.status.headerRoute).toBeNull();
    expect(world.router.headerRoute).toBeNull();
  });

  it('an empty setHeaderRoute match removes the route', () => {
    const strategy: RolloutStrategySpec = {
      canary: {
        steps: [
          { setHeaderRoute: { name: 'beta', match: [{ headerName: 'x-beta', headerValue: { prefix: 'y' } }] } },
          { setHeaderRoute: { name: 'beta', match: [] } },
          { pause: {} },
        ],
      },
    };
    const world = new World(canarySpec(strategy));
    const result = world.runUntil((r) => r.status.phase === 'Paused');
    expect(result.status.headerRoute).toBeNull();
    expect(world.router.headerRoute).toBeNull();
    expect(world.applied.filter((action) => action.type === 'setHeaderRoute').map((action) => (action as { route: unknown }).route)).toEqual([
      { name: 'beta', match: [{ headerName: 'x-beta', prefix: 'y' }] },
      null,
    ]);
  });

  it('analysis step: a failing measurement aborts with weight 0 in the same pass', () => {
    let bad = false;
    const world = new World(happySpec(), { provider: () => (bad ? failing : healthy) });
    world.pass();
    world.after(1000);
    world.after(1000);
    expect(world.status!.stepIndex).toBe(1);
    bad = true;
    const result = world.after(10_000);
    expect(result.status.phase).toBe('Aborted');
    expect(result.status.canaryWeight).toBe(0);
    expect(result.status.headerRoute).toBeNull();
    expect(result.status.abort).toMatchObject({ reason: 'AnalysisFailed', actor: 'system', message: expect.stringMatching(/error-rate\/error-rate: 1 failed measurement/) });
    expect(actionTypes(result)).toEqual(['setWeight', 'setHeaderRoute', 'notify']);
    expect(ofType(result, 'setWeight')[0]).toMatchObject({ canaryWeight: 0, idempotencyKey: 'checkout-7/a1/abort/setWeight=0' });
    expect(world.router.canaryWeight).toBe(0);
    const run = result.status.analysisRuns[0]!;
    expect(run.phase).toBe('Failed');
    expect(run.metrics[0]!.measurements[0]).toMatchObject({ phase: 'Failed', inputs: { canary: failing.canary }, details: { success: false } });
    // The canary retires after the scale-down delay; stable keeps serving.
    expect(result.status.retirements).toEqual([expect.objectContaining({ version: '1.1.0', notBefore: world.now + 30_000 })]);
    const later = world.after(30_000);
    expect(ofType(later, 'retireVersion')).toEqual([expect.objectContaining({ version: '1.1.0', idempotencyKey: 'checkout-7/a1/retire/1.1.0' })]);
    expect(later.requeueAfterMs).toBeNull();
    expect(world.target.has('1.0.0')).toBe(true);
  });

  it('a new version that fails to start aborts before any traffic moves', () => {
    const world = new World(happySpec(), { startsAs: 'starting' });
    world.pass();
    world.target.set('1.1.0', { state: 'failed', message: 'exit code 1' });
    const result = world.after(1000);
    expect(result.status.phase).toBe('Aborted');
    expect(result.status.abort).toMatchObject({ reason: 'NewVersionFailed', message: 'new version 1.1.0 failed: exit code 1' });
    expect(world.applied.filter((action) => action.type === 'setWeight').every((action) => (action as { canaryWeight: number }).canaryWeight === 0)).toBe(true);
  });
});

describe('canary: background analysis', () => {
  const strategy: RolloutStrategySpec = {
    canary: {
      steps: [{ setWeight: 10 }, { pause: { duration: '1m' } }, { setWeight: 50 }, { pause: { duration: '1m' } }],
      analysis: { templates: ['error-rate'], startingStep: 1 },
    },
  };

  it('starts at startingStep, measures across steps and pauses, and ends Successful on promotion', () => {
    const world = new World(canarySpec(strategy, { 'error-rate': errorRateTemplate() }));
    world.pass();
    world.after(1000);
    let result = world.after(1000);
    expect(result.status.stepIndex).toBe(1);
    expect(result.status.analysisRuns).toEqual([expect.objectContaining({ id: 'a1/background', kind: 'background' })]);
    expect(result.requeueAfterMs).toBe(10_000);
    result = world.runUntil((r) => r.status.phase === 'Healthy');
    expect(result.status.phase).toBe('Healthy');
    const run = result.status.analysisRuns[0]!;
    expect(run.phase).toBe('Successful');
    expect(run.metrics[0]!.counted).toBeGreaterThanOrEqual(12);
    expect(run.metrics[0]!.measurements.length).toBeLessThanOrEqual(20);
  });

  it('aborts when it fails, even during a pause step', () => {
    let calls = 0;
    const world = new World(canarySpec(strategy, { 'error-rate': errorRateTemplate() }), { provider: () => (++calls >= 3 ? failing : healthy) });
    const result = world.runUntil((r) => r.status.phase === 'Aborted');
    expect(result.status.phase).toBe('Aborted');
    expect(result.status.abort?.message).toMatch(/background analysis \(error-rate\) failed/);
    expect(ofType(result, 'setWeight')).toEqual([expect.objectContaining({ canaryWeight: 0 })]);
    expect(result.status.stepIndex).toBe(1);
  });
});

describe('canary: no data, inconclusive and errors', () => {
  it('no data pauses with a message naming the metric; resume measures again', () => {
    let noData = true;
    const world = new World(happySpec(), { provider: () => (noData ? { baseline: sample(1000, 5), canary: null } : healthy) });
    world.pass();
    world.after(1000);
    world.after(1000);
    let result = world.after(10_000);
    expect(result.status.phase).toBe('Paused');
    expect(result.status.pause).toMatchObject({ reason: 'noData', until: null });
    expect(result.status.pause!.message).toMatch(/error-rate\/error-rate: no data/);
    expect(result.status.analysisRuns[0]!.metrics[0]!.measurements[0]).toMatchObject({ phase: 'NoData', countedAs: 'noData', inputs: { canary: null } });
    expect(result.status.canaryWeight).toBe(5);
    expect(ofType(result, 'notify')).toEqual([expect.objectContaining({ event: 'Paused' })]);
    // Nothing is measured while it waits for a human.
    expect(dueMeasurements(world.spec, world.status, world.now + 60_000)).toEqual([]);
    result = world.after(60_000);
    expect(result.status.phase).toBe('Paused');
    noData = false;
    result = world.after(1000, [op('resume', 'user:carol', 'traffic generator restarted')]);
    expect(result.operationResults[0]!.accepted).toBe(true);
    expect(result.status.phase).toBe('Progressing');
    const metric = result.status.analysisRuns[0]!.metrics[0]!;
    expect(metric).toMatchObject({ phase: 'Running', windowStart: world.now, nextMeasurementAt: world.now + 10_000, acknowledged: { noData: 1 } });
    result = world.runUntil((r) => r.status.phase === 'Healthy');
    expect(result.status.phase).toBe('Healthy');
  });

  it('a field with no value in the window (0 requests → errorRate null) is NoData too', () => {
    const world = new World(happySpec(), { provider: () => ({ baseline: sample(1000, 5), canary: sample(0, 0) }) });
    const result = world.runUntil((r) => r.status.phase === 'Paused');
    expect(result.status.pause).toMatchObject({ reason: 'noData' });
    expect(result.status.analysisRuns[0]!.metrics[0]!.measurements[0]!.message).toBe('canary.errorRate had no value in the window');
  });

  it('noDataPolicy fail counts no data as a failure', () => {
    const world = new World(canarySpec(happyStrategy, { 'error-rate': errorRateTemplate({ noDataPolicy: 'fail' }) }), { provider: () => ({ baseline: null, canary: null }) });
    const result = world.runUntil((r) => r.status.phase === 'Aborted');
    expect(result.status.phase).toBe('Aborted');
    expect(result.status.analysisRuns[0]!.metrics[0]!.measurements[0]).toMatchObject({ phase: 'NoData', countedAs: 'failed' });
  });

  it('inconclusive beyond inconclusiveLimit pauses; promote skips the analysis', () => {
    const template = errorRateTemplate({ successCondition: 'canary.errorRate <= 0.01', failureCondition: 'canary.errorRate > 0.1', inconclusiveLimit: 1, count: 3 });
    const world = new World(canarySpec(happyStrategy, { 'error-rate': template }), { provider: () => ({ baseline: sample(1000, 5), canary: sample(100, 5) }) });
    world.pass();
    world.after(1000);
    world.after(1000);
    let result = world.after(10_000);
    expect(result.status.phase).toBe('Progressing'); // 1 inconclusive ≤ limit 1
    result = world.after(10_000);
    expect(result.status.phase).toBe('Paused');
    expect(result.status.pause).toMatchObject({ reason: 'inconclusive' });
    expect(result.status.pause!.message).toMatch(/2 inconclusive measurement\(s\), inconclusiveLimit 1/);
    result = world.after(1000, [op('promote')]);
    expect(result.status.analysisRuns[0]!.phase).toBe('Terminated');
    expect(result.status.stepIndex).toBe(2);
    expect(result.status.phase).toBe('Progressing');
  });

  it('consecutive errors beyond consecutiveErrorLimit (default 4) abort; a success resets the streak', () => {
    const answers: Array<'error' | 'ok'> = ['error', 'error', 'error', 'ok', 'error', 'error', 'error', 'error', 'error'];
    const world = new World(canarySpec(happyStrategy, { 'error-rate': errorRateTemplate({ count: 10 }) }), {
      provider: () => (answers.shift() === 'ok' ? healthy : { error: 'connection refused' }),
    });
    const result = world.runUntil((r) => r.status.phase === 'Aborted');
    const metric = result.status.analysisRuns[0]!.metrics[0]!;
    expect(metric).toMatchObject({ phase: 'Error', errors: 8, consecutiveErrors: 5, counted: 1 });
    expect(result.status.abort!.message).toMatch(/5 consecutive errors, consecutiveErrorLimit 4 \(last: provider: connection refused\)/);
  });

  it('a CEL evaluation error is an Error measurement with its text stored', () => {
    // Valid at apply time (the trial sample has errors), but divides by zero when the canary has no errors.
    const template = errorRateTemplate({ successCondition: 'int(canary.requests) / int(canary.errors) > 10', consecutiveErrorLimit: 0 });
    const world = new World(canarySpec(happyStrategy, { 'error-rate': template }), { provider: () => healthy });
    const result = world.runUntil((r) => r.status.phase !== 'Progressing');
    expect(result.status.phase).toBe('Aborted');
    const measurement = result.status.analysisRuns[0]!.metrics[0]!.measurements[0]!;
    expect(measurement).toMatchObject({ phase: 'Error', countedAs: 'error', inputs: { canary: healthy.canary } });
    expect(measurement.message).toMatch(/^successCondition: .*divi/i);
  });
});

describe('progress deadline', () => {
  const strategy = (abort: boolean): RolloutStrategySpec => ({ canary: { steps: [{ setWeight: 10 }, { setWeight: 20 }], progressDeadlineSeconds: 60, progressDeadlineAbort: abort } });

  it('aborts a step that makes no progress (router never reports the weight)', () => {
    const world = new World(canarySpec(strategy(true)));
    world.pass();
    world.after(1000);
    world.apply = (action) => {
      if (action.type !== 'setWeight') World.prototype.apply.call(world, action);
    };
    world.after(1000);
    let result = world.after(1000);
    expect(result.status.stepIndex).toBe(1);
    result = world.after(58_000);
    expect(result.status.phase).toBe('Progressing');
    result = world.after(1000);
    expect(result.status.phase).toBe('Aborted');
    expect(result.status.abort).toMatchObject({ reason: 'ProgressDeadlineExceeded', message: expect.stringMatching(/no progress for 60s at step 2 \(setWeight 20\): waiting for the router to report 20%/) });
    expect(ofType(result, 'setWeight')).toEqual([expect.objectContaining({ canaryWeight: 0 })]);
  });

  it('pauses instead with progressDeadlineAbort: false; resume restarts the clock', () => {
    const world = new World(canarySpec(strategy(false)), { startsAs: 'starting' });
    world.pass();
    let result = world.after(60_000);
    expect(result.status.phase).toBe('Paused');
    expect(result.status.pause).toMatchObject({ reason: 'progressDeadline', message: expect.stringMatching(/waiting for 1\.1\.0 to be ready/) });
    result = world.after(1000, [op('resume')]);
    expect(result.status.phase).toBe('Progressing');
    expect(result.status.lastProgressAt).toBe(world.now);
    expect(result.requeueAfterMs).toBe(1000);
  });

  it('paused time does not count toward the deadline', () => {
    const world = new World(canarySpec(strategy(true)), { startsAs: 'starting' });
    world.pass(); // t0
    world.after(40_000); // 40 s without progress
    let result = world.after(1000, [op('pause', 'user:dave', 'lunch')]); // paused at 41 s
    expect(result.status.phase).toBe('Paused');
    expect(result.status.pause).toMatchObject({ reason: 'user', actor: 'user:dave' });
    result = world.after(600_000);
    expect(result.status.phase).toBe('Paused');
    result = world.after(0, [op('resume', 'user:dave')]);
    expect(result.status.phase).toBe('Progressing');
    expect(world.now - result.status.lastProgressAt).toBe(41_000);
    result = world.after(18_000);
    expect(result.status.phase).toBe('Progressing');
    expect(result.requeueAfterMs).toBe(1000);
    result = world.after(1000);
    expect(result.status.phase).toBe('Aborted');
    expect(result.status.abort!.reason).toBe('ProgressDeadlineExceeded');
  });

  it('waiting for a scheduled measurement is not a stall', () => {
    const spec = canarySpec(
      { canary: { steps: [{ setWeight: 10 }, { analysis: { templates: ['slow'] } }], progressDeadlineSeconds: 30 } },
      { slow: errorRateTemplate({ interval: '2m' }) },
    );
    const world = new World(spec);
    const result = world.runUntil((r) => r.status.phase !== 'Progressing');
    expect(result.status.phase).toBe('Healthy');
  });
});

describe('operations', () => {
  const pausing = canarySpec({ canary: { steps: [{ setWeight: 10 }, { pause: { duration: '10m' } }, { setWeight: 40 }, { pause: {} }] } });

  it('promote skips a timed pause', () => {
    const world = new World(pausing);
    let result = world.runUntil((r) => r.status.phase === 'Paused');
    expect(result.status.stepIndex).toBe(1);
    result = world.after(1000, [op('promote')]);
    expect(result.status.stepIndex).toBe(2);
    expect(ofType(result, 'setWeight').map((action) => action.canaryWeight)).toEqual([40]);
  });

  it('promoteFull skips every remaining step and analysis and goes to 100%', () => {
    const spec = canarySpec(
      { canary: { steps: [{ setWeight: 10 }, { analysis: { templates: ['error-rate'] } }, { pause: {} }], analysis: { templates: ['error-rate'] } } },
      { 'error-rate': errorRateTemplate() },
    );
    const world = new World(spec);
    world.pass();
    world.after(1000);
    let result = world.after(1000);
    expect(result.status.analysisRuns.map((run) => run.id)).toEqual(['a1/background', 'a1/s1']);
    result = world.after(1000, [op('promoteFull', 'user:erin', 'hotfix')]);
    expect(result.operationResults[0]).toMatchObject({ accepted: true });
    expect(result.status.phase).toBe('Healthy');
    expect(result.status.analysisRuns.map((run) => run.phase)).toEqual(['Terminated', 'Terminated']);
    expect(actionTypes(result)).toContain('markStable');
  });

  it('abort: weight 0 and route removed at once, stable keeps serving, reason and actor recorded', () => {
    const world = new World(pausing);
    world.runUntil((r) => r.status.phase === 'Paused');
    const result = world.after(1000, [op('abort', 'user:frank', 'customer complaints')]);
    expect(result.operationResults[0]).toMatchObject({ accepted: true });
    expect(result.status.phase).toBe('Aborted');
    expect(result.status.abort).toMatchObject({ reason: 'OperatorAbort', actor: 'user:frank', message: 'aborted by user:frank: customer complaints' });
    expect(actionTypes(result).slice(0, 2)).toEqual(['setWeight', 'setHeaderRoute']);
    expect(result.status.canaryWeight).toBe(0);
    expect(result.status.pause).toBeNull();
    expect(result.requeueAfterMs).toBe(30_000);
  });

  it('retry after abort starts at step 0 with attempt 2 and new idempotency keys', () => {
    const world = new World(pausing);
    world.runUntil((r) => r.status.phase === 'Paused');
    world.after(1000, [op('abort')]);
    const firstKeys = new Set(world.applied.map((action) => action.idempotencyKey));
    let result = world.after(5000, [op('retry', 'user:grace')]);
    expect(result.operationResults[0]).toMatchObject({ accepted: true, message: 'attempt 2 started' });
    expect(result.status).toMatchObject({ attempt: 2, phase: 'Progressing', abort: null, retirements: [] });
    // The ensure and the first weight come again with attempt-2 keys.
    expect(result.actions.map((action) => action.idempotencyKey)).toContain('checkout-7/a2/init/ensure=1.1.0');
    result = world.runUntil((r) => r.status.phase === 'Paused');
    const secondKeys = world.applied.map((action) => action.idempotencyKey).filter((key) => !firstKeys.has(key));
    expect(secondKeys).toContain('checkout-7/a2/s0/setWeight=10');
    expect(world.applied.filter((action) => action.idempotencyKey.includes('/a2/')).every((action) => !firstKeys.has(action.idempotencyKey))).toBe(true);
    expect(result.status.stepIndex).toBe(1);
  });

  it('pause and resume by an operator', () => {
    const world = new World(canarySpec({ canary: { steps: [{ setWeight: 10 }, { setWeight: 20 }] } }));
    world.pass();
    let result = world.after(1000, [op('pause', 'user:heidi')]);
    expect(result.status.phase).toBe('Paused');
    expect(result.actions.filter((action) => action.type === 'setWeight')).toEqual([]);
    result = world.after(1000, [op('pause', 'user:ivan')]);
    expect(result.operationResults[0]).toMatchObject({ accepted: false, message: 'already paused by user:heidi' });
    result = world.after(1000, [op('resume', 'user:heidi')]);
    expect(result.status.phase).toBe('Progressing');
    expect(ofType(result, 'setWeight').map((action) => action.canaryWeight)).toEqual([0, 10]);
  });

  it.each([
    ['promote', 'Healthy', /nothing to promote: the rollout is Healthy/],
    ['promoteFull', 'Healthy', /nothing to promote/],
    ['abort', 'Healthy', /finished: 1\.1\.0 is stable; deploy 1\.0\.0 to roll back/],
    ['retry', 'Healthy', /only an aborted or degraded rollout can be retried/],
    ['pause', 'Healthy', /cannot pause/],
    ['resume', 'Healthy', /not paused/],
    ['resume', 'Progressing', /not paused/],
    ['retry', 'Progressing', /only an aborted/],
    ['abort', 'Aborted', /already aborted/],
    ['promote', 'Aborted', /nothing to promote/],
  ] as const)('rejects %s when %s, with a reason', (type, phase, message) => {
    const world = new World(canarySpec({ canary: { steps: [{ setWeight: 10 }, { pause: {} }] } }));
    world.pass();
    if (phase === 'Healthy') world.pass([op('promoteFull')]);
    if (phase === 'Aborted') world.pass([op('abort')]);
    expect(world.phase).toBe(phase);
    const result = world.after(1000, [op(type)]);
    expect(result.operationResults).toEqual([{ id: expect.any(String), type, accepted: false, message: expect.stringMatching(message) }]);
    expect(result.events.find((event) => event.type === 'OperationRejected')).toBeDefined();
    expect(result.status.phase).toBe(phase);
  });

  it('rejects an unknown operation without throwing', () => {
    const world = new World(happySpec());
    const result = world.pass([{ id: 'x', type: 'explode' as never, actor: 'user:mallory' }]);
    expect(result.operationResults).toEqual([{ id: 'x', type: 'explode', accepted: false, message: 'unknown operation "explode"' }]);
  });
});

describe('first deploy and trivial rollouts', () => {
  it('first deploy: ensure, then 100% without steps or analysis', () => {
    const world = new World(canarySpec(happyStrategy, { 'error-rate': errorRateTemplate() }, { stableVersion: null }), { startsAs: 'starting' });
    let result = world.pass();
    expect(result.status.strategy).toBe('direct');
    expect(ofType(result, 'ensureVersion')).toEqual([expect.objectContaining({ role: 'stable', canaryWeight: 100 })]);
    world.target.set('1.1.0', { state: 'ready' });
    result = world.after(1000);
    expect(result.status.phase).toBe('Healthy');
    expect(ofType(result, 'markStable')).toEqual([expect.objectContaining({ version: '1.1.0', previous: null })]);
    expect(result.status.retirements).toEqual([]);
    expect(result.requeueAfterMs).toBeNull();
  });

  it('a first deploy that never becomes ready hits the progress deadline', () => {
    const world = new World(canarySpec({ canary: { steps: [{ setWeight: 10 }], progressDeadlineSeconds: 5 } }, {}, { stableVersion: null }), { startsAs: 'starting' });
    const result = world.runUntil((r) => r.status.phase !== 'Progressing');
    expect(result.status.phase).toBe('Aborted');
  });
});

describe('degraded input', () => {
  it('a missing AnalysisTemplate degrades the rollout with a message naming it', () => {
    const world = new World(canarySpec(happyStrategy, {}));
    const result = world.pass();
    expect(result.status.phase).toBe('Degraded');
    expect(result.status.message).toMatch(/strategy\.canary\.steps\[1\]: AnalysisTemplate "error-rate" was not found/);
    expect(result.requeueAfterMs).toBeNull();
  });

  it('a bad CEL expression degrades the rollout naming the field', () => {
    const world = new World(canarySpec(happyStrategy, { 'error-rate': errorRateTemplate({ successCondition: 'canary.errorRate <= baseline.errorRate * 2' }) }));
    const result = world.pass();
    expect(result.status.phase).toBe('Degraded');
    expect(result.status.message).toMatch(/AnalysisTemplate "error-rate" metrics\[0\]\.successCondition: .*write 2\.0, not 2/);
  });

  it('a corrupt stored status degrades and sends traffic back to stable', () => {
    const result = decide({
      spec: happySpec(),
      status: { phase: 'Progressing', canaryWeight: 250 } as never,
      observations: { canary: null, stable: null, router: null, measurements: [], operations: [] },
      now: 5,
    });
    expect(result.status.phase).toBe('Degraded');
    expect(result.status.message).toMatch(/stored status is invalid/);
    expect(actionTypes(result)).toEqual(['setWeight', 'setHeaderRoute', 'notify']);
  });

  it('a spec whose versions changed mid-rollout degrades', () => {
    const world = new World(happySpec());
    world.pass();
    world.after(1000);
    world.spec = { ...world.spec, canaryVersion: '1.2.0' };
    const result = world.after(1000);
    expect(result.status.phase).toBe('Degraded');
    expect(result.status.message).toMatch(/1\.1\.0 → 1\.2\.0/);
    expect(result.status.canaryWeight).toBe(0);
  });
});

describe('Flagger form and recovery', () => {
  it('stepWeights with analysis walk to Healthy', () => {
    const spec = canarySpec({ canary: { stepWeights: [10, 50], analysis: { templates: ['error-rate'] } } }, { 'error-rate': errorRateTemplate() });
    const world = new World(spec);
    const result = world.runUntil((r) => r.status.phase !== 'Progressing');
    expect(result.status.phase).toBe('Healthy');
    expect(result.status.analysisRuns.map((run) => [run.id, run.phase])).toEqual([
      ['a1/s1', 'Successful'],
      ['a1/s3', 'Successful'],
    ]);
    expect(world.applied.filter((action) => action.type === 'setWeight').map((action) => (action as { canaryWeight: number }).canaryWeight)).toEqual([0, 10, 50]);
  });

  it('a degraded rollout can be retried once the spec is fixed', () => {
    const world = new World(canarySpec(happyStrategy, {}));
    expect(world.pass().status.phase).toBe('Degraded');
    world.spec = happySpec();
    const result = world.after(1000, [op('retry')]);
    expect(result.operationResults[0]!.accepted).toBe(true);
    expect(result.status).toMatchObject({ phase: 'Progressing', attempt: 2, stepCount: 5 });
    expect(world.runUntil((r) => r.status.phase === 'Healthy' || r.status.phase === 'Aborted').status.phase).toBe('Healthy');
  });

  it('a pass replayed after a crash emits the same idempotency keys', () => {
    const world = new World(happySpec());
    world.pass();
    const input = { spec: world.spec, status: world.status, observations: world.observations(), now: world.now + 1000 };
    const first = decide(JSON.parse(JSON.stringify(input)));
    const replay = decide(JSON.parse(JSON.stringify(input)));
    expect(replay.actions.map((action) => action.idempotencyKey)).toEqual(first.actions.map((action) => action.idempotencyKey));
    expect(first.actions.map((action) => action.idempotencyKey)).toEqual(['checkout-7/a1/init/setWeight=0', 'checkout-7/a1/init/backends', 'checkout-7/a1/s0/setWeight=5']);
  });
});
