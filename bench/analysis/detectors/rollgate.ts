/**
 * Rollgate's sequential judge (src/core/analysis/sequential), used exactly as a rollout uses it:
 * one AnalysisTemplate `judge: { sequential: { alpha, tolerance } }` (0.1 unless said) with two metrics,
 * `errors` (builtin errorRate: the conditional count test) and `latency` (builtin latency: the
 * log-latency shift test and the p50/p90/p99 exceedance tests), α split between them by
 * `metricJudgeConfigs` (Bonferroni) and within each metric by the judge. Every window, each
 * metric's judge gets both samples (counts and the FINE_LATENCY_BOUNDS histogram) and its own
 * previous state. The run counts as an alarm the first time a metric's verdict is `Failed`; a
 * `Successful` conclusion (the canary shown within tolerance) is ignored and measuring goes on.
 */
import { checkAnalysisTemplate, metricJudgeConfigs } from '../../../src/core/analysis/judge.js';
import { sequentialJudge } from '../../../src/core/analysis/sequential/judge.js';
import type { JsonValue, MetricJudgeConfig, MetricSpec, Sample } from '../../../src/core/analysis/types.js';
import { analysisTemplateSpecSchema } from '../../../src/core/resources/analysis-template.js';
import { BOUNDS } from '../distributions.js';
import type { ArmWindow } from '../simulate.js';
import type { Detector, DetectorFamily } from './types.js';

const SHARED_BOUNDS: number[] = [...BOUNDS];

export function rollgateTemplate(alpha: number, tolerance = 0.1) {
  const spec = analysisTemplateSpecSchema.parse({
    judge: { sequential: { alpha, tolerance } },
    metrics: [
      { name: 'errors', provider: { builtin: { metric: 'errorRate' } } },
      { name: 'latency', provider: { builtin: { metric: 'latency' } } },
    ],
  });
  const problems = checkAnalysisTemplate(spec);
  if (problems.length > 0) throw new Error(`benchmark template rejected: ${JSON.stringify(problems)}`);
  return { metrics: spec.metrics as MetricSpec[], configs: metricJudgeConfigs(spec) };
}

const sampleOf = (arm: ArmWindow): Sample => ({
  requests: arm.requests,
  errors: arm.errors,
  errorRate: arm.requests > 0 ? arm.errors / arm.requests : null,
  latency: null,
  histogram: { bounds: SHARED_BOUNDS, counts: arm.counts },
});

/** Thrown when the judge answers `Error` (a bug in the judge or in this harness's inputs). */
export class JudgeErrorVerdict extends Error {}

/**
 * The judge uses `tolerance` as the alarm's margin too (it alarms only when the canary is worse
 * than 1 + tolerance), so with the default 0.1 a ×1.1 regression sits on the boundary; the
 * tolerance-0 variant shows what detecting it costs.
 */
export function rollgateFamily(intervalSeconds: number, alpha: number, tolerance = 0.1): DetectorFamily {
  const { metrics, configs } = rollgateTemplate(alpha, tolerance);
  const label = `Rollgate sequential ${intervalSeconds} s, α ${alpha}${tolerance === 0.1 ? '' : `, tolerance ${tolerance}`}`;
  return {
    id: `rollgate-${intervalSeconds}s-a${alpha}${tolerance === 0.1 ? '' : `-t${tolerance}`}`,
    intervalSeconds,
    variants: [label],
    create(): Detector {
      const states: JsonValue[] = metrics.map(() => null);
      const alarmed = [false];
      return {
        alarmed,
        update(window) {
          const baseline = sampleOf(window.baseline);
          const canary = sampleOf(window.canary);
          for (let i = 0; i < metrics.length; i++) {
            const verdict = sequentialJudge.judge({ metric: metrics[i]!, baseline, canary, state: states[i]!, config: configs[i] as MetricJudgeConfig });
            if (verdict.phase === 'Error') throw new JudgeErrorVerdict(`${label}, metric ${metrics[i]!.name} at ${window.endSec} s: ${verdict.message}`);
            if (verdict.state !== undefined) states[i] = verdict.state;
            if (verdict.phase === 'Failed') alarmed[0] = true;
          }
        },
      };
    },
  };
}
