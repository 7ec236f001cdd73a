import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type SqliteDatabase,
  type SqliteDialectConfig,
  type SqliteStatement,
} from 'kysely';
import type { Store } from '../../ports/store.js';
import { createKyselyStore } from './kysely-store.js';
import { migrateToLatest } from './migrations.js';
import type { Database } from './schema.js';

export interface SqliteStoreConfig {
  /** Database file, or ':memory:' for a private in-memory database (tests). */
  file: string;
  /** How long a write waits for another process's write lock before failing. */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating if needed) and migrates a SQLite store. WAL lets readers in other processes
 * (a CLI next to the server) proceed during writes.
 */
export async function openSqliteStore(config: SqliteStoreConfig): Promise<Store> {
  const cfg = Object.freeze({ ...config });
  const inMemory = cfg.file === ':memory:';
  if (!inMemory) mkdirSync(dirname(cfg.file), { recursive: true });

  const database = new BetterSqlite3(cfg.file);
  let db: Kysely<Database> | undefined;
  try {
    if (!inMemory) database.pragma('journal_mode = WAL');
    database.pragma(`busy_timeout = ${Math.max(0, Math.floor(cfg.busyTimeoutMs ?? 5000))}`);
    database.pragma('foreign_keys = ON');
    // Durable at every checkpoint and safe against corruption in WAL mode; avoids an fsync per commit.
    database.pragma('synchronous = NORMAL');

    db = new Kysely<Database>({ dialect: new StoreSqliteDialect({ database: withStatementCache(database) }) });
    await migrateToLatest(db, 'sqlite');
    return createKyselyStore(db, 'sqlite');
  } catch (error) {
    if (db) await db.destroy();
    else database.close();
    throw error;
  }
}

/** Prepared statements kept per database; the store issues a few dozen distinct SQL texts. */
export const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely's SQLite driver calls `prepare(sql)` on every query, and preparing costs as much as
 * running a small statement. This keeps the last `size` prepared statements by SQL text (least
 * recently used evicted). Reusing one is safe: better-sqlite3 resets a statement before each run,
 * SQLite re-prepares it by itself after a schema change, and the store never streams (an open
 * iterator would keep the statement busy).
 */
export function withStatementCache(database: BetterSqlite3.Database, size = STATEMENT_CACHE_SIZE): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    prepare(sql: string): SqliteStatement {
      let statement = statements.get(sql);
      if (statement) {
        statements.delete(sql);
      } else {
        statement = database.prepare(sql);
        if (statements.size >= size) statements.delete(statements.keys().next().value as string);
      }
      statements.set(sql, statement);
      return statement;
    },
    close(): void {
      statements.clear();
      database.close();
    },
  };
}

/**
 * Kysely's SQLite dialect with two changes:
 * - transactions start with BEGIN IMMEDIATE, taking the write lock up front. A deferred
 *   transaction that reads and then writes fails with SQLITE_BUSY (without waiting) when another
 *   process wrote in between; an immediate one waits `busy_timeout` for its turn instead. This is
 *   what keeps the audit chain's read-head-then-insert atomic across processes.
 * - DDL runs inside transactions (SQLite supports it; Kysely's adapter says it does not), so each
 *   migration and its bookkeeping row commit together.
 */
class StoreSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): SqliteDriver {
    return new ImmediateTransactionSqliteDriver(this.#config);
  }

  override createAdapter(): SqliteAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

class ImmediateTransactionSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}
