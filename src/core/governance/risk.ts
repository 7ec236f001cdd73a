/**
 * Change risk: a weighted score from explicit facts, mapped to a level, then raised (never lowered)
 * by the first matching rule (like ServiceNow's risk conditions). Pure and deterministic: no clock
 * (the lead time is a fact computed by the caller), no I/O, never throws.
 */
import type { EnvironmentSpec } from '../resources/environment.js';
import type { ServiceSpec } from '../resources/service.js';
import { RISK_LEVELS, type RiskLevel } from './risk-levels.js';
import { checkRiskCondition, compileRiskCondition, type RiskBindings } from './risk-rules.js';

export { RISK_LEVELS, type RiskLevel } from './risk-levels.js';

export type ServiceTier = ServiceSpec['tier'];
export type DataSensitivity = EnvironmentSpec['dataSensitivity'];
export const SERVICE_TIERS: readonly ServiceTier[] = ['critical', 'high', 'standard', 'low'];
export const DATA_SENSITIVITIES: readonly DataSensitivity[] = ['public', 'internal', 'confidential', 'restricted'];

export interface ChangeSize {
  files?: number;
  linesChanged?: number;
  /** Services / components the change touches. */
  components: number;
  /** Scope items (issues, PRs, commits) in the release. */
  scopeItems: number;
}

export interface RiskFacts {
  serviceTier: ServiceTier;
  customerFacing: boolean;
  environmentSensitivity: DataSensitivity;
  /** The change carries a data migration that cannot be rolled back. */
  irreversibleMigration: boolean;
  changeSize: ChangeSize;
  /** 0..1 over the service's recent changes; null = no history. */
  recentChangeFailureRate: number | null;
  /** Planned start minus now, in hours (negative: already due); null = no planned start. */
  leadTimeHours: number | null;
  /** The planned start is inside a maintenance window; null = unknown / no windows defined. */
  insideMaintenanceWindow: boolean | null;
  emergency: boolean;
}

export interface LeadTimeBand {
  /** The band applies when the lead time is below this many hours (first band that fits wins). */
  belowHours: number;
  points: number;
}

export interface RiskWeights {
  serviceTier: Record<ServiceTier, number>;
  customerFacing: number;
  environmentSensitivity: Record<DataSensitivity, number>;
  irreversibleMigration: number;
  changeSize: {
    /** Points per component beyond the first. */
    perExtraComponent: number;
    /** Points per scope item beyond the first. */
    perExtraScopeItem: number;
    /** Points per full 500 changed lines. */
    per500Lines: number;
    /** Points per full 20 changed files. */
    per20Files: number;
    /** Cap for the whole factor. */
    max: number;
  };
  recentChangeFailureRate: {
    /** Points at or above `saturatesAt`; linear (rounded) below it. */
    max: number;
    saturatesAt: number;
  };
  leadTime: { bands: LeadTimeBand[] };
  /** Points when the change lands outside every maintenance window. */
  outsideWindow: number;
  emergency: number;
}

/** Minimum score for each level above `low`; ascending. */
export interface RiskThresholds {
  medium: number;
  high: number;
  critical: number;
}

export interface RiskRule {
  name: string;
  /** CEL over the facts (see risk-rules.ts for the variables); must evaluate to a bool. */
  when: string;
  floor: RiskLevel;
  reason: string;
}

export interface RiskConfig {
  weights: RiskWeights;
  thresholds: RiskThresholds;
  /** Ordered: the first rule whose condition holds sets the floor; later rules are not looked at. */
  rules: RiskRule[];
}

/** What callers pass: any part left out takes the default (weights and thresholds merge per field). */
export interface RiskConfigInput {
  weights?: { [K in keyof RiskWeights]?: RiskWeights[K] extends readonly unknown[] | number ? RiskWeights[K] : Partial<RiskWeights[K]> };
  thresholds?: Partial<RiskThresholds>;
  rules?: RiskRule[];
}

export const FACTOR_NAMES = [
  'serviceTier',
  'customerFacing',
  'environmentSensitivity',
  'irreversibleMigration',
  'changeSize',
  'recentChangeFailureRate',
  'leadTime',
  'maintenanceWindow',
  'emergency',
] as const;
export type RiskFactorName = (typeof FACTOR_NAMES)[number];

export interface RiskFactor {
  name: RiskFactorName;
  /** The fact the points come from. */
  value: unknown;
  points: number;
  /** The most points this factor can give with this config. */
  max: number;
  explanation: string;
}

export interface RiskAssessment {
  /** Sum of the factors' points, clamped to 0..100. */
  score: number;
  /** Final level: `levelBeforeFloor` raised to the floor when the floor is higher. */
  level: RiskLevel;
  levelBeforeFloor: RiskLevel;
  factors: RiskFactor[];
  /** The first matching rule, or null when none matched. Set even when it did not raise the level. */
  floor: { rule: string; level: RiskLevel; reason: string } | null;
  /** Rules looked at before the match whose condition could not be evaluated (treated as not matching). */
  skippedRules: { rule: string; error: string }[];
}

export const DEFAULT_RISK_WEIGHTS: RiskWeights = {
  serviceTier: { critical: 20, high: 14, standard: 7, low: 0 },
  customerFacing: 10,
  environmentSensitivity: { restricted: 15, confidential: 10, internal: 4, public: 0 },
  irreversibleMigration: 15,
  changeSize: { perExtraComponent: 3, perExtraScopeItem: 1, per500Lines: 2, per20Files: 1, max: 15 },
  recentChangeFailureRate: { max: 15, saturatesAt: 0.5 },
  leadTime: {
    bands: [
      { belowHours: 4, points: 10 },
      { belowHours: 24, points: 6 },
      { belowHours: 72, points: 3 },
    ],
  },
  outsideWindow: 10,
  emergency: 10,
};

export const DEFAULT_RISK_THRESHOLDS: RiskThresholds = { medium: 25, high: 50, critical: 75 };

export const DEFAULT_RISK_RULES: RiskRule[] = [
  {
    name: 'irreversible-migration-critical-service',
    when: "irreversibleMigration && serviceTier == 'critical'",
    floor: 'high',
    reason: 'an irreversible data migration on a critical-tier service cannot be rolled back',
  },
  { name: 'emergency', when: 'emergency', floor: 'high', reason: 'emergency changes skip the normal lead time and review' },
  {
    name: 'restricted-data-customer-facing',
    when: "environmentSensitivity == 'restricted' && customerFacing",
    floor: 'medium',
    reason: 'customer-facing change in an environment holding restricted data',
  },
];

export const DEFAULT_RISK_CONFIG: RiskConfig = {
  weights: DEFAULT_RISK_WEIGHTS,
  thresholds: DEFAULT_RISK_THRESHOLDS,
  rules: DEFAULT_RISK_RULES,
};

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Defaults filled in for every part `input` leaves out. */
export function resolveRiskConfig(input: RiskConfigInput | RiskConfig = {}): RiskConfig {
  const weights: Record<string, unknown> = { ...DEFAULT_RISK_WEIGHTS };
  if (isPlainObject(input.weights)) {
    for (const [key, value] of Object.entries(input.weights)) {
      if (value === undefined || !(key in DEFAULT_RISK_WEIGHTS)) continue;
      const base = weights[key];
      weights[key] = isPlainObject(base) && isPlainObject(value) ? { ...base, ...value } : value;
    }
  }
  return {
    weights: weights as unknown as RiskWeights,
    thresholds: { ...DEFAULT_RISK_THRESHOLDS, ...(input.thresholds ?? {}) },
    rules: input.rules ?? DEFAULT_RISK_RULES,
  };
}

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const count = (value: unknown): number => (finite(value) && value > 0 ? Math.floor(value) : 0);
const levelRank = (level: RiskLevel): number => RISK_LEVELS.indexOf(level);
const maxOf = (values: number[]): number => values.reduce((a, b) => Math.max(a, b), 0);
const pct = (rate: number): string => `${Math.round(rate * 1000) / 10}%`;

export function levelForScore(score: number, thresholds: RiskThresholds): RiskLevel {
  if (score >= thresholds.critical) return 'critical';
  if (score >= thresholds.high) return 'high';
  if (score >= thresholds.medium) return 'medium';
  return 'low';
}

function factors(facts: RiskFacts, w: RiskWeights): RiskFactor[] {
  const out: RiskFactor[] = [];

  const tierPoints = w.serviceTier[facts.serviceTier] ?? 0;
  out.push({
    name: 'serviceTier',
    value: facts.serviceTier,
    points: tierPoints,
    max: maxOf(Object.values(w.serviceTier)),
    explanation: `service tier "${facts.serviceTier}"`,
  });

  out.push({
    name: 'customerFacing',
    value: facts.customerFacing,
    points: facts.customerFacing ? w.customerFacing : 0,
    max: w.customerFacing,
    explanation: facts.customerFacing ? 'customers use the service directly' : 'not customer-facing',
  });

  out.push({
    name: 'environmentSensitivity',
    value: facts.environmentSensitivity,
    points: w.environmentSensitivity[facts.environmentSensitivity] ?? 0,
    max: maxOf(Object.values(w.environmentSensitivity)),
    explanation: `environment holds ${facts.environmentSensitivity} data`,
  });

  out.push({
    name: 'irreversibleMigration',
    value: facts.irreversibleMigration,
    points: facts.irreversibleMigration ? w.irreversibleMigration : 0,
    max: w.irreversibleMigration,
    explanation: facts.irreversibleMigration
      ? 'irreversible data migration: rollback cannot restore the data'
      : 'no irreversible data migration',
  });

  const size = facts.changeSize ?? { components: 0, scopeItems: 0 };
  const extraComponents = Math.max(0, count(size.components) - 1);
  const extraScope = Math.max(0, count(size.scopeItems) - 1);
  const lineBlocks = Math.floor(count(size.linesChanged) / 500);
  const fileBlocks = Math.floor(count(size.files) / 20);
  const rawSize =
    extraComponents * w.changeSize.perExtraComponent +
    extraScope * w.changeSize.perExtraScopeItem +
    lineBlocks * w.changeSize.per500Lines +
    fileBlocks * w.changeSize.per20Files;
  const sizePoints = Math.min(w.changeSize.max, rawSize);
  const sizeParts = [
    `${count(size.components)} component(s)`,
    `${count(size.scopeItems)} scope item(s)`,
    ...(size.linesChanged === undefined ? [] : [`${count(size.linesChanged)} changed line(s)`]),
    ...(size.files === undefined ? [] : [`${count(size.files)} file(s)`]),
  ];
  out.push({
    name: 'changeSize',
    value: size,
    points: sizePoints,
    max: w.changeSize.max,
    explanation: `${sizeParts.join(', ')}${rawSize > sizePoints ? ` (${rawSize} points, capped)` : ''}`,
  });

  const rate = facts.recentChangeFailureRate;
  const rw = w.recentChangeFailureRate;
  if (!finite(rate)) {
    out.push({ name: 'recentChangeFailureRate', value: rate, points: 0, max: rw.max, explanation: 'no change history: contributes 0' });
  } else {
    const clamped = Math.min(1, Math.max(0, rate));
    const share = rw.saturatesAt > 0 ? Math.min(1, clamped / rw.saturatesAt) : clamped > 0 ? 1 : 0;
    out.push({
      name: 'recentChangeFailureRate',
      value: rate,
      points: Math.round(rw.max * share),
      max: rw.max,
      explanation: `${pct(clamped)} of recent changes failed (full points at ${pct(rw.saturatesAt)})`,
    });
  }

  const lead = facts.leadTimeHours;
  const bands = w.leadTime.bands;
  const leadMax = maxOf(bands.map((band) => band.points));
  if (!finite(lead)) {
    out.push({ name: 'leadTime', value: lead, points: 0, max: leadMax, explanation: 'no planned start: contributes 0' });
  } else {
    const band = bands.find((b) => lead < b.belowHours);
    out.push({
      name: 'leadTime',
      value: lead,
      points: band?.points ?? 0,
      max: leadMax,
      explanation: band
        ? `planned start ${lead < 0 ? 'already passed' : `in ${Math.round(lead * 10) / 10} h`}, under ${band.belowHours} h of notice`
        : `planned start in ${Math.round(lead * 10) / 10} h: enough notice`,
    });
  }

  const inside = facts.insideMaintenanceWindow;
  out.push({
    name: 'maintenanceWindow',
    value: inside,
    points: inside === false ? w.outsideWindow : 0,
    max: w.outsideWindow,
    explanation:
      inside === null || inside === undefined
        ? 'unknown whether it lands inside a maintenance window: contributes 0'
        : inside
          ? 'lands inside a maintenance window'
          : 'lands outside every maintenance window',
  });

  out.push({
    name: 'emergency',
    value: facts.emergency,
    points: facts.emergency ? w.emergency : 0,
    max: w.emergency,
    explanation: facts.emergency ? 'emergency change' : 'not an emergency change',
  });

  return out;
}

const nullable = (value: number | null | undefined): number | null => (finite(value) ? value : null);

/** CEL variables for the rules: the facts, plus the weighted `score` and `level`. */
export function riskBindings(facts: RiskFacts, score: number, level: RiskLevel): RiskBindings {
  const size = new Map<string, number>();
  size.set('components', count(facts.changeSize?.components));
  size.set('scopeItems', count(facts.changeSize?.scopeItems));
  if (finite(facts.changeSize?.files)) size.set('files', facts.changeSize.files);
  if (finite(facts.changeSize?.linesChanged)) size.set('linesChanged', facts.changeSize.linesChanged);
  return {
    serviceTier: facts.serviceTier,
    customerFacing: facts.customerFacing === true,
    environmentSensitivity: facts.environmentSensitivity,
    irreversibleMigration: facts.irreversibleMigration === true,
    changeSize: size,
    recentChangeFailureRate: nullable(facts.recentChangeFailureRate),
    leadTimeHours: nullable(facts.leadTimeHours),
    insideMaintenanceWindow: typeof facts.insideMaintenanceWindow === 'boolean' ? facts.insideMaintenanceWindow : null,
    emergency: facts.emergency === true,
    score,
    level,
  };
}

export function assessRisk(facts: RiskFacts, config?: RiskConfigInput | RiskConfig): RiskAssessment {
  const resolved = resolveRiskConfig(config);
  const list = factors(facts, resolved.weights);
  const sum = list.reduce((total, factor) => total + (finite(factor.points) ? factor.points : 0), 0);
  const score = Math.min(100, Math.max(0, sum));
  const levelBeforeFloor = levelForScore(score, resolved.thresholds);

  const bindings = riskBindings(facts, score, levelBeforeFloor);
  const skippedRules: RiskAssessment['skippedRules'] = [];
  let floor: RiskAssessment['floor'] = null;
  for (const rule of resolved.rules) {
    const compiled = compileRiskCondition(rule.when);
    if (!compiled.ok) {
      skippedRules.push({ rule: rule.name, error: `invalid CEL: ${compiled.error}` });
      continue;
    }
    const outcome = compiled.condition.evaluate(bindings);
    if (!outcome.ok) {
      skippedRules.push({ rule: rule.name, error: outcome.error });
      continue;
    }
    if (outcome.value && (RISK_LEVELS as readonly string[]).includes(rule.floor)) {
      floor = { rule: rule.name, level: rule.floor, reason: rule.reason };
      break;
    }
  }

  const level = floor && levelRank(floor.level) > levelRank(levelBeforeFloor) ? floor.level : levelBeforeFloor;
  return { score, level, levelBeforeFloor, factors: list, floor, skippedRules };
}

// ---------------------------------------------------------------------------------------------
// Config validation

export interface RiskConfigProblem {
  /** Field path, e.g. `rules[2].floor`, `weights.serviceTier.critical`. */
  path: string;
  message: string;
}

/** `path: message` for display. */
export const formatRiskProblem = (problem: RiskConfigProblem): string => `${problem.path}: ${problem.message}`;

const TRIAL_FACTS: RiskFacts = {
  serviceTier: 'standard',
  customerFacing: true,
  environmentSensitivity: 'internal',
  irreversibleMigration: false,
  changeSize: { files: 3, linesChanged: 120, components: 1, scopeItems: 2 },
  recentChangeFailureRate: 0.1,
  leadTimeHours: 48,
  insideMaintenanceWindow: true,
  emergency: false,
};

/** Problems with a `RiskConfigInput` (parts left out are fine: defaults apply); [] when valid. */
export function checkRiskConfig(config: unknown): RiskConfigProblem[] {
  const problems: RiskConfigProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  const points = (path: string, value: unknown) => {
    if (!finite(value) || value < 0) add(path, 'must be a number >= 0');
  };
  if (config === undefined) return problems;
  if (!isPlainObject(config)) return [{ path: '(config)', message: 'must be an object' }];
  for (const key of Object.keys(config)) {
    if (!['weights', 'thresholds', 'rules'].includes(key)) add(key, 'unknown field; known fields: weights, thresholds, rules');
  }

  const weights = config.weights;
  if (weights !== undefined) {
    if (!isPlainObject(weights)) add('weights', 'must be an object');
    else {
      const keyed = (name: 'serviceTier' | 'environmentSensitivity', keys: readonly string[]) => {
        const value = weights[name];
        if (value === undefined) return;
        if (!isPlainObject(value)) return add(`weights.${name}`, 'must be an object');
        for (const [key, v] of Object.entries(value)) {
          if (!keys.includes(key)) add(`weights.${name}.${key}`, `unknown key "${key}"; known: ${keys.join(', ')}`);
          else points(`weights.${name}.${key}`, v);
        }
      };
      const nested = (name: 'changeSize' | 'recentChangeFailureRate', keys: readonly string[]) => {
        const value = weights[name];
        if (value === undefined) return;
        if (!isPlainObject(value)) return add(`weights.${name}`, 'must be an object');
        for (const [key, v] of Object.entries(value)) {
          if (!keys.includes(key)) add(`weights.${name}.${key}`, `unknown field; known fields: ${keys.join(', ')}`);
          else points(`weights.${name}.${key}`, v);
        }
      };
      for (const key of Object.keys(weights)) {
        if (!(key in DEFAULT_RISK_WEIGHTS)) add(`weights.${key}`, `unknown factor; known: ${Object.keys(DEFAULT_RISK_WEIGHTS).join(', ')}`);
      }
      keyed('serviceTier', SERVICE_TIERS);
      keyed('environmentSensitivity', DATA_SENSITIVITIES);
      nested('changeSize', Object.keys(DEFAULT_RISK_WEIGHTS.changeSize));
      nested('recentChangeFailureRate', Object.keys(DEFAULT_RISK_WEIGHTS.recentChangeFailureRate));
      const saturates = isPlainObject(weights.recentChangeFailureRate) ? weights.recentChangeFailureRate.saturatesAt : undefined;
      if (finite(saturates) && (saturates <= 0 || saturates > 1)) {
        add('weights.recentChangeFailureRate.saturatesAt', 'must be in (0, 1]');
      }
      for (const key of ['customerFacing', 'irreversibleMigration', 'outsideWindow', 'emergency'] as const) {
        if (weights[key] !== undefined) points(`weights.${key}`, weights[key]);
      }
      const lead = weights.leadTime;
      if (lead !== undefined) {
        if (!isPlainObject(lead) || !Array.isArray(lead.bands)) add('weights.leadTime.bands', 'must be a list of {belowHours, points}');
        else {
          let previous = -Infinity;
          lead.bands.forEach((band: unknown, i: number) => {
            const path = `weights.leadTime.bands[${i}]`;
            if (!isPlainObject(band)) return add(path, 'must be an object {belowHours, points}');
            if (!finite(band.belowHours)) add(`${path}.belowHours`, 'must be a number');
            else if (band.belowHours <= previous) add(`${path}.belowHours`, 'must be greater than the previous band\'s');
            else previous = band.belowHours;
            points(`${path}.points`, band.points);
          });
        }
      }
    }
  }

  const thresholds = config.thresholds;
  if (thresholds !== undefined) {
    if (!isPlainObject(thresholds)) add('thresholds', 'must be an object');
    else {
      for (const key of Object.keys(thresholds)) {
        if (!['medium', 'high', 'critical'].includes(key)) add(`thresholds.${key}`, 'unknown level; known: medium, high, critical');
      }
      const merged: Record<string, unknown> = { ...DEFAULT_RISK_THRESHOLDS, ...thresholds };
      let ok = true;
      for (const key of ['medium', 'high', 'critical'] as const) {
        const value = merged[key];
        if (!finite(value) || value < 0 || value > 100) {
          if (key in thresholds) add(`thresholds.${key}`, 'must be a number in 0..100');
          ok = false;
        }
      }
      if (ok) {
        const m = merged.medium as number;
        const h = merged.high as number;
        const c = merged.critical as number;
        if (!(m < h)) add('thresholds.high', `must be greater than medium (${m})`);
        if (!(h < c)) add('thresholds.critical', `must be greater than high (${h})`);
      }
    }
  }

  const rules = config.rules;
  if (rules !== undefined) {
    if (!Array.isArray(rules)) add('rules', 'must be a list');
    else {
      const trial = riskBindings(TRIAL_FACTS, 40, 'medium');
      const trialUnknown = riskBindings({ ...TRIAL_FACTS, recentChangeFailureRate: null, leadTimeHours: null, insideMaintenanceWindow: null }, 40, 'medium');
      const seen = new Set<string>();
      rules.forEach((rule: unknown, i: number) => {
        const path = `rules[${i}]`;
        if (!isPlainObject(rule)) return add(path, 'must be an object {name, when, floor, reason}');
        for (const key of Object.keys(rule)) {
          if (!['name', 'when', 'floor', 'reason'].includes(key)) add(`${path}.${key}`, 'unknown field; known fields: name, when, floor, reason');
        }
        if (typeof rule.name !== 'string' || rule.name.trim() === '') add(`${path}.name`, 'must be a non-empty string');
        else if (seen.has(rule.name)) add(`${path}.name`, `duplicate rule name "${rule.name}"`);
        else seen.add(rule.name);
        const conditionError = checkRiskCondition(rule.when, trial) ?? checkRiskCondition(rule.when, trialUnknown);
        if (conditionError) {
          const unguarded = checkRiskCondition(rule.when, trial) === null;
          add(
            `${path}.when`,
            unguarded
              ? `${conditionError} when a nullable fact is null (no history, no planned start, unknown window); guard it, e.g. \`leadTimeHours != null && leadTimeHours < 4.0\``
              : conditionError,
          );
        }
        if (typeof rule.floor !== 'string' || !(RISK_LEVELS as readonly string[]).includes(rule.floor)) {
          add(`${path}.floor`, `unknown level ${JSON.stringify(rule.floor)}; levels: ${RISK_LEVELS.join(', ')}`);
        }
        if (typeof rule.reason !== 'string' || rule.reason.trim() === '') add(`${path}.reason`, 'must be a non-empty string');
      });
    }
  }
  return problems;
}
