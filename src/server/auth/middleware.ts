/**
 * Bearer-token authentication and role checks. Every route gets exactly one of these through
 * `secureRoute` (src/server/route.ts); there is no other way for a route to declare access.
 */
import type { MiddlewareHandler } from 'hono';
import { roleAtLeast, type Role } from '../../core/resources/kinds.js';
import type { AppEnv } from '../context.js';
import { problem, problemResponse } from '../problem.js';
import { hashToken } from '../tokens/service.js';
import { principalFor } from './principal.js';

/** `public` routes skip authentication entirely (health checks, the OpenAPI document). */
export type Permission = Role | 'public';

const CHALLENGE = { 'www-authenticate': 'Bearer realm="rollgate"' };

/** Extracts the secret from `Authorization: Bearer <token>`; null when the header is absent or another scheme. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(header);
  return match ? match[1]! : null;
}

export function requirePermission(permission: Permission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (permission === 'public') return next();
    const secret = bearerToken(c.req.header('authorization'));
    if (!secret) return problemResponse(c, problem(401, 'unauthenticated', 'send "Authorization: Bearer <token>"'), CHALLENGE);
    const record = await c.var.tokenLookup.findByHash(hashToken(secret));
    // Unknown and revoked tokens get the same answer, so a caller cannot probe which names exist.
    if (!record || record.revokedAt !== null) return problemResponse(c, problem(401, 'unauthenticated', 'the token is unknown or revoked'), CHALLENGE);
    if (!roleAtLeast(record.role, permission)) {
      return problemResponse(c, problem(403, 'forbidden', `this operation requires role "${permission}" (the token "${record.name}" has role "${record.role}")`));
    }
    c.set('principal', await principalFor(record, c.var.userLookup));
    return next();
  };
}
