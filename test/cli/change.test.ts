/**
 * `rollgate change ...`, `approve`, `reject` and `cab` against the in-process app (the CLI's fetch
 * goes straight to `app.fetch`), with a fixed server clock so risk scores are exact.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSetOptions } from '../../src/cli/commands/change.js';
import { main } from '../../src/cli/main.js';
import { doc, startTestServer, type TestServer } from '../server/helpers.js';

const HOUR = 3_600_000;
const clock = Date.parse('2026-03-02T09:00:00Z');
const iso = (offsetHours: number) => new Date(clock + offsetHours * HOUR).toISOString();
const SERVER = 'http://rollgate.test';

const work = mkdtempSync(path.join(tmpdir(), 'rollgate-change-cli-'));
let server: TestServer;
const tokens: Record<string, string> = {};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function rollgate(user: string, ...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'rollgate', ...args, '--server', SERVER, '--token', tokens[user]!], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from([]),
    env: {},
    cwd: work,
    fetch: ((input: string | URL | Request, init?: RequestInit) => server.app.fetch(new Request(input, init))) as typeof fetch,
  });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  server = await startTestServer({ app: { now: () => new Date(clock) } });
  const create = async (kind: string, plural: string, name: string, spec: Record<string, unknown>) => {
    const response = await server.json('POST', `/api/v1/${plural}`, { body: doc(kind, name, spec) });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
  };
  await create('Environment', 'environments', 'prod', { production: true, dataSensitivity: 'confidential', approvals: [{ group: 'cab', count: 2, minRisk: 'medium' }] });
  await create('Environment', 'environments', 'staging', {});
  await create('Service', 'services', 'checkout', { owner: 'team-payments', tier: 'critical', businessServices: ['online-store'], target: { type: 'process', command: 'node app.js' } });
  for (const [name, groups] of Object.entries({ alice: ['dev'], bob: ['cab'], carol: ['cab'] })) {
    await create('User', 'users', name, { groups });
    tokens[name] = await server.token(name, 'approver');
  }
  tokens.viewer = await server.token('vic', 'viewer');
});

afterAll(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

const createArgs = (env = 'prod') => [
  'change', 'create', '--title', 'Upgrade checkout to 2.4', '--service', 'checkout', '--env', env,
  '--planned-start', iso(48), '--planned-end', iso(50),
  '--implementation-plan', 'rollgate deploy checkout', '--backout-plan', 'rollgate rollout abort checkout', '--test-plan', 'smoke suite', '--justification', 'rounding bug',
];

async function created(env = 'prod'): Promise<string> {
  const run = await rollgate('alice', ...createArgs(env));
  expect(run.code, run.stderr).toBe(0);
  return run.stdout.trim();
}

async function moved(name: string, ...states: string[]) {
  for (const to of states) {
    const run = await rollgate('alice', 'change', 'transition', name, '--to', to);
    expect(run.code, run.stderr).toBe(0);
  }
}

describe('rollgate change', () => {
  it('create prints the name on stdout and the assessment on stderr; list shows it; --state filters', async () => {
    const run = await rollgate('alice', ...createArgs());
    expect(run.code, run.stderr).toBe(0);
    const name = run.stdout.trim();
    expect(name).toMatch(/^chg-\d{5}$/);
    expect(run.stderr).toBe(`change/${name} created: New, risk medium (43), needs 2 from cab\n`);

    const list = await rollgate('viewer', 'change', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^NAME\s+TYPE\s+STATE\s+RISK\s+ENV\s+REQUESTER\s+PLANNED\s+TITLE/);
    expect(list.stdout).toMatch(new RegExp(`${name}\\s+normal\\s+New\\s+medium \\(43\\)\\s+prod\\s+alice\\s+2026-03-04 09:00Z\\s+Upgrade checkout to 2.4`));
    expect((await rollgate('viewer', 'change', 'list', '--state', 'closed')).stdout).toBe('no changes in state Closed\n');
    expect((await rollgate('viewer', 'change', 'list', '--state', 'Bogus')).code).toBe(2);
  });

  it('create -f reads a Change document (flags add to it); a missing title is a usage error', async () => {
    const file = path.join(work, 'change.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: rollgate.dev/v1alpha1',
        'kind: Change',
        'metadata: {name: ignored}',
        'spec:',
        '  type: emergency',
        '  title: Hotfix checkout totals',
        '  services: [checkout]',
        `  plannedStart: "${iso(1)}"`,
        `  plannedEnd: "${iso(2)}"`,
      ].join('\n'),
    );
    const run = await rollgate('alice', 'change', 'create', '-f', 'change.yaml', '--env', 'staging', '-o', 'json');
    expect(run.code, run.stderr).toBe(0);
    const object = JSON.parse(run.stdout);
    expect(object.spec).toMatchObject({ type: 'emergency', title: 'Hotfix checkout totals', services: ['checkout'] });
    expect(object.status).toMatchObject({ state: 'New', environment: 'staging', requestedBy: 'alice' });

    const bare = await rollgate('alice', 'change', 'create', '--service', 'checkout');
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('--title');
  });

  it('show renders state with next states, the risk factor table, approvals, separation of duties, history and the audit trail', async () => {
    const name = await created();
    await moved(name, 'Assess', 'Authorize');
    expect((await rollgate('bob', 'approve', name, '--comment', 'fine by me')).code).toBe(0);
    const run = await rollgate('viewer', 'change', 'show', name);
    expect(run.code, run.stderr).toBe(0);
    const out = run.stdout;
    expect(out).toContain(`Change:      ${name}  Upgrade checkout to 2.4`);
    expect(out).toMatch(/State:\s+Authorize since 2026-03-02 09:00Z; next: Scheduled, New, Canceled/);
    expect(out).toContain('Type:        normal (manual, requested by alice)');
    expect(out).toContain('Planned:     2026-03-04 09:00Z → 2026-03-04 11:00Z (2h)');
    expect(out).toContain('medium, score 43/100');
    expect(out).toMatch(/FACTOR\s+VALUE\s+POINTS\s+MAX\s+WHY/);
    expect(out).toMatch(/serviceTier\s+critical\s+20\s+20\s+service tier "critical"/);
    expect(out).toMatch(/leadTime\s+48 h\s+3\s+10/);
    expect(out).toContain('floor rule: none matched');
    expect(out).toContain('missing: 1 more from cab (has 1 of 2: bob)');
    expect(out).toMatch(/bob\s+approve\s+cab\s+2026-03-02 09:00Z\s+valid\s+fine by me/);
    expect(out).toContain('separation of duties: alice (requester) cannot approve');
    expect(out).toMatch(/History:\n\s+AT\s+ACTOR\s+FROM\s+TO\s+REASON/);
    expect(out).toMatch(/Audit trail:[\s\S]*change\.create[\s\S]*change\.approve\s+change\/chg-\d+\s+user=bob comment=fine by me/);

    const json = await rollgate('viewer', 'change', 'show', name, '-o', 'json');
    const shown = JSON.parse(json.stdout);
    expect(shown.metadata.name).toBe(name);
    expect(shown.audit.map((event: { action: string }) => event.action)).toEqual(['change.create', 'change.Assess', 'change.Authorize', 'change.approve']);

    expect((await rollgate('viewer', 'change', 'show', 'chg-99999')).code).toBe(1);
  });

  it('approve by the requester is refused with exit 3; edit expires approvals; reject needs --comment and sends it back to New', async () => {
    const name = await created();
    await moved(name, 'Assess', 'Authorize');
    const self = await rollgate('alice', 'approve', name);
    expect(self.code).toBe(3);
    expect(self.stderr).toContain('separation of duties');

    const approved = await rollgate('bob', 'approve', name);
    expect(approved.stdout).toBe(`approved: ${name}: Authorize, risk medium (43); waiting for 1 more from cab (has 1 of 2: bob)\n`);
    const edited = await rollgate('alice', 'change', 'edit', name, '--set', 'justification=rounding and tax bugs');
    expect(edited.code, edited.stderr).toBe(0);
    expect(edited.stdout).toContain('1 approval expired by the edit');
    const locked = await rollgate('alice', 'change', 'edit', name, '--set', 'colour=red');
    expect(locked.code).toBe(3);
    expect(locked.stderr).toContain('colour');

    expect((await rollgate('carol', 'reject', name)).code).toBe(2);
    const rejected = await rollgate('carol', 'reject', name, '--comment', 'no rollback test');
    expect(rejected.code, rejected.stderr).toBe(0);
    expect(rejected.stdout).toContain(`rejected: ${name}: New`);
  });

  it('two approvals schedule the change; close needs a code; review and close go through', async () => {
    const name = await created();
    await moved(name, 'Assess', 'Authorize');
    await rollgate('bob', 'approve', name);
    const second = await rollgate('carol', 'approve', name);
    expect(second.stdout).toBe(`approved: ${name}: Scheduled, risk medium (43)\n`);
    await moved(name, 'Implement', 'Review');
    expect((await rollgate('alice', 'change', 'close', name)).code).toBe(2);
    const notes = await rollgate('alice', 'change', 'close', name, '--code', 'unsuccessful');
    expect(notes.code).toBe(3);
    expect(notes.stderr).toContain('closeNotes');
    expect((await rollgate('alice', 'change', 'review', name, '--notes', 'went fine')).stdout).toBe(`${name}: post-release review recorded\n`);
    expect((await rollgate('alice', 'change', 'close', name, '--code', 'successful')).stdout).toBe(`${name}: Closed (successful)\n`);
  });

  it('cab lists the changes awaiting the board with risk, needs, requester, planned start and conflicts', async () => {
    const name = await created();
    await moved(name, 'Assess', 'Authorize');
    const run = await rollgate('viewer', 'cab');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^NAME\s+TITLE\s+RISK\s+NEEDS\s+REQUESTER\s+PLANNED\s+CONFLICTS/);
    expect(run.stdout).toMatch(new RegExp(`${name}\\s+Upgrade checkout to 2.4\\s+medium \\(43\\)\\s+cab 2 more \\(0/2\\)\\s+alice\\s+2026-03-04 09:00Z\\s+\\d+ \\(\\d+ blocking\\)`));
    // Several test changes on checkout in prod overlap: the conflicts are spelled out below the table.
    expect(run.stdout).toMatch(/Conflicts:\n\s+\[blocking\] Changes .* both touch service checkout in prod/);
    const conflictLines = run.stdout.split('Conflicts:\n')[1]!.trim().split('\n');
    expect(new Set(conflictLines).size).toBe(conflictLines.length);
    const json = JSON.parse((await rollgate('viewer', 'cab', '-o', 'json')).stdout);
    expect(json.find((entry: { name: string }) => entry.name === name).requirements[0]).toMatchObject({ group: 'cab', remaining: 2 });
  });
});

describe('parseSetOptions', () => {
  it('splits lists, parses evidence as JSON, clears on an empty value, and refuses malformed pairs', () => {
    expect(parseSetOptions(['services=checkout, cart', 'description=', 'title=a=b', 'evidence=[{"title":"t","link":"l","kind":"k"}]'])).toEqual({
      services: ['checkout', 'cart'],
      description: null,
      title: 'a=b',
      evidence: [{ title: 't', link: 'l', kind: 'k' }],
    });
    expect(() => parseSetOptions([])).toThrow(/--set/);
    expect(() => parseSetOptions(['title'])).toThrow(/field=value/);
    expect(() => parseSetOptions(['evidence=nope'])).toThrow(/JSON/);
  });
});
