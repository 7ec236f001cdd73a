/**
 * Kayenta-style scoring of mannWhitney templates inside an analysis run. Each metric classifies
 * the canary on every measurement (Pass / High / Low / NoData, in the measurement's details); once
 * every metric of a template has measured interval k, the template is scored like Spinnaker's
 * canary stage scores each interval: below `marginal` at any interval fails the run; after the
 * last interval, `pass` or more succeeds and a marginal score waits for a human.
 */
import { scoreTemplate, type ScoreEntry } from './kayenta/score.js';
import type { AnalysisRunStatus, MetricJudgeConfig, MetricRunStatus, TemplateScore } from './types.js';

/** Scores kept per run (the newest). */
const MAX_SCORES_KEPT = 20;

const measuredCount = (metric: MetricRunStatus): number => metric.successful + metric.failed + metric.inconclusive + metric.errors + metric.noData;

type Classification = ScoreEntry['classification'];

function classificationOf(metric: MetricRunStatus): Classification {
  const last = metric.measurements[metric.measurements.length - 1];
  const value = last?.details?.['classification'];
  return value === 'Pass' || value === 'High' || value === 'Low' || value === 'NoData' || value === 'Error' ? value : 'NoData';
}

/**
 * Adds the scores of intervals every metric of a mannWhitney template has completed; returns the
 * reasons to fail the run (a score below marginal) and the final marginal scores awaiting a human.
 */
export function scoreRun(run: AnalysisRunStatus, now: number): { failed: string[]; marginal: string[] } {
  const failed: string[] = [];
  const marginal: string[] = [];
  for (const template of run.templates) {
    const metrics = run.metrics.filter((metric) => metric.template === template && metric.settings.judge?.kind === 'mannWhitney');
    if (metrics.length === 0) continue;
    const config = metrics[0]!.settings.judge;
    if (config?.kind !== 'mannWhitney') continue;
    const interval = Math.min(...metrics.map(measuredCount));
    const scores = (run.scores ??= []);
    const previous = [...scores].reverse().find((score) => score.template === template);
    let latest = previous;
    if (interval > 0 && (!previous || interval > previous.interval)) {
      const result = scoreTemplate(
        metrics.map((metric) => {
          const judge = metric.settings.judge as Extract<MetricJudgeConfig, { kind: 'mannWhitney' }>;
          return {
            metric: metric.name,
            group: judge.group,
            critical: judge.critical,
            classification: classificationOf(metric),
            criticalFailure: metric.measurements.at(-1)?.details?.['critical'] === true,
          };
        }),
        { ...(config.groupWeights ? { groupWeights: config.groupWeights } : {}), pass: config.pass, marginal: config.marginal },
      );
      latest = { template, interval, at: now, score: result.score, outcome: result.outcome, groups: result.groups, message: result.message };
      scores.push(latest);
      if (scores.length > MAX_SCORES_KEPT) scores.splice(0, scores.length - MAX_SCORES_KEPT);
    }
    if (!latest) continue;
    const describe = (score: TemplateScore) =>
      `${template}: score ${score.score} at interval ${score.interval} (pass ${config.pass}, marginal ${config.marginal})${score.message ? `: ${score.message}` : ''}`;
    if (latest.outcome === 'Fail') failed.push(describe(latest));
    else if (latest.outcome === 'Marginal' && metrics.every((metric) => metric.phase === 'Successful')) marginal.push(describe(latest));
  }
  return { failed, marginal };
}
