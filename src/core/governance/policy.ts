/**
 * Policies: a CEL expression over the release facts of ./facts.ts that must hold (true =
 * compliant), evaluated at a gate (`promote`, `start`) per component. Pure: facts in, GateResult
 * out. Expressions compile through the analysis conditions' cached compiler
 * (src/core/analysis/cel.ts, @bufbuild/cel), so the CEL dialect is the same everywhere: maps,
 * lists, `in`, `has()`, `size()`, `exists`/`all`/`filter`/`map`, `startsWith`/`endsWith`/
 * `contains`/`matches`, `int()`/`double()`/`string()`, `timestamp()`.
 *
 * Outcome: true → `pass`; false → the policy's severity (`warn` | `deny`) with its message; an
 * expression that cannot be evaluated (missing map key, type error, not a bool) → the severity too,
 * with `could not evaluate: ...` (a broken deny policy holds the gate rather than waving it through).
 *
 * `inputs` of a result: the top-level facts the expression references (found by walking the parsed
 * expression; comprehension variables excluded), with their values, so a stored result says what
 * the decision was made on. `approvals.<group>` read by the expression defaults to 0 (also in inputs).
 */
import { parse } from '@bufbuild/cel';
import { compileCondition } from '../analysis/cel.js';
import type { PolicyGate, PolicySpec } from '../resources/policy.js';
import { buildPolicyFacts, POLICY_FACT_NAMES, type PolicyFacts } from './facts.js';
import type { GateResult } from './records.js';

const FACT_NAME_SET: ReadonlySet<string> = new Set(POLICY_FACT_NAMES);

export interface PolicyReferences {
  /** Top-level facts the expression mentions (sorted). */
  facts: string[];
  /** Identifiers that are neither facts nor comprehension variables (sorted): typos such as `artefact`. */
  unknown: string[];
  /** Groups read as `approvals.cab` or `approvals["cab"]` (not only tested with `has()`). */
  approvalGroups: string[];
}

export interface CompiledPolicy {
  source: string;
  references: PolicyReferences;
  /** Never throws: the expression's boolean value, or why it could not be evaluated. */
  evaluate(facts: PolicyFacts): { ok: true; value: boolean } | { ok: false; error: string };
}

type CompileResult = { ok: true; policy: CompiledPolicy } | { ok: false; error: string };

type Node = { exprKind?: { case?: string; value?: Record<string, unknown> } };

/**
 * Walks the parsed expression (protobuf-es messages): identifiers, comprehension variables and
 * `approvals` member reads. A conservative regex would also catch identifiers inside string
 * literals; the AST does not.
 */
function collectReferences(root: unknown): PolicyReferences {
  const idents = new Set<string>();
  const bound = new Set<string>();
  const groups = new Set<string>();
  const visit = (node: unknown, depth: number): void => {
    if (depth > 500 || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const item of node) visit(item, depth + 1);
      return;
    }
    const kind = (node as Node).exprKind;
    if (kind?.case === 'identExpr' && typeof kind.value?.name === 'string') idents.add(kind.value.name);
    if (kind?.case === 'comprehensionExpr') {
      for (const key of ['iterVar', 'iterVar2', 'accuVar']) {
        const name = kind.value?.[key];
        if (typeof name === 'string' && name !== '') bound.add(name);
      }
    }
    if (kind?.case === 'selectExpr') {
      const operand = (kind.value?.operand as Node | undefined)?.exprKind;
      if (operand?.case === 'identExpr' && operand.value?.name === 'approvals' && kind.value?.testOnly !== true && typeof kind.value?.field === 'string') {
        groups.add(kind.value.field);
      }
    }
    if (kind?.case === 'callExpr' && kind.value?.function === '_[_]') {
      const [operand, key] = (kind.value.args as Node[] | undefined) ?? [];
      const constant = key?.exprKind?.case === 'constExpr' ? (key.exprKind.value?.constantKind as { case?: string; value?: unknown } | undefined) : undefined;
      if (operand?.exprKind?.case === 'identExpr' && operand.exprKind.value?.name === 'approvals' && constant?.case === 'stringValue' && typeof constant.value === 'string') {
        groups.add(constant.value);
      }
    }
    for (const value of Object.values(node)) visit(value, depth + 1);
  };
  visit(root, 0);
  const free = [...idents].filter((name) => !bound.has(name));
  return {
    facts: free.filter((name) => FACT_NAME_SET.has(name)).sort(),
    unknown: free.filter((name) => !FACT_NAME_SET.has(name)).sort(),
    approvalGroups: [...groups].sort(),
  };
}

const referenceCache = new Map<string, PolicyReferences>();
const CACHE_LIMIT = 2_000;

function describeValue(value: unknown): string {
  if (typeof value === 'number') return 'double';
  if (typeof value === 'bigint') return 'int';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  return typeof value;
}

/** Facts with `approvals.<group>` set to 0 for each group the expression reads that nobody approved for. */
function withApprovalDefaults(facts: PolicyFacts, groups: readonly string[]): PolicyFacts {
  if (groups.every((group) => Object.hasOwn(facts.approvals, group))) return facts;
  const approvals = { ...facts.approvals };
  for (const group of groups) approvals[group] ??= 0;
  return { ...facts, approvals };
}

/** Compiles once per source text (the program is cached by src/core/analysis/cel.ts). */
export function compilePolicy(source: string): CompileResult {
  const compiled = compileCondition(source);
  if (!compiled.ok) return { ok: false, error: compiled.error };
  let references = referenceCache.get(source);
  if (!references) {
    // Parsing again is cheap and keeps cel.ts's references (baseline/canary specific) untouched.
    references = collectReferences(parse(source).expr);
    if (referenceCache.size >= CACHE_LIMIT) referenceCache.clear();
    referenceCache.set(source, references);
  }
  const refs = references;
  return {
    ok: true,
    policy: {
      source,
      references: refs,
      evaluate(facts) {
        const outcome = compiled.condition.evaluate(withApprovalDefaults(facts, refs.approvalGroups) as unknown as Record<string, never>);
        if (!outcome.ok) return outcome;
        if (typeof outcome.value !== 'boolean') return { ok: false, error: `must evaluate to a bool, got ${describeValue(outcome.value)}` };
        return { ok: true, value: outcome.value };
      },
    },
  };
}

/**
 * Facts with every field populated (a signed, known artifact; one result of each kind; a change),
 * for checking an expression at apply time: type errors and unknown functions show up here.
 */
const TRIAL_FACTS: PolicyFacts = buildPolicyFacts({
  environment: { name: 'prod', spec: { production: true, dataSensitivity: 'confidential' } },
  component: { service: 'checkout', version: '1.0.0', digest: `sha256:${'0'.repeat(64)}`, businessServices: ['payments'] },
  service: { owner: 'team', tier: 'critical', businessServices: ['payments'], target: { type: 'command', deploy: 'true' } },
  artifact: {
    service: 'checkout',
    version: '1.0.0',
    digest: `sha256:${'0'.repeat(64)}`,
    author: 'alice',
    metadata: { commit: 'abc' },
    signatures: [{ keyId: 'release-key', signature: 'sig' }],
    attestations: [{ type: 'provenance' }, { type: 'sbom' }],
  },
  release: {
    name: 'r',
    spec: { version: '1.0.0', components: [], scope: [{ title: 'x', classification: 'net-new', value: 50, contractual: true, jurisdictions: ['eu'] }] },
    status: {
      results: [
        { id: '1', name: 'unit', type: 'test', passed: true, value: 1, postedBy: 'ci', at: '2026-01-01T00:00:00Z' },
        { id: '2', name: 'coverage', type: 'coverage', passed: true, value: 85, postedBy: 'ci', at: '2026-01-01T00:00:00Z' },
        { id: '3', name: 'sast', type: 'static-analysis', passed: true, findings: { critical: 0, high: 1 }, postedBy: 'ci', at: '2026-01-01T00:00:00Z' },
      ],
      scopeExceptions: [],
      signoffs: [],
      goNoGo: [],
      promotions: [],
      refusals: [],
    },
  },
  change: {
    name: 'chg',
    spec: { type: 'normal', title: 't', services: [], businessServices: [], evidence: [], risk: 'high' },
    status: null,
  },
  groups: ['cab'],
  nowMs: Date.UTC(2026, 0, 5, 10),
});

/**
 * Apply-time check: the expression parses, names only known facts and, on facts where everything
 * has a value, is a bool without type errors. Errors that depend on data (a missing `results` key
 * or metadata entry) are not reported: they are legitimate and evaluate to the severity at the gate.
 * Returns null when fine, else the message.
 */
export function checkPolicyExpression(source: string): string | null {
  if (typeof source !== 'string' || source.trim() === '') return 'must be a non-empty CEL expression';
  const compiled = compilePolicy(source);
  if (!compiled.ok) return `invalid CEL: ${compiled.error}`;
  const { unknown } = compiled.policy.references;
  if (unknown.length > 0) {
    return `unknown variable${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; variables are ${POLICY_FACT_NAMES.join(', ')}`;
  }
  const outcome = compiled.policy.evaluate(TRIAL_FACTS);
  if (!outcome.ok) {
    if (/^must evaluate to a bool/.test(outcome.error)) return outcome.error;
    if (/overload|unbound function/i.test(outcome.error)) {
      const hint = /double/.test(outcome.error) && /int/.test(outcome.error) ? ' (facts are doubles: write 2.0, not 2, in arithmetic)' : '';
      return `${outcome.error}${hint}`;
    }
  }
  return null;
}

export interface PolicyTarget {
  gate: PolicyGate;
  environment: string;
  production: boolean;
  service: string;
}

/** The policy applies at this gate, in this environment, to this service (empty scope lists mean every value). */
export function policyApplies(spec: Pick<PolicySpec, 'gates' | 'scope'>, target: PolicyTarget): boolean {
  if (!spec.gates.includes(target.gate)) return false;
  const scope = spec.scope;
  if (!scope) return true;
  if (scope.productionOnly === true && !target.production) return false;
  if (scope.environments && scope.environments.length > 0 && !scope.environments.includes(target.environment)) return false;
  if (scope.services && scope.services.length > 0 && !scope.services.includes(target.service)) return false;
  return true;
}

/** The facts named in `names`, as recorded in a result's `inputs`. */
function pickInputs(facts: PolicyFacts, names: readonly string[]): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const name of names) inputs[name] = facts[name as keyof PolicyFacts];
  return inputs;
}

/** One policy on one component's facts. `service` of the result is the facts' service. */
export function evaluatePolicy(name: string, spec: Pick<PolicySpec, 'severity' | 'expression' | 'message'>, facts: PolicyFacts): GateResult {
  const base = { gate: 'policy', name, expression: spec.expression, ...(facts.service.name ? { service: facts.service.name } : {}) };
  const compiled = compilePolicy(spec.expression);
  if (!compiled.ok) return { ...base, outcome: spec.severity, message: `could not evaluate: invalid CEL: ${compiled.error}`, inputs: {} };
  const { references } = compiled.policy;
  const inputs = pickInputs(withApprovalDefaults(facts, references.approvalGroups), references.facts);
  const outcome = compiled.policy.evaluate(facts);
  if (!outcome.ok) return { ...base, outcome: spec.severity, message: `could not evaluate: ${outcome.error}`, inputs };
  if (outcome.value) return { ...base, outcome: 'pass', message: 'holds', inputs };
  return { ...base, outcome: spec.severity, message: spec.message, inputs };
}

export interface NamedPolicy {
  name: string;
  spec: PolicySpec;
}

/** Every applicable policy on one component's facts, in the order given. */
export function evaluatePolicies(policies: readonly NamedPolicy[], facts: PolicyFacts, target: PolicyTarget): GateResult[] {
  return policies.filter((policy) => policyApplies(policy.spec, target)).map((policy) => evaluatePolicy(policy.name, policy.spec, facts));
}

/** true when any result refuses (`deny`). */
export const anyDenied = (results: readonly GateResult[]): boolean => results.some((result) => result.outcome === 'deny');

// ---------------------------------------------------------------------------------------------
// Wire shapes of `POST /api/v1/policies/evaluate`: in ./policy-wire.ts (the client imports them
// without this file's CEL compiler); re-exported for the server route.

export {
  policyEvaluationRequestSchema,
  policyEvaluationResultSchema,
  policyEvaluationSchema,
  type PolicyEvaluation,
  type PolicyEvaluationRequest,
} from './policy-wire.js';
