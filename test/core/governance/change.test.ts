import { describe, expect, it } from 'vitest';
import {
  allowedTransitions,
  createChange,
  editChange,
  READ_ONLY_FROM_SCHEDULED,
  transition,
  type Change,
} from '../../../src/core/governance/change.js';
import { CHANGE_STATES, changeSpecSchema, type ChangeSpec, type ChangeState, type ChangeType } from '../../../src/core/resources/change.js';

const NOW = Date.parse('2025-03-04T10:00:00Z');
const ctx = { actor: 'alice', now: NOW };
const ctxWithReason = { ...ctx, reason: 'no longer needed' };

const fullSpec = (type: ChangeType, extra: Partial<ChangeSpec> = {}): ChangeSpec =>
  changeSpecSchema.parse({
    type,
    title: 'Upgrade checkout to 2.4',
    services: ['checkout'],
    businessServices: ['Online store'],
    plannedStart: '2025-03-05T22:00:00Z',
    plannedEnd: '2025-03-05T23:00:00Z',
    implementationPlan: 'rollgate deploy checkout 2.4.0',
    backoutPlan: 'rollgate rollout abort checkout',
    testPlan: 'smoke suite',
    justification: 'fixes rounding bug',
    risk: 'medium',
    closeCode: 'successful',
    ...extra,
  });

const at = (type: ChangeType, state: ChangeState, extra: Partial<ChangeSpec> = {}): Change => ({ spec: fullSpec(type, extra), status: { state } });

/** Expected table, written out by hand (Canceled is checked separately). */
const EXPECTED: Record<ChangeType, Partial<Record<ChangeState, ChangeState[]>>> = {
  normal: {
    New: ['Assess'],
    Assess: ['Authorize', 'New'],
    Authorize: ['Scheduled', 'New'],
    Scheduled: ['Implement'],
    Implement: ['Review'],
    Review: ['Closed'],
  },
  emergency: {
    New: ['Assess', 'Authorize'],
    Assess: ['Authorize', 'New'],
    Authorize: ['Scheduled', 'New'],
    Scheduled: ['Implement'],
    Implement: ['Review'],
    Review: ['Closed'],
  },
  standard: {
    New: ['Scheduled'],
    Scheduled: ['Implement'],
    Implement: ['Review'],
    Review: ['Closed'],
  },
};

const NON_FINAL: ChangeState[] = ['New', 'Assess', 'Authorize', 'Scheduled', 'Implement', 'Review'];
const TYPES: ChangeType[] = ['standard', 'normal', 'emergency'];

const cases = TYPES.flatMap((type) =>
  NON_FINAL.flatMap((from) =>
    CHANGE_STATES.filter((to) => to !== 'Canceled').map((to) => ({ type, from, to, allowed: (EXPECTED[type][from] ?? []).includes(to) })),
  ),
);

describe('change transitions', () => {
  it.each(cases)('$type: $from → $to allowed=$allowed', ({ type, from, to, allowed }) => {
    const result = transition(at(type, from), to, ctxWithReason);
    if (allowed) {
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(result.change.status).toEqual({ state: to, stateEnteredAt: '2025-03-04T10:00:00.000Z' });
      expect(result.event).toEqual({ type: `change.${to}`, actor: 'alice', at: '2025-03-04T10:00:00.000Z', from, to, reason: 'no longer needed' });
    } else {
      expect(result).toMatchObject({ ok: false, error: { code: 'transition-not-allowed' } });
      if (!result.ok) expect(result.error.message).toContain(`cannot go from ${from} to ${to}`);
    }
  });

  it('allowedTransitions matches the table plus Canceled', () => {
    for (const type of TYPES) {
      for (const from of NON_FINAL) expect(allowedTransitions(type, from)).toEqual([...(EXPECTED[type][from] ?? []), 'Canceled']);
      expect(allowedTransitions(type, 'Closed')).toEqual([]);
      expect(allowedTransitions(type, 'Canceled')).toEqual([]);
    }
  });

  it.each(TYPES.flatMap((type) => NON_FINAL.map((from) => ({ type, from }))))('$type: Canceled from $from, with a reason', ({ type, from }) => {
    const refused = transition(at(type, from), 'Canceled', ctx);
    expect(refused).toMatchObject({ ok: false, error: { code: 'missing-fields', fields: ['reason'] } });
    const result = transition(at(type, from), 'Canceled', ctxWithReason);
    expect(result.ok && result.event).toEqual({ type: 'change.Canceled', actor: 'alice', at: '2025-03-04T10:00:00.000Z', from, to: 'Canceled', reason: 'no longer needed' });
  });

  it.each(TYPES.flatMap((type) => (['Closed', 'Canceled'] as const).flatMap((from) => CHANGE_STATES.map((to) => ({ type, from, to })))))(
    '$type: $from is final (→ $to refused)',
    ({ type, from, to }) => {
      expect(transition(at(type, from), to, ctxWithReason)).toMatchObject({ ok: false, error: { code: 'final-state' } });
      expect(editChange(at(type, from), { title: 'x' }, ctx)).toMatchObject({ ok: false, error: { code: 'final-state' } });
    },
  );

  it('does not mutate the input change', () => {
    const change = at('normal', 'New');
    const copy = structuredClone(change);
    transition(change, 'Assess', ctx);
    expect(change).toEqual(copy);
  });

  it('refuses a missing actor or a bad clock', () => {
    expect(transition(at('normal', 'New'), 'Assess', { actor: '', now: NOW })).toMatchObject({ ok: false, error: { code: 'invalid-context', fields: ['actor'] } });
    expect(transition(at('normal', 'New'), 'Assess', { actor: 'a', now: Number.NaN })).toMatchObject({ ok: false, error: { code: 'invalid-context', fields: ['now'] } });
  });
});

describe('required fields per target state', () => {
  const bare = (type: ChangeType, state: ChangeState, extra: Partial<ChangeSpec> = {}): Change => ({
    spec: changeSpecSchema.parse({ type, title: 't', ...extra }),
    status: { state },
  });

  it.each([
    { type: 'normal', from: 'New', to: 'Assess', fields: ['justification', 'implementationPlan', 'backoutPlan', 'testPlan'] },
    { type: 'normal', from: 'Assess', to: 'Authorize', fields: ['justification', 'implementationPlan', 'backoutPlan', 'testPlan'] },
    { type: 'emergency', from: 'New', to: 'Assess', fields: ['justification', 'implementationPlan', 'backoutPlan'] },
    { type: 'emergency', from: 'New', to: 'Authorize', fields: ['justification', 'implementationPlan', 'backoutPlan'] },
    { type: 'normal', from: 'Authorize', to: 'Scheduled', fields: ['services', 'plannedStart', 'plannedEnd'] },
    { type: 'standard', from: 'New', to: 'Scheduled', fields: ['implementationPlan', 'backoutPlan', 'services', 'plannedStart', 'plannedEnd'] },
    { type: 'normal', from: 'Review', to: 'Closed', fields: ['closeCode'] },
  ] as const)('$type $from → $to names $fields', ({ type, from, to, fields }) => {
    const result = transition(bare(type, from), to, ctx);
    expect(result).toMatchObject({ ok: false, error: { code: 'missing-fields', fields } });
    if (!result.ok) expect(result.error.message).toBe(`${to} needs ${fields.join(', ')}`);
  });

  it('names only the field that is missing and treats blank strings as missing', () => {
    const result = transition(at('normal', 'New', { testPlan: undefined, justification: '   ' }), 'Assess', ctx);
    expect(result).toMatchObject({ ok: false, error: { code: 'missing-fields', fields: ['justification', 'testPlan'] } });
  });

  it('Scheduled needs plannedStart before plannedEnd', () => {
    for (const plannedEnd of ['2025-03-05T22:00:00Z', '2025-03-05T21:00:00Z']) {
      expect(transition(at('normal', 'Authorize', { plannedEnd }), 'Scheduled', ctx)).toMatchObject({
        ok: false,
        error: { code: 'invalid-fields', fields: ['plannedStart', 'plannedEnd'], message: 'plannedStart must be before plannedEnd' },
      });
    }
    // Offsets are compared as instants: 23:30+02:00 is 21:30Z, before 22:00Z.
    expect(transition(at('normal', 'Authorize', { plannedEnd: '2025-03-05T23:30:00+02:00' }), 'Scheduled', ctx).ok).toBe(false);
  });

  it('Closed needs closeNotes unless successful, and only comes from Review', () => {
    expect(transition(at('normal', 'Review', { closeCode: 'unsuccessful' }), 'Closed', ctx)).toMatchObject({
      ok: false,
      error: { code: 'missing-fields', fields: ['closeNotes'] },
    });
    expect(transition(at('normal', 'Review', { closeCode: 'successful-with-issues', closeNotes: 'slow rollout' }), 'Closed', ctx).ok).toBe(true);
    expect(transition(at('normal', 'Implement'), 'Closed', ctx)).toMatchObject({ ok: false, error: { code: 'transition-not-allowed' } });
  });

  it('going back to New (rejection) needs a reason', () => {
    expect(transition(at('normal', 'Authorize'), 'New', ctx)).toMatchObject({ ok: false, error: { code: 'missing-fields', fields: ['reason'] } });
    expect(transition(at('normal', 'Authorize'), 'New', { ...ctx, reason: 'CAB rejected' }).ok).toBe(true);
  });

  it('walks a normal change end to end, one audit event per step', () => {
    let change: Change = at('normal', 'New');
    const events = [];
    for (const to of ['Assess', 'Authorize', 'Scheduled', 'Implement', 'Review', 'Closed'] as const) {
      const result = transition(change, to, { actor: 'bob', now: NOW });
      if (!result.ok) throw new Error(result.error.message);
      change = result.change;
      events.push(result.event.type);
    }
    expect(events).toEqual(['change.Assess', 'change.Authorize', 'change.Scheduled', 'change.Implement', 'change.Review', 'change.Closed']);
    expect(change.status.state).toBe('Closed');
  });
});

describe('editChange', () => {
  it.each(['Scheduled', 'Implement', 'Review'] as const)('refuses read-only fields in %s, naming each', (state) => {
    const result = editChange(
      at('normal', state),
      { services: ['checkout', 'cart'], plannedEnd: '2025-03-06T01:00:00Z', risk: 'high', title: 'fine to change' },
      ctx,
    );
    expect(result).toMatchObject({ ok: false, error: { code: 'read-only-fields', fields: ['services', 'plannedEnd', 'risk'] } });
    if (!result.ok) expect(result.error.message).toBe(`services, plannedEnd, risk are read-only once the change is authorized (state ${state})`);
  });

  it('refuses every documented read-only field once Scheduled', () => {
    const change = at('normal', 'Scheduled');
    const patch: Partial<ChangeSpec> = {
      type: 'emergency',
      services: ['other'],
      businessServices: ['Other'],
      implementationPlan: 'x',
      backoutPlan: 'x',
      testPlan: 'x',
      plannedStart: '2025-03-05T21:00:00Z',
      plannedEnd: '2025-03-05T23:30:00Z',
      risk: 'low',
    };
    expect(Object.keys(patch)).toEqual([...READ_ONLY_FROM_SCHEDULED]);
    for (const field of READ_ONLY_FROM_SCHEDULED) {
      const result = editChange(change, { [field]: patch[field] }, ctx);
      expect(result).toMatchObject({ ok: false, error: { code: 'read-only-fields', fields: [field] } });
    }
  });

  it('after Scheduled still allows other fields and same-value patches, without invalidating approvals', () => {
    const change = at('normal', 'Implement');
    const result = editChange(
      change,
      { services: ['checkout'], evidence: [{ title: 'smoke run', link: 'https://ci/1', kind: 'test-report' }], closeNotes: 'ok' },
      ctx,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.changedFields).toEqual(['evidence', 'closeNotes']);
    expect(result.approvalsInvalidated).toBe(false);
    expect(result.change.spec.evidence).toHaveLength(1);
    expect(result.change.status).toBe(change.status);
    expect(result.event).toEqual({
      type: 'change.Edited',
      actor: 'alice',
      at: '2025-03-04T10:00:00.000Z',
      state: 'Implement',
      fields: ['evidence', 'closeNotes'],
      approvalsInvalidated: false,
    });
  });

  it.each(['New', 'Assess', 'Authorize'] as const)('in %s a material edit invalidates approvals, a cosmetic one does not', (state) => {
    const material = editChange(at('normal', state), { backoutPlan: 'restore snapshot' }, ctx);
    expect(material).toMatchObject({ ok: true, approvalsInvalidated: true, changedFields: ['backoutPlan'] });
    const justification = editChange(at('normal', state), { justification: 'new reason' }, ctx);
    expect(justification).toMatchObject({ ok: true, approvalsInvalidated: true });
    const cosmetic = editChange(at('normal', state), { title: 'Better title', description: 'more words' }, ctx);
    expect(cosmetic).toMatchObject({ ok: true, approvalsInvalidated: false, changedFields: ['title', 'description'] });
    const same = editChange(at('normal', state), { risk: 'medium' }, ctx);
    expect(same).toMatchObject({ ok: true, approvalsInvalidated: false, changedFields: [] });
  });

  it('type changes only while New', () => {
    expect(editChange(at('normal', 'New'), { type: 'emergency' }, ctx)).toMatchObject({ ok: true, approvalsInvalidated: true });
    expect(editChange(at('normal', 'Assess'), { type: 'standard' }, ctx)).toMatchObject({ ok: false, error: { code: 'read-only-fields', fields: ['type'] } });
  });

  it('validates the edited spec and names the bad field; undefined clears an optional field', () => {
    expect(editChange(at('normal', 'New'), { services: ['Not A Name'] }, ctx)).toMatchObject({ ok: false, error: { code: 'invalid-fields', fields: ['services.0'] } });
    const cleared = editChange(at('normal', 'Assess'), { testPlan: undefined }, ctx);
    expect(cleared.ok && cleared.change.spec.testPlan).toBeUndefined();
    expect(cleared).toMatchObject({ ok: true, approvalsInvalidated: true, changedFields: ['testPlan'] });
  });
});

describe('createChange', () => {
  it('starts in New with defaults, and names invalid fields', () => {
    expect(createChange({ type: 'normal', title: 'x' })).toEqual({
      ok: true,
      change: { spec: { type: 'normal', title: 'x', services: [], businessServices: [], evidence: [] }, status: { state: 'New' } },
    });
    expect(createChange({ type: 'minor', title: 'x', closeCode: 'meh' })).toMatchObject({ ok: false, error: { code: 'invalid-fields', fields: ['type', 'closeCode'] } });
  });
});
