import { describe, expect, it } from 'vitest';
import {
  blockingCriteria,
  canGo,
  COMPLIANCE_CRITERION_ID,
  criteriaGateResults,
  evaluateCriteria,
  goNoGoCriteria,
  type AnalysisFact,
  type GoNoGoCriterion,
  type GoNoGoFacts,
} from '../../../src/core/governance/go-no-go.js';
import type { CriterionState, ReleaseResult, Signoff } from '../../../src/core/governance/records.js';
import { goNoGoCriterionSchema, type GoNoGoCriterionSpec } from '../../../src/core/resources/go-no-go.js';
import { releaseSpecSchema, type ReleaseSpec } from '../../../src/core/resources/release.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const criterion = (input: Record<string, unknown>): GoNoGoCriterionSpec => goNoGoCriterionSchema.parse(input);
const release = (extra: Record<string, unknown> = {}): ReleaseSpec =>
  releaseSpecSchema.parse({
    version: '1.0.0',
    components: [
      { service: 'checkout', version: '1.0.0', digest: DIGEST },
      { service: 'payments', version: '2.0.0', digest: DIGEST },
    ],
    ...extra,
  });

describe('goNoGoCriteria', () => {
  const stage = [criterion({ id: 'staging-analysis', analysis: { environment: 'staging' } })];

  it('lists the stage criteria, then the release criteria, with descriptions, kinds and sources', () => {
    const criteria = goNoGoCriteria(release({ goNoGo: { criteria: [{ id: 'e2e', result: { name: 'e2e', min: 90 } }, { id: 'qa', signoff: { group: 'qa', count: 2 } }] } }), stage);
    expect(criteria.map((c) => [c.id, c.kind, c.source, c.required])).toEqual([
      ['staging-analysis', 'automatic', 'pipeline', true],
      ['e2e', 'automatic', 'release', true],
      ['qa', 'manual', 'release', true],
    ]);
    expect(criteria.map((c) => c.description)).toEqual([
      "every component's rollout in staging Healthy with its analysis passed",
      'result "e2e" passed with value ≥ 90',
      '2 sign-offs from qa',
    ]);
  });

  const implicitCases: Array<{ name: string; scope: unknown[]; criteria: unknown[]; implicit: boolean }> = [
    { name: 'no jurisdictions: no implicit sign-off', scope: [{ title: 'x', classification: 'enhancement' }], criteria: [], implicit: false },
    { name: 'an empty jurisdictions list does not count', scope: [{ title: 'x', classification: 'enhancement', jurisdictions: [] }], criteria: [], implicit: false },
    { name: 'jurisdiction-tagged scope adds the compliance sign-off', scope: [{ title: 'x', classification: 'enhancement', jurisdictions: ['us-ca', 'eu'] }], criteria: [], implicit: true },
    {
      name: 'not added twice when the release already asks compliance',
      scope: [{ title: 'x', classification: 'enhancement', jurisdictions: ['eu'] }],
      criteria: [{ id: 'legal', signoff: { group: 'compliance', count: 2 } }],
      implicit: false,
    },
  ];
  it.each(implicitCases)('$name', ({ scope, criteria, implicit }) => {
    const list = goNoGoCriteria(release({ scope, goNoGo: { criteria } }), []);
    const found = list.find((c) => c.id === COMPLIANCE_CRITERION_ID);
    expect(found !== undefined).toBe(implicit);
    if (found) {
      expect(found).toMatchObject({ kind: 'manual', source: 'implicit', required: true, signoff: { group: 'compliance', count: 1 } });
      expect(found.description).toContain('eu, us-ca');
    }
  });

  it('a release criterion cannot replace a stage criterion of the same id: both are kept', () => {
    const criteria = goNoGoCriteria(release({ goNoGo: { criteria: [{ id: 'staging-analysis', required: false, analysis: { environment: 'dev' } }] } }), stage);
    expect(criteria.map((c) => [c.id, c.required, c.analysis?.environment])).toEqual([
      ['staging-analysis', true, 'staging'],
      ['release/staging-analysis', false, 'dev'],
    ]);
  });

  it('takes the compliance group from the options', () => {
    const criteria = goNoGoCriteria(release({ scope: [{ title: 'x', classification: 'net-new', jurisdictions: ['eu'] }] }), [], { complianceGroup: 'legal' });
    expect(criteria[0]!.signoff).toEqual({ group: 'legal', count: 1 });
  });
});

// ---------------------------------------------------------------------------------------------

const result = (name: string, extra: Partial<ReleaseResult> = {}): ReleaseResult => ({
  id: `${name}-${extra.service ?? 'all'}`,
  name,
  type: 'test',
  passed: true,
  postedBy: 'ci',
  at: '2026-01-01T00:00:00Z',
  ...extra,
});
const signoff = (group: string, user: string): Signoff => ({ group, user, at: '2026-01-01T00:00:00Z', comment: 'ok' });
const healthy = (deployment: string): AnalysisFact => ({ deployment, phase: 'Healthy', analysisPassed: true });
const facts = (extra: Partial<GoNoGoFacts> = {}): GoNoGoFacts => ({ components: ['checkout', 'payments'], results: [], signoffs: [], analysis: {}, ...extra });
const only = (spec: Record<string, unknown>): GoNoGoCriterion[] => goNoGoCriteria(release({ goNoGo: { criteria: [{ id: 'c', ...spec }] } }), []);

describe('evaluateCriteria: analysis', () => {
  const both = (checkout: AnalysisFact | null, payments: AnalysisFact | null) => ({ staging: { checkout, payments } });
  const cases: Array<{ name: string; analysis: GoNoGoFacts['analysis']; components?: string[]; state: CriterionState['state']; detail: RegExp }> = [
    { name: 'every component Healthy with analysis passed', analysis: both(healthy('d1'), healthy('d2')), state: 'met', detail: /checkout, payments Healthy in staging/ },
    { name: 'one still Progressing', analysis: both(healthy('d1'), { deployment: 'd2', phase: 'Progressing', analysisPassed: false }), state: 'pending', detail: /payments: d2 is Progressing/ },
    { name: 'one Paused', analysis: both({ deployment: 'd1', phase: 'Paused', analysisPassed: false }, healthy('d2')), state: 'pending', detail: /checkout: d1 is Paused/ },
    { name: 'one not started yet', analysis: both(healthy('d1'), { deployment: 'd2', phase: null, analysisPassed: false }), state: 'pending', detail: /d2 not started yet/ },
    { name: 'one Aborted', analysis: both(healthy('d1'), { deployment: 'd2', phase: 'Aborted', analysisPassed: false }), state: 'unmet', detail: /payments: d2 is Aborted/ },
    { name: 'one Degraded', analysis: both({ deployment: 'd1', phase: 'Degraded', analysisPassed: false }, healthy('d2')), state: 'unmet', detail: /d1 is Degraded/ },
    { name: 'Healthy but a failed analysis run', analysis: both(healthy('d1'), { deployment: 'd2', phase: 'Healthy', analysisPassed: false }), state: 'unmet', detail: /analysis run failed/ },
    { name: 'one not deployed there', analysis: both(healthy('d1'), null), state: 'unmet', detail: /payments: not deployed in staging/ },
    { name: 'nothing known about the environment', analysis: {}, state: 'unmet', detail: /checkout: not deployed in staging.*payments: not deployed/ },
    { name: 'unmet beats pending', analysis: both({ deployment: 'd1', phase: 'Progressing', analysisPassed: false }, { deployment: 'd2', phase: 'Aborted', analysisPassed: false }), state: 'unmet', detail: /^payments: d2 is Aborted$/ },
    { name: 'a release without components cannot meet it', analysis: {}, components: [], state: 'unmet', detail: /no components/ },
    { name: 'only the asked environment counts', analysis: { prod: { checkout: healthy('d1'), payments: healthy('d2') } }, state: 'unmet', detail: /not deployed in staging/ },
  ];
  it.each(cases)('$name', ({ analysis, components, state, detail }) => {
    const [evaluated] = evaluateCriteria(only({ analysis: { environment: 'staging' } }), facts({ analysis, ...(components ? { components } : {}) }));
    expect(evaluated!.state).toBe(state);
    expect(evaluated!.detail).toMatch(detail);
    expect(evaluated!.kind).toBe('automatic');
  });
});

describe('evaluateCriteria: result', () => {
  const cases: Array<{ name: string; spec: Record<string, unknown>; results: ReleaseResult[]; state: CriterionState['state']; detail: RegExp }> = [
    { name: 'none posted', spec: { name: 'e2e' }, results: [], state: 'pending', detail: /no result "e2e" posted yet/ },
    { name: 'passed', spec: { name: 'e2e' }, results: [result('e2e')], state: 'met', detail: /"e2e" passed/ },
    { name: 'failed', spec: { name: 'e2e' }, results: [result('e2e', { passed: false, summary: '3 failures' })], state: 'unmet', detail: /"e2e" failed: 3 failures/ },
    { name: 'other names do not count', spec: { name: 'e2e' }, results: [result('unit')], state: 'pending', detail: /no result "e2e"/ },
    { name: 'type must match when given', spec: { name: 'bench', type: 'benchmark' }, results: [result('bench', { type: 'test' })], state: 'pending', detail: /no result "bench"/ },
    { name: 'type matches', spec: { name: 'bench', type: 'benchmark' }, results: [result('bench', { type: 'benchmark', value: 120 })], state: 'met', detail: /value 120/ },
    { name: 'value within min', spec: { name: 'coverage', min: 80 }, results: [result('coverage', { value: 80 })], state: 'met', detail: /value 80/ },
    { name: 'value below min', spec: { name: 'coverage', min: 80 }, results: [result('coverage', { value: 79.9 })], state: 'unmet', detail: /value 79.9 < min 80/ },
    { name: 'value above max', spec: { name: 'p99', max: 250 }, results: [result('p99', { value: 251 })], state: 'unmet', detail: /value 251 > max 250/ },
    { name: 'bounds without a value', spec: { name: 'p99', max: 250 }, results: [result('p99')], state: 'unmet', detail: /no value/ },
    { name: 'a failing component result is not hidden by a passing release-wide one', spec: { name: 'e2e' }, results: [result('e2e'), result('e2e', { service: 'payments', passed: false })], state: 'unmet', detail: /"e2e" for payments failed/ },
    { name: 'perComponent: every component passed', spec: { name: 'migration', perComponent: true }, results: [result('migration', { service: 'checkout' }), result('migration', { service: 'payments' })], state: 'met', detail: /passed for checkout, payments/ },
    { name: 'perComponent: one missing', spec: { name: 'migration', perComponent: true }, results: [result('migration', { service: 'checkout' })], state: 'pending', detail: /no result "migration" posted for payments/ },
    { name: 'perComponent: a release-wide result does not count for components', spec: { name: 'migration', perComponent: true }, results: [result('migration')], state: 'pending', detail: /for checkout.*for payments/ },
    { name: 'perComponent: one failed', spec: { name: 'migration', perComponent: true }, results: [result('migration', { service: 'checkout', passed: false }), result('migration', { service: 'payments' })], state: 'unmet', detail: /for checkout failed/ },
  ];
  it.each(cases)('$name', ({ spec, results, state, detail }) => {
    const [evaluated] = evaluateCriteria(only({ result: spec }), facts({ results }));
    expect(evaluated!.state).toBe(state);
    expect(evaluated!.detail).toMatch(detail);
  });
});

describe('evaluateCriteria: signoff', () => {
  const cases: Array<{ name: string; count: number; signoffs: Signoff[]; state: CriterionState['state']; detail: RegExp }> = [
    { name: 'none yet', count: 1, signoffs: [], state: 'pending', detail: /0 of 1 sign-off from compliance$/ },
    { name: 'one of one', count: 1, signoffs: [signoff('compliance', 'carol')], state: 'met', detail: /signed off by carol for compliance/ },
    { name: 'other groups do not count', count: 1, signoffs: [signoff('qa', 'carol')], state: 'pending', detail: /0 of 1/ },
    { name: 'one of two', count: 2, signoffs: [signoff('compliance', 'carol')], state: 'pending', detail: /1 of 2 sign-offs from compliance \(carol\)/ },
    { name: 'the same user twice counts once', count: 2, signoffs: [signoff('compliance', 'carol'), signoff('compliance', 'carol')], state: 'pending', detail: /1 of 2/ },
    { name: 'two distinct users', count: 2, signoffs: [signoff('compliance', 'carol'), signoff('compliance', 'dan')], state: 'met', detail: /carol, dan/ },
  ];
  it.each(cases)('$name', ({ count, signoffs, state, detail }) => {
    const [evaluated] = evaluateCriteria(only({ signoff: { group: 'compliance', count } }), facts({ signoffs }));
    expect(evaluated!.state).toBe(state);
    expect(evaluated!.detail).toMatch(detail);
    expect(evaluated!.kind).toBe('manual');
    expect(evaluated!.signoff).toEqual({ group: 'compliance', count });
  });

  it('names the group a manual criterion needs, the implicit compliance one too; automatic ones name none', () => {
    const spec = release({
      scope: [{ title: 'GDPR export', classification: 'net-new', jurisdictions: ['eu'] }],
      goNoGo: { criteria: [{ id: 'qa', signoff: { group: 'qa' } }, { id: 'e2e', result: { name: 'e2e' } }] },
    });
    const states = evaluateCriteria(goNoGoCriteria(spec, []), facts({ signoffs: [signoff('qa', 'dan')] }));
    expect(states.map((s) => [s.id, s.state, s.signoff])).toEqual([
      ['qa', 'met', { group: 'qa', count: 1 }],
      ['e2e', 'pending', undefined],
      [COMPLIANCE_CRITERION_ID, 'pending', { group: 'compliance', count: 1 }],
    ]);
    expect(Object.hasOwn(states[1]!, 'signoff')).toBe(false);
  });
});

describe('canGo / blockingCriteria / criteriaGateResults', () => {
  const state = (id: string, value: CriterionState['state'], required = true): CriterionState => ({ id, description: id, kind: 'automatic', required, state: value, detail: `${id} is ${value}` });
  const cases: Array<{ name: string; states: CriterionState[]; go: boolean; blocking: string[] }> = [
    { name: 'no criteria', states: [], go: true, blocking: [] },
    { name: 'all met', states: [state('a', 'met'), state('b', 'met')], go: true, blocking: [] },
    { name: 'waived counts as met', states: [state('a', 'met'), state('b', 'waived')], go: true, blocking: [] },
    { name: 'a required pending blocks', states: [state('a', 'met'), state('b', 'pending')], go: false, blocking: ['b'] },
    { name: 'a required unmet blocks', states: [state('a', 'unmet'), state('b', 'pending')], go: false, blocking: ['a', 'b'] },
    { name: 'optional ones never block', states: [state('a', 'met'), state('b', 'unmet', false), state('c', 'pending', false)], go: true, blocking: [] },
  ];
  it.each(cases)('$name', ({ states, go, blocking }) => {
    expect(canGo(states)).toBe(go);
    expect(blockingCriteria(states).map((s) => s.id)).toEqual(blocking);
  });

  it('maps states to gate outcomes: met/waived pass, required pending pending, required unmet deny, optional not met warn', () => {
    const gates = criteriaGateResults([state('a', 'met'), state('b', 'waived'), state('c', 'pending'), state('d', 'unmet'), state('e', 'unmet', false)]);
    expect(gates.map((gate) => [gate.gate, gate.name, gate.outcome])).toEqual([
      ['goNoGo', 'a', 'pass'],
      ['goNoGo', 'b', 'pass'],
      ['goNoGo', 'c', 'pending'],
      ['goNoGo', 'd', 'deny'],
      ['goNoGo', 'e', 'warn'],
    ]);
    expect(gates[3]!.message).toContain('d is unmet');
  });
});

describe('a whole release', () => {
  it('evaluates stage, release and implicit criteria together', () => {
    const spec = release({
      scope: [{ title: 'GDPR export', classification: 'net-new', jurisdictions: ['eu'] }],
      goNoGo: { criteria: [{ id: 'e2e', result: { name: 'e2e' } }, { id: 'perf', required: false, result: { name: 'p99', max: 200 } }] },
    });
    const criteria = goNoGoCriteria(spec, [criterion({ id: 'staging', analysis: { environment: 'staging' } })]);
    const states = evaluateCriteria(
      criteria,
      facts({
        analysis: { staging: { checkout: healthy('d1'), payments: healthy('d2') } },
        results: [result('e2e'), result('p99', { value: 300 })],
        signoffs: [signoff('compliance', 'carol')],
      }),
    );
    expect(states.map((s) => [s.id, s.state])).toEqual([
      ['staging', 'met'],
      ['e2e', 'met'],
      ['perf', 'unmet'],
      [COMPLIANCE_CRITERION_ID, 'met'],
    ]);
    expect(canGo(states)).toBe(true);
    expect(canGo(evaluateCriteria(criteria, facts({ analysis: { staging: { checkout: healthy('d1'), payments: healthy('d2') } }, results: [result('e2e')] })))).toBe(false);
  });
});
