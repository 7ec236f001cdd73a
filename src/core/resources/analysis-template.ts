import { z } from 'zod';
import { durationSchema } from './common.js';

const providerSchema = z.union([
  z.strictObject({
    /** Numbers recorded by the embedded router for each version. */
    builtin: z.strictObject({ metric: z.enum(['errorRate', 'requestRate', 'latency']), quantile: z.number().gt(0).lt(1).optional() }),
  }),
  z.strictObject({
    prometheus: z.strictObject({ address: z.string().url().optional(), query: z.string().min(1), timeout: durationSchema.optional() }),
  }),
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
});

export const analysisTemplateSpecSchema = z.strictObject({
  description: z.string().optional(),
  args: z.array(z.strictObject({ name: z.string().min(1), value: z.string().optional() })).optional(),
  metrics: z.array(metricSchema).min(1),
});
export type AnalysisTemplateSpec = z.infer<typeof analysisTemplateSpecSchema>;
