import { z } from 'zod';
import { durationSchema, nameSchema, percentSchema } from './common.js';

/** Argo Rollouts accepts `templates: [{templateName: x}]`; the short form `[x]` is accepted too. */
const templateRefSchema = z.union([nameSchema, z.strictObject({ templateName: nameSchema })]);
export type TemplateRef = z.infer<typeof templateRefSchema>;
export const templateRefName = (ref: TemplateRef): string => (typeof ref === 'string' ? ref : ref.templateName);

const analysisRefSchema = z.strictObject({
  templates: z.array(templateRefSchema).min(1),
  args: z.array(z.strictObject({ name: z.string().min(1), value: z.string() })).optional(),
});

const canaryStepSchema = z.union([
  z.strictObject({ setWeight: percentSchema }),
  z.strictObject({ pause: z.strictObject({ duration: durationSchema.optional() }) }),
  z.strictObject({ analysis: analysisRefSchema }),
  z.strictObject({
    setHeaderRoute: z.strictObject({
      name: z.string().min(1),
      match: z.array(
        z.strictObject({
          headerName: z.string().min(1),
          headerValue: z.strictObject({ exact: z.string().optional(), prefix: z.string().optional(), regex: z.string().optional() }),
        }),
      ),
    }),
  }),
]);
export type CanaryStep = z.infer<typeof canaryStepSchema>;

const progressSchema = {
  /** A step that makes no progress for this long aborts (or pauses, with progressDeadlineAbort: false). */
  progressDeadlineSeconds: z.number().int().positive().optional(),
  progressDeadlineAbort: z.boolean().optional(),
  /** How long the previous version keeps running after traffic left it. */
  scaleDownDelaySeconds: z.number().int().min(0).optional(),
};

export const canarySchema = z
  .strictObject({
    steps: z.array(canaryStepSchema).optional(),
    /** Flagger's form: weights to walk through, each followed by analysis. */
    stepWeights: z.array(percentSchema).optional(),
    stepWeight: percentSchema.optional(),
    maxWeight: percentSchema.optional(),
    /** Flagger: failed checks before rollback. */
    threshold: z.number().int().positive().optional(),
    /** Background analysis over all steps. */
    analysis: analysisRefSchema.extend({ startingStep: z.number().int().min(0).optional() }).optional(),
    ...progressSchema,
  })
  .superRefine((canary, ctx) => {
    const forms = [canary.steps, canary.stepWeights, canary.stepWeight].filter((form) => form !== undefined).length;
    if (forms === 0) ctx.addIssue({ code: 'custom', path: ['steps'], message: 'a canary needs steps, stepWeights or stepWeight' });
    if (forms > 1) ctx.addIssue({ code: 'custom', path: ['steps'], message: 'give only one of steps, stepWeights, stepWeight' });
    if (canary.stepWeights) {
      canary.stepWeights.forEach((weight, index) => {
        const previous = canary.stepWeights![index - 1];
        if (previous !== undefined && weight <= previous) {
          ctx.addIssue({ code: 'custom', path: ['stepWeights', index], message: 'step weights must increase' });
        }
      });
    }
  });

export const blueGreenSchema = z.strictObject({
  autoPromotionEnabled: z.boolean().optional(),
  autoPromotionSeconds: z.number().int().positive().optional(),
  prePromotionAnalysis: analysisRefSchema.optional(),
  postPromotionAnalysis: analysisRefSchema.optional(),
  previewReplicaCount: z.number().int().min(1).optional(),
  ...progressSchema,
});

export const rolloutStrategySpecSchema = z
  .strictObject({
    description: z.string().optional(),
    canary: canarySchema.optional(),
    blueGreen: blueGreenSchema.optional(),
  })
  .superRefine((spec, ctx) => {
    if (!spec.canary === !spec.blueGreen) {
      ctx.addIssue({ code: 'custom', path: ['canary'], message: 'give exactly one of canary or blueGreen' });
    }
  });
export type RolloutStrategySpec = z.infer<typeof rolloutStrategySpecSchema>;

/** Every AnalysisTemplate name a strategy refers to, with the field path of the reference. */
export function strategyTemplateRefs(spec: RolloutStrategySpec): Array<{ name: string; path: (string | number)[] }> {
  const refs: Array<{ name: string; path: (string | number)[] }> = [];
  const collect = (templates: TemplateRef[] | undefined, path: (string | number)[]) =>
    templates?.forEach((ref, index) => refs.push({ name: templateRefName(ref), path: [...path, 'templates', index] }));
  spec.canary?.steps?.forEach((step, index) => {
    if ('analysis' in step) collect(step.analysis.templates, ['canary', 'steps', index, 'analysis']);
  });
  collect(spec.canary?.analysis?.templates, ['canary', 'analysis']);
  collect(spec.blueGreen?.prePromotionAnalysis?.templates, ['blueGreen', 'prePromotionAnalysis']);
  collect(spec.blueGreen?.postPromotionAnalysis?.templates, ['blueGreen', 'postPromotionAnalysis']);
  return refs;
}
