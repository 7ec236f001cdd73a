/**
 * Judges turn one measurement (baseline and canary samples) into a verdict. The rollout state
 * machine only sees `AnalysisJudge`; a template picks its judge with `judge:` (default
 * `threshold`), resolved per metric into a `MetricJudgeConfig` frozen in the run's settings.
 * Judges carry their evidence from one measurement to the next in `state` and may end a metric
 * early with `conclusion`; decide() does not change.
 */
import { checkCelExpression, compileCondition, latencyQuantile, measurementBindings, missingReferences } from './cel.js';
import type { JsonValue, JudgeKind, MeasurementPhase, MetricJudgeConfig, MetricSpec, Sample } from './types.js';
import type { AnalysisTemplateSpec } from '../resources/analysis-template.js';
import { sequentialJudge } from './sequential/judge.js';
import { mannWhitneyJudge } from './kayenta/judge.js';

export interface JudgeInput {
  metric: MetricSpec;
  baseline: Sample | null;
  canary: Sample | null;
  /** What this judge returned as `state` for the previous measurement of the metric (null at first). */
  state: JsonValue;
  /** The judge's settings for this metric (its `kind` names this judge). */
  config: MetricJudgeConfig;
}

export interface JudgeVerdict {
  phase: MeasurementPhase;
  /** Why: error text, the missing field, or what made it inconclusive. */
  message: string | null;
  /** Values the verdict was computed from; stored with the measurement. */
  details: { [key: string]: JsonValue } | null;
  /** Carried to the next measurement of the same metric (evidence so far). */
  state?: JsonValue;
  /** Ends the metric now, regardless of `count` (for sequential judges; `threshold` never sets it). */
  conclusion?: 'Successful' | 'Failed';
}

/** A problem found at apply time; `field` is relative to the metric, e.g. `successCondition`. */
export interface FieldProblem {
  field: string;
  message: string;
}

export interface AnalysisJudge {
  readonly name: JudgeKind;
  /** Apply-time validation of a metric for this judge; [] when it is fine. */
  check(metric: MetricSpec, config: MetricJudgeConfig): FieldProblem[];
  /** The verdict on one measurement. Must be pure and never throw. */
  judge(input: JudgeInput): JudgeVerdict;
}

const verdict = (phase: MeasurementPhase, message: string | null, details: JudgeVerdict['details'] = null): JudgeVerdict => ({
  phase,
  message,
  details,
});

/**
 * Argo Rollouts' threshold semantics over CEL conditions:
 * - both conditions: failure true → Failed; success true (and failure false) → Successful;
 *   both false → Inconclusive.
 * - only successCondition: true → Successful, false → Failed.
 * - only failureCondition: true → Failed, false → Successful.
 * - neither: Inconclusive (Argo says Successful; Rollgate never passes a measurement nobody judged,
 *   and `check` rejects such a metric at apply time).
 * A condition that cannot be evaluated makes the measurement `Error`; one that reads a field with
 * no value in the window (or a missing canary sample, or a missing baseline it mentions) makes it `NoData`.
 */
export const thresholdJudge: AnalysisJudge = {
  name: 'threshold' as const,
  check(metric) {
    const problems: FieldProblem[] = [];
    const success = metric.successCondition;
    const failure = metric.failureCondition;
    if (success === undefined && failure === undefined) {
      problems.push({ field: 'successCondition', message: 'give a successCondition, a failureCondition or both' });
    }
    for (const field of ['successCondition', 'failureCondition'] as const) {
      const source = metric[field];
      if (source === undefined) continue;
      const error = checkCelExpression(source);
      if (error !== null) problems.push({ field, message: error });
    }
    return problems;
  },
  judge({ metric, baseline, canary }) {
    const success = typeof metric.successCondition === 'string' ? metric.successCondition : null;
    const failure = typeof metric.failureCondition === 'string' ? metric.failureCondition : null;
    if (canary === null) return verdict('NoData', 'no data for the canary in the window');
    if (success === null && failure === null) return verdict('Inconclusive', 'the metric has neither successCondition nor failureCondition');
    const provider = metric.provider as { builtin?: { quantile?: number } };
    const bindings = measurementBindings(baseline, canary, latencyQuantile(provider.builtin?.quantile));
    const results: Record<'success' | 'failure', boolean | null> = { success: null, failure: null };
    for (const [which, source] of [
      ['success', success],
      ['failure', failure],
    ] as const) {
      if (source === null) continue;
      const compiled = compileCondition(source);
      if (!compiled.ok) return verdict('Error', `${which}Condition: ${compiled.error}`);
      const { references } = compiled.condition;
      if (baseline === null && references.usesBaseline) {
        return verdict('NoData', `no data for the baseline in the window (${which}Condition reads baseline)`);
      }
      const outcome = compiled.condition.evaluate(bindings);
      if (!outcome.ok) {
        const missing = missingReferences(references, bindings);
        if (missing.length > 0) return verdict('NoData', `${missing.join(', ')} had no value in the window`);
        return verdict('Error', `${which}Condition: ${outcome.error}`);
      }
      if (typeof outcome.value !== 'boolean') {
        return verdict('Error', `${which}Condition must evaluate to a bool, got ${typeof outcome.value === 'bigint' ? 'int' : typeof outcome.value}`);
      }
      results[which] = outcome.value;
    }
    const details = { success: results.success, failure: results.failure };
    let successHolds = results.success === true;
    let failureHolds = results.failure === true;
    if (success !== null && failure === null) failureHolds = !successHolds;
    if (success === null && failure !== null) successHolds = !failureHolds;
    if (failureHolds) return verdict('Failed', null, details);
    if (!successHolds) return verdict('Inconclusive', 'neither successCondition nor failureCondition held', details);
    return verdict('Successful', null, details);
  },
};

/** The judges a template can select with `judge:`. */
export const JUDGES: ReadonlyMap<JudgeKind, AnalysisJudge> = new Map<JudgeKind, AnalysisJudge>([
  [thresholdJudge.name, thresholdJudge],
  [sequentialJudge.name, sequentialJudge],
  [mannWhitneyJudge.name, mannWhitneyJudge],
]);

export const DEFAULT_JUDGE: JudgeKind = 'threshold';

export function judgeFor(config: MetricJudgeConfig | undefined): AnalysisJudge | null {
  return JUDGES.get(config?.kind ?? DEFAULT_JUDGE) ?? null;
}

/**
 * The judge settings of every metric of a template, in order: the template's `judge:` with the
 * metric's own overrides; for `sequential`, α is split across the metrics by `weight`
 * (Bonferroni), so the template's family-wise false-alarm rate stays ≤ α.
 */
export function metricJudgeConfigs(spec: AnalysisTemplateSpec): MetricJudgeConfig[] {
  const judge = spec.judge;
  if (judge && 'sequential' in judge) {
    const s = judge.sequential;
    const alpha = s.alpha ?? 0.05;
    const weights = spec.metrics.map((metric) => metric.weight ?? 1);
    const total = weights.reduce((sum, weight) => sum + weight, 0);
    return weights.map((weight) => ({
      kind: 'sequential' as const,
      alpha: (alpha * weight) / total,
      templateAlpha: alpha,
      tolerance: s.tolerance ?? 0.1,
      quantiles: [...(s.quantiles ?? [0.5, 0.9, 0.99])],
      edgeSamples: s.edgeSamples ?? 500,
    }));
  }
  if (judge && 'mannWhitney' in judge) {
    const m = judge.mannWhitney;
    return spec.metrics.map((metric) => ({
      kind: 'mannWhitney' as const,
      confidence: m.confidence ?? 0.98,
      tolerance: m.tolerance ?? 0.25,
      allowedIncrease: metric.allowedIncrease ?? m.allowedIncrease ?? 1,
      criticalIncrease: metric.criticalIncrease ?? m.criticalIncrease ?? 1,
      direction: metric.direction ?? m.direction ?? 'either',
      nanStrategy: m.nanStrategy ?? 'remove',
      group: metric.group ?? 'default',
      critical: metric.critical ?? false,
      pass: m.pass ?? 95,
      marginal: m.marginal ?? 75,
      groupWeights: m.groupWeights ? { ...m.groupWeights } : null,
    }));
  }
  return spec.metrics.map(() => ({ kind: 'threshold' as const }));
}

/**
 * Apply-time problems of a whole AnalysisTemplate, with paths into its spec, e.g.
 * `['metrics', 0, 'successCondition']`. The server turns these into field errors.
 */
export function checkAnalysisTemplate(spec: AnalysisTemplateSpec): Array<{ path: (string | number)[]; message: string }> {
  const problems: Array<{ path: (string | number)[]; message: string }> = [];
  const seen = new Set<string>();
  const configs = metricJudgeConfigs(spec);
  spec.metrics.forEach((metric, index) => {
    if (seen.has(metric.name)) problems.push({ path: ['metrics', index, 'name'], message: `duplicate metric name "${metric.name}"` });
    seen.add(metric.name);
    const config = configs[index]!;
    const judge = judgeFor(config);
    if (!judge) {
      problems.push({ path: ['judge'], message: `unknown judge "${config.kind}"` });
      return;
    }
    for (const problem of judge.check(metric, config)) problems.push({ path: ['metrics', index, problem.field], message: problem.message });
  });
  const judge = spec.judge;
  if (judge && 'mannWhitney' in judge && (judge.mannWhitney.marginal ?? 75) > (judge.mannWhitney.pass ?? 95)) {
    problems.push({ path: ['judge', 'mannWhitney', 'marginal'], message: 'marginal must not be above pass' });
  }
  return problems;
}
