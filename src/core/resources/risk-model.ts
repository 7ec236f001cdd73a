import { z } from 'zod';
import { checkRiskConfig, RISK_LEVELS } from '../governance/risk.js';
import { nameSchema } from './common.js';

/**
 * The risk calculator's configuration (weights, thresholds, ordered floor rules). The change
 * service uses the RiskModel named `default` when it exists, the built-in defaults otherwise.
 * See docs/governance.md ("Risk").
 */
export const riskModelSpecSchema = z
  .strictObject({
    description: z.string().optional(),
    weights: z.record(z.string(), z.unknown()).optional(),
    thresholds: z.strictObject({ medium: z.number().optional(), high: z.number().optional(), critical: z.number().optional() }).optional(),
    rules: z
      .array(z.strictObject({ name: nameSchema, when: z.string().min(1), floor: z.enum(RISK_LEVELS), reason: z.string().min(1) }))
      .optional(),
  })
  .superRefine((spec, ctx) => {
    const { description: _description, ...config } = spec;
    for (const problem of checkRiskConfig(config)) {
      ctx.addIssue({ code: 'custom', path: problem.path.split('.').flatMap((part) => part.split(/\[(\d+)\]/).filter(Boolean).map((p) => (/^\d+$/.test(p) ? Number(p) : p))), message: problem.message });
    }
  });
export type RiskModelSpec = z.infer<typeof riskModelSpecSchema>;
