import { z } from 'zod';
import { nameSchema } from './common.js';

/**
 * A governance rule: a CEL expression over release facts that must hold (true = compliant).
 * `deny` refuses the gate; `warn` lets it pass and records the warning. Evaluated at the gates
 * named in `gates`: `promote` (a release entering an environment, or a Deployment created
 * directly) and `start` (each engine pass before a rollout starts or advances: facts that change
 * over time, such as approvals, are seen there). See src/core/governance/policy.ts.
 */
export const POLICY_GATES = ['promote', 'start'] as const;
export type PolicyGate = (typeof POLICY_GATES)[number];

export const policySpecSchema = z.strictObject({
  description: z.string().optional(),
  severity: z.enum(['warn', 'deny']),
  /** CEL; true means the release complies. */
  expression: z.string().min(1),
  /** Shown when the expression is false. */
  message: z.string().min(1),
  gates: z.array(z.enum(POLICY_GATES)).min(1).default(['promote']),
  /** Where the policy applies; an absent or empty list means every value. */
  scope: z
    .strictObject({
      environments: z.array(nameSchema).optional(),
      services: z.array(nameSchema).optional(),
      /** Only environments with `production: true`. */
      productionOnly: z.boolean().optional(),
    })
    .optional(),
});
export type PolicySpec = z.infer<typeof policySpecSchema>;
