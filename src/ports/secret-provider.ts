/**
 * Where secret values come from: the builtin store (encrypted at rest in Rollgate's database),
 * the control plane's environment variables, or files (a Kubernetes secret volume). Specs name a
 * secret with `secretRef: { name, key }`; the engine resolves it just before it starts the
 * process or command that needs it. Values are never logged, never written to the store in the
 * clear, and never returned by the API (docs/secrets.md).
 */
import type { SecretRef } from '../core/secrets/env.js';

export type { SecretRef };

export interface SecretProviderCapabilities {
  /** Secrets can be created, replaced and deleted through Rollgate (`SecretStore`). */
  readonly write: boolean;
  /** `list()` can tell which secrets and keys exist (never their values). */
  readonly list: boolean;
}

/** What may be known about a secret without reading it. */
export interface SecretInfo {
  name: string;
  /** The secret's keys, sorted. */
  keys: string[];
  /** Last write (ISO 8601); null when the provider cannot tell (environment variables, some files). */
  updatedAt: string | null;
}

/**
 * A failure of the provider itself (an unreadable file, a value that fails to decrypt, a key file
 * that does not match), as opposed to a secret that does not exist (`resolve` returns null). Its
 * message names the secret and key, never a value or key material.
 */
export class SecretProviderError extends Error {
  override readonly name = 'SecretProviderError';
  constructor(
    message: string,
    readonly ref?: SecretRef,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface SecretProvider {
  readonly capabilities: SecretProviderCapabilities;
  /**
   * The value of one key of one secret. Safe to repeat; no side effects (nothing is logged, the
   * value is not cached beyond the call). null: no such secret, or no such key in it. Throws
   * SecretProviderError when the secret exists but cannot be read (tampered ciphertext, wrong
   * master key, unreadable file).
   */
  resolve(ref: SecretRef): Promise<string | null>;
  /**
   * Every secret with its keys, by name (code point order); values are never part of the answer.
   * Safe to repeat. null: the provider cannot list (`capabilities.list` is false).
   */
  list(): Promise<SecretInfo[] | null>;
}

/** How `SecretStore.put` treats the keys the secret already has. */
export type SecretWriteMode =
  /** The secret becomes exactly `data`: keys not given are removed. */
  | 'replace'
  /** Keys in `data` are set, the others kept. */
  | 'merge';

/** A provider Rollgate can write to (`capabilities.write` is true): the builtin store. */
export interface SecretStore extends SecretProvider {
  /**
   * Writes the secret `name` (creating it if needed) and returns what is known about it afterwards,
   * never the values. Safe to repeat: the same call leaves the same values (only `updatedAt` moves).
   * `data` must hold at least one key in `replace` mode.
   */
  put(name: string, data: Readonly<Record<string, string>>, mode?: SecretWriteMode): Promise<SecretInfo>;
  /** Deletes the secret and every key in it. Safe to repeat. null: there was no such secret. */
  delete(name: string): Promise<SecretInfo | null>;
}

/** True when `provider` can be written through (narrows to SecretStore). */
export function isSecretStore(provider: SecretProvider): provider is SecretStore {
  return provider.capabilities.write && typeof (provider as Partial<SecretStore>).put === 'function' && typeof (provider as Partial<SecretStore>).delete === 'function';
}
