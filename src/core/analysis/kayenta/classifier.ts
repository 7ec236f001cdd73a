/**
 * Kayenta's MannWhitneyClassifier (kayenta-judge/.../classifiers/metric/MannWhitneyClassifier.scala)
 * with the preprocessing NetflixACAJudge.scala applies first (NaN handling), on plain number
 * arrays: one number per interval (or per time-series step) for the canary and the baseline.
 */
import { mannWhitneyTest, MannWhitneyError } from './mann-whitney.js';
import { gaussian, mulberry32 } from './random.js';

/** Kayenta's metric labels; `Error` is its label for a metric the test could not be computed on. */
export type Classification = 'Pass' | 'High' | 'Low' | 'NoData' | 'Error';

export type Direction = 'increase' | 'decrease' | 'either';
export type NanStrategy = 'remove' | 'replace';

export interface ClassifierConfig {
  /** Confidence level of the interval (NetflixACAJudge.scala hard-codes 0.98). */
  confidence: number;
  /** Fraction of |estimate| the interval must clear (NetflixACAJudge.scala: 0.25). */
  tolerance: number;
  /** Which change is bad (`canary.direction`; Kayenta's default `either`). */
  direction: Direction;
  /** NaN points: `remove` them, or `replace` them with 0 (Transforms.scala). */
  nanStrategy: NanStrategy;
  /** Mean ratio (canary/baseline) a High needs (`effectSize.allowedIncrease`; 1 = any). */
  allowedIncrease: number;
  /** Mean ratio a High of a critical metric needs to force the score to 0 (`criticalIncrease`). */
  criticalIncrease: number;
  /** Mean ratio a Low must be at or below (`allowedDecrease`; default 1 = any). */
  allowedDecrease?: number;
  /** Mean ratio a Low of a critical metric must be at or below to force 0 (`criticalDecrease`; default 1). */
  criticalDecrease?: number;
  /** `canary.critical`: a failure of this metric fails the whole canary. */
  critical: boolean;
  /** Seed of the noise added to degenerate samples (default: a fixed constant). */
  seed?: number;
  /**
   * Not Kayenta (default false = Kayenta). When no data of these sizes could reach `confidence`
   * (MannWhitneyResult.confidenceReachable: at 98%, up to 4 + 4 distinct points), R and Kayenta
   * clamp the interval to the range of differences, so any fully separated handful of points is
   * High or Low; with this set such a High / Low is `Error` ("too few points", left out of the
   * score) instead. With one point per interval, an A/A canary is otherwise High at interval 2
   * one time in six (2 + 2 points fully separated upward).
   */
  requireConfidence?: boolean;
}

export interface MetricClassification {
  classification: Classification;
  /** This metric forces the template's score to 0 (Kayenta's `critical` result flag). */
  critical: boolean;
  /** Why (Kayenta's classificationReason, with the numbers); null for a plain Pass. */
  reason: string | null;
  /** Location shift canary − baseline (null when the test did not run). */
  hodgesLehmann: number | null;
  /** Confidence interval of the shift. */
  interval: [number, number] | null;
  /** False when the data cannot reach the confidence: the interval is the range of differences. */
  confidenceAchieved: boolean | null;
  pValue: number | null;
  /** mean(canary) / mean(baseline); NaN when either mean is 0 (EffectSizes.meanRatio). */
  effectSize: number;
  /** Points each arm contributed after NaN handling. */
  points: { canary: number; baseline: number };
}

/** Default seed of the degenerate-sample noise. */
export const NOISE_SEED = 0x6b617965; // "kaye"

/**
 * NaN handling (NetflixACAJudge.scala handleNaNs; Transforms.scala removeNaNs / replaceNaNs with
 * 0.0). null (a NaN that went through JSON) and ±Infinity count as NaN too.
 */
export function handleNaNs(values: ReadonlyArray<number | null>, strategy: NanStrategy): number[] {
  const out: number[] = [];
  for (const value of values) {
    if (typeof value === 'number' && Number.isFinite(value)) out.push(value);
    else if (strategy === 'replace') out.push(0);
  }
  return out;
}

/** EffectSizes.scala meanRatio: experiment mean / control mean, NaN when either mean is 0. */
export function meanRatio(canary: readonly number[], baseline: readonly number[]): number {
  const mean = (values: readonly number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
  const c = mean(canary);
  const b = mean(baseline);
  return c === 0 || b === 0 ? NaN : c / b;
}

const distinctCount = (values: readonly number[]): number => new Set(values).size;

function sameElements(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort((p, q) => p - q);
  const sb = [...b].sort((p, q) => p - q);
  return sa.every((v, i) => v === sb[i]);
}

const fmt = (value: number): string => (Number.isFinite(value) ? String(Number(value.toPrecision(4))) : 'n/a');

/**
 * Classifies the canary against the baseline, in MannWhitneyClassifier.classify's order:
 * 1. an empty arm: NoData under `remove` (critical if the metric is), Pass under `replace`;
 * 2. identical data (as multisets), or a single value across both arms: Pass, effect 1;
 * 3. each arm a single distinct value: Gaussian noise (sd 1e-5 · the value) on both, seeded;
 * 4. the Mann-Whitney interval at `confidence`; with bounds ±tolerance·|estimate|:
 *    High if direction ∈ {increase, either}, lower > +bound and (effect NaN or effect ≥ allowedIncrease);
 *    Low  if direction ∈ {decrease, either}, upper < −bound and (effect NaN or effect ≤ allowedDecrease);
 *    else Pass;
 * 5. a critical metric's High with effect ≥ criticalIncrease (Low: ≤ criticalDecrease; NaN effect
 *    counts) is flagged critical: it forces the score to 0.
 * A test that cannot be computed (every observation tied, e.g. one point per arm) is `Error`, as
 * NetflixACAJudge.scala reports a RuntimeException from the classifier; Error is never critical.
 * With `requireConfidence`, a High / Low from samples too small to ever reach the confidence is `Error` too.
 */
export function classifyMannWhitney(
  canaryPoints: ReadonlyArray<number | null>,
  baselinePoints: ReadonlyArray<number | null>,
  config: ClassifierConfig,
): MetricClassification {
  const canary = handleNaNs(canaryPoints, config.nanStrategy);
  const baseline = handleNaNs(baselinePoints, config.nanStrategy);
  const points = { canary: canary.length, baseline: baseline.length };
  const result = (classification: Classification, reason: string | null, effectSize: number, critical = false): MetricClassification => ({
    classification,
    critical,
    reason,
    hodgesLehmann: null,
    interval: null,
    confidenceAchieved: null,
    pValue: null,
    effectSize,
    points,
  });

  if (canary.length === 0 || baseline.length === 0) {
    if (config.nanStrategy === 'remove') {
      const missing = canary.length === 0 && baseline.length === 0 ? 'canary and baseline' : canary.length === 0 ? 'canary' : 'baseline';
      return result('NoData', `missing data for the ${missing}`, 1, config.critical);
    }
    return result('Pass', null, 1);
  }
  if (sameElements(canary, baseline)) return result('Pass', 'the canary and baseline data are identical', 1);
  if (distinctCount([...canary, ...baseline]) === 1) return result('Pass', null, 1);

  // MannWhitneyClassifier.MannWhitneyUTest: jitter both arms when each holds one distinct value,
  // scaled to that value (so an arm of zeros stays zeros). Canary first, as Kayenta draws it.
  let experiment = canary;
  let control = baseline;
  if (distinctCount(canary) === 1 && distinctCount(baseline) === 1) {
    const normal = gaussian(mulberry32(config.seed ?? NOISE_SEED));
    const jitter = (values: number[]) => {
      const sd = values[0]! * 1e-5;
      return values.map((v) => v + normal() * sd);
    };
    experiment = jitter(canary);
    control = jitter(baseline);
  }

  const effectSize = meanRatio(experiment, control);
  let test;
  try {
    test = mannWhitneyTest(experiment, control, config.confidence);
  } catch (error) {
    if (!(error instanceof MannWhitneyError)) throw error;
    return result('Error', `the Mann-Whitney test cannot be computed: ${error.message} (${points.canary} canary, ${points.baseline} baseline points)`, effectSize);
  }

  const bound = config.tolerance * Math.abs(test.estimate);
  const effectAtLeast = (threshold: number) => Number.isNaN(effectSize) || effectSize >= threshold;
  const effectAtMost = (threshold: number) => Number.isNaN(effectSize) || effectSize <= threshold;
  const isHigh = (config.direction === 'increase' || config.direction === 'either') && test.lower > bound && effectAtLeast(config.allowedIncrease);
  const isLow = (config.direction === 'decrease' || config.direction === 'either') && test.upper < -bound && effectAtMost(config.allowedDecrease ?? 1);
  const unsupported = config.requireConfidence === true && (isHigh || isLow) && !test.confidenceReachable;
  const classification: Classification = unsupported ? 'Error' : isHigh ? 'High' : isLow ? 'Low' : 'Pass';
  const critical =
    config.critical &&
    ((classification === 'High' && effectAtLeast(config.criticalIncrease)) || (classification === 'Low' && effectAtMost(config.criticalDecrease ?? 1)));

  const interval = `${Math.round(test.confidence * 1000) / 10}% interval [${fmt(test.lower)}, ${fmt(test.upper)}]`;
  const numbers = `shift ${fmt(test.estimate)}, ${interval}, mean ratio ${fmt(effectSize)}`;
  const small = test.confidenceAchieved ? '' : '; the interval is clamped to the range of differences';
  let reason: string | null;
  if (classification === 'Pass') {
    reason = test.confidenceAchieved ? null : `Pass (${numbers}${small})`;
  } else if (unsupported) {
    reason = `too few points to classify yet: ${points.canary} canary and ${points.baseline} baseline points cannot reach ${Math.round(test.confidence * 1000) / 10}% confidence (${numbers}; Kayenta would call this ${isHigh ? 'High' : 'Low'} on the range of differences)`;
  } else {
    const side = classification === 'High' ? `above +${fmt(bound)}` : `below −${fmt(bound)}`;
    reason = `classified as ${classification}${critical ? ' (critical)' : ''}: ${numbers}; the interval lies ${side} (tolerance ${config.tolerance} × |shift|)${small}`;
  }
  return {
    classification,
    critical,
    reason,
    hodgesLehmann: test.estimate,
    interval: [test.lower, test.upper],
    confidenceAchieved: test.confidenceAchieved,
    pValue: test.pValue,
    effectSize,
    points,
  };
}
