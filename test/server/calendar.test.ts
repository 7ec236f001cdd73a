import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { doc, kindPlural, startTestServer, type TestServer } from './helpers.js';

const NOW = new Date('2026-03-09T08:00:00Z');
let server: TestServer;

beforeEach(async () => {
  server = await startTestServer({ app: { now: () => NOW } });
});
afterEach(() => server.close());

async function create(kind: string, name: string, spec: Record<string, unknown>) {
  const response = await server.json('POST', `/api/v1/${kindPlural(kind)}`, { body: doc(kind, name, spec) });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
}

const approval = (user: string, groups: string[], valid = true) => ({
  id: `a-${user}`,
  user,
  groups,
  decision: 'approve',
  comment: 'ok',
  at: '2026-03-08T10:00:00Z',
  valid,
});

/** Changes are written only through their own workflow API; tests put them in the store directly. */
async function createChange(name: string, spec: Record<string, unknown>, status: Record<string, unknown> = {}) {
  await server.store.transaction((stores) =>
    stores.objects.create({
      kind: 'Change',
      name,
      spec: { type: 'normal', title: `title of ${name}`, services: [], businessServices: [], evidence: [], ...spec },
      status: { state: 'Scheduled', requestedBy: 'requester', requiredApprovals: [], approvals: [], ...status },
    }),
  );
}

async function seedWorld() {
  await create('Environment', 'prod', { production: true });
  await create('Environment', 'staging', {});
  await create('Service', 'db', { owner: 'team-a', target: { type: 'process', command: 'node db.js' } });
  await create('Service', 'api', { owner: 'team-a', dependsOn: ['db'], businessServices: ['payments'], target: { type: 'process', command: 'node api.js' } });
  await create('User', 'ann', { groups: ['cab'] });
  await create('User', 'bob', { groups: ['cab', 'dba'] });
  await create('Window', 'prod-freeze', { type: 'blackout', timeZone: 'Europe/Berlin', from: '2026-03-12T00:00:00+01:00', to: '2026-03-13T00:00:00+01:00', scope: { environments: ['prod'] } });
  await create('Window', 'staging-nightly', { type: 'maintenance', timeZone: 'UTC', rrule: 'FREQ=DAILY', start: '01:00', duration: '2h', scope: { environments: ['staging'] } });

  // Overlapping changes to api and db in prod: dependent services.
  await createChange('api-upgrade', { services: ['api'], plannedStart: '2026-03-10T10:00:00Z', plannedEnd: '2026-03-10T12:00:00Z', risk: 'medium' }, { environment: 'prod' });
  await createChange(
    'db-migration',
    { services: ['db'], plannedStart: '2026-03-10T11:00:00Z', plannedEnd: '2026-03-10T13:00:00Z' },
    {
      state: 'Authorize',
      environment: 'prod',
      // cab needs 2: ann's approval counts, bob's was invalidated by an edit; dba needs 1 and has it.
      requiredApprovals: [
        { group: 'cab', count: 2, reason: 'risk high needs 2 from cab' },
        { group: 'dba', count: 1, reason: 'schema change' },
      ],
      approvals: [approval('ann', ['cab']), approval('bob', ['cab', 'dba'], false), approval('bob2', ['dba'])],
      risk: { score: 70, level: 'high', levelBeforeFloor: 'high', factors: [], floor: null, skippedRules: [], assessedAt: '2026-03-08T10:00:00Z' },
    },
  );
  // Inside the prod blackout (Berlin day of the 12th).
  await createChange('frozen', { services: ['api'], plannedStart: '2026-03-12T09:00:00Z', plannedEnd: '2026-03-12T10:00:00Z' }, { environment: 'prod' });
  // Staging, outside its nightly maintenance window, and awaiting a group nobody is in.
  await createChange(
    'staging-test',
    { services: ['api'], plannedStart: '2026-03-11T10:00:00Z', plannedEnd: '2026-03-11T11:00:00Z' },
    { state: 'Authorize', environment: 'staging', requiredApprovals: [{ group: 'qa', count: 1, reason: 'staging sign-off' }] },
  );
  await createChange('canceled', { services: ['api'], plannedStart: '2026-03-10T10:00:00Z', plannedEnd: '2026-03-10T12:00:00Z' }, { state: 'Canceled', environment: 'prod' });
  await createChange('someday', { services: ['db'] }, { state: 'New', environment: 'prod' });
  await createChange('next-month', { services: ['db'], plannedStart: '2026-04-20T10:00:00Z', plannedEnd: '2026-04-20T11:00:00Z' }, { environment: 'prod' });
}

describe('GET /api/v1/calendar', () => {
  it('lists windows, changes and their conflicts over the range, and unscheduled changes', async () => {
    await seedWorld();
    const viewer = await server.token('calendar-viewer', 'viewer');
    const { status, body } = await server.json('GET', '/api/v1/calendar?from=2026-03-09T00:00:00Z&to=2026-03-16T00:00:00Z', { token: viewer });
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ from: '2026-03-09T00:00:00.000Z', to: '2026-03-16T00:00:00.000Z' });

    expect(body.changes.map((c: any) => c.name)).toEqual(['api-upgrade', 'canceled', 'db-migration', 'staging-test', 'frozen']);
    const migration = body.changes.find((c: any) => c.name === 'db-migration');
    expect(migration).toMatchObject({ state: 'Authorize', environment: 'prod', production: true, risk: 'high', pendingGroups: ['cab'], plannedStart: '2026-03-10T11:00:00.000Z' });
    expect(body.changes.find((c: any) => c.name === 'api-upgrade')).toMatchObject({ risk: 'medium', pendingGroups: [] });
    expect(body.changes.find((c: any) => c.name === 'staging-test')).toMatchObject({ production: false, pendingGroups: ['qa'] });

    expect(body.conflicts.map((c: any) => [c.type, c.severity, c.changes])).toEqual([
      ['dependent-service', 'warning', ['api-upgrade', 'db-migration']],
      ['group-overbooked', 'warning', ['staging-test']],
      ['outside-maintenance', 'blocking', ['staging-test']],
      ['inside-blackout', 'blocking', ['frozen']],
    ]);
    expect(body.conflicts[1].message).toContain('Group "qa" has no members');
    expect(body.conflicts[3].message).toContain('blackout window "prod-freeze"');
    expect(migration.conflicts).toEqual(['dependent-service:api-upgrade,db-migration']);

    const freeze = body.windows.find((w: any) => w.name === 'prod-freeze');
    expect(freeze.occurrences).toEqual([
      { startMs: Date.parse('2026-03-11T23:00:00Z'), endMs: Date.parse('2026-03-12T23:00:00Z'), localStart: '2026-03-12T00:00:00+01:00', localEnd: '2026-03-13T00:00:00+01:00' },
    ]);
    expect(body.windows.find((w: any) => w.name === 'staging-nightly').occurrences).toHaveLength(7);
    expect(body.unscheduled).toEqual([{ name: 'someday', title: 'title of someday', type: 'normal', state: 'New', environment: 'prod', services: ['db'], pendingGroups: [] }]);
  });

  it('filters by environment: changes there or naming none, windows that apply to it', async () => {
    await seedWorld();
    await createChange('anywhere', { services: ['db'], plannedStart: '2026-03-10T10:30:00Z', plannedEnd: '2026-03-10T10:45:00Z' });
    const { status, body } = await server.json('GET', '/api/v1/calendar?from=2026-03-09T00:00:00Z&to=2026-03-16T00:00:00Z&environment=staging');
    expect(status).toBe(200);
    expect(body.environment).toBe('staging');
    expect(body.changes.map((c: any) => c.name)).toEqual(['anywhere', 'staging-test']);
    expect(body.windows.map((w: any) => w.name)).toEqual(['staging-nightly']);
    expect(body.unscheduled).toEqual([]);
  });

  it('defaults to now .. now + 14 days', async () => {
    const { status, body } = await server.json('GET', '/api/v1/calendar');
    expect(status).toBe(200);
    expect(body).toMatchObject({ from: '2026-03-09T08:00:00.000Z', to: '2026-03-23T08:00:00.000Z', windows: [], changes: [], conflicts: [], unscheduled: [] });
    const fromOnly = await server.json('GET', '/api/v1/calendar?from=2026-05-01T00:00:00%2B02:00');
    expect(fromOnly.body).toMatchObject({ from: '2026-04-30T22:00:00.000Z', to: '2026-05-14T22:00:00.000Z' });
  });

  it.each([
    ['from=yesterday', 'from', /ISO 8601 datetime/],
    ['from=2026-03-09', 'from', /ISO 8601 datetime/],
    ['to=2026-03-09T00:00:00', 'to', /ISO 8601 datetime/],
    ['from=2026-03-09T00:00:00Z&to=2026-03-08T00:00:00Z', 'to', /must be after from/],
    ['from=2026-01-01T00:00:00Z&to=2027-01-03T00:00:00Z', 'to', /at most 366 days after from/],
    ['environment=Not_A_Name', 'environment', /./],
  ])('400 for %s, naming %s', async (query, field, message) => {
    const { status, body } = await server.json('GET', `/api/v1/calendar?${query}`);
    expect(status).toBe(400);
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0].path).toEqual([field]);
    expect(body.errors[0].message).toMatch(message);
  });

  it('accepts exactly 366 days', async () => {
    const { status } = await server.json('GET', '/api/v1/calendar?from=2026-01-01T00:00:00Z&to=2027-01-02T00:00:00Z');
    expect(status).toBe(200);
  });

  it('needs a token', async () => {
    expect((await server.json('GET', '/api/v1/calendar', { token: null })).status).toBe(401);
  });
});
