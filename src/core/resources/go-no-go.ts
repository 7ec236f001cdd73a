import { z } from 'zod';
import { RESULT_TYPES } from '../governance/records.js';
import { nameSchema } from './common.js';

/**
 * One go/no-go criterion (on a Release's `goNoGo.criteria` or a Pipeline stage's). Exactly one of
 * `analysis`, `result`, `signoff` says what is checked:
 * - `analysis`: every component's rollout in that environment finished Healthy with its analysis passed;
 * - `result`: a result posted to the API with that name passed (and its value is within min/max);
 * - `signoff`: `count` members of `group` signed off (a manual criterion).
 * Evaluated by src/core/governance/go-no-go.ts.
 */
export const goNoGoCriterionSchema = z
  .strictObject({
    id: nameSchema,
    description: z.string().min(1).optional(),
    /** false: shown and recorded, but an unmet one does not block `go`. */
    required: z.boolean().default(true),
    analysis: z.strictObject({ environment: nameSchema }).optional(),
    result: z
      .strictObject({
        name: z.string().min(1),
        type: z.enum(RESULT_TYPES).optional(),
        min: z.number().optional(),
        max: z.number().optional(),
        /** Each component must have its own passing result (default: one for the release is enough). */
        perComponent: z.boolean().optional(),
      })
      .optional(),
    signoff: z.strictObject({ group: nameSchema, count: z.number().int().min(1).default(1) }).optional(),
  })
  .superRefine((criterion, ctx) => {
    const given = (['analysis', 'result', 'signoff'] as const).filter((key) => criterion[key] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: 'custom', path: [given[1] ?? 'analysis'], message: `give exactly one of analysis, result, signoff (got ${given.length === 0 ? 'none' : given.join(', ')})` });
    }
  });
export type GoNoGoCriterionSpec = z.infer<typeof goNoGoCriterionSchema>;

export const goNoGoSpecSchema = z.strictObject({
  /** The environment whose promotion needs a `go` (default: every production stage). */
  environment: nameSchema.optional(),
  criteria: z.array(goNoGoCriterionSchema).default([]),
});
export type GoNoGoSpec = z.infer<typeof goNoGoSpecSchema>;
