/**
 * CEL conditions for risk rules (`RiskRule.when`), compiled with @bufbuild/cel and cached by
 * source text by the analysis conditions' compiler (`src/core/analysis/cel.ts`).
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
import type { CelInput, CelValue } from '@bufbuild/cel';
import { compileCondition } from '../analysis/cel.js';

export type RiskBindings = Record<string, CelInput>;

export interface CompiledRiskCondition {
  source: string;
  /** Never throws: the condition's boolean value, or why it could not be evaluated. */
  evaluate(bindings: RiskBindings): { ok: true; value: boolean } | { ok: false; error: string };
}

type CompileResult = { ok: true; condition: CompiledRiskCondition } | { ok: false; error: string };

function describe(value: CelValue): string {
  if (typeof value === 'number') return 'double';
  if (typeof value === 'bigint') return 'int';
  if (value === null) return 'null';
  return typeof value;
}

/** The analysis conditions' cached compiler (src/core/analysis/cel.ts), with a bool result required. */
export function compileRiskCondition(source: string): CompileResult {
  const compiled = compileCondition(source);
  if (!compiled.ok) return compiled;
  return {
    ok: true,
    condition: {
      source,
      evaluate(bindings) {
        const outcome = compiled.condition.evaluate(bindings);
        if (!outcome.ok) return outcome;
        if (typeof outcome.value !== 'boolean') return { ok: false, error: `must evaluate to a bool, got ${describe(outcome.value)}` };
        return { ok: true, value: outcome.value };
      },
    },
  };
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
