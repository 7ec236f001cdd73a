/**
 * The builtin provider's encryption at rest: what reaches the database file is ciphertext only,
 * tampering is detected, a wrong master key says so, and a rotation re-seals under the new key.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BuiltinSecretProvider, keyring, MasterKey, SEAL_ALGORITHM } from '../../src/adapters/secrets/index.js';
import { openPostgresStore } from '../../src/adapters/store/postgres.js';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import { SecretProviderError } from '../../src/ports/secret-provider.js';
import type { Store } from '../../src/ports/store.js';

const PLAINTEXT = 'Pl41ntext-That-Must-Never-Be-Stored';
const newRing = () => keyring(new MasterKey(randomBytes(32)));

/** Forms of the value a careless implementation might store. */
const storedForms = (value: string) => [value, Buffer.from(value).toString('base64'), Buffer.from(value).toString('hex'), Buffer.from(value, 'utf16le').toString('latin1')];

let dir: string;
let store: Store | null = null;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rg-builtin-secrets-'));
});
afterEach(async () => {
  await store?.close();
  store = null;
  rmSync(dir, { recursive: true, force: true });
});

const file = () => path.join(dir, 'rollgate.db');
const raw = (work: (db: BetterSqlite3.Database) => void) => {
  const db = new BetterSqlite3(file());
  try {
    work(db);
  } finally {
    db.close();
  }
};

describe('builtin secret provider on SQLite', () => {
  it('never writes the plaintext to the database file (or its WAL), only AES-256-GCM ciphertext', async () => {
    const ring = newRing();
    store = await openSqliteStore({ file: file() });
    const provider = new BuiltinSecretProvider({ store, keyring: ring });
    await provider.put('db', { password: PLAINTEXT, user: 'app-user' });
    await provider.put('db', { password: PLAINTEXT, user: 'app-user' });
    expect(await provider.resolve({ name: 'db', key: 'password' })).toBe(PLAINTEXT);

    // While open (WAL not yet checkpointed) and after closing.
    const scan = () => {
      for (const entry of readdirSync(dir)) {
        const bytes = readFileSync(path.join(dir, entry)).toString('latin1');
        for (const form of storedForms(PLAINTEXT)) expect(bytes.includes(form), `${entry} holds ${form}`).toBe(false);
      }
    };
    scan();
    await store.close();
    store = null;
    scan();

    raw((db) => {
      const rows = db.prepare('select * from secrets order by key').all() as Array<Record<string, string>>;
      expect(rows.map((row) => [row.name, row.key, row.key_id, row.algorithm])).toEqual([
        ['db', 'password', ring.primary.id, SEAL_ALGORITHM],
        ['db', 'user', ring.primary.id, SEAL_ALGORITHM],
      ]);
      const row = rows[0]!;
      expect(Buffer.from(row.iv!, 'base64')).toHaveLength(12);
      expect(Buffer.from(row.tag!, 'base64')).toHaveLength(16);
      expect(Buffer.from(row.ciphertext!, 'base64')).toHaveLength(Buffer.byteLength(PLAINTEXT));
    });
  });

  it('uses a fresh nonce for every write, so equal values never look equal', async () => {
    store = await openSqliteStore({ file: file() });
    const provider = new BuiltinSecretProvider({ store, keyring: newRing() });
    await provider.put('a', { k: PLAINTEXT });
    await provider.put('b', { k: PLAINTEXT });
    const first = await store.read.secrets.get('a', 'k');
    await provider.put('a', { k: PLAINTEXT });
    const again = await store.read.secrets.get('a', 'k');
    const other = await store.read.secrets.get('b', 'k');
    expect(new Set([first!.iv, again!.iv, other!.iv]).size).toBe(3);
    expect(new Set([first!.ciphertext, again!.ciphertext, other!.ciphertext]).size).toBe(3);
  });

  it('detects tampering: a changed ciphertext, nonce or tag, or a value moved to another name or key, fails to open', async () => {
    const ring = newRing();
    store = await openSqliteStore({ file: file() });
    const provider = new BuiltinSecretProvider({ store, keyring: ring });
    await provider.put('db', { password: PLAINTEXT, other: 'a-different-value' });
    await provider.put('api', { token: 'token-value-xyz' });
    await store.close();
    store = null;

    const flip = (base64: string) => {
      const bytes = Buffer.from(base64, 'base64');
      bytes[0] = bytes[0]! ^ 0x01;
      return bytes.toString('base64');
    };
    raw((db) => {
      const row = db.prepare("select * from secrets where name = 'db' and key = 'password'").get() as Record<string, string>;
      db.prepare("update secrets set ciphertext = ? where name = 'db' and key = 'password'").run(flip(row.ciphertext!));
      db.prepare("update secrets set tag = ? where name = 'db' and key = 'other'").run(flip((db.prepare("select tag from secrets where name = 'db' and key = 'other'").get() as { tag: string }).tag));
      // The api token's sealed fields copied onto a new key: authentic bytes, wrong place.
      db.prepare("insert into secrets (name, key, key_id, algorithm, iv, ciphertext, tag, created_at, updated_at) select 'db', 'moved', key_id, algorithm, iv, ciphertext, tag, created_at, updated_at from secrets where name = 'api'").run();
      db.prepare("insert into secrets (name, key, key_id, algorithm, iv, ciphertext, tag, created_at, updated_at) select 'db', 'badiv', key_id, algorithm, 'AAAA', ciphertext, tag, created_at, updated_at from secrets where name = 'api'").run();
    });

    store = await openSqliteStore({ file: file() });
    const reopened = new BuiltinSecretProvider({ store, keyring: ring });
    for (const [key, pattern] of [
      ['password', /secret db\/password failed its integrity check: the stored ciphertext was altered, or belongs to another secret or key/],
      ['other', /secret db\/other failed its integrity check/],
      ['moved', /secret db\/moved failed its integrity check/],
      ['badiv', /secret db\/badiv failed its integrity check: its stored nonce or tag is malformed/],
    ] as const) {
      const error = await reopened.resolve({ name: 'db', key }).catch((caught: unknown) => caught);
      expect(error, key).toBeInstanceOf(SecretProviderError);
      expect((error as Error).message).toMatch(pattern);
      expect((error as Error).message).not.toContain(PLAINTEXT);
      expect((error as Error).cause).toBeUndefined();
    }
    expect(await reopened.resolve({ name: 'api', key: 'token' })).toBe('token-value-xyz');
  });

  it('says which master key sealed a value when the server has another one', async () => {
    const ring = newRing();
    store = await openSqliteStore({ file: file() });
    await new BuiltinSecretProvider({ store, keyring: ring }).put('db', { password: PLAINTEXT });
    const other = newRing();
    const error = await new BuiltinSecretProvider({ store, keyring: other }).resolve({ name: 'db', key: 'password' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SecretProviderError);
    expect((error as Error).message).toBe(
      `secret db/password was sealed with master key ${ring.primary.id}, which this server does not have (it has ${other.primary.id}); start it with the key that sealed it (ROLLGATE_MASTER_KEY, or the master.key file of the data directory it was written with)`,
    );
  });

  it('rotation: the previous key still opens old values, and reseal() moves them all to the new key', async () => {
    const oldKey = new MasterKey(randomBytes(32));
    const newKey = new MasterKey(randomBytes(32));
    store = await openSqliteStore({ file: file() });
    const before = new BuiltinSecretProvider({ store, keyring: keyring(oldKey) });
    await before.put('db', { password: PLAINTEXT, user: 'app' });
    await before.put('api', { token: 'token-value-xyz' });

    const during = new BuiltinSecretProvider({ store, keyring: keyring(newKey, [oldKey]) });
    expect(await during.resolve({ name: 'db', key: 'password' })).toBe(PLAINTEXT);
    await during.put('fresh', { k: 'sealed-with-the-new-key' });
    expect(await during.reseal()).toBe(3);
    expect(await during.reseal()).toBe(0);
    expect(new Set((await store.read.secrets.list()).map((row) => row.keyId))).toEqual(new Set([newKey.id]));

    // A value sealed with a key this keyring does not hold is left alone, not an error.
    const stranger = new MasterKey(randomBytes(32));
    await new BuiltinSecretProvider({ store, keyring: keyring(stranger) }).put('foreign', { k: 'sealed-elsewhere' });
    expect(await during.reseal()).toBe(0);
    expect((await store.read.secrets.get('foreign', 'k'))!.keyId).toBe(stranger.id);
    await store.transaction((stores) => stores.secrets.delete('foreign'));

    const after = new BuiltinSecretProvider({ store, keyring: keyring(newKey) });
    expect(await after.resolve({ name: 'db', key: 'password' })).toBe(PLAINTEXT);
    expect(await after.resolve({ name: 'api', key: 'token' })).toBe('token-value-xyz');
    expect(await after.resolve({ name: 'fresh', key: 'k' })).toBe('sealed-with-the-new-key');
  });

  it('merge with null removes single keys; the secret goes with its last key', async () => {
    store = await openSqliteStore({ file: ':memory:' });
    const provider = new BuiltinSecretProvider({ store, keyring: newRing() });
    await provider.put('db', { user: 'app', password: 'pw-value' });
    const info = await store.transaction((stores) => provider.putIn(stores, 'db', { user: null, extra: 'extra-value' }, 'merge'));
    expect(info.keys).toEqual(['extra', 'password']);
    const empty = await store.transaction((stores) => provider.putIn(stores, 'db', { extra: null, password: null }, 'merge'));
    expect(empty).toEqual({ name: 'db', keys: [], updatedAt: null });
    expect(await provider.list()).toEqual([]);
  });
});

const url = process.env.ROLLGATE_TEST_DATABASE_URL;
describe.skipIf(!url)('builtin secret provider on PostgreSQL (skipped without ROLLGATE_TEST_DATABASE_URL)', () => {
  it('stores only ciphertext in the secrets table', async () => {
    const schema = `rg_secrets_raw_${randomBytes(6).toString('hex')}`;
    store = await openPostgresStore({ url: url!, schema });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await new BuiltinSecretProvider({ store, keyring: newRing() }).put('db', { password: PLAINTEXT });
      const { rows } = await admin.query(`select * from "${schema}".secrets`);
      expect(rows).toHaveLength(1);
      const text = JSON.stringify(rows);
      for (const form of storedForms(PLAINTEXT)) expect(text).not.toContain(form);
    } finally {
      await admin.query(`drop schema if exists "${schema}" cascade`);
      await admin.end();
    }
  });
});
