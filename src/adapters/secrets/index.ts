/**
 * Chooses the secret provider a control plane resolves `secretRef`s from (`rollgate serve
 * --secret-provider`, env ROLLGATE_SECRET_PROVIDER): `builtin` (default), `env` or `file`.
 */
import type { SecretProvider } from '../../ports/secret-provider.js';
import type { Store } from '../../ports/store.js';
import { BuiltinSecretProvider } from './builtin.js';
import { EnvSecretProvider } from './env.js';
import { FileSecretProvider } from './file.js';
import { loadMasterKeyring, type MasterKeyring } from './keys.js';

export { BuiltinSecretProvider, SecretCipher, SEAL_ALGORITHM, groupSecretKeys, isTransactionalSecretStore, type TransactionalSecretStore } from './builtin.js';
export { EnvSecretProvider, envVariableFor } from './env.js';
export { FileSecretProvider } from './file.js';
export {
  ephemeralKeyring,
  keyring,
  loadMasterKeyring,
  MASTER_KEY_ENV,
  MASTER_KEY_FILE,
  MasterKey,
  MasterKeyError,
  parseMasterKey,
  PREVIOUS_MASTER_KEYS_ENV,
  type MasterKeyring,
} from './keys.js';

export const SECRET_PROVIDER_KINDS = ['builtin', 'env', 'file'] as const;
export type SecretProviderKind = (typeof SECRET_PROVIDER_KINDS)[number];

export interface SecretProviderConfig {
  /** Default `builtin`. */
  kind?: SecretProviderKind;
  /** The control plane's store (builtin keeps its sealed values there). */
  store: Store;
  /** Holds `master.key` (builtin) when ROLLGATE_MASTER_KEY is not set. */
  dataDir: string;
  /** ROLLGATE_MASTER_KEY(_PREVIOUS) and, for `env`, the secrets themselves; default process.env. */
  env?: Record<string, string | undefined>;
  /** `env`: variable prefix (ROLLGATE_SECRET_ENV_PREFIX). */
  envPrefix?: string;
  /** `file`: the directory of `<name>/<key>` files (ROLLGATE_SECRET_DIR). Required for `file`. */
  dir?: string;
  /** `builtin`: a keyring to use instead of loading one (tests). */
  keyring?: MasterKeyring;
}

export interface OpenedSecretProvider {
  kind: SecretProviderKind;
  provider: SecretProvider;
  /** For the start-up log line: where the master key came from and its id (builtin only). */
  describe: Record<string, string>;
  /**
   * Finishes a master key rotation (builtin with ROLLGATE_MASTER_KEY_PREVIOUS set): re-seals every
   * value still sealed with a previous key under the current one, and returns how many. Safe to
   * repeat; 0 for other providers and when no previous key is configured. Call it at start-up.
   */
  reseal(): Promise<number>;
}

/** Builds the configured provider; throws MasterKeyError (builtin) or a plain Error with what to fix. */
export function openSecretProvider(config: SecretProviderConfig): OpenedSecretProvider {
  const kind = config.kind ?? 'builtin';
  switch (kind) {
    case 'builtin': {
      const keys = config.keyring ?? loadMasterKeyring({ dataDir: config.dataDir, ...(config.env ? { env: config.env } : {}) });
      const provider = new BuiltinSecretProvider({ store: config.store, keyring: keys });
      return {
        kind,
        provider,
        describe: { provider: kind, masterKey: keys.primary.id, masterKeySource: keys.source },
        reseal: () => (keys.keys.length > 1 ? provider.reseal() : Promise.resolve(0)),
      };
    }
    case 'env': {
      const provider = new EnvSecretProvider({ ...(config.env ? { env: config.env } : {}), ...(config.envPrefix ? { prefix: config.envPrefix } : {}) });
      return { kind, provider, describe: { provider: kind, prefix: config.envPrefix ?? '' }, reseal: async () => 0 };
    }
    case 'file': {
      if (!config.dir) throw new Error('the file secret provider needs a directory (--secret-dir or ROLLGATE_SECRET_DIR)');
      return { kind, provider: new FileSecretProvider({ dir: config.dir }), describe: { provider: kind, dir: config.dir }, reseal: async () => 0 };
    }
    default:
      throw new Error(`unknown secret provider "${String(kind)}" (expected one of ${SECRET_PROVIDER_KINDS.join(', ')})`);
  }
}
