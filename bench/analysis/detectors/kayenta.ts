/**
 * Kayenta replica: NetflixACAJudge's Mann-Whitney classifier (98% confidence, tolerance 0.25·|HL|)
 * and WeightedSumScorer, from Rollgate's port in src/core/analysis/kayenta (`classifyMannWhitney`,
 * `scoreTemplate`), driven the way a Spinnaker canary stage drives Kayenta:
 * - one point per minute and arm: that minute's error rate (errors / requests; NaN without
 *   requests, removed) and its p99 latency (histogram_quantile over the minute's histogram);
 * - every minute the classifier re-runs on all points so far (no correction for the repeated
 *   looks), starting once each arm has ≥ 3 points (a harness choice: the classifier has no
 *   minimum, and at 98% the normal approximation cannot reject with fewer than 5 points per arm
 *   anyway);
 * - both metrics in one group, pass 95 / marginal 75: a High (or Low) on either metric scores 50,
 *   below marginal, so the canary fails at that interval: the alarm.
 * Variants: direction `increase` on both metrics (only a worse canary alarms; what a careful
 * configuration would use), and Kayenta's default `either` (a significantly better canary fails
 * it too). Both come from one classification with `either`: the High side of the test is the same
 * for both directions, so `increase` = `either` with Low read as Pass.
 */
import { classifyMannWhitney, scoreTemplate, type ClassifierConfig, type Classification } from '../../../src/core/analysis/kayenta/index.js';
import { histogramQuantile } from './promql.js';
import type { Detector, DetectorFamily } from './types.js';

export const KAYENTA_MIN_POINTS = 3;

const CLASSIFIER: ClassifierConfig = {
  confidence: 0.98,
  tolerance: 0.25,
  direction: 'either',
  nanStrategy: 'remove',
  allowedIncrease: 1,
  criticalIncrease: 1,
  critical: false,
};
const SCORING = { pass: 95, marginal: 75 };
const METRICS = ['errorRate', 'latencyP99'] as const;

const score = (classes: readonly Classification[]) =>
  scoreTemplate(
    classes.map((classification, i) => ({ metric: METRICS[i]!, group: 'default', critical: false, classification })),
    SCORING,
  );

export const kayenta: DetectorFamily = {
  id: 'kayenta',
  intervalSeconds: 60,
  variants: ['Kayenta replica (increase)', 'Kayenta replica (either, default)'],
  create(): Detector {
    const points = { canary: [[], []] as Array<Array<number | null>>, baseline: [[], []] as Array<Array<number | null>> };
    const alarmed = [false, false];
    return {
      alarmed,
      update({ canary, baseline }) {
        for (const [arm, window] of [
          ['canary', canary],
          ['baseline', baseline],
        ] as const) {
          points[arm][0]!.push(window.requests > 0 ? window.errors / window.requests : null);
          const p99 = histogramQuantile(window.counts, 0.99);
          points[arm][1]!.push(Number.isFinite(p99) ? p99 : null);
        }
        if (points.canary[0]!.length < KAYENTA_MIN_POINTS) return;
        const classes = METRICS.map((_, m) => classifyMannWhitney(points.canary[m]!, points.baseline[m]!, CLASSIFIER).classification);
        if (score(classes.map((c) => (c === 'Low' ? 'Pass' : c))).outcome === 'Fail') alarmed[0] = true;
        if (score(classes).outcome === 'Fail') alarmed[1] = true;
      },
    };
  },
};
