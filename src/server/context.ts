/**
 * The per-request context every route shares. Kept in its own file so features can import the
 * types without importing each other.
 */
import type { Role } from '../core/resources/kinds.js';
import type { ObjectRepository, TokenRepository } from '../ports/store.js';

/** The caller a valid bearer token identifies. */
export interface Principal {
  tokenName: string;
  role: Role;
  /** The user the token belongs to (the token's name for a token created without a user). */
  user: string;
  /** The user's groups (from the User object; empty when there is none). */
  groups: string[];
  /**
   * What audit events record as the actor: `user:<user>` for a token bound to a User,
   * `token:<token name>` for a token created without one.
   */
  actor: string;
}

export type AppEnv = {
  Variables: {
    /** Set by the auth middleware on every non-public route before its handler runs. */
    principal: Principal;
    /** Token lookups for the auth middleware; set once per request by the app. */
    tokenLookup: Pick<TokenRepository, 'findByHash'>;
    /** User lookups for the auth middleware (the caller's groups); set once per request by the app. */
    userLookup: Pick<ObjectRepository, 'get'>;
  };
};
