/**
 * The anytime-valid sequential judge (`judge: { sequential: … }`). Each measurement window adds
 * its evidence to e-processes, one per test of the metric; a test alarms when its e-value reaches
 * 1/α_test, which by Ville's inequality happens with probability ≤ α_test over the whole run when
 * the canary is no worse, however many windows are looked at (research doc
 * ../shared/research/canary-statistics.md §1). Tests:
 * - `errors` (builtin errorRate, or prometheus `requests` + `errors`): the conditional count test
 *   on which arm each error came from (counts.ts);
 * - `latency.shift` (builtin latency, or prometheus `histogram`): mSPRT on mean log-latency (shift.ts);
 * - `latency.p<q>` for each `quantiles` entry: the count test on requests slower than the
 *   baseline's q-quantile, fixed after `edgeSamples` baseline requests (edges.ts).
 * The metric's α is split equally among its tests (Bonferroni). Cost per window: O(grid +
 * buckets) per test, independent of how many windows came before.
 */
import type { AnalysisJudge, FieldProblem, JudgeInput, JudgeVerdict } from '../judge.js';
import { logMoments } from '../histogram.js';
import type { JsonValue, LatencyHistogram, MetricSpec, Sample } from '../types.js';
import { countTestEvidence, updateCountTest, type CountTestState, type CountWindow } from './counts.js';
import { collectBaseline, exceedanceWindow } from './edges.js';
import { metricDetails, metricVerdict, testVerdict, verdictMessage, type TestOutcome } from './evidence.js';
import { shiftTestEvidence, updateShiftTest } from './shift.js';
import { readState, type SequentialState, type TestPlan } from './state.js';

export { summarizeEvidence } from './evidence.js';
export { countTestEvidence, createCountTest, updateCountTest, DELTA_GRID } from './counts.js';
export type { CountTestState, CountWindow, RatioEvidence, ArmCounts } from './counts.js';
export { createShiftTest, shiftTestEvidence, updateShiftTest, SHIFT_TAU } from './shift.js';
export type { ShiftTestState, LogMoments } from './shift.js';
export { collectBaseline, createEdgeState, exceedanceWindow } from './edges.js';
export type { EdgeState } from './edges.js';
export type { SequentialState, TestPlan } from './state.js';

/** Which tests the metric's provider supports, or why the sequential judge cannot test it. */
export function testPlan(metric: MetricSpec): TestPlan | FieldProblem {
  const provider = metric.provider;
  if ('builtin' in provider) {
    if (provider.builtin.metric === 'errorRate') return { errors: true, latency: false };
    if (provider.builtin.metric === 'latency') return { errors: false, latency: true };
    return {
      field: 'provider',
      message: 'the sequential judge cannot test builtin requestRate (a request rate has no "worse" direction); use builtin errorRate or latency, or judge threshold for this metric',
    };
  }
  const p = provider.prometheus;
  const errors = p.requests !== undefined && p.errors !== undefined;
  const latency = p.histogram !== undefined;
  if (errors || latency) return { errors, latency };
  if (p.requests !== undefined || p.errors !== undefined) {
    return { field: 'provider', message: `the sequential judge needs both prometheus.requests and prometheus.errors (only ${p.requests !== undefined ? 'requests' : 'errors'} is given)` };
  }
  return {
    field: 'provider',
    message: 'the sequential judge tests counts, not single numbers: give prometheus.requests and prometheus.errors (error counts) or prometheus.histogram (latency buckets), or use judge threshold or mannWhitney for a `query`',
  };
}

const isProblem = (plan: TestPlan | FieldProblem): plan is FieldProblem => 'field' in plan;

/** Apply-time problems of a metric under the sequential judge. */
export function checkSequentialMetric(metric: MetricSpec): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const plan = testPlan(metric);
  if (isProblem(plan)) problems.push(plan);
  for (const field of ['successCondition', 'failureCondition'] as const) {
    if (metric[field] !== undefined) {
      problems.push({ field, message: `the sequential judge decides from the data, not from a ${field}: remove the condition, or use judge threshold` });
    }
  }
  return problems;
}

const quantileName = (q: number): string => `latency.p${Number((q * 100).toPrecision(6))}`;

function histogramProblem(histogram: LatencyHistogram): string | null {
  const { bounds, counts } = histogram;
  if (!Array.isArray(bounds) || !Array.isArray(counts) || counts.length !== bounds.length + 1) return 'needs one count per bound plus the overflow count';
  if (!bounds.every((bound, i) => Number.isFinite(bound) && bound > 0 && (i === 0 || bound > bounds[i - 1]!))) return 'bounds must be positive and ascending';
  if (!counts.every((count) => Number.isFinite(count) && count >= 0)) return 'counts must be non-negative numbers';
  return null;
}

type Inputs = { counts: CountWindow | null; histograms: { canary: LatencyHistogram; baseline: LatencyHistogram } | null };

/** The window's inputs for the planned tests, or the NoData / Error verdict explaining what is missing. */
function readInputs(plan: TestPlan, baseline: Sample, canary: Sample, state: JsonValue): Inputs | JudgeVerdict {
  const stop = (phase: 'NoData' | 'Error', message: string): JudgeVerdict => ({ phase, message, details: null, state });
  let counts: CountWindow | null = null;
  if (plan.errors) {
    for (const [arm, sample] of [
      ['canary', canary],
      ['baseline', baseline],
    ] as const) {
      for (const field of ['requests', 'errors'] as const) {
        if (!Number.isFinite(sample[field])) return stop('NoData', `${arm}.${field} had no value in the window`);
      }
    }
    counts = { canary: { requests: canary.requests, events: canary.errors }, baseline: { requests: baseline.requests, events: baseline.errors } };
  }
  let histograms: Inputs['histograms'] = null;
  if (plan.latency) {
    const missing = [canary.histogram ? null : 'canary', baseline.histogram ? null : 'baseline'].filter((arm) => arm !== null);
    if (missing.length > 0) return stop('NoData', `no latency histogram for the ${missing.join(' and ')} in the window`);
    for (const [arm, histogram] of [
      ['canary', canary.histogram!],
      ['baseline', baseline.histogram!],
    ] as const) {
      const problem = histogramProblem(histogram);
      if (problem !== null) return stop('Error', `${arm} latency histogram: ${problem}`);
    }
    histograms = { canary: canary.histogram!, baseline: baseline.histogram! };
  }
  return { counts, histograms };
}

/** Adds one window to every test (pure). */
function update(previous: SequentialState, inputs: Inputs, quantiles: readonly number[], edgeSamples: number): SequentialState {
  const next: SequentialState = { ...previous };
  if (previous.errors && inputs.counts) next.errors = updateCountTest(previous.errors, inputs.counts);
  const h = inputs.histograms;
  if (h && previous.shift && previous.edges && previous.exceedances) {
    next.shift = updateShiftTest(previous.shift, logMoments(h.canary), logMoments(h.baseline));
    const edges = previous.edges;
    // Edges fixed in an earlier window only: see edges.ts for why the fixing window is not tested.
    if (edges.phase === 'fixed') {
      next.exceedances = previous.exceedances.map((test, i) => {
        const window = exceedanceWindow(edges.edges[i]!, h.canary, h.baseline);
        return window ? updateCountTest(test, window) : test;
      });
    }
    next.edges = collectBaseline(edges, h.baseline, quantiles, edgeSamples);
  }
  return next;
}

function outcomes(state: SequentialState, quantiles: readonly number[], alpha: number, tolerance: number): TestOutcome[] {
  const tests: TestOutcome[] = [];
  const countOutcome = (name: string, kind: 'errors' | 'exceedance', test: CountTestState): TestOutcome => {
    const evidence = countTestEvidence(test, alpha, Math.log1p(tolerance));
    return { name, kind, verdict: testVerdict(evidence, alpha, tolerance), alpha, evidence, canary: { ...test.canary }, baseline: { ...test.baseline } };
  };
  if (state.errors) tests.push(countOutcome('errors', 'errors', state.errors));
  if (state.shift) {
    const evidence = shiftTestEvidence(state.shift, alpha, Math.log1p(tolerance));
    tests.push({
      name: 'latency.shift',
      kind: 'shift',
      verdict: testVerdict(evidence, alpha, tolerance),
      alpha,
      evidence,
      canary: { requests: state.shift.canary.requests, events: null },
      baseline: { requests: state.shift.baseline.requests, events: null },
    });
  }
  if (state.exceedances && state.edges) {
    const edges = state.edges.phase === 'fixed' ? state.edges.edges : null;
    state.exceedances.forEach((test, i) => {
      const outcome = countOutcome(quantileName(quantiles[i]!), 'exceedance', test);
      // Not fixed yet: no test has run, so no verdict either way.
      if (edges === null) outcome.verdict = 'running';
      tests.push({ ...outcome, edgeSeconds: edges?.[i] ?? null });
    });
  }
  return tests;
}

function judgeSequential({ metric, baseline, canary, state, config }: JudgeInput): JudgeVerdict {
  const error = (message: string): JudgeVerdict => ({ phase: 'Error', message, details: null, state });
  if (config.kind !== 'sequential') return error(`the sequential judge got settings of judge ${config.kind}`);
  const { alpha, tolerance, quantiles, edgeSamples } = config;
  if (!(alpha > 0 && alpha < 1)) return error(`alpha must be in (0, 1), got ${alpha}`);
  if (!(tolerance >= 0)) return error(`tolerance must be ≥ 0, got ${tolerance}`);
  if (!quantiles.every((q) => q > 0 && q < 1)) return error('quantiles must be in (0, 1)');
  const plan = testPlan(metric);
  if (isProblem(plan)) return error(plan.message);
  if (canary === null) return { phase: 'NoData', message: 'no data for the canary in the window', details: null, state };
  if (baseline === null) return { phase: 'NoData', message: 'no data for the baseline in the window (the sequential judge compares the canary with it)', details: null, state };
  const inputs = readInputs(plan, baseline, canary, state);
  if ('phase' in inputs) return inputs;
  const previous = readState(state, plan, quantiles.length);
  if (typeof previous === 'string') return error(previous);

  const next = update(previous, inputs, quantiles, edgeSamples);
  const testCount = (plan.errors ? 1 : 0) + (plan.latency ? 1 + quantiles.length : 0);
  const tests = outcomes(next, quantiles, alpha / testCount, tolerance);
  const verdict = metricVerdict(tests);
  const result: JudgeVerdict = {
    phase: verdict === 'fail' ? 'Failed' : 'Successful',
    message: verdictMessage(verdict, tolerance, tests),
    details: metricDetails(verdict, alpha, tolerance, tests),
    state: next,
  };
  if (verdict === 'fail') result.conclusion = 'Failed';
  if (verdict === 'pass') result.conclusion = 'Successful';
  return result;
}

/**
 * The sequential judge. Verdicts: `Failed` + conclusion once any test's e-value reaches 1/α_test;
 * `Successful` + conclusion once every test's interval shows the canary within 1 + tolerance;
 * otherwise `Successful` without conclusion (no alarm so far: the window counts toward the
 * metric's `count`, the horizon). A missing sample or histogram is `NoData`, with the state unchanged.
 */
export const sequentialJudge: AnalysisJudge = {
  name: 'sequential',
  check: (metric) => checkSequentialMetric(metric),
  judge(input) {
    try {
      return judgeSequential(input);
    } catch (caught) {
      // Not expected (the code above validates its inputs); a verdict is still owed to decide().
      return { phase: 'Error', message: `sequential judge: ${caught instanceof Error ? caught.message : String(caught)}`, details: null, state: input.state };
    }
  },
};
