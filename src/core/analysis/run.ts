/**
 * Analysis runs: pure functions that create a run, record a measurement into it and derive the
 * run's phase. The caller owns the objects (decide() works on its own copy of the status), so these
 * functions update in place and return what changed.
 */
import { durationToMs } from '../resources/common.js';
import type { AnalysisTemplateSpec } from '../resources/analysis-template.js';
import { judgeFor, metricJudgeConfigs } from './judge.js';
import { scoreRun } from './scoring.js';
import type {
  AnalysisRunKind,
  AnalysisRunStatus,
  Measurement,
  MeasurementCount,
  MetricJudgeConfig,
  MetricRunStatus,
  MetricSettings,
  MetricSpec,
  NoDataPolicy,
  Sample,
  SamplePair,
} from './types.js';

/** Defaults for metric fields left out of a template. */
export const ANALYSIS_DEFAULTS = {
  /** Argo Rollouts has no default interval; a minute keeps Prometheus load low. The demo sets `interval: 1s`. */
  intervalMs: 60_000,
  initialDelayMs: 0,
  failureLimit: 0,
  inconclusiveLimit: 0,
  consecutiveErrorLimit: 4,
  noDataPolicy: 'pause' as NoDataPolicy,
} as const;

/** Measurements kept per metric in the status (counters keep the totals). */
export const MAX_MEASUREMENTS_KEPT = 20;

/** A provider's result for one due measurement, as the engine reports it to decide(). */
export interface MeasurementResult {
  window: { startMs: number; endMs: number };
  /** The samples, or the provider's error text. */
  result: SamplePair | { error: string };
}

export interface CreateRunInput {
  id: string;
  kind: AnalysisRunKind;
  attempt: number;
  stepIndex: number | null;
  templates: Array<{ name: string; spec: AnalysisTemplateSpec }>;
  args: Record<string, string>;
  startedAt: number;
  /** `count` for metrics that do not set one: 1 for step / blue-green runs, null (unbounded) for background. */
  defaultCount: number | null;
  /** Overrides every metric's failureLimit (Flagger's `threshold`). */
  failureLimit?: number;
}

const durationMs = (value: string | undefined, fallback: number): number => {
  if (typeof value !== 'string') return fallback;
  const ms = durationToMs(value);
  return Number.isFinite(ms) ? ms : fallback;
};

/**
 * The effective settings of a metric. A sequential judge's `horizon` sets `count` (horizon /
 * interval) and its alarms are its only failures; a mannWhitney metric never fails on its own (the
 * template's score decides).
 */
export function metricSettings(
  metric: MetricSpec,
  defaultCount: number | null,
  failureLimit?: number,
  judge: MetricJudgeConfig = { kind: 'threshold' },
  horizonMs?: number,
): MetricSettings {
  const policy = metric.noDataPolicy;
  const intervalMs = Math.max(1, durationMs(metric.interval, ANALYSIS_DEFAULTS.intervalMs));
  let count = metric.count ?? defaultCount;
  if (judge.kind === 'sequential' && horizonMs !== undefined && metric.count === undefined) count = Math.max(1, Math.ceil(horizonMs / intervalMs));
  let limit = failureLimit ?? metric.failureLimit ?? ANALYSIS_DEFAULTS.failureLimit;
  if (judge.kind === 'sequential') limit = 0;
  if (judge.kind === 'mannWhitney') limit = MANN_WHITNEY_NO_FAILURE_LIMIT;
  return {
    count,
    intervalMs,
    initialDelayMs: durationMs(metric.initialDelay, ANALYSIS_DEFAULTS.initialDelayMs),
    failureLimit: limit,
    // A mannWhitney metric's NoData classification is scored by the template, not a reason to pause.
    inconclusiveLimit: judge.kind === 'mannWhitney' ? MANN_WHITNEY_NO_FAILURE_LIMIT : (metric.inconclusiveLimit ?? ANALYSIS_DEFAULTS.inconclusiveLimit),
    consecutiveErrorLimit: metric.consecutiveErrorLimit ?? ANALYSIS_DEFAULTS.consecutiveErrorLimit,
    noDataPolicy: policy === 'fail' || policy === 'pass' || policy === 'pause' ? policy : ANALYSIS_DEFAULTS.noDataPolicy,
    successCondition: typeof metric.successCondition === 'string' ? metric.successCondition : null,
    failureCondition: typeof metric.failureCondition === 'string' ? metric.failureCondition : null,
    judge,
  };
}

/** failureLimit of a mannWhitney metric: its High / Low measurements feed the score, never fail the metric. */
const MANN_WHITNEY_NO_FAILURE_LIMIT = 1_000_000_000;

export const metricKey = (template: string, metric: string): string => `${template}/${metric}`;

/**
 * A new run. Each metric's first measurement is due one interval after the run starts plus
 * `initialDelay`, covering the window from (start + initialDelay) to then.
 */
export function createRun(input: CreateRunInput): AnalysisRunStatus {
  const metrics: MetricRunStatus[] = [];
  for (const template of input.templates) {
    const judges = metricJudgeConfigs(template.spec);
    const judgeSpec = template.spec.judge;
    const horizon = judgeSpec && 'sequential' in judgeSpec && judgeSpec.sequential.horizon ? durationMs(judgeSpec.sequential.horizon, NaN) : undefined;
    for (const [index, metric] of template.spec.metrics.entries()) {
      const judge = judges[index]!;
      const settings = metricSettings(metric, input.defaultCount, input.failureLimit, judge, Number.isFinite(horizon) ? horizon : undefined);
      const windowStart = input.startedAt + settings.initialDelayMs;
      metrics.push({
        key: metricKey(template.name, metric.name),
        template: template.name,
        name: metric.name,
        judge: judge.kind,
        phase: 'Running',
        settings,
        counted: 0,
        successful: 0,
        failed: 0,
        inconclusive: 0,
        errors: 0,
        noData: 0,
        consecutiveErrors: 0,
        acknowledged: { inconclusive: 0, noData: 0 },
        windowStart,
        nextMeasurementAt: windowStart + settings.intervalMs,
        judgeState: null,
        measurements: [],
        message: null,
      });
    }
  }
  const run: AnalysisRunStatus = {
    id: input.id,
    kind: input.kind,
    attempt: input.attempt,
    stepIndex: input.stepIndex,
    templates: input.templates.map((template) => template.name),
    args: { ...input.args },
    startedAt: input.startedAt,
    finishedAt: null,
    phase: 'Running',
    message: null,
    metrics,
  };
  evaluateRun(run, input.startedAt);
  return run;
}

const COUNTED_AS: Record<MeasurementCount, keyof Pick<MetricRunStatus, 'successful' | 'failed' | 'inconclusive' | 'errors' | 'noData'>> = {
  successful: 'successful',
  failed: 'failed',
  inconclusive: 'inconclusive',
  error: 'errors',
  noData: 'noData',
};

/**
 * Records one measurement of `metric` (the template's spec of the metric) into `state`.
 * Returns false (and changes nothing) when the metric is not measuring or the window is not newer
 * than the last one (a duplicate delivery).
 */
export function recordMeasurement(state: MetricRunStatus, metric: MetricSpec, result: MeasurementResult, now: number): boolean {
  if (state.phase !== 'Running' || state.nextMeasurementAt === null) return false;
  const { startMs, endMs } = result.window;
  if (!Number.isFinite(startMs) || !Number.isFinite(endMs) || endMs <= state.windowStart || endMs > now) return false;
  const judged = judgeMeasurement(metric, state, result);
  const countedAs = countOf(judged.phase, state.settings.noDataPolicy);
  state[COUNTED_AS[countedAs]] += 1;
  if (countedAs === 'error') state.consecutiveErrors += 1;
  else state.consecutiveErrors = 0;
  if (countedAs === 'successful' || countedAs === 'failed' || countedAs === 'inconclusive') state.counted += 1;
  if (judged.state !== undefined) state.judgeState = judged.state;
  const pair = 'error' in result.result ? null : result.result;
  const measurement: Measurement = {
    seq: state.successful + state.failed + state.inconclusive + state.errors + state.noData,
    window: { startMs, endMs },
    takenAt: now,
    phase: judged.phase,
    countedAs,
    inputs: {
      baseline: storedSample(pair?.baseline ?? null),
      canary: storedSample(pair?.canary ?? null),
      successCondition: state.settings.successCondition,
      failureCondition: state.settings.failureCondition,
    },
    details: judged.details,
    message: judged.message,
  };
  state.measurements.push(measurement);
  if (state.measurements.length > MAX_MEASUREMENTS_KEPT) state.measurements.splice(0, state.measurements.length - MAX_MEASUREMENTS_KEPT);
  state.windowStart = endMs;
  state.nextMeasurementAt = endMs + state.settings.intervalMs;
  evaluateMetric(state, judged.conclusion);
  return true;
}

/** A sample as stored with its measurement: the histogram stays out (the judge's state keeps what it needs; statuses stay small). */
function storedSample(sample: Sample | null): Sample | null {
  if (sample === null || sample.histogram === undefined) return sample;
  const { histogram: _histogram, ...rest } = sample;
  return rest;
}

function judgeMeasurement(metric: MetricSpec, state: MetricRunStatus, result: MeasurementResult) {
  if ('error' in result.result) {
    return { phase: 'Error' as const, message: `provider: ${String(result.result.error)}`, details: null, state: undefined, conclusion: undefined };
  }
  const config = state.settings.judge ?? { kind: 'threshold' as const };
  const judge = judgeFor(config);
  if (!judge) return { phase: 'Error' as const, message: `unknown judge "${state.judge}"`, details: null, state: undefined, conclusion: undefined };
  try {
    return judge.judge({ metric, baseline: result.result.baseline, canary: result.result.canary, state: state.judgeState, config });
  } catch (error) {
    return { phase: 'Error' as const, message: `judge ${judge.name}: ${error instanceof Error ? error.message : String(error)}`, details: null, state: undefined, conclusion: undefined };
  }
}

function countOf(phase: Measurement['phase'], policy: NoDataPolicy): MeasurementCount {
  switch (phase) {
    case 'Successful':
      return 'successful';
    case 'Failed':
      return 'failed';
    case 'Inconclusive':
      return 'inconclusive';
    case 'Error':
      return 'error';
    case 'NoData':
      return policy === 'pass' ? 'successful' : policy === 'fail' ? 'failed' : 'noData';
  }
}

/** Derives a measuring metric's phase from its counters and limits. */
export function evaluateMetric(state: MetricRunStatus, conclusion?: 'Successful' | 'Failed'): void {
  if (state.phase !== 'Running') return;
  const s = state.settings;
  const conclude = (phase: MetricRunStatus['phase'], message: string | null) => {
    state.phase = phase;
    state.message = message;
    if (phase !== 'Running') state.nextMeasurementAt = null;
  };
  // A judge that concluded (sequential alarm) says so, rather than citing a limit it does not use.
  if (conclusion === 'Failed') return conclude('Failed', `${state.key}: judge ${state.judge} concluded Failed${lastMessage(state)}`);
  if (state.failed > s.failureLimit) {
    return conclude('Failed', `${state.key}: ${state.failed} failed measurement(s), failureLimit ${s.failureLimit}${lastMessage(state)}`);
  }
  if (state.consecutiveErrors > s.consecutiveErrorLimit) {
    return conclude('Error', `${state.key}: ${state.consecutiveErrors} consecutive errors, consecutiveErrorLimit ${s.consecutiveErrorLimit}${lastMessage(state)}`);
  }
  if (s.noDataPolicy === 'pause' && state.noData > state.acknowledged.noData) {
    return conclude('NoData', `${state.key}: no data${lastMessage(state)}; resume to keep measuring, promote to skip`);
  }
  if (state.inconclusive - state.acknowledged.inconclusive > s.inconclusiveLimit) {
    return conclude('Inconclusive', `${state.key}: ${state.inconclusive - state.acknowledged.inconclusive} inconclusive measurement(s), inconclusiveLimit ${s.inconclusiveLimit}${lastMessage(state)}`);
  }
  if (conclusion === 'Successful') return conclude('Successful', `${state.key}: judge ${state.judge} concluded Successful`);
  if (s.count !== null && state.counted >= s.count) return conclude('Successful', null);
}

function lastMessage(state: MetricRunStatus): string {
  const last = state.measurements[state.measurements.length - 1];
  return last?.message ? ` (last: ${last.message})` : '';
}

/** Derives a run's phase from its metrics (a finished run keeps its phase). */
export function evaluateRun(run: AnalysisRunStatus, now: number): void {
  if (run.phase !== 'Running' && run.phase !== 'Inconclusive') return;
  const scoring = scoreRun(run, now);
  const failed = run.metrics.filter((metric) => metric.phase === 'Failed' || metric.phase === 'Error');
  const waiting = run.metrics.filter((metric) => metric.phase === 'Inconclusive' || metric.phase === 'NoData');
  if (failed.length > 0 || scoring.failed.length > 0) {
    run.phase = 'Failed';
    run.message = [...scoring.failed, ...failed.map((metric) => metric.message ?? metric.key)].join('; ');
    run.finishedAt = now;
    stopMetrics(run);
  } else if (waiting.length > 0) {
    run.phase = 'Inconclusive';
    run.message = waiting.map((metric) => metric.message ?? metric.key).join('; ');
  } else if (run.metrics.every((metric) => metric.phase === 'Successful') && scoring.marginal.length > 0 && !run.marginalAccepted) {
    run.phase = 'Inconclusive';
    run.message = `${scoring.marginal.join('; ')}; resume to accept, abort to roll back`;
  } else if (run.metrics.every((metric) => metric.phase === 'Successful')) {
    run.phase = 'Successful';
    run.message = null;
    run.finishedAt = now;
  } else {
    run.phase = 'Running';
    run.message = null;
  }
}

function stopMetrics(run: AnalysisRunStatus): void {
  for (const metric of run.metrics) {
    if (metric.phase === 'Running' || metric.phase === 'Inconclusive' || metric.phase === 'NoData') metric.phase = 'Terminated';
    metric.nextMeasurementAt = null;
  }
}

/** True when the run waits on a NoData metric (as opposed to an inconclusive one). */
export function runWaitsOnNoData(run: AnalysisRunStatus): boolean {
  return run.metrics.some((metric) => metric.phase === 'NoData');
}

/**
 * A human acknowledged the inconclusive / no-data measurements (`resume`): those metrics measure
 * again from `now` (a fresh window), and only new inconclusive / no-data measurements count.
 */
export function acknowledgeRun(run: AnalysisRunStatus, now: number): void {
  if (run.phase !== 'Inconclusive') return;
  // A human accepting a marginal final score (mannWhitney) is the only way past it.
  if (run.metrics.every((metric) => metric.phase === 'Successful')) run.marginalAccepted = true;
  for (const metric of run.metrics) {
    if (metric.phase !== 'Inconclusive' && metric.phase !== 'NoData') continue;
    metric.acknowledged = { inconclusive: metric.inconclusive, noData: metric.noData };
    metric.phase = 'Running';
    metric.message = null;
    metric.windowStart = now;
    metric.nextMeasurementAt = now + metric.settings.intervalMs;
    evaluateMetric(metric);
  }
  run.phase = 'Running';
  evaluateRun(run, now);
}

/** Stops a run that has not finished: `Successful` (background run when the rollout is promoted) or `Terminated`. */
export function stopRun(run: AnalysisRunStatus, phase: 'Successful' | 'Terminated', message: string, now: number): void {
  if (run.phase !== 'Running' && run.phase !== 'Inconclusive') return;
  run.phase = phase;
  run.message = message;
  run.finishedAt = now;
  stopMetrics(run);
}

/** The metric states due for a measurement at `now`. */
export function dueMetrics(run: AnalysisRunStatus, now: number): MetricRunStatus[] {
  if (run.phase !== 'Running') return [];
  return run.metrics.filter((metric) => metric.phase === 'Running' && metric.nextMeasurementAt !== null && metric.nextMeasurementAt <= now);
}

/** The earliest time a metric of the run is due, or null. */
export function nextDueAt(run: AnalysisRunStatus): number | null {
  if (run.phase !== 'Running') return null;
  let next: number | null = null;
  for (const metric of run.metrics) {
    if (metric.phase === 'Running' && metric.nextMeasurementAt !== null && (next === null || metric.nextMeasurementAt < next)) next = metric.nextMeasurementAt;
  }
  return next;
}
