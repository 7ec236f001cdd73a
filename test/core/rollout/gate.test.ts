/**
 * decide() and the runtime governance gate: a closed gate holds a rollout before it deploys or
 * between steps (pause reason `gate`), analysis keeps running, the pause ends by itself when the
 * gate opens, and operators can abort and pause but not resume or promote.
 */
import { describe, expect, it } from 'vitest';
import { decide, GATE_POLL_MS } from '../../../src/core/rollout/decide.js';
import { parseRolloutStatus } from '../../../src/core/rollout/status-schema.js';
import type { RolloutStrategySpec } from '../../../src/core/resources/rollout-strategy.js';
import type { Action, DecideResult, GateObservation } from '../../../src/core/rollout/types.js';
import { canarySpec, errorRateTemplate, failing, op, World } from './harness.js';

const closed = (message = 'waiting for approval of change chg-00012: cab 1 of 2', until: number | null = null): GateObservation => ({ open: false, message, until });
const open: GateObservation = { open: true, message: 'change chg-00012 is authorized (Scheduled)', until: null };

/** A World whose every pass observes `world.gate`. */
function gatedWorld(strategy: RolloutStrategySpec, templates = {}, extra = {}, options = {}) {
  const world = new World(canarySpec(strategy, templates, extra), options) as World & { gate: GateObservation | null };
  world.gate = null;
  const observe = world.observations.bind(world);
  world.observations = (operations = []) => ({ ...observe(operations), gate: world.gate });
  return world;
}

const types = (result: DecideResult) => result.events.map((event) => event.type);
const ofType = <T extends Action['type']>(result: DecideResult, type: T) => result.actions.filter((action): action is Extract<Action, { type: T }> => action.type === type);
const twoSteps: RolloutStrategySpec = { canary: { steps: [{ setWeight: 10 }, { setWeight: 50 }] } };
const withAnalysis: RolloutStrategySpec = { canary: { steps: [{ setWeight: 10 }, { analysis: { templates: [{ templateName: 'error-rate' }] } }, { setWeight: 50 }] } };

describe('decide(): a closed gate holds a rollout before it deploys', () => {
  it('pauses with reason gate and the gate message, deploys nothing, notifies once, and starts when the gate opens', () => {
    const world = gatedWorld(twoSteps);
    world.gate = closed();

    let result = world.pass();
    expect(result.status.phase).toBe('Paused');
    expect(result.status.pause).toMatchObject({ reason: 'gate', actor: 'system', until: null, message: 'held by the governance gate: waiting for approval of change chg-00012: cab 1 of 2' });
    expect(result.status.message).toBe(result.status.pause!.message);
    expect(ofType(result, 'ensureVersion')).toEqual([]);
    expect(types(result)).toEqual(['RolloutStarted', 'Paused']);
    expect(ofType(result, 'notify')).toEqual([expect.objectContaining({ event: 'Paused', message: expect.stringContaining('governance gate') })]);
    expect(result.status.newVersion.ensuredAt).toBeNull();
    expect(parseRolloutStatus(result.status).ok).toBe(true);

    // Same message: nothing new (no event spam, no write).
    result = world.after(GATE_POLL_MS);
    expect(result.events).toEqual([]);
    expect(result.actions).toEqual([]);

    // The message changes (one more approval): one Paused event, no new notification.
    world.gate = closed('waiting for approval of change chg-00012: cab 2 of 3');
    result = world.after(GATE_POLL_MS);
    expect(types(result)).toEqual(['Paused']);
    expect(result.events[0]!.message).toMatch(/cab 2 of 3/);
    expect(ofType(result, 'notify')).toEqual([]);
    expect(result.status.pause!.message).toMatch(/cab 2 of 3/);

    world.gate = open;
    result = world.after(GATE_POLL_MS);
    expect(types(result)[0]).toBe('Resumed');
    expect(result.events[0]!.message).toBe('governance gate opened: change chg-00012 is authorized (Scheduled)');
    expect(result.status.pause).toBeNull();
    expect(ofType(result, 'ensureVersion')).toEqual([expect.objectContaining({ version: '1.1.0' })]);
    const final = world.runUntil((r) => r.status.phase === 'Healthy');
    expect(final.status.phase).toBe('Healthy');
  });

  it('holds a first deploy (direct) too, and a missing gate is an open one', () => {
    const world = gatedWorld({ canary: { steps: [] } }, {}, { stableVersion: null });
    world.gate = closed('blocked by blackout window "freeze" until Mon 2026-01-05 06:00 UTC (UTC+00:00)');
    expect(world.pass().status.pause?.reason).toBe('gate');
    expect(world.applied.filter((action) => action.type !== 'notify')).toEqual([]);
    world.gate = null;
    const result = world.after(1000);
    expect(result.events[0]).toMatchObject({ type: 'Resumed', message: 'governance gate opened: no governance gate applies any more' });
    expect(world.runUntil((r) => r.status.phase === 'Healthy').status.phase).toBe('Healthy');
  });

  it('holds a direct deploy that is already running before it is marked stable', () => {
    const world = gatedWorld({ canary: { steps: [] } }, {}, { stableVersion: null }, { startsAs: 'starting' });
    expect(ofType(world.pass(), 'ensureVersion')).toHaveLength(1);
    world.gate = closed('policy no-friday: no deployments on Friday');
    world.target.set('1.1.0', { state: 'ready' });
    let result = world.after(1000);
    expect(result.status.pause?.reason).toBe('gate');
    expect(ofType(result, 'markStable')).toEqual([]);
    world.gate = open;
    result = world.after(GATE_POLL_MS);
    expect(result.status.phase).toBe('Healthy');
  });

  it('treats a malformed gate observation as closed (fails closed)', () => {
    const world = new World(canarySpec(twoSteps));
    const result = world.pass([], { gate: { open: 'yes' } as unknown as GateObservation });
    expect(result.status.pause).toMatchObject({ reason: 'gate', message: 'held by the governance gate: the governance gate observation is invalid' });
    expect(ofType(result, 'ensureVersion')).toEqual([]);
  });
});

describe('decide(): a closed gate holds a running rollout between steps', () => {
  it('stays at the current weight, sends no traffic action, then continues when the gate opens', () => {
    const world = gatedWorld(twoSteps);
    world.pass();
    // The pass that sent 10%: the step finishes once the router reports it.
    world.runUntil((r) => r.status.canaryWeight === 10);
    expect(world.status!.stepIndex).toBe(0);
    const sent = world.applied.length;

    const ends = world.now + 1000 + 60_000;
    world.gate = closed('blocked by blackout window "friday" until Mon 2026-03-30 06:00 Europe/Berlin (UTC+02:00)', ends);
    let result = world.after(1000);
    expect(result.status.phase).toBe('Paused');
    expect(result.status.pause).toMatchObject({ reason: 'gate', until: ends });
    expect(result.status.stepIndex).toBe(0);
    expect(result.status.canaryWeight).toBe(10);
    for (let i = 0; i < 5; i += 1) result = world.after(GATE_POLL_MS);
    expect(world.applied.slice(sent).filter((action) => action.type !== 'notify')).toEqual([]);
    expect(world.router.canaryWeight).toBe(10);

    world.gate = open;
    result = world.after(GATE_POLL_MS);
    expect(types(result).slice(0, 2)).toEqual(['Resumed', 'StepCompleted']);
    expect(ofType(result, 'setWeight').map((action) => action.canaryWeight)).toEqual([50]);
    expect(world.runUntil((r) => r.status.phase === 'Healthy').status.phase).toBe('Healthy');
  });

  it('keeps the current step analysis measuring while held; it completes but the step waits for the gate', () => {
    const world = gatedWorld(withAnalysis, { 'error-rate': errorRateTemplate({ count: 3 }) });
    world.pass();
    world.runUntil((r) => r.status.analysisRuns.length === 1);
    expect(world.status!.stepIndex).toBe(1);
    world.gate = closed();
    world.runUntil((r) => r.status.analysisRuns[0]!.phase === 'Successful', 20);
    const status = world.status!;
    expect(status.analysisRuns[0]!.metrics[0]!.counted).toBe(3);
    expect(status.phase).toBe('Paused');
    expect(status.pause?.reason).toBe('gate');
    expect(status.stepIndex).toBe(1);
    expect(status.canaryWeight).toBe(10);
    world.gate = open;
    const result = world.after(1000);
    expect(result.status.stepIndex).toBe(2);
    expect(ofType(result, 'setWeight').map((action) => action.canaryWeight)).toEqual([50]);
  });

  it('still aborts on an analysis failure while held', () => {
    const world = gatedWorld(withAnalysis, { 'error-rate': errorRateTemplate({ count: 3 }) }, {}, { provider: () => failing });
    world.pass();
    world.runUntil((r) => r.status.analysisRuns.length === 1);
    world.gate = closed();
    world.after(1000);
    expect(world.status!.pause?.reason).toBe('gate');
    const result = world.runUntil((r) => r.status.phase === 'Aborted', 20);
    expect(result.status.phase).toBe('Aborted');
    expect(result.status.abort?.reason).toBe('AnalysisFailed');
    expect(result.status.pause).toBeNull();
    expect(world.router.canaryWeight).toBe(0);
  });

  it('lets a pause step give way to the gate and come back when it opens, with its timer from the step start', () => {
    const world = gatedWorld({ canary: { steps: [{ setWeight: 10 }, { pause: { duration: '1m' } }, { setWeight: 50 }] } });
    world.pass();
    world.runUntil((r) => r.status.pause?.reason === 'pauseStep');
    const pauseEnds = world.status!.pause!.until!;
    world.gate = closed();
    expect(world.after(1000).status.pause?.reason).toBe('gate');
    world.gate = open;
    const result = world.after(1000);
    expect(types(result)).toEqual(['Resumed', 'Paused']);
    expect(result.status.pause).toMatchObject({ reason: 'pauseStep', until: pauseEnds });
  });

  it('does not run the progress deadline while held', () => {
    const world = gatedWorld({ canary: { steps: [{ setWeight: 10 }, { setWeight: 50 }], progressDeadlineSeconds: 30 } });
    world.pass();
    world.runUntil((r) => r.status.canaryWeight === 10);
    world.gate = closed();
    for (let i = 0; i < 40; i += 1) world.after(GATE_POLL_MS); // 200 s held
    expect(world.status!.phase).toBe('Paused');
    world.gate = open;
    const result = world.after(1000);
    expect(result.status.phase).not.toBe('Aborted');
    expect(world.runUntil((r) => r.status.phase === 'Healthy').status.phase).toBe('Healthy');
  });
});

describe('decide(): operations while the gate is closed', () => {
  const heldWorld = () => {
    const world = gatedWorld(twoSteps);
    world.pass();
    world.runUntil((r) => r.status.canaryWeight === 10);
    world.gate = closed('change chg-00012 was rejected by bob: no rollback plan');
    world.after(1000);
    return world;
  };

  it('rejects resume, promote and promoteFull with the gate message', () => {
    const world = heldWorld();
    const result = world.after(1000, [op('resume', 'user:alice', undefined, 'r1'), op('promote', 'user:alice', undefined, 'p1'), op('promoteFull', 'user:alice', undefined, 'f1')]);
    expect(result.operationResults).toEqual([
      { id: 'r1', type: 'resume', accepted: false, message: 'the governance gate is closed: change chg-00012 was rejected by bob: no rollback plan' },
      { id: 'p1', type: 'promote', accepted: false, message: 'the governance gate is closed: change chg-00012 was rejected by bob: no rollback plan' },
      { id: 'f1', type: 'promoteFull', accepted: false, message: 'the governance gate is closed: change chg-00012 was rejected by bob: no rollback plan' },
    ]);
    expect(result.status.pause?.reason).toBe('gate');
    expect(result.status.stepIndex).toBe(0);
    expect(ofType(result, 'setWeight')).toEqual([]);
  });

  it('accepts abort: traffic back to stable in the same pass', () => {
    const world = heldWorld();
    const result = world.after(1000, [op('abort', 'user:alice', 'not today')]);
    expect(result.operationResults[0]).toMatchObject({ accepted: true });
    expect(result.status.phase).toBe('Aborted');
    expect(result.status.abort).toMatchObject({ reason: 'OperatorAbort', actor: 'user:alice' });
    expect(ofType(result, 'setWeight').map((action) => action.canaryWeight)).toEqual([0]);
    expect(result.status.pause).toBeNull();
  });

  it('accepts pause: a user pause stays a user pause when the gate opens, and resume works then', () => {
    const world = heldWorld();
    let result = world.after(1000, [op('pause', 'user:carol', 'investigating')]);
    expect(result.operationResults[0]).toMatchObject({ accepted: true });
    expect(result.status.pause).toMatchObject({ reason: 'user', actor: 'user:carol' });
    result = world.after(GATE_POLL_MS);
    expect(result.status.pause?.reason).toBe('user');
    world.gate = open;
    result = world.after(GATE_POLL_MS);
    expect(result.status.pause?.reason).toBe('user');
    expect(result.events).toEqual([]);
    result = world.after(1000, [op('resume', 'user:carol')]);
    expect(result.operationResults[0]).toMatchObject({ accepted: true });
    expect(world.runUntil((r) => r.status.phase === 'Healthy').status.phase).toBe('Healthy');
  });

  it('holds a retried attempt at the gate before it deploys again', () => {
    const world = heldWorld();
    world.after(1000, [op('abort')]);
    const before = world.applied.filter((action) => action.type === 'ensureVersion').length;
    const result = world.after(1000, [op('retry')]);
    expect(result.status.attempt).toBe(2);
    expect(result.status.pause?.reason).toBe('gate');
    expect(world.applied.filter((action) => action.type === 'ensureVersion').length).toBe(before);
  });
});

describe('decide(): requeue while held', () => {
  const firstPass = (gate: GateObservation) => decide({ spec: canarySpec(twoSteps), status: null, observations: { canary: null, stable: null, router: null, measurements: [], operations: [], gate }, now: 1_000_000 });

  it('looks again every GATE_POLL_MS, or when the gate says it opens if sooner', () => {
    expect(GATE_POLL_MS).toBe(5_000);
    expect(firstPass(closed()).requeueAfterMs).toBe(5_000);
    expect(firstPass(closed('scheduled', 1_000_000 + 1_500)).requeueAfterMs).toBe(1_500);
    expect(firstPass(closed('scheduled', 1_000_000 + 3_600_000)).requeueAfterMs).toBe(5_000);
    expect(firstPass(closed('scheduled', 1_000_000 + 3_600_000)).status.pause?.until).toBe(1_000_000 + 3_600_000);
    // An `until` already past never makes the engine spin.
    expect(firstPass(closed('stale', 1_000_000 - 10)).requeueAfterMs).toBe(1_000);
  });
});
