/** Client calls for the policies API (see src/server/policies/routes.ts and docs/governance.md, "Policies"). */
import { API_PREFIX } from '../core/api.js';
import { policyEvaluationSchema, type PolicyEvaluation, type PolicyEvaluationRequest } from '../core/governance/policy.js';
import type { Call } from './call.js';

export type { PolicyEvaluation, PolicyEvaluationRequest } from '../core/governance/policy.js';

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
