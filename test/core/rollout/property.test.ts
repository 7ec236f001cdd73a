/**
 * Property-style checks: random observation sequences from a seeded PRNG must never make decide()
 * throw, and every result must keep the invariants.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/core/rollout/decide.js';
import { dueMeasurements } from '../../../src/core/rollout/due.js';
import { parseRolloutStatus } from '../../../src/core/rollout/status-schema.js';
import type { DecideInput, DecideResult, RolloutSpec, RolloutStatus } from '../../../src/core/rollout/types.js';
import { canarySpec, errorRateTemplate, failing, healthy, sample } from './harness.js';

/** mulberry32 */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (max: number) => Math.floor(next() * max),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p,
  };
}

const templates = {
  'error-rate': errorRateTemplate({ interval: '5s', count: 2 }),
  latency: { metrics: [{ name: 'p99', provider: { builtin: { metric: 'latency' as const } }, interval: '3s', successCondition: 'canary.p99 <= baseline.p99 * 1.5', failureCondition: 'canary.p99 > 2.0', noDataPolicy: 'pass' as const }] },
};

const SPECS: RolloutSpec[] = [
  canarySpec({ canary: { steps: [{ setWeight: 5 }, { analysis: { templates: ['error-rate'] } }, { setWeight: 25 }, { pause: { duration: '20s' } }, { setWeight: 100 }], progressDeadlineSeconds: 60 } }, templates),
  canarySpec({ canary: { steps: [{ setHeaderRoute: { name: 'b', match: [{ headerName: 'x', headerValue: { exact: '1' } }] } }, { setWeight: 10 }, { pause: {} }, { setWeight: 50 }], analysis: { templates: ['latency'], startingStep: 1 }, progressDeadlineAbort: false, progressDeadlineSeconds: 30 } }, templates),
  canarySpec({ canary: { stepWeight: 20, maxWeight: 60, threshold: 2, analysis: { templates: ['error-rate', 'latency'] } } }, templates),
  canarySpec({ blueGreen: { prePromotionAnalysis: { templates: ['error-rate'] }, postPromotionAnalysis: { templates: ['latency'] }, autoPromotionSeconds: 10 } }, templates, { replicas: 2 }),
  canarySpec({ blueGreen: { autoPromotionEnabled: false, previewReplicaCount: 1 } }, templates, { replicas: 3 }),
  canarySpec({ canary: { steps: [{ setWeight: 50 }] } }, templates, { stableVersion: null }),
  canarySpec({ canary: { steps: [{ analysis: { templates: ['missing'] } }] } }, templates),
];

const SEEDS = 70;
const JUNK: unknown[] = [undefined, null, 0, -1, Number.NaN, Number.POSITIVE_INFINITY, 'x', '', true, [], {}, [1, 2], { a: 1 }, 150, -5, 1e308];

function randomObservations(rng: ReturnType<typeof prng>, spec: RolloutSpec, status: RolloutStatus | null, now: number, router: { canaryWeight: number; stableVersion: string | null; canaryVersion: string | null; headerRoute: string | null }) {
  const due = dueMeasurements(spec, status, now);
  const measurements: unknown[] = due.map((entry) => ({
    runId: entry.runId,
    metric: entry.metric,
    window: entry.window,
    result: rng.chance(0.7) ? healthy : rng.pick([failing, { baseline: null, canary: null }, { baseline: sample(10, 0), canary: sample(0, 0) }, { error: 'boom' }, rng.pick(JUNK)]),
  }));
  if (rng.chance(0.1)) measurements.push({ runId: rng.pick(['a1/s1', 'a2/background', 'zzz', 7]), metric: rng.pick(['error-rate/error-rate', 'x', null]), window: { startMs: rng.pick([0, Number.NaN, now, now + 1e6]), endMs: rng.pick([now, -1, Number.NaN, now + 5]) }, result: rng.pick([healthy, failing, JUNK[rng.int(JUNK.length)]]) });
  if (rng.chance(0.05)) measurements.push(rng.pick(JUNK));
  const operations: unknown[] = [];
  if (rng.chance(0.15)) {
    operations.push({ id: `op-${rng.int(1e9)}`, type: rng.pick(['promote', 'promoteFull', 'abort', 'retry', 'pause', 'resume', 'resume', 'promote', 'bogus']), actor: rng.pick(['user:a', '', undefined]), reason: rng.pick([undefined, 'why']) });
  }
  if (rng.chance(0.02)) operations.push(rng.pick(JUNK));
  const canaryState = rng.chance(0.02) ? 'failed' : rng.pick(['ready', 'ready', 'ready', 'ready', 'ready', 'ready', 'starting', 'absent', 'junk', 'null']);
  return {
    canary: canaryState === 'null' ? null : canaryState === 'junk' ? rng.pick(JUNK) : { version: rng.chance(0.95) ? spec.canaryVersion : 'other', state: canaryState, message: 'm' },
    stable: rng.chance(0.5) ? null : rng.pick(JUNK),
    router: rng.chance(0.2) ? null : rng.chance(0.1) ? { ...router, canaryWeight: rng.pick(JUNK) } : { ...router },
    measurements: rng.chance(0.02) ? rng.pick(JUNK) : measurements,
    operations: rng.chance(0.02) ? rng.pick(JUNK) : operations,
  };
}

function checkInvariants(input: DecideInput, result: DecideResult, before: RolloutStatus | null): void {
  const { status } = result;
  expect(Number.isInteger(status.canaryWeight) && status.canaryWeight >= 0 && status.canaryWeight <= 100).toBe(true);
  if (status.phase === 'Aborted' || status.phase === 'Degraded') {
    if (status.promotedAt === null) {
      expect(status.canaryWeight).toBe(0);
      expect(status.headerRoute).toBeNull();
    }
  }
  if (status.phase === 'Healthy') {
    expect(status.stableVersion).toBe(status.canaryVersion);
    expect(status.canaryWeight).toBe(100);
  }
  expect(status.phase === 'Paused').toBe(status.pause !== null);
  expect(status.stepIndex).toBeLessThanOrEqual(status.stepCount);
  expect(status.history.length).toBeLessThanOrEqual(50);
  expect(result.requeueAfterMs === null || (Number.isFinite(result.requeueAfterMs) && result.requeueAfterMs >= 0)).toBe(true);
  for (const action of result.actions) {
    expect(action.idempotencyKey.startsWith(`${input.spec.id}/a${status.attempt}/`) || action.idempotencyKey.startsWith(`${input.spec.id}/a${(before?.attempt ?? 1)}/`)).toBe(true);
    if (action.type === 'setWeight') expect(action.canaryWeight >= 0 && action.canaryWeight <= 100).toBe(true);
  }
  expect(new Set(result.actions.map((action) => action.idempotencyKey)).size).toBe(result.actions.length);
  // Entering Aborted from an active phase moves the weight to 0 in the same pass.
  if (status.phase === 'Aborted' && before && (before.phase === 'Progressing' || before.phase === 'Paused') && before.stableVersion !== null && before.stableVersion !== before.canaryVersion) {
    expect(result.actions.some((action) => action.type === 'setWeight' && action.canaryWeight === 0)).toBe(true);
  }
  // JSON-serializable and valid by its own schema, with nothing lost.
  const json = JSON.parse(JSON.stringify(status));
  expect(json).toEqual(status);
  const parsed = parseRolloutStatus(status);
  expect(parsed.ok).toBe(true);
  if (parsed.ok) expect(parsed.status).toEqual(json);
}

describe('decide() under random observation sequences', () => {
  it('keeps its invariants, is deterministic and never throws', () => {
    let passes = 0;
    const phases = new Map<string, number>();
    for (let seed = 1; seed <= SEEDS; seed += 1) {
      const rng = prng(seed);
      const spec = SPECS[seed % SPECS.length]!;
      let status: RolloutStatus | null = null;
      let now = 1_700_000_000_000;
      const router = { canaryWeight: 0, stableVersion: spec.stableVersion, canaryVersion: null as string | null, headerRoute: null as string | null };
      for (let step = 0; step < 60; step += 1) {
        const observations = randomObservations(rng, spec, status, now, router);
        const input = { spec, status, observations, now } as DecideInput;
        const frozen = JSON.stringify(input);
        const result = decide(input);
        passes += 1;
        expect(JSON.stringify(input)).toBe(frozen); // input untouched
        expect(decide(JSON.parse(frozen, (_key, value) => value) as DecideInput)).toEqual(JSON.parse(JSON.stringify(result)));
        checkInvariants(input, result, status);
        expect(result.status.message).not.toMatch(/internal error/);
        phases.set(result.status.phase, (phases.get(result.status.phase) ?? 0) + 1);
        // A router that mostly follows the actions.
        for (const action of result.actions) {
          if (rng.chance(0.1)) continue;
          if (action.type === 'setWeight') router.canaryWeight = action.canaryWeight;
          if (action.type === 'setBackends') Object.assign(router, { stableVersion: action.stable, canaryVersion: action.canary });
          if (action.type === 'setHeaderRoute') router.headerRoute = action.route?.name ?? null;
          if (action.type === 'markStable') Object.assign(router, { stableVersion: action.version, canaryVersion: null, canaryWeight: 0, headerRoute: null });
        }
        status = result.status;
        now += rng.chance(0.5) && result.requeueAfterMs !== null ? result.requeueAfterMs : rng.pick([0, 1, 500, 1000, 5000, 30_000, 120_000]);
      }
    }
    expect(passes).toBe(SEEDS * 60);
    // The walks reach every phase.
    expect([...phases.keys()].sort()).toEqual(['Aborted', 'Degraded', 'Healthy', 'Paused', 'Progressing']);
  });

  it('same input → same output, for a whole walk', () => {
    const run = () => {
      const rng = prng(42);
      const spec = SPECS[0]!;
      let status: RolloutStatus | null = null;
      let now = 0;
      const outputs: DecideResult[] = [];
      const router = { canaryWeight: 0, stableVersion: spec.stableVersion, canaryVersion: null, headerRoute: null };
      for (let step = 0; step < 40; step += 1) {
        const result = decide({ spec, status, observations: randomObservations(rng, spec, status, now, router) as DecideInput['observations'], now });
        outputs.push(result);
        status = result.status;
        now += 2000;
      }
      return outputs;
    };
    expect(run()).toEqual(run());
  });

  it('never throws on junk input', () => {
    const rng = prng(7);
    let internal = 0;
    const junkSpec = () => rng.pick<unknown>([...JUNK, { id: 'x' }, { id: 'x', canaryVersion: '2' }, { id: 'x', canaryVersion: '2', stableVersion: 5 }, { ...SPECS[0], strategy: rng.pick(JUNK) }, { ...SPECS[0], templates: rng.pick(JUNK) }, SPECS[1]]);
    const statusFrom = () => {
      const valid = decide({ spec: SPECS[0]!, status: null, observations: { canary: null, stable: null, router: null, measurements: [], operations: [] }, now: 5 }).status;
      const mutated = JSON.parse(JSON.stringify(valid)) as Record<string, unknown>;
      const key = rng.pick(Object.keys(mutated));
      mutated[key] = rng.pick(JUNK);
      return rng.pick<unknown>([...JUNK, valid, mutated]);
    };
    for (let i = 0; i < 1500; i += 1) {
      const input = { spec: junkSpec(), status: statusFrom(), observations: rng.pick<unknown>([...JUNK, { operations: [{ id: 'a', type: 'abort', actor: 'u' }] }]), now: rng.pick<unknown>([...JUNK, 1000, 1e12]) };
      let result: DecideResult | undefined;
      expect(() => {
        result = decide(input as DecideInput);
      }).not.toThrow();
      expect(['Progressing', 'Paused', 'Healthy', 'Aborted', 'Degraded']).toContain(result!.status.phase);
      expect(() => JSON.stringify(result)).not.toThrow();
      internal += /internal error/.test(result!.status.message) ? 1 : 0;
    }
    expect(internal).toBe(0);
    expect(decide(undefined as never).status.phase).toBe('Degraded');
  });
});
