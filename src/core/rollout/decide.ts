/**
 * The rollout state machine. `decide()` is pure, deterministic and total: the same input gives
 * the same output, and no input the types allow makes it throw (a bad input becomes `Degraded`).
 * See docs/rollouts.md for the semantics.
 */
import { acknowledgeRun, createRun, evaluateRun, nextDueAt, recordMeasurement, runWaitsOnNoData, stopRun } from '../analysis/run.js';
import type { AnalysisRunStatus, Sample } from '../analysis/types.js';
import { buildPlan, type Plan, type PlanStep } from './plan.js';
import { parseRolloutStatus } from './status-schema.js';
import type {
  AbortInfo,
  Action,
  DecideInput,
  DecideResult,
  GateObservation,
  MeasurementObservation,
  Observations,
  Operation,
  OperationResult,
  PauseReason,
  RolloutEvent,
  RolloutEventType,
  RolloutPhase,
  RolloutSpec,
  RolloutStatus,
  RouterObservation,
  StrategyKind,
  TargetObservation,
} from './types.js';

/** Poll interval while waiting for the target or the router. */
export const POLL_MS = 1_000;
/** A traffic action the router does not reflect is sent again after this long. */
export const REASSERT_MS = 5_000;
/** Decisions kept in `status.history`. */
export const HISTORY_LIMIT = 50;
/** Analysis runs kept in the status (finished ones are dropped first). */
export const MAX_RUNS_KEPT = 20;
/** How often a rollout held by the governance gate looks at the gate again (sooner when the gate says when it opens). */
export const GATE_POLL_MS = 5_000;

interface Ctx {
  spec: RolloutSpec;
  plan: Plan | null;
  status: RolloutStatus;
  obs: Observations;
  now: number;
  actions: Action[];
  events: RolloutEvent[];
  results: OperationResult[];
  /** Requeue soon: waiting for the target or the router. */
  poll: boolean;
  /** The new version is ready on the target (this pass's observation). */
  ready: boolean;
  /** What the current step waits for (for messages). */
  waiting: string | null;
  /** When the progress deadline fires, if it runs this pass. */
  deadlineAt: number | null;
}

const ACTIVE: ReadonlySet<RolloutPhase> = new Set(['Progressing', 'Paused']);
const isActive = (status: RolloutStatus) => ACTIVE.has(status.phase);
const text = (error: unknown) => (error instanceof Error ? error.message : String(error));
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
/** ISO 8601 for a timestamp (formatting only; never reads the clock). */
const isoTime = (ms: number) => (Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${ms}ms`);
const seconds = (ms: number) => `${Math.round(ms / 100) / 10}s`;

/** One pass of the rollout state machine. */
export function decide(input: DecideInput): DecideResult {
  try {
    return decideUnsafe(input);
  } catch (error) {
    return failSafe(input, `internal error: ${text(error)}`);
  }
}

function decideUnsafe(input: DecideInput): DecideResult {
  if (!isObject(input)) return failSafe(input, 'decide() needs { spec, status, observations, now }');
  const now = input.now;
  if (!isFiniteNumber(now)) return failSafe(input, '`now` must be a finite number of milliseconds');
  const spec = input.spec;
  const specProblem = checkSpecIdentity(spec);
  if (specProblem) return failSafe(input, specProblem);

  const planResult = buildPlan(spec);
  const plan = planResult.ok ? planResult.plan : null;
  const obs = sanitizeObservations(input.observations, spec);

  let status: RolloutStatus;
  let statusProblem: string | null = null;
  const fresh = input.status === null || input.status === undefined;
  if (fresh) {
    status = initialStatus(spec, plan, now);
  } else {
    const parsed = parseRolloutStatus(input.status);
    if (parsed.ok) {
      status = parsed.status;
      if (status.rolloutId !== spec.id) statusProblem = `the status belongs to rollout "${status.rolloutId}", not "${spec.id}"`;
      else if (isActive(status) && status.canaryVersion !== spec.canaryVersion) {
        statusProblem = `the spec changed during the rollout (new version ${status.canaryVersion} → ${spec.canaryVersion}); start a new rollout`;
      } else if (isActive(status) && status.promotedAt === null && status.stableVersion !== spec.stableVersion) {
        statusProblem = `the spec changed during the rollout (stable version ${status.stableVersion} → ${spec.stableVersion}); start a new rollout`;
      } else if (isActive(status) && plan && status.stepCount !== plan.steps.length) {
        statusProblem = `the strategy changed during the rollout (${status.stepCount} → ${plan.steps.length} steps); retry to start over`;
      }
    } else {
      status = initialStatus(spec, plan, now);
      statusProblem = `the stored status is invalid (${parsed.error})`;
    }
  }

  const wasActive = isActive(status) || fresh;
  const ctx: Ctx = { spec, plan, status, obs, now, actions: [], events: [], results: [], poll: false, ready: false, waiting: null, deadlineAt: null };
  if (fresh) record(ctx, 'RolloutStarted', startMessage(ctx));

  if (statusProblem) enterDegraded(ctx, statusProblem);
  else if (isActive(status) && !planResult.ok) enterDegraded(ctx, planResult.error);

  recordMeasurements(ctx, obs.measurements);
  for (const operation of obs.operations) applyOperation(ctx, operation);

  if (isActive(status)) {
    if (!ctx.plan) enterDegraded(ctx, planResult.ok ? 'no plan' : planResult.error);
    else progress(ctx, ctx.plan);
  }
  // Drift correction only for rollouts that were already finished: this pass's observations
  // predate the actions an abort or a promotion just emitted.
  if (!isActive(status) && !wasActive) settle(ctx);
  processRetirements(ctx);
  return finish(ctx);
}

// ---------------------------------------------------------------------------------------------
// Input hygiene

function checkSpecIdentity(spec: unknown): string | null {
  if (!isObject(spec)) return 'spec is missing';
  if (typeof spec.id !== 'string' || spec.id === '') return 'spec.id must be a non-empty string';
  if (typeof spec.canaryVersion !== 'string' || spec.canaryVersion === '') return 'spec.canaryVersion must be a non-empty string';
  if (spec.stableVersion !== null && (typeof spec.stableVersion !== 'string' || spec.stableVersion === '')) {
    return 'spec.stableVersion must be a non-empty string or null';
  }
  return null;
}

const TARGET_STATES = new Set(['absent', 'starting', 'ready', 'failed']);

function sanitizeTarget(value: unknown, version: string | null): TargetObservation | null {
  if (!isObject(value) || value.version !== version || typeof value.state !== 'string' || !TARGET_STATES.has(value.state)) return null;
  return {
    version: value.version as string,
    state: value.state as TargetObservation['state'],
    ...(typeof value.message === 'string' ? { message: value.message } : {}),
  };
}

const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);

function sanitizeSample(value: unknown): Sample | null {
  if (!isObject(value)) return null;
  const latency = value.latency;
  const fields = ['mean', 'p50', 'p90', 'p95', 'p99', 'max'] as const;
  const sample: Sample = {
    requests: isFiniteNumber(value.requests) ? value.requests : 0,
    errors: isFiniteNumber(value.errors) ? value.errors : 0,
    errorRate: isFiniteNumber(value.errorRate) ? value.errorRate : null,
    latency:
      isObject(latency) && fields.every((field) => isFiniteNumber(latency[field]))
        ? { mean: latency.mean as number, p50: latency.p50 as number, p90: latency.p90 as number, p95: latency.p95 as number, p99: latency.p99 as number, max: latency.max as number }
        : null,
  };
  if (value.value !== undefined) sample.value = isFiniteNumber(value.value) ? value.value : null;
  const histogram = value.histogram;
  if (
    isObject(histogram) &&
    Array.isArray(histogram.bounds) &&
    Array.isArray(histogram.counts) &&
    histogram.counts.length === histogram.bounds.length + 1 &&
    histogram.bounds.every(isFiniteNumber) &&
    histogram.counts.every((count) => isFiniteNumber(count) && count >= 0)
  ) {
    sample.histogram = { bounds: histogram.bounds as number[], counts: histogram.counts as number[] };
  }
  return sample;
}

function sanitizeObservations(raw: unknown, spec: RolloutSpec): Observations {
  const o = isObject(raw) ? raw : {};
  const router = isObject(o.router) && isFiniteNumber(o.router.canaryWeight)
    ? {
        canaryWeight: o.router.canaryWeight,
        stableVersion: stringOrNull(o.router.stableVersion),
        canaryVersion: stringOrNull(o.router.canaryVersion),
        headerRoute: stringOrNull(o.router.headerRoute),
      }
    : null;
  const measurements: MeasurementObservation[] = [];
  for (const item of Array.isArray(o.measurements) ? o.measurements : []) {
    if (!isObject(item) || typeof item.runId !== 'string' || typeof item.metric !== 'string' || !isObject(item.window)) continue;
    const { startMs, endMs } = item.window;
    if (!isFiniteNumber(startMs) || !isFiniteNumber(endMs)) continue;
    const result = item.result;
    if (!isObject(result)) continue;
    const window = { startMs, endMs };
    if ('error' in result) measurements.push({ runId: item.runId, metric: item.metric, window, result: { error: String(result.error) } });
    else measurements.push({ runId: item.runId, metric: item.metric, window, result: { baseline: sanitizeSample(result.baseline), canary: sanitizeSample(result.canary) } });
  }
  const operations: Operation[] = [];
  for (const item of Array.isArray(o.operations) ? o.operations : []) {
    if (!isObject(item) || typeof item.id !== 'string' || typeof item.type !== 'string') continue;
    operations.push({
      id: item.id,
      type: item.type as Operation['type'],
      actor: typeof item.actor === 'string' && item.actor !== '' ? item.actor : 'unknown',
      ...(typeof item.reason === 'string' && item.reason !== '' ? { reason: item.reason } : {}),
    });
  }
  return {
    canary: sanitizeTarget(o.canary, spec.canaryVersion),
    stable: sanitizeTarget(o.stable, spec.stableVersion),
    router,
    measurements,
    operations,
    gate: sanitizeGate(o.gate),
  };
}

/** A gate that is not a well-formed observation counts as closed: governance fails closed. */
function sanitizeGate(value: unknown): GateObservation | null {
  if (value === null || value === undefined) return null;
  if (!isObject(value) || typeof value.open !== 'boolean') return { open: false, message: 'the governance gate observation is invalid', until: null };
  return {
    open: value.open,
    message: typeof value.message === 'string' && value.message !== '' ? value.message : value.open ? 'open' : 'closed',
    until: isFiniteNumber(value.until) ? value.until : null,
  };
}

/** The gate's message when it is closed this pass; null when open or absent. */
const gateClosed = (ctx: Ctx): GateObservation | null => (ctx.obs.gate && !ctx.obs.gate.open ? ctx.obs.gate : null);

function initialStatus(spec: RolloutSpec, plan: Plan | null, now: number): RolloutStatus {
  const kind: StrategyKind =
    plan?.kind ?? (spec.stableVersion === null || spec.stableVersion === spec.canaryVersion ? 'direct' : isObject(spec.strategy) && spec.strategy.blueGreen ? 'blueGreen' : 'canary');
  return {
    schemaVersion: 1,
    rolloutId: spec.id,
    strategy: kind,
    phase: 'Progressing',
    message: 'starting',
    attempt: 1,
    stableVersion: spec.stableVersion,
    previousStableVersion: null,
    canaryVersion: spec.canaryVersion,
    stepIndex: 0,
    stepCount: plan?.steps.length ?? 0,
    stepLabel: plan?.steps[0]?.label ?? null,
    step: { startedAt: now, requestedAt: null, reasserts: 0 },
    canaryWeight: 0,
    headerRoute: null,
    pause: null,
    startedAt: now,
    lastProgressAt: now,
    newVersion: { ensuredAt: null, replicas: 0, readyAt: null, backendsSetAt: null, state: null, message: null },
    analysisRuns: [],
    abort: null,
    promotedAt: null,
    finishedAt: null,
    retirements: [],
    lastReassertAt: null,
    eventSeq: 0,
    history: [],
  };
}

function startMessage(ctx: Ctx): string {
  const { spec, plan } = ctx;
  if (spec.stableVersion === null) return `first deploy of ${spec.canaryVersion}`;
  if (spec.stableVersion === spec.canaryVersion) return `${spec.canaryVersion} is already stable`;
  return `${plan?.kind === 'blueGreen' ? 'blue-green' : 'canary'} rollout of ${spec.canaryVersion} (stable ${spec.stableVersion}), ${plan?.steps.length ?? 0} step(s)`;
}

// ---------------------------------------------------------------------------------------------
// Outputs

function emit(ctx: Ctx, scope: string, what: string, action: DistributiveOmit<Action, 'idempotencyKey'>): void {
  const idempotencyKey = `${ctx.spec.id}/a${ctx.status.attempt}/${scope}/${what}`;
  if (ctx.actions.some((existing) => existing.idempotencyKey === idempotencyKey)) return;
  ctx.actions.push({ ...action, idempotencyKey } as Action);
}
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const NOTIFY: ReadonlySet<RolloutEventType> = new Set(['Promoted', 'Aborted', 'Degraded', 'Retried', 'Paused', 'Resumed']);

function record(ctx: Ctx, type: RolloutEventType, message: string, actor = 'system', notify = NOTIFY.has(type)): RolloutEvent {
  const status = ctx.status;
  status.eventSeq += 1;
  const event: RolloutEvent = {
    seq: status.eventSeq,
    at: ctx.now,
    type,
    attempt: status.attempt,
    stepIndex: status.stepIndex,
    phase: status.phase,
    actor,
    message,
  };
  ctx.events.push(event);
  status.history.push(event);
  if (status.history.length > HISTORY_LIMIT) status.history.splice(0, status.history.length - HISTORY_LIMIT);
  if (notify) emit(ctx, 'notify', String(event.seq), { type: 'notify', event: type, phase: status.phase, message });
  return event;
}

function finish(ctx: Ctx): DecideResult {
  const { status, now } = ctx;
  if (isActive(status)) status.phase = status.pause ? 'Paused' : 'Progressing';
  trimRuns(status);
  status.message = describe(ctx);
  const times: number[] = [];
  if (ctx.poll) times.push(now + POLL_MS);
  for (const run of status.analysisRuns) {
    const due = nextDueAt(run);
    if (due !== null) times.push(due);
  }
  if (status.pause?.reason === 'gate') {
    // The gate is evaluated by the engine: look again soon, or when it says it opens, if sooner.
    const until = status.pause.until;
    times.push(until === null ? now + GATE_POLL_MS : until > now ? Math.min(until, now + GATE_POLL_MS) : now + POLL_MS);
  } else if (status.pause?.until != null) times.push(status.pause.until);
  if (status.phase === 'Progressing' && ctx.deadlineAt !== null) times.push(ctx.deadlineAt);
  for (const retirement of status.retirements) if (retirement.retiredAt === null) times.push(retirement.notBefore);
  const next = times.length > 0 ? Math.min(...times) : null;
  return {
    status,
    actions: ctx.actions,
    events: ctx.events,
    operationResults: ctx.results,
    requeueAfterMs: next === null ? null : Math.max(0, next - now),
  };
}

function describe(ctx: Ctx): string {
  const { status } = ctx;
  const pendingRetire = status.retirements.filter((retirement) => retirement.retiredAt === null).map((retirement) => retirement.version);
  const retiring = pendingRetire.length > 0 ? `; retiring ${pendingRetire.join(', ')} after the scale-down delay` : '';
  switch (status.phase) {
    case 'Healthy':
      return `${status.canaryVersion} is stable at 100%${retiring}`;
    case 'Aborted':
    case 'Degraded':
      return `${status.abort?.message ?? status.phase}${retiring}`;
    case 'Paused':
      return status.pause?.message ?? 'paused';
    case 'Progressing': {
      if (status.strategy === 'direct') return ctx.waiting ?? `deploying ${status.canaryVersion}`;
      const step = status.stepIndex < status.stepCount ? `step ${status.stepIndex + 1}/${status.stepCount}: ${status.stepLabel ?? ''}` : 'promoting';
      return ctx.waiting ? `${step} (${ctx.waiting})` : step;
    }
  }
}

function trimRuns(status: RolloutStatus): void {
  while (status.analysisRuns.length > MAX_RUNS_KEPT) {
    const index = status.analysisRuns.findIndex((run) => run.phase !== 'Running' && run.phase !== 'Inconclusive');
    status.analysisRuns.splice(index >= 0 ? index : 0, 1);
  }
}

// ---------------------------------------------------------------------------------------------
// Analysis

function recordMeasurements(ctx: Ctx, measurements: MeasurementObservation[]): void {
  const { status, plan, now } = ctx;
  if (!plan || !isActive(status)) return;
  let recorded = false;
  for (const observation of measurements) {
    const run = status.analysisRuns.find((candidate) => candidate.id === observation.runId);
    if (!run || run.phase !== 'Running') continue;
    const metric = run.metrics.find((candidate) => candidate.key === observation.metric);
    if (!metric) continue;
    const metricSpec = plan.templates[metric.template]?.metrics.find((candidate) => candidate.name === metric.name);
    if (!metricSpec) continue;
    if (recordMeasurement(metric, metricSpec, { window: observation.window, result: observation.result }, now)) recorded = true;
  }
  for (const run of status.analysisRuns) {
    const before = run.phase;
    evaluateRun(run, now);
    if (before !== run.phase && (run.phase === 'Successful' || run.phase === 'Failed')) {
      record(ctx, 'AnalysisCompleted', `${runLabel(run)} ${run.phase === 'Successful' ? 'succeeded' : `failed: ${run.message}`}`);
    }
  }
  if (recorded && !status.pause) status.lastProgressAt = now;
}

/**
 * A sequential metric's evidence is never reset within a rollout attempt: a step's run continues
 * the e-process of the same template/metric from the attempt's previous run. One e-process watched
 * across every step is what Ville's inequality bounds; restarting it per step would spend α anew
 * at each step and forget evidence already gathered.
 */
function carrySequentialEvidence(previousRuns: readonly AnalysisRunStatus[], created: AnalysisRunStatus): void {
  for (const metric of created.metrics) {
    if (metric.settings.judge?.kind !== 'sequential') continue;
    for (let i = previousRuns.length - 1; i >= 0; i--) {
      const run = previousRuns[i]!;
      if (run.attempt !== created.attempt) continue;
      const previous = run.metrics.find((candidate) => candidate.key === metric.key && candidate.settings.judge?.kind === 'sequential');
      if (!previous || previous.judgeState === null) continue;
      metric.judgeState = previous.judgeState;
      break;
    }
  }
}

function runLabel(run: AnalysisRunStatus): string {
  const what = run.kind === 'step' ? `analysis at step ${(run.stepIndex ?? 0) + 1}` : run.kind === 'background' ? 'background analysis' : run.kind === 'prePromotion' ? 'pre-promotion analysis' : 'post-promotion analysis';
  return `${what} (${run.templates.join(', ')})`;
}

/** Aborts on a failed run; pauses on an inconclusive one. Returns false when the rollout aborted. */
function checkRuns(ctx: Ctx): boolean {
  const { status } = ctx;
  const failed = status.analysisRuns.find((run) => run.phase === 'Failed' && run.attempt === status.attempt);
  if (failed) {
    abort(ctx, 'AnalysisFailed', `${runLabel(failed)} failed: ${failed.message ?? 'failed'}`, 'system');
    return false;
  }
  const waiting = status.analysisRuns.filter((run) => run.phase === 'Inconclusive');
  if (waiting.length > 0) {
    const noData = waiting.some(runWaitsOnNoData);
    const reason: PauseReason = noData ? 'noData' : 'inconclusive';
    const message = `paused: ${waiting.map((run) => `${runLabel(run)}: ${run.message ?? run.phase}`).join('; ')}`;
    if (!status.pause || status.pause.reason === 'pauseStep' || status.pause.reason === 'gate' || ((status.pause.reason === 'noData' || status.pause.reason === 'inconclusive') && status.pause.message !== message)) {
      setPause(ctx, reason, message, null, 'system');
    }
  } else if (status.pause && (status.pause.reason === 'inconclusive' || status.pause.reason === 'noData')) {
    clearPause(ctx, 'system', 'analysis no longer waiting');
  }
  return true;
}

function startBackgroundIfDue(ctx: Ctx, plan: Plan): void {
  const { status } = ctx;
  const background = plan.background;
  if (!background || !ctx.ready || status.stepIndex < background.startingStep || status.stepIndex >= plan.steps.length) return;
  const id = `a${status.attempt}/background`;
  if (status.analysisRuns.some((run) => run.id === id)) return;
  startRun(ctx, plan, { id, kind: 'background', stepIndex: null, templates: background.templates, args: background.args, defaultCount: null });
}

function startRun(
  ctx: Ctx,
  plan: Plan,
  run: { id: string; kind: AnalysisRunStatus['kind']; stepIndex: number | null; templates: string[]; args: Record<string, string>; defaultCount: number | null; failureLimit?: number },
): AnalysisRunStatus {
  const created = createRun({
    id: run.id,
    kind: run.kind,
    attempt: ctx.status.attempt,
    stepIndex: run.stepIndex,
    templates: run.templates.flatMap((name) => (plan.templates[name] ? [{ name, spec: plan.templates[name] }] : [])),
    args: run.args,
    startedAt: ctx.now,
    defaultCount: run.defaultCount,
    ...(run.failureLimit !== undefined ? { failureLimit: run.failureLimit } : {}),
  });
  carrySequentialEvidence(ctx.status.analysisRuns, created);
  ctx.status.analysisRuns.push(created);
  record(ctx, 'AnalysisStarted', `${runLabel(created)} started`);
  return created;
}

function stopRuns(ctx: Ctx, message: string, promoted: boolean): void {
  for (const run of ctx.status.analysisRuns) {
    stopRun(run, promoted && run.kind === 'background' ? 'Successful' : 'Terminated', message, ctx.now);
  }
}

// ---------------------------------------------------------------------------------------------
// Pause

function setPause(ctx: Ctx, reason: PauseReason, message: string, until: number | null, actor: string): void {
  const { status } = ctx;
  const previous = status.pause;
  if (previous && previous.reason === reason && previous.until === until && previous.message === message) return;
  status.pause = { reason, message, since: previous?.since ?? ctx.now, until, actor };
  status.phase = 'Paused';
  const needsHuman = reason !== 'pauseStep' || until === null;
  if (!previous || previous.reason !== reason) record(ctx, 'Paused', message, actor, needsHuman);
}

/** Ends the pause. Paused time is added back to the progress clock (a deadline pause restarts it). */
function clearPause(ctx: Ctx, actor: string, message: string, notify = actor !== 'system'): void {
  const { status, now } = ctx;
  const pause = status.pause;
  if (!pause) return;
  if (pause.reason === 'progressDeadline') status.lastProgressAt = now;
  else status.lastProgressAt = Math.min(now, status.lastProgressAt + Math.max(0, now - pause.since));
  status.pause = null;
  status.phase = 'Progressing';
  if (actor !== 'system') {
    for (const run of status.analysisRuns) acknowledgeRun(run, now);
  }
  record(ctx, 'Resumed', message, actor, notify);
}

/**
 * The governance gate is closed: hold the rollout where it is. A pause that needs a person (user,
 * inconclusive, noData, progressDeadline) stays what it is (its `resume` is refused while the gate
 * is closed); a pause step gives way to the gate and comes back once the gate opens. A new Paused
 * event only when the gate's message changes.
 */
function holdAtGate(ctx: Ctx, gate: GateObservation): void {
  const { status, now } = ctx;
  const previous = status.pause;
  if (previous && previous.reason !== 'gate' && previous.reason !== 'pauseStep') return;
  const message = `held by the governance gate: ${gate.message}`;
  if (previous?.reason === 'gate' && previous.message === message && previous.until === gate.until) return;
  status.pause = { reason: 'gate', message, since: previous?.since ?? now, until: gate.until, actor: 'system' };
  status.phase = 'Paused';
  if (previous?.reason !== 'gate') record(ctx, 'Paused', message, 'system', true);
  else if (previous.message !== message) record(ctx, 'Paused', message, 'system', false);
}

/** The gate is open (or gone): a gate pause ends by itself. */
function releaseGate(ctx: Ctx): void {
  if (ctx.status.pause?.reason !== 'gate') return;
  const gate = ctx.obs.gate;
  clearPause(ctx, 'system', `governance gate opened: ${gate ? gate.message : 'no governance gate applies any more'}`, true);
}

// ---------------------------------------------------------------------------------------------
// Operations

function applyOperation(ctx: Ctx, op: Operation): void {
  const { status, plan } = ctx;
  const phase = status.phase;
  const active = isActive(status);
  const why = op.reason ? `: ${op.reason}` : '';
  const reject = (message: string): void => {
    ctx.results.push({ id: op.id, type: op.type, accepted: false, message });
    record(ctx, 'OperationRejected', `${op.type} by ${op.actor} rejected: ${message}`, op.actor, false);
  };
  const accept = (message: string): void => {
    ctx.results.push({ id: op.id, type: op.type, accepted: true, message });
  };
  const gate = gateClosed(ctx);
  const gateRefusal = gate ? `the governance gate is closed: ${gate.message}` : null;

  switch (op.type) {
    case 'abort': {
      if (phase === 'Aborted') return reject('the rollout is already aborted');
      if (phase === 'Healthy') {
        return reject(`the rollout finished: ${status.canaryVersion} is stable; deploy ${status.previousStableVersion ?? 'the previous version'} to roll back`);
      }
      abort(ctx, 'OperatorAbort', `aborted by ${op.actor}${why}`, op.actor);
      return accept('aborted: all traffic back to the stable version');
    }
    case 'retry': {
      if (phase !== 'Aborted' && phase !== 'Degraded') return reject(`only an aborted or degraded rollout can be retried; it is ${phase}`);
      if (status.canaryVersion !== ctx.spec.canaryVersion) return reject(`the spec now names ${ctx.spec.canaryVersion}; start a new rollout`);
      startAttempt(ctx, op);
      return accept(`attempt ${status.attempt} started`);
    }
    case 'promote': {
      if (!active || !plan) return reject(`nothing to promote: the rollout is ${phase}`);
      if (gateRefusal) return reject(gateRefusal);
      if (status.stepIndex >= plan.steps.length) return reject('every step is done; promotion is under way');
      const step = plan.steps[status.stepIndex]!;
      const runId = stepRunId(status, step, status.stepIndex);
      const run = runId ? status.analysisRuns.find((candidate) => candidate.id === runId) : undefined;
      if (run) stopRun(run, 'Terminated', `skipped by promote (${op.actor})`, ctx.now);
      if (status.pause) clearPause(ctx, op.actor, `resumed by promote (${op.actor})`);
      completeStep(ctx, 'StepSkipped', op.actor, why);
      return accept(`skipped step ${status.stepIndex}: ${step.label}`);
    }
    case 'promoteFull': {
      if (!active || !plan) return reject(`nothing to promote: the rollout is ${phase}`);
      if (gateRefusal) return reject(gateRefusal);
      stopRuns(ctx, `skipped by promoteFull (${op.actor})`, false);
      if (status.pause) clearPause(ctx, op.actor, `resumed by promoteFull (${op.actor})`);
      const skipped = plan.steps.length - status.stepIndex;
      status.stepIndex = plan.steps.length;
      status.stepLabel = null;
      status.step = { startedAt: ctx.now, requestedAt: null, reasserts: 0 };
      record(ctx, 'StepSkipped', `promoteFull by ${op.actor}${why}: ${skipped} remaining step(s) and all analysis skipped`, op.actor);
      return accept(`skipping ${skipped} step(s); promoting to 100%`);
    }
    case 'pause': {
      if (!active) return reject(`cannot pause: the rollout is ${phase}`);
      if (status.pause?.reason === 'user') return reject(`already paused by ${status.pause.actor}`);
      setPause(ctx, 'user', `paused by ${op.actor}${why}`, null, op.actor);
      return accept('paused');
    }
    case 'resume': {
      if (phase !== 'Paused' || !status.pause) return reject(`not paused: the rollout is ${phase}`);
      if (gateRefusal) return reject(gateRefusal);
      if (status.pause.reason === 'pauseStep') return reject('this is a pause step: use promote to continue');
      clearPause(ctx, op.actor, `resumed by ${op.actor}${why}`);
      return accept('resumed');
    }
    default:
      return reject(`unknown operation "${String(op.type)}"`);
  }
}

function stepRunId(status: RolloutStatus, step: PlanStep, index: number): string | null {
  if (step.kind !== 'analysis') return null;
  return step.runKind === 'step' ? `a${status.attempt}/s${index}` : `a${status.attempt}/${step.runKind}`;
}

function startAttempt(ctx: Ctx, op: Operation): void {
  const { status, now, plan } = ctx;
  status.attempt += 1;
  status.phase = 'Progressing';
  status.abort = null;
  status.pause = null;
  status.stepIndex = 0;
  status.stepCount = plan?.steps.length ?? 0;
  status.stepLabel = plan?.steps[0]?.label ?? null;
  status.step = { startedAt: now, requestedAt: null, reasserts: 0 };
  status.canaryWeight = 0;
  status.headerRoute = null;
  status.analysisRuns = [];
  status.newVersion = { ensuredAt: null, replicas: 0, readyAt: null, backendsSetAt: null, state: null, message: null };
  status.promotedAt = null;
  status.finishedAt = null;
  status.lastProgressAt = now;
  status.lastReassertAt = null;
  status.retirements = status.retirements.filter((retirement) => !(retirement.version === status.canaryVersion && retirement.retiredAt === null));
  record(ctx, 'Retried', `attempt ${status.attempt} started by ${op.actor}${op.reason ? `: ${op.reason}` : ''}`, op.actor);
}

// ---------------------------------------------------------------------------------------------
// Progress

function progress(ctx: Ctx, plan: Plan): void {
  const { status, now, obs } = ctx;
  const version = status.canaryVersion;
  const gate = gateClosed(ctx);

  if (status.newVersion.ensuredAt === null) {
    // Nothing is deployed before the governance gate opens.
    if (gate) {
      holdAtGate(ctx, gate);
      return;
    }
    const replicas = plan.kind === 'blueGreen' ? plan.previewReplicas : plan.replicas;
    emit(ctx, 'init', `ensure=${version}`, { type: 'ensureVersion', version, replicas, role: plan.kind === 'blueGreen' ? 'preview' : plan.kind === 'direct' ? 'stable' : 'canary', canaryWeight: plan.kind === 'direct' ? 100 : status.canaryWeight });
    status.newVersion.ensuredAt = now;
    status.newVersion.replicas = replicas;
  }
  const target = obs.canary;
  if (target) {
    status.newVersion.state = target.state;
    status.newVersion.message = target.message ?? null;
  }
  if (target?.state === 'failed') {
    abort(ctx, 'NewVersionFailed', `new version ${version} failed${target.message ? `: ${target.message}` : ''}`, 'system');
    return;
  }
  ctx.ready = target?.state === 'ready';
  if (ctx.ready && status.newVersion.readyAt === null) {
    status.newVersion.readyAt = now;
    if (!status.pause) status.lastProgressAt = now;
    record(ctx, 'NewVersionReady', `${version} is ready`);
  }
  if (!ctx.ready) ctx.waiting = `waiting for ${version} to be ready${target ? ` (${target.state}${target.message ? `: ${target.message}` : ''})` : ''}`;

  if (plan.kind !== 'direct') {
    if (!checkRuns(ctx)) return;
    startBackgroundIfDue(ctx, plan);
  }

  // A closed gate holds the rollout at its current step and weight: analysis already running keeps
  // measuring (and a failure still aborts, above), but no step completes and nothing is promoted.
  if (gate) {
    holdAtGate(ctx, gate);
    return;
  }
  releaseGate(ctx);

  if (status.pause) {
    const pause = status.pause;
    const step = plan.steps[status.stepIndex];
    if (pause.reason === 'pauseStep' && (step?.kind !== 'pause' || (pause.until !== null && now >= pause.until))) {
      clearPause(ctx, 'system', step?.kind === 'pause' ? `${step.label} elapsed` : 'pause ended');
    } else {
      return;
    }
  }

  if (plan.kind === 'direct') {
    if (ctx.ready) promote(ctx, plan, 'system');
    else ctx.poll = true;
  } else {
    for (let guard = 0; guard <= plan.steps.length + 1 && isActive(status) && !status.pause; guard += 1) {
      const step = plan.steps[status.stepIndex];
      if (!step) {
        promote(ctx, plan, 'system');
        break;
      }
      const outcome = runStep(ctx, plan, step);
      if (outcome !== 'done') break;
      completeStep(ctx, 'StepCompleted', 'system', '');
      startBackgroundIfDue(ctx, plan);
    }
  }

  if (status.phase !== 'Progressing' || status.pause || onSchedule(ctx, plan)) return;
  ctx.deadlineAt = status.lastProgressAt + plan.progressDeadlineMs;
  if (now >= ctx.deadlineAt) {
    const where = plan.kind === 'direct' ? 'deploying' : `at step ${status.stepIndex + 1} (${status.stepLabel ?? 'promotion'})`;
    const message = `no progress for ${seconds(now - status.lastProgressAt)} ${where}${ctx.waiting ? `: ${ctx.waiting}` : ''} (progressDeadlineSeconds ${plan.progressDeadlineMs / 1000})`;
    if (plan.progressDeadlineAbort) abort(ctx, 'ProgressDeadlineExceeded', message, 'system');
    else setPause(ctx, 'progressDeadline', message, null, 'system');
  }
}

/** The current step waits for a measurement that is not due yet: waiting on schedule is not a stall. */
function onSchedule(ctx: Ctx, plan: Plan): boolean {
  const { status, now } = ctx;
  const step = plan.steps[status.stepIndex];
  if (!step || step.kind !== 'analysis') return false;
  const id = stepRunId(status, step, status.stepIndex);
  const run = status.analysisRuns.find((candidate) => candidate.id === id);
  const due = run ? nextDueAt(run) : null;
  return due !== null && due > now;
}

function completeStep(ctx: Ctx, type: 'StepCompleted' | 'StepSkipped', actor: string, why: string): void {
  const { status, plan, now } = ctx;
  const label = status.stepLabel ?? `step ${status.stepIndex + 1}`;
  if (status.pause?.reason === 'pauseStep') {
    status.pause = null;
    status.phase = 'Progressing';
  }
  status.stepIndex = Math.min(status.stepIndex + 1, status.stepCount);
  status.stepLabel = plan?.steps[status.stepIndex]?.label ?? null;
  status.step = { startedAt: now, requestedAt: null, reasserts: 0 };
  if (!status.pause) status.lastProgressAt = now;
  const next = status.stepLabel ? `; next: ${status.stepLabel}` : '; next: promotion';
  record(ctx, type, `${label} ${type === 'StepSkipped' ? `skipped by ${actor}${why}` : 'done'}${next}`, actor);
}

type StepOutcome = 'done' | 'wait' | 'stopped';

function runStep(ctx: Ctx, plan: Plan, step: PlanStep): StepOutcome {
  const { status, now } = ctx;
  switch (step.kind) {
    case 'setWeight': {
      if (step.weight > 0) {
        const replicas = plan.kind === 'blueGreen' && step.weight === 100 ? plan.replicas : plan.kind === 'blueGreen' ? plan.previewReplicas : plan.replicas;
        if (status.newVersion.replicas < replicas) {
          emit(ctx, `s${status.stepIndex}`, `scale=${replicas}`, { type: 'ensureVersion', version: status.canaryVersion, replicas, role: 'canary', canaryWeight: step.weight });
          status.newVersion.replicas = replicas;
          ctx.poll = true;
          ctx.waiting = `scaling ${status.canaryVersion} to ${replicas} instance(s)`;
          return 'wait';
        }
        if (!ctx.ready) {
          ctx.poll = true;
          return 'wait';
        }
        ensureBackends(ctx);
      }
      return trafficStep(ctx, `setWeight=${step.weight}`, { type: 'setWeight', canaryWeight: step.weight }, (router) => router.canaryWeight === step.weight, `${step.weight}%`, () => {
        status.canaryWeight = step.weight;
      });
    }
    case 'setHeaderRoute': {
      const route = step.route;
      if (route !== null) {
        if (!ctx.ready) {
          ctx.poll = true;
          return 'wait';
        }
        ensureBackends(ctx);
      }
      return trafficStep(ctx, `headerRoute=${route?.name ?? 'none'}`, { type: 'setHeaderRoute', route }, (router) => router.headerRoute === (route?.name ?? null), route ? `header route ${route.name}` : 'no header route', () => {
        status.headerRoute = route;
      });
    }
    case 'pause': {
      if (step.durationMs === null) {
        setPause(ctx, 'pauseStep', step.gate ? 'awaiting promotion: run `rollgate rollout promote`' : `${step.label}: run \`rollgate rollout promote\` to continue`, null, 'system');
        return 'wait';
      }
      const until = status.step.startedAt + step.durationMs;
      if (now >= until) return 'done';
      setPause(ctx, 'pauseStep', `${step.label} (until ${isoTime(until)})`, until, 'system');
      return 'wait';
    }
    case 'analysis': {
      if (step.templates.length === 0) return 'done';
      if (!ctx.ready) {
        ctx.poll = true;
        return 'wait';
      }
      const id = stepRunId(status, step, status.stepIndex)!;
      let run = status.analysisRuns.find((candidate) => candidate.id === id);
      if (!run) {
        run = startRun(ctx, plan, {
          id,
          kind: step.runKind,
          stepIndex: step.runKind === 'step' ? status.stepIndex : null,
          templates: step.templates,
          args: step.args,
          defaultCount: 1,
          ...(step.failureLimit !== undefined ? { failureLimit: step.failureLimit } : {}),
        });
      }
      switch (run.phase) {
        case 'Successful':
        case 'Terminated':
          return 'done';
        case 'Failed':
          abort(ctx, 'AnalysisFailed', `${runLabel(run)} failed: ${run.message ?? 'failed'}`, 'system');
          return 'stopped';
        case 'Inconclusive':
          checkRuns(ctx);
          return 'wait';
        case 'Running':
          ctx.waiting = `analysis: ${run.metrics.filter((metric) => metric.phase === 'Running').map((metric) => `${metric.key} ${metric.counted}/${metric.settings.count ?? '∞'}`).join(', ')}`;
          return 'wait';
      }
    }
  }
}

function ensureBackends(ctx: Ctx): void {
  const { status } = ctx;
  if (status.newVersion.backendsSetAt !== null || status.stableVersion === null) return;
  if (status.canaryWeight === 0) emit(ctx, 'init', 'setWeight=0', { type: 'setWeight', canaryWeight: 0 });
  emit(ctx, 'init', 'backends', { type: 'setBackends', stable: status.stableVersion, canary: status.canaryVersion });
  status.newVersion.backendsSetAt = ctx.now;
}

/**
 * A traffic step: sends the action once, then completes when the router reports the wanted state,
 * or on a later pass when the router cannot verify (null). A router that keeps reporting something
 * else gets the action again every REASSERT_MS (key suffix `/r<n>`).
 */
function trafficStep(
  ctx: Ctx,
  what: string,
  action: DistributiveOmit<Action, 'idempotencyKey'>,
  matches: (router: RouterObservation) => boolean,
  wanted: string,
  apply: () => void,
): StepOutcome {
  const { status, now, obs } = ctx;
  const scope = `s${status.stepIndex}`;
  const router = obs.router;
  if (status.step.requestedAt === null) {
    emit(ctx, scope, what, action);
    apply();
    status.step.requestedAt = now;
    record(ctx, 'TrafficShifted', `${status.stepLabel ?? what}: ${wanted}`);
    if (router && matches(router)) return 'done';
    ctx.poll = true;
    ctx.waiting = `waiting for the router to report ${wanted}`;
    return 'wait';
  }
  apply();
  if (router === null || matches(router)) return 'done';
  if (now - status.step.requestedAt >= REASSERT_MS) {
    status.step.reasserts += 1;
    status.step.requestedAt = now;
    emit(ctx, scope, `${what}/r${status.step.reasserts}`, action);
    record(ctx, 'TrafficReasserted', `router reports canary weight ${router.canaryWeight}% and header route ${router.headerRoute ?? 'none'}; sent ${wanted} again`);
  }
  ctx.poll = true;
  ctx.waiting = `waiting for the router to report ${wanted}`;
  return 'wait';
}

// ---------------------------------------------------------------------------------------------
// Endings

function promote(ctx: Ctx, plan: Plan, actor: string): void {
  const { status, now } = ctx;
  if (!ctx.ready) {
    ctx.poll = true;
    ctx.waiting = `waiting for ${status.canaryVersion} to be ready before promotion`;
    return;
  }
  if (plan.kind !== 'direct' && status.newVersion.replicas < plan.replicas) {
    // A blue-green preview promoted with promoteFull still runs at previewReplicaCount.
    emit(ctx, 'promote', `scale=${plan.replicas}`, { type: 'ensureVersion', version: status.canaryVersion, replicas: plan.replicas, role: 'canary', canaryWeight: 100 });
    status.newVersion.replicas = plan.replicas;
    ctx.poll = true;
    ctx.waiting = `scaling ${status.canaryVersion} to ${plan.replicas} instance(s) before promotion`;
    return;
  }
  const previous = status.stableVersion;
  const version = status.canaryVersion;
  // The new version is about to serve as the stable one: ensured with role `stable` before the
  // router moves, so a target that places versions by role (Kubernetes tracks: the stable track
  // is rolled to the verified image) has it ready there. Running targets leave it as it is.
  if (plan.kind !== 'direct') {
    emit(ctx, 'promote', `ensureStable=${version}`, { type: 'ensureVersion', version, replicas: plan.replicas, role: 'stable', canaryWeight: 100 });
  }
  emit(ctx, 'promote', `markStable=${version}`, { type: 'markStable', version, previous });
  status.stableVersion = version;
  status.previousStableVersion = previous;
  status.canaryWeight = 100;
  status.headerRoute = null;
  status.pause = null;
  status.stepIndex = status.stepCount;
  status.stepLabel = null;
  stopRuns(ctx, 'rollout promoted', true);
  if (previous !== null && previous !== version) scheduleRetirement(ctx, previous, plan.scaleDownDelayMs, `replaced by ${version}`);
  status.phase = 'Healthy';
  status.promotedAt = now;
  status.finishedAt = now;
  const retire = previous !== null && previous !== version ? `; ${previous} retires after ${seconds(plan.scaleDownDelayMs)}` : '';
  record(ctx, 'Promoted', `${version} is stable at 100%${retire}`, actor);
}

function scheduleRetirement(ctx: Ctx, version: string, delayMs: number, reason: string): void {
  const { status } = ctx;
  if (status.retirements.some((retirement) => retirement.version === version && retirement.retiredAt === null)) return;
  status.retirements.push({ version, notBefore: ctx.now + delayMs, retiredAt: null, reason });
  if (status.retirements.length > 20) status.retirements.splice(0, status.retirements.length - 20);
}

/** Traffic back to stable in this very pass; the new version retires after the scale-down delay. */
function abort(ctx: Ctx, reason: AbortInfo['reason'], message: string, actor: string): void {
  stopTraffic(ctx, 'abort');
  const { status, now } = ctx;
  stopRuns(ctx, reason === 'AnalysisFailed' ? 'another analysis failed' : 'rollout aborted', false);
  const delay = ctx.plan?.scaleDownDelayMs ?? 30_000;
  if (status.newVersion.ensuredAt !== null && status.canaryVersion !== status.stableVersion) {
    scheduleRetirement(ctx, status.canaryVersion, delay, `rollout aborted (${reason})`);
  }
  status.phase = 'Aborted';
  status.abort = { reason, message, actor, at: now };
  status.finishedAt = now;
  record(ctx, 'Aborted', message, actor);
}

function stopTraffic(ctx: Ctx, scope: string): void {
  const { status } = ctx;
  const stable = status.stableVersion;
  if (stable !== null && stable !== status.canaryVersion && status.promotedAt === null) {
    emit(ctx, scope, 'setWeight=0', { type: 'setWeight', canaryWeight: 0 });
    emit(ctx, scope, 'headerRoute=none', { type: 'setHeaderRoute', route: null });
  }
  if (status.promotedAt === null) {
    status.canaryWeight = 0;
    status.headerRoute = null;
  }
  status.pause = null;
}

function enterDegraded(ctx: Ctx, message: string): void {
  const { status, now } = ctx;
  if (!isActive(status)) return;
  stopTraffic(ctx, 'degraded');
  stopRuns(ctx, 'rollout degraded', false);
  if (status.newVersion.ensuredAt !== null && status.canaryVersion !== status.stableVersion) {
    scheduleRetirement(ctx, status.canaryVersion, ctx.plan?.scaleDownDelayMs ?? 30_000, 'rollout degraded');
  }
  status.phase = 'Degraded';
  status.abort = { reason: 'Invalid', message, actor: 'system', at: now };
  status.finishedAt = now;
  record(ctx, 'Degraded', message);
}

/** Finished phases: correct router drift (throttled). */
function settle(ctx: Ctx): void {
  const { status, obs, now } = ctx;
  const router = obs.router;
  if (!router) return;
  const throttled = status.lastReassertAt !== null && now - status.lastReassertAt < REASSERT_MS;
  if ((status.phase === 'Aborted' || status.phase === 'Degraded') && status.promotedAt === null && status.stableVersion !== null) {
    const leaking = router.canaryVersion === status.canaryVersion && (router.canaryWeight > 0 || router.headerRoute !== null);
    if (!leaking) return;
    ctx.poll = true;
    if (throttled) return;
    status.lastReassertAt = now;
    const event = record(ctx, 'TrafficReasserted', `router still sends traffic to ${status.canaryVersion} (weight ${router.canaryWeight}%, header route ${router.headerRoute ?? 'none'}); sent weight 0 again`);
    emit(ctx, 'abort', `setWeight=0/r${event.seq}`, { type: 'setWeight', canaryWeight: 0 });
    emit(ctx, 'abort', `headerRoute=none/r${event.seq}`, { type: 'setHeaderRoute', route: null });
  } else if (status.phase === 'Healthy' && router.stableVersion !== null && router.stableVersion !== status.canaryVersion) {
    ctx.poll = true;
    if (throttled) return;
    status.lastReassertAt = now;
    const event = record(ctx, 'TrafficReasserted', `router reports stable ${router.stableVersion}; marked ${status.canaryVersion} stable again`);
    emit(ctx, 'promote', `markStable=${status.canaryVersion}/r${event.seq}`, { type: 'markStable', version: status.canaryVersion, previous: status.previousStableVersion });
  }
}

/** Retires versions whose delay passed, once the router (when it can tell) no longer sends them traffic. */
function processRetirements(ctx: Ctx): void {
  const { status, obs, now } = ctx;
  for (const retirement of status.retirements) {
    if (retirement.retiredAt !== null || now < retirement.notBefore) continue;
    if (isActive(status) && retirement.version === status.canaryVersion) continue;
    const router = obs.router;
    const version = retirement.version;
    const routed =
      router !== null &&
      ((router.stableVersion === version && router.canaryWeight < 100) || (router.canaryVersion === version && (router.canaryWeight > 0 || router.headerRoute !== null)));
    if (routed) {
      ctx.poll = true;
      ctx.waiting = `waiting for the router to stop sending traffic to ${version} before retiring it`;
      continue;
    }
    emit(ctx, 'retire', version, { type: 'retireVersion', version });
    retirement.retiredAt = now;
    record(ctx, 'VersionRetired', `${version} retired (${retirement.reason})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Last resort

/** Builds a Degraded result without trusting the input. Never throws. */
function failSafe(input: unknown, message: string): DecideResult {
  try {
    const raw = isObject(input) ? input : {};
    const spec = isObject(raw.spec) ? raw.spec : {};
    const now = isFiniteNumber(raw.now) ? raw.now : 0;
    const id = typeof spec.id === 'string' && spec.id !== '' ? spec.id : 'unknown';
    const canaryVersion = typeof spec.canaryVersion === 'string' && spec.canaryVersion !== '' ? spec.canaryVersion : 'unknown';
    const stableVersion = typeof spec.stableVersion === 'string' && spec.stableVersion !== '' ? spec.stableVersion : null;
    const parsed = raw.status === null || raw.status === undefined ? null : parseRolloutStatus(raw.status);
    const safeSpec = { id, canaryVersion, stableVersion, strategy: {}, templates: {} } as unknown as RolloutSpec;
    const status = parsed?.ok && parsed.status.rolloutId === id ? parsed.status : initialStatus(safeSpec, null, now);
    const ctx: Ctx = {
      spec: safeSpec,
      plan: null,
      status,
      obs: { canary: null, stable: null, router: null, measurements: [], operations: [] },
      now,
      actions: [],
      events: [],
      results: [],
      poll: false,
      ready: false,
      waiting: null,
      deadlineAt: null,
    };
    if (isActive(status)) enterDegraded(ctx, message);
    else if (status.phase !== 'Degraded' || status.abort?.message !== message) {
      record(ctx, 'Degraded', `${message} (phase stays ${status.phase})`);
    }
    const operations = isObject(raw.observations) && Array.isArray(raw.observations.operations) ? raw.observations.operations : [];
    for (const op of operations) {
      if (isObject(op) && typeof op.id === 'string') ctx.results.push({ id: op.id, type: String(op.type), accepted: false, message: `rejected: ${message}` });
    }
    return { status, actions: ctx.actions, events: ctx.events, operationResults: ctx.results, requeueAfterMs: null };
  } catch {
    return {
      status: initialStatus({ id: 'unknown', canaryVersion: 'unknown', stableVersion: null } as unknown as RolloutSpec, null, 0),
      actions: [],
      events: [],
      operationResults: [],
      requeueAfterMs: null,
    };
  }
}


