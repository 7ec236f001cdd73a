/**
 * Runtime check of a stored RolloutStatus (it comes back from the database, possibly written by an
 * older version or edited by hand). decide() refuses a status that does not parse and degrades.
 */
import { z } from 'zod';
import type { RolloutStatus } from './types.js';

const finite = z.number().refine(Number.isFinite, 'must be finite');
const time = finite;
const nullableTime = time.nullable();
const count = z.number().int().min(0);

const sampleSchema = z.object({
  requests: finite,
  errors: finite,
  errorRate: finite.nullable(),
  latency: z.object({ mean: finite, p50: finite, p90: finite, p95: finite, p99: finite, max: finite }).nullable(),
  value: finite.nullable().optional(),
  histogram: z.object({ bounds: z.array(finite), counts: z.array(finite) }).nullable().optional(),
});

const measurementSchema = z.object({
  seq: count,
  window: z.object({ startMs: time, endMs: time }),
  takenAt: time,
  phase: z.enum(['Successful', 'Failed', 'Inconclusive', 'Error', 'NoData']),
  countedAs: z.enum(['successful', 'failed', 'inconclusive', 'error', 'noData']),
  inputs: z.object({
    baseline: sampleSchema.nullable(),
    canary: sampleSchema.nullable(),
    successCondition: z.string().nullable(),
    failureCondition: z.string().nullable(),
  }),
  details: z.record(z.string(), z.json()).nullable(),
  message: z.string().nullable(),
});

const metricRunSchema = z.object({
  key: z.string(),
  template: z.string(),
  name: z.string(),
  judge: z.string(),
  phase: z.enum(['Running', 'Successful', 'Failed', 'Error', 'Inconclusive', 'NoData', 'Terminated']),
  settings: z.object({
    count: z.number().int().positive().nullable(),
    intervalMs: finite.positive(),
    initialDelayMs: finite.min(0),
    failureLimit: count,
    inconclusiveLimit: count,
    consecutiveErrorLimit: count,
    noDataPolicy: z.enum(['pause', 'fail', 'pass']),
    successCondition: z.string().nullable(),
    failureCondition: z.string().nullable(),
    judge: z.object({ kind: z.enum(['threshold', 'sequential', 'mannWhitney']) }).catchall(z.json()).optional(),
  }),
  counted: count,
  successful: count,
  failed: count,
  inconclusive: count,
  errors: count,
  noData: count,
  consecutiveErrors: count,
  acknowledged: z.object({ inconclusive: count, noData: count }),
  windowStart: time,
  nextMeasurementAt: nullableTime,
  judgeState: z.json(),
  measurements: z.array(measurementSchema),
  message: z.string().nullable(),
});

const analysisRunSchema = z.object({
  id: z.string(),
  kind: z.enum(['step', 'background', 'prePromotion', 'postPromotion']),
  attempt: z.number().int().positive(),
  stepIndex: count.nullable(),
  templates: z.array(z.string()),
  args: z.record(z.string(), z.string()),
  startedAt: time,
  finishedAt: nullableTime,
  phase: z.enum(['Running', 'Successful', 'Failed', 'Inconclusive', 'Terminated']),
  message: z.string().nullable(),
  metrics: z.array(metricRunSchema),
  scores: z
    .array(
      z.object({
        template: z.string(),
        interval: count,
        at: time,
        score: finite,
        outcome: z.enum(['Pass', 'Marginal', 'Fail']),
        groups: z.record(z.string(), finite),
        message: z.string().nullable(),
      }),
    )
    .optional(),
  marginalAccepted: z.boolean().optional(),
});

const headerRouteSchema = z.object({
  name: z.string(),
  match: z.array(
    z.object({ headerName: z.string(), exact: z.string().optional(), prefix: z.string().optional(), regex: z.string().optional() }),
  ),
});

const phaseSchema = z.enum(['Progressing', 'Paused', 'Healthy', 'Aborted', 'Degraded']);

const eventSchema = z.object({
  seq: count,
  at: time,
  type: z.enum([
    'RolloutStarted',
    'NewVersionReady',
    'StepCompleted',
    'StepSkipped',
    'TrafficShifted',
    'TrafficReasserted',
    'AnalysisStarted',
    'AnalysisCompleted',
    'Paused',
    'Resumed',
    'Promoted',
    'Aborted',
    'Retried',
    'Degraded',
    'VersionRetired',
    'OperationRejected',
  ]),
  attempt: z.number().int().positive(),
  stepIndex: count,
  phase: phaseSchema,
  actor: z.string(),
  message: z.string(),
});

export const rolloutStatusSchema = z
  .object({
    schemaVersion: z.literal(1),
    rolloutId: z.string().min(1),
    strategy: z.enum(['canary', 'blueGreen', 'direct']),
    phase: phaseSchema,
    message: z.string(),
    attempt: z.number().int().positive(),
    stableVersion: z.string().nullable(),
    previousStableVersion: z.string().nullable(),
    canaryVersion: z.string().min(1),
    stepIndex: count,
    stepCount: count,
    stepLabel: z.string().nullable(),
    step: z.object({ startedAt: time, requestedAt: nullableTime, reasserts: count }),
    canaryWeight: z.number().int().min(0).max(100),
    headerRoute: headerRouteSchema.nullable(),
    pause: z
      .object({
        reason: z.enum(['pauseStep', 'user', 'inconclusive', 'noData', 'progressDeadline', 'gate']),
        message: z.string(),
        since: time,
        until: nullableTime,
        actor: z.string(),
      })
      .nullable(),
    startedAt: time,
    lastProgressAt: time,
    newVersion: z.object({
      ensuredAt: nullableTime,
      replicas: count,
      readyAt: nullableTime,
      backendsSetAt: nullableTime,
      state: z.enum(['absent', 'starting', 'ready', 'failed']).nullable(),
      message: z.string().nullable(),
    }),
    analysisRuns: z.array(analysisRunSchema),
    abort: z
      .object({
        reason: z.enum(['AnalysisFailed', 'OperatorAbort', 'ProgressDeadlineExceeded', 'NewVersionFailed', 'Invalid']),
        message: z.string(),
        actor: z.string(),
        at: time,
      })
      .nullable(),
    promotedAt: nullableTime,
    finishedAt: nullableTime,
    retirements: z.array(z.object({ version: z.string(), notBefore: time, retiredAt: nullableTime, reason: z.string() })),
    lastReassertAt: nullableTime,
    eventSeq: count,
    history: z.array(eventSchema),
  })
  .superRefine((status, ctx) => {
    if (status.stepIndex > status.stepCount) ctx.addIssue({ code: 'custom', path: ['stepIndex'], message: 'is past the last step' });
    if ((status.phase === 'Paused') !== (status.pause !== null)) ctx.addIssue({ code: 'custom', path: ['pause'], message: 'must be set exactly when the phase is Paused' });
  });

/**
 * A validated deep copy of a stored status, or the first problem found. Never throws.
 *
 * zod's output is already a deep copy (every object, record and array is rebuilt, unknown keys
 * dropped), so decide() can change it without touching the caller's value. It used to be parsed
 * from a JSON round trip as well, which cost as much as the validation itself on every pass.
 * A stored status is JSON, so the round trip only mattered for values JSON cannot hold (NaN,
 * Infinity, undefined array items, Dates): those now fail validation instead of being coerced.
 */
export function parseRolloutStatus(value: unknown): { ok: true; status: RolloutStatus } | { ok: false; error: string } {
  let parsed: ReturnType<typeof rolloutStatusSchema.safeParse>;
  try {
    parsed = rolloutStatusSchema.safeParse(value);
  } catch (error) {
    return { ok: false, error: `not valid: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid' };
  }
  return { ok: true, status: parsed.data as RolloutStatus };
}
