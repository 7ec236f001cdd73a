/**
 * Argo Rollouts-style AnalysisTemplate as seen in the wild: two metrics measured every minute
 * (interval 1m here; the docs example uses 5m) against absolute bounds on the canary,
 * `successCondition: result >= 0.99` on the success rate and `result <= 0.5` on p99 latency
 * (histogram_quantile over the interval). A metric fails the run when its failed measurements
 * exceed failureLimit (analysis/analysis.go: `Failed > failureLimit`); variants failureLimit 0
 * (the code default: one bad minute aborts) and 3. A minute without canary traffic is an Error
 * measurement (not a failure; consecutiveErrorLimit 4 is never reached here).
 */
import type { Detector, DetectorFamily } from './types.js';
import { histogramQuantile } from './promql.js';

export const ARGO_FAILURE_LIMITS = [0, 3] as const;

export const argo: DetectorFamily = {
  id: 'argo',
  intervalSeconds: 60,
  variants: ARGO_FAILURE_LIMITS.map((limit) => `Argo threshold, failureLimit ${limit}`),
  create(): Detector {
    let successRateFailures = 0;
    let latencyFailures = 0;
    const alarmed = ARGO_FAILURE_LIMITS.map(() => false);
    return {
      alarmed,
      update({ canary }) {
        if (canary.requests === 0) return;
        if (!(1 - canary.errors / canary.requests >= 0.99)) successRateFailures += 1;
        if (!(histogramQuantile(canary.counts, 0.99) <= 0.5)) latencyFailures += 1;
        ARGO_FAILURE_LIMITS.forEach((limit, i) => {
          if (successRateFailures > limit || latencyFailures > limit) alarmed[i] = true;
        });
      },
    };
  },
};
