/**
 * The typed client against the real app (in-process, through `app.request`) for the wire fields
 * the web UI relies on: the audit log newest first with an action filter, CAB entries with
 * services and evidence, release specs written without their defaults, the calendar's planned
 * times and ignored changes, and the group a pending go/no-go sign-off needs. Also that a newer
 * client still reads an older server's answers without those fields.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type RollgateClient } from '../../src/client/index.js';
import type { ReleaseSpecInput } from '../../src/client/releases.js';
import { doc, MINIMAL_SPECS, startTestServer, type TestServer } from '../server/helpers.js';
import { sendJson, startStub, type StubServer } from './stub-server.js';

let server: TestServer | undefined;
let stub: StubServer | undefined;
afterEach(async () => {
  await server?.close();
  await stub?.close();
  server = undefined;
  stub = undefined;
});

const D1 = `sha256:${'1'.repeat(64)}`;

/** A client whose fetch calls the app in-process. */
function clientOf(s: TestServer, token = s.adminToken): RollgateClient {
  const fetch = ((input: Request | URL | string, init?: RequestInit) => Promise.resolve(s.app.request(input instanceof Request ? input : String(input), init))) as typeof globalThis.fetch;
  return createClient({ server: 'http://rollgate.test', token, fetch });
}

async function userClient(s: TestServer, user: string, groups: string[], role: 'viewer' | 'deployer' | 'approver' = 'approver'): Promise<RollgateClient> {
  const admin = clientOf(s);
  await admin.apply([doc('User', user, { groups })]);
  const created = await admin.tokens.create({ name: `${user}-token`, role, user });
  return clientOf(s, created.token);
}

describe('typed client against the app', () => {
  it('audit.list: newest first, paged by beforeSeq, filtered by action exactly or by prefix', async () => {
    server = await startTestServer();
    const client = clientOf(server);
    await client.apply(['a', 'b', 'c'].map((name) => doc('Environment', name, {})));
    await client.tokens.create({ name: 'ci', role: 'deployer' });
    await client.tokens.revoke('ci');
    // 1 token.create (admin), 2..4 create Environment, 5 token.create, 6 token.revoke.
    const first = await client.audit.list({ order: 'desc', limit: 4 });
    expect(first.items.map((event) => event.seq)).toEqual([6, 5, 4, 3]);
    expect(first.nextCursor).toBe('3');
    const second = await client.audit.list({ order: 'desc', limit: 4, beforeSeq: Number(first.nextCursor) });
    expect(second.items.map((event) => event.seq)).toEqual([2, 1]);
    expect(second.nextCursor).toBeNull();
    expect((await client.audit.list({ action: 'token.*', order: 'desc' })).items.map((event) => `${event.seq} ${event.action}`)).toEqual(['6 token.revoke', '5 token.create', '1 token.create']);
    expect((await client.audit.list({ action: 'create', kind: 'Environment' })).items.map((event) => event.name)).toEqual(['a', 'b', 'c']);
  });

  it('changes.cab: services, business services and evidence of each waiting change', async () => {
    server = await startTestServer();
    const admin = clientOf(server);
    await admin.apply([
      doc('Environment', 'prod', { production: true, approvals: [{ group: 'cab', count: 1 }] }),
      doc('Service', 'checkout', { ...MINIMAL_SPECS.Service, businessServices: ['online-store'] }),
    ]);
    const alice = await userClient(server, 'alice', ['dev']);
    const evidence = [{ title: 'Load test', link: 'https://ci.example/88', kind: 'test-report' }];
    const created = await alice.changes.create({
      type: 'normal',
      title: 'Upgrade checkout',
      services: ['checkout'],
      businessServices: ['payments'],
      evidence,
      environment: 'prod',
      plannedStart: '2030-01-01T10:00:00Z',
      plannedEnd: '2030-01-01T11:00:00Z',
      implementationPlan: 'deploy',
      backoutPlan: 'abort',
      testPlan: 'smoke',
      justification: 'needed',
    });
    const name = created.metadata.name;
    for (const to of ['Assess', 'Authorize'] as const) await alice.changes.transition(name, to);
    const [entry] = await admin.changes.cab();
    expect(entry).toMatchObject({ name, services: ['checkout'], businessServices: ['payments'], evidence });
  });

  it('releases.create takes the spec as written: criteria without `required`, sign-offs without `count`; the overview names the sign-off group', async () => {
    server = await startTestServer();
    const admin = clientOf(server);
    await admin.apply([doc('Environment', 'prod', { production: true }), doc('Service', 'ledger', MINIMAL_SPECS.Service)]);
    // Type-checked: `required` (default true) and `count` (default 1) are left out.
    const spec: ReleaseSpecInput = {
      version: '1.0.0',
      components: [{ service: 'ledger', version: '1.0.0', digest: D1 }],
      goNoGo: { environment: 'prod', criteria: [{ id: 'qa', signoff: { group: 'qa' } }, { id: 'e2e', result: { name: 'e2e' } }] },
    };
    await admin.releases.create(spec, { name: 'r1' });
    const [view] = (await admin.releases.overview('r1')).goNoGo;
    expect(view!.criteria.map((criterion) => [criterion.id, criterion.required, criterion.state, criterion.signoff ?? null])).toEqual([
      ['qa', true, 'pending', { group: 'qa', count: 1 }],
      ['e2e', true, 'pending', null],
    ]);
    const quinn = await userClient(server, 'quinn', ['qa']);
    await quinn.releases.signoff('r1', { group: 'qa', comment: 'exploratory tests done' });
    const after = (await admin.releases.overview('r1')).goNoGo[0]!.criteria[0]!;
    expect(after).toMatchObject({ state: 'met', signoff: { group: 'qa', count: 1 } });
  });

  it('calendar.get: fromMs / toMs, planned times in ISO and the ignored changes are typed and kept', async () => {
    server = await startTestServer();
    const admin = clientOf(server);
    await admin.apply([doc('Environment', 'prod', { production: true }), doc('Service', 'checkout', MINIMAL_SPECS.Service)]);
    const status = { state: 'Assess', requestedBy: 'alice' };
    const spec = { type: 'normal', title: 'Planned', services: ['checkout'], businessServices: [], evidence: [] };
    // Written straight to the store: the API would refuse a planned time that is not a time (as an older version may have stored it).
    await server.store.transaction(async (stores) => {
      await stores.objects.create({ kind: 'Change', name: 'chg-good', spec: { ...spec, plannedStart: '2030-01-01T10:00:00+01:00', plannedEnd: '2030-01-01T11:00:00+01:00' }, status });
      await stores.objects.create({ kind: 'Change', name: 'chg-bad', spec: { ...spec, plannedStart: 'next tuesday', plannedEnd: '2030-01-01T11:00:00Z' }, status });
    });
    const calendar = await admin.calendar.get({ from: '2030-01-01T00:00:00Z', to: '2030-01-02T00:00:00Z' });
    expect(calendar.fromMs).toBe(Date.parse('2030-01-01T00:00:00Z'));
    expect(calendar.toMs).toBe(Date.parse('2030-01-02T00:00:00Z'));
    expect(calendar.changes.map((change) => [change.name, change.plannedStart, change.plannedEnd])).toEqual([['chg-good', '2030-01-01T09:00:00.000Z', '2030-01-01T10:00:00.000Z']]);
    expect(calendar.ignored).toEqual([{ name: 'chg-bad', reason: 'planned start or end is not a valid time' }]);
    expect(calendar.unscheduled).toEqual([]);
  });
});

describe('typed client against an older server', () => {
  it('reads CAB entries without services, business services or evidence as empty lists', async () => {
    const entry = { name: 'chg-1', title: 't', type: 'normal', state: 'Authorize', environment: null, release: null, requestedBy: 'alice', authors: [], plannedStart: null, plannedEnd: null, risk: null, requirements: [], rejected: null, conflicts: [] };
    stub = await startStub((_req, res) => sendJson(res, 200, { items: [entry] }));
    const [read] = await createClient({ server: stub.url }).changes.cab();
    expect(read).toMatchObject({ services: [], businessServices: [], evidence: [] });
  });

  it('reads a calendar without fromMs, toMs, ignored or planned ISO times', async () => {
    const change = { name: 'chg-1', type: 'normal', state: 'New', plannedStartMs: 1, plannedEndMs: 2 };
    stub = await startStub((_req, res) => sendJson(res, 200, { from: 'a', to: 'b', windows: [], changes: [change], conflicts: [], unscheduled: [] }));
    const calendar = await createClient({ server: stub.url }).calendar.get();
    expect(calendar.ignored).toEqual([]);
    expect(calendar.fromMs).toBeUndefined();
    expect(calendar.changes[0]!.plannedStart).toBeUndefined();
  });
});
