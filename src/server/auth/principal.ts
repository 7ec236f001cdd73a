/**
 * Who a valid token speaks for (docs/adr/0004-governance.md, "Kinds"): the User it is bound to,
 * with that User's groups, or, for a token created without a user, the user named like the token. Routes read the result from `c.var.principal`; nothing else derives identity.
 */
import { userSpecSchema } from '../../core/resources/user.js';
import type { ObjectRepository, TokenRecord } from '../../ports/store.js';
import type { Principal } from '../context.js';

/** The audit actor for a token: `user:<user>` when bound to a User, `token:<name>` otherwise. */
export const actorOf = (token: Pick<TokenRecord, 'name' | 'user'>): string => (token.user !== null ? `user:${token.user}` : `token:${token.name}`);

/**
 * The groups in a stored User spec. A spec that does not parse (written by a newer version, or
 * by hand in the database) grants no groups rather than failing every request of that user.
 */
export function groupsOf(spec: Record<string, unknown> | undefined): string[] {
  const parsed = userSpecSchema.safeParse(spec ?? {});
  return parsed.success ? [...new Set(parsed.data.groups)] : [];
}

/**
 * Builds the principal with one read (the User's groups); a missing User (never created, or
 * deleted after the token was made) means no groups. A token created without a user acts as the
 * user named like the token (ADR 0004): the workflow services look groups up by that name in
 * their own transaction, so the principal says the same thing they will decide on.
 */
export async function principalFor(token: TokenRecord, users: Pick<ObjectRepository, 'get'>): Promise<Principal> {
  const base = { tokenName: token.name, role: token.role, actor: actorOf(token) };
  const user = token.user ?? token.name;
  const stored = await users.get('User', user);
  return { ...base, user, groups: groupsOf(stored?.spec) };
}
