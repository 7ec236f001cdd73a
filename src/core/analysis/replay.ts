/**
 * Offline replay of an AnalysisTemplate over recorded per-window samples (`rollgate analysis
 * replay`). Pure: the caller reads the files; this module parses JSON Lines text and walks the
 * samples through the same run machinery the engine uses (createRun, recordMeasurement,
 * evaluateRun, in decide()'s order), so a replayed verdict is the verdict a rollout would have had.
 *
 * Time: `t` is seconds since the analysis started (the run starts at 0). A record's `t` is the END
 * of the record's own window. Each metric measures on its own interval: window k of a metric is
 * (initialDelay + (k-1)·interval, initialDelay + k·interval], and it holds the records whose `t`
 * falls in it (records of one version in one window are summed). A window is measured only when
 * the data covers it (its end ≤ the largest `t`); records after the last complete window are not
 * used. A version without any record in a window has no data there (a null sample), which is not
 * the same as a record with 0 requests.
 */
import type { AnalysisTemplateSpec } from '../resources/analysis-template.js';
import { histogramOf } from './histogram.js';
import { createRun, dueMetrics, evaluateRun, nextDueAt, recordMeasurement } from './run.js';
import type { JsonValue, LatencySummary, MeasurementCount, MeasurementPhase, MetricPhase, MetricSpec, Sample, SamplePair } from './types.js';

export type ReplayVersion = 'baseline' | 'canary';

/** One line of a samples file. */
export interface SampleRecord {
  /** Seconds since the analysis started: the end of this record's window. */
  t: number;
  version: ReplayVersion;
  requests: number;
  errors: number;
  /** Latencies of (some of) the window's requests, in milliseconds. */
  latencyMs?: number[];
}

/** A bad line of a samples file; `line` is 1-based, `field` null when the line as a whole is wrong. */
export interface SampleIssue {
  line: number;
  field: string | null;
  message: string;
}

export type ReplayDecision = 'pass' | 'fail' | 'inconclusive';
export type ReplayVerdict = 'pass' | 'fail' | 'running' | 'inconclusive' | 'nodata' | 'error';

export interface ReplayMetric {
  name: string;
  verdict: ReplayVerdict;
  /** `t` (seconds) of the window end where the metric stopped measuring; null while it was still measuring. */
  decidedAt: number | null;
  /** The judge's evidence from the metric's last measurement; null when it never measured. */
  evidence: { details: { [key: string]: JsonValue } | null; message: string | null } | null;
}

/** What one version did in a measured window, in short. */
export interface ReplayArm {
  requests: number;
  errors: number;
  /** The number the metric reads as `value` (see `sampleValue`); null when it has none. */
  value: number | null;
}

/** One measurement. */
export interface ReplayEvent {
  /** Window end (seconds): when the measurement was taken. */
  t: number;
  /** Window start (seconds). */
  from: number;
  metric: string;
  phase: MeasurementPhase;
  /** How it counted after `noDataPolicy`. */
  countedAs: MeasurementCount;
  /** null: no record of that version in the window. */
  baseline: ReplayArm | null;
  canary: ReplayArm | null;
  details: { [key: string]: JsonValue } | null;
  message: string | null;
}

/** A mannWhitney template's score after an interval (`at` in seconds as `t`). */
export interface ReplayScore {
  template: string;
  interval: number;
  t: number;
  score: number;
  outcome: 'Pass' | 'Marginal' | 'Fail';
  groups: { [group: string]: number };
  message: string | null;
}

export interface ReplayResult {
  decision: ReplayDecision;
  /** `t` (seconds) of the window end where the run concluded (passed, failed or paused); null when the data ended first. */
  decidedAt: number | null;
  metrics: ReplayMetric[];
  /** Every measurement, in the order they were taken. */
  timeline: ReplayEvent[];
  /** mannWhitney templates only: the score after each complete interval. */
  scores?: ReplayScore[];
  /** For the human summary (not part of the JSON interface). */
  summary: {
    template: string;
    /** The run's final phase and message (why it failed or waits). */
    runPhase: string;
    runMessage: string | null;
    /** Why each metric stopped (by metric name); null while measuring. */
    metricMessages: Record<string, string | null>;
    records: number;
    /** Largest `t` in the records (seconds); null without records. */
    dataEnd: number | null;
    /** Records in no measured window: before the first window (initialDelay), after the run concluded, or after the last complete window. */
    unusedRecords: number;
  };
}

export interface ReplayOptions {
  /** The template's name in the run (metric keys, scores); default `replay`. */
  templateName?: string;
  /**
   * `count` of metrics that set none (and no sequential `horizon`): null (default) measures until
   * the data ends, so such a template can only fail or stay inconclusive.
   */
  defaultCount?: number | null;
}

const VERSIONS: readonly ReplayVersion[] = ['baseline', 'canary'];
const RECORD_FIELDS = new Set(['t', 'version', 'requests', 'errors', 'latencyMs']);

// ---------------------------------------------------------------------------------------------
// Parsing

/**
 * Parses JSON Lines samples: one object per line, blank lines skipped. Every problem is reported
 * (with its 1-based line); `records` holds only the good lines, in file order.
 */
export function parseSampleLines(text: string): { records: SampleRecord[]; issues: SampleIssue[] } {
  const records: SampleRecord[] = [];
  const issues: SampleIssue[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((source, index) => {
    if (source.trim() === '') return;
    const parsed = parseSampleRecord(source, index + 1);
    if ('record' in parsed) records.push(parsed.record);
    else issues.push(...parsed.issues);
  });
  return { records, issues };
}

/** One line: a record, or what is wrong with it. */
export function parseSampleRecord(source: string, line = 1): { record: SampleRecord } | { issues: SampleIssue[] } {
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (error) {
    return { issues: [{ line, field: null, message: `invalid JSON: ${error instanceof Error ? error.message : String(error)}` }] };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { issues: [{ line, field: null, message: `expected a JSON object such as {"t": 10, "version": "canary", "requests": 100, "errors": 1}, got ${describe(value)}` }] };
  }
  const raw = value as Record<string, unknown>;
  const issues: SampleIssue[] = [];
  const problem = (field: string, message: string) => issues.push({ line, field, message });

  for (const key of Object.keys(raw)) if (!RECORD_FIELDS.has(key)) problem(key, `unknown field; known fields: ${[...RECORD_FIELDS].join(', ')}`);

  const { t, version, requests, errors, latencyMs } = raw;
  if (t === undefined) problem('t', 'required (seconds since the start, the end of the record\'s window)');
  else if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) problem('t', `must be a finite number >= 0, got ${describe(t)}`);

  if (version === undefined) problem('version', 'required ("baseline" or "canary")');
  else if (typeof version !== 'string' || !(VERSIONS as readonly string[]).includes(version)) problem('version', `must be "baseline" or "canary", got ${describe(version)}`);

  const count = (field: 'requests' | 'errors', given: unknown): boolean => {
    if (given === undefined) {
      problem(field, 'required (an integer >= 0)');
      return false;
    }
    if (typeof given !== 'number' || !Number.isSafeInteger(given) || given < 0) {
      problem(field, `must be an integer >= 0, got ${describe(given)}`);
      return false;
    }
    return true;
  };
  const requestsOk = count('requests', requests);
  const errorsOk = count('errors', errors);
  if (requestsOk && errorsOk && (errors as number) > (requests as number)) problem('errors', `must not exceed requests (${String(requests)}), got ${String(errors)}`);

  if (latencyMs !== undefined) {
    if (!Array.isArray(latencyMs)) problem('latencyMs', `must be an array of numbers >= 0 (milliseconds), got ${describe(latencyMs)}`);
    else {
      const bad = latencyMs.findIndex((item) => typeof item !== 'number' || !Number.isFinite(item) || item < 0);
      if (bad >= 0) problem(`latencyMs[${bad}]`, `must be a finite number >= 0 (milliseconds), got ${describe(latencyMs[bad])}`);
    }
  }

  if (issues.length > 0) return { issues };
  const record: SampleRecord = { t: t as number, version: version as ReplayVersion, requests: requests as number, errors: errors as number };
  if (latencyMs !== undefined) record.latencyMs = [...(latencyMs as number[])];
  return { record };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

// ---------------------------------------------------------------------------------------------
// Samples

/** Seconds to ms, rounded to the microsecond so that 1.1 s is 1100 ms, not 1100.0000000000002. */
const toMs = (seconds: number): number => Math.round(seconds * 1e6) / 1e3;
const toSeconds = (ms: number): number => ms / 1000;

interface TimedRecord extends SampleRecord {
  ms: number;
}

/** Nearest-rank quantile of ascending values (non-empty). */
function quantile(sorted: readonly number[], q: number): number {
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

function latencySummary(sorted: readonly number[]): LatencySummary | null {
  if (sorted.length === 0) return null;
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    mean: sum / sorted.length,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
    max: sorted[sorted.length - 1]!,
  };
}

/**
 * The `value` a metric reads from a replayed sample: `errorRate` for builtin errorRate, the
 * `builtin.quantile` (default 0.99) of the latencies for builtin latency, requests per second for
 * builtin requestRate. A Prometheus query cannot be replayed from these records: its `value` is
 * the errorRate (the recorded fields are requests, errors and latencies only).
 */
export function sampleValue(metric: MetricSpec, sample: Sample, sortedLatencies: readonly number[], windowSeconds: number): number | null {
  const provider = metric.provider;
  if ('builtin' in provider) {
    switch (provider.builtin.metric) {
      case 'errorRate':
        return sample.errorRate;
      case 'latency':
        return sortedLatencies.length > 0 ? quantile(sortedLatencies, provider.builtin.quantile ?? 0.99) : null;
      case 'requestRate':
        return windowSeconds > 0 ? sample.requests / windowSeconds : null;
    }
  }
  return sample.errorRate;
}

/** First index whose record is after `ms` (records sorted by time). */
function firstAfter(records: readonly TimedRecord[], ms: number): number {
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (records[mid]!.ms > ms) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Both versions' samples in (startMs, endMs] for one metric. */
function windowSamples(metric: MetricSpec, records: readonly TimedRecord[], startMs: number, endMs: number, used: Uint8Array): SamplePair {
  const from = firstAfter(records, startMs);
  const to = firstAfter(records, endMs);
  used.fill(1, from, to);
  const arms: Record<ReplayVersion, { seen: boolean; requests: number; errors: number; latencies: number[] }> = {
    baseline: { seen: false, requests: 0, errors: 0, latencies: [] },
    canary: { seen: false, requests: 0, errors: 0, latencies: [] },
  };
  for (let i = from; i < to; i++) {
    const record = records[i]!;
    const arm = arms[record.version];
    arm.seen = true;
    arm.requests += record.requests;
    arm.errors += record.errors;
    if (record.latencyMs) for (const ms of record.latencyMs) arm.latencies.push(ms / 1000);
  }
  const windowSeconds = (endMs - startMs) / 1000;
  const sample = (version: ReplayVersion): Sample | null => {
    const arm = arms[version];
    if (!arm.seen) return null;
    const sorted = [...arm.latencies].sort((a, b) => a - b);
    const result: Sample = {
      requests: arm.requests,
      errors: arm.errors,
      errorRate: arm.requests > 0 ? arm.errors / arm.requests : null,
      latency: latencySummary(sorted),
      histogram: sorted.length > 0 ? histogramOf(sorted) : null,
    };
    result.value = sampleValue(metric, result, sorted, windowSeconds);
    return result;
  };
  return { baseline: sample('baseline'), canary: sample('canary') };
}

// ---------------------------------------------------------------------------------------------
// Replay

const VERDICTS: Record<MetricPhase, ReplayVerdict> = {
  Running: 'running',
  Successful: 'pass',
  Failed: 'fail',
  Error: 'error',
  Inconclusive: 'inconclusive',
  NoData: 'nodata',
  // Only set by stopping the run; the phase the metric had before is tracked separately.
  Terminated: 'running',
};

const arm = (sample: Sample | null): ReplayArm | null => (sample === null ? null : { requests: sample.requests, errors: sample.errors, value: sample.value ?? null });

/**
 * Evaluates `spec` over `records` as an analysis run started at t = 0 would have: every metric
 * measures each of its windows the data covers, in time order, until the run passes, fails or
 * waits for a human (Inconclusive / NoData), or the data ends.
 */
export function replayAnalysis(spec: AnalysisTemplateSpec, records: readonly SampleRecord[], options: ReplayOptions = {}): ReplayResult {
  const templateName = options.templateName ?? 'replay';
  const timed: TimedRecord[] = records.map((record) => ({ ...record, ms: toMs(record.t) })).sort((a, b) => a.ms - b.ms);
  const dataEndMs = timed.length > 0 ? timed[timed.length - 1]!.ms : null;

  const run = createRun({
    id: 'replay',
    kind: 'step',
    attempt: 1,
    stepIndex: 0,
    templates: [{ name: templateName, spec }],
    args: {},
    startedAt: 0,
    defaultCount: options.defaultCount ?? null,
  });
  const specOf = new Map(spec.metrics.map((metric) => [metric.name, metric] as const));
  const timeline: ReplayEvent[] = [];
  /** The phase each metric reached by its own measurements (stopping the run turns the rest Terminated). */
  const ownPhase = new Map<string, MetricPhase>(run.metrics.map((metric) => [metric.name, metric.phase]));
  const decidedAtMs = new Map<string, number>();
  const scores: ReplayScore[] = [];
  const seenScores = new Set<string>();
  const collectScores = () => {
    for (const score of run.scores ?? []) {
      const key = `${score.template}/${score.interval}`;
      if (seenScores.has(key)) continue;
      seenScores.add(key);
      scores.push({ template: score.template, interval: score.interval, t: toSeconds(score.at), score: score.score, outcome: score.outcome, groups: { ...score.groups }, message: score.message });
    }
  };
  const used = new Uint8Array(timed.length);
  let concludedAtMs: number | null = run.phase === 'Running' ? null : 0;

  let now = nextDueAt(run);
  while (run.phase === 'Running' && now !== null && dataEndMs !== null && now <= dataEndMs) {
    // As the engine does: every metric due at `now` is measured over (windowStart, now], then the run is evaluated.
    for (const state of dueMetrics(run, now)) {
      const metricSpec = specOf.get(state.name)!;
      const window = { startMs: state.windowStart, endMs: now };
      const samples = windowSamples(metricSpec, timed, window.startMs, window.endMs, used);
      if (!recordMeasurement(state, metricSpec, { window, result: samples }, now)) continue;
      const measurement = state.measurements[state.measurements.length - 1]!;
      timeline.push({
        t: toSeconds(now),
        from: toSeconds(window.startMs),
        metric: state.name,
        phase: measurement.phase,
        countedAs: measurement.countedAs,
        baseline: arm(samples.baseline),
        canary: arm(samples.canary),
        details: measurement.details,
        message: measurement.message,
      });
      ownPhase.set(state.name, state.phase);
      if (state.phase !== 'Running' && !decidedAtMs.has(state.name)) decidedAtMs.set(state.name, now);
    }
    evaluateRun(run, now);
    collectScores();
    if (run.phase !== 'Running') concludedAtMs = now;
    now = nextDueAt(run);
  }
  collectScores();

  const decision: ReplayDecision = run.phase === 'Successful' ? 'pass' : run.phase === 'Failed' ? 'fail' : 'inconclusive';
  const metrics: ReplayMetric[] = run.metrics.map((state) => {
    const last = state.measurements[state.measurements.length - 1];
    const decided = decidedAtMs.get(state.name);
    return {
      name: state.name,
      verdict: VERDICTS[ownPhase.get(state.name) ?? state.phase],
      decidedAt: decided === undefined ? null : toSeconds(decided),
      evidence: last ? { details: last.details, message: last.message } : null,
    };
  });
  const metricMessages: Record<string, string | null> = {};
  for (const state of run.metrics) metricMessages[state.name] = state.message;
  const unusedRecords = used.reduce((unused, flag) => unused + (flag === 0 ? 1 : 0), 0);

  const result: ReplayResult = {
    decision,
    decidedAt: concludedAtMs === null ? null : toSeconds(concludedAtMs),
    metrics,
    timeline,
    summary: {
      template: templateName,
      runPhase: run.phase,
      runMessage: run.message,
      metricMessages,
      records: timed.length,
      dataEnd: dataEndMs === null ? null : toSeconds(dataEndMs),
      unusedRecords,
    },
  };
  if (scores.length > 0) result.scores = scores;
  return result;
}
