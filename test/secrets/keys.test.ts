import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadMasterKeyring, MASTER_KEY_FILE, MasterKey, MasterKeyError, parseMasterKey } from '../../src/adapters/secrets/keys.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rg-master-key-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('master key file', () => {
  it('is created on first start with mode 0600 and 32 random bytes, and reused afterwards', () => {
    const first = loadMasterKeyring({ dataDir: dir, env: {} });
    const file = path.join(dir, MASTER_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')).toHaveLength(32);
    expect(first.source).toBe(file);
    const second = loadMasterKeyring({ dataDir: dir, env: {} });
    expect(second.primary.id).toBe(first.primary.id);
    expect(second.primary.bytes().equals(first.primary.bytes())).toBe(true);
  });

  it('is created in a data directory that does not exist yet', () => {
    const nested = path.join(dir, 'a', 'b');
    loadMasterKeyring({ dataDir: nested, env: {} });
    expect(statSync(path.join(nested, MASTER_KEY_FILE)).mode & 0o777).toBe(0o600);
  });

  it('is refused, with a clear error, when every user can read it', () => {
    loadMasterKeyring({ dataDir: dir, env: {} });
    const file = path.join(dir, MASTER_KEY_FILE);
    chmodSync(file, 0o644);
    expect(() => loadMasterKeyring({ dataDir: dir, env: {} })).toThrow(MasterKeyError);
    expect(() => loadMasterKeyring({ dataDir: dir, env: {} })).toThrow(`the master key file ${file} is accessible to every user (mode 0644); anyone who reads it can decrypt every secret. Run: chmod 600 ${file}`);
    chmodSync(file, 0o606);
    expect(() => loadMasterKeyring({ dataDir: dir, env: {} })).toThrow(/accessible to every user/);
    chmodSync(file, 0o400);
    expect(() => loadMasterKeyring({ dataDir: dir, env: {} })).not.toThrow();
  });

  it('is refused when it is a symbolic link or holds something that is not a key', () => {
    const real = path.join(dir, 'elsewhere.key');
    writeFileSync(real, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    symlinkSync(real, path.join(dir, MASTER_KEY_FILE));
    expect(() => loadMasterKeyring({ dataDir: dir, env: {} })).toThrow(/is a symbolic link/);
    rmSync(path.join(dir, MASTER_KEY_FILE));
    writeFileSync(path.join(dir, MASTER_KEY_FILE), 'not-a-key\n', { mode: 0o600 });
    expect(() => loadMasterKeyring({ dataDir: dir, env: {} })).toThrow(/is not a master key: expected 32 bytes/);
  });

  it('is not created when ROLLGATE_MASTER_KEY is set', () => {
    const key = randomBytes(32);
    const ring = loadMasterKeyring({ dataDir: dir, env: { ROLLGATE_MASTER_KEY: key.toString('base64') } });
    expect(ring.source).toBe('ROLLGATE_MASTER_KEY');
    expect(ring.primary.bytes().equals(key)).toBe(true);
    expect(() => statSync(path.join(dir, MASTER_KEY_FILE))).toThrow();
  });

  it('two processes starting together agree on one key', async () => {
    const { fork } = await import('node:child_process');
    const script = path.join(dir, 'load.mjs');
    const module = path.resolve('src/adapters/secrets/keys.ts');
    writeFileSync(script, `const { loadMasterKeyring } = await import(${JSON.stringify(module)}); process.send(loadMasterKeyring({ dataDir: process.argv[2], env: {} }).primary.id);`);
    const ids = await Promise.all(
      Array.from({ length: 4 }, () =>
        new Promise<string>((resolve, reject) => {
          const child = fork(script, [path.join(dir, 'shared')], { execArgv: ['--import', 'tsx'] });
          child.once('message', (id) => resolve(String(id)));
          child.once('error', reject);
          child.once('exit', (code) => code !== 0 && reject(new Error(`exit ${code}`)));
        }),
      ),
    );
    expect(new Set(ids).size).toBe(1);
  });
});

describe('ROLLGATE_MASTER_KEY', () => {
  const bytes = randomBytes(32);

  it('accepts base64, base64url and 64 hex digits for the same key', () => {
    const ids = [bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex'), ` ${bytes.toString('hex').toUpperCase()}\n`].map(
      (text) => parseMasterKey(text, 'ROLLGATE_MASTER_KEY').id,
    );
    expect(new Set(ids).size).toBe(1);
  });

  it('refuses a key of the wrong length without repeating it', () => {
    const short = randomBytes(16).toString('base64');
    const error = (() => {
      try {
        loadMasterKeyring({ dataDir: dir, env: { ROLLGATE_MASTER_KEY: short } });
      } catch (caught) {
        return caught as Error;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(MasterKeyError);
    expect(error!.message).toMatch(/^ROLLGATE_MASTER_KEY is not a master key/);
    expect(error!.message).not.toContain(short);
  });

  it('keeps previous keys (ROLLGATE_MASTER_KEY_PREVIOUS) for decryption, primary first, without duplicates', () => {
    const old = randomBytes(32);
    const ring = loadMasterKeyring({
      dataDir: dir,
      env: { ROLLGATE_MASTER_KEY: bytes.toString('base64'), ROLLGATE_MASTER_KEY_PREVIOUS: `${old.toString('hex')}, ${bytes.toString('hex')}` },
    });
    expect(ring.keys.map((key) => key.id)).toEqual([new MasterKey(bytes).id, new MasterKey(old).id]);
  });
});

describe('MasterKey', () => {
  it('never prints or serialises its key material', () => {
    const bytes = randomBytes(32);
    const key = new MasterKey(bytes);
    const shown = [String(key), JSON.stringify({ key }), inspect(key), inspect({ nested: key }), `${key}`].join(' ');
    expect(shown).toContain(key.id);
    for (const form of [bytes.toString('base64'), bytes.toString('hex')]) expect(shown).not.toContain(form);
    expect(key.id).toMatch(/^[0-9a-f]{16}$/);
  });
});
