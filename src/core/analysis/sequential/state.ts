/**
 * The sequential judge's state between measurements: a JSON value of constant size (one
 * log-likelihood ratio per grid point and test, a few sums, at most one collected baseline
 * histogram), validated when read back because it comes from a stored rollout status.
 */
import type { JsonValue } from '../types.js';
import { createCountTest, DELTA_GRID, type ArmCounts, type CountTestState } from './counts.js';
import { createEdgeState, type EdgeState } from './edges.js';
import { createShiftTest, type ArmSpread, type ShiftTestState } from './shift.js';

/** Which tests a metric runs. */
export type TestPlan = { errors: boolean; latency: boolean };

/** Everything the judge carries for one metric; null fields are tests the metric does not run. */
export type SequentialState = {
  version: 1;
  errors: CountTestState | null;
  shift: ShiftTestState | null;
  edges: EdgeState | null;
  /** One per quantile of the config, in its order. */
  exceedances: CountTestState[] | null;
};

/** The state before the first measurement. */
export function initialState(plan: TestPlan, quantiles: number): SequentialState {
  return {
    version: 1,
    errors: plan.errors ? createCountTest() : null,
    shift: plan.latency ? createShiftTest() : null,
    edges: plan.latency ? createEdgeState() : null,
    exceedances: plan.latency ? Array.from({ length: quantiles }, createCountTest) : null,
  };
}

type Json = JsonValue | undefined;
const isRecord = (value: Json): value is { [key: string]: JsonValue } => typeof value === 'object' && value !== null && !Array.isArray(value);
const isNumber = (value: Json): value is number => typeof value === 'number' && Number.isFinite(value);
const isNumbers = (value: Json): value is number[] => Array.isArray(value) && value.every(isNumber);

function readArm(value: Json): ArmCounts | null {
  if (!isRecord(value) || !isNumber(value['requests']) || !isNumber(value['events'])) return null;
  return { requests: value['requests'], events: value['events'] };
}

function readCountTest(value: Json): CountTestState | null {
  if (!isRecord(value) || !isNumbers(value['logLR']) || value['logLR'].length !== DELTA_GRID.length) return null;
  const canary = readArm(value['canary']);
  const baseline = readArm(value['baseline']);
  return canary && baseline ? { logLR: [...value['logLR']], canary, baseline } : null;
}

function readSpread(value: Json): ArmSpread | null {
  if (!isRecord(value) || !isNumber(value['requests']) || !isNumber(value['sumSquares']) || !isNumber(value['df'])) return null;
  return { requests: value['requests'], sumSquares: value['sumSquares'], df: value['df'] };
}

function readShift(value: Json): ShiftTestState | null {
  if (!isRecord(value) || !isNumber(value['z']) || !isNumber(value['info'])) return null;
  const canary = readSpread(value['canary']);
  const baseline = readSpread(value['baseline']);
  return canary && baseline ? { z: value['z'], info: value['info'], canary, baseline } : null;
}

function readEdges(value: Json, quantiles: number): EdgeState | null {
  if (!isRecord(value)) return null;
  if (value['phase'] === 'fixed') return isNumbers(value['edges']) && value['edges'].length === quantiles ? { phase: 'fixed', edges: [...value['edges']] } : null;
  if (value['phase'] !== 'collecting' || !isNumbers(value['bounds']) || !isNumbers(value['counts'])) return null;
  if (value['counts'].length > 0 && value['counts'].length !== value['bounds'].length + 1) return null;
  return { phase: 'collecting', bounds: [...value['bounds']], counts: [...value['counts']] };
}

/**
 * Reads the stored state back: the initial state for null, an error text when it is not the
 * state of a metric running these tests (e.g. a changed template); never throws.
 */
export function readState(value: JsonValue, plan: TestPlan, quantiles: number): SequentialState | string {
  if (value === null) return initialState(plan, quantiles);
  const problem = 'the stored sequential evidence does not match this metric\'s tests';
  if (!isRecord(value) || value['version'] !== 1) return problem;
  const errors = plan.errors ? readCountTest(value['errors']) : null;
  if (plan.errors && !errors) return problem;
  if (!plan.latency) return { version: 1, errors, shift: null, edges: null, exceedances: null };
  const shift = readShift(value['shift']);
  const edges = readEdges(value['edges'], quantiles);
  const stored = value['exceedances'];
  const exceedances = Array.isArray(stored) ? stored.map(readCountTest).filter((test): test is CountTestState => test !== null) : [];
  if (!shift || !edges || exceedances.length !== quantiles || (Array.isArray(stored) && stored.length !== quantiles)) return problem;
  return { version: 1, errors, shift, edges, exceedances };
}
