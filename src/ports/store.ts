import type { ChainedAuditEvent, AuditEventBody } from '../core/audit/chain.js';
import type { KindName, Role } from '../core/resources/kinds.js';

/** An object as stored: the document's metadata and spec, the control plane's status, and a version. */
export interface StoredObject {
  kind: KindName;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: Record<string, unknown>;
  /** Owned by the control plane; null until it first writes one. */
  status: Record<string, unknown> | null;
  /** Starts at 1 and rises by one on every write. */
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface NewObject {
  kind: KindName;
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  spec: Record<string, unknown>;
  status?: Record<string, unknown> | null;
}

export interface ObjectChanges {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown> | null;
}

export interface ListQuery {
  /** Every label here must match exactly. */
  labels?: Record<string, string>;
  /** At most this many items (the store caps it at 1000). */
  limit?: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  /** null when this is the last page. */
  nextCursor: string | null;
}

/** Thrown when a write is based on a stale version, or creates an object that already exists. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
  constructor(
    message: string,
    readonly currentVersion: number | null,
  ) {
    super(message);
  }
}

/** Thrown when a write names an object that does not exist. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

export interface ObjectRepository {
  /** Safe to repeat. null: no object of that kind and name. */
  get(kind: KindName, name: string): Promise<StoredObject | null>;
  /** Safe to repeat. Ordered by name; the cursor survives concurrent inserts. */
  list(kind: KindName, query?: ListQuery): Promise<Page<StoredObject>>;
  /** Not safe to repeat: a second call throws ConflictError. */
  create(object: NewObject): Promise<StoredObject>;
  /**
   * Writes the desired labels/annotations/spec/status (fields not given keep their value).
   * Throws ConflictError if `expectedVersion` is not the stored version, NotFoundError if absent.
   * Repeating with the same expectedVersion fails with ConflictError, never writes twice.
   */
  update(kind: KindName, name: string, expectedVersion: number, changes: ObjectChanges): Promise<StoredObject>;
  /**
   * Deletes and returns the deleted object. null: there was nothing to delete (safe to repeat).
   * With `expectedVersion`, throws ConflictError if the stored version differs.
   */
  delete(kind: KindName, name: string, expectedVersion?: number): Promise<StoredObject | null>;
}

export interface AuditQuery {
  /** Only events with seq greater than this. */
  afterSeq?: number;
  /** Only events with seq less than this (with `order: 'desc'`, the previous page's last seq). */
  beforeSeq?: number;
  limit?: number;
  kind?: string;
  name?: string;
  actor?: string;
  /** Exact action, or every action starting with the text before a trailing `*` (`rollout.*`). */
  action?: string;
  /** By seq: `asc` (default, oldest first) or `desc` (newest first). */
  order?: 'asc' | 'desc';
}

export interface AuditRepository {
  /**
   * Appends one event to the hash chain inside the caller's transaction: assigns the next seq,
   * links it to the current head and returns it. Not safe to repeat (each call is one event).
   */
  append(event: Omit<AuditEventBody, 'seq'>): Promise<ChainedAuditEvent>;
  /** Ascending by seq, or descending with `order: 'desc'`. */
  list(query?: AuditQuery): Promise<ChainedAuditEvent[]>;
  /** null: the log is empty. */
  head(): Promise<ChainedAuditEvent | null>;
}

export interface TokenRecord {
  id: string;
  name: string;
  role: Role;
  /** sha256 of the secret; the secret itself is never stored. */
  hash: string;
  createdAt: string;
  /** null while the token is valid. */
  revokedAt: string | null;
  /**
   * The name of the User the token acts for. null: the token was created without one, and acts
   * as a user named like the token with no groups. Not a reference the store checks: the
   * server checks the User exists when the token is created.
   */
  user: string | null;
}

export interface NewToken {
  id: string;
  name: string;
  role: Role;
  /** sha256 of the secret. */
  hash: string;
  /** The User the token acts for; absent or null: none. */
  user?: string | null;
}

export interface TokenRepository {
  /**
   * Not safe to repeat: throws ConflictError if a token with that name (or id, or hash) exists,
   * revoked ones included.
   */
  create(token: NewToken): Promise<TokenRecord>;
  /** Safe to repeat. null: no token with that hash. Revoked tokens are returned with `revokedAt` set. */
  findByHash(hash: string): Promise<TokenRecord | null>;
  /** Safe to repeat. Every token, revoked ones included, ordered by name. */
  list(): Promise<TokenRecord[]>;
  /** Safe to repeat: revoking a revoked token keeps the first time. null: no such token. */
  revoke(name: string, at: string): Promise<TokenRecord | null>;
}

export interface Lease {
  name: string;
  holder: string;
  /** Rises every time the lease changes hands; writes carry it so a stale holder is refused. */
  fencingToken: number;
  expiresAt: string;
}

export interface LeaseRepository {
  /**
   * Takes or renews the lease for `holder` until now + ttlMs. Safe to repeat. Renewing keeps the
   * fencing token; taking an expired lease from another holder increments it.
   * null: another holder has it and it has not expired.
   */
  acquire(name: string, holder: string, ttlMs: number, now: Date): Promise<Lease | null>;
  /** Safe to repeat. Releases only if `holder` has it. */
  release(name: string, holder: string): Promise<void>;
  /** null: no such lease. */
  get(name: string): Promise<Lease | null>;
}

/**
 * One key of one secret as the builtin secret provider stores it: AES-256-GCM ciphertext, never
 * the value (src/adapters/secrets/builtin.ts encrypts and decrypts; the store only keeps bytes).
 */
export interface SealedSecretValue {
  /** The secret's name. */
  name: string;
  /** The key inside the secret. */
  key: string;
  /** Which master key sealed it (a fingerprint, not the key). */
  keyId: string;
  /** Format of the sealed fields, e.g. `A256GCM.v1`, so a later format can be told apart. */
  algorithm: string;
  /** Base64 of the 96-bit nonce. */
  iv: string;
  /** Base64 of the ciphertext. */
  ciphertext: string;
  /** Base64 of the 128-bit GCM authentication tag. */
  tag: string;
}

export interface StoredSecretValue extends SealedSecretValue {
  createdAt: string;
  updatedAt: string;
}

/** A key of a secret without its sealed value, for listing. */
export interface SecretKeyRecord {
  name: string;
  key: string;
  keyId: string;
  updatedAt: string;
}

export interface SecretRepository {
  /** Safe to repeat. null: no such secret or no such key in it. */
  get(name: string, key: string): Promise<StoredSecretValue | null>;
  /** Every key of every secret (no sealed values), ordered by name then key. Safe to repeat. */
  list(): Promise<SecretKeyRecord[]>;
  /** Every key of one secret with its sealed value, ordered by key; empty when there is no such secret. */
  entries(name: string): Promise<StoredSecretValue[]>;
  /**
   * Inserts or overwrites each given key (createdAt kept on overwrite). Safe to repeat. Writes all
   * of them atomically (inside the caller's transaction, or in one of its own).
   */
  put(values: SealedSecretValue[]): Promise<void>;
  /**
   * Removes the given keys of `name`, or every key when `keys` is absent, and returns the keys it
   * removed, sorted (empty when there was nothing: safe to repeat).
   */
  delete(name: string, keys?: string[]): Promise<string[]>;
}

/** The repositories; services take the narrow `Pick<Stores, ...>` they use. */
export interface Stores {
  objects: ObjectRepository;
  audit: AuditRepository;
  tokens: TokenRepository;
  leases: LeaseRepository;
  /** Sealed values of the builtin secret provider (migration 0003). */
  secrets: SecretRepository;
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * Runs `work` in one transaction: all its writes commit together or none do. The callback
   * may run again if the database reports a serialization failure, so it must only write
   * through the stores it is given.
   */
  transaction<T>(work: (stores: Stores) => Promise<T>): Promise<T>;
  /** Reads outside a transaction. */
  readonly read: Stores;
  /** Checks the database answers. */
  ping(): Promise<void>;
  /** Safe to repeat. */
  close(): Promise<void>;
}
