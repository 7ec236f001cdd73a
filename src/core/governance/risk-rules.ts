/**
 * CEL conditions for risk rules (`RiskRule.when`), compiled with @bufbuild/cel and cached by
 * source text (pure memoization, the same pattern as `src/core/analysis/cel.ts`).
 *
 * Variables (one per fact, same names as `RiskFacts`, plus the computed score):
 * - `serviceTier` (string), `customerFacing` (bool), `environmentSensitivity` (string),
 *   `irreversibleMigration` (bool), `emergency` (bool)
 * - `changeSize`: map with `components`, `scopeItems` and, when known, `files`, `linesChanged`
 *   (doubles; test the optional ones with `has(changeSize.files)`)
 * - `recentChangeFailureRate`, `leadTimeHours`: double, or `null` when unknown
 * - `insideMaintenanceWindow`: bool, or `null` when unknown
 * - `score` (double, 0..100) and `level` (string): the weighted result before any floor
 *
 * A comparison with a null fact is an evaluation error, and a rule whose condition errors does not
 * match (it is reported in `RiskAssessment.skippedRules`). Guard nullable facts:
 * `leadTimeHours != null && leadTimeHours < 2.0`.
 */
import { celEnv, isCelError, parse, plan, type CelInput, type CelValue } from '@bufbuild/cel';

export type RiskBindings = Record<string, CelInput>;

export interface CompiledRiskCondition {
  source: string;
  /** Never throws: the condition's boolean value, or why it could not be evaluated. */
  evaluate(bindings: RiskBindings): { ok: true; value: boolean } | { ok: false; error: string };
}

type CompileResult = { ok: true; condition: CompiledRiskCondition } | { ok: false; error: string };

const env = celEnv();
const cache = new Map<string, CompileResult>();
const CACHE_LIMIT = 1_000;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describe(value: CelValue): string {
  if (typeof value === 'number') return 'double';
  if (typeof value === 'bigint') return 'int';
  if (value === null) return 'null';
  return typeof value;
}

/** Parses and plans `source` once; later calls with the same text return the cached program. */
export function compileRiskCondition(source: string): CompileResult {
  const cached = cache.get(source);
  if (cached) return cached;
  let result: CompileResult;
  try {
    const program = plan(env, parse(source));
    result = {
      ok: true,
      condition: {
        source,
        evaluate(bindings) {
          try {
            const value = program(bindings);
            if (isCelError(value)) return { ok: false, error: value.message };
            if (typeof value !== 'boolean') return { ok: false, error: `must evaluate to a bool, got ${describe(value)}` };
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

/**
 * Validates a rule condition: it must parse and evaluate to a bool on `trialBindings` (facts where
 * every field, including the nullable ones, has a value). Returns null when fine, else the message.
 */
export function checkRiskCondition(source: unknown, trialBindings: RiskBindings): string | null {
  if (typeof source !== 'string' || source.trim() === '') return 'must be a non-empty CEL expression';
  const compiled = compileRiskCondition(source);
  if (!compiled.ok) return `invalid CEL: ${compiled.error}`;
  const outcome = compiled.condition.evaluate(trialBindings);
  if (!outcome.ok) {
    const hint = /unresolved|undeclared|unknown/i.test(outcome.error)
      ? `; variables are ${Object.keys(trialBindings).join(', ')}`
      : '';
    return `${outcome.error}${hint}`;
  }
  return null;
}
