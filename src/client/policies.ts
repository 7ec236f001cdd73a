/** Client calls for the policies API (see src/server/policies/routes.ts). */
import type { Call } from './call.js';

export function policiesApi(call: Call) {
  void call;
  return {};
}
export type PoliciesApi = ReturnType<typeof policiesApi>;
