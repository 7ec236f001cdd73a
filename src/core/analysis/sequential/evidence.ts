/**
 * What the sequential judge shows: each test's verdict, the `details` JSON stored with every
 * measurement, the measurement message and a one-line summary for the CLI and the demo.
 */
import type { JsonValue } from '../types.js';
import type { RatioEvidence } from './counts.js';
import { eValueOf, round4 } from './math.js';

export type TestVerdict = 'running' | 'pass' | 'fail';

/** Totals of one arm so far; `events` is null for the shift test, which counts no events. */
export type ArmTotals = { requests: number; events: number | null };

/** One test of a metric at the current window. */
export interface TestOutcome {
  /** `errors`, `latency.shift` or `latency.p<quantile>` (e.g. `latency.p99`). */
  name: string;
  kind: 'errors' | 'shift' | 'exceedance';
  verdict: TestVerdict;
  /** This test's share of the metric's α. */
  alpha: number;
  evidence: RatioEvidence;
  canary: ArmTotals;
  baseline: ArmTotals;
  /** Exceedance tests: the edge in seconds, null until fixed. */
  edgeSeconds?: number | null;
}

/**
 * A test's verdict: `fail` once its e-value reaches 1/α (Ville's inequality bounds the chance of
 * that under H0 by α); `pass` once its interval's upper bound is within 1 + tolerance.
 * Each bound is a one-sided confidence sequence at α whose lower side at ratio 1 is the alarm's
 * own mixture: an alarm comes with a lower bound ≥ 1 (exactly for the shift test; up to the grid
 * for count tests), and a wrong `pass` has probability ≤ α.
 */
export function testVerdict(evidence: RatioEvidence, alpha: number, tolerance: number): TestVerdict {
  if (evidence.logE >= Math.log(1 / alpha)) return 'fail';
  if (evidence.upper !== null && evidence.upper <= 1 + tolerance) return 'pass';
  return 'running';
}

/** The metric's verdict: any test failed → fail; every test passed → pass; else running. */
export function metricVerdict(tests: readonly TestOutcome[]): TestVerdict {
  if (tests.some((test) => test.verdict === 'fail')) return 'fail';
  if (tests.length > 0 && tests.every((test) => test.verdict === 'pass')) return 'pass';
  return 'running';
}

const armJson = (arm: ArmTotals): { [key: string]: JsonValue } => ({ requests: round4(arm.requests), events: arm.events === null ? null : round4(arm.events) });

/** The `details` JSON of one test (numbers to 4 significant digits). */
export function testDetails(test: TestOutcome): { [key: string]: JsonValue } {
  const { evidence } = test;
  const details: { [key: string]: JsonValue } = {
    name: test.name,
    verdict: test.verdict,
    alpha: round4(test.alpha),
    eValue: round4(eValueOf(evidence.logE)),
    threshold: round4(1 / test.alpha),
    effect: { estimate: round4(evidence.estimate), lower: round4(evidence.lower), upper: evidence.upper === null ? null : round4(evidence.upper), unit: 'ratio' },
    samples: { canary: armJson(test.canary), baseline: armJson(test.baseline) },
  };
  if (test.edgeSeconds !== undefined) details['edgeSeconds'] = test.edgeSeconds === null ? null : round4(test.edgeSeconds);
  return details;
}

/** The measurement's `details`: `{ verdict, alpha, tolerance, tests: [...] }`. */
export function metricDetails(verdict: TestVerdict, alpha: number, tolerance: number, tests: readonly TestOutcome[]): { [key: string]: JsonValue } {
  return { verdict, alpha: round4(alpha), tolerance: round4(tolerance), tests: tests.map(testDetails) };
}

// ---- human formatting -------------------------------------------------------------------------

const withCommas = (n: number): string => String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** A number for people: 2 significant digits below 100, integers with separators, 1.2e6 above a million. */
export function formatNumber(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return '∞';
  const a = Math.abs(x);
  // e-values are capped at 1e300 to stay valid JSON: the true value is at least that.
  if (a >= 1e300) return '>1e300';
  if (a >= 1e6) return x.toExponential(1).replace('e+', 'e');
  if (a >= 100) return withCommas(x);
  if (a === 0) return '0';
  return String(Number(x.toPrecision(digits)));
}

const ratio = (x: number): string => formatNumber(x, 3);
const interval = (lower: number, upper: number | null): string => `[${ratio(lower)}, ${upper === null ? '∞' : ratio(upper)}]`;
const count = (x: number): string => (x >= 1e6 ? formatNumber(x) : withCommas(x));

function effectText(test: TestOutcome): string {
  const { evidence: e } = test;
  const range = `${ratio(e.estimate)} ${interval(e.lower, e.upper)}`;
  const base = test.baseline;
  const canary = test.canary;
  switch (test.kind) {
    case 'errors':
      return `rate ratio ${range} after ${count(canary.events ?? 0)} of ${count(canary.requests)} canary requests failed (baseline ${count(base.events ?? 0)} of ${count(base.requests)})`;
    case 'shift':
      return `latency ratio (geometric mean) ${range} over ${count(canary.requests)} canary and ${count(base.requests)} baseline requests`;
    case 'exceedance': {
      const edge = test.edgeSeconds == null ? '?' : `${formatNumber(test.edgeSeconds, 3)} s`;
      return `share above ${edge} ratio ${range} after ${count(canary.events ?? 0)} of ${count(canary.requests)} canary requests above (baseline ${count(base.events ?? 0)} of ${count(base.requests)})`;
    }
  }
}

/** The measurement message of a metric's verdict. */
export function verdictMessage(verdict: TestVerdict, tolerance: number, tests: readonly TestOutcome[]): string {
  if (verdict === 'fail') {
    return tests
      .filter((test) => test.verdict === 'fail')
      .map((test) => `${test.name}: canary worse, e = ${formatNumber(eValueOf(test.evidence.logE))} ≥ ${formatNumber(1 / test.alpha)} (α ${formatNumber(test.alpha, 3)}); ${effectText(test)}`)
      .join('; ');
  }
  if (verdict === 'pass') {
    const bounds = tests.map((test) => `${test.name} ≤ ${ratio(test.evidence.upper ?? Infinity)}`).join(', ');
    return `pass: canary no worse than baseline +${formatNumber(tolerance * 100, 3)}% (${bounds})`;
  }
  // Name the test closest to its alarm: the one with the largest e·α.
  let closest: TestOutcome | undefined;
  for (const test of tests) {
    if (!closest || test.evidence.logE + Math.log(test.alpha) > closest.evidence.logE + Math.log(closest.alpha)) closest = test;
  }
  if (!closest) return 'running: no test applies';
  const pending = tests.filter((test) => test.kind === 'exceedance' && test.edgeSeconds === null).length;
  const edges = pending > 0 ? `; quantile edges not fixed yet` : '';
  return `running: no alarm yet (${closest.name} e = ${formatNumber(eValueOf(closest.evidence.logE))} of ${formatNumber(1 / closest.alpha)} needed${edges})`;
}

// ---- summary from stored details -------------------------------------------------------------

const isRecord = (value: JsonValue | undefined): value is { [key: string]: JsonValue } => typeof value === 'object' && value !== null && !Array.isArray(value);
const num = (value: JsonValue | undefined): number | null => (typeof value === 'number' ? value : null);

/**
 * One line summarizing a sequential measurement's `details`, e.g.
 * `fail — errors: e=412 ≥ 200, ratio 4.8 [2.1, 11]` (a failure lists only the failing tests).
 * Returns '' for details that are not the sequential judge's.
 */
export function summarizeEvidence(details: { [key: string]: JsonValue } | null | undefined): string {
  if (!details || !Array.isArray(details['tests'])) return '';
  const verdict = typeof details['verdict'] === 'string' ? details['verdict'] : 'running';
  const parts: string[] = [];
  for (const test of details['tests']) {
    if (!isRecord(test)) continue;
    if (verdict === 'fail' && test['verdict'] !== 'fail') continue;
    const e = num(test['eValue']) ?? 0;
    const threshold = num(test['threshold']) ?? Infinity;
    const effect = isRecord(test['effect']) ? test['effect'] : {};
    const estimate = num(effect['estimate']);
    const text = `${String(test['name'])}: e=${formatNumber(e)} ${e >= threshold ? '≥' : '<'} ${formatNumber(threshold)}`;
    parts.push(estimate === null ? text : `${text}, ratio ${ratio(estimate)} ${interval(num(effect['lower']) ?? 0, num(effect['upper']))}`);
  }
  return `${verdict} — ${parts.join('; ')}`;
}
