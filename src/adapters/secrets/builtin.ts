/**
 * The `builtin` secret provider: secrets live in Rollgate's own database (table `secrets`,
 * migration 0003), one row per key, each value sealed with AES-256-GCM under the master key
 * (keys.ts):
 *
 * - a fresh random 96-bit nonce per value and per write (never reused under one key);
 * - the 128-bit authentication tag stored beside the ciphertext: any change to the ciphertext,
 *   nonce or tag makes decryption fail instead of returning altered data;
 * - additional authenticated data binding the value to its place: `rollgate-secret/v1`, the secret
 *   name and the key. A ciphertext copied to another name or key fails to open;
 * - the master key's id stored with each value, so a server started with the wrong key says so
 *   (instead of reporting tampering), and values sealed by a previous key stay readable during a
 *   rotation until `reseal()` moves them to the current key.
 *
 * The plaintext exists only in memory: in `put` on its way to the cipher and in `resolve` on its
 * way to the engine. Errors name the secret and key, never a value.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { secretKeySchema, secretNameSchema, type SecretRef } from '../../core/secrets/env.js';
import { SecretProviderError, type SecretInfo, type SecretStore, type SecretWriteMode } from '../../ports/secret-provider.js';
import type { SealedSecretValue, SecretKeyRecord, StoredSecretValue, Store, Stores } from '../../ports/store.js';
import type { MasterKeyring } from './keys.js';

export const SEAL_ALGORITHM = 'A256GCM.v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const aadOf = (name: string, key: string): Buffer => Buffer.from(`rollgate-secret/v1\0${name}\0${key}`, 'utf8');

/** Seals and opens values; one per keyring. */
export class SecretCipher {
  constructor(readonly keyring: MasterKeyring) {}

  /** Seals `value` as key `key` of secret `name` under the primary master key. */
  seal(name: string, key: string, value: string): SealedSecretValue {
    const master = this.keyring.primary;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', master.bytes(), iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aadOf(name, key));
    const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return {
      name,
      key,
      keyId: master.id,
      algorithm: SEAL_ALGORITHM,
      iv: iv.toString('base64'),
      ciphertext: ciphertext.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
    };
  }

  /** The value of a sealed row. Throws SecretProviderError when it cannot be opened (never with key material or plaintext). */
  open(sealed: SealedSecretValue): string {
    const ref = { name: sealed.name, key: sealed.key };
    const where = `secret ${sealed.name}/${sealed.key}`;
    if (sealed.algorithm !== SEAL_ALGORITHM) throw new SecretProviderError(`${where} is sealed with "${sealed.algorithm}", which this version of Rollgate cannot open`, ref);
    const master = this.keyring.keys.find((candidate) => candidate.id === sealed.keyId);
    if (!master) {
      throw new SecretProviderError(
        `${where} was sealed with master key ${sealed.keyId}, which this server does not have (it has ${this.keyring.keys.map((k) => k.id).join(', ')}); start it with the key that sealed it (ROLLGATE_MASTER_KEY, or the master.key file of the data directory it was written with)`,
        ref,
      );
    }
    const iv = Buffer.from(sealed.iv, 'base64');
    const tag = Buffer.from(sealed.tag, 'base64');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretProviderError(`${where} failed its integrity check: its stored nonce or tag is malformed`, ref);
    try {
      const decipher = createDecipheriv('aes-256-gcm', master.bytes(), iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aadOf(sealed.name, sealed.key));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      // Deliberately no cause: node's error says nothing useful and nothing here may leak.
      throw new SecretProviderError(`${where} failed its integrity check: the stored ciphertext was altered, or belongs to another secret or key`, ref);
    }
  }
}

export interface BuiltinSecretProviderOptions {
  store: Store;
  keyring: MasterKeyring;
}

/** What the secrets API needs to write inside its own transaction (beside the audit event). */
export interface TransactionalSecretStore extends SecretStore {
  /** As `put`, inside the caller's transaction; a null value removes that key (merge mode). */
  putIn(stores: Pick<Stores, 'secrets'>, name: string, data: Readonly<Record<string, string | null>>, mode?: SecretWriteMode): Promise<SecretInfo>;
  /** As `delete`, inside the caller's transaction. */
  deleteIn(stores: Pick<Stores, 'secrets'>, name: string): Promise<SecretInfo | null>;
}

export const isTransactionalSecretStore = (value: unknown): value is TransactionalSecretStore =>
  typeof (value as Partial<TransactionalSecretStore> | null)?.putIn === 'function' && typeof (value as Partial<TransactionalSecretStore>).deleteIn === 'function';

function checkName(name: string): void {
  const parsed = secretNameSchema.safeParse(name);
  if (!parsed.success) throw new RangeError(`invalid secret name "${name}": ${parsed.error.issues[0]!.message}`);
}

function checkKey(key: string): void {
  const parsed = secretKeySchema.safeParse(key);
  if (!parsed.success) throw new RangeError(`invalid secret key "${key}": ${parsed.error.issues[0]!.message}`);
}

const latest = (times: string[]): string | null => (times.length === 0 ? null : times.reduce((a, b) => (a > b ? a : b)));

/** Groups key rows (ordered by name, then key) into one SecretInfo per secret. */
export function groupSecretKeys(rows: readonly SecretKeyRecord[]): SecretInfo[] {
  const byName = new Map<string, { keys: string[]; times: string[] }>();
  for (const row of rows) {
    const entry = byName.get(row.name) ?? { keys: [], times: [] };
    entry.keys.push(row.key);
    entry.times.push(row.updatedAt);
    byName.set(row.name, entry);
  }
  return [...byName.entries()].map(([name, { keys, times }]) => ({ name, keys: [...keys].sort(), updatedAt: latest(times) }));
}

export class BuiltinSecretProvider implements TransactionalSecretStore {
  readonly kind = 'builtin';
  readonly capabilities = Object.freeze({ write: true, list: true });
  readonly #store: Store;
  readonly #cipher: SecretCipher;

  constructor(options: BuiltinSecretProviderOptions) {
    this.#store = options.store;
    this.#cipher = new SecretCipher(options.keyring);
  }

  /** The id of the key new values are sealed with (for the start-up log line). */
  get keyId(): string {
    return this.#cipher.keyring.primary.id;
  }

  async resolve(ref: SecretRef): Promise<string | null> {
    const row = await this.#store.read.secrets.get(ref.name, ref.key);
    return row ? this.#cipher.open(row) : null;
  }

  async list(): Promise<SecretInfo[]> {
    return groupSecretKeys(await this.#store.read.secrets.list());
  }

  put(name: string, data: Readonly<Record<string, string>>, mode: SecretWriteMode = 'replace'): Promise<SecretInfo> {
    return this.#store.transaction((stores) => this.putIn(stores, name, data, mode));
  }

  delete(name: string): Promise<SecretInfo | null> {
    return this.#store.transaction((stores) => this.deleteIn(stores, name));
  }

  async putIn(stores: Pick<Stores, 'secrets'>, name: string, data: Readonly<Record<string, string | null>>, mode: SecretWriteMode = 'replace'): Promise<SecretInfo> {
    checkName(name);
    const entries = Object.entries(data);
    for (const [key, value] of entries) {
      checkKey(key);
      if (value !== null && typeof value !== 'string') throw new TypeError(`secret ${name}/${key}: the value must be a string`);
      if (value === null && mode === 'replace') throw new TypeError(`secret ${name}/${key}: null (remove) only makes sense when merging`);
    }
    if (mode === 'replace' && entries.length === 0) throw new RangeError(`secret ${name}: give at least one key (delete the secret to remove it)`);

    const current = (await stores.secrets.entries(name)).map((row) => row.key);
    const removed = mode === 'replace' ? current.filter((key) => !Object.hasOwn(data, key)) : entries.filter(([, value]) => value === null).map(([key]) => key);
    await stores.secrets.delete(name, removed);
    await stores.secrets.put(entries.flatMap(([key, value]) => (value === null ? [] : [this.#cipher.seal(name, key, value)])));
    return this.#infoIn(stores, name);
  }

  async deleteIn(stores: Pick<Stores, 'secrets'>, name: string): Promise<SecretInfo | null> {
    checkName(name);
    const before = await stores.secrets.entries(name);
    if (before.length === 0) return null;
    const keys = await stores.secrets.delete(name);
    return { name, keys, updatedAt: latest(before.map((row) => row.updatedAt)) };
  }

  /**
   * Re-encrypts every value sealed with a previous key of the keyring under the primary key (after
   * a rotation), one secret per transaction. Values sealed with a key the keyring does not hold are
   * left as they are (resolving them keeps saying which key they need). Safe to repeat; returns how
   * many values it re-sealed. Each value gets a new nonce.
   */
  async reseal(): Promise<number> {
    const primary = this.#cipher.keyring.primary.id;
    const previous = new Set(this.#cipher.keyring.keys.map((key) => key.id).filter((id) => id !== primary));
    const stale = [...new Set((await this.#store.read.secrets.list()).filter((row) => previous.has(row.keyId)).map((row) => row.name))];
    let count = 0;
    for (const name of stale) {
      count += await this.#store.transaction(async (stores) => {
        const rows: StoredSecretValue[] = (await stores.secrets.entries(name)).filter((row) => previous.has(row.keyId));
        await stores.secrets.put(rows.map((row) => this.#cipher.seal(row.name, row.key, this.#cipher.open(row))));
        return rows.length;
      });
    }
    return count;
  }

  async #infoIn(stores: Pick<Stores, 'secrets'>, name: string): Promise<SecretInfo> {
    const rows = await stores.secrets.entries(name);
    return { name, keys: rows.map((row) => row.key).sort(), updatedAt: latest(rows.map((row) => row.updatedAt)) };
  }
}
