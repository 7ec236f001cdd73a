/**
 * `rollgate secret set|unset|list|delete` against the real app (in-process, through the CLI's
 * injectable fetch): values reach the provider, and no output of the CLI ever holds one.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BuiltinSecretProvider, ephemeralKeyring } from '../../src/adapters/secrets/index.js';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import { main } from '../../src/cli/main.js';
import type { Store } from '../../src/ports/store.js';
import { createApp } from '../../src/server/app.js';
import { createLogger } from '../../src/server/logger.js';
import { createTokenService } from '../../src/server/tokens/service.js';

const SERVER = 'http://rollgate.test';
const VALUE = 'cli-secret-value-4b3a';

let store: Store;
let provider: BuiltinSecretProvider;
let app: ReturnType<typeof createApp>;
let adminToken: string;
let dir: string;
/** Everything the CLI printed in this test, to check no value ever appears. */
let printed = '';

beforeEach(async () => {
  store = await openSqliteStore({ file: ':memory:' });
  adminToken = (await store.transaction((stores) => createTokenService({ now: () => new Date() }).ensureAdminToken(stores)))!;
  provider = new BuiltinSecretProvider({ store, keyring: ephemeralKeyring() });
  app = createApp({ store, logger: createLogger({ level: 'silent' }), secrets: { provider, kind: 'builtin' } });
  dir = mkdtempSync(path.join(tmpdir(), 'rg-secret-cli-'));
  printed = '';
});
afterEach(async () => {
  expect(printed).not.toContain(VALUE);
  rmSync(dir, { recursive: true, force: true });
  await store.close();
});

async function rollgate(args: string[], stdin: string | null = null, token = adminToken) {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'rollgate', ...args, '--server', SERVER, '--token', token], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from(stdin === null ? [] : [Buffer.from(stdin)]),
    env: {},
    cwd: dir,
    fetch: async (input, init) => app.fetch(new Request(input, init)),
  });
  printed += stdout + stderr;
  return { code, stdout, stderr };
}

const resolve = (name: string, key: string) => provider.resolve({ name, key });

describe('rollgate secret', () => {
  it('set: KEY=VALUE, KEY=- (stdin, one trailing newline dropped) and --from-file (byte for byte)', async () => {
    writeFileSync(path.join(dir, 'tls.key'), `-----BEGIN KEY-----\n${VALUE}\n-----END KEY-----\n`);
    const run = await rollgate(['secret', 'set', 'db', 'user=app', 'password=-', '--from-file', 'tls=tls.key'], `${VALUE}\n`);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('secret/db set (keys: password, tls, user)\n');
    expect(await resolve('db', 'password')).toBe(VALUE);
    expect(await resolve('db', 'user')).toBe('app');
    expect(await resolve('db', 'tls')).toBe(`-----BEGIN KEY-----\n${VALUE}\n-----END KEY-----\n`);
  });

  it('set replaces the secret; --merge keeps the other keys; unset removes keys', async () => {
    expect((await rollgate(['secret', 'set', 'db', 'user=app', `password=${VALUE}`])).code).toBe(0);
    const merged = await rollgate(['secret', 'set', 'db', '--merge', 'password=-'], `${VALUE}-rotated`);
    expect(merged.stdout).toBe('secret/db updated (keys: password, user)\n');
    expect(await resolve('db', 'password')).toBe(`${VALUE}-rotated`);
    expect(await resolve('db', 'user')).toBe('app');
    expect((await rollgate(['secret', 'set', 'db', 'user=other'])).stdout).toBe('secret/db set (keys: user)\n');
    expect(await resolve('db', 'password')).toBeNull();
    expect((await rollgate(['secret', 'unset', 'db', 'user'])).stdout).toBe('secret/db has no keys left and no longer exists\n');
  });

  it('list shows names, keys and age as a table or JSON; delete removes (and says when there is nothing)', async () => {
    expect((await rollgate(['secret', 'list'])).stderr).toBe('No secrets found (provider: builtin).\n');
    await rollgate(['secret', 'set', 'db', `password=${VALUE}`, 'user=app']);
    await rollgate(['secret', 'set', 'api', `token=${VALUE}`]);
    const table = await rollgate(['secret', 'list']);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+KEYS\s+UPDATED$/);
    expect(lines[1]).toMatch(/^api\s+token\s+\d+s$/);
    expect(lines[2]).toMatch(/^db\s+password, user\s+\d+s$/);
    const json = JSON.parse((await rollgate(['secret', 'list', '-o', 'json'])).stdout) as Array<{ name: string; keys: string[] }>;
    expect(json.map((item) => [item.name, item.keys])).toEqual([
      ['api', ['token']],
      ['db', ['password', 'user']],
    ]);
    expect((await rollgate(['secret', 'delete', 'db'])).stdout).toBe('secret/db deleted (keys: password, user)\n');
    const missing = await rollgate(['secret', 'delete', 'db']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/secret "db" not found/);
  });

  it('refuses mistakes as usage errors (exit 2) without echoing a value', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['secret', 'set', 'db'], /give at least one KEY=VALUE/],
      [['secret', 'set', 'db', VALUE], /argument 2 is not KEY=VALUE/],
      [['secret', 'set', 'db', `bad/key=${VALUE}`], /argument 2: key "bad\/key" must be letters/],
      [['secret', 'set', 'db', `a=${VALUE}`, `a=${VALUE}`], /key "a" is given more than once/],
      [['secret', 'set', 'db', 'a=-', 'b=-'], /only one key can be read from stdin/],
      [['secret', 'set', 'Bad_Name', `a=${VALUE}`], /NAME "Bad_Name"/],
      [['secret', 'set', 'db', '--from-file', 'a=missing.txt'], /--from-file a=missing.txt: no such file/],
    ];
    for (const [args, message] of cases) {
      const run = await rollgate(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
    }
    writeFileSync(path.join(dir, 'binary'), Buffer.from([0xff, 0xfe, 0x00, 0x80]));
    expect((await rollgate(['secret', 'set', 'db', '--from-file', 'a=binary'])).stderr).toMatch(/not UTF-8 text/);
    expect(await provider.list()).toEqual([]);
  });

  it('needs an admin token', async () => {
    const created = await app.request('/api/v1/tokens', {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ci', role: 'deployer' }),
    });
    const deployer = ((await created.json()) as { token: string }).token;
    const run = await rollgate(['secret', 'set', 'db', `password=${VALUE}`], null, deployer);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/requires role "admin"/);
  });
});
