import { z } from 'zod';
import { nameSchema } from './common.js';

const stageSchema = z.strictObject({
  environment: nameSchema,
  /** RolloutStrategy for this stage; defaults to the service's strategy. */
  strategy: nameSchema.optional(),
  /** Promote into the next stage without a manual `promote`. */
  autoPromote: z.boolean().default(false),
  gates: z
    .array(
      z.strictObject({
        /** Analysis templates that must pass in this stage before promotion. */
        analysis: z.strictObject({ templates: z.array(nameSchema).min(1) }).optional(),
        approval: z.strictObject({ role: z.string().min(1), count: z.number().int().min(1).default(1) }).optional(),
      }),
    )
    .optional(),
});

export const pipelineSpecSchema = z
  .strictObject({
    description: z.string().optional(),
    services: z.array(nameSchema).optional(),
    stages: z.array(stageSchema).min(1),
  })
  .superRefine((spec, ctx) => {
    const seen = new Set<string>();
    spec.stages.forEach((stage, index) => {
      if (seen.has(stage.environment)) {
        ctx.addIssue({ code: 'custom', path: ['stages', index, 'environment'], message: `environment "${stage.environment}" appears twice in the promotion path` });
      }
      seen.add(stage.environment);
    });
  });
export type PipelineSpec = z.infer<typeof pipelineSpecSchema>;
