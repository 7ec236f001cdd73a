/**
 * Wire shapes of `POST /api/v1/policies/evaluate` (server route, client, CLI). Apart from
 * policy.ts, which compiles CEL (@bufbuild/cel, ~270 kB minified): the client parses the answer
 * with these, and the web UI must not bundle the compiler for that. policy.ts re-exports them.
 */
import { z } from 'zod';
import { nameSchema } from '../resources/common.js';
import { policyFactsSchema } from './facts.js';
import { gateResultSchema } from './records.js';

export const policyEvaluationRequestSchema = z.strictObject({
  environment: nameSchema,
  gate: z.enum(['promote', 'start']).default('promote'),
  /** Components, facts and results of this Release. */
  release: nameSchema.optional(),
  /** What this Deployment would run (its release and change come with it). */
  deployment: nameSchema.optional(),
  /** What would run; default: the release's (or the deployment's) components. */
  components: z.array(z.strictObject({ service: nameSchema, version: z.string().min(1), digest: z.string().min(1).nullable().optional() })).optional(),
  /** The change record whose risk and approvals the facts show; default: the deployment's, or the release's latest promotion to the environment. */
  change: nameSchema.optional(),
});
export type PolicyEvaluationRequest = z.input<typeof policyEvaluationRequestSchema>;

/** A policy result plus the policy's severity, so a passing result still says what it would have done. */
export const policyEvaluationResultSchema = gateResultSchema.extend({ severity: z.enum(['warn', 'deny']).optional() });

export const policyEvaluationSchema = z.object({
  results: z.array(policyEvaluationResultSchema),
  /** Some result is `deny`: the gate would refuse. */
  denied: z.boolean(),
  facts: z.array(z.object({ service: z.string(), version: z.string(), facts: policyFactsSchema })),
});
export type PolicyEvaluation = z.infer<typeof policyEvaluationSchema>;
