/** Client calls for the policies API (see src/server/policies/routes.ts and docs/governance.md, "Policies"). */
import { API_PREFIX } from '../core/api.js';
// policy-wire.ts, not policy.ts: the latter compiles CEL, which neither the CLI's calls nor the web UI need.
import { policyEvaluationSchema, type PolicyEvaluation, type PolicyEvaluationRequest } from '../core/governance/policy-wire.js';
import type { Call } from './call.js';

export type { PolicyEvaluation, PolicyEvaluationRequest } from '../core/governance/policy-wire.js';

export function policiesApi(call: Call) {
  return {
    /**
     * Dry run of a gate's policies (`POST /api/v1/policies/evaluate`): one result per applicable
     * policy and component, `denied` when any is `deny`, and the facts each component was evaluated
     * on. Records nothing. ApiError 422 names the field when the environment, release, deployment or
     * change does not exist.
     */
    evaluate(input: PolicyEvaluationRequest): Promise<PolicyEvaluation> {
      return call('POST', `${API_PREFIX}/policies/evaluate`, policyEvaluationSchema, { body: input });
    },
  };
}
export type PoliciesApi = ReturnType<typeof policiesApi>;
