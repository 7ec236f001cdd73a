/**
 * The master key the builtin secret provider seals values with (AES-256-GCM, so 32 bytes).
 *
 * Where it comes from, in order:
 * 1. `ROLLGATE_MASTER_KEY`: 32 bytes as base64 (standard or URL alphabet) or 64 hex digits. Use it
 *    when several control-plane replicas share one PostgreSQL: they must all hold the same key.
 * 2. `<dataDir>/master.key`: created on first start (32 random bytes, base64, mode 0600, written
 *    to a temporary file and linked into place so two processes starting together agree on one).
 *    A key file that other users can read or write is refused: whoever reads it can decrypt every
 *    secret in the database.
 *
 * `ROLLGATE_MASTER_KEY_PREVIOUS` (comma-separated, same formats) lists keys that only decrypt: a
 * rotation sets the new key, keeps the old one there until `reseal()` has re-encrypted everything
 * (docs/secrets.md, "Rotating the master key").
 *
 * Key material never leaves this module's objects: `MasterKey` prints and serialises as its id.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fstatSync, linkSync, openSync, readFileSync, unlinkSync, writeFileSync, constants as fsConstants } from 'node:fs';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

export const MASTER_KEY_BYTES = 32;
export const MASTER_KEY_FILE = 'master.key';
export const MASTER_KEY_ENV = 'ROLLGATE_MASTER_KEY';
export const PREVIOUS_MASTER_KEYS_ENV = 'ROLLGATE_MASTER_KEY_PREVIOUS';

/** Thrown when no usable master key can be had; the message says what to do. */
export class MasterKeyError extends Error {
  override readonly name = 'MasterKeyError';
}

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/** 32 bytes of key material and the id that names it (a fingerprint, safe to store and log). */
export class MasterKey {
  readonly #bytes: Buffer;
  /** First 16 hex digits of a domain-separated sha256 of the key: tells keys apart, reveals nothing. */
  readonly id: string;

  constructor(bytes: Uint8Array) {
    if (bytes.length !== MASTER_KEY_BYTES) throw new MasterKeyError(`a master key is ${MASTER_KEY_BYTES} bytes, got ${bytes.length}`);
    this.#bytes = Buffer.from(bytes);
    this.id = createHash('sha256').update('rollgate master key id\0').update(this.#bytes).digest('hex').slice(0, 16);
  }

  /** The key material, for the cipher only. */
  bytes(): Buffer {
    return this.#bytes;
  }

  toJSON(): { id: string } {
    return { id: this.id };
  }

  toString(): string {
    return `MasterKey(${this.id})`;
  }

  [INSPECT](): string {
    return this.toString();
  }
}

/** The key that seals new values, and every key that may open stored ones. */
export interface MasterKeyring {
  readonly primary: MasterKey;
  /** The primary first, then previous keys; ids are distinct. */
  readonly keys: readonly MasterKey[];
  /** Where the primary came from, for the start-up log line (never the key). */
  readonly source: string;
}

export function keyring(primary: MasterKey, previous: readonly MasterKey[] = [], source = 'given'): MasterKeyring {
  const keys = [primary, ...previous.filter((key, index, all) => key.id !== primary.id && all.findIndex((other) => other.id === key.id) === index)];
  return Object.freeze({ primary, keys: Object.freeze(keys), source });
}

/** A random keyring held only in memory: for tests, and never for values that must outlive the process. */
export const ephemeralKeyring = (): MasterKeyring => keyring(new MasterKey(randomBytes(MASTER_KEY_BYTES)), [], 'ephemeral');

/**
 * Parses key text: 64 hex digits, or base64 / base64url of exactly 32 bytes (whitespace around it
 * ignored). `what` names the source in the error, which never repeats the text.
 */
export function parseMasterKey(text: string, what: string): MasterKey {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return new MasterKey(Buffer.from(trimmed, 'hex'));
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) {
    const bytes = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (bytes.length === MASTER_KEY_BYTES) return new MasterKey(bytes);
  }
  throw new MasterKeyError(
    `${what} is not a master key: expected ${MASTER_KEY_BYTES} bytes as base64 or as ${MASTER_KEY_BYTES * 2} hex digits (generate one with: openssl rand -base64 32)`,
  );
}

export interface LoadKeyringOptions {
  /** Where ROLLGATE_MASTER_KEY and ROLLGATE_MASTER_KEY_PREVIOUS are read; default process.env. */
  env?: Record<string, string | undefined>;
  /** Holds `master.key` when the environment gives no key. */
  dataDir: string;
  /** Create the key file when it is missing (default true: "created on first start"). */
  create?: boolean;
}

/**
 * The master keyring for a control plane: from the environment, else from `<dataDir>/master.key`
 * (created when missing). Throws MasterKeyError with a clear message when the key is malformed or
 * the key file is readable or writable by other users.
 */
export function loadMasterKeyring(options: LoadKeyringOptions): MasterKeyring {
  const env = options.env ?? process.env;
  const previous = (env[PREVIOUS_MASTER_KEYS_ENV] ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part, index) => parseMasterKey(part, `${PREVIOUS_MASTER_KEYS_ENV} entry ${index + 1}`));
  const fromEnv = env[MASTER_KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return keyring(parseMasterKey(fromEnv, MASTER_KEY_ENV), previous, MASTER_KEY_ENV);
  const file = path.join(options.dataDir, MASTER_KEY_FILE);
  return keyring(readOrCreateKeyFile(file, options.create ?? true), previous, file);
}

/** Reads the key file, creating it first when it does not exist (and `create`). */
export function readOrCreateKeyFile(file: string, create = true): MasterKey {
  const existing = readKeyFile(file);
  if (existing) return existing;
  if (!create) throw new MasterKeyError(`no master key: ${file} does not exist and ${MASTER_KEY_ENV} is not set`);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, `${randomBytes(MASTER_KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    // umask may have narrowed the mode further, never widened it; make it exactly 0600.
    chmodSync(temporary, 0o600);
    // link() fails if the file appeared meanwhile: then the other process's key wins, and both use it.
    linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    try {
      unlinkSync(temporary);
    } catch {
      // already gone
    }
  }
  const key = readKeyFile(file);
  if (!key) throw new MasterKeyError(`${file} vanished while it was being created`);
  return key;
}

/** null when the file does not exist. */
function readKeyFile(file: string): MasterKey | null {
  let fd: number;
  try {
    fd = openSync(file, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw new MasterKeyError(`${file} is a symbolic link; the master key file must be a regular file`);
    throw new MasterKeyError(`cannot read the master key file ${file}: ${(error as Error).message}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new MasterKeyError(`${file} is not a regular file`);
    if (process.platform !== 'win32' && (stat.mode & 0o007) !== 0) {
      throw new MasterKeyError(
        `the master key file ${file} is accessible to every user (mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}); anyone who reads it can decrypt every secret. Run: chmod 600 ${file}`,
      );
    }
    return parseMasterKey(readFileSync(fd, 'utf8'), `the master key file ${file}`);
  } finally {
    closeSync(fd);
  }
}
