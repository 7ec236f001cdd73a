import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../src/core/audit/chain.js';
import { Kysely, PostgresDialect } from 'kysely';
import { MIGRATIONS, migrateToLatest, openPostgresStore, openStore } from '../src/adapters/store/index.js';
import { describeStoreContract } from './contract/store-contract.js';

const url = process.env.ROLLGATE_TEST_DATABASE_URL;
const inCi = /^(true|1)$/i.test(process.env.CI ?? '');
const SKIP_REASON = 'ROLLGATE_TEST_DATABASE_URL not set: PostgreSQL suite skipped';

if (url) {
  describePostgres(url);
} else if (inCi) {
  describe('PostgreSQL store', () => {
    it('runs in CI', () => {
      throw new Error(`${SKIP_REASON} — but CI=true, where the PostgreSQL suite must run (start one with scripts/start-postgres.sh)`);
    });
  });
} else {
  describe.skip(SKIP_REASON, () => {
    it('runs the Store contract against PostgreSQL', () => {});
  });
}

async function withAdmin<T>(databaseUrl: string, work: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

function describePostgres(databaseUrl: string): void {
  /** Every schema this file creates, dropped at the end whether or not its test passed. */
  const schemas: string[] = [];
  const freshSchema = () => {
    const schema = `rg_test_${randomBytes(6).toString('hex')}`;
    schemas.push(schema);
    return schema;
  };

  afterAll(() =>
    withAdmin(databaseUrl, async (admin) => {
      for (const schema of schemas) await admin.query(`drop schema if exists "${schema}" cascade`);
    }),
  );

  describeStoreContract('postgres', () => openPostgresStore({ url: databaseUrl, schema: freshSchema() }));

  describe('PostgreSQL store', () => {
    it('migrates once when several processes open a new schema at the same time', async () => {
      const schema = freshSchema();
      const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore({ url: databaseUrl, schema })));
      try {
        await withAdmin(databaseUrl, async (admin) => {
          const { rows } = await admin.query<{ name: string }>(`select name from "${schema}".kysely_migration order by name`);
          expect(rows.map((row) => row.name)).toEqual(MIGRATIONS.map((migration) => migration.name));
          const tables = await admin.query<{ table_name: string }>('select table_name from information_schema.tables where table_schema = $1', [schema]);
          expect(tables.rows.map((row) => row.table_name)).toEqual(expect.arrayContaining(['audit_events', 'leases', 'objects', 'tokens']));
        });
        // Stores opened on one schema share its data, and their appends share one chain.
        await Promise.all(
          stores.map((store, i) => store.read.audit.append({ time: 't', actor: `p${i}`, action: 'a', kind: 'k', name: 'n', beforeDigest: null, afterDigest: null })),
        );
        expect(verifyChain(await stores[0]!.read.audit.list())).toMatchObject({ ok: true, checked: 4 });
      } finally {
        await Promise.all(stores.map((store) => store.close()));
      }
    });

    it('upgrades a schema created before 0002_token_users: existing tokens keep working and belong to no user', async () => {
      const schema = freshSchema();
      await withAdmin(databaseUrl, (admin) => admin.query(`create schema "${schema}"`));
      const pool = new pg.Pool({ connectionString: databaseUrl, max: 1, options: `-c search_path=${schema}` });
      const old = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
      try {
        await migrateToLatest(old, 'postgres', { migrationTableSchema: schema, migrations: MIGRATIONS.filter((migration) => migration.name < '0002') });
        await old.insertInto('tokens').values({ id: 't1', name: 'ci', role: 'deployer', hash: 'h', created_at: '2025-01-01T00:00:00.000Z', revoked_at: null }).execute();
      } finally {
        await old.destroy();
      }

      const store = await openPostgresStore({ url: databaseUrl, schema });
      try {
        expect(await store.read.tokens.findByHash('h')).toMatchObject({ name: 'ci', role: 'deployer', user: null, createdAt: '2025-01-01T00:00:00.000Z' });
        expect((await store.read.tokens.create({ id: 't2', name: 'alice', role: 'viewer', hash: 'h2', user: 'alice' })).user).toBe('alice');
      } finally {
        await store.close();
      }
    });

    it('keeps data across close and reopen, and keeps schemas apart', async () => {
      const schema = freshSchema();
      const first = await openPostgresStore({ url: databaseUrl, schema });
      const created = await first.read.objects.create({ kind: 'Service', name: 'checkout', spec: { port: 8080 } });
      await first.close();
      const second = await openPostgresStore({ url: databaseUrl, schema });
      const other = await openPostgresStore({ url: databaseUrl, schema: freshSchema() });
      try {
        expect(await second.read.objects.get('Service', 'checkout')).toEqual(created);
        expect(await other.read.objects.get('Service', 'checkout')).toBeNull();
      } finally {
        await Promise.all([second.close(), other.close()]);
      }
    });

    it("openStore picks PostgreSQL for postgres:// and postgresql:// URLs, in the connection's schema", async () => {
      // The schema comes from the URL's search_path here, so nothing lands in `public`.
      const schema = freshSchema();
      await withAdmin(databaseUrl, (admin) => admin.query(`create schema "${schema}"`));
      const withSearchPath = `${databaseUrl}${databaseUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
      for (const scheme of ['postgres://', 'postgresql://']) {
        const store = await openStore({ databaseUrl: withSearchPath.replace(/^postgres(ql)?:\/\//, scheme), dataDir: '/nonexistent' });
        try {
          expect(store.dialect).toBe('postgres');
          await store.ping();
          await store.read.tokens.create({ id: scheme, name: scheme, role: 'viewer', hash: scheme });
        } finally {
          await store.close();
        }
      }
      const check = await openPostgresStore({ url: databaseUrl, schema });
      try {
        expect((await check.read.tokens.list()).map((token) => token.name)).toEqual(['postgres://', 'postgresql://']);
      } finally {
        await check.close();
      }
    });
  });
}
