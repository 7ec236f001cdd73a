/** Client calls for the releases API (see src/server/releases/routes.ts). */
import type { Call } from './call.js';

export function releasesApi(call: Call) {
  void call;
  return {};
}
export type ReleasesApi = ReturnType<typeof releasesApi>;
