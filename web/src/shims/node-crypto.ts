/**
 * Stands in for `node:crypto` in the browser bundle. The client's release schemas import
 * src/core/audit/chain.ts for `canonicalJson`, which needs no hashing; hashing (the audit chain)
 * runs only on the server. Calling it here is a bug, said loudly rather than as `undefined is not a
 * function`.
 */
export function createHash(): never {
  throw new Error('node:crypto createHash is not available in the web UI (audit hashing runs on the server)');
}
