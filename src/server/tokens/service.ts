/**
 * API tokens. The secret is shown once at creation and only its sha256 is stored, so a copy of
 * the database does not grant access. Creation and revocation are audited (never the secret).
 * A token may belong to a User (docs/adr/0004-governance.md): it then acts as that user, with
 * the user's groups, and audit events name the user.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { TokenCreated, TokenInfo } from '../../core/api.js';
import { sha256Hex } from '../../core/audit/chain.js';
import type { Role } from '../../core/resources/kinds.js';
import { NotFoundError, type Stores, type TokenRecord } from '../../ports/store.js';
import { InvalidContentError } from '../errors.js';

export const TOKEN_PREFIX = 'rg_';
export const ADMIN_TOKEN_NAME = 'admin';
/** Audit `kind` for token events; tokens are not resource kinds but appear in the same log. */
export const TOKEN_AUDIT_KIND = 'Token';

/** The stored form of a secret: sha256 hex of the whole token string, prefix included. */
export const hashToken = (secret: string): string => sha256Hex(secret);

export const tokenInfo = (record: TokenRecord): TokenInfo => ({
  id: record.id,
  name: record.name,
  role: record.role,
  user: record.user,
  createdAt: record.createdAt,
  revokedAt: record.revokedAt,
});

export interface TokenServiceDeps {
  now: () => Date;
  /** Injected for tests; crypto.randomBytes otherwise. */
  random?: (bytes: number) => Buffer;
}

type Writer = Pick<Stores, 'tokens' | 'audit'>;
/** Creating a token bound to a user also reads the User, in the same transaction. */
type CreateWriter = Writer & Pick<Stores, 'objects'>;

export interface TokenCreateRequest {
  name: string;
  role: Role;
  /** The User the token acts for; must exist. Absent: the token belongs to no user. */
  user?: string;
}

export function createTokenService(deps: TokenServiceDeps) {
  const random = deps.random ?? randomBytes;
  const newSecret = () => `${TOKEN_PREFIX}${random(32).toString('base64url')}`;

  /**
   * Not safe to repeat (a second call with the same name fails with ConflictError). A `user` that
   * names no User is refused (InvalidContentError at `user`): the check and the insert share the
   * caller's transaction, so the user cannot vanish in between.
   */
  async function create(stores: CreateWriter, actor: string, input: TokenCreateRequest): Promise<TokenCreated> {
    const user = input.user ?? null;
    if (user !== null && !(await stores.objects.get('User', user))) {
      throw new InvalidContentError(`user "${user}" does not exist`, [
        { path: ['user'], message: `no User named "${user}"; create it first (rollgate user create ${user})` },
      ]);
    }
    const secret = newSecret();
    const record = await stores.tokens.create({ id: randomUUID(), name: input.name, role: input.role, hash: hashToken(secret), user });
    await stores.audit.append({
      time: deps.now().toISOString(),
      actor,
      action: 'token.create',
      kind: TOKEN_AUDIT_KIND,
      name: record.name,
      beforeDigest: null,
      afterDigest: null,
      details: { role: record.role, id: record.id, user: record.user },
    });
    return { ...tokenInfo(record), token: secret };
  }

  return {
    create,

    async list(stores: Pick<Stores, 'tokens'>): Promise<TokenInfo[]> {
      return (await stores.tokens.list()).map(tokenInfo);
    },

    /** Safe to repeat: a token already revoked is returned as it is, without a second audit event. */
    async revoke(stores: Writer, actor: string, name: string): Promise<TokenInfo> {
      const existing = (await stores.tokens.list()).find((token) => token.name === name);
      if (!existing) throw new NotFoundError(`token "${name}" not found`);
      if (existing.revokedAt !== null) return tokenInfo(existing);
      const revoked = await stores.tokens.revoke(name, deps.now().toISOString());
      if (!revoked) throw new NotFoundError(`token "${name}" not found`);
      await stores.audit.append({
        time: deps.now().toISOString(),
        actor,
        action: 'token.revoke',
        kind: TOKEN_AUDIT_KIND,
        name,
        beforeDigest: null,
        afterDigest: null,
        details: { role: revoked.role, id: revoked.id, user: revoked.user },
      });
      return tokenInfo(revoked);
    },

    /**
     * First start: when no token exists at all, creates `admin` (role admin) and returns its
     * secret for the caller to show once. null when any token already exists. Run it in a
     * transaction so two processes starting together cannot both mint one.
     */
    async ensureAdminToken(stores: CreateWriter): Promise<string | null> {
      if ((await stores.tokens.list()).length > 0) return null;
      return (await create(stores, 'system', { name: ADMIN_TOKEN_NAME, role: 'admin' })).token;
    },
  };
}

export type TokenService = ReturnType<typeof createTokenService>;
