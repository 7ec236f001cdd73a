/**
 * Inputs and outputs of the rollout state machine `decide()`.
 *
 * The engine does one pass per rollout: load `RolloutStatus`; gather `Observations`; call
 * `decide({ spec, status, observations, now })`; apply `actions` in order through the ports (each
 * carries an `idempotencyKey`); write `status` and `events` in one transaction; requeue after
 * `requeueAfterMs` (or when an operation arrives).
 */
import type { AnalysisRunStatus, SamplePair } from '../analysis/types.js';
import type { AnalysisTemplateSpec } from '../resources/analysis-template.js';
import type { RolloutStrategySpec } from '../resources/rollout-strategy.js';

// ---------------------------------------------------------------------------------------------
// Spec (desired)

/** Everything decide() needs to know about what is wanted, already resolved by the engine. */
export interface RolloutSpec {
  /** Unique rollout id (the Deployment's name); prefixes every idempotency key. */
  id: string;
  service: string;
  environment?: string;
  /** The version serving production now; null for a first deploy (then: deploy, go to 100%, no steps). */
  stableVersion: string | null;
  /** The new version. Equal to `stableVersion`: nothing to roll out; it is ensured and marked stable. */
  canaryVersion: string;
  /** The RolloutStrategy spec (canary or blueGreen; Argo Rollouts / Flagger field names). */
  strategy: RolloutStrategySpec;
  /** Every AnalysisTemplate the strategy refers to, by name. */
  templates: Readonly<Record<string, AnalysisTemplateSpec>>;
  /** Instances of the new version once it takes full traffic (default 1). */
  replicas?: number;
}

// ---------------------------------------------------------------------------------------------
// Status (observed, persisted)

/**
 * - `Progressing`: walking through the steps (deploying, shifting traffic, analysing).
 * - `Paused`: waiting on a timer or a human; `pause` says which and why. Background analysis keeps
 *   measuring; the progress deadline does not run.
 * - `Healthy`: done: the new version is stable and serves 100%; the old one is retired after the delay.
 * - `Aborted`: stopped (analysis failed, operator abort, progress deadline, new version failed to
 *   start): canary weight 0, header route removed, stable serves everything; the new version is
 *   retired after the delay. `retry` starts a new attempt.
 * - `Degraded`: decide() could not make sense of its input (invalid strategy, missing template, bad
 *   CEL, corrupt status, spec changed mid-rollout). Traffic goes back to stable as for an abort;
 *   `message` names the problem; fix it and `retry`.
 */
export type RolloutPhase = 'Progressing' | 'Paused' | 'Healthy' | 'Aborted' | 'Degraded';

/**
 * - `pauseStep`: a canary `pause` step (timed when `until` is set, else until `promote`), or the
 *   blue-green promotion gate.
 * - `user`: an operator's `pause`.
 * - `inconclusive`: an analysis run exceeded its inconclusiveLimit.
 * - `noData`: a metric with `noDataPolicy: pause` got no data.
 * - `progressDeadline`: no progress for progressDeadlineSeconds with `progressDeadlineAbort: false`.
 * - `gate`: the governance gate is closed (change not authorized, planned start not reached, a
 *   blackout or outside maintenance windows, a `start` policy denies); ends by itself when it opens.
 */
export type PauseReason = 'pauseStep' | 'user' | 'inconclusive' | 'noData' | 'progressDeadline' | 'gate';

export interface PauseState {
  reason: PauseReason;
  message: string;
  /** When the rollout paused (continuous paused time; kept when the reason changes). */
  since: number;
  /** When a timed pause ends; null: until a human acts. */
  until: number | null;
  /** Who paused (`system` for step / analysis / deadline pauses). */
  actor: string;
}

export interface AbortInfo {
  /** Machine-readable cause. */
  reason: 'AnalysisFailed' | 'OperatorAbort' | 'ProgressDeadlineExceeded' | 'NewVersionFailed' | 'Invalid';
  message: string;
  actor: string;
  at: number;
}

/** HeaderRoute as the router takes it (mirrors src/ports/traffic-router.ts). */
export interface HeaderMatch {
  headerName: string;
  exact?: string;
  prefix?: string;
  regex?: string;
}
export interface HeaderRoute {
  name: string;
  match: HeaderMatch[];
}

/** Progress within the current step. */
export interface StepProgress {
  /** When the current step started. */
  startedAt: number;
  /** When this step's traffic action (setWeight / setHeaderRoute) was last sent; null: not yet. */
  requestedAt: number | null;
  /** How many times the traffic action was re-sent because the router reported something else. */
  reasserts: number;
}

/** What decide() knows about the new version on the target. */
export interface NewVersionState {
  /** When `ensureVersion` was first sent in this attempt; null: not yet. */
  ensuredAt: number | null;
  /** Replicas last asked for. */
  replicas: number;
  /** First time the target reported it ready in this attempt. */
  readyAt: number | null;
  /** When stable + new version were declared to the router (`setBackends`). */
  backendsSetAt: number | null;
  /** Last reported target state and message. */
  state: TargetState | null;
  message: string | null;
}

/** A version scheduled to be stopped once traffic left it (scaleDownDelaySeconds). */
export interface Retirement {
  version: string;
  /** Not before this time. */
  notBefore: number;
  /** When `retireVersion` was sent; null: pending. */
  retiredAt: number | null;
  reason: string;
}

/** One decision, kept in `status.history` (the most recent HISTORY_LIMIT) and returned as an audit event. */
export interface RolloutEvent {
  /** Monotonic per rollout. */
  seq: number;
  at: number;
  type: RolloutEventType;
  attempt: number;
  stepIndex: number;
  /** Phase after the decision. */
  phase: RolloutPhase;
  /** `system`, or the operator who asked. */
  actor: string;
  message: string;
}

export type RolloutEventType =
  | 'RolloutStarted'
  | 'NewVersionReady'
  | 'StepCompleted'
  | 'StepSkipped'
  | 'TrafficShifted'
  | 'TrafficReasserted'
  | 'AnalysisStarted'
  | 'AnalysisCompleted'
  | 'Paused'
  | 'Resumed'
  | 'Promoted'
  | 'Aborted'
  | 'Retried'
  | 'Degraded'
  | 'VersionRetired'
  | 'OperationRejected';

export type StrategyKind = 'canary' | 'blueGreen' | 'direct';

/** JSON-serializable; stored in the Deployment's status. */
export interface RolloutStatus {
  /** Shape version of this document. */
  schemaVersion: 1;
  rolloutId: string;
  /** `direct`: first deploy or same version (no steps). */
  strategy: StrategyKind;
  phase: RolloutPhase;
  /** One line for humans: what is happening or why it stopped. */
  message: string;
  /** 1-based; `retry` increments it (and so changes every idempotency key). */
  attempt: number;
  /** The version serving as stable: the old one until promotion, then the new one. */
  stableVersion: string | null;
  /** The version that was stable before this rollout (retired after promotion). */
  previousStableVersion: string | null;
  canaryVersion: string;
  /** Index of the current step in the resolved steps (`stepCount` once every step is done). */
  stepIndex: number;
  stepCount: number;
  /** Label of the current step, e.g. `setWeight 25`. */
  stepLabel: string | null;
  step: StepProgress;
  /** Percent of traffic the new version should get, 0..100 (100 after promotion). */
  canaryWeight: number;
  /** Header route to the new version; null: none. */
  headerRoute: HeaderRoute | null;
  pause: PauseState | null;
  startedAt: number;
  /** Last progress (step done, new version ready, measurement recorded); paused time is added back. */
  lastProgressAt: number;
  newVersion: NewVersionState;
  /** This attempt's analysis runs (at most MAX_RUNS_KEPT, oldest finished dropped first). */
  analysisRuns: AnalysisRunStatus[];
  abort: AbortInfo | null;
  promotedAt: number | null;
  finishedAt: number | null;
  retirements: Retirement[];
  /** When a drift correction was last sent in a finished phase (throttle). */
  lastReassertAt: number | null;
  /** Sequence of the last event. */
  eventSeq: number;
  /** The most recent decisions with reasons, oldest first. */
  history: RolloutEvent[];
}

// ---------------------------------------------------------------------------------------------
// Observations (gathered by the engine before each pass)

export type TargetState = 'absent' | 'starting' | 'ready' | 'failed';

/** A version on the deploy target (from `DeployTarget.observe()`). */
export interface TargetObservation {
  version: string;
  /** `ready`: every desired instance healthy; `failed`: will not become ready without a new ensure. */
  state: TargetState;
  message?: string;
}

/** The router's live state (`TrafficRouter.verify()`); mirrors RouterState in src/ports/traffic-router.ts. */
export interface RouterObservation {
  canaryWeight: number;
  stableVersion: string | null;
  canaryVersion: string | null;
  headerRoute: string | null;
}

/** A provider's answer to one entry of `dueMeasurements()`. */
export interface MeasurementObservation {
  runId: string;
  /** The metric key, `template/metric`. */
  metric: string;
  window: { startMs: number; endMs: number };
  /** The samples, or the provider's error text. */
  result: SamplePair | { error: string };
}

export type OperationType = 'promote' | 'promoteFull' | 'abort' | 'retry' | 'pause' | 'resume';

/** An operator's request, queued by the API until a pass handles it. */
export interface Operation {
  /** Unique; echoed in `operationResults`. */
  id: string;
  type: OperationType;
  /** Who asked, e.g. `user:alice`. */
  actor: string;
  /** Why (kept in events and the abort record). */
  reason?: string;
}

export interface Observations {
  /** The new version on the target; null: unknown. */
  canary: TargetObservation | null;
  /** The stable version on the target; null: unknown. Informational. */
  stable: TargetObservation | null;
  /** null: the router cannot verify (or was not asked). */
  router: RouterObservation | null;
  /** Results for what `dueMeasurements()` listed; stale or duplicate ones are ignored. */
  measurements: MeasurementObservation[];
  /** Pending operations, oldest first. */
  operations: Operation[];
  /**
   * The runtime governance gate (src/core/governance/gate.ts), evaluated by the engine for an
   * unfinished rollout. Absent or null: no gate (open). Closed: the rollout does not start or
   * advance; it pauses with reason `gate` and resumes by itself when the gate opens.
   */
  gate?: GateObservation | null;
}

/** The runtime gate's verdict as decide() needs it. */
export interface GateObservation {
  open: boolean;
  message: string;
  /** When the gate may open by itself (ms since epoch); null: unknown (a person or a policy must act). */
  until: number | null;
}

// ---------------------------------------------------------------------------------------------
// Actions (applied by the engine through ports, in order)

interface ActionBase {
  /**
   * `<rolloutId>/a<attempt>/<scope>/<what>`: the same intent in the same attempt always has the same
   * key, so a pass replayed after a crash is recognised; a re-sent correction gets `/r<n>`.
   */
  idempotencyKey: string;
}

export type Action =
  /**
   * DeployTarget.ensure: run `version` with `replicas` instances, as `role`, for the canary traffic
   * weight it is about to serve (0 before the first step, the step's weight when scaling for it,
   * 100 at promotion and for a direct deployment).
   */
  | (ActionBase & { type: 'ensureVersion'; version: string; replicas: number; role: 'canary' | 'preview' | 'stable'; canaryWeight: number })
  /** TrafficRouter.setBackends: stable and canary backends (endpoints resolved by the engine). */
  | (ActionBase & { type: 'setBackends'; stable: string; canary: string | null })
  /** TrafficRouter.setWeights: the canary's share; stable gets the rest. */
  | (ActionBase & { type: 'setWeight'; canaryWeight: number })
  /** TrafficRouter.setHeaderRoute; null removes the route. */
  | (ActionBase & { type: 'setHeaderRoute'; route: HeaderRoute | null })
  /**
   * Promotion: `version` becomes the service's stable version serving 100% — router backends
   * stable=`version`, canary=null, weight 0, no header route — and the engine records it as stable.
   */
  | (ActionBase & { type: 'markStable'; version: string; previous: string | null })
  /** DeployTarget.retire: stop every instance of `version`. */
  | (ActionBase & { type: 'retireVersion'; version: string })
  /** Notifier.notify, on a real status change only. */
  | (ActionBase & { type: 'notify'; event: RolloutEventType; phase: RolloutPhase; message: string });

export type ActionType = Action['type'];

// ---------------------------------------------------------------------------------------------
// decide()

export interface DecideInput {
  spec: RolloutSpec;
  /** null: a new rollout. */
  status: RolloutStatus | null;
  observations: Observations;
  /** ms since epoch. */
  now: number;
}

export interface OperationResult {
  id: string;
  type: string;
  accepted: boolean;
  message: string;
}

export interface DecideResult {
  status: RolloutStatus;
  /** To apply in order. */
  actions: Action[];
  /** New audit events of this pass (also appended to `status.history`). */
  events: RolloutEvent[];
  /** One per operation in the observations, in order. */
  operationResults: OperationResult[];
  /** Run the next pass after this long; null: nothing pending (wake on an operation). */
  requeueAfterMs: number | null;
}
