/** Rollout statuses for the rollout pages' tests (shaped as decide() writes them). */
import type { ApiObject } from '../../../../src/client/index.js';
import type { Measurement, MetricRunStatus, AnalysisRunStatus } from '../../../../src/core/analysis/types.js';
import type { RolloutStatus } from '../../../../src/core/rollout/types.js';

export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

export function rolloutStatus(overrides: Partial<RolloutStatus> = {}): RolloutStatus {
  return {
    schemaVersion: 1,
    rolloutId: 'shop-2',
    strategy: 'canary',
    phase: 'Progressing',
    message: 'step 2 of 4: analysis',
    attempt: 1,
    stableVersion: '1.0.0',
    previousStableVersion: null,
    canaryVersion: '2.0.0',
    stepIndex: 1,
    stepCount: 4,
    stepLabel: 'analysis golden',
    step: { startedAt: T0 + 5_000, requestedAt: null, reasserts: 0 },
    canaryWeight: 20,
    headerRoute: null,
    pause: null,
    startedAt: T0,
    lastProgressAt: T0 + 5_000,
    newVersion: { ensuredAt: T0, replicas: 1, readyAt: T0 + 1_000, backendsSetAt: T0 + 1_000, state: 'ready', message: null },
    analysisRuns: [],
    abort: null,
    promotedAt: null,
    finishedAt: null,
    retirements: [],
    lastReassertAt: null,
    eventSeq: 3,
    history: [
      { seq: 1, at: T0, type: 'RolloutStarted', attempt: 1, stepIndex: 0, phase: 'Progressing', actor: 'system', message: 'rolling out 2.0.0' },
      { seq: 2, at: T0 + 1_000, type: 'NewVersionReady', attempt: 1, stepIndex: 0, phase: 'Progressing', actor: 'system', message: '2.0.0 is ready' },
      { seq: 3, at: T0 + 2_000, type: 'TrafficShifted', attempt: 1, stepIndex: 0, phase: 'Progressing', actor: 'system', message: 'setWeight 20: 20%' },
    ],
    ...overrides,
  };
}

export const STRATEGY = { canary: { steps: [{ setWeight: 20 }, { analysis: { templates: [{ templateName: 'golden' }] } }, { pause: { duration: '3s' } }, { pause: {} }] } };

export function measurement(seq: number, at: number, canaryErrors: number, overrides: Partial<Measurement> = {}): Measurement {
  const sample = (requests: number, errors: number) => ({ requests, errors, errorRate: errors / requests, latency: { mean: 0.02, p50: 0.02, p90: 0.03, p95: 0.035, p99: 0.05, max: 0.08 } });
  return {
    seq,
    window: { startMs: at - 1_000, endMs: at },
    takenAt: at + 100,
    phase: 'Successful',
    countedAs: 'successful',
    inputs: { canary: sample(100, canaryErrors), baseline: sample(400, 1), successCondition: null, failureCondition: null },
    details: {
      verdict: 'running',
      alpha: 0.025,
      tolerance: 0.25,
      tests: [{ name: 'errors', verdict: 'running', alpha: 0.025, eValue: 3.2, threshold: 40, effect: { estimate: 1.8, lower: 0.6, upper: 5.1, unit: 'ratio' }, samples: { canary: { requests: 100 * seq, events: canaryErrors }, baseline: { requests: 400 * seq, events: 1 } } }],
    },
    message: 'running: no alarm yet (errors e = 3.2 of 40 needed)',
    ...overrides,
  };
}

export function metric(measurements: Measurement[], overrides: Partial<MetricRunStatus> = {}): MetricRunStatus {
  return {
    key: 'golden/errors',
    template: 'golden',
    name: 'errors',
    judge: 'sequential',
    phase: 'Running',
    settings: { count: 3, intervalMs: 1000, initialDelayMs: 0, failureLimit: 0, inconclusiveLimit: 0, consecutiveErrorLimit: 4, noDataPolicy: 'pause', successCondition: null, failureCondition: null, judge: { kind: 'sequential', alpha: 0.025, templateAlpha: 0.05, tolerance: 0.25, quantiles: [], edgeSamples: 200 } },
    counted: measurements.length,
    successful: measurements.filter((m) => m.phase === 'Successful').length,
    failed: measurements.filter((m) => m.phase === 'Failed').length,
    inconclusive: 0,
    errors: 0,
    noData: 0,
    consecutiveErrors: 0,
    acknowledged: { inconclusive: 0, noData: 0 },
    windowStart: T0,
    nextMeasurementAt: null,
    judgeState: null,
    measurements,
    message: null,
    ...overrides,
  };
}

export function run(id: string, metrics: MetricRunStatus[], overrides: Partial<AnalysisRunStatus> = {}): AnalysisRunStatus {
  return { id, kind: 'step', attempt: 1, stepIndex: 1, templates: ['golden'], args: {}, startedAt: T0 + 5_000, finishedAt: null, phase: 'Running', message: null, metrics, ...overrides };
}

let created = 0;
export function deployment(name: string, spec: Record<string, unknown>, status: Record<string, unknown> | null, createdAt?: string): ApiObject {
  const time = createdAt ?? new Date(T0 + 1000 * created++).toISOString();
  return { apiVersion: 'rollgate.dev/v1alpha1', kind: 'Deployment', metadata: { name, labels: {}, annotations: {}, version: 1, createdAt: time, updatedAt: time } as ApiObject['metadata'], spec, status };
}

export const deploymentStatus = (rollout: RolloutStatus | null, extra: Record<string, unknown> = {}) => ({ rollout, resolved: rollout ? { strategy: STRATEGY } : null, pendingOperations: [], operationResults: [], ...extra });
