import { join } from 'node:path';
import type { Store } from '../../ports/store.js';
import { openPostgresStore } from './postgres.js';
import { openSqliteStore } from './sqlite.js';

export { createKyselyStore, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, type KyselyStoreOptions } from './kysely-store.js';
export { MIGRATIONS, migrateToLatest, type StoreDialect, type StoreMigration } from './migrations.js';
export { openPostgresStore, type PostgresStoreConfig } from './postgres.js';
export { openSqliteStore, type SqliteStoreConfig } from './sqlite.js';

export interface StoreConfig {
  /**
   * A postgres:// or postgresql:// URL selects PostgreSQL; `sqlite:PATH` (or `sqlite://PATH`) a
   * SQLite file elsewhere; nothing means SQLite in `dataDir`. Anything else is refused.
   */
  databaseUrl?: string;
  /** Where the SQLite database lives when no PostgreSQL URL is given. */
  dataDir: string;
}

export const isPostgresUrl = (url: string | undefined): boolean => url !== undefined && /^postgres(ql)?:\/\//i.test(url);

/** The store the control plane runs on: PostgreSQL for replicated setups, else embedded SQLite. */
export function openStore(config: StoreConfig): Promise<Store> {
  const cfg = Object.freeze({ ...config });
  if (cfg.databaseUrl !== undefined && isPostgresUrl(cfg.databaseUrl)) return openPostgresStore({ url: cfg.databaseUrl });
  if (cfg.databaseUrl === undefined || cfg.databaseUrl === '') return openSqliteStore({ file: join(cfg.dataDir, 'rollgate.db') });
  const sqlite = /^sqlite:(\/\/)?(.+)$/i.exec(cfg.databaseUrl);
  if (sqlite) return openSqliteStore({ file: sqlite[2]! });
  return Promise.reject(new Error(`database URL must start with postgres://, postgresql:// or sqlite: (got "${cfg.databaseUrl.replace(/\/\/[^@/]*@/, '//***@')}")`));
}
