/**
 * What the rollout pages show, derived from Deployments as the API returns them (pure, so it is
 * tested without a DOM). Mirrors `rollgate rollout history` / `rollout status`
 * (src/cli/rollout-view.ts): the same phases, steps, operations and evidence, laid out for a page.
 */
import type { ApiObject } from '../../../../src/client/index.js';
import type { AnalysisRunStatus, Measurement, MetricRunStatus, Sample } from '../../../../src/core/analysis/types.js';
import { readDeploymentStatus, type DeploymentStatus } from '../../../../src/core/rollout/deployment-status.js';
import type { OperationType, RolloutEvent, RolloutPhase, RolloutStatus } from '../../../../src/core/rollout/types.js';

export type { DeploymentStatus, RolloutStatus };

/** A Deployment's phase: the rollout's; `Pending` before the engine's first pass; `Failed` when it cannot start. */
export type DeploymentPhase = RolloutPhase | 'Pending' | 'Failed';
export const DEPLOYMENT_PHASES: readonly DeploymentPhase[] = ['Pending', 'Progressing', 'Paused', 'Healthy', 'Aborted', 'Degraded', 'Failed'];
export const FINISHED: ReadonlySet<DeploymentPhase> = new Set(['Healthy', 'Aborted', 'Degraded', 'Failed']);

export interface DeploymentSpec {
  service?: string;
  environment?: string;
  version?: string;
  release?: string;
  strategy?: string;
  artifact?: { digest?: string; uri?: string };
}

export const specOf = (deployment: Pick<ApiObject, 'spec'>): DeploymentSpec => deployment.spec as DeploymentSpec;

/** The stored status with a rollout that has the fields the pages read (null when it is not there yet or unreadable). */
export function statusOf(deployment: Pick<ApiObject, 'status'>): { status: DeploymentStatus; rollout: RolloutStatus | null } {
  const status = readDeploymentStatus(deployment.status);
  const rollout = status.rollout as Partial<RolloutStatus> | null;
  const readable = rollout !== null && typeof rollout === 'object' && typeof rollout.phase === 'string' && Array.isArray(rollout.history) && Array.isArray(rollout.analysisRuns);
  return { status, rollout: readable ? (rollout as RolloutStatus) : null };
}

export function deploymentPhase(deployment: Pick<ApiObject, 'status'>): DeploymentPhase {
  const status = readDeploymentStatus(deployment.status);
  const phase = (status.rollout as { phase?: RolloutPhase } | null)?.phase;
  return phase ?? (status.failure ? 'Failed' : 'Pending');
}

// ---------------------------------------------------------------------------------------------
// The list (rollout history)

export interface RolloutRow {
  name: string;
  service: string;
  environment: string;
  version: string;
  phase: DeploymentPhase;
  /** The canary's share of traffic; null before the rollout started. */
  weight: number | null;
  /** When the rollout started (ms), else null. */
  startedAt: number | null;
  createdAt: number;
  /** Finished: how long it took; running: how long so far; null before it started. */
  durationMs: number | null;
  running: boolean;
  message: string;
}

export function rolloutRows(deployments: readonly ApiObject[], now: number): RolloutRow[] {
  const rows = deployments.map((deployment): RolloutRow => {
    const spec = specOf(deployment);
    const { status, rollout } = statusOf(deployment);
    const createdAt = Date.parse(deployment.metadata.createdAt);
    const base = { name: deployment.metadata.name, service: spec.service ?? '?', environment: spec.environment ?? 'default', version: spec.version ?? '-', createdAt: Number.isNaN(createdAt) ? 0 : createdAt };
    if (!rollout) {
      const message = status.failure ? `cannot start: ${status.failure.message}` : status.blocked ? `blocked: ${status.blocked.message}` : 'waiting for the engine';
      return { ...base, phase: deploymentPhase(deployment), weight: null, startedAt: null, durationMs: null, running: false, message };
    }
    const running = rollout.finishedAt === null;
    return {
      ...base,
      phase: rollout.phase,
      weight: rollout.canaryWeight,
      startedAt: rollout.startedAt,
      durationMs: running ? now - rollout.startedAt : rollout.finishedAt! - rollout.startedAt,
      running,
      message: status.blocked ? `blocked: ${status.blocked.message}` : rollout.message,
    };
  });
  // Newest first: creation time, then name (as the server orders them).
  return rows.sort((a, b) => b.createdAt - a.createdAt || b.name.localeCompare(a.name));
}

export interface RolloutFilter {
  service: string;
  environment: string;
  phase: DeploymentPhase | '';
}

export function filterRolloutRows(rows: readonly RolloutRow[], filter: RolloutFilter): RolloutRow[] {
  const service = filter.service.trim().toLowerCase();
  return rows.filter(
    (row) => (!service || row.service.toLowerCase().includes(service) || row.name.toLowerCase().includes(service)) && (!filter.environment || row.environment === filter.environment) && (!filter.phase || row.phase === filter.phase),
  );
}

// ---------------------------------------------------------------------------------------------
// Operations: which buttons make sense now (mirrors decide()'s applyOperation and the API's refusalFor)

export interface OperationChoice {
  type: OperationType;
  label: string;
  /** What it does, shown in the confirmation dialog. */
  effect: string;
  danger: boolean;
}

const OPERATIONS: Record<OperationType, Omit<OperationChoice, 'type'>> = {
  promote: { label: 'Promote', effect: 'Skips the current step (ends a pause step, stops its analysis) and goes on to the next.', danger: false },
  promoteFull: { label: 'Promote full', effect: 'Skips every remaining step and all analysis, and moves 100% of the traffic to the new version.', danger: true },
  pause: { label: 'Pause', effect: 'Holds the rollout at its current step until someone resumes or promotes it. Background analysis keeps measuring.', danger: false },
  resume: { label: 'Resume', effect: 'Ends the pause (acknowledging inconclusive or missing data) and continues with the steps.', danger: false },
  abort: { label: 'Abort', effect: 'Stops the rollout: the canary gets 0% and the stable version serves all traffic again.', danger: true },
  retry: { label: 'Retry', effect: 'Starts a new attempt of this rollout from its first step.', danger: false },
};

export function availableOperations(rollout: RolloutStatus | null, stepCount: number | null = rollout?.stepCount ?? null): OperationChoice[] {
  if (!rollout) return [];
  const types: OperationType[] = [];
  const gate = rollout.pause?.reason === 'gate';
  const stepsLeft = stepCount === null || rollout.stepIndex < stepCount;
  switch (rollout.phase) {
    case 'Progressing':
    case 'Paused':
      if (!gate && stepsLeft) types.push('promote');
      if (!gate) types.push('promoteFull');
      if (rollout.phase === 'Paused' && rollout.pause && !gate && rollout.pause.reason !== 'pauseStep') types.push('resume');
      if (rollout.pause?.reason !== 'user') types.push('pause');
      types.push('abort');
      break;
    case 'Aborted':
      types.push('retry');
      break;
    case 'Degraded':
      types.push('retry', 'abort');
      break;
    case 'Healthy':
      break;
  }
  return types.map((type) => ({ type, ...OPERATIONS[type] }));
}

export const operationLabel = (type: string): string => OPERATIONS[type as OperationType]?.label ?? type;

// ---------------------------------------------------------------------------------------------
// Steps

export type StepState = 'done' | 'current' | 'stopped' | 'next';
export type StepKind = 'setWeight' | 'pause' | 'analysis' | 'setHeaderRoute' | 'other';

export interface TimelineStep {
  index: number;
  kind: StepKind;
  label: string;
  /** What the step sets or waits for, e.g. `20% to the canary`, `3s`, `until promoted`. */
  detail: string;
  state: StepState;
}

interface StepSpec {
  kind: StepKind;
  label: string;
  detail: string;
}

type TemplateRefLike = string | { templateName?: string };
const templateNames = (analysis: unknown): string[] => {
  const templates = (analysis as { templates?: TemplateRefLike[] } | undefined)?.templates ?? [];
  return templates.map((ref) => (typeof ref === 'string' ? ref : (ref.templateName ?? '?')));
};

/** The steps of a resolved strategy, as the engine's plan labels them (src/core/rollout/plan.ts); null when unknown. */
export function planSteps(resolved: DeploymentStatus['resolved']): StepSpec[] | null {
  const strategy = resolved?.strategy as { canary?: Record<string, unknown>; blueGreen?: Record<string, unknown> } | undefined;
  if (!strategy) return null;
  if (strategy.canary) {
    const canary = strategy.canary as { steps?: Array<Record<string, any>>; stepWeights?: number[]; stepWeight?: number; maxWeight?: number; analysis?: unknown };
    let steps = canary.steps;
    if (!steps) {
      // Flagger's form: each weight followed by the analysis.
      const weights = canary.stepWeights ?? [];
      if (!canary.stepWeights && canary.stepWeight) for (let w = canary.stepWeight; w <= (canary.maxWeight ?? 50); w += canary.stepWeight) weights.push(w);
      steps = weights.flatMap((weight) => [{ setWeight: weight }, ...(canary.analysis ? [{ analysis: canary.analysis }] : [])]);
    }
    return steps.map((step): StepSpec => {
      if ('setWeight' in step) return { kind: 'setWeight', label: `setWeight ${step['setWeight']}`, detail: `${step['setWeight']}% to the canary` };
      if ('pause' in step) {
        const duration = (step['pause'] as { duration?: string | number } | undefined)?.duration;
        return duration !== undefined ? { kind: 'pause', label: `pause ${duration}`, detail: `wait ${duration}` } : { kind: 'pause', label: 'pause (until promoted)', detail: 'wait until promoted' };
      }
      if ('analysis' in step) {
        const names = templateNames(step['analysis']);
        return { kind: 'analysis', label: `analysis ${names.join(', ')}`, detail: 'canary vs baseline' };
      }
      if ('setHeaderRoute' in step) {
        const route = step['setHeaderRoute'] as { name: string; match?: unknown[] };
        return route.match && route.match.length > 0
          ? { kind: 'setHeaderRoute', label: `setHeaderRoute ${route.name}`, detail: 'requests with matching headers go to the canary' }
          : { kind: 'setHeaderRoute', label: `remove header route ${route.name}`, detail: 'header route removed' };
      }
      return { kind: 'other', label: Object.keys(step)[0] ?? 'step', detail: '' };
    });
  }
  if (strategy.blueGreen) {
    const blueGreen = strategy.blueGreen as { prePromotionAnalysis?: unknown; postPromotionAnalysis?: unknown; autoPromotionEnabled?: boolean; autoPromotionSeconds?: number };
    const steps: StepSpec[] = [{ kind: 'setHeaderRoute', label: 'preview (x-rollgate-preview: true)', detail: 'the new version gets preview requests only' }];
    if (blueGreen.prePromotionAnalysis) steps.push({ kind: 'analysis', label: 'pre-promotion analysis', detail: `analysis with ${templateNames(blueGreen.prePromotionAnalysis).join(', ')}` });
    const auto = blueGreen.autoPromotionEnabled ?? true;
    steps.push(
      auto
        ? { kind: 'pause', label: `auto-promotion after ${blueGreen.autoPromotionSeconds ?? 0}s`, detail: `wait ${blueGreen.autoPromotionSeconds ?? 0}s` }
        : { kind: 'pause', label: 'await promotion', detail: 'wait until promoted' },
    );
    steps.push({ kind: 'setWeight', label: 'switch 100% to the new version', detail: '100% to the new version' });
    steps.push({ kind: 'setHeaderRoute', label: 'remove preview route', detail: 'header route removed' });
    if (blueGreen.postPromotionAnalysis) steps.push({ kind: 'analysis', label: 'post-promotion analysis', detail: `analysis with ${templateNames(blueGreen.postPromotionAnalysis).join(', ')}` });
    return steps;
  }
  return null;
}

export function stepTimeline(rollout: RolloutStatus, resolved: DeploymentStatus['resolved']): TimelineStep[] {
  if (rollout.stepCount === 0) return [];
  const planned = planSteps(resolved);
  const stopped = rollout.phase === 'Aborted' || rollout.phase === 'Degraded';
  const done = Math.min(rollout.stepIndex, rollout.stepCount);
  const steps: TimelineStep[] = [];
  for (let index = 0; index < rollout.stepCount; index += 1) {
    const spec = planned && planned.length === rollout.stepCount ? planned[index]! : index === done && rollout.stepLabel ? { kind: 'other' as const, label: rollout.stepLabel, detail: '' } : { kind: 'other' as const, label: `step ${index + 1}`, detail: '' };
    const state: StepState = index < done ? 'done' : index === done ? (stopped ? 'stopped' : 'current') : 'next';
    steps.push({ index, ...spec, state });
  }
  return steps;
}

// ---------------------------------------------------------------------------------------------
// Traffic weight over time (step function, from the history events)

export interface WeightPoint {
  at: number;
  weight: number;
}

/** The canary weight after an event, or null when the event does not move traffic. */
function weightAfter(event: RolloutEvent): number | null {
  switch (event.type) {
    case 'TrafficShifted': {
      const match = /:\s*(\d+(?:\.\d+)?)%\s*$/.exec(event.message) ?? /setWeight[ =](\d+(?:\.\d+)?)/.exec(event.message);
      return match ? Number(match[1]) : /switch 100%/.test(event.message) ? 100 : null;
    }
    case 'Promoted':
      return 100;
    case 'Aborted':
    case 'Degraded':
    case 'Retried':
      return 0;
    default:
      return null;
  }
}

/** Points of the step function: 0 at the start, each shift, then the current weight now (or when it finished). */
export function weightSeries(rollout: RolloutStatus, now: number): WeightPoint[] {
  const points: WeightPoint[] = [];
  const events = [...rollout.history].sort((a, b) => a.seq - b.seq);
  const first = events[0];
  // The history keeps the latest events only: when the start is gone, begin at the oldest kept one.
  const startedKept = first?.type === 'RolloutStarted' || first === undefined || first.at <= rollout.startedAt;
  points.push({ at: startedKept ? rollout.startedAt : first.at, weight: startedKept ? 0 : weightBefore(events, rollout) });
  for (const event of events) {
    const weight = weightAfter(event);
    if (weight === null) continue;
    if (points.at(-1)!.at === event.at) points.at(-1)!.weight = weight;
    else points.push({ at: event.at, weight });
  }
  const end = rollout.finishedAt ?? now;
  const last = points.at(-1)!;
  const current = rollout.phase === 'Healthy' ? 100 : rollout.canaryWeight;
  if (end > last.at) points.push({ at: end, weight: last.weight === current ? last.weight : current });
  else last.weight = current;
  return points;
}

function weightBefore(events: readonly RolloutEvent[], rollout: RolloutStatus): number {
  const firstShift = events.find((event) => weightAfter(event) !== null);
  return firstShift ? 0 : rollout.canaryWeight;
}

// ---------------------------------------------------------------------------------------------
// Analysis: per metric, canary vs baseline over time, and the judge's evidence

export type SampleField = 'errorRate' | 'p50' | 'p90' | 'p95' | 'p99' | 'mean' | 'max' | 'requests' | 'errors' | 'value';

export const FIELD_LABEL: Record<SampleField, string> = {
  errorRate: 'error rate',
  p50: 'latency p50',
  p90: 'latency p90',
  p95: 'latency p95',
  p99: 'latency p99',
  mean: 'latency mean',
  max: 'latency max',
  requests: 'requests',
  errors: 'errors',
  value: 'value',
};

const LATENCY = ['p50', 'p90', 'p95', 'p99', 'max', 'mean'] as const;

export function sampleValue(sample: Sample | null, field: SampleField): number | null {
  if (!sample) return null;
  switch (field) {
    case 'errorRate':
      return sample.errorRate;
    case 'requests':
      return sample.requests;
    case 'errors':
      return sample.errors;
    case 'value':
      return sample.value ?? null;
    default:
      return sample.latency ? sample.latency[field] : null;
  }
}

/** `2.50%`, `120ms`, `1.20s`, `1,234`. */
export function formatField(field: SampleField, value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '–';
  if (field === 'errorRate') return `${(value * 100).toFixed(2)}%`;
  if ((LATENCY as readonly string[]).includes(field)) return value >= 1 ? `${value.toFixed(2)}s` : `${(value * 1000).toFixed(value < 0.01 ? 1 : 0)}ms`;
  if (field === 'requests' || field === 'errors') return Math.round(value).toLocaleString('en-US');
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

/** The fields a metric is about: what its conditions read, else what its judge tests, else what its samples have. */
export function metricFields(metric: MetricRunStatus): SampleField[] {
  const found = new Set<SampleField>();
  for (const condition of [metric.settings.successCondition, metric.settings.failureCondition]) {
    for (const match of (condition ?? '').matchAll(/\b(canary|baseline|result)\.([A-Za-z0-9]+)/g)) {
      const name = match[2]!;
      if (name === 'latency') found.add('p99');
      else if (['errorRate', 'requests', 'errors', 'value', ...LATENCY].includes(name)) found.add(name as SampleField);
    }
  }
  if (found.size > 0) return [...found];
  for (const measurement of metric.measurements) {
    const tests = measurement.details?.['tests'];
    if (!Array.isArray(tests)) continue;
    for (const test of tests) {
      const name = (test as { name?: unknown } | null)?.name;
      if (name === 'errors') found.add('errorRate');
      else if (typeof name === 'string' && name.startsWith('latency')) found.add('p99');
    }
    if (found.size > 0) return [...found];
  }
  const samples = metric.measurements.flatMap((m) => [m.inputs.canary, m.inputs.baseline]).filter((s): s is Sample => s !== null);
  if (samples.some((s) => s.value !== undefined && s.value !== null)) return ['value'];
  const fields: SampleField[] = [];
  if (samples.some((s) => s.errorRate !== null)) fields.push('errorRate');
  if (samples.some((s) => s.latency !== null)) fields.push('p99');
  return fields.length > 0 ? fields : ['errorRate'];
}

export interface MetricSeries {
  key: string;
  template: string;
  name: string;
  judge: string;
  /** The latest run's metric (phase, counts, settings). */
  latest: MetricRunStatus;
  runs: Array<{ run: AnalysisRunStatus; metric: MetricRunStatus }>;
  fields: SampleField[];
  /** Every measurement across the runs, oldest first. */
  measurements: Array<Measurement & { runId: string }>;
  /** When a verdict fell: a failed / inconclusive / error measurement, or a metric that concluded. */
  verdicts: Array<{ at: number; label: string; tone: 'ok' | 'bad' | 'warn' }>;
}

/** The current attempt's metrics, one entry per `template/metric` across its runs. */
export function metricSeries(rollout: RolloutStatus): MetricSeries[] {
  const runs = rollout.analysisRuns.filter((run) => run.attempt === rollout.attempt).sort((a, b) => a.startedAt - b.startedAt);
  const byKey = new Map<string, MetricSeries>();
  for (const run of runs) {
    for (const metric of run.metrics) {
      let entry = byKey.get(metric.key);
      if (!entry) {
        entry = { key: metric.key, template: metric.template, name: metric.name, judge: metric.judge, latest: metric, runs: [], fields: [], measurements: [], verdicts: [] };
        byKey.set(metric.key, entry);
      }
      entry.latest = metric;
      entry.runs.push({ run, metric });
      for (const measurement of metric.measurements) {
        entry.measurements.push({ ...measurement, runId: run.id });
        if (measurement.phase === 'Failed') entry.verdicts.push({ at: measurement.takenAt, label: `#${measurement.seq} failed`, tone: 'bad' });
        else if (measurement.phase === 'Inconclusive' || measurement.phase === 'Error' || measurement.phase === 'NoData') entry.verdicts.push({ at: measurement.takenAt, label: `#${measurement.seq} ${measurement.phase}`, tone: 'warn' });
      }
      if (metric.phase !== 'Running' && metric.phase !== 'Terminated') {
        const at = run.finishedAt ?? metric.measurements.at(-1)?.takenAt ?? null;
        if (at !== null) entry.verdicts.push({ at, label: `${run.id}: ${metric.phase}`, tone: metric.phase === 'Successful' ? 'ok' : metric.phase === 'Failed' || metric.phase === 'Error' ? 'bad' : 'warn' });
      }
    }
  }
  for (const entry of byKey.values()) {
    entry.measurements.sort((a, b) => a.window.endMs - b.window.endMs || a.takenAt - b.takenAt);
    entry.fields = metricFields({ ...entry.latest, measurements: entry.measurements });
  }
  return [...byKey.values()];
}

/** uPlot's data for one field: x in seconds, canary, baseline (null where a version had no data). */
export function chartData(series: MetricSeries, field: SampleField): [number[], Array<number | null>, Array<number | null>] {
  const xs: number[] = [];
  const canary: Array<number | null> = [];
  const baseline: Array<number | null> = [];
  for (const measurement of series.measurements) {
    const x = measurement.window.endMs / 1000;
    if (xs.length > 0 && x <= xs.at(-1)!) continue; // uPlot needs ascending x
    xs.push(x);
    canary.push(sampleValue(measurement.inputs.canary, field));
    baseline.push(sampleValue(measurement.inputs.baseline, field));
  }
  return [xs, canary, baseline];
}

// ---------------------------------------------------------------------------------------------
// The judge's evidence, from a measurement's `details`

export interface TestEvidence {
  name: string;
  verdict: string;
  eValue: number | null;
  threshold: number | null;
  alpha: number | null;
  estimate: number | null;
  lower: number | null;
  upper: number | null;
  /** e.g. `canary 3 of 1,200 · baseline 1 of 4,800` (events of requests). */
  samples: string;
}

export type Evidence =
  | { kind: 'sequential'; verdict: string; alpha: number | null; tolerance: number | null; tests: TestEvidence[] }
  | { kind: 'mannWhitney'; classification: string; critical: boolean; hodgesLehmann: number | null; interval: [number, number] | null; confidence: number | null; effectSize: number | null; points: string }
  | { kind: 'threshold'; success: boolean | null; failure: boolean | null }
  | { kind: 'none' };

const numberOrNull = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const record = (value: unknown): Record<string, unknown> => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {});

const counts = (arm: Record<string, unknown>): string => {
  const requests = numberOrNull(arm['requests']);
  const events = numberOrNull(arm['events']);
  if (requests === null) return '?';
  return events === null ? `${Math.round(requests).toLocaleString('en-US')} requests` : `${Math.round(events).toLocaleString('en-US')} of ${Math.round(requests).toLocaleString('en-US')}`;
};

export function evidenceOf(details: Measurement['details']): Evidence {
  if (!details) return { kind: 'none' };
  if (Array.isArray(details['tests'])) {
    const tests = (details['tests'] as unknown[]).map((raw): TestEvidence => {
      const test = record(raw);
      const effect = record(test['effect']);
      const samples = record(test['samples']);
      return {
        name: String(test['name'] ?? '?'),
        verdict: String(test['verdict'] ?? 'running'),
        eValue: numberOrNull(test['eValue']),
        threshold: numberOrNull(test['threshold']),
        alpha: numberOrNull(test['alpha']),
        estimate: numberOrNull(effect['estimate']),
        lower: numberOrNull(effect['lower']),
        upper: numberOrNull(effect['upper']),
        samples: `canary ${counts(record(samples['canary']))} · baseline ${counts(record(samples['baseline']))}`,
      };
    });
    return { kind: 'sequential', verdict: String(details['verdict'] ?? 'running'), alpha: numberOrNull(details['alpha']), tolerance: numberOrNull(details['tolerance']), tests };
  }
  if (typeof details['classification'] === 'string') {
    const interval = Array.isArray(details['interval']) && details['interval'].length === 2 ? (details['interval'].map((x) => Number(x)) as [number, number]) : null;
    const points = record(details['points']);
    return {
      kind: 'mannWhitney',
      classification: details['classification'],
      critical: details['critical'] === true,
      hodgesLehmann: numberOrNull(details['hodgesLehmann']),
      interval,
      confidence: numberOrNull(details['confidence']),
      effectSize: numberOrNull(details['effectSize']),
      points: `${numberOrNull(points['canary']) ?? 0} vs ${numberOrNull(points['baseline']) ?? 0} points`,
    };
  }
  if ('success' in details || 'failure' in details) {
    return { kind: 'threshold', success: typeof details['success'] === 'boolean' ? details['success'] : null, failure: typeof details['failure'] === 'boolean' ? details['failure'] : null };
  }
  return { kind: 'none' };
}

/** A number for people (the judge's style): 2 significant digits, separators above 100, `>1e300` at the cap. */
export function formatNumber(x: number | null, digits = 2): string {
  if (x === null) return '–';
  if (!Number.isFinite(x)) return '∞';
  const a = Math.abs(x);
  if (a >= 1e300) return '>1e300';
  if (a >= 1e6) return x.toExponential(1).replace('e+', 'e');
  if (a >= 100) return Math.round(x).toLocaleString('en-US');
  if (a === 0) return '0';
  return String(Number(x.toPrecision(digits)));
}

export const formatInterval = (lower: number | null, upper: number | null): string => `[${formatNumber(lower, 3)}, ${upper === null ? '∞' : formatNumber(upper, 3)}]`;

/** `step 2 analysis (demo-golden-signals)`. */
export function runTitle(run: AnalysisRunStatus): string {
  const what = run.kind === 'step' ? `step ${(run.stepIndex ?? 0) + 1} analysis` : run.kind === 'background' ? 'background analysis' : run.kind === 'prePromotion' ? 'pre-promotion analysis' : 'post-promotion analysis';
  return `${what} (${run.templates.join(', ')})`;
}

/** `header route canary (x-canary = "1")` or null. */
export function headerRouteText(rollout: RolloutStatus): string | null {
  const route = rollout.headerRoute;
  if (!route) return null;
  const matches = route.match.map((m) => `${m.headerName} ${m.exact !== undefined ? `= "${m.exact}"` : m.prefix !== undefined ? `starts with "${m.prefix}"` : `~ /${m.regex ?? ''}/`}`);
  return `header route ${route.name} (${matches.join(', ')})`;
}

/** What the pause waits for, in words (as `rollout status` says it). */
export function pauseUntil(rollout: RolloutStatus): string {
  const pause = rollout.pause;
  if (!pause) return '';
  if (pause.reason === 'gate') return 'until the governance gate opens; abort still works';
  if (pause.until !== null) return 'until the timer ends';
  if (pause.reason === 'pauseStep') return 'until promoted';
  return 'until resumed (or promoted)';
}
