import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { calendarResponseSchema, type CalendarResponse } from '../../../../src/client/calendar.js';
import { agendaDays, calendarItems, calendarRange, ownZoneSpan, parseAnchor, placeItems, segmentTime, sortConflicts, viewerSpan } from './derive.js';

const BERLIN = 'Europe/Berlin';
const at = (iso: string) => DateTime.fromISO(iso, { setZone: true }).toMillis();

function response(partial: Partial<Record<keyof CalendarResponse, unknown>>): CalendarResponse {
  return calendarResponseSchema.parse({ from: '2026-10-19T00:00:00Z', to: '2026-10-26T00:00:00Z', ...partial });
}

const blackout = {
  name: 'weekend-freeze',
  type: 'blackout',
  timeZone: BERLIN,
  scope: { environments: ['prod'] },
  occurrences: [{ startMs: at('2026-10-23T22:00:00+02:00'), endMs: at('2026-10-24T02:00:00+02:00'), localStart: '2026-10-23T22:00:00.000+02:00', localEnd: '2026-10-24T02:00:00.000+02:00' }],
};
const change = {
  name: 'chg-00001',
  title: 'Upgrade ledger',
  type: 'normal',
  state: 'Assess',
  environment: 'prod',
  services: ['ledger'],
  businessServices: [],
  plannedStartMs: at('2026-10-23T23:00:00+02:00'),
  plannedEndMs: at('2026-10-24T00:30:00+02:00'),
  risk: 'medium',
  pendingGroups: ['cab'],
  production: true,
  conflicts: ['c1'],
};
const conflict = { id: 'c1', type: 'inside-blackout', severity: 'blocking', changes: ['chg-00001'], window: 'weekend-freeze', atMs: change.plannedStartMs, message: 'Change "chg-00001" is planned inside blackout window "weekend-freeze"' };

describe('calendarRange', () => {
  it('a week is Monday to Sunday in the zone, with prev / next anchors', () => {
    const range = calendarRange('week', '2026-11-26', BERLIN);
    expect(range.days.map((d) => d.date)).toEqual(['2026-11-23', '2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27', '2026-11-28', '2026-11-29']);
    expect(range.fromMs).toBe(at('2026-11-23T00:00:00+01:00'));
    expect(range.toMs).toBe(at('2026-11-30T00:00:00+01:00'));
    expect(range.title).toBe('23 – 29 Nov 2026');
    expect([range.previous, range.next]).toEqual(['2026-11-19', '2026-12-03']);
  });

  it('the week with the Europe/Berlin fall-back (2026-10-25) has a 25-hour Sunday', () => {
    const range = calendarRange('week', '2026-10-21', BERLIN);
    const sunday = range.days[6]!;
    expect(sunday.date).toBe('2026-10-25');
    expect(sunday.hours).toBe(25);
    expect(sunday.endMs - sunday.startMs).toBe(25 * 3_600_000);
    expect(sunday.dstNote).toBe('25-hour day: clocks go back 1 h at 03:00');
    expect(range.days.slice(0, 6).every((d) => d.hours === 24)).toBe(true);
    // The same week in New York has no DST change (theirs is 2026-11-01).
    expect(calendarRange('week', '2026-10-21', 'America/New_York').days.every((d) => d.hours === 24)).toBe(true);
  });

  it('a spring-forward day has 23 hours and a gap at 02:00–03:00', () => {
    const day = calendarRange('week', '2026-03-29', BERLIN).days.find((d) => d.date === '2026-03-29')!;
    expect(day.hours).toBe(23);
    expect(day.gap).toEqual({ fromMinute: 120, toMinute: 180 });
    expect(day.dstNote).toBe('23-hour day: clocks go forward 1 h at 02:00');
  });

  it('a month view covers whole weeks around the month and marks the days outside it', () => {
    const range = calendarRange('month', '2026-11-10', BERLIN);
    expect(range.days[0]!.date).toBe('2026-10-26');
    expect(range.days.at(-1)!.date).toBe('2026-12-06');
    expect(range.days.length % 7).toBe(0);
    expect(range.days.filter((d) => d.inMonth)).toHaveLength(30);
    expect(range.title).toBe('November 2026');
    expect([range.previous, range.next]).toEqual(['2026-10-10', '2026-12-10']);
  });

  it('parses only real dates', () => {
    expect(parseAnchor('2026-02-30', BERLIN)).toBeUndefined();
    expect(parseAnchor('tomorrow', BERLIN)).toBeUndefined();
    expect(parseAnchor('2026-02-28', BERLIN)).toBe('2026-02-28');
  });
});

describe('items', () => {
  it('shows a window occurrence in its own zone and a change with its conflict', () => {
    const items = calendarItems(response({ windows: [blackout], changes: [change], conflicts: [conflict] }), 'America/New_York');
    expect(items.map((i) => i.id)).toEqual([`window:weekend-freeze:${blackout.occurrences[0]!.startMs}`, 'change:chg-00001']);
    const [window, planned] = items;
    expect(window!.ownTime).toBe('Fri 22:00–02:00 Europe/Berlin');
    expect(window!.details).toContain("Window's own zone: Fri 22:00–02:00 Europe/Berlin");
    expect(window!.details).toContain('Fri 23 Oct 16:00 – 20:00 America/New_York');
    expect(window!.severity).toBe('blocking');
    expect(planned!.severity).toBe('blocking');
    expect(planned!.conflictMessages).toEqual([conflict.message]);
    expect(planned!.details).toContain('Awaiting approval of cab');
  });

  it('formats long and short own-zone spans', () => {
    expect(ownZoneSpan('2026-10-23T16:00:00+02:00', '2026-10-26T06:00:00+01:00', BERLIN)).toBe('Fri 16:00–Mon 06:00 Europe/Berlin');
    expect(ownZoneSpan('2026-10-23T10:00:00-04:00', '2026-10-23T14:00:00-04:00', 'America/New_York')).toBe('Fri 10:00–14:00 America/New_York');
    expect(viewerSpan(at('2026-10-23T22:00:00+02:00'), at('2026-10-24T02:00:00+02:00'), BERLIN)).toBe('Fri 23 Oct 22:00 – Sat 24 Oct 02:00');
  });

  it('orders conflicts blocking first', () => {
    const warning = { ...conflict, id: 'c0', severity: 'warning', atMs: 0 };
    expect(sortConflicts(response({ conflicts: [warning, conflict] }).conflicts).map((c) => c.id)).toEqual(['c1', 'c0']);
  });
});

describe('placeItems', () => {
  const range = calendarRange('week', '2026-10-21', BERLIN);

  it('splits a window crossing midnight into two segments on two days', () => {
    const items = calendarItems(response({ windows: [blackout] }), BERLIN);
    const placed = placeItems(items, range.days, BERLIN);
    const friday = placed[4]!;
    const saturday = placed[5]!;
    expect(friday).toHaveLength(1);
    expect(friday[0]).toMatchObject({ topMinute: 22 * 60, bottomMinute: 24 * 60, continuesBefore: false, continuesAfter: true });
    expect(saturday[0]).toMatchObject({ topMinute: 0, bottomMinute: 120, continuesBefore: true, continuesAfter: false });
    expect(segmentTime(friday[0]!, BERLIN)).toBe('22:00–24:00');
    expect(segmentTime(saturday[0]!, BERLIN)).toBe('00:00–02:00');
    expect(placed.filter((day) => day.length > 0)).toHaveLength(2);
  });

  it('places items by wall-clock time on the 25-hour DST day', () => {
    const sundayWindow = {
      ...blackout,
      name: 'night',
      // 01:00 CEST to 05:00 CET: 5 real hours across the repeated 02:00–03:00.
      occurrences: [{ startMs: at('2026-10-25T01:00:00+02:00'), endMs: at('2026-10-25T05:00:00+01:00'), localStart: '2026-10-25T01:00:00+02:00', localEnd: '2026-10-25T05:00:00+01:00' }],
    };
    const items = calendarItems(response({ windows: [sundayWindow] }), BERLIN);
    expect(items[0]!.endMs - items[0]!.startMs).toBe(5 * 3_600_000);
    const [segment] = placeItems(items, range.days, BERLIN)[6]!;
    expect(segment).toMatchObject({ topMinute: 60, bottomMinute: 300, continuesBefore: false, continuesAfter: false });
    // An item after the change sits on its wall-clock line: 22:00 CET is minute 1320.
    const late = { ...sundayWindow, name: 'late', occurrences: [{ startMs: at('2026-10-25T22:00:00+01:00'), endMs: at('2026-10-26T01:00:00+01:00'), localStart: '2026-10-25T22:00:00+01:00', localEnd: '2026-10-26T01:00:00+01:00' }] };
    const [lateSegment] = placeItems(calendarItems(response({ windows: [late] }), BERLIN), range.days, BERLIN)[6]!;
    expect(lateSegment).toMatchObject({ topMinute: 1320, bottomMinute: 1440, continuesAfter: true });
  });

  it('stacks overlapping items in lanes and leaves separate ones full width', () => {
    const later = { ...change, name: 'chg-00002', conflicts: [], plannedStartMs: at('2026-10-19T12:00:00+02:00'), plannedEndMs: at('2026-10-19T13:00:00+02:00') };
    const items = calendarItems(response({ windows: [blackout], changes: [change, later] }), BERLIN);
    const placed = placeItems(items, range.days, BERLIN);
    expect(placed[0]!.map((s) => [s.item.name, s.lane, s.lanes])).toEqual([['chg-00002', 0, 1]]);
    expect(placed[4]!.map((s) => [s.item.name, s.lane, s.lanes])).toEqual([
      ['weekend-freeze', 0, 2],
      ['chg-00001', 1, 2],
    ]);
    expect(placed[5]!.map((s) => [s.item.name, s.lane, s.lanes])).toEqual([
      ['weekend-freeze', 0, 2],
      ['chg-00001', 1, 2],
    ]);
  });

  it('the agenda lists spanning items on every day they touch', () => {
    const items = calendarItems(response({ windows: [blackout], changes: [change] }), BERLIN);
    const agenda = agendaDays(items, range.days, BERLIN);
    expect(agenda.map((entry) => [entry.day.date, entry.segments.map((s) => s.item.name)])).toEqual([
      ['2026-10-23', ['weekend-freeze', 'chg-00001']],
      ['2026-10-24', ['weekend-freeze', 'chg-00001']],
    ]);
  });
});
