import { describe, expect, it } from 'vitest';
import { evaluateRuntimeGate, type RuntimeGateChange, type RuntimeGateInput } from '../../../src/core/governance/gate.js';
import { changeRecordStatusSchema, type ApprovalRecord, type GateResult } from '../../../src/core/governance/records.js';
import type { Window } from '../../../src/core/governance/windows.js';
import { changeSpecSchema, type ChangeState, type ChangeType } from '../../../src/core/resources/change.js';
import { windowSpecSchema } from '../../../src/core/resources/window.js';

const t = (iso: string) => Date.parse(iso);
/** Monday 2026-03-30 05:30 in Berlin (CEST): the weekend blackout that began Friday 16:00 CET is still on. */
const IN_BLACKOUT = t('2026-03-30T03:30:00Z');
/** Wednesday: no blackout. */
const MIDWEEK = t('2026-04-01T10:00:00Z');

const win = (name: string, spec: Record<string, unknown>): Window => ({ name, spec: windowSpecSchema.parse(spec) });
const weekend = win('prod-weekend-blackout', { type: 'blackout', timeZone: 'Europe/Berlin', rrule: 'FREQ=WEEKLY;BYDAY=FR', start: '16:00', duration: '62h', scope: { environments: ['prod'] } });
const stagingFreeze = win('staging-freeze', { type: 'blackout', timeZone: 'UTC', from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z', scope: { environments: ['staging'] } });
const daytime = win('daytime-maintenance', { type: 'maintenance', timeZone: 'UTC', rrule: 'FREQ=DAILY', start: '10:00', duration: '2h', scope: { environments: ['prod'] } });
const nightly = win('nightly-maintenance', { type: 'maintenance', timeZone: 'UTC', rrule: 'FREQ=DAILY', start: '02:00', duration: '2h', scope: { environments: ['prod'] } });

const approval = (user: string, groups: string[], extra: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
  id: `${user}-${extra.decision ?? 'approve'}`,
  user,
  groups,
  decision: 'approve',
  comment: '',
  at: '2026-03-27T09:00:00Z',
  valid: true,
  ...extra,
});

interface ChangeOptions {
  type?: ChangeType;
  approvals?: ApprovalRecord[];
  required?: Array<{ group: string; count: number }>;
  plannedStart?: string;
  plannedEnd?: string;
  environment?: string;
  services?: string[];
}

function change(state: ChangeState, options: ChangeOptions = {}): RuntimeGateChange {
  return {
    name: 'chg-00012',
    spec: changeSpecSchema.parse({
      type: options.type ?? 'normal',
      title: 'checkout 2.4',
      services: options.services ?? ['checkout'],
      plannedStart: options.plannedStart ?? '2026-03-01T00:00:00Z',
      plannedEnd: options.plannedEnd ?? '2026-12-31T00:00:00Z',
    }),
    status: changeRecordStatusSchema.parse({
      state,
      requestedBy: 'alice',
      environment: options.environment ?? 'prod',
      requiredApprovals: (options.required ?? []).map((requirement) => ({ ...requirement, reason: 'test' })),
      approvals: options.approvals ?? [],
    }),
  };
}

const base = (overrides: Partial<RuntimeGateInput> = {}): RuntimeGateInput => ({
  change: change('Scheduled', { approvals: [approval('carol', ['cab'])] }),
  changeRequired: true,
  environment: 'prod',
  windows: [weekend, stagingFreeze],
  scope: { environment: 'prod', services: ['checkout'], businessServices: ['Online store'] },
  policyResults: [],
  now: MIDWEEK,
  ...overrides,
});

const outcomes = (results: GateResult[]) => results.map((result) => `${result.gate}:${result.outcome}`);
const twoApprovers = [approval('carol', ['cab']), approval('dave', ['cab'])];

interface Case {
  name: string;
  input: Partial<RuntimeGateInput>;
  open: boolean;
  message: string | RegExp;
  until?: number | null;
  results?: string[];
  override?: { window: string; approvers: string[] } | null;
}

const cases: Case[] = [
  // ---- the change record
  {
    name: 'a required change that is missing closes the gate',
    input: { change: null },
    open: false,
    message: 'no change record authorizes this deployment (environment prod requires one)',
    until: null,
    results: ['change:deny', 'window:pass'],
  },
  {
    name: 'no change where none is required: windows still checked, gate open',
    input: { change: null, changeRequired: false },
    open: true,
    message: 'no change record is required in environment prod',
    results: ['change:pass', 'window:pass'],
  },
  {
    name: 'a change named by the deployment that does not exist',
    input: { change: null, changeRef: 'chg-404', changeRequired: false },
    open: false,
    message: 'change chg-404 named by this deployment does not exist',
  },
  {
    name: 'a Canceled change never opens, approvals or not',
    input: { change: change('Canceled', { approvals: twoApprovers }) },
    open: false,
    message: 'change chg-00012 is Canceled; a canceled change never authorizes a deployment',
    results: ['change:deny', 'window:pass'],
  },
  {
    name: 'a Closed change no longer authorizes',
    input: { change: change('Closed') },
    open: false,
    message: /change chg-00012 is Closed/,
  },
  {
    name: 'a change for another environment',
    input: { change: change('Scheduled', { environment: 'staging' }) },
    open: false,
    message: 'change chg-00012 is for environment staging, not prod',
  },
  {
    name: 'a change that does not list the service',
    input: { change: change('Scheduled', { services: ['payments'] }) },
    open: false,
    message: 'change chg-00012 does not cover service checkout (it lists payments)',
  },
  // ---- approvals
  {
    name: 'Authorize: lists each missing approval; invalid and repeated approvals do not count',
    input: {
      change: change('Authorize', {
        required: [{ group: 'cab', count: 2 }, { group: 'release-managers', count: 1 }],
        approvals: [approval('carol', ['cab']), approval('carol', ['cab'], { id: 'again' }), approval('erin', ['cab', 'release-managers'], { valid: false })],
      }),
    },
    open: false,
    message: 'waiting for approval of change chg-00012: cab 1 of 2, release-managers 0 of 1',
    until: null,
    results: ['change:pass', 'approval:pending', 'schedule:pass', 'window:pass'],
  },
  {
    name: 'Authorize: an approver in two groups counts for both; only what is missing is listed',
    input: { change: change('Authorize', { required: [{ group: 'cab', count: 2 }, { group: 'release-managers', count: 1 }], approvals: [approval('carol', ['cab']), approval('erin', ['release-managers'])] }) },
    open: false,
    message: 'waiting for approval of change chg-00012: cab 1 of 2',
  },
  {
    name: 'Authorize: everything approved but not moved to Scheduled yet',
    input: { change: change('Authorize', { required: [{ group: 'cab', count: 2 }], approvals: twoApprovers }) },
    open: false,
    message: 'change chg-00012 is approved but not yet scheduled (state Authorize)',
  },
  {
    name: 'after a rejection: the latest valid rejection names who and why',
    input: {
      change: change('Authorize', {
        required: [{ group: 'cab', count: 2 }],
        approvals: [
          approval('carol', ['cab']),
          approval('frank', ['cab'], { decision: 'reject', comment: 'old concern', at: '2026-03-26T09:00:00Z' }),
          approval('bob', ['cab'], { decision: 'reject', comment: 'no backout plan for the migration', at: '2026-03-27T10:00:00Z' }),
          approval('gina', ['cab'], { decision: 'reject', comment: 'withdrawn', at: '2026-03-28T10:00:00Z', valid: false }),
        ],
      }),
    },
    open: false,
    message: 'change chg-00012 was rejected by bob: no backout plan for the migration',
    results: ['change:pass', 'approval:deny', 'schedule:pass', 'window:pass'],
  },
  {
    name: 'New: not yet submitted',
    input: { change: change('New') },
    open: false,
    message: 'waiting for change chg-00012 to be authorized (state New)',
  },
  {
    name: 'Assess with requirements already known',
    input: { change: change('Assess', { required: [{ group: 'cab', count: 1 }] }) },
    open: false,
    message: 'waiting for approval of change chg-00012 (state Assess): cab 0 of 1',
  },
  {
    name: 'Scheduled, planned start reached, no window: open',
    input: {},
    open: true,
    message: 'change chg-00012 is authorized (Scheduled), approved by carol',
    until: null,
    results: ['change:pass', 'approval:pass', 'schedule:pass', 'window:pass'],
    override: null,
  },
  {
    name: 'Implement and Review stay authorized',
    input: { change: change('Review') },
    open: true,
    message: 'change chg-00012 is authorized (Review)',
  },
  // ---- schedule
  {
    name: 'planned start in the future: closed until then',
    input: { change: change('Scheduled', { plannedStart: '2026-04-02T22:00:00+02:00', plannedEnd: '2026-04-02T23:00:00+02:00' }) },
    open: false,
    message: 'change chg-00012 is scheduled for 2026-04-02T20:00:00.000Z',
    until: t('2026-04-02T20:00:00Z'),
    results: ['change:pass', 'approval:pass', 'schedule:pending', 'window:pass'],
  },
  {
    name: 'planned end passed: a warning, still open',
    input: { change: change('Implement', { plannedStart: '2026-03-31T00:00:00Z', plannedEnd: '2026-03-31T01:00:00Z' }) },
    open: true,
    message: "change chg-00012 is authorized (Implement); change chg-00012's planned end 2026-03-31T01:00:00.000Z has passed",
    results: ['change:pass', 'approval:pass', 'schedule:warn', 'window:pass'],
  },
  // ---- windows
  {
    name: 'a weekend blackout across the spring DST change holds until Monday 06:00 Berlin (04:00 UTC, not 05:00)',
    input: { now: IN_BLACKOUT },
    open: false,
    message: 'blocked by blackout window "prod-weekend-blackout" until Mon 2026-03-30 06:00 Europe/Berlin (UTC+02:00)',
    until: t('2026-03-30T04:00:00Z'),
    results: ['change:pass', 'approval:pass', 'schedule:pass', 'window:pending'],
    override: null,
  },
  {
    name: 'the same blackout has ended at 06:00 local',
    input: { now: t('2026-03-30T04:00:00Z') },
    open: true,
    message: 'change chg-00012 is authorized (Scheduled), approved by carol',
  },
  {
    name: 'a blackout for another environment does not apply',
    input: { windows: [stagingFreeze] },
    open: true,
    message: /authorized/,
  },
  {
    name: 'outside every maintenance window: closed until the next one opens',
    input: { windows: [nightly], now: MIDWEEK },
    open: false,
    message: 'outside maintenance windows; maintenance window "nightly-maintenance" opens at Thu 2026-04-02 02:00 UTC (UTC+00:00)',
    until: t('2026-04-02T02:00:00Z'),
  },
  {
    name: 'inside a maintenance window: open',
    input: { windows: [nightly], now: t('2026-04-01T03:00:00Z') },
    open: true,
    message: /authorized/,
  },
  // ---- emergency override
  {
    name: 'an emergency change with 1 of 2 approvals stays held by the blackout',
    input: { now: IN_BLACKOUT, change: change('Scheduled', { type: 'emergency', approvals: [approval('carol', ['cab'])] }) },
    open: false,
    message:
      'blocked by blackout window "prod-weekend-blackout" until Mon 2026-03-30 06:00 Europe/Berlin (UTC+02:00); an emergency change overrides a blackout with 2 approvals (change chg-00012 has 1)',
    until: t('2026-03-30T04:00:00Z'),
    override: null,
  },
  {
    name: 'an emergency change with 2 approvals overrides the blackout (warn, override set)',
    input: { now: IN_BLACKOUT, change: change('Scheduled', { type: 'emergency', approvals: [...twoApprovers, approval('carol', ['cab'], { id: 'dup' })] }) },
    open: true,
    message: 'emergency override of blackout prod-weekend-blackout approved by carol, dave',
    until: null,
    results: ['change:pass', 'approval:pass', 'schedule:pass', 'window:warn'],
    override: { window: 'prod-weekend-blackout', approvers: ['carol', 'dave'] },
  },
  {
    name: 'the environment can ask for more emergency approvals',
    input: { now: IN_BLACKOUT, emergencyApprovals: 3, change: change('Scheduled', { type: 'emergency', approvals: twoApprovers }) },
    open: false,
    message: /with 3 approvals \(change chg-00012 has 2\)/,
    override: null,
  },
  {
    name: 'a normal change with two approvals does not override',
    input: { now: IN_BLACKOUT, change: change('Scheduled', { approvals: twoApprovers }) },
    open: false,
    message: /^blocked by blackout window "prod-weekend-blackout"/,
    override: null,
  },
  {
    name: 'an emergency override of a blackout still respects maintenance windows',
    input: { now: IN_BLACKOUT, windows: [weekend, daytime], change: change('Scheduled', { type: 'emergency', approvals: twoApprovers }) },
    open: false,
    message: 'outside maintenance windows; maintenance window "daytime-maintenance" opens at Mon 2026-03-30 10:00 UTC (UTC+00:00)',
    override: null,
  },
  {
    name: 'an emergency override inside a maintenance window opens',
    input: { now: IN_BLACKOUT, windows: [weekend, nightly], change: change('Scheduled', { type: 'emergency', approvals: twoApprovers }) },
    open: true,
    message: 'emergency override of blackout prod-weekend-blackout approved by carol, dave',
    override: { window: 'prod-weekend-blackout', approvers: ['carol', 'dave'] },
  },
  {
    name: 'an emergency change that is not authorized yet does not open, whatever its approvals',
    input: { now: IN_BLACKOUT, change: change('Authorize', { type: 'emergency', required: [{ group: 'cab', count: 3 }], approvals: twoApprovers }) },
    open: false,
    message: 'waiting for approval of change chg-00012: cab 2 of 3',
    until: null,
    override: null,
  },
  // ---- policies
  {
    name: 'a deny policy closes the gate',
    input: { policyResults: [{ gate: 'policy', name: 'signed-artifacts', outcome: 'deny', message: 'the artifact is not signed', service: 'checkout' }] },
    open: false,
    message: 'policy signed-artifacts: the artifact is not signed',
    until: null,
    results: ['change:pass', 'approval:pass', 'schedule:pass', 'window:pass', 'policy:deny'],
  },
  {
    name: 'a warn policy is reported, the gate stays open',
    input: { policyResults: [{ gate: 'start', name: 'sbom', outcome: 'warn', message: 'no SBOM attached' }, { gate: 'policy', name: 'tests', outcome: 'pass', message: 'ok' }] },
    open: true,
    message: 'change chg-00012 is authorized (Scheduled), approved by carol; policy sbom: no SBOM attached',
    results: ['change:pass', 'approval:pass', 'schedule:pass', 'window:pass', 'policy:warn', 'policy:pass'],
  },
  // ---- several closed checks
  {
    name: 'planned start and blackout: message from the first, until the later of both',
    input: { now: IN_BLACKOUT, change: change('Scheduled', { plannedStart: '2026-03-30T03:45:00Z', plannedEnd: '2026-03-30T09:00:00Z' }) },
    open: false,
    message: 'change chg-00012 is scheduled for 2026-03-30T03:45:00.000Z',
    until: t('2026-03-30T04:00:00Z'),
  },
  {
    name: 'waiting for people and a blackout: no until',
    input: { now: IN_BLACKOUT, change: change('Authorize', { required: [{ group: 'cab', count: 1 }] }) },
    open: false,
    message: 'waiting for approval of change chg-00012: cab 0 of 1',
    until: null,
    results: ['change:pass', 'approval:pending', 'schedule:pass', 'window:pending'],
  },
];

describe('evaluateRuntimeGate', () => {
  it.each(cases)('$name', ({ input, open, message, until, results, override }) => {
    const gate = evaluateRuntimeGate(base(input));
    expect(gate.open).toBe(open);
    if (typeof message === 'string') expect(gate.message).toBe(message);
    else expect(gate.message).toMatch(message);
    if (until !== undefined) expect(gate.until).toBe(until);
    if (results) expect(outcomes(gate.results)).toEqual(results);
    if (override !== undefined) expect(gate.override).toEqual(override);
    if (!gate.open) expect(gate.override).toBeNull();
  });

  it('reports every check with the object it came from', () => {
    const gate = evaluateRuntimeGate(base({ now: IN_BLACKOUT }));
    expect(gate.results.find((result) => result.gate === 'window')).toMatchObject({ name: 'prod-weekend-blackout', outcome: 'pending' });
    expect(gate.results.find((result) => result.gate === 'approval')).toMatchObject({ name: 'chg-00012', outcome: 'pass' });
  });

  it('never throws: a malformed input closes the gate and says why', () => {
    const broken = { ...base(), change: { name: 'chg-1', spec: { type: 'normal', services: [] }, status: { state: 'Authorize' } } } as unknown as RuntimeGateInput;
    const gate = evaluateRuntimeGate(broken);
    expect(gate.open).toBe(false);
    expect(gate.message).toMatch(/^the governance gate could not be evaluated/);
    expect(evaluateRuntimeGate(null as unknown as RuntimeGateInput).open).toBe(false);
  });

  it('is deterministic: the same input gives the same answer', () => {
    const input = base({ now: IN_BLACKOUT, change: change('Scheduled', { type: 'emergency', approvals: twoApprovers }) });
    expect(evaluateRuntimeGate(input)).toEqual(evaluateRuntimeGate(structuredClone(input)));
  });
});
