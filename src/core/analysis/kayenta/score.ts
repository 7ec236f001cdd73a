/**
 * Kayenta's template score: WeightedSumScorer.scala (kayenta-judge/.../scorers) then
 * ThresholdScoreClassifier.scala (classifiers/score), over one classification per metric.
 */
import type { Classification } from './classifier.js';

export interface ScoreEntry {
  metric: string;
  group: string;
  /** The metric is configured critical. */
  critical: boolean;
  classification: Classification;
  /**
   * The classifier's critical flag (MetricClassification.critical): this metric forces 0. When
   * absent it is taken to be `critical && classification ∉ {Pass, Error}` (criticalIncrease 1).
   */
  criticalFailure?: boolean;
}

export interface ScoreOptions {
  /** Percent per group; groups without one share 100 − Σ weights equally. */
  groupWeights?: { [group: string]: number };
  pass: number;
  marginal: number;
}

export interface TemplateScoreResult {
  /** 0..100, rounded to 2 decimals as WeightedSumScorer does. */
  score: number;
  outcome: 'Pass' | 'Marginal' | 'Fail';
  /** Score of each group (0..100; 0 for a group with no scored metric, as Kayenta reports it). */
  groups: { [group: string]: number };
  /** Why the score is 0, or which metrics were High / Low / NoData / Error; null when all passed. */
  message: string | null;
}

/** WeightedSumScorer.NODATA_THRESHOLD: this percentage of NoData metrics or more scores 0. */
export const NODATA_THRESHOLD = 50;

/** commons-math Precision.round(x, 2) (HALF_UP on the decimal representation). */
function round2(value: number): number {
  return Math.round(Number((value * 100).toPrecision(15))) / 100;
}

const names = (entries: readonly ScoreEntry[]) => entries.map((entry) => entry.metric).join(', ');

/**
 * The score of one template's metrics:
 * - group score = 100 · #Pass / (#Pass + #High + #Low); NoData and Error are left out of the
 *   denominator, and a group with none of the three scores 0 but counts as 100 in the summary;
 * - summary = Σ_g w_g · score_g / 100, with w_g from `groupWeights` and the groups without a
 *   weight sharing (100 − Σ all weights) equally;
 * - 0 if any metric is a critical failure (checked first), or if ≥ 50% of the metrics are NoData;
 * - outcome Pass if score ≥ pass, Marginal if ≥ marginal, else Fail.
 */
export function scoreTemplate(entries: readonly ScoreEntry[], options: ScoreOptions): TemplateScoreResult {
  const weights = options.groupWeights ?? {};
  const byGroup = new Map<string, ScoreEntry[]>();
  for (const entry of entries) {
    const members = byGroup.get(entry.group);
    if (members) members.push(entry);
    else byGroup.set(entry.group, [entry]);
  }

  // WeightedSumScorer.calculateGroupScore.
  const groups: { [group: string]: number } = {};
  const groupScores: Array<{ name: string; score: number; noData: boolean }> = [];
  for (const [name, members] of byGroup) {
    const pass = members.filter((entry) => entry.classification === 'Pass').length;
    const scored = members.filter((entry) => entry.classification === 'Pass' || entry.classification === 'High' || entry.classification === 'Low').length;
    const noData = scored === 0;
    const score = noData ? 0 : (pass / scored) * 100;
    groups[name] = round2(score);
    groupScores.push({ name, score, noData });
  }

  const high = entries.filter((entry) => entry.classification === 'High');
  const low = entries.filter((entry) => entry.classification === 'Low');
  const noData = entries.filter((entry) => entry.classification === 'NoData');
  const errors = entries.filter((entry) => entry.classification === 'Error');
  const outcome = (score: number): TemplateScoreResult['outcome'] => (score >= options.pass ? 'Pass' : score >= options.marginal ? 'Marginal' : 'Fail');

  // WeightedSumScorer.criticalFailures: critical result flag and not Pass.
  const criticalFailures = entries.filter(
    (entry) => entry.classification !== 'Pass' && (entry.criticalFailure ?? (entry.critical && entry.classification !== 'Error')),
  );
  if (criticalFailures.length > 0) {
    const what = criticalFailures.map((entry) => `${entry.metric} (${entry.classification})`).join(', ');
    return { score: 0, outcome: outcome(0), groups, message: `critical metric failed: ${what}` };
  }
  // WeightedSumScorer.tooManyNodata.
  if (entries.length > 0 && (noData.length / entries.length) * 100 >= NODATA_THRESHOLD) {
    return { score: 0, outcome: outcome(0), groups, message: `${NODATA_THRESHOLD}% or more metrics returned NODATA: ${names(noData)}` };
  }

  // WeightedSumScorer.calculateSummaryScore.
  const weightSum = Object.values(weights).reduce((sum, weight) => sum + weight, 0);
  const unweighted = groupScores.filter((group) => !Object.hasOwn(weights, group.name));
  const shared = unweighted.length > 0 ? (100 - weightSum) / unweighted.length : 0;
  let summary = 0;
  for (const group of groupScores) {
    const weight = Object.hasOwn(weights, group.name) ? weights[group.name]! : shared;
    summary += (group.noData ? 100 : group.score) * (weight / 100);
  }
  const score = round2(summary);

  const parts: string[] = [];
  if (high.length > 0) parts.push(`High: ${names(high)}`);
  if (low.length > 0) parts.push(`Low: ${names(low)}`);
  if (noData.length > 0) parts.push(`NoData: ${names(noData)}`);
  if (errors.length > 0) parts.push(`not scored (Error): ${names(errors)}`);
  return { score, outcome: outcome(score), groups, message: parts.length > 0 ? parts.join('; ') : null };
}
