import { describe, expect, it } from 'vitest';
import type { CabEntry } from '../../../../src/client/changes.js';
import type { RiskRecord } from '../../../../src/core/governance/records.js';
import { changeObject } from './fake-changes.js';
import {
  auditDetails,
  changeRow,
  decisionAccess,
  factorValue,
  filterChanges,
  floorText,
  inboxEntries,
  plannedWindow,
  readChange,
  riskBreakdown,
  safeHref,
  stateSteps,
  subjectOfChange,
  topFactors,
  windowDuration,
  windowsOverlapping,
  type DecisionSubject,
} from './derive.js';

const risk: RiskRecord = {
  score: 45,
  level: 'high',
  levelBeforeFloor: 'medium',
  factors: [
    { name: 'serviceTier', value: 'critical', points: 20, max: 20, explanation: 'tier critical' },
    { name: 'leadTime', value: 2.04, points: 10, max: 15, explanation: 'short notice' },
    { name: 'customerFacing', value: true, points: 15, max: 10, explanation: 'customers' },
    { name: 'emergency', value: false, points: 0, max: 20, explanation: 'no' },
  ],
  floor: { rule: 'prod-restricted', level: 'high', reason: 'restricted data' },
  skippedRules: [],
  assessedAt: '2026-03-01T09:00:00Z',
};

const subject = (extra: Partial<DecisionSubject> = {}): DecisionSubject => ({ type: 'normal', state: 'Authorize', requestedBy: 'alice', authors: ['mallory'], requiredGroups: ['cab'], decidedBy: [], ...extra });
const bob = { user: 'bob', groups: ['cab'], isApprover: true };

describe('risk', () => {
  it('breaks the score down by factor, largest first, with each share', () => {
    const rows = riskBreakdown(risk);
    expect(rows.map((row) => `${row.label} ${row.value} ${row.points}/${row.max} ${row.share}%`)).toEqual([
      'Service tier critical 20/20 44%',
      'Customer-facing yes 15/10 33%',
      'Lead time 2 h 10/15 22%',
      'Emergency change no 0/20 0%',
    ]);
    expect(topFactors(risk)).toBe('Service tier +20 · Customer-facing +15 · Lead time +10');
    expect(topFactors(null)).toBe('');
  });

  it('formats factor values as the CLI does', () => {
    expect(factorValue('recentChangeFailureRate', 0.125)).toBe('12.5%');
    expect(factorValue('maintenanceWindow', false)).toBe('outside every window');
    expect(factorValue('changeSize', { components: 2, scopeItems: 5 })).toBe('components 2, scopeItems 5');
    expect(factorValue('leadTime', null)).toBe('—');
  });

  it('says which rule raised the level', () => {
    expect(floorText(risk)).toBe('medium by score, raised to high by rule “prod-restricted”: restricted data');
    expect(floorText({ ...risk, levelBeforeFloor: 'high' })).toMatch(/^Rule “prod-restricted” sets at least high .* the score already gives high\.$/);
    expect(floorText({ ...risk, floor: null })).toMatch(/No floor rule matched/);
  });
});

describe('who may decide', () => {
  it('lets a cab member approve and reject a change in Authorize', () => {
    expect(decisionAccess(bob, subject())).toEqual({ approve: true, reject: true, reason: null });
  });

  it('bars the requester and the artifact authors (separation of duties), whatever their groups', () => {
    expect(decisionAccess({ user: 'alice', groups: ['cab'], isApprover: true }, subject())).toMatchObject({ approve: false, reject: false, reason: expect.stringMatching(/requested this change: separation of duties/) });
    expect(decisionAccess({ user: 'mallory', groups: ['cab'], isApprover: true }, subject())).toMatchObject({ approve: false, reason: expect.stringMatching(/authored an artifact/) });
  });

  it('needs the approver role, a required group, and one decision per version', () => {
    expect(decisionAccess({ ...bob, isApprover: false }, subject()).reason).toMatch(/approver role/);
    expect(decisionAccess({ user: 'erin', groups: ['ops'], isApprover: true }, subject()).reason).toBe('Approvals are needed from cab; you are in ops.');
    expect(decisionAccess(bob, subject({ decidedBy: ['bob'] })).reason).toMatch(/already decided/);
  });

  it('offers nothing outside Authorize, and only approve for a Scheduled emergency change (blackout override)', () => {
    expect(decisionAccess(bob, subject({ state: 'Scheduled' }))).toEqual({ approve: false, reject: false, reason: null });
    expect(decisionAccess(bob, subject({ type: 'emergency', state: 'Scheduled' }))).toEqual({ approve: true, reject: false, reason: null });
  });

  it('reads the subject from a change record: valid decisions only', () => {
    const change = readChange(
      changeObject('chg-00001', {
        approvals: [
          { id: '1', user: 'bob', groups: ['cab'], decision: 'approve', comment: '', at: '2026-03-01T10:00:00Z', valid: false, invalidatedReason: 'edited' },
          { id: '2', user: 'carol', groups: ['cab'], decision: 'approve', comment: 'ok', at: '2026-03-01T11:00:00Z', valid: true },
        ],
      }),
    );
    expect(subjectOfChange(change)).toEqual({ type: 'normal', state: 'Authorize', requestedBy: 'alice', authors: [], requiredGroups: ['cab'], decidedBy: ['carol'] });
  });
});

describe('inbox', () => {
  const entry = (name: string, group: string, remaining: number, requestedBy = 'zoe') =>
    ({ name, requestedBy, requirements: [{ group, count: 2, reason: '', approvers: [], remaining, satisfied: remaining === 0 }] }) as unknown as CabEntry;
  const entries = [entry('a', 'cab', 2), entry('b', 'security', 1), entry('c', 'cab', 0), entry('d', 'security', 1, 'bob')];

  it('shows what waits for my groups and my own requests, or the whole board', () => {
    expect(inboxEntries(entries, bob, 'mine').map((e) => e.name)).toEqual(['a', 'd']);
    expect(inboxEntries(entries, bob, 'all').map((e) => e.name)).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('list', () => {
  const rows = [
    changeRow(changeObject('chg-00001')),
    changeRow(changeObject('chg-00002', { state: 'Closed', requestedBy: 'dave', title: 'Rotate keys' })),
  ];

  it('reads a row with what the board still needs', () => {
    expect(rows[0]).toMatchObject({ name: 'chg-00001', type: 'normal', state: 'Authorize', environment: 'prod', risk: 'high', score: 62, requestedBy: 'alice', awaiting: 'cab 0 of 2' });
    expect(rows[1]!.awaiting).toBe('');
  });

  it('filters by state (and "open"), type, environment, risk and a search over name, title, requester, services', () => {
    const none = { search: '', state: '', type: '', environment: '', risk: '' };
    expect(filterChanges(rows, { ...none, state: 'open' }).map((r) => r.name)).toEqual(['chg-00001']);
    expect(filterChanges(rows, { ...none, search: 'ROTATE' }).map((r) => r.name)).toEqual(['chg-00002']);
    expect(filterChanges(rows, { ...none, search: 'checkout' })).toHaveLength(2);
    expect(filterChanges(rows, { ...none, risk: 'low' })).toHaveLength(0);
    expect(filterChanges(rows, { ...none, environment: 'prod', type: 'normal', state: 'Closed' }).map((r) => r.name)).toEqual(['chg-00002']);
  });
});

describe('times, steps, links', () => {
  it('formats the planned window with its length', () => {
    expect(plannedWindow('2026-03-03T22:00:00Z', '2026-03-04T00:30:00Z')).toBe('2026-03-03 22:00Z → 2026-03-04 00:30Z (2h30m)');
    expect(plannedWindow(undefined, undefined)).toBe('not planned');
    expect(windowDuration('2026-03-01T00:00:00Z', '2026-03-04T02:00:00Z')).toBe('3d2h');
  });

  it('marks the state machine steps, standard changes skipping Assess and Authorize', () => {
    expect(stateSteps('normal', 'Authorize').map((s) => `${s.state}:${s.step}`).join(' ')).toBe('New:done Assess:done Authorize:current Scheduled:next Implement:next Review:next Closed:next');
    expect(stateSteps('standard', 'New').map((s) => s.state)).toEqual(['New', 'Scheduled', 'Implement', 'Review', 'Closed']);
    expect(stateSteps('normal', 'Canceled').at(-1)).toEqual({ state: 'Canceled', step: 'current' });
  });

  it('links only http(s) evidence', () => {
    expect(safeHref('https://ci.example.com/runs/42')).toBe('https://ci.example.com/runs/42');
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref('runbook.md')).toBeNull();
  });

  it('summarises audit details and finds overlapping windows', () => {
    expect(auditDetails({ user: 'bob', comment: 'ok', afterDigest: 'x', fields: ['a', 'b'] })).toBe('user: bob · comment: ok · fields: a, b');
    const windows = [
      { name: 'nights', type: 'maintenance', occurrences: [{ startMs: Date.parse('2026-03-03T21:00:00Z'), endMs: Date.parse('2026-03-04T01:00:00Z') }] },
      { name: 'days', type: 'maintenance', occurrences: [{ startMs: Date.parse('2026-03-04T08:00:00Z'), endMs: Date.parse('2026-03-04T17:00:00Z') }] },
    ];
    expect(windowsOverlapping(windows, '2026-03-03T22:00:00Z', '2026-03-04T00:30:00Z').map((w) => w.name)).toEqual(['nights']);
  });
});
