/**
 * `rollgate release ...` in-process against the real app (its fetch is handed to the client), with
 * a temporary git repository of Conventional Commits for `release create --from-git`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { CommanderError } from 'commander';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CliContext, type CliIO } from '../../src/cli/context.js';
import { createProgram, main } from '../../src/cli/main.js';
import { parseComponent, parseScopeJson, parseScopeShorthand, parseTypeMap } from '../../src/cli/commands/release.js';
import { DEPLOYMENT_LABELS } from '../../src/core/rollout/deployment-status.js';
import { doc, MINIMAL_SPECS, startTestServer, type TestServer } from '../server/helpers.js';

const SERVER = 'http://rollgate.test';
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

const work = mkdtempSync(path.join(tmpdir(), 'rollgate-release-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------
// A git repository with a few Conventional Commits (and one that is not).

const repo = path.join(work, 'repo');
const notRepo = path.join(work, 'plain');
const gitIn = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } });
const commit = (...messages: string[]) => gitIn('commit', '--allow-empty', '-q', ...messages.flatMap((message) => ['-m', message]));

beforeAll(() => {
  mkdirSync(repo);
  mkdirSync(notRepo);
  gitIn('init', '-q');
  gitIn('config', 'user.name', 'Erin Example');
  gitIn('config', 'user.email', 'erin@example.com');
  gitIn('config', 'commit.gpgsign', 'false');
  commit('chore: initial commit');
  gitIn('tag', 'v0');
  commit('feat(checkout): one-click checkout');
  commit('fix: rounding of VAT totals');
  commit('docs: explain the API');
  commit('update stuff');
  commit('feat!: drop the legacy API', 'BREAKING CHANGE: v1 endpoints are gone');
  commit('chore: vendor the payments SDK', 'Rollgate-Classification: net-new');
});

// ---------------------------------------------------------------------------------------------

let server: TestServer;
let tokens: Record<string, string>;
let clock: { now: Date };

beforeEach(async () => {
  clock = { now: new Date('2026-03-01T00:00:00Z') };
  server = await startTestServer({ app: { now: () => clock.now } });
  const ok = async (method: string, url: string, body: unknown) => {
    const response = await server.json(method, url, { body });
    expect(response.status, JSON.stringify(response.body)).toBeLessThan(300);
    return response.body;
  };
  await ok('POST', '/api/v1/environments', doc('Environment', 'staging', {}));
  await ok('POST', '/api/v1/environments', doc('Environment', 'prod', { production: true }));
  await ok('POST', '/api/v1/services', doc('Service', 'payments', { ...MINIMAL_SPECS.Service, businessServices: ['payments-platform'] }));
  await ok('POST', '/api/v1/services', doc('Service', 'checkout', { ...MINIMAL_SPECS.Service, dependsOn: ['payments'] }));
  await ok('POST', '/api/v1/services', doc('Service', 'web', { ...MINIMAL_SPECS.Service, dependsOn: ['checkout'] }));
  await ok('POST', '/api/v1/pipelines', doc('Pipeline', 'main', { services: ['checkout', 'payments'], stages: [{ environment: 'staging' }, { environment: 'prod' }] }));
  tokens = { admin: server.adminToken };
  for (const [user, groups, role] of [
    ['alice', ['release-managers'], 'approver'],
    ['bob', ['release-managers', 'compliance'], 'approver'],
    ['dave', [], 'deployer'],
  ] as const) {
    await ok('POST', '/api/v1/users', doc('User', user, { groups }));
    tokens[user] = (await ok('POST', '/api/v1/tokens', { name: `${user}-cli`, role, user })).token;
  }
});
afterEach(() => server.close());

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function io(output: { stdout: string; stderr: string }): CliIO {
  return {
    stdout: { write: (text: string) => (output.stdout += text) },
    stderr: { write: (text: string) => (output.stderr += text) },
    stdin: Readable.from([]),
    env: {},
    cwd: work,
    fetch: ((input: URL | string, init?: RequestInit) => Promise.resolve(server.app.request(String(input), init))) as typeof fetch,
  };
}

/** `rollgate ...args` through main(), as the binary runs it. */
async function rollgate(args: string[], token = tokens.admin!): Promise<Run> {
  const output = { stdout: '', stderr: '' };
  const code = await main(['node', 'rollgate', ...args, '--server', SERVER, '--token', token], io(output));
  return { code, ...output };
}

/**
 * `release create` through the program without the CLI's own `-V, --version`, which is how main()
 * builds it for commands with a `--version` option of their own (see the last test of this file).
 */
async function create(args: string[], token = tokens.dave!): Promise<Run> {
  const output = { stdout: '', stderr: '' };
  const ctx = new CliContext(io(output));
  const program = createProgram(ctx, { versionOption: false });
  let code: number;
  try {
    await program.parseAsync(['node', 'rollgate', 'release', 'create', ...args, '--server', SERVER, '--token', token], { from: 'node' });
    code = ctx.exitCode;
  } catch (error) {
    code = error instanceof CommanderError ? (error.exitCode === 0 ? 0 : 2) : ctx.report(error, 'table');
  }
  return { code, ...output };
}

const stored = async (name = 'r1') => (await server.store.read.objects.get('Release', name))!;
const shas = () => gitIn('log', '--format=%H', 'v0..HEAD').trim().split('\n');

describe('rollgate release create', () => {
  it('proposes scope from the Conventional Commits in a git range, prints it with the ignored commits, and creates the Release', async () => {
    const run = await create(['r1', '--version', '1.4.0', '--from-git', 'v0..HEAD', '--repo', repo, '--type-map', 'docs=enhancement', '--component', `checkout=1.4.0@${D1}`, '--freeze', '2026-03-10T00:00:00Z', '--pipeline', 'main']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Proposed scope from 6 commits in v0..HEAD: 5 items, 1 ignored');
    expect(run.stdout).toMatch(/enhancement\s+one-click checkout\s+[0-9a-f]{7}\s+feat\(checkout\)/);
    expect(run.stdout).toMatch(/enhancement\s+drop the legacy API\s+[0-9a-f]{7}\s+feat\s+yes/);
    expect(run.stdout).toMatch(/Ignored commits:\n.*\n\s+[0-9a-f]{7}\s+update stuff\s+not a Conventional Commit/);
    expect(run.stdout).toContain('release/r1 created (version 1.4.0, 5 scope items, 1 component)');

    const release = await stored();
    const [vendor, drop, , docs, fix, feat] = shas();
    // git log lists newest first; the proposal keeps that order.
    expect(release.spec.scope).toEqual([
      { title: 'vendor the payments SDK', classification: 'net-new', link: vendor },
      { title: 'drop the legacy API', classification: 'enhancement', link: drop },
      { title: 'explain the API', classification: 'enhancement', link: docs },
      { title: 'rounding of VAT totals', classification: 'defect-fix', link: fix },
      { title: 'one-click checkout', classification: 'enhancement', link: feat },
    ]);
    expect(release.spec).toMatchObject({ version: '1.4.0', freezeDate: '2026-03-10T00:00:00Z', pipeline: 'main', components: [{ service: 'checkout', version: '1.4.0', digest: D1 }] });
  });

  it('--dry-run creates nothing; -o json prints the proposal and the spec', async () => {
    const dry = await create(['r2', '--version', '1.0.0', '--from-git', 'v0..HEAD~4', '--repo', repo, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('Proposed scope from 2 commits in v0..HEAD~4: 2 items, 0 ignored');
    expect(dry.stdout).toContain('dry run: release/r2 not created (version 1.0.0, 2 scope items, 0 components)');
    expect(await server.store.read.objects.get('Release', 'r2')).toBeNull();

    const json = await create(['r2', '--version', '1.0.0', '--from-git', 'v0..HEAD~4', '--repo', repo, '--dry-run', '-o', 'json']);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.dryRun).toBe(true);
    expect(parsed.proposal.items.map((item: any) => item.title)).toEqual(['rounding of VAT totals', 'one-click checkout']);
    expect(parsed.spec.scope).toHaveLength(2);
  });

  it('says clearly when the directory is not a git repository, the range is bad or the arguments are wrong', async () => {
    const notGit = await create(['r3', '--version', '1.0.0', '--from-git', 'HEAD~1..HEAD', '--repo', notRepo]);
    expect(notGit.code).toBe(1);
    expect(notGit.stderr).toBe(`error: ${notRepo} is not a git repository (give the repository with --repo DIR)\n`);
    const badRange = await create(['r3', '--version', '1.0.0', '--from-git', 'v9..HEAD', '--repo', repo]);
    expect(badRange.code).toBe(1);
    expect(badRange.stderr).toMatch(/^error: bad git range "v9\.\.HEAD" in .*: fatal: /);
    const option = await create(['r3', '--version', '1.0.0', '--from-git=--output=/tmp/x', '--repo', repo]);
    expect(option.code).toBe(2);
    expect(option.stderr).toContain('a range cannot start with "-"');
    const noDir = await create(['r3', '--version', '1.0.0', '--from-git', 'HEAD', '--repo', path.join(work, 'missing')]);
    expect(noDir.stderr).toMatch(/--repo ".*missing": no such directory/);
    for (const [args, message] of [
      [['--version', 'one'], '--version "one": must be a semantic version'],
      [['--version', '1.0.0', '--component', 'checkout=1.0@md5:x'], 'the digest must be "sha256:"'],
      [['--version', '1.0.0', '--type-map', 'chore=skip'], '"skip" is not one of net-new, enhancement, defect-fix, ignore'],
      [['--version', '1.0.0', '--freeze', 'tomorrow'], '--freeze "tomorrow"'],
    ] as const) {
      const run = await create(['r3', ...args]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain(message);
    }
    expect(await server.store.read.objects.get('Release', 'r3')).toBeNull();
  });

  it('reports the server refusing the Release (exit 3, naming the field)', async () => {
    const run = await create(['r4', '--version', '1.0.0', '--component', `ghost=1.0.0@${D1}`]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('spec.components[0].service');
  });
});

describe('parsers', () => {
  it('parse what users type', () => {
    expect(parseTypeMap('chore=ignore, Docs=enhancement')).toEqual({ chore: 'ignore', docs: 'enhancement' });
    expect(() => parseTypeMap('chore')).toThrow(/expected TYPE=CLASSIFICATION/);
    expect(parseComponent(`checkout=1.4.0-rc.1@${D1}`)).toEqual({ service: 'checkout', version: '1.4.0-rc.1', digest: D1 });
    expect(() => parseComponent('checkout@1')).toThrow(/SERVICE=VERSION@sha256:DIGEST/);
    expect(parseScopeShorthand('defect-fix: Fix VAT: rounding')).toEqual({ classification: 'defect-fix', title: 'Fix VAT: rounding' });
    expect(() => parseScopeShorthand('bug:thing')).toThrow(/CLASSIFICATION:TITLE/);
    expect(parseScopeJson('[{"title":"a","classification":"net-new","jurisdictions":["eu"]}]')).toEqual([{ title: 'a', classification: 'net-new', jurisdictions: ['eu'] }]);
    expect(() => parseScopeJson('{"title":"a","classification":"net-new","value":500}')).toThrow(/item 0: value:/);
  });
});

// ---------------------------------------------------------------------------------------------

async function releaseWithCriteria(): Promise<void> {
  const spec = {
    version: '1.0.0',
    pipeline: 'main',
    components: [
      { service: 'checkout', version: '1.0.0', digest: D1, businessServices: ['online-store'] },
      { service: 'payments', version: '2.0.0', digest: D2 },
    ],
    scope: [
      { title: 'One-click checkout', classification: 'net-new', value: 40, contractual: true, jurisdictions: ['eu'] },
      { title: 'Fix rounding', classification: 'defect-fix', value: 10 },
    ],
    freezeDate: '2026-03-10T00:00:00Z',
    goNoGo: { criteria: [{ id: 'e2e', result: { name: 'e2e' } }, { id: 'staging', analysis: { environment: 'staging' } }] },
  };
  const created = await server.json('POST', '/api/v1/releases', { body: doc('Release', 'r1', spec) });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
}

async function healthyIn(environment: string, service: string, digest: string): Promise<void> {
  await server.store.transaction((stores) =>
    stores.objects.create({
      kind: 'Deployment',
      name: `${service}-${environment}`,
      labels: { [DEPLOYMENT_LABELS.service]: service, [DEPLOYMENT_LABELS.environment]: environment },
      spec: { service, environment, version: '1.0.0', artifact: { digest }, release: 'r1' },
      status: { rollout: { phase: 'Healthy', analysisRuns: [] }, resolved: null, pendingOperations: [], operationResults: [] },
    }),
  );
}

describe('the release workflow from the command line', () => {
  it('results, sign-off, go refused (exit 3) then go, no-go, and show', async () => {
    await releaseWithCriteria();

    const criteria = await rollgate(['release', 'go-no-go', 'r1'], tokens.dave);
    expect(criteria.code, criteria.stderr).toBe(0);
    expect(criteria.stdout).toMatch(/^prod: BLOCKED \(3 required criteria not met: e2e, staging, compliance-signoff\)/);
    expect(criteria.stdout).toMatch(/…\s+e2e\s+pending\s+automatic\s+yes\s+no result "e2e" posted yet/);
    expect(criteria.stdout).toContain('Last decision: none');

    const refused = await rollgate(['release', 'go', 'r1', '--comment', 'ship'], tokens.alice);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^error: Conflict: Release "r1" cannot go to prod: 3 required criteria not met/);
    expect(refused.stderr).toContain('gates.goNoGo.e2e:');

    const badResult = await rollgate(['release', 'result', 'r1', '--name', 'e2e', '--type', 'test', '--passed', '--failed'], tokens.dave);
    expect(badResult.code).toBe(2);
    const result = await rollgate(['release', 'result', 'r1', '--name', 'e2e', '--type', 'test', '--passed', '--value', '98.5', '--summary', 'all green'], tokens.dave);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('result "e2e" recorded for release/r1: passed\n');
    const notComponent = await rollgate(['release', 'result', 'r1', '--name', 'scan', '--type', 'security-scan', '--failed', '--service', 'web', '--critical', '2'], tokens.dave);
    expect(notComponent.code).toBe(3);
    expect(notComponent.stderr).toContain('service: must be a component of the release (checkout, payments)');
    await healthyIn('staging', 'checkout', D1);
    await healthyIn('staging', 'payments', D2);

    const notMember = await rollgate(['release', 'signoff', 'r1', '--group', 'compliance', '--comment', 'ok'], tokens.alice);
    expect(notMember.code).toBe(3);
    expect(notMember.stderr).toContain('group: user "alice" is not a member of "compliance"');
    const signed = await rollgate(['release', 'signoff', 'r1', '--group', 'compliance', '--comment', 'GDPR reviewed'], tokens.bob);
    expect(signed.stdout).toBe('release/r1 signed off for compliance by bob\n');

    const go = await rollgate(['release', 'go', 'r1', '--comment', 'all criteria met'], tokens.alice);
    expect(go.code, go.stderr).toBe(0);
    expect(go.stdout).toMatch(/^GO recorded for release\/r1 in prod by alice\n {2}met {5}e2e: "e2e" passed \(value 98\.5\)/);
    expect((await rollgate(['release', 'no-go', 'r1', '--comment', 'wait'], tokens.bob)).code).toBe(2);
    const noGo = await rollgate(['release', 'no-go', 'r1', '--env', 'prod', '--comment', 'incident'], tokens.bob);
    expect(noGo.stdout).toMatch(/^NO-GO recorded for release\/r1 in prod by bob/);

    const show = await rollgate(['release', 'show', 'r1'], tokens.dave);
    expect(show.code, show.stderr).toBe(0);
    const text = show.stdout;
    expect(text).toContain('Release:    r1\nVersion:    1.0.0\nPipeline:   main\nFreeze:     freezes at 2026-03-10T00:00:00Z');
    expect(text).toContain('Scope (2 items, value 50, 1 contractual, jurisdictions: eu):\n  net-new (1, value 40, 1 contractual)\n    - One-click checkout  [value 40; contractual; jurisdictions eu]');
    expect(text).toMatch(/checkout\s+1\.0\.0\s+sha256:111111111111\s+online-store\s+not registered/);
    expect(text).toMatch(/payments\s+2\.0\.0\s+sha256:222222222222\s+payments-platform/);
    expect(text).toContain('  checkout ← web (outside)\n  payments ← checkout (in the release)');
    expect(text).toMatch(/✓ e2e \(test\) {2}value 98\.5; all green {2}— dave at /);
    expect(text).toContain('  compliance: bob at ');
    expect(text).toContain('  prod: GO possible (every required criterion met)');
    expect(text).toMatch(/Last decision: NO-GO by bob at .* — "incident"/);
    expect(text).toContain('  staging · → prod ·\n  staging: not promoted\n  prod: not promoted');

    const json = await rollgate(['release', 'show', 'r1', '-o', 'json'], tokens.dave);
    const overview = JSON.parse(json.stdout);
    expect(overview.release.metadata.name).toBe('r1');
    expect(overview.goNoGo[0].lastDecision.decision).toBe('no-go');

    const listed = await rollgate(['release', 'list'], tokens.dave);
    expect(listed.stdout).toMatch(/^NAME\s+VERSION\s+PIPELINE\s+COMPONENTS\s+SCOPE\s+FREEZE\s+GO\/NO-GO\s+AGE\nr1\s+1\.0\.0\s+main\s+2\s+2\s+(frozen )?2026-03-10T00:00:00Z\s+prod:no-go/);
  });

  it('scope exceptions: request after the freeze, refused for the requester, approved by another release manager', async () => {
    await releaseWithCriteria();
    const early = await rollgate(['release', 'exception', 'request', 'r1', '--reason', 'legal', '--remove', 'Fix rounding'], tokens.dave);
    expect(early.code).toBe(3);
    expect(early.stderr).toContain('edit the release directly');

    clock.now = new Date('2026-03-11T00:00:00Z');
    const none = await rollgate(['release', 'exception', 'request', 'r1', '--reason', 'legal'], tokens.dave);
    expect(none.code).toBe(2);
    const requested = await rollgate(
      ['release', 'exception', 'request', 'r1', '--reason', 'contract', '--add', 'enhancement:CSV export', '--add-json', '{"title":"EU invoices","classification":"net-new","jurisdictions":["eu"]}', '--remove', 'Fix rounding'],
      tokens.alice,
    );
    expect(requested.code, requested.stderr).toBe(0);
    expect(requested.stdout).toBe('ex-1\n');
    expect(requested.stderr).toContain('pending until a release manager other than you approves or rejects it');

    const own = await rollgate(['release', 'exception', 'approve', 'r1', 'ex-1', '--comment', 'mine'], tokens.alice);
    expect(own.code).toBe(3);
    expect(own.stderr).toMatch(/^error: Forbidden: user "alice" requested scope exception ex-1/);
    const approved = await rollgate(['release', 'exception', 'approve', 'r1', 'ex-1', '--comment', 'contract signed'], tokens.bob);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(/^scope exception ex-1 approved by bob \(release\/r1 is now at version \d+\)/);
    expect(((await stored()).spec.scope as Array<{ title: string }>).map((item) => item.title)).toEqual(['One-click checkout', 'CSV export', 'EU invoices']);

    await rollgate(['release', 'exception', 'request', 'r1', '--reason', 'x', '--remove', 'CSV export'], tokens.dave);
    const rejected = await rollgate(['release', 'exception', 'reject', 'r1', 'ex-2', '--comment', 'no'], tokens.bob);
    expect(rejected.stdout).toBe('scope exception ex-2 rejected by bob\n');

    const show = await rollgate(['release', 'show', 'r1'], tokens.dave);
    expect(show.stdout).toContain('Freeze:     FROZEN since 2026-03-10T00:00:00Z');
    expect(show.stdout).toMatch(/ex-1 {2}APPROVED by bob at .* — "contract signed": \+ "CSV export", \+ "EU invoices", - "Fix rounding" \(requested by alice: contract\)/);
    expect(show.stdout).toMatch(/ex-2 {2}REJECTED by bob/);
  });

  it('takes --version as the release version through main() (needs "release" in COMMANDS_WITH_VERSION_OPTION, src/cli/commands/deploy.ts)', async () => {
    const run = await rollgate(['release', 'create', 'r9', '--version', '2.0.0'], tokens.dave);
    expect(run.stdout).not.toBe('0.1.0\n');
    expect(run.code, run.stderr).toBe(0);
    expect((await stored('r9')).spec.version).toBe('2.0.0');
  });
});
