import { z } from 'zod';
import { nameSchema } from './common.js';
import { goNoGoCriterionSchema } from './go-no-go.js';

/**
 * One gate entry of a stage. A stage may list several entries; each names at least one check.
 * What they hold back is the promotion INTO this stage (`approval`, `goNoGo`, `policies`) or OUT
 * of it into the next one (`analysis`: the templates must have passed here first). Enforced by the
 * promotion gates, src/core/governance/promotion.ts.
 */
const stageGateSchema = z
  .strictObject({
    /** Analysis templates that must have passed in this stage's rollout before promotion to the next stage. */
    analysis: z.strictObject({ templates: z.array(nameSchema).min(1) }).optional(),
    /**
     * `count` distinct approvals from members of `group` on the change record of a promotion into
     * this stage (added to the environment's own approval rules). A stage with an approval gate
     * always gets a change record: approvals live on one (docs/adr/0004-governance.md).
     */
    approval: z.strictObject({ group: nameSchema, count: z.number().int().min(1).default(1) }).optional(),
    /**
     * A recorded `go` for this environment is needed before promotion into it. `true`: the release's
     * own criteria decide; `{criteria}`: these criteria are evaluated on top of the release's.
     */
    goNoGo: z.union([z.boolean(), z.strictObject({ criteria: z.array(goNoGoCriterionSchema).min(1) })]).optional(),
    /** Only these Policies (gate `promote`) apply to promotions into this stage; default: every applicable one. */
    policies: z.array(nameSchema).min(1).optional(),
  })
  .superRefine((gate, ctx) => {
    // An empty entry checks nothing; it is almost certainly a typo (e.g. a misspelled key caught above, or YAML indentation).
    if (gate.analysis === undefined && gate.approval === undefined && gate.goNoGo === undefined && gate.policies === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: 'a gate names at least one of analysis, approval, goNoGo, policies' });
    }
  });
export type StageGate = z.infer<typeof stageGateSchema>;

const stageSchema = z.strictObject({
  environment: nameSchema,
  /** RolloutStrategy for this stage; defaults to the service's strategy. */
  strategy: nameSchema.optional(),
  /** Promote into the next stage without a manual `promote`. */
  autoPromote: z.boolean().default(false),
  gates: z.array(stageGateSchema).optional(),
});
export type PipelineStage = z.infer<typeof stageSchema>;

export const pipelineSpecSchema = z
  .strictObject({
    description: z.string().optional(),
    /** The services promoted along this path; a Release without `pipeline` uses the one Pipeline listing all its components. */
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
