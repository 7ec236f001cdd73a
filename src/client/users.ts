/** Client calls for the users API (see src/server/users/routes.ts). */
import type { Call } from './call.js';

export function usersApi(call: Call) {
  void call;
  return {};
}
export type UsersApi = ReturnType<typeof usersApi>;
