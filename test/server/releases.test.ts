/**
 * The release workflow API in-process: results, the scope freeze on generic updates, scope
 * exceptions with separation of duties, sign-offs, go / no-go with refusals on record, and the
 * overview. Users are User objects with groups; tokens are bound to them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEPLOYMENT_LABELS } from '../../src/core/rollout/deployment-status.js';
import { doc, MINIMAL_SPECS, startTestServer, type TestServer } from './helpers.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const OTHER = `sha256:${'9'.repeat(64)}`;
const FREEZE = '2026-03-10T00:00:00Z';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface World {
  s: TestServer;
  tokens: Record<string, string>;
  clock: { now: Date };
}

const RELEASE_SPEC = {
  version: '1.0.0',
  pipeline: 'main',
  components: [
    { service: 'checkout', version: '1.0.0', digest: D1, businessServices: ['online-store'] },
    { service: 'payments', version: '2.0.0', digest: D2 },
  ],
  scope: [
    { title: 'One-click checkout', classification: 'net-new', value: 40, contractual: true, jurisdictions: ['eu'] },
    { title: 'Fix rounding', classification: 'defect-fix', value: 10 },
    { title: 'Faster search', classification: 'enhancement', value: 5 },
  ],
  freezeDate: FREEZE,
  goNoGo: {
    criteria: [
      { id: 'staging-analysis', analysis: { environment: 'staging' } },
      { id: 'e2e', result: { name: 'e2e', type: 'test' } },
      { id: 'coverage', required: false, result: { name: 'coverage', min: 80 } },
    ],
  },
};

async function ok(promise: Promise<{ status: number; body: any }>, status = 201) {
  const response = await promise;
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  return response.body;
}

/** dev → staging → prod (production), services with dependencies, users with groups and tokens bound to them, release r1. */
async function world(): Promise<World> {
  const clock = { now: new Date('2026-03-01T00:00:00Z') };
  const s = await startTestServer({ app: { now: () => clock.now } });
  server = s;
  for (const [name, spec] of [['dev', {}], ['staging', {}], ['prod', { production: true }]] as const) await ok(s.json('POST', '/api/v1/environments', { body: doc('Environment', name, spec) }));
  const service = (dependsOn: string[] = [], extra: Record<string, unknown> = {}) => ({ ...MINIMAL_SPECS.Service, dependsOn, ...extra });
  for (const [name, spec] of [
    ['payments', service([], { businessServices: ['payments-platform'] })],
    ['inventory', service()],
    ['checkout', service(['payments'])],
    ['web', service(['checkout'])],
    ['batch', service(['payments'])],
  ] as const) {
    await ok(s.json('POST', '/api/v1/services', { body: doc('Service', name, spec) }));
  }
  await ok(
    s.json('POST', '/api/v1/pipelines', {
      body: doc('Pipeline', 'main', {
        services: ['checkout', 'payments'],
        stages: [
          { environment: 'dev' },
          { environment: 'staging' },
          { environment: 'prod', gates: [{ goNoGo: { criteria: [{ id: 'migration', result: { name: 'db-migration', type: 'migration', perComponent: true } }] } }] },
        ],
      }),
    }),
  );
  const users: Record<string, string[]> = { alice: ['release-managers'], bob: ['release-managers', 'compliance'], carol: ['compliance'], dave: [] };
  for (const [name, groups] of Object.entries(users)) await ok(s.json('POST', '/api/v1/users', { body: doc('User', name, { groups }) }));
  const tokens: Record<string, string> = {};
  for (const [name, role] of [['alice', 'approver'], ['bob', 'approver'], ['carol', 'approver'], ['dave', 'deployer']] as const) {
    tokens[name] = (await ok(s.json('POST', '/api/v1/tokens', { body: { name: `${name}-token`, role, user: name } }))).token;
  }
  tokens.ci = await s.token('ci', 'deployer');
  tokens.viewer = await s.token('watcher', 'viewer');
  await ok(s.json('POST', '/api/v1/releases', { token: tokens.dave, body: doc('Release', 'r1', RELEASE_SPEC) }));
  return { s, tokens, clock };
}

const release = async (s: TestServer, name = 'r1') => (await s.json('GET', `/api/v1/releases/${name}`)).body;
const auditActions = async (s: TestServer, name = 'r1') => ((await s.json('GET', `/api/v1/audit?kind=Release&name=${name}&limit=1000`)).body.items as Array<{ action: string; actor: string; details: any }>);
const put = (s: TestServer, spec: Record<string, unknown>, token?: string) => s.json('PUT', '/api/v1/releases/r1', { ...(token ? { token } : {}), body: doc('Release', 'r1', spec) });

/** A Deployment as the promotion would create it, with the rollout phase the engine would have written. */
async function deployment(s: TestServer, name: string, service: string, environment: string, digest: string, phase: string | null, analysisRuns: unknown[] = []) {
  await s.store.transaction((stores) =>
    stores.objects.create({
      kind: 'Deployment',
      name,
      labels: { [DEPLOYMENT_LABELS.service]: service, [DEPLOYMENT_LABELS.environment]: environment },
      spec: { service, environment, version: '1.0.0', artifact: { digest }, release: 'r1' },
      status: { rollout: phase === null ? null : { phase, analysisRuns }, resolved: null, pendingOperations: [], operationResults: [] },
    }),
  );
}

/** Writes the release's status as the promotion service would (it owns status.promotions). */
async function patchStatus(s: TestServer, patch: Record<string, unknown>) {
  await s.store.transaction(async (stores) => {
    const current = (await stores.objects.get('Release', 'r1'))!;
    await stores.objects.update('Release', 'r1', current.version, { status: { ...(current.status ?? {}), ...patch } });
  });
}

const promotion = (environment: string, extra: Record<string, unknown> = {}) => ({ environment, at: '2026-03-02T10:00:00Z', actor: 'user:alice', deployments: [], gates: [], ...extra });

describe('results', () => {
  it('records a result, replaces the one with the same name and component, and audits it', async () => {
    const { s, tokens } = await world();
    const first = await ok(s.json('POST', '/api/v1/releases/r1/results', { token: tokens.ci, body: { name: 'e2e', type: 'test', passed: true, summary: '120 passed' } }));
    expect(first.result).toMatchObject({ name: 'e2e', type: 'test', passed: true, postedBy: 'ci', summary: '120 passed' });
    await ok(s.json('POST', '/api/v1/releases/r1/results', { token: tokens.ci, body: { name: 'e2e', type: 'test', passed: false } }));
    await ok(s.json('POST', '/api/v1/releases/r1/results', { token: tokens.ci, body: { name: 'e2e', type: 'test', passed: true, service: 'checkout', environment: 'staging' } }));
    const results = (await release(s)).status.results;
    expect(results.map((r: any) => [r.name, r.service ?? null, r.passed])).toEqual([
      ['e2e', null, false],
      ['e2e', 'checkout', true],
    ]);
    const events = (await auditActions(s)).filter((event) => event.action === 'release.result');
    expect(events).toHaveLength(3);
    expect(events[1]!.details.replaced).toBe(first.result.id);
    expect(events[0]!.actor).toBe('token:ci');
  });

  it('refuses a service that is not a component, an unknown environment and a bad type, naming the field', async () => {
    const { s, tokens } = await world();
    const notComponent = await s.json('POST', '/api/v1/releases/r1/results', { token: tokens.ci, body: { name: 'e2e', type: 'test', passed: true, service: 'web' } });
    expect(notComponent.status).toBe(422);
    expect(notComponent.body.errors).toEqual([{ path: ['service'], message: 'must be a component of the release (checkout, payments)' }]);
    const badEnv = await s.json('POST', '/api/v1/releases/r1/results', { token: tokens.ci, body: { name: 'e2e', type: 'test', passed: true, environment: 'qa' } });
    expect(badEnv.status).toBe(422);
    expect(badEnv.body.errors[0].path).toEqual(['environment']);
    const badType = await s.json('POST', '/api/v1/releases/r1/results', { token: tokens.ci, body: { name: 'e2e', type: 'smoke', passed: true } });
    expect(badType.status).toBe(422);
    expect(badType.body.errors[0].path).toEqual(['type']);
    expect((await s.json('POST', '/api/v1/releases/nope/results', { token: tokens.ci, body: { name: 'e2e', type: 'test', passed: true } })).status).toBe(404);
    expect((await release(s)).status?.results ?? []).toEqual([]);
  });
});

describe('scope freeze on generic updates', () => {
  it('allows anything before the freeze, refuses scope and freeze-date changes after it, and allows other edits', async () => {
    const { s, tokens, clock } = await world();
    const edited = { ...RELEASE_SPEC, version: '1.0.1', scope: [...RELEASE_SPEC.scope, { title: 'Dark mode', classification: 'enhancement' }] };
    await ok(put(s, edited, tokens.dave), 200);

    clock.now = new Date('2026-03-10T00:00:00Z');
    const scopeChange = await put(s, { ...edited, scope: edited.scope.slice(1) }, tokens.dave);
    expect(scopeChange.status).toBe(409);
    expect(scopeChange.body.type).toBe('https://rollgate.dev/problems/gate-refused');
    expect(scopeChange.body.gates).toHaveLength(1);
    expect(scopeChange.body.gates[0]).toMatchObject({ gate: 'freeze', name: 'r1', outcome: 'deny' });
    expect(scopeChange.body.gates[0].message).toMatch(/^scope is frozen since 2026-03-10T00:00:00Z: request an exception \(rollgate release exception request r1 \.\.\.\) for - "One-click checkout"$/);

    const reclassified = edited.scope.map((item) => (item.title === 'Fix rounding' ? { ...item, classification: 'enhancement' } : item));
    expect((await put(s, { ...edited, scope: reclassified }, tokens.dave)).status).toBe(409);

    const unfreeze = await put(s, { ...edited, freezeDate: '2026-04-01T00:00:00Z' }, tokens.dave);
    expect(unfreeze.status).toBe(409);
    expect(unfreeze.body.gates[0].message).toContain('the freeze date cannot change');
    const { freezeDate: _dropped, ...withoutFreeze } = edited;
    expect((await put(s, withoutFreeze, tokens.dave)).status).toBe(409);

    // Not scope: allowed after the freeze; the same scope in another order is no change.
    await ok(put(s, { ...edited, description: 'spring release', scope: [...edited.scope].reverse() }, tokens.dave), 200);
    expect((await release(s)).spec.scope).toHaveLength(4);
    // Nor can it be deleted and recreated to dodge the freeze; the refusal is on record.
    const deleted = await s.json('DELETE', '/api/v1/releases/r1', { token: tokens.dave });
    expect(deleted.status).toBe(409);
    expect(deleted.body.gates[0]).toMatchObject({ gate: 'freeze', outcome: 'deny', message: expect.stringContaining('cannot be deleted') });
    const refusals = (await s.json('GET', '/api/v1/audit?kind=Release&name=r1')).body.items.filter((event: { action: string }) => event.action === 'release.update-refused');
    expect(refusals.length).toBeGreaterThanOrEqual(3);
  });

  it('refuses version and component changes once the release was promoted', async () => {
    const { s, tokens } = await world();
    const { freezeDate: _f, ...open } = RELEASE_SPEC;
    await ok(put(s, { ...open, version: '1.0.1' }, tokens.dave), 200);
    await patchStatus(s, { promotions: [promotion('dev')] });

    const version = await put(s, { ...open, version: '1.0.2' }, tokens.dave);
    expect(version.status).toBe(409);
    expect(version.body.gates).toEqual([
      expect.objectContaining({ gate: 'promotion', outcome: 'deny', message: expect.stringMatching(/promoted to dev at .*: its version \(1\.0\.1\) cannot change/) }),
    ]);
    const components = await put(s, { ...open, version: '1.0.1', components: [{ ...open.components[0], digest: OTHER }, open.components[1]] }, tokens.dave);
    expect(components.status).toBe(409);
    expect(components.body.gates[0].message).toMatch(/components .* cannot change/);
    // Reordering the components is not a change; scope still may change (no freeze date).
    await ok(put(s, { ...open, version: '1.0.1', components: [...open.components].reverse(), scope: open.scope.slice(0, 1) }, tokens.dave), 200);
  });
});

describe('scope exceptions', () => {
  it('is refused before the freeze', async () => {
    const { s, tokens } = await world();
    const early = await s.json('POST', '/api/v1/releases/r1/scope-exceptions', { token: tokens.dave, body: { reason: 'legal', remove: ['Faster search'] } });
    expect(early.status).toBe(409);
    expect(early.body.type).toBe('https://rollgate.dev/problems/not-frozen');
    expect(early.body.detail).toMatch(/not frozen \(scope freezes at 2026-03-10T00:00:00Z\): edit the release directly/);
  });

  it('validates the requested change, naming the field', async () => {
    const { s, tokens, clock } = await world();
    clock.now = new Date('2026-03-11T00:00:00Z');
    const post = (body: unknown) => s.json('POST', '/api/v1/releases/r1/scope-exceptions', { token: tokens.dave, body });
    const badItem = await post({ reason: 'x', add: [{ title: 'New', classification: 'feature' }] });
    expect(badItem.status).toBe(422);
    expect(badItem.body.errors.map((e: any) => e.path)).toEqual([['add', 0, 'classification']]);
    const missing = await post({ reason: 'x', remove: ['Nope'] });
    expect(missing.status).toBe(422);
    expect(missing.body.errors).toEqual([{ path: ['remove', 0], message: 'no scope item titled "Nope"' }]);
    const existing = await post({ reason: 'x', add: [{ title: 'Fix rounding', classification: 'defect-fix' }] });
    expect(existing.body.errors).toEqual([{ path: ['add', 0, 'title'], message: '"Fix rounding" is already in the scope' }]);
    expect((await post({ reason: 'x' })).status).toBe(422);
    expect((await post({ add: [], remove: ['Fix rounding'] })).body.errors[0].path).toEqual(['reason']);
    expect((await release(s)).status?.scopeExceptions ?? []).toEqual([]);
  });

  it('is approved by another release manager (applying the change) or rejected; never by the requester or a non-manager', async () => {
    const { s, tokens, clock } = await world();
    clock.now = new Date('2026-03-11T00:00:00Z');
    const requested = await ok(
      s.json('POST', '/api/v1/releases/r1/scope-exceptions', {
        token: tokens.dave,
        body: { reason: 'customer contract', add: [{ title: 'Export CSV', classification: 'enhancement', contractual: true }], remove: ['Faster search'] },
      }),
    );
    expect(requested.exception).toMatchObject({ id: 'ex-1', state: 'pending', requestedBy: 'dave', reason: 'customer contract', remove: ['Faster search'] });
    const second = await ok(s.json('POST', '/api/v1/releases/r1/scope-exceptions', { token: tokens.alice, body: { reason: 'not ready', remove: ['Fix rounding'] } }));
    expect(second.exception.id).toBe('ex-2');

    const decide = (id: string, token: string, decision: string, comment = 'ok') =>
      s.json('POST', `/api/v1/releases/r1/scope-exceptions/${id}/decision`, { token, body: { decision, comment } });

    const nonManager = await decide('ex-1', tokens.carol!, 'approve');
    expect(nonManager.status).toBe(403);
    expect(nonManager.body.type).toBe('https://rollgate.dev/problems/forbidden');
    expect(nonManager.body.detail).toMatch(/group "release-managers"; user "carol" is in "compliance"/);

    const own = await decide('ex-2', tokens.alice!, 'approve');
    expect(own.status).toBe(403);
    expect(own.body.type).toBe('https://rollgate.dev/problems/separation-of-duties');
    const refused = (await auditActions(s)).find((event) => event.action === 'release.exception-refused' && event.details?.['reason'] === 'separation-of-duties');
    expect(refused).toMatchObject({ actor: 'user:alice', details: { exception: 'ex-2', reason: 'separation-of-duties', user: 'alice' } });

    const approved = await ok(decide('ex-1', tokens.alice!, 'approve', 'contract signed'), 200);
    expect(approved.exception).toMatchObject({ state: 'approved', decidedBy: 'alice', comment: 'contract signed' });
    const after = await release(s);
    expect(after.spec.scope.map((item: any) => item.title)).toEqual(['One-click checkout', 'Fix rounding', 'Export CSV']);
    expect(after.spec.scope[2]).toEqual({ title: 'Export CSV', classification: 'enhancement', contractual: true });
    expect(after.status.scopeExceptions.map((e: any) => [e.id, e.state])).toEqual([
      ['ex-1', 'approved'],
      ['ex-2', 'pending'],
    ]);
    const actions = (await auditActions(s)).map((event) => event.action);
    expect(actions.slice(-2)).toEqual(['update', 'release.exception-approved']);
    const update = (await auditActions(s)).at(-2)!;
    expect(update.details.via).toBe('scope-exception ex-1');

    const again = await decide('ex-1', tokens.bob!, 'reject');
    expect(again.status).toBe(409);
    expect(again.body.type).toBe('https://rollgate.dev/problems/already-decided');

    const rejected = await ok(decide('ex-2', tokens.bob!, 'reject', 'keep the fix'), 200);
    expect(rejected.exception).toMatchObject({ state: 'rejected', decidedBy: 'bob' });
    expect((await release(s)).spec.scope.map((item: any) => item.title)).toContain('Fix rounding');
    expect((await auditActions(s)).at(-1)!.action).toBe('release.exception-rejected');

    expect((await decide('ex-9', tokens.bob!, 'approve')).status).toBe(404);
    expect((await decide('ex-1', tokens.bob!, 'maybe')).body.errors[0].path).toEqual(['decision']);
  });

  it('refuses to apply an approval the scope no longer allows, writing nothing', async () => {
    const { s, tokens, clock } = await world();
    clock.now = new Date('2026-03-11T00:00:00Z');
    await ok(s.json('POST', '/api/v1/releases/r1/scope-exceptions', { token: tokens.dave, body: { reason: 'a', remove: ['Faster search'] } }));
    await ok(s.json('POST', '/api/v1/releases/r1/scope-exceptions', { token: tokens.dave, body: { reason: 'b', remove: ['Faster search'] } }));
    await ok(s.json('POST', '/api/v1/releases/r1/scope-exceptions/ex-1/decision', { token: tokens.alice, body: { decision: 'approve', comment: 'ok' } }), 200);
    const before = await release(s);
    const stale = await s.json('POST', '/api/v1/releases/r1/scope-exceptions/ex-2/decision', { token: tokens.alice, body: { decision: 'approve', comment: 'ok' } });
    expect(stale.status).toBe(409);
    expect(stale.body.type).toBe('https://rollgate.dev/problems/exception-stale');
    const after = await release(s);
    expect(after.metadata.version).toBe(before.metadata.version);
  });
});

describe('sign-offs', () => {
  it('needs membership of the group, once per user and group', async () => {
    const { s, tokens } = await world();
    const outsider = await s.json('POST', '/api/v1/releases/r1/signoffs', { token: tokens.alice, body: { group: 'compliance', comment: 'fine' } });
    expect(outsider.status).toBe(403);
    expect(outsider.body.errors).toEqual([{ path: ['group'], message: 'user "alice" is not a member of "compliance"' }]);
    const refused = (await s.json('GET', '/api/v1/audit?kind=Release&name=r1')).body.items.filter((event: { action: string }) => event.action === 'release.signoff-refused');
    expect(refused).toEqual([expect.objectContaining({ details: expect.objectContaining({ user: 'alice', group: 'compliance' }) })]);
    const signed = await ok(s.json('POST', '/api/v1/releases/r1/signoffs', { token: tokens.carol, body: { group: 'compliance', comment: 'GDPR reviewed' } }));
    expect(signed.signoff).toMatchObject({ group: 'compliance', user: 'carol', comment: 'GDPR reviewed' });
    const twice = await s.json('POST', '/api/v1/releases/r1/signoffs', { token: tokens.carol, body: { group: 'compliance', comment: 'again' } });
    expect(twice.status).toBe(409);
    expect(twice.body.type).toBe('https://rollgate.dev/problems/already-signed');
    await ok(s.json('POST', '/api/v1/releases/r1/signoffs', { token: tokens.bob, body: { group: 'compliance', comment: 'also' } }));
    expect((await release(s)).status.signoffs.map((x: any) => x.user)).toEqual(['carol', 'bob']);
    expect((await auditActions(s)).filter((event) => event.action === 'release.signoff')).toHaveLength(2);
  });
});

describe('go / no-go', () => {
  it('shows the criteria of the default environment (first production stage) with their states', async () => {
    const { s, tokens } = await world();
    const view = (await s.json('GET', '/api/v1/releases/r1/go-no-go', { token: tokens.viewer })).body;
    expect(view.environment).toBe('prod');
    expect(view.criteria.map((c: any) => [c.id, c.kind, c.required, c.state])).toEqual([
      ['migration', 'automatic', true, 'pending'],
      ['staging-analysis', 'automatic', true, 'unmet'],
      ['e2e', 'automatic', true, 'pending'],
      ['coverage', 'automatic', false, 'pending'],
      ['compliance-signoff', 'manual', true, 'pending'],
    ]);
    expect(view.canGo).toBe(false);
    expect(view.blocking).toEqual(['migration', 'staging-analysis', 'e2e', 'compliance-signoff']);
    expect(view.lastDecision).toBeNull();
    // A manual criterion names the group whose sign-off meets it; automatic ones do not.
    expect(view.criteria.map((c: any) => c.signoff ?? null)).toEqual([null, null, null, null, { group: 'compliance', count: 1 }]);
    // Another environment: no stage criteria there.
    const staging = (await s.json('GET', '/api/v1/releases/r1/go-no-go?environment=staging')).body;
    expect(staging.criteria.map((c: any) => c.id)).toEqual(['staging-analysis', 'e2e', 'coverage', 'compliance-signoff']);
    expect((await s.json('GET', '/api/v1/releases/r1/go-no-go?environment=qa')).status).toBe(404);
  });

  it('needs an environment when the release has no default', async () => {
    const { s, tokens } = await world();
    await ok(s.json('POST', '/api/v1/releases', { token: tokens.dave, body: doc('Release', 'loose', { version: '0.1.0' }) }));
    const response = await s.json('GET', '/api/v1/releases/loose/go-no-go');
    expect(response.status).toBe(422);
    expect(response.body.errors[0].path).toEqual(['environment']);
  });

  it('reads analysis from the latest Deployment of each component digest in the environment', async () => {
    const { s } = await world();
    const stateOf = async () => (await s.json('GET', '/api/v1/releases/r1/go-no-go')).body.criteria.find((c: any) => c.id === 'staging-analysis');
    await deployment(s, 'co-other', 'checkout', 'staging', OTHER, 'Healthy');
    await deployment(s, 'pay-1', 'payments', 'staging', D2, 'Healthy');
    expect((await stateOf()).detail).toMatch(/checkout: not deployed in staging/);
    await deployment(s, 'co-1', 'checkout', 'staging', D1, 'Progressing');
    expect(await stateOf()).toMatchObject({ state: 'pending', detail: 'checkout: co-1 is Progressing' });
    await deployment(s, 'co-2', 'checkout', 'staging', D1, 'Healthy', [{ id: 'a1/s1', phase: 'Failed' }]);
    expect(await stateOf()).toMatchObject({ state: 'unmet', detail: 'checkout: co-2 Healthy but an analysis run failed' });
    await deployment(s, 'co-3', 'checkout', 'staging', D1, 'Healthy', [{ id: 'a1/s1', phase: 'Successful' }]);
    expect((await stateOf()).state).toBe('met');
  });

  it('refuses go while a required criterion is not met (recording the attempt), then records go and no-go with every criterion', async () => {
    const { s, tokens } = await world();
    const decide = (token: string, body: Record<string, unknown>) => s.json('POST', '/api/v1/releases/r1/go-no-go', { token, body });

    const nonManager = await decide(tokens.carol!, { environment: 'prod', decision: 'go', comment: 'ship' });
    expect(nonManager.status).toBe(403);
    const refused = await decide(tokens.alice!, { environment: 'prod', decision: 'go', comment: 'ship it' });
    expect(refused.status).toBe(409);
    expect(refused.body.type).toBe('https://rollgate.dev/problems/gate-refused');
    expect(refused.body.gates.map((gate: any) => [gate.gate, gate.name, gate.outcome])).toEqual([
      ['goNoGo', 'migration', 'pending'],
      ['goNoGo', 'staging-analysis', 'deny'],
      ['goNoGo', 'e2e', 'pending'],
      ['goNoGo', 'coverage', 'warn'],
      ['goNoGo', 'compliance-signoff', 'pending'],
    ]);
    expect(refused.body.errors.map((error: any) => error.path)).toContainEqual(['gates', 'goNoGo', 'staging-analysis']);
    const attempt = (await auditActions(s)).find((event) => event.action === 'release.go-refused');
    expect(attempt).toMatchObject({ actor: 'user:alice', details: { environment: 'prod', comment: 'ship it', blocking: ['migration', 'staging-analysis', 'e2e', 'compliance-signoff'] } });
    expect((await release(s)).status?.goNoGo ?? []).toEqual([]);

    // Meet every required criterion.
    await deployment(s, 'co-1', 'checkout', 'staging', D1, 'Healthy');
    await deployment(s, 'pay-1', 'payments', 'staging', D2, 'Healthy');
    for (const body of [
      { name: 'e2e', type: 'test', passed: true },
      { name: 'db-migration', type: 'migration', passed: true, service: 'checkout' },
      { name: 'db-migration', type: 'migration', passed: true, service: 'payments' },
    ]) {
      await ok(s.json('POST', '/api/v1/releases/r1/results', { token: tokens.ci, body }));
    }
    await ok(s.json('POST', '/api/v1/releases/r1/signoffs', { token: tokens.carol, body: { group: 'compliance', comment: 'ok' } }));
    const ready = (await s.json('GET', '/api/v1/releases/r1/go-no-go')).body;
    expect(ready.canGo).toBe(true);
    expect(ready.criteria.find((c: any) => c.id === 'coverage').state).toBe('pending');

    const go = await ok(decide(tokens.alice!, { environment: 'prod', decision: 'go', comment: 'all green' }));
    expect(go.decision).toMatchObject({ decision: 'go', environment: 'prod', decidedBy: 'alice', comment: 'all green' });
    expect(go.decision.criteria.map((c: any) => [c.id, c.state])).toEqual([
      ['migration', 'met'],
      ['staging-analysis', 'met'],
      ['e2e', 'met'],
      ['coverage', 'pending'],
      ['compliance-signoff', 'met'],
    ]);
    const goEvent = (await auditActions(s)).at(-1)!;
    expect(goEvent.action).toBe('release.go');
    expect(goEvent.details.criteria).toHaveLength(5);

    // no-go is always allowed and replaces the decision for the environment.
    await ok(decide(tokens.bob!, { environment: 'prod', decision: 'no-go', comment: 'incident in payments' }));
    const decisions = (await release(s)).status.goNoGo;
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({ decision: 'no-go', decidedBy: 'bob' });
    expect((await auditActions(s)).at(-1)!.action).toBe('release.no-go');
    await ok(decide(tokens.bob!, { environment: 'staging', decision: 'no-go', comment: 'later' }));
    expect((await release(s)).status.goNoGo.map((d: any) => d.environment)).toEqual(['prod', 'staging']);
    expect((await s.json('GET', '/api/v1/releases/r1/go-no-go')).body.lastDecision).toMatchObject({ decision: 'no-go', decidedBy: 'bob', comment: 'incident in payments' });

    const bad = await decide(tokens.alice!, { environment: 'prod', decision: 'go' });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].path).toEqual(['comment']);
  });
});

describe('overview', () => {
  it('gathers scope, components, integration points, freeze, go/no-go, promotion path and changes', async () => {
    const { s, tokens, clock } = await world();
    clock.now = new Date('2026-03-12T00:00:00Z');
    await ok(
      s.json('POST', '/api/v1/artifacts', {
        token: tokens.ci,
        body: doc('Artifact', 'checkout-1-0-0', { service: 'checkout', version: '1.0.0', digest: D1, author: 'erin', signatures: [{ keyId: 'k1', signature: 'sig' }], attestations: [{ type: 'sbom' }] }),
      }),
    );
    await s.store.transaction((stores) =>
      stores.objects.create({
        kind: 'Change',
        name: 'chg-1',
        spec: { type: 'normal', title: 'r1 to staging', services: [], businessServices: [], evidence: [] },
        status: { state: 'Scheduled', requestedBy: 'alice', risk: { level: 'medium' } },
      }),
    );
    await deployment(s, 'co-dev', 'checkout', 'dev', D1, 'Healthy');
    await deployment(s, 'co-stg', 'checkout', 'staging', D1, 'Progressing');
    await patchStatus(s, {
      promotions: [
        promotion('dev', { deployments: [{ service: 'checkout', version: '1.0.0', digest: D1, deployment: 'co-dev' }] }),
        promotion('staging', { change: 'chg-1', at: '2026-03-03T10:00:00Z', deployments: [{ service: 'checkout', version: '1.0.0', digest: D1, deployment: 'co-stg' }] }),
      ],
      refusals: [{ environment: 'prod', at: '2026-03-04T00:00:00Z', actor: 'user:alice', gates: [{ gate: 'goNoGo', name: 'prod', outcome: 'pending', message: 'needs a go' }] }],
    });
    await ok(s.json('POST', '/api/v1/releases/r1/results', { token: tokens.ci, body: { name: 'e2e', type: 'test', passed: true } }));

    const overview = (await s.json('GET', '/api/v1/releases/r1/overview', { token: tokens.viewer })).body;
    expect(overview.version).toBe('1.0.0');
    expect(overview.pipeline).toBe('main');
    expect(overview.release.metadata.name).toBe('r1');
    expect(overview.scope.groups.map((g: any) => [g.classification, g.items, g.value])).toEqual([
      ['net-new', 1, 40],
      ['enhancement', 1, 5],
      ['defect-fix', 1, 10],
    ]);
    expect(overview.scope.totals).toEqual({ items: 3, value: 55, contractual: 1, jurisdictions: ['eu'] });
    expect(overview.components).toEqual([
      {
        service: 'checkout',
        version: '1.0.0',
        digest: D1,
        businessServices: ['online-store'],
        artifact: { name: 'checkout-1-0-0', signed: true, signatures: 1, author: 'erin', attestations: ['sbom'] },
      },
      { service: 'payments', version: '2.0.0', digest: D2, businessServices: ['payments-platform'], artifact: null },
    ]);
    expect(overview.integrationPoints).toEqual([
      { service: 'checkout', dependsOn: ['payments'], dependents: { inside: [], outside: ['web'] }, critical: true },
      { service: 'payments', dependsOn: [], dependents: { inside: ['checkout'], outside: ['batch'] }, critical: true },
    ]);
    expect(overview.freeze).toEqual({ freezeDate: FREEZE, frozen: true, message: `scope is frozen since ${FREEZE}` });
    expect(overview.results.map((r: any) => r.name)).toEqual(['e2e']);
    expect(overview.goNoGo.map((v: any) => [v.environment, v.canGo])).toEqual([['prod', false]]);
    // The pending compliance sign-off says which group gives it (the UI offers members a button).
    expect(overview.goNoGo[0].criteria.find((c: any) => c.id === 'compliance-signoff')).toMatchObject({ kind: 'manual', state: 'pending', signoff: { group: 'compliance', count: 1 } });
    expect(overview.promotionPath.map((stage: any) => [stage.environment, stage.production, stage.promoted, stage.change])).toEqual([
      ['dev', false, true, null],
      ['staging', false, true, 'chg-1'],
      ['prod', true, false, null],
    ]);
    expect(overview.promotionPath[1].deployments).toEqual([{ service: 'checkout', version: '1.0.0', digest: D1, deployment: 'co-stg', phase: 'Progressing' }]);
    expect(overview.promotionPath[0].by).toBe('user:alice');
    expect(overview.refusals).toHaveLength(1);
    expect(overview.changes).toEqual([{ name: 'chg-1', environment: 'staging', found: true, state: 'Scheduled', risk: 'medium' }]);
    expect((await s.json('GET', '/api/v1/releases/nope/overview')).status).toBe(404);
  });
});
