/**
 * Secret writes through the API: values go to the configured provider (sealed by the builtin one),
 * and one audit event per write records the secret's name and key names, never a value nor a digest
 * of one (a digest of a short value can be guessed offline). With the builtin provider the write and
 * its audit event share one transaction; a provider outside the database is written first, then
 * audited.
 */
import type { SecretInfoWire, SecretList } from '../../core/secrets/api.js';
import { isSecretStore, type SecretInfo, type SecretProvider, type SecretWriteMode } from '../../ports/secret-provider.js';
import { NotFoundError, type Stores } from '../../ports/store.js';
import { isTransactionalSecretStore } from '../../adapters/secrets/builtin.js';
import type { Commit } from '../transaction.js';

/** Audit `kind` for secret events; secrets are not resource kinds but appear in the same log. */
export const SECRET_AUDIT_KIND = 'Secret';

/** The provider the server resolves from, and what to call it in answers. */
export interface ServerSecrets {
  provider: SecretProvider;
  /** `builtin`, `env`, `file`, ... */
  kind: string;
}

/** The server has no secret provider (not configured), or one Rollgate cannot write. */
export class SecretsUnavailableError extends Error {
  override readonly name = 'SecretsUnavailableError';
}

const wire = (info: SecretInfo): SecretInfoWire => ({ name: info.name, keys: [...info.keys], updatedAt: info.updatedAt });

export interface SecretServiceDeps {
  commit: Commit;
  now: () => Date;
  secrets: ServerSecrets | undefined;
}

export function createSecretService(deps: SecretServiceDeps) {
  const writable = () => {
    const configured = deps.secrets;
    if (!configured) throw new SecretsUnavailableError('this server has no secret provider configured');
    if (!isSecretStore(configured.provider)) {
      throw new SecretsUnavailableError(
        `this server resolves secrets from the "${configured.kind}" provider, which Rollgate cannot write: change the secret where it lives (see docs/secrets.md)`,
      );
    }
    return configured.provider;
  };

  const audit = (stores: Pick<Stores, 'audit'>, actor: string, action: string, name: string, details: Record<string, unknown>) =>
    stores.audit.append({ time: deps.now().toISOString(), actor, action, kind: SECRET_AUDIT_KIND, name, beforeDigest: null, afterDigest: null, details });

  async function write(actor: string, name: string, data: Record<string, string | null>, mode: SecretWriteMode): Promise<SecretInfoWire> {
    const provider = writable();
    const set = Object.keys(data).filter((key) => data[key] !== null).sort();
    const removedByNull = Object.keys(data).filter((key) => data[key] === null).sort();
    const action = mode === 'replace' ? 'secret.put' : 'secret.patch';
    const detailsOf = (before: string[], after: SecretInfo) => ({
      provider: deps.secrets!.kind,
      keys: after.keys,
      set,
      removed: mode === 'replace' ? before.filter((key) => !after.keys.includes(key)) : removedByNull.filter((key) => before.includes(key)),
    });
    if (isTransactionalSecretStore(provider)) {
      return deps.commit(async (stores) => {
        const before = (await stores.secrets.entries(name)).map((row) => row.key);
        const after = await provider.putIn(stores, name, data, mode);
        await audit(stores, actor, action, name, detailsOf(before, after));
        return wire(after);
      });
    }
    if (removedByNull.length > 0) throw new SecretsUnavailableError(`the "${deps.secrets!.kind}" provider cannot remove single keys`);
    const before = ((await provider.list()) ?? []).find((info) => info.name === name)?.keys ?? [];
    const after = await provider.put(name, data as Record<string, string>, mode);
    await deps.commit((stores) => audit(stores, actor, action, name, detailsOf(before, after)));
    return wire(after);
  }

  return {
    /** Names, keys and times of every secret the provider can list; never a value. */
    async list(): Promise<SecretList> {
      const configured = deps.secrets;
      if (!configured) return { provider: 'none', writable: false, listable: false, items: [] };
      const items = await configured.provider.list();
      return { provider: configured.kind, writable: isSecretStore(configured.provider), listable: items !== null, items: (items ?? []).map(wire) };
    },

    /** The secret becomes exactly `data`. Safe to repeat (each call is audited). */
    put: (actor: string, name: string, data: Record<string, string>) => write(actor, name, data, 'replace'),

    /** Sets the keys given with a string, removes those given with null, keeps the others. */
    patch: (actor: string, name: string, data: Record<string, string | null>) => write(actor, name, data, 'merge'),

    /** Deletes the secret. Throws NotFoundError when there is none (nothing is audited then). */
    async delete(actor: string, name: string): Promise<SecretInfoWire> {
      const provider = writable();
      if (isTransactionalSecretStore(provider)) {
        return deps.commit(async (stores) => {
          const deleted = await provider.deleteIn(stores, name);
          if (!deleted) throw new NotFoundError(`secret "${name}" not found`);
          await audit(stores, actor, 'secret.delete', name, { provider: deps.secrets!.kind, keys: deleted.keys });
          return wire(deleted);
        });
      }
      const deleted = await provider.delete(name);
      if (!deleted) throw new NotFoundError(`secret "${name}" not found`);
      await deps.commit((stores) => audit(stores, actor, 'secret.delete', name, { provider: deps.secrets!.kind, keys: deleted.keys }));
      return wire(deleted);
    },
  };
}

export type SecretService = ReturnType<typeof createSecretService>;
