import { z } from 'zod';
import { durationSchema } from './common.js';

const prometheusSchema = z.strictObject({
  /** Base URL of the Prometheus HTTP API; default: the server's `metrics.prometheus.address` setting. */
  address: z.string().url().optional(),
  /**
   * PromQL giving one number per version (instant query at the window's end), for `threshold` and
   * `mannWhitney`. Placeholders: `{{version}}`, `{{arm}}` (`baseline`/`canary`), `{{window}}` (the
   * window as a PromQL duration, e.g. `60s`), `{{service}}`, `{{args.NAME}}`.
   */
  query: z.string().min(1).optional(),
  /** PromQL for the number of requests in the window (counts for the sequential judge). */
  requests: z.string().min(1).optional(),
  /** PromQL for the number of bad events (errors) in the window. */
  errors: z.string().min(1).optional(),
  /** PromQL returning classic histogram buckets by `le` (increase over the window), for latency. */
  histogram: z.string().min(1).optional(),
  /** Range query step: when set, `query` is evaluated over the window and averaged. */
  step: durationSchema.optional(),
  timeout: durationSchema.optional(),
  /** Retries after a failed request (network error, 5xx, timeout); default 2. */
  retries: z.number().int().min(0).max(10).optional(),
});

const providerSchema = z.union([
  z.strictObject({
    /** Numbers recorded by the embedded router for each version. */
    builtin: z.strictObject({ metric: z.enum(['errorRate', 'requestRate', 'latency']), quantile: z.number().gt(0).lt(1).optional() }),
  }),
  z.strictObject({ prometheus: prometheusSchema }),
]);

export const metricSchema = z.strictObject({
  name: z.string().min(1).regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'must be an identifier'),
  provider: providerSchema,
  interval: durationSchema.optional(),
  initialDelay: durationSchema.optional(),
  count: z.number().int().positive().optional(),
  /** CEL expression over the measurement, e.g. `canary.errorRate <= baseline.errorRate * 1.5`. */
  successCondition: z.string().min(1).optional(),
  failureCondition: z.string().min(1).optional(),
  failureLimit: z.number().int().min(0).optional(),
  inconclusiveLimit: z.number().int().min(0).optional(),
  consecutiveErrorLimit: z.number().int().min(0).optional(),
  /** What a measurement with no data means; never a silent promotion. */
  noDataPolicy: z.enum(['pause', 'fail', 'pass']).default('pause'),
  /** sequential: share of the template's α given to this metric (relative; default 1). mannWhitney: unused. */
  weight: z.number().positive().optional(),
  /** mannWhitney: the metric's group for scoring (Kayenta `groups`); default `default`. */
  group: z.string().min(1).optional(),
  /** mannWhitney: a failure of this metric forces the score to 0. */
  critical: z.boolean().optional(),
  /** mannWhitney: which change is bad; overrides the judge's `direction`. */
  direction: z.enum(['increase', 'decrease', 'either']).optional(),
  /** mannWhitney: effect-size thresholds for this metric; override the judge's. */
  allowedIncrease: z.number().positive().optional(),
  criticalIncrease: z.number().positive().optional(),
});

const probability = z.number().gt(0).lt(1);

/** Anytime-valid sequential tests (e-values); see docs/analysis.md. */
export const sequentialJudgeSchema = z.strictObject({
  /** Family-wise false-alarm rate of the whole template under continuous monitoring (default 0.05). */
  alpha: probability.max(0.5).default(0.05),
  /** Relative worsening still acceptable (0.1 = 10%): `pass` once the interval excludes more than this. */
  tolerance: z.number().min(0).max(10).default(0.1),
  /** Pass after this long without alarm (sets each metric's `count` to horizon / interval). */
  horizon: durationSchema.optional(),
  /** Baseline latency quantiles whose exceedance counts are tested (tail regressions). */
  quantiles: z.array(probability).min(0).max(8).default([0.5, 0.9, 0.99]),
  /** Baseline requests needed before the quantile edges are fixed. */
  edgeSamples: z.number().int().min(20).default(500),
});

/** Kayenta's NetflixACAJudge: Mann-Whitney on per-interval points and weighted group scoring. */
export const mannWhitneyJudgeSchema = z.strictObject({
  confidence: probability.default(0.98),
  tolerance: z.number().min(0).default(0.25),
  /** Effect size (mean ratio canary/baseline) needed to call a metric High; 1 = any. */
  allowedIncrease: z.number().positive().default(1),
  /** Effect size that makes a critical metric fail regardless of the test; 1 = off. */
  criticalIncrease: z.number().positive().default(1),
  direction: z.enum(['increase', 'decrease', 'either']).default('either'),
  nanStrategy: z.enum(['remove', 'replace']).default('remove'),
  /** Group weights (percent); groups without one share what is left equally. */
  groupWeights: z.record(z.string(), z.number().min(0).max(100)).optional(),
  /** Score (0..100) needed to pass, and below which the canary fails at any interval. */
  pass: z.number().min(0).max(100).default(95),
  marginal: z.number().min(0).max(100).default(75),
});

export const judgeSchema = z.union([
  z.strictObject({ threshold: z.strictObject({}).default({}) }),
  z.strictObject({ sequential: sequentialJudgeSchema }),
  z.strictObject({ mannWhitney: mannWhitneyJudgeSchema }),
]);

export const analysisTemplateSpecSchema = z.strictObject({
  description: z.string().optional(),
  args: z.array(z.strictObject({ name: z.string().min(1), value: z.string().optional() })).optional(),
  /** How measurements become verdicts; default `threshold` (CEL conditions per measurement). */
  judge: judgeSchema.optional(),
  metrics: z.array(metricSchema).min(1),
});
export type AnalysisTemplateSpec = z.infer<typeof analysisTemplateSpecSchema>;
export type JudgeSpec = z.infer<typeof judgeSchema>;
export type SequentialJudgeSpec = z.infer<typeof sequentialJudgeSchema>;
export type MannWhitneyJudgeSpec = z.infer<typeof mannWhitneyJudgeSchema>;
