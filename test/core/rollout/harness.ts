/**
 * A tiny simulated world for decide(): a deploy target, a router and a metric provider that
 * apply decide()'s actions and answer its due measurements, pass by pass, on a fake clock.
 */
import { decide } from '../../../src/core/rollout/decide.js';
import { dueMeasurements, type DueMeasurement } from '../../../src/core/rollout/due.js';
import type { Sample, SamplePair } from '../../../src/core/analysis/types.js';
import type { AnalysisTemplateSpec } from '../../../src/core/resources/analysis-template.js';
import type { RolloutStrategySpec } from '../../../src/core/resources/rollout-strategy.js';
import type {
  Action,
  DecideResult,
  Observations,
  Operation,
  RolloutSpec,
  RolloutStatus,
  RouterObservation,
  TargetState,
} from '../../../src/core/rollout/types.js';

export const sample = (requests: number, errors: number, p99 = 0.1, value?: number): Sample => ({
  requests,
  errors,
  errorRate: requests > 0 ? errors / requests : null,
  latency: requests > 0 ? { mean: p99 / 2, p50: p99 / 3, p90: p99 * 0.8, p95: p99 * 0.9, p99, max: p99 * 2 } : null,
  ...(value !== undefined ? { value } : {}),
});

export const healthy: SamplePair = { baseline: sample(1000, 5), canary: sample(100, 0) };
export const failing: SamplePair = { baseline: sample(1000, 5), canary: sample(100, 40) };

/** Error rate at most 5% (and no worse than 2× baseline + 1%). */
export const errorRateTemplate = (overrides: Partial<AnalysisTemplateSpec['metrics'][number]> = {}): AnalysisTemplateSpec => ({
  metrics: [
    {
      name: 'error-rate',
      provider: { builtin: { metric: 'errorRate' } },
      interval: '10s',
      successCondition: 'canary.errorRate <= 0.05',
      noDataPolicy: 'pause',
      ...overrides,
    },
  ],
});

export function canarySpec(strategy: RolloutStrategySpec, templates: Record<string, AnalysisTemplateSpec> = {}, extra: Partial<RolloutSpec> = {}): RolloutSpec {
  return { id: 'checkout-7', service: 'checkout', stableVersion: '1.0.0', canaryVersion: '1.1.0', strategy, templates, ...extra };
}

export type Provider = (due: DueMeasurement, now: number) => SamplePair | { error: string } | undefined;

export interface WorldOptions {
  /** The router reads back its state (default true). */
  verify?: boolean;
  /** What the target reports once a version is ensured (default ready). */
  startsAs?: TargetState;
  provider?: Provider;
}

export class World {
  now = 1_000_000;
  status: RolloutStatus | null = null;
  router: RouterObservation = { canaryWeight: 0, stableVersion: '1.0.0', canaryVersion: null, headerRoute: null };
  target = new Map<string, { state: TargetState; message?: string }>();
  verify: boolean;
  startsAs: TargetState;
  provider: Provider;
  applied: Action[] = [];
  results: DecideResult[] = [];
  /** Keys the "engine journal" has applied: a replayed key is skipped like a real engine would. */
  journal = new Set<string>();

  constructor(
    public spec: RolloutSpec,
    options: WorldOptions = {},
  ) {
    this.verify = options.verify ?? true;
    this.startsAs = options.startsAs ?? 'ready';
    this.provider = options.provider ?? (() => healthy);
    this.router.stableVersion = spec.stableVersion;
    if (spec.stableVersion) this.target.set(spec.stableVersion, { state: 'ready' });
  }

  observations(operations: Operation[] = []): Observations {
    const measurements = dueMeasurements(this.spec, this.status, this.now).flatMap((due) => {
      const result = this.provider(due, this.now);
      return result ? [{ runId: due.runId, metric: due.metric, window: due.window, result }] : [];
    });
    const canary = this.target.get(this.spec.canaryVersion);
    return {
      canary: canary ? { version: this.spec.canaryVersion, ...canary } : null,
      stable: null,
      router: this.verify ? { ...this.router } : null,
      measurements,
      operations,
    };
  }

  /** One pass at the current time; applies the actions. */
  pass(operations: Operation[] = [], observations?: Partial<Observations>): DecideResult {
    const result = decide({ spec: this.spec, status: this.status, observations: { ...this.observations(operations), ...observations }, now: this.now });
    this.status = result.status;
    this.results.push(result);
    for (const action of result.actions) this.apply(action);
    return result;
  }

  apply(action: Action): void {
    if (this.journal.has(action.idempotencyKey)) return;
    this.journal.add(action.idempotencyKey);
    this.applied.push(action);
    switch (action.type) {
      case 'ensureVersion':
        this.target.set(action.version, { state: this.startsAs });
        break;
      case 'setBackends':
        this.router.stableVersion = action.stable;
        this.router.canaryVersion = action.canary;
        break;
      case 'setWeight':
        this.router.canaryWeight = action.canaryWeight;
        break;
      case 'setHeaderRoute':
        this.router.headerRoute = action.route?.name ?? null;
        break;
      case 'markStable':
        this.router = { canaryWeight: 0, stableVersion: action.version, canaryVersion: null, headerRoute: null };
        break;
      case 'retireVersion':
        this.target.delete(action.version);
        break;
      case 'notify':
        break;
    }
  }

  /** Advances the clock by `ms` and runs a pass. */
  after(ms: number, operations: Operation[] = []): DecideResult {
    this.now += ms;
    return this.pass(operations);
  }

  /** Follows requeueAfterMs until `done` holds or `maxPasses` passes ran. */
  runUntil(done: (result: DecideResult) => boolean, maxPasses = 500): DecideResult {
    let last = this.results[this.results.length - 1] ?? this.pass();
    for (let passes = 0; passes < maxPasses && !done(last); passes += 1) {
      if (last.requeueAfterMs === null) break;
      last = this.after(Math.max(1, last.requeueAfterMs));
    }
    return last;
  }

  get phase() {
    return this.status?.phase;
  }
}

export const op = (type: Operation['type'], actor = 'user:alice', reason?: string, id = `${type}-${Math.abs(hash(type + actor + (reason ?? '')))}`): Operation => ({
  id,
  type,
  actor,
  ...(reason ? { reason } : {}),
});

function hash(text: string): number {
  let h = 0;
  for (const char of text) h = (h * 31 + char.charCodeAt(0)) | 0;
  return h;
}

export const actionTypes = (result: DecideResult) => result.actions.map((action) => action.type);
