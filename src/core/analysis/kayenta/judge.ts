/**
 * The `mannWhitney` judge: Kayenta's NetflixACAJudge for users coming from Spinnaker. Each
 * measurement adds one point per arm (the window's value); the classifier re-runs on every point
 * so far, as Spinnaker's canary stage re-judges the whole analysis from its start at each
 * interval. The verdict only reports this metric's classification: the template's weighted score
 * (score.ts, computed by the run from `details.classification`) decides the canary, so the judge
 * never sets `conclusion`.
 *
 * Kayenta gets a whole time series per interval; here the first intervals hold one, two, three
 * points per arm. Too few to test is classified `Error` (Kayenta's label for a metric it could not
 * classify; left out of the score), not High or Low: see classifier.ts `requireConfidence`.
 */
import type { AnalysisJudge, FieldProblem, JudgeVerdict } from '../judge.js';
import type { JsonValue, MetricSpec, Sample } from '../types.js';
import { classifyMannWhitney, type Classification, type MetricClassification } from './classifier.js';

/** Points kept per arm (the newest): bounds the state stored in the rollout status. */
export const MAX_POINTS = 1000;

/** What the judge carries between measurements: every point so far, NaN stored as null (JSON). */
export interface MannWhitneyState {
  canary: Array<number | null>;
  baseline: Array<number | null>;
}

type LatencyField = 'p50' | 'p90' | 'p95' | 'p99';

/** The latency quantile a builtin `latency` metric compares: 0.5/0.9/0.95/0.99 exactly, else p99. */
export function latencyField(quantile: number | undefined): LatencyField {
  if (quantile === 0.5) return 'p50';
  if (quantile === 0.9) return 'p90';
  if (quantile === 0.95) return 'p95';
  return 'p99';
}

const finiteOrNull = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

/**
 * The point one arm contributes for a window: undefined (no point) for a missing sample; null (a
 * NaN point, handled by nanStrategy) when the sample has no value for the metric.
 */
export function pointOf(sample: Sample | null, metric: MetricSpec): number | null | undefined {
  if (sample === null) return undefined;
  if (typeof sample.value === 'number') return finiteOrNull(sample.value);
  const provider = metric.provider;
  if ('builtin' in provider) {
    switch (provider.builtin.metric) {
      case 'errorRate':
        return finiteOrNull(sample.errorRate);
      case 'latency':
        return finiteOrNull(sample.latency?.[latencyField(provider.builtin.quantile)]);
      case 'requestRate':
        return finiteOrNull(sample.value);
    }
  }
  return null;
}

function pointsFrom(value: unknown): Array<number | null> {
  if (!Array.isArray(value)) return [];
  return value.map(finiteOrNull);
}

/** The state carried so far (tolerates null and anything malformed: starts over). */
export function readState(state: JsonValue): MannWhitneyState {
  if (state === null || typeof state !== 'object' || Array.isArray(state)) return { canary: [], baseline: [] };
  return { canary: pointsFrom(state['canary']), baseline: pointsFrom(state['baseline']) };
}

const capped = (points: Array<number | null>): Array<number | null> => (points.length > MAX_POINTS ? points.slice(points.length - MAX_POINTS) : points);

/** 4 significant digits for display; null for NaN / ±Infinity (not JSON). */
export function round4(value: number | null): number | null {
  return value !== null && Number.isFinite(value) ? Number(value.toPrecision(4)) : null;
}

const PHASES: Record<Classification, JudgeVerdict['phase']> = {
  Pass: 'Successful',
  High: 'Failed',
  Low: 'Failed',
  // Kayenta scores no-data itself (≥ 50% NoData → 0); the measurement is not a NoData to pause on.
  NoData: 'Inconclusive',
  Error: 'Inconclusive',
};

function details(result: MetricClassification, group: string, confidence: number): { [key: string]: JsonValue } {
  return {
    classification: result.classification,
    critical: result.critical,
    group,
    hodgesLehmann: round4(result.hodgesLehmann),
    interval: result.interval ? [round4(result.interval[0]), round4(result.interval[1])] : null,
    confidence,
    effectSize: round4(result.effectSize),
    points: { canary: result.points.canary, baseline: result.points.baseline },
    pValue: round4(result.pValue),
  };
}

export const mannWhitneyJudge: AnalysisJudge = {
  name: 'mannWhitney' as const,
  check(metric) {
    const problems: FieldProblem[] = [];
    for (const field of ['successCondition', 'failureCondition'] as const) {
      if (metric[field] !== undefined) problems.push({ field, message: 'the mannWhitney judge compares the arms; remove the condition' });
    }
    return problems;
  },
  judge({ metric, baseline, canary, state, config }) {
    if (config.kind !== 'mannWhitney') return { phase: 'Error', message: `mannWhitney judge given ${config.kind} settings`, details: null, state };
    const carried = readState(state);
    const canaryPoint = pointOf(canary, metric);
    const baselinePoint = pointOf(baseline, metric);
    const next: MannWhitneyState = {
      canary: capped(canaryPoint === undefined ? carried.canary : [...carried.canary, canaryPoint]),
      baseline: capped(baselinePoint === undefined ? carried.baseline : [...carried.baseline, baselinePoint]),
    };
    const nextState = { canary: next.canary, baseline: next.baseline };
    try {
      const result = classifyMannWhitney(next.canary, next.baseline, {
        confidence: config.confidence,
        tolerance: config.tolerance,
        direction: config.direction,
        nanStrategy: config.nanStrategy,
        allowedIncrease: config.allowedIncrease,
        criticalIncrease: config.criticalIncrease,
        critical: config.critical,
        // One point per interval: without it, 2 + 2 fully separated points are already High/Low
        // (classifier.ts `requireConfidence`; the one deliberate departure from Kayenta here).
        requireConfidence: true,
      });
      return { phase: PHASES[result.classification], message: result.reason, details: details(result, config.group, config.confidence), state: nextState };
    } catch (error) {
      // judge() must never throw; the classifier only throws on a bug.
      return { phase: 'Error', message: `mannWhitney: ${error instanceof Error ? error.message : String(error)}`, details: null, state: nextState };
    }
  },
};
