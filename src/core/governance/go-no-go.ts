/**
 * Go / no-go, pure: which criteria apply to a release going into an environment, and the state of
 * each from the facts Rollgate has (rollouts and their analysis, results posted to the API,
 * sign-offs). The server loads the facts and records decisions; this file only decides.
 * See docs/governance.md ("Go / no-go").
 */
import { z } from 'zod';
import { nameSchema } from '../resources/common.js';
import type { GoNoGoCriterionSpec } from '../resources/go-no-go.js';
import type { ReleaseSpec } from '../resources/release.js';
import type { RolloutPhase } from '../rollout/types.js';
import { criterionStateSchema, goNoGoDecisionSchema, type CriterionState, type GateResult, type ReleaseResult, type Signoff } from './records.js';

/** The group whose sign-off jurisdiction-tagged scope needs (an implicit criterion). */
export const COMPLIANCE_GROUP = 'compliance';
export const COMPLIANCE_CRITERION_ID = 'compliance-signoff';

export type CriterionSource = 'pipeline' | 'release' | 'implicit';

/** A criterion as evaluated: the spec with its description filled in, its kind and where it came from. */
export interface GoNoGoCriterion {
  id: string;
  description: string;
  required: boolean;
  kind: 'automatic' | 'manual';
  source: CriterionSource;
  analysis?: { environment: string };
  result?: { name: string; type?: ReleaseResult['type']; min?: number; max?: number; perComponent?: boolean };
  signoff?: { group: string; count: number };
}

export interface GoNoGoCriteriaOptions {
  /** Group of the implicit sign-off for jurisdiction-tagged scope (default `compliance`). */
  complianceGroup?: string;
}

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

function describe(spec: GoNoGoCriterionSpec): string {
  if (spec.analysis) return `every component's rollout in ${spec.analysis.environment} Healthy with its analysis passed`;
  if (spec.result) {
    const bounds = [spec.result.min !== undefined ? `≥ ${spec.result.min}` : null, spec.result.max !== undefined ? `≤ ${spec.result.max}` : null].filter(Boolean);
    return `result "${spec.result.name}"${spec.result.type ? ` (${spec.result.type})` : ''} passed${bounds.length > 0 ? ` with value ${bounds.join(' and ')}` : ''}${spec.result.perComponent ? ' for every component' : ''}`;
  }
  const signoff = spec.signoff!;
  return `${plural(signoff.count, 'sign-off')} from ${signoff.group}`;
}

function toCriterion(spec: GoNoGoCriterionSpec, source: CriterionSource, id = spec.id): GoNoGoCriterion {
  const criterion: GoNoGoCriterion = {
    id,
    description: spec.description ?? describe(spec),
    required: spec.required,
    kind: spec.signoff ? 'manual' : 'automatic',
    source,
  };
  if (spec.analysis) criterion.analysis = { environment: spec.analysis.environment };
  if (spec.result) {
    const { name, type, min, max, perComponent } = spec.result;
    criterion.result = { name, ...(type !== undefined ? { type } : {}), ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}), ...(perComponent ? { perComponent } : {}) };
  }
  if (spec.signoff) criterion.signoff = { group: spec.signoff.group, count: spec.signoff.count };
  return criterion;
}

/**
 * The criteria for a release going into one environment: the pipeline stage's first, then the
 * release's own, then the implicit compliance sign-off when any scope item has jurisdictions
 * (unless a criterion already asks for a sign-off from that group). A release criterion cannot
 * replace a stage criterion: on an id clash both are kept and the release's is listed as
 * `release/<id>`, so a release cannot weaken its pipeline's rules.
 */
export function goNoGoCriteria(
  releaseSpec: Pick<ReleaseSpec, 'scope' | 'goNoGo'>,
  pipelineStageCriteria: readonly GoNoGoCriterionSpec[],
  options: GoNoGoCriteriaOptions = {},
): GoNoGoCriterion[] {
  const complianceGroup = options.complianceGroup ?? COMPLIANCE_GROUP;
  const criteria = pipelineStageCriteria.map((spec) => toCriterion(spec, 'pipeline'));
  const stageIds = new Set(criteria.map((criterion) => criterion.id));
  for (const spec of releaseSpec.goNoGo?.criteria ?? []) criteria.push(toCriterion(spec, 'release', stageIds.has(spec.id) ? `release/${spec.id}` : spec.id));

  const jurisdictions = [...new Set(releaseSpec.scope.flatMap((item) => item.jurisdictions ?? []))].sort();
  const askedAlready = criteria.some((criterion) => criterion.signoff?.group === complianceGroup || criterion.id === COMPLIANCE_CRITERION_ID);
  if (jurisdictions.length > 0 && !askedAlready) {
    criteria.push({
      id: COMPLIANCE_CRITERION_ID,
      description: `1 sign-off from ${complianceGroup}: the scope is tagged with jurisdictions ${jurisdictions.join(', ')}`,
      required: true,
      kind: 'manual',
      source: 'implicit',
      signoff: { group: complianceGroup, count: 1 },
    });
  }
  return criteria;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** The latest Deployment of one component (with the component's digest) in one environment. */
export interface AnalysisFact {
  deployment: string;
  /** null: the engine has not started its rollout yet. */
  phase: RolloutPhase | null;
  /** Healthy and no analysis run of the rollout failed. */
  analysisPassed: boolean;
}

export interface GoNoGoFacts {
  /** The release's component services. */
  components: readonly string[];
  /** The release's posted results (status.results). */
  results: readonly ReleaseResult[];
  signoffs: readonly Signoff[];
  /** Per environment, per component service; absent or null: no Deployment of the component's digest there. */
  analysis: Readonly<Record<string, Readonly<Record<string, AnalysisFact | null | undefined>>>>;
}

type Evaluation = Pick<CriterionState, 'state' | 'detail'>;

/** unmet beats pending beats met: one failing part is enough to fail the whole. */
function combine(parts: Array<Evaluation & { part: string }>, metDetail: string): Evaluation {
  const unmet = parts.filter((part) => part.state === 'unmet');
  if (unmet.length > 0) return { state: 'unmet', detail: unmet.map((part) => part.detail).join('; ') };
  const pending = parts.filter((part) => part.state === 'pending');
  if (pending.length > 0) return { state: 'pending', detail: pending.map((part) => part.detail).join('; ') };
  return { state: 'met', detail: metDetail };
}

function evaluateAnalysis(environment: string, facts: GoNoGoFacts): Evaluation {
  // Nothing deployed is not evidence of health: a release without components cannot meet it.
  if (facts.components.length === 0) return { state: 'unmet', detail: 'the release has no components' };
  const byService = facts.analysis[environment] ?? {};
  const parts = facts.components.map((service) => {
    const fact = byService[service];
    if (!fact) return { part: service, state: 'unmet' as const, detail: `${service}: not deployed in ${environment} with the release's digest` };
    const where = `${service}: ${fact.deployment}`;
    switch (fact.phase) {
      case null:
        return { part: service, state: 'pending' as const, detail: `${where} not started yet` };
      case 'Progressing':
      case 'Paused':
        return { part: service, state: 'pending' as const, detail: `${where} is ${fact.phase}` };
      case 'Healthy':
        return fact.analysisPassed
          ? { part: service, state: 'met' as const, detail: `${where} Healthy` }
          : { part: service, state: 'unmet' as const, detail: `${where} Healthy but an analysis run failed` };
      default:
        return { part: service, state: 'unmet' as const, detail: `${where} is ${fact.phase}` };
    }
  });
  return combine(parts, `${facts.components.join(', ')} Healthy in ${environment} with analysis passed`);
}

function judgeResult(spec: NonNullable<GoNoGoCriterion['result']>, result: ReleaseResult, label: string): Evaluation {
  if (!result.passed) return { state: 'unmet', detail: `${label} failed${result.summary ? `: ${result.summary}` : ''}` };
  if (spec.min !== undefined || spec.max !== undefined) {
    if (result.value === undefined) return { state: 'unmet', detail: `${label} passed but has no value to compare with the bounds` };
    if (spec.min !== undefined && result.value < spec.min) return { state: 'unmet', detail: `${label} value ${result.value} < min ${spec.min}` };
    if (spec.max !== undefined && result.value > spec.max) return { state: 'unmet', detail: `${label} value ${result.value} > max ${spec.max}` };
  }
  return { state: 'met', detail: `${label} passed${result.value !== undefined ? ` (value ${result.value})` : ''}` };
}

function evaluateResult(spec: NonNullable<GoNoGoCriterion['result']>, facts: GoNoGoFacts): Evaluation {
  const matching = facts.results.filter((result) => result.name === spec.name && (spec.type === undefined || result.type === spec.type));
  const label = (result: ReleaseResult) => `"${result.name}"${result.service ? ` for ${result.service}` : ''}`;
  if (spec.perComponent) {
    if (facts.components.length === 0) return { state: 'unmet', detail: 'the release has no components' };
    const parts = facts.components.map((service) => {
      const result = matching.find((candidate) => candidate.service === service);
      if (!result) return { part: service, state: 'pending' as const, detail: `no result "${spec.name}" posted for ${service}` };
      return { part: service, ...judgeResult(spec, result, label(result)) };
    });
    return combine(parts, `"${spec.name}" passed for ${facts.components.join(', ')}`);
  }
  if (matching.length === 0) return { state: 'pending', detail: `no result "${spec.name}" posted yet` };
  // Every posted result of that name counts: a passing release-wide run does not hide a failing component's.
  const parts = matching.map((result) => ({ part: result.id, ...judgeResult(spec, result, label(result)) }));
  return combine(parts, parts.map((part) => part.detail).join('; '));
}

function evaluateSignoff(spec: NonNullable<GoNoGoCriterion['signoff']>, facts: GoNoGoFacts): Evaluation {
  const users = [...new Set(facts.signoffs.filter((signoff) => signoff.group === spec.group).map((signoff) => signoff.user))];
  const who = users.length > 0 ? ` (${users.join(', ')})` : '';
  return users.length >= spec.count
    ? { state: 'met', detail: `signed off by ${users.join(', ')} for ${spec.group}` }
    : { state: 'pending', detail: `${users.length} of ${plural(spec.count, 'sign-off')} from ${spec.group}${who}` };
}

/** Every criterion's state now, in criteria order. */
export function evaluateCriteria(criteria: readonly GoNoGoCriterion[], facts: GoNoGoFacts): CriterionState[] {
  return criteria.map((criterion) => {
    const evaluation = criterion.analysis
      ? evaluateAnalysis(criterion.analysis.environment, facts)
      : criterion.result
        ? evaluateResult(criterion.result, facts)
        : evaluateSignoff(criterion.signoff!, facts);
    return {
      id: criterion.id,
      description: criterion.description,
      kind: criterion.kind,
      required: criterion.required,
      ...evaluation,
      // Which group can meet it: the UI offers the sign-off to that group's members.
      ...(criterion.signoff ? { signoff: { group: criterion.signoff.group, count: criterion.signoff.count } } : {}),
    };
  });
}

/** Required criteria that are neither met nor waived: what stands between the release and `go`. */
export const blockingCriteria = (states: readonly CriterionState[]): CriterionState[] =>
  states.filter((state) => state.required && state.state !== 'met' && state.state !== 'waived');

/** `go` is allowed: every required criterion is met (or waived). Optional ones never block. */
export const canGo = (states: readonly CriterionState[]): boolean => blockingCriteria(states).length === 0;

/** Criterion states as gate results (gate `goNoGo`), for a refused `go` or a promotion gate. */
export function criteriaGateResults(states: readonly CriterionState[]): GateResult[] {
  return states.map((state) => ({
    gate: 'goNoGo',
    name: state.id,
    outcome:
      state.state === 'met' || state.state === 'waived' ? 'pass' : !state.required ? 'warn' : state.state === 'pending' ? 'pending' : 'deny',
    message: `${state.description}: ${state.state} — ${state.detail}`,
  }));
}

// ---------------------------------------------------------------------------------------------
// Wire shapes

/** `GET /api/v1/releases/{name}/go-no-go`: the criteria for one environment, their states now, and the last decision. */
export const goNoGoViewSchema = z.object({
  release: z.string(),
  environment: z.string(),
  criteria: z.array(criterionStateSchema),
  canGo: z.boolean(),
  /** Ids of the required criteria not met. */
  blocking: z.array(z.string()),
  lastDecision: goNoGoDecisionSchema.nullable(),
});
export type GoNoGoView = z.infer<typeof goNoGoViewSchema>;

export const goNoGoDecisionRequestSchema = z.strictObject({
  environment: nameSchema,
  decision: z.enum(['go', 'no-go']),
  comment: z.string().trim().min(1).max(2000),
});
export type GoNoGoDecisionRequest = z.infer<typeof goNoGoDecisionRequestSchema>;

export const goNoGoDecisionResponseSchema = z.object({
  decision: goNoGoDecisionSchema,
  release: z.looseObject({ metadata: z.looseObject({ name: z.string(), version: z.number().int() }) }),
});
