import { describe, expect, it } from 'vitest';
import {
  assessRisk,
  checkRiskConfig,
  DEFAULT_RISK_CONFIG,
  DEFAULT_RISK_THRESHOLDS,
  formatRiskProblem,
  levelForScore,
  resolveRiskConfig,
  type RiskFactorName,
  type RiskFacts,
  type RiskLevel,
  type RiskRule,
} from '../../../src/core/governance/risk.js';

/** Every factor at its lowest: score 0. */
const BASE: RiskFacts = {
  serviceTier: 'low',
  customerFacing: false,
  environmentSensitivity: 'public',
  irreversibleMigration: false,
  changeSize: { components: 1, scopeItems: 1 },
  recentChangeFailureRate: null,
  leadTimeHours: null,
  insideMaintenanceWindow: null,
  emergency: false,
};

const facts = (overrides: Partial<RiskFacts>): RiskFacts => ({ ...BASE, ...overrides });
const factor = (f: RiskFacts, name: RiskFactorName) => {
  const found = assessRisk(f, { rules: [] }).factors.find((x) => x.name === name);
  if (!found) throw new Error(`no factor ${name}`);
  return found;
};

describe('assessRisk: factors', () => {
  it('baseline facts score 0, low, no floor, every factor listed', () => {
    const result = assessRisk(BASE);
    expect(result.score).toBe(0);
    expect(result.level).toBe('low');
    expect(result.levelBeforeFloor).toBe('low');
    expect(result.floor).toBeNull();
    expect(result.factors.map((f) => f.name)).toEqual([
      'serviceTier',
      'customerFacing',
      'environmentSensitivity',
      'irreversibleMigration',
      'changeSize',
      'recentChangeFailureRate',
      'leadTime',
      'maintenanceWindow',
      'emergency',
    ]);
    expect(result.factors.map((f) => f.max)).toEqual([20, 10, 15, 15, 15, 15, 10, 10, 10]);
    for (const f of result.factors) expect(f.explanation.length).toBeGreaterThan(0);
  });

  const cases: { label: string; overrides: Partial<RiskFacts>; name: RiskFactorName; points: number; explains?: RegExp }[] = [
    { label: 'tier critical', overrides: { serviceTier: 'critical' }, name: 'serviceTier', points: 20 },
    { label: 'tier high', overrides: { serviceTier: 'high' }, name: 'serviceTier', points: 14 },
    { label: 'tier standard', overrides: { serviceTier: 'standard' }, name: 'serviceTier', points: 7 },
    { label: 'tier low', overrides: { serviceTier: 'low' }, name: 'serviceTier', points: 0 },
    { label: 'customer-facing', overrides: { customerFacing: true }, name: 'customerFacing', points: 10 },
    { label: 'internal-only', overrides: { customerFacing: false }, name: 'customerFacing', points: 0 },
    { label: 'restricted data', overrides: { environmentSensitivity: 'restricted' }, name: 'environmentSensitivity', points: 15 },
    { label: 'confidential data', overrides: { environmentSensitivity: 'confidential' }, name: 'environmentSensitivity', points: 10 },
    { label: 'internal data', overrides: { environmentSensitivity: 'internal' }, name: 'environmentSensitivity', points: 4 },
    { label: 'public data', overrides: { environmentSensitivity: 'public' }, name: 'environmentSensitivity', points: 0 },
    { label: 'irreversible migration', overrides: { irreversibleMigration: true }, name: 'irreversibleMigration', points: 15, explains: /irreversible/ },
    { label: '3 components, 4 scope items', overrides: { changeSize: { components: 3, scopeItems: 4 } }, name: 'changeSize', points: 9 },
    { label: '1499 lines (2 full blocks of 500)', overrides: { changeSize: { components: 1, scopeItems: 1, linesChanged: 1499 } }, name: 'changeSize', points: 4 },
    { label: '40 files', overrides: { changeSize: { components: 1, scopeItems: 1, files: 40 } }, name: 'changeSize', points: 2 },
    { label: '0 components counts as 1', overrides: { changeSize: { components: 0, scopeItems: 0 } }, name: 'changeSize', points: 0 },
    { label: 'huge change is capped', overrides: { changeSize: { components: 10, scopeItems: 50, linesChanged: 20000 } }, name: 'changeSize', points: 15, explains: /capped/ },
    { label: 'failure rate 0', overrides: { recentChangeFailureRate: 0 }, name: 'recentChangeFailureRate', points: 0 },
    { label: 'failure rate 25% (half of saturation, rounded)', overrides: { recentChangeFailureRate: 0.25 }, name: 'recentChangeFailureRate', points: 8 },
    { label: 'failure rate 50% saturates', overrides: { recentChangeFailureRate: 0.5 }, name: 'recentChangeFailureRate', points: 15 },
    { label: 'failure rate 90%', overrides: { recentChangeFailureRate: 0.9 }, name: 'recentChangeFailureRate', points: 15 },
    { label: 'no history', overrides: { recentChangeFailureRate: null }, name: 'recentChangeFailureRate', points: 0, explains: /no change history.*contributes 0/ },
    { label: 'NaN rate is no history', overrides: { recentChangeFailureRate: Number.NaN }, name: 'recentChangeFailureRate', points: 0, explains: /no change history/ },
    { label: 'lead 2 h', overrides: { leadTimeHours: 2 }, name: 'leadTime', points: 10 },
    { label: 'lead already passed', overrides: { leadTimeHours: -1 }, name: 'leadTime', points: 10, explains: /already passed/ },
    { label: 'lead exactly 4 h (next band)', overrides: { leadTimeHours: 4 }, name: 'leadTime', points: 6 },
    { label: 'lead 23.9 h', overrides: { leadTimeHours: 23.9 }, name: 'leadTime', points: 6 },
    { label: 'lead exactly 24 h', overrides: { leadTimeHours: 24 }, name: 'leadTime', points: 3 },
    { label: 'lead exactly 72 h', overrides: { leadTimeHours: 72 }, name: 'leadTime', points: 0, explains: /enough notice/ },
    { label: 'no planned start', overrides: { leadTimeHours: null }, name: 'leadTime', points: 0, explains: /no planned start.*contributes 0/ },
    { label: 'outside every window', overrides: { insideMaintenanceWindow: false }, name: 'maintenanceWindow', points: 10 },
    { label: 'inside a window', overrides: { insideMaintenanceWindow: true }, name: 'maintenanceWindow', points: 0 },
    { label: 'window unknown', overrides: { insideMaintenanceWindow: null }, name: 'maintenanceWindow', points: 0, explains: /unknown.*contributes 0/ },
    { label: 'emergency', overrides: { emergency: true }, name: 'emergency', points: 10 },
  ];

  it.each(cases)('$label → $name $points', ({ overrides, name, points, explains }) => {
    const f = facts(overrides);
    const result = factor(f, name);
    expect(result.points).toBe(points);
    if (explains) expect(result.explanation).toMatch(explains);
    // the factor's points are the only thing above the baseline
    expect(assessRisk(f, { rules: [] }).score).toBe(points);
  });

  it('shows the fact each factor comes from', () => {
    const f = facts({ serviceTier: 'high', recentChangeFailureRate: 0.2, leadTimeHours: 10, insideMaintenanceWindow: false });
    const values = Object.fromEntries(assessRisk(f).factors.map((x) => [x.name, x.value]));
    expect(values).toMatchObject({ serviceTier: 'high', recentChangeFailureRate: 0.2, leadTime: 10, maintenanceWindow: false });
  });

  it('sums the factors and clamps the score to 100', () => {
    const all = facts({
      serviceTier: 'critical',
      customerFacing: true,
      environmentSensitivity: 'restricted',
      irreversibleMigration: true,
      changeSize: { components: 9, scopeItems: 9 },
      recentChangeFailureRate: 1,
      leadTimeHours: 0,
      insideMaintenanceWindow: false,
      emergency: true,
    });
    const result = assessRisk(all);
    expect(result.factors.reduce((s, f) => s + f.points, 0)).toBe(120);
    expect(result.score).toBe(100);
    expect(result.level).toBe('critical');
  });

  it('is deterministic', () => {
    const f = facts({ serviceTier: 'high', customerFacing: true, leadTimeHours: 3 });
    expect(assessRisk(f)).toEqual(assessRisk(f));
  });
});

describe('levels and thresholds', () => {
  const table: [number, RiskLevel][] = [
    [0, 'low'],
    [24.99, 'low'],
    [25, 'medium'],
    [49.99, 'medium'],
    [50, 'high'],
    [74.99, 'high'],
    [75, 'critical'],
    [100, 'critical'],
  ];
  it.each(table)('score %s → %s', (score, level) => {
    expect(levelForScore(score, DEFAULT_RISK_THRESHOLDS)).toBe(level);
  });

  it.each([
    // critical tier 20 + internal data 4 = 24 → low; one more scope item → 25 → medium
    { scopeItems: 1, score: 24, level: 'low' },
    { scopeItems: 2, score: 25, level: 'medium' },
  ])('boundary through assessRisk: score $score → $level', ({ scopeItems, score, level }) => {
    const f = facts({ serviceTier: 'critical', environmentSensitivity: 'internal', changeSize: { components: 1, scopeItems } });
    const result = assessRisk(f);
    expect(result.score).toBe(score);
    expect(result.level).toBe(level);
  });

  it('thresholds and weights are configurable and merge with the defaults', () => {
    const f = facts({ serviceTier: 'high', customerFacing: true }); // 14 + 10 = 24
    expect(assessRisk(f).level).toBe('low');
    expect(assessRisk(f, { thresholds: { medium: 20 } }).level).toBe('medium');
    const heavier = assessRisk(f, { weights: { serviceTier: { high: 30 } } });
    expect(heavier.score).toBe(40);
    expect(heavier.factors[0]?.max).toBe(30);
    expect(resolveRiskConfig({ weights: { serviceTier: { high: 30 } } }).weights.serviceTier).toEqual({ critical: 20, high: 30, standard: 7, low: 0 });
    expect(assessRisk(f, { weights: { leadTime: { bands: [{ belowHours: 1000, points: 5 }] } } }).score).toBe(24);
    expect(assessRisk({ ...f, leadTimeHours: 500 }, { weights: { leadTime: { bands: [{ belowHours: 1000, points: 5 }] } } }).score).toBe(29);
  });
});

describe('rules (floors)', () => {
  const rule = (name: string, when: string, floor: RiskLevel): RiskRule => ({ name, when, floor, reason: `because ${name}` });

  const cases: {
    label: string;
    f: RiskFacts;
    rules?: RiskRule[];
    level: RiskLevel;
    before: RiskLevel;
    floor: string | null;
    skipped?: string[];
  }[] = [
    {
      label: 'default: irreversible migration on a critical service → high',
      f: facts({ serviceTier: 'critical', irreversibleMigration: true }),
      level: 'high',
      before: 'medium',
      floor: 'irreversible-migration-critical-service',
    },
    {
      label: 'default: irreversible migration on a low-tier service → no floor',
      f: facts({ irreversibleMigration: true }),
      level: 'low',
      before: 'low',
      floor: null,
    },
    { label: 'default: emergency → high', f: facts({ emergency: true }), level: 'high', before: 'low', floor: 'emergency' },
    {
      label: 'default: restricted data + customer-facing → medium',
      f: facts({ environmentSensitivity: 'restricted', customerFacing: true }),
      level: 'medium',
      before: 'medium',
      floor: 'restricted-data-customer-facing',
    },
    {
      label: 'default: first match wins (migration rule before emergency)',
      f: facts({ serviceTier: 'critical', irreversibleMigration: true, emergency: true }),
      level: 'high',
      before: 'medium',
      floor: 'irreversible-migration-critical-service',
    },
    {
      label: 'first match wins, a later higher floor is ignored',
      f: facts({ customerFacing: true }),
      rules: [rule('a', 'customerFacing', 'medium'), rule('b', 'customerFacing', 'critical')],
      level: 'medium',
      before: 'low',
      floor: 'a',
    },
    {
      label: 'non-matching rules are passed over',
      f: facts({ customerFacing: true }),
      rules: [rule('a', 'emergency', 'critical'), rule('b', 'customerFacing', 'high')],
      level: 'high',
      before: 'low',
      floor: 'b',
    },
    {
      label: 'a floor never lowers the level (matched, reported, no effect)',
      f: facts({ serviceTier: 'critical', customerFacing: true, environmentSensitivity: 'restricted', irreversibleMigration: true, insideMaintenanceWindow: false, emergency: true }),
      rules: [rule('low-floor', 'true', 'low')],
      level: 'critical',
      before: 'critical',
      floor: 'low-floor',
    },
    {
      label: 'a rule over a null fact errors, is skipped, and the next rule still applies',
      f: facts({ customerFacing: true }),
      rules: [rule('unguarded', 'leadTimeHours < 4.0', 'critical'), rule('b', 'customerFacing', 'medium')],
      level: 'medium',
      before: 'low',
      floor: 'b',
      skipped: ['unguarded'],
    },
    {
      label: 'guarded nullable facts',
      f: facts({ leadTimeHours: 1 }),
      rules: [rule('short-notice', 'leadTimeHours != null && leadTimeHours < 4.0', 'high')],
      level: 'high',
      before: 'low',
      floor: 'short-notice',
    },
    {
      label: 'guarded nullable fact that is null → no match, not an error',
      f: facts({}),
      rules: [rule('short-notice', 'leadTimeHours != null && leadTimeHours < 4.0', 'high')],
      level: 'low',
      before: 'low',
      floor: null,
    },
    {
      label: 'rules can read changeSize and score',
      f: facts({ changeSize: { components: 5, scopeItems: 1, linesChanged: 10 } }),
      rules: [rule('wide', 'changeSize.components >= 5 && score >= 12.0 && has(changeSize.linesChanged)', 'high')],
      level: 'high',
      before: 'low',
      floor: 'wide',
    },
    {
      label: 'rules can use in-lists',
      f: facts({ serviceTier: 'high', environmentSensitivity: 'confidential' }),
      rules: [rule('sensitive', "environmentSensitivity in ['confidential', 'restricted'] && serviceTier in ['critical', 'high']", 'medium')],
      level: 'medium',
      before: 'low',
      floor: 'sensitive',
    },
    {
      label: 'invalid CEL is skipped, never thrown',
      f: facts({}),
      rules: [rule('broken', 'emergency &&', 'critical'), rule('non-bool', 'score', 'critical')],
      level: 'low',
      before: 'low',
      floor: null,
      skipped: ['broken', 'non-bool'],
    },
    { label: 'no rules', f: facts({ emergency: true }), rules: [], level: 'low', before: 'low', floor: null },
  ];

  it.each(cases)('$label', ({ f, rules, level, before, floor, skipped }) => {
    const result = assessRisk(f, rules ? { rules } : undefined);
    expect(result.levelBeforeFloor).toBe(before);
    expect(result.level).toBe(level);
    expect(result.floor?.rule ?? null).toBe(floor);
    if (floor) expect(result.floor?.reason).toBeTruthy();
    expect(result.skippedRules.map((s) => s.rule)).toEqual(skipped ?? []);
  });
});

describe('checkRiskConfig', () => {
  const ok = { name: 'ok', when: 'emergency', floor: 'high', reason: 'r' };

  it.each([
    { label: 'defaults', config: DEFAULT_RISK_CONFIG },
    { label: 'empty', config: {} },
    { label: 'undefined', config: undefined },
    { label: 'partial weights', config: { weights: { serviceTier: { critical: 30 } }, thresholds: { critical: 90 } } },
  ])('$label is valid', ({ config }) => {
    expect(checkRiskConfig(config)).toEqual([]);
  });

  const cases: { label: string; config: unknown; problem: string }[] = [
    { label: 'unknown floor level', config: { rules: [ok, { ...ok, name: 'b' }, { ...ok, name: 'c', floor: 'huge' }] }, problem: 'rules[2].floor: unknown level "huge"' },
    { label: 'invalid CEL', config: { rules: [{ ...ok, when: 'emergency &&' }] }, problem: 'rules[0].when: invalid CEL' },
    { label: 'empty condition', config: { rules: [{ ...ok, when: ' ' }] }, problem: 'rules[0].when: must be a non-empty CEL expression' },
    { label: 'non-bool condition', config: { rules: [{ ...ok, when: 'score' }] }, problem: 'rules[0].when: must evaluate to a bool, got double' },
    { label: 'unknown variable', config: { rules: [{ ...ok, when: 'tier == "critical"' }] }, problem: 'rules[0].when: unresolved attribute' },
    { label: 'unguarded nullable fact', config: { rules: [{ ...ok, when: 'recentChangeFailureRate > 0.3' }] }, problem: 'rules[0].when: found no matching overload' },
    { label: 'duplicate names', config: { rules: [ok, ok] }, problem: 'rules[1].name: duplicate rule name "ok"' },
    { label: 'missing reason', config: { rules: [{ name: 'x', when: 'true', floor: 'low' }] }, problem: 'rules[0].reason: must be a non-empty string' },
    { label: 'unknown rule field', config: { rules: [{ ...ok, floors: 'x' }] }, problem: 'rules[0].floors: unknown field' },
    { label: 'rules not a list', config: { rules: {} }, problem: 'rules: must be a list' },
    { label: 'unknown tier key', config: { weights: { serviceTier: { huge: 5 } } }, problem: 'weights.serviceTier.huge: unknown key "huge"' },
    { label: 'negative points', config: { weights: { customerFacing: -1 } }, problem: 'weights.customerFacing: must be a number >= 0' },
    { label: 'unknown factor', config: { weights: { moonPhase: 3 } }, problem: 'weights.moonPhase: unknown factor' },
    { label: 'bad saturation', config: { weights: { recentChangeFailureRate: { saturatesAt: 0 } } }, problem: 'weights.recentChangeFailureRate.saturatesAt: must be in (0, 1]' },
    {
      label: 'unordered lead-time bands',
      config: { weights: { leadTime: { bands: [{ belowHours: 24, points: 5 }, { belowHours: 4, points: 10 }] } } },
      problem: 'weights.leadTime.bands[1].belowHours: must be greater than the previous band',
    },
    { label: 'thresholds out of order', config: { thresholds: { medium: 60 } }, problem: 'thresholds.high: must be greater than medium (60)' },
    { label: 'threshold out of range', config: { thresholds: { critical: 101 } }, problem: 'thresholds.critical: must be a number in 0..100' },
    { label: 'unknown threshold', config: { thresholds: { severe: 90 } }, problem: 'thresholds.severe: unknown level' },
    { label: 'unknown top-level field', config: { rule: [] }, problem: 'rule: unknown field' },
    { label: 'not an object', config: 'risky', problem: '(config): must be an object' },
  ];

  it.each(cases)('$label', ({ config, problem }) => {
    const problems = checkRiskConfig(config).map(formatRiskProblem);
    expect(problems.some((p) => p.startsWith(problem)), `${JSON.stringify(problems)} should have "${problem}"`).toBe(true);
  });

  it('explains how to guard a nullable fact', () => {
    const [problem] = checkRiskConfig({ rules: [{ ...ok, when: 'leadTimeHours < 4.0' }] });
    expect(problem?.message).toMatch(/nullable fact is null.*leadTimeHours != null/);
  });
});
