/**
 * Data shapes of canary analysis. Everything here is JSON-serializable: it is stored inside a
 * Deployment's rollout status so a user can see every measurement with the numbers it was made from.
 */
import type { AnalysisTemplateSpec } from '../resources/analysis-template.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** One metric of an AnalysisTemplate (`spec.metrics[i]`). */
export type MetricSpec = AnalysisTemplateSpec['metrics'][number];

/** Latency summary of one version in a window, in seconds. */
export interface LatencySummary {
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

/**
 * What one version did in a window. Structurally identical to `VersionSample` in
 * src/ports/metric-provider.ts (core cannot import ports; a test checks they stay assignable).
 */
export interface Sample {
  requests: number;
  errors: number;
  /** errors / requests; null when requests is 0. */
  errorRate: number | null;
  /** null when no request finished in the window. */
  latency: LatencySummary | null;
  /** Single-number providers (e.g. a PromQL query). */
  value?: number | null;
  /** Latency distribution in the window, for judges that test distributions (sequential). */
  histogram?: LatencyHistogram | null;
}

/**
 * Latency histogram of one version in one window. `bounds` are ascending upper bounds in seconds;
 * `counts[i]` (non-cumulative) holds the requests with latency in (bounds[i-1], bounds[i]], and the
 * extra last count those above the last bound: `counts.length === bounds.length + 1`. Prometheus
 * classic histograms map onto it directly (`le` bounds, +Inf last); the embedded router reports
 * FINE_LATENCY_BOUNDS (src/core/analysis/histogram.ts).
 */
export interface LatencyHistogram {
  bounds: number[];
  counts: number[];
}

/** The judge a template selects, with its settings resolved for one metric (frozen in the run). */
export type MetricJudgeConfig =
  | { kind: 'threshold' }
  | {
      kind: 'sequential';
      /** This metric's share of the template's α (Bonferroni by `weight`). */
      alpha: number;
      /** The template's α, for display. */
      templateAlpha: number;
      tolerance: number;
      quantiles: number[];
      edgeSamples: number;
    }
  | {
      kind: 'mannWhitney';
      confidence: number;
      tolerance: number;
      allowedIncrease: number;
      criticalIncrease: number;
      direction: 'increase' | 'decrease' | 'either';
      nanStrategy: 'remove' | 'replace';
      group: string;
      critical: boolean;
      /** Template-level scoring (the same for every metric of the template). */
      pass: number;
      marginal: number;
      groupWeights: { [group: string]: number } | null;
    };

export type JudgeKind = MetricJudgeConfig['kind'];

/** A provider's answer for one window. A null sample means "no data" for that version (not zero requests). */
export interface SamplePair {
  baseline: Sample | null;
  canary: Sample | null;
}

/**
 * Verdict on one measurement.
 * - `Successful` / `Failed` / `Inconclusive`: the judge's answer (Argo Rollouts semantics for `threshold`).
 * - `Error`: the provider failed, or the condition could not be evaluated (text in `message`).
 * - `NoData`: the canary sample (or a baseline the condition needs) was missing, or a field the
 *   condition reads had no value in the window; then handled per the metric's `noDataPolicy`.
 */
export type MeasurementPhase = 'Successful' | 'Failed' | 'Inconclusive' | 'Error' | 'NoData';

/** How a measurement was counted against the metric's limits, after `noDataPolicy`. */
export type MeasurementCount = 'successful' | 'failed' | 'inconclusive' | 'error' | 'noData';

/** One measurement, stored with everything it was computed from. */
export interface Measurement {
  /** 1-based number of this measurement within its metric (including errors and no-data). */
  seq: number;
  /** The window the provider was asked about, ms since epoch (start inclusive, end exclusive). */
  window: { startMs: number; endMs: number };
  /** When decide() recorded it (`now` of that pass). */
  takenAt: number;
  phase: MeasurementPhase;
  /** How it counted: a NoData measurement counts as successful / failed / noData per `noDataPolicy`. */
  countedAs: MeasurementCount;
  /** The inputs: both samples as the provider returned them, and the expressions evaluated. */
  inputs: {
    baseline: Sample | null;
    canary: Sample | null;
    successCondition: string | null;
    failureCondition: string | null;
  };
  /** Judge-specific values, e.g. `{ success: true, failure: false }` for `threshold`. */
  details: { [key: string]: JsonValue } | null;
  /** Error text, or which field had no data, or why the verdict is Inconclusive. */
  message: string | null;
}

export type NoDataPolicy = 'pause' | 'fail' | 'pass';

/** The effective settings of a metric in a run (spec values with defaults applied), frozen when the run starts. */
export interface MetricSettings {
  /** Measurements that must be counted for the metric to succeed; null: measure until the run is stopped. */
  count: number | null;
  intervalMs: number;
  initialDelayMs: number;
  failureLimit: number;
  inconclusiveLimit: number;
  consecutiveErrorLimit: number;
  noDataPolicy: NoDataPolicy;
  successCondition: string | null;
  failureCondition: string | null;
  /** The judge and its settings (absent in statuses written before judges were selectable: threshold). */
  judge?: MetricJudgeConfig;
}

/**
 * State of one metric in a run.
 * - `Running`: measuring.
 * - `Successful`: `count` measurements counted without exceeding a limit (or a judge concluded early).
 * - `Failed`: more failed measurements than `failureLimit`.
 * - `Error`: more consecutive errors than `consecutiveErrorLimit` (fails the run).
 * - `Inconclusive`: more inconclusive measurements than `inconclusiveLimit`: awaiting a human.
 * - `NoData`: a NoData measurement under `noDataPolicy: pause`: awaiting a human.
 * - `Terminated`: stopped before concluding (rollout promoted, skipped or aborted).
 */
export type MetricPhase = 'Running' | 'Successful' | 'Failed' | 'Error' | 'Inconclusive' | 'NoData' | 'Terminated';

export interface MetricRunStatus {
  /** `template/metric`, unique within a run. */
  key: string;
  template: string;
  name: string;
  /** Name of the judge deciding each measurement: `threshold`, `sequential` or `mannWhitney`. */
  judge: string;
  phase: MetricPhase;
  settings: MetricSettings;
  /** Measurements that count toward `count`: successful, failed and inconclusive (NoData under pass/fail too). */
  counted: number;
  successful: number;
  failed: number;
  inconclusive: number;
  errors: number;
  noData: number;
  consecutiveErrors: number;
  /** Totals a human has acknowledged with `resume`; limits apply to the amounts above these. */
  acknowledged: { inconclusive: number; noData: number };
  /** Start of the next window: the run start plus initialDelay, then the end of the last measurement. */
  windowStart: number;
  /** When the next measurement is due; null when the metric is not measuring. */
  nextMeasurementAt: number | null;
  /** Opaque state a judge carries from one measurement to the next (null for `threshold`). */
  judgeState: JsonValue;
  /** The most recent measurements, oldest first (at most MAX_MEASUREMENTS_KEPT). */
  measurements: Measurement[];
  message: string | null;
}

/** Where a run comes from. */
export type AnalysisRunKind = 'step' | 'background' | 'prePromotion' | 'postPromotion';

/**
 * - `Running`: measuring.
 * - `Successful`: every metric succeeded, or (background) the rollout was promoted while it ran without failing.
 * - `Failed`: a metric failed or errored: the rollout aborts.
 * - `Inconclusive`: a metric is Inconclusive or NoData: the rollout pauses until a human resumes or promotes.
 * - `Terminated`: stopped early (skipped by promote, or the rollout aborted).
 */
export type AnalysisRunPhase = 'Running' | 'Successful' | 'Failed' | 'Inconclusive' | 'Terminated';

export interface AnalysisRunStatus {
  /** Unique within the rollout: `a<attempt>/s<step>`, `a<attempt>/background`, `a<attempt>/prePromotion`, `a<attempt>/postPromotion`. */
  id: string;
  kind: AnalysisRunKind;
  attempt: number;
  /** Index of the step that started it (null for background / blue-green runs). */
  stepIndex: number | null;
  templates: string[];
  /** Resolved arguments (template defaults overridden by the strategy's `args`). */
  args: Record<string, string>;
  startedAt: number;
  finishedAt: number | null;
  phase: AnalysisRunPhase;
  message: string | null;
  metrics: MetricRunStatus[];
  /** mannWhitney templates: the Kayenta-style score after each complete interval (newest last, at most 20). */
  scores?: TemplateScore[];
  /** A human resumed a run whose final mannWhitney score was Marginal (accepting it). */
  marginalAccepted?: boolean;
}

/** Kayenta-style score of one template after interval `interval` (every metric measured that often). */
export interface TemplateScore {
  template: string;
  interval: number;
  at: number;
  /** 0..100. */
  score: number;
  outcome: 'Pass' | 'Marginal' | 'Fail';
  /** Score of each group (0..100). */
  groups: { [group: string]: number };
  /** Why it is 0, or which metrics were High / Low / NoData. */
  message: string | null;
}
