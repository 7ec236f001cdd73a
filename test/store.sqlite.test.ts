import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { Kysely, SqliteDialect } from 'kysely';
import { verifyChain } from '../src/core/audit/chain.js';
import { MIGRATIONS, migrateToLatest, openSqliteStore, openStore } from '../src/adapters/store/index.js';
import { describeStoreContract } from './contract/store-contract.js';

const execFileAsync = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), 'rollgate-sqlite-'));
let counter = 0;
/** A path in a directory that does not exist yet, so every open also proves the directory is created. */
const freshFile = () => join(root, `db-${(counter += 1)}`, 'nested', 'store.db');

afterAll(() => rmSync(root, { recursive: true, force: true }));

describeStoreContract('sqlite (file)', () => openSqliteStore({ file: freshFile() }));
describeStoreContract('sqlite (:memory:)', () => openSqliteStore({ file: ':memory:' }));

describe('SQLite store files', () => {
  it('keeps objects, audit, tokens and leases across close and reopen', async () => {
    const file = freshFile();
    const first = await openSqliteStore({ file });
    const created = await first.transaction(async (s) => {
      const object = await s.objects.create({ kind: 'Service', name: 'checkout', labels: { tier: 'web' }, spec: { port: 8080 } });
      await s.audit.append({ time: '2025-01-01T00:00:00.000Z', actor: 'alice', action: 'create', kind: 'Service', name: 'checkout', beforeDigest: null, afterDigest: 'sha256:x' });
      return object;
    });
    await first.read.tokens.create({ id: 't1', name: 'ci', role: 'admin', hash: 'h' });
    const lease = await first.read.leases.acquire('controller', 'a', 60_000, new Date('2030-01-01T00:00:00.000Z'));
    await first.close();

    const second = await openSqliteStore({ file });
    try {
      expect(await second.read.objects.get('Service', 'checkout')).toEqual(created);
      expect((await second.read.objects.list('Service', { labels: { tier: 'web' } })).items).toHaveLength(1);
      expect(verifyChain(await second.read.audit.list())).toMatchObject({ ok: true, checked: 1 });
      expect((await second.read.audit.append({ time: 't', actor: 'a', action: 'b', kind: 'c', name: 'd', beforeDigest: null, afterDigest: null })).seq).toBe(2);
      expect((await second.read.tokens.findByHash('h'))?.name).toBe('ci');
      expect(await second.read.leases.get('controller')).toEqual(lease);
    } finally {
      await second.close();
    }
  });

  it('upgrades a database created before 0002_token_users: existing tokens keep working and belong to no user', async () => {
    const file = freshFile();
    mkdirSync(dirname(file), { recursive: true });
    const old = new Kysely<any>({ dialect: new SqliteDialect({ database: new BetterSqlite3(file) }) });
    await migrateToLatest(old, 'sqlite', { migrations: MIGRATIONS.filter((migration) => migration.name < '0002') });
    await old.insertInto('tokens').values({ id: 't1', name: 'ci', role: 'deployer', hash: 'h', created_at: '2025-01-01T00:00:00.000Z', revoked_at: null }).execute();
    await old.destroy();

    const store = await openSqliteStore({ file });
    try {
      expect(await store.read.tokens.findByHash('h')).toMatchObject({ name: 'ci', role: 'deployer', user: null });
      expect((await store.read.tokens.create({ id: 't2', name: 'alice', role: 'viewer', hash: 'h2', user: 'alice' })).user).toBe('alice');
    } finally {
      await store.close();
    }
    const raw = new BetterSqlite3(file, { readonly: true });
    try {
      expect(raw.prepare('select name from kysely_migration order by name').pluck().all()).toEqual(MIGRATIONS.map((migration) => migration.name));
    } finally {
      raw.close();
    }
  });

  it('puts a file database in WAL mode', async () => {
    const file = freshFile();
    const store = await openSqliteStore({ file });
    await store.close();
    const raw = new BetterSqlite3(file, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      raw.close();
    }
  });

  it('keeps migrations and the audit chain intact with several processes writing one file', { timeout: 60_000 }, async () => {
    // Separate processes, not two connections in this one: better-sqlite3 waits for a lock
    // synchronously, so a second in-process connection would block the very holder it waits for.
    const file = freshFile();
    const storeModule = fileURLToPath(new URL('../src/adapters/store/sqlite.ts', import.meta.url));
    const writer = `
      const [moduleUrl, file, id] = process.argv.slice(1);
      const { openSqliteStore } = await import(moduleUrl);
      const store = await openSqliteStore({ file });
      for (let i = 0; i < 15; i += 1) {
        await store.transaction(async (s) => {
          await s.objects.create({ kind: 'Service', name: 'p' + id + '-' + i, spec: {} });
          await s.audit.append({ time: new Date().toISOString(), actor: 'p' + id, action: 'create', kind: 'Service', name: 'p' + id + '-' + i, beforeDigest: null, afterDigest: null });
        });
      }
      await store.close();
    `;
    await Promise.all(
      ['1', '2', '3'].map((id) =>
        execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', writer, pathToFileURL(storeModule).href, file, id], { timeout: 50_000 }),
      ),
    );

    const store = await openSqliteStore({ file });
    try {
      const events = await store.read.audit.list({ limit: 1000 });
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 45 }, (_, i) => i + 1));
      expect(new Set(events.map((e) => e.actor))).toEqual(new Set(['p1', 'p2', 'p3']));
      expect(verifyChain(events)).toMatchObject({ ok: true, checked: 45 });
      expect((await store.read.objects.list('Service', { limit: 1000 })).items).toHaveLength(45);
    } finally {
      await store.close();
    }
  });

  it('openStore uses SQLite at <dataDir>/rollgate.db when no PostgreSQL URL is given', async () => {
    const dataDir = join(root, `data-${(counter += 1)}`);
    for (const databaseUrl of [undefined, '']) {
      const store = await openStore({ dataDir, ...(databaseUrl === undefined ? {} : { databaseUrl }) });
      expect(store.dialect).toBe('sqlite');
      await store.close();
    }
    const raw = new BetterSqlite3(join(dataDir, 'rollgate.db'), { readonly: true });
    try {
      const tables = raw.prepare("select name from sqlite_master where type = 'table' order by name").pluck().all();
      expect(tables).toEqual(expect.arrayContaining(['audit_events', 'leases', 'objects', 'tokens']));
    } finally {
      raw.close();
    }
  });
});
