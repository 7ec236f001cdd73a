import { z } from 'zod';
import { checkPolicyExpression } from '../governance/policy.js';
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

/**
 * The spec's shape without the CEL check: what the gate reads stored policies with, so a policy
 * stored before a stricter check still evaluates (its expression errors then count as its severity).
 */
export const policySpecShapeSchema = z.strictObject({
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

/**
 * Written policies must compile, name only known facts and be a bool without type errors
 * (checkPolicyExpression in src/core/governance/policy.ts); the error names `expression`.
 */
export const policySpecSchema = policySpecShapeSchema.superRefine((spec, ctx) => {
  const error = checkPolicyExpression(spec.expression);
  if (error) ctx.addIssue({ code: 'custom', path: ['expression'], message: error });
});
export type PolicySpec = z.infer<typeof policySpecShapeSchema>;
