/** An in-memory SecretStore for tests: what a provider must do, with nothing in the way. */
import { secretKeySchema, secretNameSchema, type SecretRef } from '../../src/core/secrets/env.js';
import type { SecretInfo, SecretStore, SecretWriteMode } from '../../src/ports/secret-provider.js';

export class FakeSecretProvider implements SecretStore {
  readonly capabilities = { write: true, list: true } as const;
  readonly #secrets = new Map<string, { data: Map<string, string>; updatedAt: string }>();
  /** Every reference resolved, in order (tests check what was asked). */
  readonly resolved: SecretRef[] = [];

  constructor(initial: Record<string, Record<string, string>> = {}) {
    for (const [name, data] of Object.entries(initial)) this.#secrets.set(name, { data: new Map(Object.entries(data)), updatedAt: new Date().toISOString() });
  }

  async resolve(ref: SecretRef): Promise<string | null> {
    this.resolved.push(ref);
    return this.#secrets.get(ref.name)?.data.get(ref.key) ?? null;
  }

  async list(): Promise<SecretInfo[]> {
    return [...this.#secrets.keys()].sort().map((name) => this.#info(name)!);
  }

  async put(name: string, data: Readonly<Record<string, string>>, mode: SecretWriteMode = 'replace'): Promise<SecretInfo> {
    if (!secretNameSchema.safeParse(name).success) throw new RangeError(`invalid secret name "${name}"`);
    for (const key of Object.keys(data)) if (!secretKeySchema.safeParse(key).success) throw new RangeError(`invalid secret key "${key}"`);
    if (mode === 'replace' && Object.keys(data).length === 0) throw new RangeError('give at least one key');
    const current = mode === 'merge' ? (this.#secrets.get(name)?.data ?? new Map<string, string>()) : new Map<string, string>();
    for (const [key, value] of Object.entries(data)) current.set(key, value);
    this.#secrets.set(name, { data: current, updatedAt: new Date().toISOString() });
    return this.#info(name)!;
  }

  async delete(name: string): Promise<SecretInfo | null> {
    const info = this.#info(name);
    this.#secrets.delete(name);
    return info;
  }

  #info(name: string): SecretInfo | null {
    const secret = this.#secrets.get(name);
    return secret ? { name, keys: [...secret.data.keys()].sort(), updatedAt: secret.updatedAt } : null;
  }
}
