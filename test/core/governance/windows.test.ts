import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  activeWindows,
  deploymentAllowed,
  MAX_OCCURRENCES,
  mergeOccurrences,
  nextAllowedAt,
  occurrences,
  windowApplies,
  type Window,
} from '../../../src/core/governance/windows.js';
import { kindFromNoun, KINDS } from '../../../src/core/resources/kinds.js';
import type { WindowSpec } from '../../../src/core/resources/window.js';
import { formatPath, validateDocument } from '../../../src/core/resources/validate.js';

const root = path.resolve(import.meta.dirname, '../../..');
const t = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const spans = (list: { startMs: number; endMs: number }[]) => list.map((o) => [iso(o.startMs), iso(o.endMs)]);

/** Loads an example through the same validation `rollgate validate` uses. */
function example(file: string): Window {
  const [document] = parseAllDocuments(readFileSync(path.join(root, 'examples/windows', file), 'utf8')).map((d) => d.toJS());
  const result = validateDocument(document);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return { name: result.document.metadata.name!, spec: result.document.spec as WindowSpec };
}
const weekend = example('prod-weekend-blackout.yaml');
const freeze = example('year-end-freeze.yaml');
const maintenance = example('checkout-maintenance.yaml');
const win = (name: string, spec: Partial<WindowSpec>): Window => ({ name, spec: { type: 'blackout', timeZone: 'UTC', ...spec } as WindowSpec });

const doc = (spec: unknown) => ({ apiVersion: 'rollgate.dev/v1alpha1', kind: 'Window', metadata: { name: 'w' }, spec });
const issuesOf = (spec: unknown) => {
  const result = validateDocument(doc(spec));
  return result.ok ? [] : result.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
};
const recurring = { type: 'blackout', timeZone: 'Europe/Berlin', rrule: 'FREQ=WEEKLY;BYDAY=FR', start: '16:00', duration: '62h' };

describe('occurrences: recurring windows keep local time across DST', () => {
  it('Europe/Berlin, Fri 16:00 + 62h, across the March and October 2026 changes', () => {
    expect(spans(occurrences(weekend, t('2026-03-20T00:00:00Z'), t('2026-04-04T00:00:00Z')))).toEqual([
      ['2026-03-20T15:00:00.000Z', '2026-03-23T05:00:00.000Z'], // CET -> CET
      ['2026-03-27T15:00:00.000Z', '2026-03-30T04:00:00.000Z'], // CET -> CEST (61 real hours)
      ['2026-04-03T14:00:00.000Z', '2026-04-06T04:00:00.000Z'], // CEST -> CEST
    ]);
    expect(spans(occurrences(weekend, t('2026-10-16T00:00:00Z'), t('2026-10-31T00:00:00Z')))).toEqual([
      ['2026-10-16T14:00:00.000Z', '2026-10-19T04:00:00.000Z'],
      ['2026-10-23T14:00:00.000Z', '2026-10-26T05:00:00.000Z'], // CEST -> CET (63 real hours)
      ['2026-10-30T15:00:00.000Z', '2026-11-02T05:00:00.000Z'],
    ]);
  });

  it('America/New_York, Tue/Thu 02:00-04:00, across the March and November 2026 changes', () => {
    expect(spans(occurrences(maintenance, t('2026-03-03T00:00:00Z'), t('2026-03-13T00:00:00Z')))).toEqual([
      ['2026-03-03T07:00:00.000Z', '2026-03-03T09:00:00.000Z'], // EST
      ['2026-03-05T07:00:00.000Z', '2026-03-05T09:00:00.000Z'],
      ['2026-03-10T06:00:00.000Z', '2026-03-10T08:00:00.000Z'], // EDT from Sun 2026-03-08
      ['2026-03-12T06:00:00.000Z', '2026-03-12T08:00:00.000Z'],
    ]);
    expect(spans(occurrences(maintenance, t('2026-10-29T00:00:00Z'), t('2026-11-06T00:00:00Z')))).toEqual([
      ['2026-10-29T06:00:00.000Z', '2026-10-29T08:00:00.000Z'], // EDT
      ['2026-11-03T07:00:00.000Z', '2026-11-03T09:00:00.000Z'], // EST from Sun 2026-11-01
      ['2026-11-05T07:00:00.000Z', '2026-11-05T09:00:00.000Z'],
    ]);
  });

  it('moves a start inside the spring-forward gap forward by the gap', () => {
    const w = win('gap', { timeZone: 'America/New_York', rrule: 'FREQ=DAILY', start: '02:30', duration: '1h' });
    expect(spans(occurrences(w, t('2026-03-08T00:00:00Z'), t('2026-03-08T12:00:00Z')))).toEqual([['2026-03-08T07:30:00.000Z', '2026-03-08T08:30:00.000Z']]);
  });

  it('includes an occurrence already in progress at fromMs, whole', () => {
    expect(spans(occurrences(weekend, t('2026-03-22T12:00:00Z'), t('2026-03-22T13:00:00Z')))).toEqual([['2026-03-20T15:00:00.000Z', '2026-03-23T05:00:00.000Z']]);
  });

  it('drops occurrences starting at or after until', () => {
    const w = { ...weekend, spec: { ...weekend.spec, until: '2026-03-27T16:00:00+01:00' } };
    expect(spans(occurrences(w, t('2026-03-20T00:00:00Z'), t('2026-04-10T00:00:00Z')))).toEqual([['2026-03-20T15:00:00.000Z', '2026-03-23T05:00:00.000Z']]);
  });

  it('merges overlapping occurrences of one window', () => {
    const w = win('long', { rrule: 'FREQ=DAILY', start: '00:00', duration: '30h' });
    expect(spans(occurrences(w, t('2026-01-01T00:00:00Z'), t('2026-01-03T12:00:00Z')))).toEqual([['2025-12-31T00:00:00.000Z', '2026-01-04T06:00:00.000Z']]);
    expect(mergeOccurrences([{ startMs: 5, endMs: 8 }, { startMs: 0, endMs: 2 }, { startMs: 2, endMs: 3 }])).toEqual([{ startMs: 0, endMs: 3 }, { startMs: 5, endMs: 8 }]);
  });

  it('bounds long ranges at MAX_OCCURRENCES (1,000), earliest first', () => {
    const daily = win('daily', { rrule: 'FREQ=DAILY', start: '01:00', duration: '1h' });
    const list = occurrences(daily, t('2026-01-01T00:00:00Z'), t('2036-01-01T00:00:00Z'));
    expect(MAX_OCCURRENCES).toBe(1000);
    expect(list).toHaveLength(1000);
    expect(iso(list[0]!.startMs)).toBe('2026-01-01T01:00:00.000Z');
    expect(occurrences(daily, t('2026-01-01T00:00:00Z'), t('2036-01-01T00:00:00Z'), 3)).toHaveLength(3);
  });
});

describe('occurrences: one-off windows', () => {
  it('returns the window when it overlaps the range, not clipped', () => {
    expect(spans(occurrences(freeze, t('2026-12-24T00:00:00Z'), t('2026-12-25T00:00:00Z')))).toEqual([['2026-12-21T17:00:00.000Z', '2027-01-04T07:00:00.000Z']]);
    expect(occurrences(freeze, t('2027-01-04T07:00:00Z'), t('2027-02-01T00:00:00Z'))).toEqual([]);
    expect(occurrences(freeze, t('2026-01-01T00:00:00Z'), t('2026-12-21T17:00:00Z'))).toEqual([]);
  });
});

describe('scope', () => {
  it('matches lists per dimension; empty or absent means everything; unknown dimensions fail closed', () => {
    expect(windowApplies(weekend, { environment: 'prod' })).toBe(true);
    expect(windowApplies(weekend, { environment: 'staging' })).toBe(false);
    expect(windowApplies(weekend, {})).toBe(true);
    expect(windowApplies(maintenance, { environment: 'prod', services: ['payments'] })).toBe(false);
    expect(windowApplies(maintenance, { environment: 'prod', services: ['payments', 'checkout'] })).toBe(true);
    expect(windowApplies(freeze, { environment: 'dev', services: ['anything'] })).toBe(true);
    const biz = win('biz', { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', scope: { businessServices: ['payments'], environments: [] } });
    expect(windowApplies(biz, { environment: 'prod', businessServices: ['payments'] })).toBe(true);
    expect(windowApplies(biz, { environment: 'prod', businessServices: ['search'] })).toBe(false);
  });

  it('activeWindows lists the applicable open windows with their current occurrence', () => {
    const active = activeWindows([weekend, freeze, maintenance], { environment: 'prod' }, t('2026-03-28T12:00:00Z'));
    expect(active.map((a) => [a.window.name, iso(a.startMs), iso(a.endMs)])).toEqual([['prod-weekend-blackout', '2026-03-27T15:00:00.000Z', '2026-03-30T04:00:00.000Z']]);
    expect(activeWindows([weekend], { environment: 'staging' }, t('2026-03-28T12:00:00Z'))).toEqual([]);
  });
});

describe('deploymentAllowed / nextAllowedAt', () => {
  const all = [weekend, freeze, maintenance];
  const checkout = { environment: 'prod', services: ['checkout'] };
  const payments = { environment: 'prod', services: ['payments'] };

  it('a blackout blocks and names its end in its own zone', () => {
    const decision = deploymentAllowed(all, payments, t('2026-03-27T18:00:00Z'));
    expect(decision).toEqual({
      allowed: false,
      reason: 'blocked by blackout window "prod-weekend-blackout" until Mon 2026-03-30 06:00 Europe/Berlin (UTC+02:00)',
      until: t('2026-03-30T04:00:00Z'),
      window: 'prod-weekend-blackout',
    });
  });

  it('a maintenance window allows only inside it', () => {
    expect(deploymentAllowed(all, checkout, t('2026-03-10T06:30:00Z'))).toEqual({
      allowed: true,
      reason: 'inside maintenance window "checkout-maintenance" until Tue 2026-03-10 04:00 America/New_York (UTC-04:00)',
      until: t('2026-03-10T08:00:00Z'),
      window: 'checkout-maintenance',
    });
    expect(deploymentAllowed(all, checkout, t('2026-03-11T12:00:00Z'))).toEqual({
      allowed: false,
      reason: 'outside maintenance windows; maintenance window "checkout-maintenance" opens at Thu 2026-03-12 02:00 America/New_York (UTC-04:00)',
      until: t('2026-03-12T06:00:00Z'),
      window: 'checkout-maintenance',
    });
  });

  it('blackout wins over maintenance; next allowed is the first maintenance time after the blackout', () => {
    const decision = deploymentAllowed(all, checkout, t('2026-03-27T18:00:00Z'));
    expect(decision.allowed).toBe(false);
    expect(decision.until).toBe(t('2026-03-31T06:00:00Z'));
    expect(decision.reason).toBe(
      'blocked by blackout window "prod-weekend-blackout" until Mon 2026-03-30 06:00 Europe/Berlin (UTC+02:00); next allowed at Tue 2026-03-31 08:00 Europe/Berlin (UTC+02:00)',
    );
    // Year-end freeze merges with the weekend blackout; the first maintenance window after both.
    expect(iso(nextAllowedAt(all, checkout, t('2026-12-25T12:00:00Z')))).toBe('2027-01-05T07:00:00.000Z');
    expect(iso(nextAllowedAt(all, payments, t('2026-12-25T12:00:00Z')))).toBe('2027-01-04T07:00:00.000Z');
  });

  it('a blackout cutting into a maintenance window leaves the rest of it open', () => {
    const daily = win('nightly', { type: 'maintenance', rrule: 'FREQ=DAILY', start: '02:00', duration: '2h' });
    const cut = win('incident', { from: '2026-05-01T00:00:00Z', to: '2026-05-01T03:00:00Z' });
    const blocked = deploymentAllowed([daily, cut], {}, t('2026-05-01T02:30:00Z'));
    expect([blocked.allowed, iso(blocked.until), blocked.window]).toEqual([false, '2026-05-01T03:00:00.000Z', 'incident']);
    expect(blocked.reason).toBe('blocked by blackout window "incident" until Fri 2026-05-01 03:00 UTC (UTC+00:00)');
    const open = deploymentAllowed([daily, cut], {}, t('2026-05-01T03:00:00Z'));
    expect([open.allowed, iso(open.until)]).toEqual([true, '2026-05-01T04:00:00.000Z']);
  });

  it('allowed when no window restricts the scope, until the next blackout', () => {
    expect(deploymentAllowed(all, { environment: 'staging' }, t('2026-03-27T18:00:00Z'))).toEqual({
      allowed: true,
      reason: 'no window blocks this deployment; next blackout window "year-end-freeze-2026" starts at Mon 2026-12-21 18:00 Europe/Berlin (UTC+01:00)',
      until: t('2026-12-21T17:00:00Z'),
      window: null,
    });
    expect(deploymentAllowed([], {}, 0)).toEqual({ allowed: true, reason: 'no window blocks this deployment', until: null, window: null });
    expect(nextAllowedAt(all, payments, t('2026-03-10T12:00:00Z'))).toBe(t('2026-03-10T12:00:00Z'));
  });

  it('is bounded by the horizon', () => {
    const decision = deploymentAllowed(all, payments, t('2026-03-27T18:00:00Z'), { horizonMs: 3_600_000 });
    expect([decision.allowed, decision.until]).toEqual([false, null]);
    expect(decision.reason).toMatch(/; no allowed time within the look-ahead horizon$/);
    expect(nextAllowedAt(all, payments, t('2026-03-27T18:00:00Z'), { horizonMs: 3_600_000 })).toBeNull();
  });
});

describe('Window resource validation (as `rollgate validate` runs it)', () => {
  it('accepts both forms and is declared like the other resource kinds', () => {
    expect(issuesOf(recurring)).toEqual([]);
    expect(issuesOf({ type: 'maintenance', timeZone: 'UTC', from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:30:00+01:00' })).toEqual(['spec.to: must be after from']);
    expect(kindFromNoun('windows')?.kind).toBe('Window');
    expect(KINDS.Window.writeRole).toBe(KINDS.Environment.writeRole);
    expect(KINDS.Window.references({ ...recurring, scope: { environments: ['prod'], services: ['checkout'] } })).toEqual([
      { kind: 'Environment', name: 'prod', path: ['spec', 'scope', 'environments', 0] },
      { kind: 'Service', name: 'checkout', path: ['spec', 'scope', 'services', 0] },
    ]);
  });

  it('reports invalid zone, RRULE, start and duration at their fields', () => {
    expect(issuesOf({ ...recurring, timeZone: 'Europe/Berlinn' })).toEqual(['spec.timeZone: must be an IANA time zone such as Europe/Berlin or America/New_York']);
    expect(issuesOf({ ...recurring, rrule: 'FREQ=FORTNIGHTLY' })).toEqual(['spec.rrule: FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY']);
    expect(issuesOf({ ...recurring, rrule: 'FREQ=WEEKLY;BYDAY=XX' })).toEqual(['spec.rrule: invalid BYDAY value "XX"']);
    expect(issuesOf({ ...recurring, rrule: 'BYDAY=FR;FOO=1' })).toEqual(['spec.rrule: unknown RRULE part FOO', 'spec.rrule: FREQ is required (DAILY, WEEKLY, MONTHLY or YEARLY)']);
    expect(issuesOf({ ...recurring, rrule: 'FREQ=WEEKLY;COUNT=3' })).toEqual(['spec.rrule: COUNT is not supported: use spec.until to end a recurring window']);
    expect(issuesOf({ ...recurring, rrule: 'DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY' })[0]).toMatch(/^spec\.rrule: DTSTART is not allowed/);
    expect(issuesOf({ ...recurring, rrule: 'RRULE:FREQ=DAILY;INTERVAL=2' })).toEqual([]);
    expect(issuesOf({ ...recurring, duration: '62 hours' })[0]).toMatch(/^spec\.duration: must be a duration/);
    expect(issuesOf({ ...recurring, duration: '0h' })).toEqual(['spec.duration: must be longer than zero']);
    expect(issuesOf({ ...recurring, start: '24:00' })).toEqual(['spec.start: must be a time of day "HH:MM", e.g. "16:00"']);
  });

  it('requires exactly one form, complete', () => {
    expect(issuesOf({ type: 'blackout', timeZone: 'UTC' })).toEqual(['spec.rrule: give either rrule + start + duration (recurring) or from + to (one-off)']);
    expect(issuesOf({ ...recurring, from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' })).toEqual(['spec.from: give either rrule + start + duration or from + to, not both']);
    expect(issuesOf({ type: 'blackout', timeZone: 'UTC', rrule: 'FREQ=DAILY' })).toEqual([
      'spec.start: start is required with a recurring window',
      'spec.duration: duration is required with a recurring window',
    ]);
    expect(issuesOf({ type: 'blackout', timeZone: 'UTC', from: '2026-01-01T00:00:00' })[0]).toMatch(/^spec\.from: must be an ISO 8601 datetime with an offset/);
    expect(issuesOf({ ...recurring, scope: { teams: ['x'] } })).toEqual(['spec.scope.teams: unknown field "teams"']);
  });
});
