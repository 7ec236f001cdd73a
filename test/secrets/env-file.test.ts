import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnvSecretProvider, envVariableFor, FileSecretProvider, openSecretProvider } from '../../src/adapters/secrets/index.js';
import { SecretProviderError } from '../../src/ports/secret-provider.js';

describe('env provider', () => {
  it('maps {name, key} to NAME_KEY: upper case, other characters as "_", with an optional prefix', () => {
    expect(envVariableFor({ name: 'db', key: 'password' })).toBe('DB_PASSWORD');
    expect(envVariableFor({ name: 'payments-api', key: 'token.live' })).toBe('PAYMENTS_API_TOKEN_LIVE');
    expect(envVariableFor({ name: 'db', key: 'password' }, 'RG_SECRET_')).toBe('RG_SECRET_DB_PASSWORD');
  });

  it('resolves from the given environment (read at each call), and null for an unset variable', async () => {
    const env: Record<string, string | undefined> = { DB_PASSWORD: 'from-env' };
    const provider = new EnvSecretProvider({ env });
    expect(await provider.resolve({ name: 'db', key: 'password' })).toBe('from-env');
    env.DB_PASSWORD = 'rotated';
    expect(await provider.resolve({ name: 'db', key: 'password' })).toBe('rotated');
    expect(await provider.resolve({ name: 'db', key: 'user' })).toBeNull();
    expect(await provider.list()).toBeNull();
    expect(provider.capabilities).toEqual({ write: false, list: false });
  });

  it("never hands out Rollgate's own variables (master key, database URL, tokens)", async () => {
    const env = { ROLLGATE_MASTER_KEY: 'k', ROLLGATE_DATABASE_URL: 'postgres://u:p@h/db', ROLLGATE_TOKEN: 'rg_x' };
    const provider = new EnvSecretProvider({ env });
    expect(await provider.resolve({ name: 'rollgate', key: 'master-key' })).toBeNull();
    expect(await provider.resolve({ name: 'rollgate', key: 'database.url' })).toBeNull();
    expect(await provider.resolve({ name: 'rollgate', key: 'token' })).toBeNull();
  });

  it('with a prefix, reaches only variables under it (a ROLLGATE_ prefix is allowed)', async () => {
    const env = { DB_PASSWORD: 'unprefixed', RG_SECRET_DB_PASSWORD: 'prefixed', ROLLGATE_SECRET_DB_PASSWORD: 'rollgate-prefixed' };
    expect(await new EnvSecretProvider({ env, prefix: 'RG_SECRET_' }).resolve({ name: 'db', key: 'password' })).toBe('prefixed');
    expect(await new EnvSecretProvider({ env, prefix: 'ROLLGATE_SECRET_' }).resolve({ name: 'db', key: 'password' })).toBe('rollgate-prefixed');
    expect(() => new EnvSecretProvider({ env, prefix: 'BAD-PREFIX' })).toThrow(/invalid environment secret prefix/);
  });
});

describe('file provider', () => {
  let root: string;
  let dir: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'rg-file-provider-'));
    dir = path.join(root, 'secrets');
    mkdirSync(dir);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('reads <dir>/<name>/<key>, dropping one trailing newline unless told to keep it', async () => {
    mkdirSync(path.join(dir, 'db'));
    writeFileSync(path.join(dir, 'db', 'password'), 'from-file\n');
    writeFileSync(path.join(dir, 'db', 'crlf'), 'windows\r\n');
    writeFileSync(path.join(dir, 'db', 'two'), 'two\n\n');
    const provider = new FileSecretProvider({ dir });
    expect(await provider.resolve({ name: 'db', key: 'password' })).toBe('from-file');
    expect(await provider.resolve({ name: 'db', key: 'crlf' })).toBe('windows');
    expect(await provider.resolve({ name: 'db', key: 'two' })).toBe('two\n');
    expect(await new FileSecretProvider({ dir, keepTrailingNewline: true }).resolve({ name: 'db', key: 'password' })).toBe('from-file\n');
  });

  it('reads a Kubernetes secret volume (keys are links into ..data/) and lists it without the bookkeeping entries', async () => {
    // What the kubelet writes: ..2024_01_01/ holds the files, ..data links to it, each key links into ..data.
    const volume = path.join(dir, 'db');
    mkdirSync(path.join(volume, '..2024_01_01_00_00_00.1'), { recursive: true });
    writeFileSync(path.join(volume, '..2024_01_01_00_00_00.1', 'password'), 'k8s-value');
    writeFileSync(path.join(volume, '..2024_01_01_00_00_00.1', 'username'), 'k8s-user');
    symlinkSync('..2024_01_01_00_00_00.1', path.join(volume, '..data'));
    symlinkSync('..data/password', path.join(volume, 'password'));
    symlinkSync('..data/username', path.join(volume, 'username'));
    const provider = new FileSecretProvider({ dir });
    expect(await provider.resolve({ name: 'db', key: 'password' })).toBe('k8s-value');
    expect(await provider.resolve({ name: 'db', key: '..data' })).toBeNull();
    expect((await provider.list()).map((info) => [info.name, info.keys])).toEqual([['db', ['password', 'username']]]);

    // The kubelet's atomic update: a new timestamped dir, ..data swapped. The next resolve sees it.
    mkdirSync(path.join(volume, '..2024_02_01_00_00_00.1'));
    writeFileSync(path.join(volume, '..2024_02_01_00_00_00.1', 'password'), 'rotated-value');
    writeFileSync(path.join(volume, '..2024_02_01_00_00_00.1', 'username'), 'k8s-user');
    symlinkSync('..2024_02_01_00_00_00.1', path.join(volume, '..data_tmp'));
    renameSync(path.join(volume, '..data_tmp'), path.join(volume, '..data'));
    expect(await provider.resolve({ name: 'db', key: 'password' })).toBe('rotated-value');
  });

  it('refuses a key file that links outside the secrets directory', async () => {
    writeFileSync(path.join(root, 'outside'), 'outside-value');
    mkdirSync(path.join(dir, 'db'));
    symlinkSync(path.join(root, 'outside'), path.join(dir, 'db', 'password'));
    const error = await new FileSecretProvider({ dir }).resolve({ name: 'db', key: 'password' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SecretProviderError);
    expect((error as Error).message).toMatch(/links outside the secrets directory/);
    expect((error as Error).message).not.toContain('outside-value');
  });

  it('returns null for a directory where a key file should be, and for a missing secrets directory', async () => {
    mkdirSync(path.join(dir, 'db', 'password'), { recursive: true });
    expect(await new FileSecretProvider({ dir }).resolve({ name: 'db', key: 'password' })).toBeNull();
    const missing = new FileSecretProvider({ dir: path.join(root, 'nope') });
    expect(await missing.resolve({ name: 'db', key: 'password' })).toBeNull();
    expect(await missing.list()).toEqual([]);
  });
});

describe('openSecretProvider', () => {
  it('builds the configured provider and says what it is without any key material', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'rg-open-provider-'));
    try {
      const fakeStore = {} as never;
      const builtin = openSecretProvider({ store: fakeStore, dataDir: root, env: {} });
      expect(builtin.kind).toBe('builtin');
      expect(builtin.describe).toEqual({ provider: 'builtin', masterKey: expect.stringMatching(/^[0-9a-f]{16}$/), masterKeySource: path.join(root, 'master.key') });
      expect(openSecretProvider({ kind: 'env', store: fakeStore, dataDir: root, env: {}, envPrefix: 'RG_' }).describe).toEqual({ provider: 'env', prefix: 'RG_' });
      expect(await openSecretProvider({ kind: 'env', store: fakeStore, dataDir: root, env: {} }).reseal()).toBe(0);
      // Without previous keys there is nothing to re-seal, and the store is not even asked.
      expect(await builtin.reseal()).toBe(0);
      expect(() => openSecretProvider({ kind: 'file', store: fakeStore, dataDir: root })).toThrow(/needs a directory/);
      expect(openSecretProvider({ kind: 'file', store: fakeStore, dataDir: root, dir: root }).provider.capabilities).toEqual({ write: false, list: true });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
