/**
 * API tokens. The secret is shown once at creation and only its sha256 is stored, so a copy of
 * the database does not grant access. Creation and revocation are audited (never the secret).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { TokenCreated, TokenInfo } from '../../core/api.js';
import { sha256Hex } from '../../core/audit/chain.js';
import type { Role } from '../../core/resources/kinds.js';
import { NotFoundError, type Stores, type TokenRecord } from '../../ports/store.js';

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
  createdAt: record.createdAt,
  revokedAt: record.revokedAt,
});

export interface TokenServiceDeps {
  now: () => Date;
  /** Injected for tests; crypto.randomBytes otherwise. */
  random?: (bytes: number) => Buffer;
}

type Writer = Pick<Stores, 'tokens' | 'audit'>;

export function createTokenService(deps: TokenServiceDeps) {
  const random = deps.random ?? randomBytes;
  const newSecret = () => `${TOKEN_PREFIX}${random(32).toString('base64url')}`;

  async function create(stores: Writer, actor: string, input: { name: string; role: Role }): Promise<TokenCreated> {
    const secret = newSecret();
    const record = await stores.tokens.create({ id: randomUUID(), name: input.name, role: input.role, hash: hashToken(secret) });
    await stores.audit.append({
      time: deps.now().toISOString(),
      actor,
      action: 'token.create',
      kind: TOKEN_AUDIT_KIND,
      name: record.name,
      beforeDigest: null,
      afterDigest: null,
      details: { role: record.role, id: record.id },
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
        details: { role: revoked.role, id: revoked.id },
      });
      return tokenInfo(revoked);
    },

    /**
     * First start: when no token exists at all, creates `admin` (role admin) and returns its
     * secret for the caller to show once. null when any token already exists. Run it in a
     * transaction so two processes starting together cannot both mint one.
     */
    async ensureAdminToken(stores: Writer): Promise<string | null> {
      if ((await stores.tokens.list()).length > 0) return null;
      return (await create(stores, 'system', { name: ADMIN_TOKEN_NAME, role: 'admin' })).token;
    },
  };
}

export type TokenService = ReturnType<typeof createTokenService>;
