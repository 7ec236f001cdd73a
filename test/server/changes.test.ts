/**
 * The changes workflow API in-process: manual and automatic change records, the state machine over
 * HTTP, risk, approvals with separation of duties and expiry on edit, rejection, the CAB view,
 * closing and post-release reviews. Tokens are named like the users they stand for (a token
 * without a bound user acts as the user named like the token).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChangeService, type AutomaticChangeInput } from '../../src/server/changes/service.js';
import { doc, startTestServer, type TestServer } from './helpers.js';

const HOUR = 3_600_000;
let clock = Date.parse('2026-03-02T09:00:00Z');
const iso = (offsetHours: number) => new Date(clock + offsetHours * HOUR).toISOString();

let server: TestServer;
const tokens: Record<string, string> = {};

async function create(kind: string, plural: string, name: string, spec: Record<string, unknown>) {
  const response = await server.json('POST', `/api/v1/${plural}`, { body: doc(kind, name, spec) });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
}

beforeAll(async () => {
  server = await startTestServer({ app: { now: () => new Date(clock) } });
  await create('Environment', 'environments', 'prod', {
    production: true,
    dataSensitivity: 'confidential',
    approvals: [
      { group: 'cab', count: 2, minRisk: 'medium' },
      { group: 'security', count: 1, minRisk: 'critical' },
    ],
  });
  await create('Environment', 'environments', 'staging', {});
  await create('Service', 'services', 'checkout', { owner: 'team-payments', tier: 'critical', businessServices: ['online-store'], target: { type: 'process', command: 'node app.js' } });
  await create('Service', 'services', 'docs', { owner: 'team-docs', tier: 'low', target: { type: 'process', command: 'node docs.js' } });
  const users: Record<string, string[]> = { alice: ['dev', 'cab'], bob: ['cab'], carol: ['cab', 'security'], dave: ['cab'], erin: ['ops'], mallory: ['cab'] };
  for (const [name, groups] of Object.entries(users)) {
    await create('User', 'users', name, { groups });
    tokens[name] = await server.token(name, 'approver');
  }
  tokens.viewer = await server.token('vic', 'viewer');
});

afterAll(() => server.close());

const as = (user: string) => ({ token: tokens[user]! });

/** A complete normal change for `environment`, planned two days ahead. */
const changeBody = (extra: Record<string, unknown> = {}) => ({
  type: 'normal',
  title: 'Upgrade checkout to 2.4',
  services: ['checkout'],
  plannedStart: iso(48),
  plannedEnd: iso(50),
  implementationPlan: 'rollgate deploy checkout --version 2.4.0 --env prod',
  backoutPlan: 'rollgate rollout abort checkout',
  testPlan: 'smoke suite, canary analysis',
  justification: 'fixes the rounding bug in totals',
  environment: 'prod',
  ...extra,
});

async function createChange(user = 'alice', extra: Record<string, unknown> = {}) {
  const created = await server.json('POST', '/api/v1/changes', { ...as(user), body: changeBody(extra) });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

const move = (name: string, to: string, extra: Record<string, unknown> = {}, user = 'alice') =>
  server.json('POST', `/api/v1/changes/${name}/transitions`, { ...as(user), body: { to, ...extra } });

async function walk(name: string, ...states: string[]) {
  for (const to of states) {
    const moved = await move(name, to);
    expect(moved.status, `${to}: ${JSON.stringify(moved.body)}`).toBe(200);
  }
}

const decide = (name: string, user: string, decision: 'approve' | 'reject', comment?: string) =>
  server.json('POST', `/api/v1/changes/${name}/approvals`, { ...as(user), body: { decision, ...(comment !== undefined ? { comment } : {}) } });

const getChange = async (name: string) => (await server.json('GET', `/api/v1/changes/${name}`)).body;
const auditOf = async (name: string) => (await server.json('GET', `/api/v1/changes/${name}/audit`, as('viewer'))).body.items as Array<{ action: string; actor: string; details: Record<string, unknown> }>;

/** A normal change in Authorize in prod (needs 2 from cab), requested by alice. */
async function inAuthorize(extra: Record<string, unknown> = {}) {
  const change = await createChange('alice', extra);
  await walk(change.metadata.name, 'Assess', 'Authorize');
  return change.metadata.name as string;
}

const automatic = (input: Partial<AutomaticChangeInput> = {}) =>
  server.store.transaction((stores) =>
    createChangeService({ now: () => new Date(clock) }).createAutomatic(stores, {
      requestedBy: 'alice',
      actor: 'token:alice',
      environment: 'prod',
      services: ['checkout'],
      deployments: ['deployment-a'],
      authors: ['mallory'],
      title: 'Release 2.4.0 of checkout',
      release: undefined,
      ...input,
    }),
  );

describe('manual change records', () => {
  it('creates chg-NNNNN in New with risk and requirements, and walks the states to Closed with history and audit', async () => {
    const first = await createChange();
    const second = await createChange();
    const [a, b] = [first.metadata.name, second.metadata.name].map((name: string) => Number(name.slice(4)));
    expect(first.metadata.name).toMatch(/^chg-\d{5}$/);
    expect(b).toBe(a! + 1);

    expect(first.status).toMatchObject({ state: 'New', requestedBy: 'alice', origin: 'manual', environment: 'prod', approvals: [] });
    // Not given: taken from the services.
    expect(first.spec.businessServices).toEqual(['online-store']);
    // critical tier 20 + customer-facing 10 + confidential 10 + planned in 48 h 3 = 43: medium, so the prod rule "2 from cab from medium" applies.
    expect(first.status.risk).toMatchObject({ score: 43, level: 'medium' });
    expect(first.status.requiredApprovals).toEqual([{ group: 'cab', count: 2, reason: expect.stringContaining('environment prod rule 1') }]);

    const name = first.metadata.name as string;
    await walk(name, 'Assess', 'Authorize');
    expect((await decide(name, 'bob', 'approve', 'looks good')).status).toBe(201);
    expect((await getChange(name)).status.state).toBe('Authorize');
    expect((await decide(name, 'carol', 'approve')).status).toBe(201);
    const scheduled = await getChange(name);
    expect(scheduled.status.state).toBe('Scheduled');
    expect(scheduled.status.history.at(-1)).toMatchObject({ from: 'Authorize', to: 'Scheduled', actor: 'token:carol' });

    await walk(name, 'Implement', 'Review');
    const closed = await move(name, 'Closed', { closeCode: 'successful' });
    expect(closed.status, JSON.stringify(closed.body)).toBe(200);
    expect(closed.body.spec.closeCode).toBe('successful');
    expect(closed.body.status.history.map((entry: { to: string }) => entry.to)).toEqual(['Assess', 'Authorize', 'Scheduled', 'Implement', 'Review', 'Closed']);

    const actions = (await auditOf(name)).map((event) => event.action);
    expect(actions).toEqual(['change.create', 'change.Assess', 'change.Authorize', 'change.approve', 'change.approve', 'change.Scheduled', 'change.Implement', 'change.Review', 'change.Closed']);
  });

  it('refuses a body that is not a valid change, naming the field, and references to nothing', async () => {
    const bad = await server.json('POST', '/api/v1/changes', { ...as('alice'), body: changeBody({ type: 'urgent', flavour: 'x' }) });
    expect(bad.status).toBe(422);
    const paths = bad.body.errors.map((error: { path: string[] }) => error.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['type', 'flavour']));

    const missing = await server.json('POST', '/api/v1/changes', { ...as('alice'), body: changeBody({ services: ['nope'], environment: 'moon' }) });
    expect(missing.status).toBe(422);
    expect(missing.body.errors).toEqual(
      expect.arrayContaining([
        { path: ['services', 0], message: 'Service "nope" does not exist' },
        { path: ['environment'], message: 'Environment "moon" does not exist' },
      ]),
    );
    expect((await server.json('POST', '/api/v1/changes', { ...as('viewer'), body: changeBody() })).status).toBe(403);
  });

  it('needs the plans to submit and a scope and window to authorize, naming each missing field', async () => {
    const bare = await server.json('POST', '/api/v1/changes', { ...as('alice'), body: { type: 'normal', title: 'bare', environment: 'staging' } });
    expect(bare.status).toBe(201);
    const name = bare.body.metadata.name;
    const assess = await move(name, 'Assess');
    expect(assess.status).toBe(422);
    expect(assess.body.errors.map((error: { path: string[] }) => error.path[0]).sort()).toEqual(['backoutPlan', 'implementationPlan', 'justification', 'testPlan']);

    const plans = { implementationPlan: 'deploy', backoutPlan: 'abort', testPlan: 'smoke', justification: 'why not' };
    expect((await server.json('PATCH', `/api/v1/changes/${name}`, { ...as('alice'), body: plans })).status).toBe(200);
    await walk(name, 'Assess');
    const authorize = await move(name, 'Authorize');
    expect(authorize.status).toBe(422);
    expect(authorize.body.errors.map((error: { path: string[] }) => error.path[0])).toEqual(['services', 'plannedStart', 'plannedEnd']);
  });

  it('makes the planned scope, window and plans read-only once Scheduled (409 naming the field); evidence stays editable', async () => {
    const change = await createChange('alice', { environment: 'staging' });
    const name = change.metadata.name;
    // staging has no rules and the risk is medium: nothing to approve, a person schedules it.
    expect(change.status.requiredApprovals).toEqual([]);
    await walk(name, 'Assess', 'Authorize', 'Scheduled');

    const locked = await server.json('PATCH', `/api/v1/changes/${name}`, { ...as('alice'), body: { plannedStart: iso(30), backoutPlan: 'pray' } });
    expect(locked.status).toBe(409);
    expect(locked.body.type).toBe('https://rollgate.dev/problems/read-only-fields');
    expect(locked.body.errors.map((error: { path: string[] }) => error.path[0]).sort()).toEqual(['backoutPlan', 'plannedStart']);

    const evidence = [{ title: 'load test', link: 'https://ci.example/run/1', kind: 'test-report' }];
    const edited = await server.json('PATCH', `/api/v1/changes/${name}`, { ...as('alice'), body: { evidence } });
    expect(edited.status).toBe(200);
    expect(edited.body.spec.evidence).toEqual(evidence);
    expect((await auditOf(name)).at(-1)).toMatchObject({ action: 'change.edit', details: { fields: ['evidence'] } });

    const unknown = await server.json('PATCH', `/api/v1/changes/${name}`, { ...as('alice'), body: { colour: 'red' } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors[0].path).toEqual(['colour']);
  });

  it('refuses Authorize → Scheduled by hand while approvals are missing, naming the group', async () => {
    const name = await inAuthorize();
    await decide(name, 'bob', 'approve');
    const refused = await move(name, 'Scheduled');
    expect(refused.status).toBe(409);
    expect(refused.body.type).toBe('https://rollgate.dev/problems/approvals-missing');
    expect(refused.body.detail).toContain('1 more from cab (has 1 of 2: bob)');
    expect(refused.body.errors).toEqual([{ path: ['approvals', 'cab'], message: expect.stringContaining('1 more from cab') }]);
    expect((await getChange(name)).status.state).toBe('Authorize');
  });
});

describe('automatic change records', () => {
  it('for prod with rules: risk with every factor, requirements from the rules that apply, moved to Authorize', async () => {
    const object = await automatic({ irreversibleMigration: true, scopeItems: 4 });
    expect(object.name).toMatch(/^chg-\d{5}$/);
    const status = object.status as any;
    expect(status).toMatchObject({ state: 'Authorize', origin: 'automatic', requestedBy: 'alice', authors: ['mallory'], environment: 'prod', deployments: ['deployment-a'] });
    expect(status.risk.factors.map((factor: { name: string }) => factor.name)).toEqual([
      'serviceTier', 'customerFacing', 'environmentSensitivity', 'irreversibleMigration', 'changeSize', 'recentChangeFailureRate', 'leadTime', 'maintenanceWindow', 'emergency',
    ]);
    // 20 + 10 + 10 + 15 (migration) + 3 (3 extra scope items) + 10 (starts now) = 68: high; the migration rule's floor is high too.
    expect(status.risk).toMatchObject({ score: 68, level: 'high', floor: { rule: 'irreversible-migration-critical-service', level: 'high' } });
    expect(status.risk.factors.find((factor: { name: string }) => factor.name === 'irreversibleMigration')).toMatchObject({ value: true, points: 15, max: 15 });
    // cab from medium applies, security (critical only) does not.
    expect(status.requiredApprovals.map((r: { group: string; count: number }) => `${r.count} ${r.group}`)).toEqual(['2 cab']);
    expect(object.spec).toMatchObject({
      type: 'normal',
      services: ['checkout'],
      businessServices: ['online-store'],
      plannedStart: iso(0),
      plannedEnd: iso(4),
      implementationPlan: expect.stringContaining('Progressive rollout by Rollgate (Deployments deployment-a'),
      justification: 'Deploy checkout to prod',
    });
    expect(status.history.map((entry: { to: string }) => entry.to)).toEqual(['Assess', 'Authorize']);
    const actions = (await auditOf(object.name)).map((event) => `${event.action} ${event.actor}`);
    expect(actions).toEqual(['change.create token:alice', 'change.Assess token:alice', 'change.Authorize token:alice']);

    // Edits keep the facts the spec has no field for.
    const edited = await server.json('PATCH', `/api/v1/changes/${object.name}`, { ...as('alice'), body: { title: 'Release 2.4.0 of checkout (hotfix)' } });
    expect(edited.body.status.risk.factors.find((factor: { name: string }) => factor.name === 'irreversibleMigration').value).toBe(true);
  });

  it('uses the RiskModel "default": a critical level adds the security requirement (minRisk critical)', async () => {
    await create('RiskModel', 'riskmodels', 'default', { thresholds: { medium: 10, high: 20, critical: 30 } });
    try {
      const object = await automatic({ extraApprovals: [{ group: 'release-managers', count: 1, reason: 'pipeline stage prod' }] });
      const status = object.status as any;
      expect(status.risk.level).toBe('critical');
      expect(status.requiredApprovals.map((r: { group: string; count: number }) => `${r.count} ${r.group}`)).toEqual(['2 cab', '1 security', '1 release-managers']);
    } finally {
      expect((await server.json('DELETE', '/api/v1/riskmodels/default')).status).toBe(200);
    }
  });

  it('follows a declared risk higher than the assessed one for the approvals (never a lower one)', async () => {
    const assessed = (await createChange('alice')).status as any;
    expect(assessed.risk.level).not.toBe('critical');
    expect(assessed.requiredApprovals.map((r: { group: string }) => r.group)).not.toContain('security');
    const declared = (await createChange('alice', { risk: 'critical' })).status as any;
    expect(declared.requiredApprovals.map((r: { group: string }) => r.group)).toContain('security');
    const lower = (await createChange('alice', { risk: 'low' })).status as any;
    expect(lower.requiredApprovals).toEqual(assessed.requiredApprovals);
  });

  it('goes to Scheduled when nothing needs approval; standard changes are pre-approved; emergency ones stop in Authorize', async () => {
    // docs: low tier, not customer-facing; 10 (confidential) + 10 (starts now) = 20: low, below the prod rules.
    const low = await automatic({ services: ['docs'], authors: [] });
    expect((low.status as any).state).toBe('Scheduled');
    expect((low.status as any).requiredApprovals).toEqual([]);
    expect((low.status as any).history.map((entry: { to: string }) => entry.to)).toEqual(['Assess', 'Authorize', 'Scheduled']);

    const standard = await automatic({ type: 'standard' });
    expect((standard.status as any).state).toBe('Scheduled');
    expect((standard.status as any).requiredApprovals).toEqual([]);

    const emergency = await automatic({ type: 'emergency', services: ['docs'] });
    expect((emergency.status as any).state).toBe('Authorize');
  });

  it('computes the recent change failure rate from finished Deployments of the service in the environment (last 30 days)', async () => {
    const finished = (name: string, phase: string, finishedAt: number) =>
      server.store.transaction((stores) =>
        stores.objects.create({
          kind: 'Deployment',
          name,
          labels: { 'rollgate.dev/service': 'docs', 'rollgate.dev/environment': 'staging' },
          spec: { service: 'docs', environment: 'staging', version: '1.0.0' },
          status: { rollout: { phase, finishedAt }, resolved: null, pendingOperations: [], operationResults: [] },
        }),
      );
    await finished('docs-1', 'Healthy', clock - 2 * 24 * HOUR);
    await finished('docs-2', 'Aborted', clock - 3 * 24 * HOUR);
    await finished('docs-3', 'Degraded', clock - 40 * 24 * HOUR); // too old
    const object = await automatic({ environment: 'staging', services: ['docs'], authors: [] });
    const factor = (object.status as any).risk.factors.find((f: { name: string }) => f.name === 'recentChangeFailureRate');
    expect(factor).toMatchObject({ value: 0.5, points: 15 });
  });
});

describe('approvals', () => {
  it('refuses the requester (403 separation-of-duties) and records the refusal in the audit log', async () => {
    const name = await inAuthorize();
    const refused = await decide(name, 'alice', 'approve', 'mine, obviously fine');
    expect(refused.status).toBe(403);
    expect(refused.body.type).toBe('https://rollgate.dev/problems/separation-of-duties');
    expect(refused.body.detail).toContain('requested change');
    const events = await auditOf(name);
    expect(events.at(-1)).toMatchObject({ action: 'change.approval-refused', actor: 'token:alice', details: { user: 'alice', reason: 'separation-of-duties', decision: 'approve' } });
    const change = await getChange(name);
    expect(change.status.approvals).toEqual([]);
  });

  it('refuses an author of a deployed artifact, and a user in none of the required groups', async () => {
    const object = await automatic();
    const author = await decide(object.name, 'mallory', 'approve');
    expect(author.status).toBe(403);
    expect(author.body.type).toBe('https://rollgate.dev/problems/separation-of-duties');
    expect(author.body.detail).toContain('authored an artifact');

    const outsider = await decide(object.name, 'erin', 'approve');
    expect(outsider.status).toBe(403);
    expect(outsider.body.type).toBe('https://rollgate.dev/problems/forbidden');
    expect(outsider.body.detail).toContain('none of the groups');
    expect(outsider.body.detail).toContain('cab');
    const refusals = (await auditOf(object.name)).filter((event) => event.action === 'change.approval-refused').map((event) => event.details.reason);
    expect(refusals).toEqual(['separation-of-duties', 'not-in-required-group']);
    expect((await getChange(object.name)).status.approvals).toEqual([]);
  });

  it('reads groups from the User object at decision time; a second identical approval changes nothing', async () => {
    const name = await inAuthorize();
    expect((await decide(name, 'dave', 'approve')).status).toBe(201);
    const again = await decide(name, 'dave', 'approve');
    expect(again.status).toBe(200);
    expect(again.body.status.approvals).toHaveLength(1);
    expect(again.body.status.approvals[0]).toMatchObject({ user: 'dave', groups: ['cab'], decision: 'approve', valid: true });
    const changedMind = await decide(name, 'dave', 'reject', 'on second thought');
    expect(changedMind.status).toBe(409);
    expect(changedMind.body.type).toBe('https://rollgate.dev/problems/already-decided');
  });

  it('expires approvals when the change is edited: back to 0 of 2, still in Authorize', async () => {
    const name = await inAuthorize();
    await decide(name, 'bob', 'approve');
    const evidence = [{ title: 'unit tests', link: 'https://ci.example/run/2', kind: 'test-report' }];
    const edited = await server.json('PATCH', `/api/v1/changes/${name}`, { ...as('alice'), body: { justification: 'fixes the rounding bug and the tax bug', evidence } });
    expect(edited.status).toBe(200);
    expect(edited.body.status.state).toBe('Authorize');
    expect(edited.body.status.approvals[0]).toMatchObject({ user: 'bob', valid: false, invalidatedReason: 'change edited: fields justification' });

    const cab = (await server.json('GET', '/api/v1/cab', as('viewer'))).body.items;
    const entry = cab.find((item: { name: string }) => item.name === name);
    expect(entry.requirements).toEqual([expect.objectContaining({ group: 'cab', count: 2, approvers: [], remaining: 2 })]);

    expect((await auditOf(name)).at(-1)).toMatchObject({ action: 'change.edit', details: { fields: ['justification', 'evidence'], approvalsInvalidated: 1 } });
    // Evidence alone does not expire approvals.
    await decide(name, 'dave', 'approve');
    const more = [...evidence, { title: 'load test', link: 'https://ci.example/run/3', kind: 'test-report' }];
    const evidenceOnly = await server.json('PATCH', `/api/v1/changes/${name}`, { ...as('alice'), body: { evidence: more } });
    expect(evidenceOnly.body.status.approvals.at(-1)).toMatchObject({ user: 'dave', valid: true });

    // bob may decide again on the new version.
    expect((await decide(name, 'bob', 'approve')).body.status.state).toBe('Scheduled');
  });

  it('a rejection needs a comment (422 naming comment) and sends the change back to New with the reason', async () => {
    const name = await inAuthorize();
    const bare = await decide(name, 'carol', 'reject');
    expect(bare.status).toBe(422);
    expect(bare.body.errors).toEqual([{ path: ['comment'], message: expect.stringContaining('required') }]);

    const rejected = await decide(name, 'carol', 'reject', 'no rollback test for the migration');
    expect(rejected.status).toBe(201);
    expect(rejected.body.status.state).toBe('New');
    expect(rejected.body.status.history.at(-1)).toMatchObject({ from: 'Authorize', to: 'New', reason: 'rejected by carol: no rollback test for the migration' });
    expect((await auditOf(name)).slice(-2).map((event) => event.action)).toEqual(['change.reject', 'change.New']);
    // No more decisions outside Authorize.
    expect((await decide(name, 'bob', 'approve')).status).toBe(409);

    // Resubmitted: a new round, the rejection no longer blocks.
    await walk(name, 'Assess', 'Authorize');
    const resubmitted = await getChange(name);
    expect(resubmitted.status.approvals.every((approval: { valid: boolean }) => !approval.valid)).toBe(true);
    await decide(name, 'bob', 'approve');
    expect((await decide(name, 'carol', 'approve')).body.status.state).toBe('Scheduled');
  });

  it('an approver role is needed: a deployer token is refused before anything else', async () => {
    const name = await inAuthorize();
    const deployer = await server.token('frank', 'deployer');
    expect((await server.json('POST', `/api/v1/changes/${name}/approvals`, { token: deployer, body: { decision: 'approve' } })).status).toBe(403);
  });

  it('an emergency change in Scheduled takes more approvals (blackout override) but no rejection', async () => {
    const object = await automatic({ type: 'emergency', environment: 'staging', services: ['docs'], authors: [] });
    const name = object.name;
    // The emergency floor makes it high; staging has no rules, so the default applies: 1 from cab.
    expect((object.status as any).risk.level).toBe('high');
    expect((object.status as any).requiredApprovals).toEqual([{ group: 'cab', count: 1, reason: expect.stringContaining('default (environment staging has no approval rules)') }]);
    expect((object.status as any).state).toBe('Authorize');
    expect((await decide(name, 'bob', 'approve')).body.status.state).toBe('Scheduled');
    expect((await decide(name, 'dave', 'approve')).status).toBe(201);
    expect((await decide(name, 'erin', 'approve')).status).toBe(403);
    expect((await getChange(name)).status.approvals.map((approval: { user: string }) => approval.user)).toEqual(['bob', 'dave']);
    expect((await decide(name, 'carol', 'reject', 'no')).status).toBe(409);
  });
});

describe('CAB view', () => {
  it('lists changes in Authorize with missing approvals, with risk, remaining requirements and requester; not scheduled ones', async () => {
    const waiting = await inAuthorize({ title: 'CAB candidate', plannedStart: iso(12), plannedEnd: iso(13) });
    await decide(waiting, 'bob', 'approve');
    const done = await inAuthorize();
    await decide(done, 'bob', 'approve');
    await decide(done, 'carol', 'approve');

    const response = await server.json('GET', '/api/v1/cab', as('viewer'));
    expect(response.status).toBe(200);
    const names = response.body.items.map((item: { name: string }) => item.name);
    expect(names).toContain(waiting);
    expect(names).not.toContain(done);
    const entry = response.body.items.find((item: { name: string }) => item.name === waiting);
    expect(entry).toMatchObject({
      title: 'CAB candidate',
      state: 'Authorize',
      requestedBy: 'alice',
      environment: 'prod',
      plannedStart: iso(12),
      // 43 as above, but planned in 12 h: 6 lead-time points instead of 3.
      risk: { level: 'medium', score: 46 },
      requirements: [{ group: 'cab', count: 2, approvers: ['bob'], remaining: 1, satisfied: false }],
    });
    expect(entry.risk.factors).toHaveLength(9);
    expect(Array.isArray(entry.conflicts)).toBe(true);
    // Soonest first.
    const starts = response.body.items.map((item: { plannedStart: string }) => item.plannedStart);
    expect([...starts].sort()).toEqual(starts);
  });

  it('carries each waiting change\'s services, business services and evidence (no read per change needed)', async () => {
    const evidence = [
      { title: 'Load test report', link: 'https://ci.example/reports/88', kind: 'test-report' },
      { title: 'SBOM', link: 'artifacts/sbom.json', kind: 'sbom' },
    ];
    const name = await inAuthorize({ services: ['checkout'], businessServices: ['payments', 'web-shop'], evidence, plannedStart: iso(200), plannedEnd: iso(201) });
    const bare = await inAuthorize({ plannedStart: iso(210), plannedEnd: iso(211) });
    const items = (await server.json('GET', '/api/v1/cab', as('viewer'))).body.items;
    expect(items.find((item: { name: string }) => item.name === name)).toMatchObject({ services: ['checkout'], businessServices: ['payments', 'web-shop'], evidence });
    // As on the record (the server fills business services in from the Services when none are given).
    const bareSpec = (await getChange(bare)).spec;
    expect(bareSpec.businessServices).toEqual(['online-store']);
    expect(items.find((item: { name: string }) => item.name === bare)).toMatchObject({ services: ['checkout'], businessServices: bareSpec.businessServices, evidence: [] });
  });

  it('reports calendar conflicts of a waiting change (another change on the same service and window)', async () => {
    const a = await inAuthorize({ plannedStart: iso(100), plannedEnd: iso(102) });
    const b = await inAuthorize({ plannedStart: iso(101), plannedEnd: iso(103) });
    const items = (await server.json('GET', '/api/v1/cab', as('viewer'))).body.items;
    const entry = items.find((item: { name: string }) => item.name === a);
    expect(entry.conflicts).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'same-service', changes: [a, b].sort() })]));
  });
});

describe('closing and post-release reviews', () => {
  async function inReview() {
    const change = await createChange('alice', { environment: 'staging' });
    await walk(change.metadata.name, 'Assess', 'Authorize', 'Scheduled', 'Implement', 'Review');
    return change.metadata.name as string;
  }

  it('needs a close code, and notes unless successful', async () => {
    const name = await inReview();
    const bare = await move(name, 'Closed');
    expect(bare.status).toBe(422);
    expect(bare.body.errors).toEqual([{ path: ['closeCode'], message: 'required' }]);
    const withIssues = await move(name, 'Closed', { closeCode: 'successful-with-issues' });
    expect(withIssues.status).toBe(422);
    expect(withIssues.body.errors).toEqual([{ path: ['closeNotes'], message: 'required' }]);
    const closed = await move(name, 'Closed', { closeCode: 'successful-with-issues', closeNotes: 'slow start' });
    expect(closed.status).toBe(200);
    expect(closed.body.spec).toMatchObject({ closeCode: 'successful-with-issues', closeNotes: 'slow start' });
    expect((await move(name, 'Review')).body.type).toBe('https://rollgate.dev/problems/final-state');
  });

  it('a required post-release review blocks closing until it is recorded', async () => {
    const name = await inReview();
    // The engine sets this when an emergency change overrode a blackout.
    await server.store.transaction(async (stores) => {
      const current = (await stores.objects.get('Change', name))!;
      await stores.objects.update('Change', name, current.version, {
        status: { ...current.status, postReleaseReview: { required: true, reason: 'emergency override of blackout xmas', createdAt: iso(0) } },
      });
    });
    const blocked = await move(name, 'Closed', { closeCode: 'successful' });
    expect(blocked.status).toBe(409);
    expect(blocked.body.type).toBe('https://rollgate.dev/problems/review-required');
    expect(blocked.body.errors[0].path).toEqual(['postReleaseReview']);

    expect((await server.json('POST', `/api/v1/changes/${name}/review`, { ...as('alice'), body: { notes: '' } })).status).toBe(422);
    const reviewed = await server.json('POST', `/api/v1/changes/${name}/review`, { ...as('bob'), body: { notes: 'override was justified; runbook updated' } });
    expect(reviewed.status).toBe(200);
    expect(reviewed.body.status.postReleaseReview).toMatchObject({ required: true, completedBy: 'bob', notes: 'override was justified; runbook updated', completedAt: iso(0) });
    expect((await server.json('POST', `/api/v1/changes/${name}/review`, { ...as('bob'), body: { notes: 'again' } })).status).toBe(409);
    expect((await move(name, 'Closed', { closeCode: 'successful' })).status).toBe(200);
    expect((await auditOf(name)).map((event) => event.action)).toContain('change.review');
  });

  it('cancels from any open state with a reason, and never bypasses the workflow through the objects API', async () => {
    const change = await createChange();
    const name = change.metadata.name;
    expect((await move(name, 'Canceled')).body.errors).toEqual([{ path: ['reason'], message: 'required' }]);
    const canceled = await move(name, 'Canceled', { reason: 'superseded by 2.5' });
    expect(canceled.body.status.state).toBe('Canceled');
    expect((await server.json('PUT', `/api/v1/changes/${name}`, { body: doc('Change', name, { type: 'normal', title: 'x' }) })).status).toBe(404);
  });
});
