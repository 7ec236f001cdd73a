import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

export type StoreDialect = 'sqlite' | 'postgres';

/**
 * One schema change. `up` gets the dialect so a single migration can pick the column types each
 * database does best (jsonb vs text, timestamptz vs text) while both dialects share one history.
 */
export interface StoreMigration {
  /** Kysely applies migrations in name order, so names start with a zero-padded sequence number. */
  readonly name: string;
  up(db: Kysely<any>, dialect: StoreDialect): Promise<void>;
}

/** Column types per dialect, so each migration states its intent once. */
function columnTypes(dialect: StoreDialect) {
  const pg = dialect === 'postgres';
  return {
    json: pg ? sql`jsonb` : sql`text`,
    timestamp: pg ? sql`timestamptz` : sql`text`,
    int64: pg ? sql`bigint` : sql`integer`,
    /**
     * Names are compared by code point in both dialects (SQLite's default BINARY collation;
     * "C" in PostgreSQL), so list order and cursors do not depend on the server's locale.
     */
    sortableText: pg ? sql`text collate "C"` : sql`text`,
  };
}

/**
 * The schema history, oldest first. Append only: a migration that has shipped is never edited or
 * reordered (Kysely refuses to run if an applied migration is missing or out of order), so
 * databases created by any earlier release upgrade by running the tail of this list.
 */
export const MIGRATIONS: readonly StoreMigration[] = Object.freeze([
  {
    name: '0001_initial',
    async up(db, dialect) {
      const t = columnTypes(dialect);

      await db.schema
        .createTable('objects')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', t.sortableText, (c) => c.notNull())
        .addColumn('labels', t.json, (c) => c.notNull())
        .addColumn('annotations', t.json, (c) => c.notNull())
        .addColumn('spec', t.json, (c) => c.notNull())
        .addColumn('status', t.json)
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('objects_pk', ['kind', 'name'])
        .execute();
      if (dialect === 'postgres') {
        // Serves `labels @> '{...}'` filters; SQLite scans the kind's rows with json_each instead.
        await db.schema.createIndex('objects_labels_idx').on('objects').using('gin').expression(sql`labels jsonb_path_ops`).execute();
      }

      await db.schema
        .createTable('audit_events')
        // Assigned by the store (head + 1 under a lock), never by a sequence: sequences leave gaps
        // when a transaction rolls back, and the chain must not have any.
        .addColumn('seq', t.int64, (c) => c.primaryKey())
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('before_digest', 'text')
        .addColumn('after_digest', 'text')
        .addColumn('details', t.json)
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_events_object_idx').on('audit_events').columns(['kind', 'name', 'seq']).execute();
      await db.schema.createIndex('audit_events_actor_idx').on('audit_events').columns(['actor', 'seq']).execute();

      await db.schema
        .createTable('tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', t.sortableText, (c) => c.notNull().unique())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('revoked_at', t.timestamp)
        .execute();

      await db.schema
        .createTable('leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('fencing_token', t.int64, (c) => c.notNull())
        .addColumn('expires_at', t.timestamp, (c) => c.notNull())
        .execute();
    },
  },
  {
    name: '0002_token_users',
    async up(db) {
      // The User a token acts for (docs/adr/0004-governance.md). Nullable, with no foreign key:
      // tokens from before identities existed have none, and a User is an object whose deletion
      // must not revoke or orphan-check tokens (the token then acts with no groups).
      await db.schema.alterTable('tokens').addColumn('user_name', 'text').execute();
    },
  },
  {
    name: '0003_secrets',
    async up(db, dialect) {
      const t = columnTypes(dialect);
      // The builtin secret provider's values, one row per key, sealed with AES-256-GCM under the
      // master key (docs/secrets.md). Base64 text rather than bytea/blob, so both dialects read
      // back the same strings; the plaintext never reaches this table.
      await db.schema
        .createTable('secrets')
        .addColumn('name', t.sortableText, (c) => c.notNull())
        .addColumn('key', t.sortableText, (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('algorithm', 'text', (c) => c.notNull())
        .addColumn('iv', 'text', (c) => c.notNull())
        .addColumn('ciphertext', 'text', (c) => c.notNull())
        .addColumn('tag', 'text', (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('secrets_pk', ['name', 'key'])
        .execute();
    },
  },
]);

assertOrdered(MIGRATIONS);

/** Catches a mis-numbered append at import time rather than on a user's upgraded database. */
function assertOrdered(migrations: readonly StoreMigration[]): void {
  migrations.forEach((migration, index) => {
    const previous = migrations[index - 1];
    if (previous && !(previous.name < migration.name)) {
      throw new Error(`store migrations out of order: "${migration.name}" must sort after "${previous.name}"`);
    }
  });
}

function providerFor(dialect: StoreDialect, migrations: readonly StoreMigration[]): MigrationProvider {
  return {
    async getMigrations() {
      const byName: Record<string, Migration> = {};
      for (const migration of migrations) byName[migration.name] = { up: (db) => migration.up(db, dialect) };
      return byName;
    },
  };
}

/**
 * Brings the schema up to date. Each migration runs in a transaction on both dialects (the
 * SQLite dialect opts in to transactional DDL), so a crash never leaves one half applied.
 * Concurrent runs are serialised: on PostgreSQL by Kysely's session advisory lock, on SQLite by
 * `BEGIN IMMEDIATE` (see sqlite.ts). The loser then sees the migrations applied and does nothing.
 */
export async function migrateToLatest(
  db: Kysely<any>,
  dialect: StoreDialect,
  options: { migrationTableSchema?: string; migrations?: readonly StoreMigration[] } = {},
): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: providerFor(dialect, options.migrations ?? MIGRATIONS),
    ...(options.migrationTableSchema ? { migrationTableSchema: options.migrationTableSchema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === 'Error');
    const cause = error instanceof Error ? error.message : String(error);
    throw new Error(`store migration ${failed ? `"${failed.migrationName}" ` : ''}failed: ${cause}`, { cause: error });
  }
}
