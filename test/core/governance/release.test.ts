import { describe, expect, it } from 'vitest';
import {
  applyScopeChange,
  checkScopeChange,
  freezeState,
  integrationPoints,
  isEmptyDiff,
  scopeDiff,
  scopeExceptionRequestSchema,
  scopeSummary,
  type ScopeItem,
} from '../../../src/core/governance/release.js';

const item = (title: string, extra: Partial<ScopeItem> = {}): ScopeItem => ({ title, classification: 'enhancement', ...extra });

describe('scopeDiff', () => {
  const a = item('A');
  const b = item('B', { classification: 'defect-fix' });
  const c = item('C', { value: 10 });
  const cases: Array<{ name: string; before: ScopeItem[]; after: ScopeItem[]; added: string[]; removed: string[]; changed: string[] }> = [
    { name: 'identical', before: [a, b], after: [a, b], added: [], removed: [], changed: [] },
    { name: 'reordered only', before: [a, b], after: [b, a], added: [], removed: [], changed: [] },
    { name: 'added', before: [a], after: [a, c], added: ['C'], removed: [], changed: [] },
    { name: 'removed', before: [a, b], after: [b], added: [], removed: ['A'], changed: [] },
    { name: 'classification changed', before: [a], after: [item('A', { classification: 'net-new' })], added: [], removed: [], changed: ['A'] },
    { name: 'value changed', before: [c], after: [item('C', { value: 11 })], added: [], removed: [], changed: ['C'] },
    { name: 'jurisdiction added', before: [a], after: [item('A', { jurisdictions: ['eu'] })], added: [], removed: [], changed: ['A'] },
    { name: 'renamed = removed + added', before: [a], after: [item('A2')], added: ['A2'], removed: ['A'], changed: [] },
    { name: 'from empty', before: [], after: [a], added: ['A'], removed: [], changed: [] },
  ];
  it.each(cases)('$name', ({ before, after, added, removed, changed }) => {
    const diff = scopeDiff(before, after);
    expect(diff.added.map((i) => i.title)).toEqual(added);
    expect(diff.removed.map((i) => i.title)).toEqual(removed);
    expect(diff.changed.map((i) => i.title)).toEqual(changed);
    expect(isEmptyDiff(diff)).toBe(added.length + removed.length + changed.length === 0);
  });

  it('key order inside an item does not count as a change', () => {
    const x = { title: 'X', classification: 'enhancement', value: 3 } as ScopeItem;
    const y = { value: 3, classification: 'enhancement', title: 'X' } as ScopeItem;
    expect(isEmptyDiff(scopeDiff([x], [y]))).toBe(true);
  });
});

describe('freezeState', () => {
  const cases: Array<{ name: string; freezeDate?: string; now: string; frozen: boolean; message: RegExp }> = [
    { name: 'no freeze date', now: '2026-01-01T00:00:00Z', frozen: false, message: /no freeze date/ },
    { name: 'before the freeze', freezeDate: '2026-03-01T00:00:00Z', now: '2026-02-28T23:59:59Z', frozen: false, message: /freezes at 2026-03-01/ },
    { name: 'exactly at the freeze (inclusive)', freezeDate: '2026-03-01T00:00:00Z', now: '2026-03-01T00:00:00Z', frozen: true, message: /frozen since 2026-03-01T00:00:00Z/ },
    { name: 'after the freeze', freezeDate: '2026-03-01T00:00:00Z', now: '2026-04-01T00:00:00Z', frozen: true, message: /frozen since/ },
    { name: 'offsets are honoured', freezeDate: '2026-03-01T01:00:00+02:00', now: '2026-02-28T23:30:00Z', frozen: true, message: /frozen since/ },
  ];
  it.each(cases)('$name', ({ freezeDate, now, frozen, message }) => {
    const state = freezeState(freezeDate === undefined ? {} : { freezeDate }, new Date(now));
    expect(state.frozen).toBe(frozen);
    expect(state.freezeDate).toBe(freezeDate ?? null);
    expect(state.message).toMatch(message);
    // Numbers and Dates agree.
    expect(freezeState(freezeDate === undefined ? {} : { freezeDate }, Date.parse(now)).frozen).toBe(frozen);
  });
});

describe('integrationPoints', () => {
  const services = [
    { name: 'web', dependsOn: ['checkout', 'search'] },
    { name: 'checkout', dependsOn: ['payments', 'inventory'] },
    { name: 'payments', dependsOn: [] },
    { name: 'inventory' },
    { name: 'search', dependsOn: ['inventory'] },
    { name: 'batch', dependsOn: ['payments'] },
  ];
  const cases: Array<{ name: string; components: string[]; expected: Record<string, { inside: string[]; outside: string[]; critical: boolean }> }> = [
    {
      name: 'dependents split inside / outside the release',
      components: ['checkout', 'payments'],
      expected: {
        checkout: { inside: [], outside: ['web'], critical: true },
        payments: { inside: ['checkout'], outside: ['batch'], critical: true },
      },
    },
    {
      name: 'a leaf nothing depends on is not critical',
      components: ['web'],
      expected: { web: { inside: [], outside: [], critical: false } },
    },
    {
      name: 'every dependent inside',
      components: ['inventory', 'checkout', 'search', 'web'],
      expected: {
        inventory: { inside: ['checkout', 'search'], outside: [], critical: true },
        checkout: { inside: ['web'], outside: [], critical: true },
        search: { inside: ['web'], outside: [], critical: true },
        web: { inside: [], outside: [], critical: false },
      },
    },
    {
      name: 'a component without a Service object still gets an entry',
      components: ['ghost'],
      expected: { ghost: { inside: [], outside: [], critical: false } },
    },
  ];
  it.each(cases)('$name', ({ components, expected }) => {
    const points = integrationPoints(
      components.map((service) => ({ service })),
      services,
    );
    expect(points.map((point) => point.service)).toEqual(components);
    for (const point of points) {
      const want = expected[point.service]!;
      expect(point.dependents).toEqual({ inside: want.inside, outside: want.outside });
      expect(point.critical).toBe(want.critical);
    }
  });

  it('lists a component once even when two components name the same service, and reports its own dependencies', () => {
    const points = integrationPoints([{ service: 'checkout' }, { service: 'checkout' }], services);
    expect(points).toHaveLength(1);
    expect(points[0]!.dependsOn).toEqual(['inventory', 'payments']);
  });
});

describe('scopeSummary', () => {
  it('groups by classification in a fixed order with per-group and overall totals', () => {
    const summary = scopeSummary([
      item('fix login', { classification: 'defect-fix', value: 5 }),
      item('new checkout', { classification: 'net-new', value: 40, contractual: true, jurisdictions: ['eu', 'us-ca'] }),
      item('faster search', { value: 10, jurisdictions: ['eu'] }),
      item('fix cart', { classification: 'defect-fix', contractual: true }),
    ]);
    expect(summary.groups.map((group) => [group.classification, group.items, group.value, group.contractual, group.jurisdictions])).toEqual([
      ['net-new', 1, 40, 1, ['eu', 'us-ca']],
      ['enhancement', 1, 10, 0, ['eu']],
      ['defect-fix', 2, 5, 1, []],
    ]);
    expect(summary.groups[2]!.scope.map((i) => i.title)).toEqual(['fix login', 'fix cart']);
    expect(summary.totals).toEqual({ items: 4, value: 55, contractual: 2, jurisdictions: ['eu', 'us-ca'] });
  });

  it('an empty scope has no groups and zero totals', () => {
    expect(scopeSummary([])).toEqual({ groups: [], totals: { items: 0, value: 0, contractual: 0, jurisdictions: [] } });
  });
});

describe('checkScopeChange / applyScopeChange', () => {
  const scope = [item('A'), item('B'), item('C')];
  const cases: Array<{ name: string; add: ScopeItem[]; remove: string[]; issues: Array<[string, RegExp]> }> = [
    { name: 'add a new item', add: [item('D')], remove: [], issues: [] },
    { name: 'remove an existing one', add: [], remove: ['B'], issues: [] },
    { name: 'replace an item (remove + add the same title)', add: [item('B', { classification: 'defect-fix' })], remove: ['B'], issues: [] },
    { name: 'nothing asked', add: [], remove: [], issues: [['add', /give scope items to add or titles to remove/]] },
    { name: 'remove a missing title', add: [], remove: ['Z'], issues: [['remove.0', /no scope item titled "Z"/]] },
    { name: 'remove twice', add: [], remove: ['A', 'A'], issues: [['remove.1', /listed twice/]] },
    { name: 'add an existing title', add: [item('D'), item('A')], remove: [], issues: [['add.1.title', /"A" is already in the scope/]] },
    { name: 'add the same title twice', add: [item('D'), item('D')], remove: [], issues: [['add.1.title', /added twice/]] },
  ];
  it.each(cases)('$name', ({ add, remove, issues }) => {
    const found = checkScopeChange(scope, add, remove);
    expect(found.map((issue) => issue.path.join('.'))).toEqual(issues.map(([path]) => path));
    found.forEach((issue, index) => expect(issue.message).toMatch(issues[index]![1]));
    if (issues.length === 0) {
      const next = applyScopeChange(scope, add, remove);
      const titles = next.map((i) => i.title);
      for (const title of remove) if (!add.some((i) => i.title === title)) expect(titles).not.toContain(title);
      for (const added of add) expect(next).toContainEqual(added);
      expect(new Set(titles).size).toBe(titles.length);
    }
  });
});

describe('scopeExceptionRequestSchema', () => {
  it('validates added items with the release scope item schema, naming the field', () => {
    const parsed = scopeExceptionRequestSchema.safeParse({ reason: 'legal', add: [{ title: 'x', classification: 'feature' }] });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((issue) => issue.path.join('.'))).toEqual(['add.0.classification']);
    const unknown = scopeExceptionRequestSchema.safeParse({ reason: 'legal', add: [{ title: 'x', classification: 'net-new', priority: 1 }] });
    expect(unknown.success).toBe(false);
    const blank = scopeExceptionRequestSchema.safeParse({ reason: '   ', remove: ['x'] });
    expect(blank.error!.issues[0]!.path).toEqual(['reason']);
  });
});
