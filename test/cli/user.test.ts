/**
 * `rollgate user ...`, `rollgate whoami` and `rollgate token create --user` against the real app
 * (in-process, through the CLI's injectable fetch) on a fresh in-memory SQLite store.
 */
import { Readable } from 'node:stream';
import { parse } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import { main } from '../../src/cli/main.js';
import { createClient } from '../../src/client/index.js';
import type { Store } from '../../src/ports/store.js';
import { createApp } from '../../src/server/app.js';
import { createLogger } from '../../src/server/logger.js';
import { createTokenService } from '../../src/server/tokens/service.js';

const SERVER = 'http://rollgate.test';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let store: Store;
let app: ReturnType<typeof createApp>;
let adminToken: string;

beforeEach(async () => {
  store = await openSqliteStore({ file: ':memory:' });
  adminToken = (await store.transaction((stores) => createTokenService({ now: () => new Date() }).ensureAdminToken(stores)))!;
  app = createApp({ store, logger: createLogger({ level: 'silent' }) });
});
afterEach(() => store.close());

/** Runs `rollgate ...args` in-process as `token` (the admin token unless given). */
async function rollgateAs(token: string, ...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'rollgate', ...args, '--server', SERVER, '--token', token], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from([]),
    env: {},
    cwd: '/nonexistent',
    fetch: async (input, init) => app.fetch(new Request(input, init)),
  });
  return { code, stdout, stderr };
}
const rollgate = (...args: string[]) => rollgateAs(adminToken, ...args);

async function ok(...args: string[]): Promise<Run> {
  const run = await rollgate(...args);
  expect(run.code, run.stderr).toBe(0);
  return run;
}

describe('rollgate user create / list / show', () => {
  it('creates users and shows them as a table, a block, JSON and YAML', async () => {
    const created = await ok('user', 'create', 'alice', '--group', 'cab', '--group', 'release-managers', '--display-name', 'Alice Doe', '--email', 'alice@example.com');
    expect(created.stdout).toBe('user/alice created (groups: cab, release-managers)\n');
    await ok('user', 'create', 'bob');

    const list = await ok('user', 'list');
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+DISPLAY-NAME\s+EMAIL\s+GROUPS\s+AGE$/);
    expect(lines[1]).toMatch(/^alice\s+Alice Doe\s+alice@example\.com\s+cab,release-managers\s+\d+s$/);
    expect(lines[2]).toMatch(/^bob\s+-\s+-\s+-\s+\d+s$/);

    const json = JSON.parse((await ok('user', 'list', '-o', 'json')).stdout) as any[];
    expect(json.map((u) => [u.kind, u.metadata.name, u.spec.groups])).toEqual([
      ['User', 'alice', ['cab', 'release-managers']],
      ['User', 'bob', []],
    ]);

    const show = await ok('user', 'show', 'alice');
    expect(show.stdout).toContain('Name:          alice\n');
    expect(show.stdout).toContain('Display name:  Alice Doe\n');
    expect(show.stdout).toContain('Email:         alice@example.com\n');
    expect(show.stdout).toContain('Groups:        cab, release-managers\n');
    expect(parse((await ok('user', 'show', 'alice', '-o', 'yaml')).stdout)).toMatchObject({ kind: 'User', metadata: { name: 'alice', version: 1 }, spec: { displayName: 'Alice Doe' } });
  });

  it('names the flag of an invalid value (exit 2) and sends nothing', async () => {
    const badGroup = await rollgate('user', 'create', 'alice', '--group', 'cab', '--group', 'CAB');
    expect(badGroup.code).toBe(2);
    expect(badGroup.stderr).toMatch(/^error: --group "CAB": must be lowercase/);
    const badEmail = await rollgate('user', 'create', 'alice', '--email', 'not-an-email');
    expect(badEmail.code).toBe(2);
    expect(badEmail.stderr).toContain('--email "not-an-email":');
    const badName = await rollgate('user', 'create', 'Alice');
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('NAME "Alice":');
    expect((await store.read.objects.list('User')).items).toEqual([]);
  });

  it('refuses a second user of the same name (exit 3), a non-admin (exit 3), and shows a missing user as not found (exit 1)', async () => {
    await ok('user', 'create', 'alice');
    const again = await rollgate('user', 'create', 'alice');
    expect(again.code).toBe(3);
    expect(again.stderr).toContain('already exists');

    const viewer = JSON.parse((await ok('token', 'create', '--name', 'viewer', '--role', 'viewer', '-o', 'json')).stdout).token as string;
    const refused = await rollgateAs(viewer, 'user', 'create', 'bob');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('requires role "admin"');
    // Reading is open to viewers.
    expect((await rollgateAs(viewer, 'user', 'list')).code).toBe(0);

    const missing = await rollgate('user', 'show', 'ghost');
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toBe('error: user "ghost" not found\n');
  });

  it('says so when there are no users', async () => {
    expect(await rollgate('user', 'list')).toEqual({ code: 0, stdout: '', stderr: 'No users found.\n' });
  });
});

describe('rollgate user groups', () => {
  it('adds and removes groups, keeping the rest of the user, and lists every group without NAME', async () => {
    await ok('user', 'create', 'alice', '--group', 'cab', '--group', 'qa', '--display-name', 'Alice Doe');
    await ok('user', 'create', 'bob', '--group', 'cab');

    const changed = await ok('user', 'groups', 'alice', '--add', 'compliance', '--add', 'cab', '--remove', 'qa');
    expect(changed.stdout).toBe('user/alice groups: cab, compliance\n');
    const stored = await store.read.objects.get('User', 'alice');
    expect(stored).toMatchObject({ version: 2, spec: { displayName: 'Alice Doe', groups: ['cab', 'compliance'] } });

    // Removing a group the user is not in, or listing without changes, writes nothing.
    expect((await ok('user', 'groups', 'alice')).stdout).toBe('user/alice groups: cab, compliance\n');
    expect(JSON.parse((await ok('user', 'groups', 'bob', '--remove', 'cab', '-o', 'json')).stdout).spec.groups).toEqual([]);

    const all = await ok('user', 'groups');
    expect(all.stdout.trimEnd().split('\n')).toEqual([expect.stringMatching(/^GROUP\s+MEMBERS$/), expect.stringMatching(/^cab\s+alice$/), expect.stringMatching(/^compliance\s+alice$/)]);
    expect(JSON.parse((await ok('user', 'groups', '-o', 'json')).stdout)).toEqual([
      { name: 'cab', members: ['alice'] },
      { name: 'compliance', members: ['alice'] },
    ]);
  });

  it('merges with a concurrent change of the same user instead of overwriting it', async () => {
    await ok('user', 'create', 'alice', '--group', 'cab');
    let raced = false;
    const client = createClient({
      server: SERVER,
      token: adminToken,
      fetch: async (input, init) => {
        // Another admin adds `qa` between this client's read and its write.
        if (init?.method === 'PUT' && !raced) {
          raced = true;
          const current = (await store.read.objects.get('User', 'alice'))!;
          await store.read.objects.update('User', 'alice', current.version, { spec: { groups: ['cab', 'qa'] } });
        }
        return app.fetch(new Request(input, init));
      },
    });
    const updated = await client.users.setGroups('alice', (current) => [...current, 'compliance']);
    expect(raced).toBe(true);
    expect(updated.spec.groups).toEqual(['cab', 'qa', 'compliance']);
    expect(updated.metadata.version).toBe(3);
  });

  it('refuses contradictory or invalid flags (exit 2) and an unknown user (exit 1)', async () => {
    await ok('user', 'create', 'alice');
    const both = await rollgate('user', 'groups', 'alice', '--add', 'cab', '--remove', 'cab');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--add and --remove both name "cab"');
    const invalid = await rollgate('user', 'groups', 'alice', '--add', 'Bad Group');
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('--group "Bad Group"');
    expect((await rollgate('user', 'groups', '--add', 'cab')).code).toBe(2);
    const ghost = await rollgate('user', 'groups', 'ghost', '--add', 'cab');
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toContain('User "ghost" not found');
  });
});

describe('rollgate token create --user and rollgate whoami', () => {
  it('binds a token to a user; whoami then shows the user, groups and actor', async () => {
    await ok('user', 'create', 'alice', '--group', 'cab');
    const created = await ok('token', 'create', '--name', 'alice-laptop', '--role', 'approver', '--user', 'alice');
    expect(created.stdout).toMatch(/^rg_\S+\n$/);
    expect(created.stderr).toContain('token "alice-laptop" created with role approver for user alice;');
    const secret = created.stdout.trim();

    const me = await rollgateAs(secret, 'whoami');
    expect(me.code, me.stderr).toBe(0);
    expect(me.stdout).toBe(['User:    alice', 'Groups:  cab', 'Role:    approver', 'Token:   alice-laptop', 'Actor:   user:alice', ''].join('\n'));
    expect(JSON.parse((await rollgateAs(secret, 'whoami', '-o', 'json')).stdout)).toEqual({ user: 'alice', groups: ['cab'], role: 'approver', token: 'alice-laptop', actor: 'user:alice' });
    expect((await ok('whoami')).stdout).toContain('Actor:   token:admin\n');

    const list = await ok('token', 'list');
    expect(list.stdout.split('\n')[0]).toMatch(/^NAME\s+ROLE\s+USER\s+STATUS\s+AGE\s+REVOKED$/);
    expect(list.stdout).toMatch(/\nadmin\s+admin\s+-\s+active/);
    expect(list.stdout).toMatch(/\nalice-laptop\s+approver\s+alice\s+active/);
  });

  it('refuses a user that does not exist, naming the field (exit 3)', async () => {
    const run = await rollgate('token', 'create', '--name', 'x', '--role', 'viewer', '--user', 'ghost');
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('error: Unprocessable Content: user "ghost" does not exist\n');
    expect(run.stderr).toContain('  user: no User named "ghost"');
    const json = await rollgate('token', 'create', '--name', 'x', '--role', 'viewer', '--user', 'ghost', '-o', 'json');
    expect(JSON.parse(json.stderr).errors).toEqual([{ path: ['user'], message: expect.stringContaining('ghost') }]);
  });
});
