import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/adapters/store/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openStore', () => {
  it('defaults to SQLite in the data directory', async () => {
    const store = await openStore({ dataDir: path.join(dir, 'data') });
    expect(store.dialect).toBe('sqlite');
    await store.close();
    expect(existsSync(path.join(dir, 'data', 'rollgate.db'))).toBe(true);
  });

  it('takes a sqlite: URL', async () => {
    const store = await openStore({ dataDir: dir, databaseUrl: `sqlite:${path.join(dir, 'other.db')}` });
    await store.close();
    expect(existsSync(path.join(dir, 'other.db'))).toBe(true);
  });

  it('refuses an unknown scheme without echoing credentials', async () => {
    await expect(openStore({ dataDir: dir, databaseUrl: 'mysql://root:hunter2@db/x' })).rejects.toThrow(/must start with postgres:\/\/.*\*\*\*@db/);
  });
});
