import { describe, expect, it } from 'vitest';
import {
  buildCalendar,
  conflictRange,
  conflictsFor,
  type CalendarChange,
  type CalendarInput,
  type Conflict,
} from '../../../src/core/governance/calendar.js';
import type { Window } from '../../../src/core/governance/windows.js';
import type { WindowSpec } from '../../../src/core/resources/window.js';

const t = (iso: string) => Date.parse(iso);

const change = (name: string, overrides: Partial<CalendarChange> = {}): CalendarChange => ({
  name,
  title: `title of ${name}`,
  type: 'normal',
  state: 'Scheduled',
  environment: 'prod',
  services: [],
  businessServices: [],
  plannedStartMs: t('2026-03-10T10:00:00Z'),
  plannedEndMs: t('2026-03-10T12:00:00Z'),
  risk: null,
  pendingGroups: [],
  ...overrides,
});

const win = (name: string, spec: Partial<WindowSpec>): Window => ({ name, spec: { type: 'blackout', timeZone: 'UTC', ...spec } as WindowSpec });

const SERVICES: CalendarInput['services'] = [
  { name: 'api', dependsOn: ['db'], businessServices: ['payments'] },
  { name: 'db', dependsOn: [], businessServices: [] },
  { name: 'web', dependsOn: [], businessServices: ['payments'] },
  { name: 'search', dependsOn: [], businessServices: ['catalog'] },
];

const calendar = (input: Partial<CalendarInput>, options = {}) =>
  buildCalendar(
    {
      fromMs: t('2026-03-01T00:00:00Z'),
      toMs: t('2026-04-01T00:00:00Z'),
      changes: [],
      windows: [],
      services: SERVICES,
      groups: [],
      environments: [{ name: 'prod', production: true }, { name: 'staging', production: false }],
      ...input,
    },
    options,
  );

const summary = (conflicts: Conflict[]) => conflicts.map((c) => `${c.type}/${c.severity}:${c.changes.join(',')}${c.services ? `[${c.services.join(',')}]` : ''}`);

describe('change against change', () => {
  const cases: Array<{ name: string; a: Partial<CalendarChange>; b: Partial<CalendarChange>; expected: string[] }> = [
    {
      name: 'same service, same environment, overlapping: blocking',
      a: { services: ['api'] },
      b: { services: ['api', 'search'], plannedStartMs: t('2026-03-10T11:00:00Z'), plannedEndMs: t('2026-03-10T13:00:00Z') },
      expected: ['same-service/blocking:a,b[api]'],
    },
    {
      name: 'same service, one without an environment: warning (it may be the same one)',
      a: { services: ['api'] },
      b: { services: ['api'], environment: undefined },
      expected: ['same-service/warning:a,b[api]'],
    },
    {
      name: 'a touches api, which depends on db, touched by b',
      a: { services: ['api'] },
      b: { services: ['db'] },
      expected: ['dependent-service/warning:a,b[api,db]'],
    },
    {
      name: 'the other direction: a touches db, b touches api',
      a: { services: ['db'] },
      b: { services: ['api'] },
      expected: ['dependent-service/warning:a,b[api,db]'],
    },
    {
      name: 'same business service through the services (api and web are both payments)',
      a: { services: ['web'] },
      b: { services: ['api'] },
      expected: ['same-business-service/warning:a,b[payments]'],
    },
    {
      name: 'same business service named on the change itself',
      a: { services: ['search'], businessServices: ['checkout'] },
      b: { services: ['db'], businessServices: ['checkout'] },
      expected: ['same-business-service/warning:a,b[checkout]'],
    },
    {
      name: 'only the most specific relation: same service wins over dependency and business service',
      a: { services: ['api', 'db'] },
      b: { services: ['api'] },
      expected: ['same-service/blocking:a,b[api]'],
    },
    {
      name: 'back to back (end = next start) does not overlap',
      a: { services: ['api'] },
      b: { services: ['api'], plannedStartMs: t('2026-03-10T12:00:00Z'), plannedEndMs: t('2026-03-10T14:00:00Z') },
      expected: [],
    },
    {
      name: 'different environments do not conflict',
      a: { services: ['api'] },
      b: { services: ['api'], environment: 'staging' },
      expected: [],
    },
    {
      name: 'a canceled change is ignored',
      a: { services: ['api'] },
      b: { services: ['api'], state: 'Canceled' },
      expected: [],
    },
    {
      name: 'a closed change is ignored',
      a: { services: ['api'] },
      b: { services: ['db'], state: 'Closed' },
      expected: [],
    },
    {
      name: 'unrelated services',
      a: { services: ['search'] },
      b: { services: ['db'] },
      expected: [],
    },
  ];

  it.each(cases)('$name', ({ a, b, expected }) => {
    const result = calendar({ changes: [change('b', b), change('a', a)] });
    expect(summary(result.conflicts)).toEqual(expected);
    for (const id of result.conflicts.map((c) => c.id)) {
      expect(result.changes.find((c) => c.name === 'a')!.conflicts).toContain(id);
      expect(result.changes.find((c) => c.name === 'b')!.conflicts).toContain(id);
    }
  });

  it('names the changes, services, environment and the overlap in the message', () => {
    const result = calendar({
      changes: [change('a', { services: ['api'] }), change('b', { services: ['api'], plannedStartMs: t('2026-03-10T11:00:00Z'), plannedEndMs: t('2026-03-10T13:00:00Z') })],
    });
    expect(result.conflicts[0]!.message).toBe(
      'Changes "a", "b" both touch service api in prod and overlap Tue 2026-03-10 11:00–12:00 UTC; only one rollout per service and environment can run at a time',
    );
    const dependent = calendar({ changes: [change('a', { services: ['db'] }), change('b', { services: ['api'] })] });
    expect(dependent.conflicts[0]!.message).toBe(
      'Changes "a", "b" in prod touch dependent services (api (change "b") depends on db (change "a")) and overlap Tue 2026-03-10 10:00–12:00 UTC',
    );
  });
});

describe('changes against windows', () => {
  const maintenance = win('prod-maintenance', {
    type: 'maintenance',
    timeZone: 'Europe/Berlin',
    rrule: 'FREQ=WEEKLY;BYDAY=SA',
    start: '22:00',
    duration: '4h',
    scope: { environments: ['prod'] },
  });
  const blackout = win('freeze', { type: 'blackout', from: '2026-03-20T00:00:00Z', to: '2026-03-23T00:00:00Z', scope: { environments: ['prod'] } });

  const cases: Array<{ name: string; change: Partial<CalendarChange>; windows: Window[]; expected: string[] }> = [
    {
      // Sat 2026-03-14 22:00-02:00 Berlin (CET) = 21:00-01:00 UTC.
      name: 'inside the maintenance window: no conflict',
      change: { plannedStartMs: t('2026-03-14T21:30:00Z'), plannedEndMs: t('2026-03-15T00:30:00Z') },
      windows: [maintenance],
      expected: [],
    },
    {
      name: 'running past the end of the maintenance window',
      change: { plannedStartMs: t('2026-03-14T23:00:00Z'), plannedEndMs: t('2026-03-15T02:00:00Z') },
      windows: [maintenance],
      expected: ['outside-maintenance/blocking:c'],
    },
    {
      name: 'on a weekday, far from any maintenance window',
      change: {},
      windows: [maintenance],
      expected: ['outside-maintenance/blocking:c'],
    },
    {
      name: 'maintenance windows of another environment do not apply',
      change: { environment: 'staging' },
      windows: [maintenance],
      expected: [],
    },
    {
      name: 'a change without an environment is held to environment-limited windows (fail closed)',
      change: { environment: undefined },
      windows: [maintenance],
      expected: ['outside-maintenance/blocking:c'],
    },
    {
      name: 'a normal change inside a blackout: blocking',
      change: { plannedStartMs: t('2026-03-21T10:00:00Z'), plannedEndMs: t('2026-03-21T11:00:00Z') },
      windows: [blackout],
      expected: ['inside-blackout/blocking:c'],
    },
    {
      name: 'an emergency change inside a blackout: warning (needs the override)',
      change: { type: 'emergency', plannedStartMs: t('2026-03-21T10:00:00Z'), plannedEndMs: t('2026-03-21T11:00:00Z') },
      windows: [blackout],
      expected: ['inside-blackout/warning:c'],
    },
    {
      name: 'ending exactly when the blackout starts: no conflict',
      change: { plannedStartMs: t('2026-03-19T22:00:00Z'), plannedEndMs: t('2026-03-20T00:00:00Z') },
      windows: [blackout],
      expected: [],
    },
    {
      name: 'a canceled change inside a blackout is ignored',
      change: { state: 'Canceled', plannedStartMs: t('2026-03-21T10:00:00Z'), plannedEndMs: t('2026-03-21T11:00:00Z') },
      windows: [blackout],
      expected: [],
    },
  ];

  it.each(cases)('$name', ({ change: overrides, windows, expected }) => {
    expect(summary(calendar({ changes: [change('c', overrides)], windows }).conflicts)).toEqual(expected);
  });

  it('says where the change leaves the maintenance window, in the window\'s zone', () => {
    const result = calendar({ changes: [change('c', { plannedStartMs: t('2026-03-14T23:00:00Z'), plannedEndMs: t('2026-03-15T02:00:00Z') })], windows: [maintenance] });
    expect(result.conflicts[0]).toMatchObject({ window: 'prod-maintenance', atMs: t('2026-03-14T23:00:00Z') });
    expect(result.conflicts[0]!.message).toBe(
      'Change "c" is planned Sun 2026-03-15 00:00–03:00 Europe/Berlin (UTC+01:00) but is not entirely inside maintenance window "prod-maintenance": uncovered from Sun 2026-03-15 02:00 Europe/Berlin (UTC+01:00)',
    );
  });

  it('two adjacent maintenance windows together cover a change', () => {
    const early = win('early', { type: 'maintenance', from: '2026-03-10T09:00:00Z', to: '2026-03-10T11:00:00Z' });
    const late = win('late', { type: 'maintenance', from: '2026-03-10T11:00:00Z', to: '2026-03-10T13:00:00Z' });
    expect(calendar({ changes: [change('c')], windows: [early, late] }).conflicts).toEqual([]);
    expect(summary(calendar({ changes: [change('c')], windows: [early] }).conflicts)).toEqual(['outside-maintenance/blocking:c']);
  });

  it('the blackout message names the window and the emergency override', () => {
    const result = calendar({ changes: [change('c', { type: 'emergency', plannedStartMs: t('2026-03-21T10:00:00Z'), plannedEndMs: t('2026-03-21T11:00:00Z') })], windows: [blackout] });
    expect(result.conflicts[0]!.message).toBe(
      'Change "c" (planned Sat 2026-03-21 10:00–11:00 UTC) overlaps blackout window "freeze" (Fri 2026-03-20 00:00 – Mon 2026-03-23 00:00 UTC); as an emergency change it needs the emergency override to run then',
    );
  });

  it('window scope by service: a blackout for search does not touch a change to db', () => {
    const searchOnly = win('search-freeze', { from: '2026-03-01T00:00:00Z', to: '2026-03-31T00:00:00Z', scope: { services: ['search'] } });
    expect(calendar({ changes: [change('c', { services: ['db'] })], windows: [searchOnly] }).conflicts).toEqual([]);
    expect(summary(calendar({ changes: [change('c', { services: ['search'] })], windows: [searchOnly] }).conflicts)).toEqual(['inside-blackout/blocking:c']);
  });
});

describe('windows in the calendar', () => {
  it('a weekly Europe/Berlin window keeps 16:00 local across the March DST change, so its UTC start moves', () => {
    const weekend = win('weekend', { timeZone: 'Europe/Berlin', rrule: 'FREQ=WEEKLY;BYDAY=FR', start: '16:00', duration: '62h', scope: { environments: ['prod'] } });
    const result = calendar({ fromMs: t('2026-03-20T00:00:00Z'), toMs: t('2026-04-04T00:00:00Z'), windows: [weekend] });
    expect(result.windows).toEqual([
      {
        name: 'weekend',
        type: 'blackout',
        timeZone: 'Europe/Berlin',
        scope: { environments: ['prod'] },
        occurrences: [
          { startMs: t('2026-03-20T15:00:00Z'), endMs: t('2026-03-23T05:00:00Z'), localStart: '2026-03-20T16:00:00+01:00', localEnd: '2026-03-23T06:00:00+01:00' },
          // CET -> CEST: ends 06:00 local after 61 real hours.
          { startMs: t('2026-03-27T15:00:00Z'), endMs: t('2026-03-30T04:00:00Z'), localStart: '2026-03-27T16:00:00+01:00', localEnd: '2026-03-30T06:00:00+02:00' },
          { startMs: t('2026-04-03T14:00:00Z'), endMs: t('2026-04-06T04:00:00Z'), localStart: '2026-04-03T16:00:00+02:00', localEnd: '2026-04-06T06:00:00+02:00' },
        ],
      },
    ]);
  });

  it('a change on the DST weekend is checked against the shifted occurrence', () => {
    const weekend = win('weekend', { timeZone: 'Europe/Berlin', rrule: 'FREQ=WEEKLY;BYDAY=FR', start: '16:00', duration: '62h' });
    // Mon 2026-03-30 04:30 UTC is 06:30 CEST: after the blackout (which ends 04:00 UTC, not 05:00).
    const after = change('after', { plannedStartMs: t('2026-03-30T04:30:00Z'), plannedEndMs: t('2026-03-30T05:00:00Z') });
    // 14:30-15:30 UTC on Friday the 27th: the blackout starts 15:00 UTC (16:00 CET).
    const before = change('before', { plannedStartMs: t('2026-03-27T14:30:00Z'), plannedEndMs: t('2026-03-27T15:30:00Z') });
    expect(summary(calendar({ changes: [after, before], windows: [weekend] }).conflicts)).toEqual(['inside-blackout/blocking:before']);
  });
});

describe('approver groups', () => {
  const waiting = (name: string, startIso: string, groups = ['cab']) =>
    change(name, { state: 'Authorize', services: [name], plannedStartMs: t(startIso), plannedEndMs: t(startIso) + 3_600_000, pendingGroups: groups });
  const sixOnOneDay = ['a', 'b', 'c', 'd', 'e', 'f'].map((name, index) => waiting(name, `2026-03-10T${String(index * 3 + 1).padStart(2, '0')}:00:00Z`));

  const cases = [
    { name: 'at capacity (2 members x 3 = 6 changes): not overbooked', members: ['ann', 'bob'], changes: sixOnOneDay, perDay: undefined, expected: [] as string[] },
    {
      name: 'one more than capacity: overbooked',
      members: ['ann', 'bob'],
      changes: [...sixOnOneDay, waiting('g', '2026-03-10T23:00:00Z')],
      perDay: undefined,
      expected: ['group-overbooked/warning:a,b,c,d,e,f,g'],
    },
    {
      name: 'the same seven spread over two UTC days: not overbooked',
      members: ['ann', 'bob'],
      changes: [...sixOnOneDay.slice(0, 5), waiting('f', '2026-03-11T01:00:00Z'), waiting('g', '2026-03-11T02:00:00Z')],
      perDay: undefined,
      expected: [],
    },
    { name: 'approvalsPerMemberPerDay lowers the capacity', members: ['ann', 'bob'], changes: sixOnOneDay.slice(0, 3), perDay: 1, expected: ['group-overbooked/warning:a,b,c'] },
    { name: 'a group with no members is overbooked by one change', members: [], changes: [waiting('a', '2026-03-10T10:00:00Z')], perDay: undefined, expected: ['group-overbooked/warning:a'] },
    {
      name: 'changes that no longer await the group do not count',
      members: [],
      changes: [waiting('a', '2026-03-10T10:00:00Z', [])],
      perDay: undefined,
      expected: [],
    },
  ];

  it.each(cases)('$name', ({ members, changes, perDay, expected }) => {
    const result = calendar({ changes, groups: [{ name: 'cab', members }] }, perDay === undefined ? {} : { approvalsPerMemberPerDay: perDay });
    expect(summary(result.conflicts.filter((c) => c.type === 'group-overbooked'))).toEqual(expected);
  });

  it('messages give the count, the capacity and the day; an empty group says it has no members', () => {
    const over = calendar({ changes: [...sixOnOneDay, waiting('g', '2026-03-10T23:00:00Z')], groups: [{ name: 'cab', members: ['ann', 'bob'] }] });
    expect(over.conflicts[0]).toMatchObject({ id: 'group-overbooked:cab:2026-03-10', group: 'cab', atMs: t('2026-03-10T00:00:00Z') });
    expect(over.conflicts[0]!.message).toBe(
      'Group "cab" has 7 changes awaiting its approval starting on Tue 2026-03-10 (UTC), more than it can review (2 members × 3 a day = 6): a, b, c, d, e, f, g',
    );
    const empty = calendar({ changes: [waiting('a', '2026-03-10T10:00:00Z', ['sre'])] });
    expect(empty.conflicts[0]!.message).toBe('Group "sre" has no members, but 1 change starting on Tue 2026-03-10 (UTC) awaits its approval: a');
  });
});

describe('calendar shape', () => {
  it('lists changes overlapping the range by start then name, orders conflicts by time, and flags production', () => {
    const result = calendar({
      fromMs: t('2026-03-10T00:00:00Z'),
      toMs: t('2026-03-11T00:00:00Z'),
      changes: [
        change('z-late', { services: ['db'], plannedStartMs: t('2026-03-10T20:00:00Z'), plannedEndMs: t('2026-03-10T21:00:00Z') }),
        change('b', { services: ['api'] }),
        change('a', { services: ['api'], environment: undefined }),
        change('y', { services: ['db'], plannedStartMs: t('2026-03-10T20:30:00Z'), plannedEndMs: t('2026-03-10T22:00:00Z') }),
        change('outside', { plannedStartMs: t('2026-03-12T10:00:00Z'), plannedEndMs: t('2026-03-12T11:00:00Z') }),
        change('continuing', { environment: 'staging', plannedStartMs: t('2026-03-09T22:00:00Z'), plannedEndMs: t('2026-03-10T01:00:00Z') }),
      ],
    });
    expect(result.changes.map((c) => [c.name, c.production])).toEqual([
      ['continuing', false],
      ['a', null],
      ['b', true],
      ['z-late', true],
      ['y', true],
    ]);
    expect(result.conflicts.map((c) => c.id)).toEqual(['same-service:a,b', 'same-service:y,z-late']);
    expect(result.changes.find((c) => c.name === 'b')).toMatchObject({ plannedStart: '2026-03-10T10:00:00.000Z', plannedEnd: '2026-03-10T12:00:00.000Z', conflicts: ['same-service:a,b'] });
  });

  it('conflictsFor returns one change\'s conflicts; conflictRange widens to whole UTC days', () => {
    const blackout = win('freeze', { from: '2026-03-10T11:00:00Z', to: '2026-03-10T18:00:00Z' });
    const result = calendar({ changes: [change('a', { services: ['api'] }), change('b', { services: ['api'] }), change('c', { services: ['search'] })], windows: [blackout] });
    expect(conflictsFor('c', result).map((c) => c.id)).toEqual(['inside-blackout:c:freeze']);
    expect(conflictsFor('a', result).map((c) => c.id)).toEqual(['same-service:a,b', 'inside-blackout:a:freeze']);
    expect(conflictsFor('nobody', result)).toEqual([]);
    expect(conflictRange(t('2026-03-10T10:00:00Z'), t('2026-03-11T01:00:00Z'))).toEqual({ fromMs: t('2026-03-10T00:00:00Z'), toMs: t('2026-03-12T00:00:00Z') });
    expect(conflictRange(t('2026-03-10T00:00:00Z'), t('2026-03-10T00:00:00Z'))).toEqual({ fromMs: t('2026-03-10T00:00:00Z'), toMs: t('2026-03-11T00:00:00Z') });
  });

  it('does not throw on odd input', () => {
    const broken = { name: 'broken', spec: { type: 'blackout', timeZone: 'UTC', rrule: 'FREQ=NOPE', start: '10:00', duration: '1h' } as WindowSpec };
    const result = calendar({
      changes: [
        change('nan', { plannedStartMs: Number.NaN }),
        change('backwards', { services: ['api'], plannedStartMs: t('2026-03-10T11:00:00Z'), plannedEndMs: t('2026-03-10T09:00:00Z') }),
        change('dup', { services: ['api'] }),
        change('dup', { services: ['db'], environment: 'staging' }),
        change('ghost', { services: ['unknown-service'], environment: 'unknown-env', pendingGroups: ['unknown-group'] }),
      ],
      windows: [broken],
      services: [{ name: 'api', dependsOn: ['api'], businessServices: [] }],
    });
    expect(result.ignored).toEqual([{ name: 'nan', reason: 'planned start or end is not a valid time' }]);
    expect(result.windows[0]).toMatchObject({ name: 'broken', occurrences: [] });
    expect(result.windows[0]!.error).toBeTruthy();
    // The backwards change is a 1 ms interval at its start, inside "dup" (kept: the first one).
    expect(summary(result.conflicts)).toEqual(['group-overbooked/warning:ghost', 'same-service/blocking:backwards,dup[api]']);
    expect(result.changes.find((c) => c.name === 'ghost')!.production).toBeNull();
    // An empty or reversed range is an empty calendar.
    expect(calendar({ fromMs: t('2026-03-10T00:00:00Z'), toMs: t('2026-03-09T00:00:00Z'), changes: [change('a')] })).toMatchObject({ changes: [], conflicts: [], windows: [] });
  });
});
