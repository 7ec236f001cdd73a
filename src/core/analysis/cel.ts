/**
 * CEL conditions over a measurement (`successCondition`, `failureCondition`), compiled with
 * @bufbuild/cel and cached by source text (pure memoization).
 *
 * Variables:
 * - `baseline`, `canary`: maps with `requests`, `errors`, `errorRate`, `p50`, `p90`, `p95`, `p99`,
 *   `max`, `mean` (latency in seconds), `latency` (the quantile the metric's builtin provider asks
 *   for, default p99) and `value`. Every number is a CEL `double`; a field without a value in the
 *   window (e.g. `errorRate` with 0 requests) is absent from the map (`has()` tells).
 * - `result`: `canary.value`, for single-value providers.
 *
 * CEL does not mix `double` and `int` in arithmetic: write `baseline.errorRate * 2.0`, not `* 2`
 * (comparisons such as `canary.requests > 10` are fine). `checkCelExpression` catches this at apply time.
 */
import { celEnv, isCelError, parse, plan, type CelInput, type CelValue } from '@bufbuild/cel';
import type { Sample } from './types.js';

/** The fields of `baseline` / `canary`. */
export const SAMPLE_FIELDS = ['requests', 'errors', 'errorRate', 'p50', 'p90', 'p95', 'p99', 'max', 'mean', 'latency', 'value'] as const;
export type SampleField = (typeof SAMPLE_FIELDS)[number];
const SAMPLE_FIELD_SET: ReadonlySet<string> = new Set(SAMPLE_FIELDS);

export interface CelReferences {
  /** Fields read (not only tested with `has()`) from `baseline` / `canary`. */
  baseline: string[];
  canary: string[];
  /** The expression mentions the variable at all. */
  usesBaseline: boolean;
  usesCanary: boolean;
  usesResult: boolean;
}

export interface CompiledCondition {
  source: string;
  references: CelReferences;
  /** Never throws: a boolean, or the evaluation error's text. */
  evaluate(bindings: Record<string, CelInput>): { ok: true; value: CelValue } | { ok: false; error: string };
}

export type CelBindings = Record<string, Map<string, number> | number>;

type CompileResult = { ok: true; condition: CompiledCondition } | { ok: false; error: string };

const env = celEnv();
const cache = new Map<string, CompileResult>();
const CACHE_LIMIT = 2_000;

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Walks a parsed CEL AST (protobuf-es messages) and collects variable and field references. */
function collectReferences(root: unknown): CelReferences {
  const refs = { baseline: new Set<string>(), canary: new Set<string>(), idents: new Set<string>() };
  const visit = (node: unknown, depth: number): void => {
    if (depth > 500 || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const item of node) visit(item, depth + 1);
      return;
    }
    const kind = (node as { exprKind?: { case?: unknown; value?: unknown } }).exprKind;
    if (kind && kind.case === 'identExpr') {
      const name = (kind.value as { name?: unknown }).name;
      if (typeof name === 'string') refs.idents.add(name);
    }
    if (kind && kind.case === 'selectExpr') {
      const select = kind.value as { operand?: { exprKind?: { case?: unknown; value?: { name?: unknown } } }; field?: unknown; testOnly?: unknown };
      const operand = select.operand?.exprKind;
      if (operand?.case === 'identExpr' && typeof select.field === 'string' && select.testOnly !== true) {
        if (operand.value?.name === 'baseline') refs.baseline.add(select.field);
        if (operand.value?.name === 'canary') refs.canary.add(select.field);
      }
    }
    for (const value of Object.values(node)) visit(value, depth + 1);
  };
  visit(root, 0);
  return {
    baseline: [...refs.baseline].sort(),
    canary: [...refs.canary].sort(),
    usesBaseline: refs.idents.has('baseline'),
    usesCanary: refs.idents.has('canary'),
    usesResult: refs.idents.has('result'),
  };
}

/** Parses and plans `source` once; later calls with the same text return the cached program. */
export function compileCondition(source: string): CompileResult {
  const cached = cache.get(source);
  if (cached) return cached;
  let result: CompileResult;
  try {
    const parsed = parse(source);
    const program = plan(env, parsed);
    const references = collectReferences(parsed.expr);
    result = {
      ok: true,
      condition: {
        source,
        references,
        evaluate(bindings) {
          try {
            const value = program(bindings);
            if (isCelError(value)) return { ok: false, error: value.message };
            return { ok: true, value };
          } catch (error) {
            return { ok: false, error: errorText(error) };
          }
        },
      },
    };
  } catch (error) {
    result = { ok: false, error: errorText(error) };
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(source, result);
  return result;
}

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

type LatencyQuantile = 'p50' | 'p90' | 'p95' | 'p99';

/**
 * Which summary quantile `latency` stands for: the smallest of p50, p90, p95, p99 at or above the
 * requested quantile (conservative), p99 when none is requested.
 */
export function latencyQuantile(quantile: number | undefined): LatencyQuantile {
  if (quantile === undefined || !Number.isFinite(quantile)) return 'p99';
  if (quantile <= 0.5) return 'p50';
  if (quantile <= 0.9) return 'p90';
  if (quantile <= 0.95) return 'p95';
  return 'p99';
}

/** The CEL map for a sample: every field with a finite value; missing / null / non-finite fields are left out. */
export function sampleToCel(sample: Sample, latencyField: LatencyQuantile = 'p99'): Map<string, number> {
  const map = new Map<string, number>();
  const put = (field: SampleField, value: unknown) => {
    if (finite(value)) map.set(field, value);
  };
  put('requests', sample.requests);
  put('errors', sample.errors);
  put('errorRate', sample.errorRate);
  const latency = sample.latency;
  if (latency && typeof latency === 'object') {
    put('p50', latency.p50);
    put('p90', latency.p90);
    put('p95', latency.p95);
    put('p99', latency.p99);
    put('max', latency.max);
    put('mean', latency.mean);
    put('latency', latency[latencyField]);
  }
  put('value', sample.value);
  return map;
}

/** Bindings for a measurement; a null sample leaves its variable unbound. */
export function measurementBindings(baseline: Sample | null, canary: Sample | null, latencyField: LatencyQuantile = 'p99'): CelBindings {
  const bindings: CelBindings = {};
  if (baseline) bindings.baseline = sampleToCel(baseline, latencyField);
  if (canary) {
    const map = sampleToCel(canary, latencyField);
    bindings.canary = map;
    const value = map.get('value');
    if (value !== undefined) bindings.result = value;
  }
  return bindings;
}

/** Fields the condition reads that the samples do not hold, as `canary.p99`, `result`...; [] when none. */
export function missingReferences(references: CelReferences, bindings: CelBindings): string[] {
  const missing: string[] = [];
  for (const side of ['baseline', 'canary'] as const) {
    const map = bindings[side];
    for (const field of references[side]) {
      if (!SAMPLE_FIELD_SET.has(field)) continue;
      if (!(map instanceof Map) || !map.has(field)) missing.push(`${side}.${field}`);
    }
  }
  if (references.usesResult && typeof bindings.result !== 'number') missing.push('result');
  return missing;
}

const TRIAL_SAMPLE: Sample = {
  requests: 100,
  errors: 1,
  errorRate: 0.01,
  latency: { mean: 0.05, p50: 0.04, p90: 0.08, p95: 0.1, p99: 0.2, max: 0.5 },
  value: 0.5,
};

/**
 * Validates a condition at apply time: it must parse, read only known variables and fields, and
 * evaluate to a bool on a sample where every field has a value. Returns null when it is fine, or
 * the error message (the caller names the field, e.g. `metrics[0].successCondition`).
 */
export function checkCelExpression(source: string): string | null {
  if (typeof source !== 'string' || source.trim() === '') return 'must be a non-empty CEL expression';
  const compiled = compileCondition(source);
  if (!compiled.ok) return `invalid CEL: ${compiled.error}`;
  const { references } = compiled.condition;
  const unknown = [
    ...references.baseline.filter((field) => !SAMPLE_FIELD_SET.has(field)).map((field) => `baseline.${field}`),
    ...references.canary.filter((field) => !SAMPLE_FIELD_SET.has(field)).map((field) => `canary.${field}`),
  ];
  if (unknown.length > 0) return `unknown field ${unknown.join(', ')}; known fields: ${SAMPLE_FIELDS.join(', ')}`;
  const outcome = compiled.condition.evaluate(measurementBindings(TRIAL_SAMPLE, TRIAL_SAMPLE));
  if (!outcome.ok) {
    const hint = /overload/.test(outcome.error) && /int/.test(outcome.error) ? ' (measurements are doubles: write 2.0, not 2)' : '';
    const vars = /unresolved|undeclared|unknown/i.test(outcome.error) ? '; variables are baseline, canary and result' : '';
    return `${outcome.error}${hint}${vars}`;
  }
  if (typeof outcome.value !== 'boolean') return `must evaluate to a bool, got ${describeValue(outcome.value)}`;
  return null;
}

function describeValue(value: CelValue): string {
  if (typeof value === 'number') return 'double';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'string') return 'string';
  if (value === null) return 'null';
  return typeof value;
}
