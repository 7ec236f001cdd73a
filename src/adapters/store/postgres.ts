import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Store } from '../../ports/store.js';
import { createKyselyStore } from './kysely-store.js';
import { migrateToLatest } from './migrations.js';
import type { Database } from './schema.js';

export interface PostgresStoreConfig {
  /** postgres:// or postgresql:// connection URL. */
  url: string;
  /**
   * Schema holding Rollgate's tables, created if missing and set as the search_path of every
   * connection. Lets several stores (tests, or several installations) share one database.
   * Default: the connection's current schema (usually `public`).
   */
  schema?: string;
  /** Pool size. */
  maxConnections?: number;
}

/** Opens a pooled PostgreSQL store and migrates it. */
export async function openPostgresStore(config: PostgresStoreConfig): Promise<Store> {
  const cfg = Object.freeze({ ...config });
  const pool = new pg.Pool({ connectionString: cfg.url, max: cfg.maxConnections ?? 10 });
  // An idle client whose server connection dies emits 'error' on the pool; unhandled, that would
  // crash the process. The pool drops the client and the next query opens a new one.
  pool.on('error', () => {});

  const setSearchPath = cfg.schema === undefined ? undefined : CompiledQuery.raw(`set search_path to ${quoteIdentifier(cfg.schema)}`);
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({
      pool,
      ...(setSearchPath && {
        onCreateConnection: async (connection) => {
          await connection.executeQuery(setSearchPath);
        },
      }),
    }),
  });

  try {
    if (cfg.schema !== undefined) await createSchemaIfMissing(db, cfg.schema);
    const schema = cfg.schema ?? (await currentSchema(db));
    // Kysely takes a session advisory lock around the migrations, so two processes starting
    // together apply each migration once; its bookkeeping tables live in the same schema.
    await migrateToLatest(db, 'postgres', { migrationTableSchema: schema });
    return createKyselyStore(db, 'postgres');
  } catch (error) {
    await db.destroy();
    throw error;
  }
}

/** `CREATE SCHEMA IF NOT EXISTS` can still fail when another session creates it concurrently. */
async function createSchemaIfMissing(db: Kysely<Database>, schema: string): Promise<void> {
  try {
    await db.schema.createSchema(schema).ifNotExists().execute();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== '23505' && code !== '42P06') throw error;
  }
}

async function currentSchema(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  const schema = rows[0]?.schema;
  if (!schema) throw new Error('PostgreSQL store: the search_path names no existing schema; pass `schema` or fix the search_path');
  return schema;
}

const quoteIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;
