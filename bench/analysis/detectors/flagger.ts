/**
 * Flagger's built-in checks with its defaults (fluxcd.io/flagger/usage/metrics;
 * pkg/controller/scheduler.go): every 1-minute interval, on the canary only,
 * `request-success-rate` ≥ 99% and `request-duration` p99 (histogram_quantile over the interval)
 * ≤ 500 ms. An interval where either fails (or has no canary traffic: "no values found") is one
 * failed check; rollback when failed checks ≥ threshold (variants threshold 1 and 5).
 */
import type { Detector, DetectorFamily } from './types.js';
import { histogramQuantile } from './promql.js';

export const FLAGGER_THRESHOLDS = [1, 5] as const;

export const flagger: DetectorFamily = {
  id: 'flagger',
  intervalSeconds: 60,
  variants: FLAGGER_THRESHOLDS.map((threshold) => `Flagger default, threshold ${threshold}`),
  create(): Detector {
    let failedChecks = 0;
    const alarmed = FLAGGER_THRESHOLDS.map(() => false);
    return {
      alarmed,
      update({ canary }) {
        const failed = canary.requests === 0 || 1 - canary.errors / canary.requests < 0.99 || histogramQuantile(canary.counts, 0.99) > 0.5;
        if (failed) failedChecks += 1;
        FLAGGER_THRESHOLDS.forEach((threshold, i) => {
          if (failedChecks >= threshold) alarmed[i] = true;
        });
      },
    };
  },
};
