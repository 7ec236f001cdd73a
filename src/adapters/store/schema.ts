import type { ColumnType } from 'kysely';

/**
 * Row types as the drivers return them. The two dialects store some columns differently, so a
 * few select types are unions that the repositories normalise when mapping rows:
 * - JSON is text in SQLite (the store parses it) and jsonb in PostgreSQL (pg parses it, and the
 *   GIN index serves label filters). Both are written as JSON text.
 * - Timestamps the store generates are ISO-8601 text in SQLite and timestamptz in PostgreSQL
 *   (pg returns a Date). Audit `time` is text in both: it is part of the hashed body and must
 *   come back byte for byte as the caller wrote it.
 * - 64-bit integers (audit seq, fencing tokens) come back from pg as strings.
 */
export type JsonColumn = ColumnType<unknown, string, string>;
export type NullableJsonColumn = ColumnType<unknown, string | null, string | null>;
export type TimestampColumn = ColumnType<string | Date, string, string>;
export type NullableTimestampColumn = ColumnType<string | Date | null, string | null, string | null>;
export type Int64Column = ColumnType<number | string, number, number>;

export interface ObjectsTable {
  kind: string;
  name: string;
  labels: JsonColumn;
  annotations: JsonColumn;
  spec: JsonColumn;
  status: NullableJsonColumn;
  version: number;
  created_at: TimestampColumn;
  updated_at: TimestampColumn;
}

export interface AuditEventsTable {
  seq: Int64Column;
  time: string;
  actor: string;
  action: string;
  kind: string;
  name: string;
  before_digest: string | null;
  after_digest: string | null;
  /** null when the event had no details; the event then reads back without the key. */
  details: NullableJsonColumn;
  prev_hash: string;
  hash: string;
}

export interface TokensTable {
  id: string;
  name: string;
  role: string;
  hash: string;
  created_at: TimestampColumn;
  revoked_at: NullableTimestampColumn;
  /** Added by migration 0002; null for a token that belongs to no User. */
  user_name: string | null;
}

export interface LeasesTable {
  name: string;
  holder: string;
  fencing_token: Int64Column;
  expires_at: TimestampColumn;
}

/** Added by migration 0003: one row per key of a builtin secret, sealed with AES-256-GCM. */
export interface SecretsTable {
  name: string;
  key: string;
  key_id: string;
  algorithm: string;
  iv: string;
  ciphertext: string;
  tag: string;
  created_at: TimestampColumn;
  updated_at: TimestampColumn;
}

export interface Database {
  objects: ObjectsTable;
  audit_events: AuditEventsTable;
  tokens: TokensTable;
  leases: LeasesTable;
  secrets: SecretsTable;
}
