/** Client calls for the changes API (see src/server/changes/routes.ts). */
import type { Call } from './call.js';

export function changesApi(call: Call) {
  void call;
  return {};
}
export type ChangesApi = ReturnType<typeof changesApi>;
