/** Client calls for the promotion API (see src/server/promotions/routes.ts). */
import type { Call } from './call.js';

export function promotionsApi(call: Call) {
  void call;
  return {};
}
export type PromotionsApi = ReturnType<typeof promotionsApi>;
