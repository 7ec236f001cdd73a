import { describe, expect, it } from 'vitest';
import { approvalProgress, invalidateApprovals, requiredApprovalsFor, requiredGroups } from '../../../src/core/governance/approvals.js';
import type { ApprovalRecord, ApprovalRequirement } from '../../../src/core/governance/records.js';

const T0 = Date.parse('2026-03-02T09:00:00Z');
let seq = 0;
const record = (user: string, groups: string[], decision: 'approve' | 'reject' = 'approve', extra: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
  id: `a${++seq}`,
  user,
  groups,
  decision,
  comment: decision === 'reject' ? 'no' : '',
  at: new Date(T0 + seq * 1000).toISOString(),
  valid: true,
  ...extra,
});

const prodRules = [
  { group: 'cab', count: 2, minRisk: 'medium' as const },
  { group: 'security', count: 1, minRisk: 'critical' as const },
  { group: 'release-managers', count: 1, changeTypes: ['emergency' as const] },
];
const prod = { name: 'prod', approvals: prodRules };
const summary = (requirements: ApprovalRequirement[]) => requirements.map((r) => `${r.count} ${r.group}`);

describe('requiredApprovalsFor', () => {
  it('applies each environment rule from its minRisk and for its change types only', () => {
    expect(summary(requiredApprovalsFor({ type: 'normal', level: 'low', environment: prod }))).toEqual([]);
    expect(summary(requiredApprovalsFor({ type: 'normal', level: 'medium', environment: prod }))).toEqual(['2 cab']);
    expect(summary(requiredApprovalsFor({ type: 'normal', level: 'high', environment: prod }))).toEqual(['2 cab']);
    expect(summary(requiredApprovalsFor({ type: 'normal', level: 'critical', environment: prod }))).toEqual(['2 cab', '1 security']);
    expect(summary(requiredApprovalsFor({ type: 'emergency', level: 'low', environment: prod }))).toEqual(['1 release-managers']);
    const [cab] = requiredApprovalsFor({ type: 'normal', level: 'high', environment: prod });
    expect(cab!.reason).toBe('environment prod rule 1: 2 from cab (risk high ≥ medium)');
  });

  it('standard changes are pre-approved: nothing, not even extra approvals', () => {
    expect(requiredApprovalsFor({ type: 'standard', level: 'critical', environment: prod, extra: [{ group: 'x', count: 1, reason: 'stage' }] })).toEqual([]);
  });

  it('without rules: normal and emergency changes of high or critical risk need 1 from cab', () => {
    for (const environment of [{ name: 'staging' }, { name: 'staging', approvals: [] }, null]) {
      expect(summary(requiredApprovalsFor({ type: 'normal', level: 'medium', environment }))).toEqual([]);
      expect(summary(requiredApprovalsFor({ type: 'normal', level: 'high', environment }))).toEqual(['1 cab']);
      expect(summary(requiredApprovalsFor({ type: 'emergency', level: 'critical', environment }))).toEqual(['1 cab']);
    }
    expect(requiredApprovalsFor({ type: 'normal', level: 'high', environment: { name: 'staging' } })[0]!.reason).toContain('environment staging has no approval rules');
  });

  it('appends extra approvals after the rules', () => {
    const extra = [{ group: 'qa', count: 1, reason: 'pipeline stage prod' }];
    expect(requiredApprovalsFor({ type: 'normal', level: 'medium', environment: prod, extra })).toEqual([
      expect.objectContaining({ group: 'cab', count: 2 }),
      { group: 'qa', count: 1, reason: 'pipeline stage prod' },
    ]);
  });
});

describe('approvalProgress', () => {
  const requirements: ApprovalRequirement[] = [
    { group: 'cab', count: 2, reason: 'r1' },
    { group: 'security', count: 1, reason: 'r2' },
  ];

  it('counts distinct valid approvers per requirement by the groups recorded with each decision', () => {
    const progress = approvalProgress(requirements, [record('bob', ['cab']), record('bob', ['cab']), record('erin', ['ops'])]);
    expect(progress.satisfied).toBe(false);
    expect(progress.requirements.map((r) => [r.group, r.approvers, r.remaining, r.satisfied])).toEqual([
      ['cab', ['bob'], 1, false],
      ['security', [], 1, false],
    ]);
    expect(progress.missing).toEqual(['1 more from cab (has 1 of 2: bob)', '1 more from security (has 0 of 1)']);
  });

  it('one person in two groups counts for both; all met is satisfied', () => {
    const progress = approvalProgress(requirements, [record('carol', ['cab', 'security']), record('dave', ['cab'])]);
    expect(progress.satisfied).toBe(true);
    expect(progress.missing).toEqual([]);
    expect(progress.requirements.map((r) => r.approvers)).toEqual([['carol', 'dave'], ['carol']]);
  });

  it('expired decisions do not count, and a valid rejection blocks even when the counts are met', () => {
    const expired = approvalProgress(requirements, [record('carol', ['cab', 'security'], 'approve', { valid: false }), record('dave', ['cab'])]);
    expect(expired.requirements[0]!.approvers).toEqual(['dave']);

    const rejected = approvalProgress(requirements, [record('carol', ['cab', 'security']), record('dave', ['cab']), record('bob', ['cab'], 'reject')]);
    expect(rejected.satisfied).toBe(false);
    expect(rejected.rejected).toMatchObject({ user: 'bob', comment: 'no' });
    expect(approvalProgress(requirements, [record('bob', ['cab'], 'reject', { valid: false })]).rejected).toBeNull();
  });

  it('nothing required and nothing rejected: satisfied', () => {
    expect(approvalProgress([], []).satisfied).toBe(true);
    expect(approvalProgress([], [record('bob', ['cab'], 'reject')]).satisfied).toBe(false);
  });

  it('two requirements of one group are each met on their own: the larger count decides', () => {
    const twice: ApprovalRequirement[] = [
      { group: 'cab', count: 1, reason: 'env' },
      { group: 'cab', count: 2, reason: 'stage' },
    ];
    expect(approvalProgress(twice, [record('bob', ['cab'])]).satisfied).toBe(false);
    expect(approvalProgress(twice, [record('bob', ['cab']), record('dave', ['cab'])]).satisfied).toBe(true);
    expect(requiredGroups(twice)).toEqual(['cab']);
  });
});

describe('invalidateApprovals', () => {
  it('expires every valid decision with the reason and keeps the first reason of those already expired', () => {
    const old = record('bob', ['cab'], 'approve', { valid: false, invalidatedAt: '2026-03-01T00:00:00.000Z', invalidatedReason: 'first' });
    const { approvals, invalidated } = invalidateApprovals([old, record('dave', ['cab']), record('bob', ['cab'], 'reject')], '2026-03-02T10:00:00.000Z', 'change edited: fields plannedStart');
    expect(invalidated).toBe(2);
    expect(approvals.map((a) => [a.valid, a.invalidatedReason])).toEqual([
      [false, 'first'],
      [false, 'change edited: fields plannedStart'],
      [false, 'change edited: fields plannedStart'],
    ]);
    expect(approvals[1]!.invalidatedAt).toBe('2026-03-02T10:00:00.000Z');
  });
});
