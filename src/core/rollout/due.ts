/**
 * What the engine must measure before the next decide(): one entry per (analysis run, metric)
 * whose measurement is due. The engine asks the metric provider for each window and passes the
 * answers to decide() as `observations.measurements` (same runId, metric and window).
 */
import { dueMetrics } from '../analysis/run.js';
import type { MetricSpec } from '../analysis/types.js';
import type { RolloutSpec, RolloutStatus } from './types.js';

export interface DueMeasurement {
  runId: string;
  /** Metric key, `template/metric`. */
  metric: string;
  template: string;
  metricName: string;
  /** The metric's provider block from the AnalysisTemplate. */
  provider: MetricSpec['provider'];
  /** From the end of the last measurement (or the run start plus initialDelay) to `now`. */
  window: { startMs: number; endMs: number };
  /** Baseline = the stable version, canary = the new version. */
  versions: { baseline: string; canary: string };
  /** The run's resolved arguments, for providers that template their queries. */
  args: Record<string, string>;
}

/** Pure: the measurements due at `now`, oldest due first. [] when nothing is running. */
export function dueMeasurements(spec: RolloutSpec, status: RolloutStatus | null, now: number): DueMeasurement[] {
  if (!status || (status.phase !== 'Progressing' && status.phase !== 'Paused')) return [];
  const baseline = status.stableVersion;
  if (baseline === null || !Number.isFinite(now)) return [];
  const due: Array<DueMeasurement & { dueAt: number }> = [];
  for (const run of status.analysisRuns) {
    for (const metric of dueMetrics(run, now)) {
      const template = spec.templates?.[metric.template];
      const metricSpec = template?.metrics?.find((candidate) => candidate.name === metric.name);
      if (!metricSpec || metric.windowStart >= now) continue;
      due.push({
        runId: run.id,
        metric: metric.key,
        template: metric.template,
        metricName: metric.name,
        provider: metricSpec.provider,
        window: { startMs: metric.windowStart, endMs: now },
        versions: { baseline, canary: status.canaryVersion },
        args: { ...run.args },
        dueAt: metric.nextMeasurementAt ?? now,
      });
    }
  }
  return due.sort((a, b) => a.dueAt - b.dueAt).map(({ dueAt: _dueAt, ...entry }) => entry);
}
