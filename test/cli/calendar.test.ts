/**
 * `rollgate calendar` against the real app in-process (the CLI's fetch is the app's handler), with
 * a SQLite store in memory.
 */
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import { calendarQuery, parseDate, viewerZone } from '../../src/cli/commands/calendar.js';
import { main } from '../../src/cli/main.js';
import type { Store } from '../../src/ports/store.js';
import { createApp, type App } from '../../src/server/app.js';
import { createLogger } from '../../src/server/logger.js';
import { createTokenService } from '../../src/server/tokens/service.js';

const SERVER = 'http://rollgate.test';
let store: Store;
let app: App;
let token: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function rollgate(env: Record<string, string>, ...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'rollgate', ...args, '--server', SERVER, '--token', token], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from([]),
    env,
    cwd: process.cwd(),
    fetch: (async (input: string | URL | Request, init?: RequestInit) => app.fetch(new Request(input, init))) as typeof fetch,
  });
  return { code, stdout, stderr };
}

const resource = (kind: string, name: string, spec: Record<string, unknown>) => ({ apiVersion: 'rollgate.dev/v1alpha1', kind, metadata: { name }, spec });

beforeEach(async () => {
  store = await openSqliteStore({ file: ':memory:' });
  token = (await store.transaction((stores) => createTokenService({ now: () => new Date() }).ensureAdminToken(stores)))!;
  app = createApp({ store, logger: createLogger({ level: 'silent' }), now: () => new Date('2026-03-26T12:00:00Z') });
  const documents = [
    resource('Environment', 'prod', { production: true }),
    resource('Service', 'db', { owner: 'team-a', target: { type: 'process', command: 'node db.js' } }),
    resource('Service', 'api', { owner: 'team-a', dependsOn: ['db'], target: { type: 'process', command: 'node api.js' } }),
    resource('Window', 'prod-weekend', { type: 'blackout', timeZone: 'Europe/Berlin', rrule: 'FREQ=WEEKLY;BYDAY=FR', start: '16:00', duration: '62h', scope: { environments: ['prod'] } }),
  ];
  const response = await app.request('/api/v1/apply', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ documents }) });
  expect(response.status).toBe(200);
  const change = (name: string, spec: Record<string, unknown>, status: Record<string, unknown> = {}) =>
    store.transaction((stores) =>
      stores.objects.create({
        kind: 'Change',
        name,
        spec: { type: 'normal', services: [], businessServices: [], evidence: [], ...spec },
        status: { state: 'Scheduled', requestedBy: 'someone', environment: 'prod', requiredApprovals: [], approvals: [], ...status },
      }),
    );
  await change('api-release', { title: 'Release api 2.0', services: ['api'], plannedStart: '2026-03-26T13:00:00Z', plannedEnd: '2026-03-26T14:00:00Z', risk: 'medium' });
  await change('db-patch', { title: 'Patch db', services: ['db'], plannedStart: '2026-03-26T13:30:00Z', plannedEnd: '2026-03-26T15:00:00Z' });
  await change('weekend-hotfix', { type: 'emergency', title: 'Hotfix', services: ['api'], plannedStart: '2026-03-28T09:00:00Z', plannedEnd: '2026-03-28T10:00:00Z' });
  await change('unplanned', { title: 'Someday', services: ['db'] }, { state: 'New' });
});
afterEach(() => store.close());

describe('rollgate calendar', () => {
  it('prints an agenda by day in the viewer zone, the window in its own zone too, then the conflicts', async () => {
    const run = await rollgate({}, 'calendar', '--from', '2026-03-26', '--days', '4', '--tz', 'UTC');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(
      [
        'Calendar Thu 2026-03-26 00:00 – Mon 2026-03-30 00:00 UTC',
        '',
        'Thu 2026-03-26',
        '  13:00 – 14:00       normal change      api-release      "Release api 2.0" · Scheduled · risk medium · api · env prod (production) · 1 conflict',
        '  13:30 – 15:00       normal change      db-patch         "Patch db" · Scheduled · risk - · db · env prod (production) · 1 conflict',
        '',
        'Fri 2026-03-27',
        '  15:00 – Mon 04:00   blackout window    prod-weekend     16:00 – Mon 06:00 Europe/Berlin',
        '',
        'Sat 2026-03-28',
        '  09:00 – 10:00       emergency change   weekend-hotfix   "Hotfix" · Scheduled · risk - · api · env prod (production) · 1 conflict',
        '',
        'UNSCHEDULED (1: no planned start and end)',
        '  unplanned   "Someday" · New · db · env prod',
        '',
        'CONFLICTS (2: 0 blocking, 2 warning)',
        '  WARNING    dependent-service   Changes "api-release", "db-patch" in prod touch dependent services (api (change "api-release") depends on db (change "db-patch")) and overlap Thu 2026-03-26 13:30–14:00 UTC',
        '  WARNING    inside-blackout     Change "weekend-hotfix" (planned Sat 2026-03-28 09:00–10:00 UTC) overlaps blackout window "prod-weekend" (Fri 2026-03-27 16:00 – Mon 2026-03-30 06:00 Europe/Berlin (UTC+01:00/UTC+02:00)); as an emergency change it needs the emergency override to run then',
        '',
      ].join('\n'),
    );
  });

  it('uses TZ when --tz is absent, and does not repeat the window zone when it is the viewer\'s', async () => {
    const run = await rollgate({ TZ: 'Europe/Berlin' }, 'calendar', '--from', '2026-03-27', '--to', '2026-03-27');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Calendar Fri 2026-03-27 00:00 – Sat 2026-03-28 00:00 Europe/Berlin');
    expect(run.stdout).toMatch(/\n {2}16:00 – Mon 06:00 {3}blackout window {3}prod-weekend\n/);
    expect(run.stdout).not.toContain('db-patch');
    expect(run.stdout).toContain('CONFLICTS: none');
  });

  it('-o json and -o yaml print the server\'s calendar', async () => {
    const json = await rollgate({}, 'calendar', '--from', '2026-03-26T00:00:00Z', '--to', '2026-03-27T00:00:00Z', '--env', 'prod', '-o', 'json');
    expect(json.code, json.stderr).toBe(0);
    const body = JSON.parse(json.stdout);
    expect(body).toMatchObject({ from: '2026-03-26T00:00:00.000Z', to: '2026-03-27T00:00:00.000Z', environment: 'prod' });
    expect(body.changes.map((c: any) => c.name)).toEqual(['api-release', 'db-patch']);
    expect(body.conflicts.map((c: any) => c.type)).toEqual(['dependent-service']);
    const yaml = await rollgate({}, 'calendar', '--from', '2026-03-26T00:00:00Z', '--days', '1', '--env', 'prod', '-o', 'yaml');
    expect(yaml.code, yaml.stderr).toBe(0);
    expect(parse(yaml.stdout)).toEqual(body);
  });

  it('refuses bad options as usage errors (exit 2) and reports the server\'s range limit (exit 1)', async () => {
    const badZone = await rollgate({}, 'calendar', '--tz', 'Mars/Olympus');
    expect(badZone.code).toBe(2);
    expect(badZone.stderr).toContain('--tz "Mars/Olympus" is not an IANA time zone');
    expect((await rollgate({}, 'calendar', '--from', 'tomorrow')).stderr).toContain('--from "tomorrow" is not a date');
    expect((await rollgate({}, 'calendar', '--to', '2026-04-01', '--days', '3')).code).toBe(2);
    expect((await rollgate({}, 'calendar', '--days', '0')).code).toBe(2);
    const tooLong = await rollgate({}, 'calendar', '--from', '2026-01-01', '--days', '400');
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr).toMatch(/to: must be at most 366 days after from/);
  });
});

describe('calendar option parsing', () => {
  it('reads dates in the viewer zone, datetimes with an offset as given, and --to dates as the end of the day', () => {
    expect(new Date(parseDate('--from', '2026-03-29', 'Europe/Berlin')).toISOString()).toBe('2026-03-28T23:00:00.000Z');
    expect(new Date(parseDate('--to', '2026-03-29', 'Europe/Berlin', true)).toISOString()).toBe('2026-03-29T22:00:00.000Z');
    expect(new Date(parseDate('--from', '2026-03-29T10:00', 'Europe/Berlin')).toISOString()).toBe('2026-03-29T08:00:00.000Z');
    expect(new Date(parseDate('--from', '2026-03-29T10:00:00-05:00', 'Europe/Berlin')).toISOString()).toBe('2026-03-29T15:00:00.000Z');
    expect(calendarQuery({ days: 2 }, 'UTC', Date.parse('2026-03-01T12:00:00Z'))).toEqual({ from: '2026-03-01T12:00:00.000Z', to: '2026-03-03T12:00:00.000Z' });
    expect(calendarQuery({ env: 'prod' }, 'UTC', 0)).toEqual({ environment: 'prod' });
    expect(viewerZone(undefined, { TZ: 'not/a-zone' })).toBe('UTC');
    expect(viewerZone(undefined, { TZ: 'America/New_York' })).toBe('America/New_York');
  });
});
