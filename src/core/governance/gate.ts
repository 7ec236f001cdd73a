/**
 * The runtime governance gate (ADR 0004, "Two kinds of gate", item 2): whether a rollout may start
 * or advance now. The engine evaluates it on every pass of an unfinished rollout and hands the
 * verdict to decide() as an observation; a closed gate pauses the rollout with reason `gate`.
 *
 * Pure and total: time is an input, no I/O, the same input gives the same answer, and no input
 * makes it throw (an internal error closes the gate and says so).
 *
 * Checks, in this order, every one evaluated and reported as a GateResult:
 * - `change`:   the Deployment's change record exists when the environment requires one (or when
 *               the Deployment names one), is not Canceled / Closed, is for this environment and
 *               covers this service.
 * - `approval`: the change is authorized (Scheduled, Implement or Review); before that the message
 *               says what is missing (`cab 1 of 2`) or who rejected it.
 * - `schedule`: the change's plannedStart has been reached (a passed plannedEnd only warns).
 * - `window`:   no blackout window is active and every maintenance window is respected
 *               (windows.ts `deploymentAllowed`). An emergency change with `emergencyApprovals`
 *               (default 2) distinct valid approvals overrides a blackout (outcome `warn`).
 * - `policy`:   no Policy with gate `start` denies (the engine evaluates them; results pass through).
 * The first closed check (`deny` or `pending`) gives the gate's message.
 */
import type { ChangeSpec } from '../resources/change.js';
import { approvalProgress } from './approvals.js';
import type { ApprovalRecord, ChangeRecordStatus, GateResult } from './records.js';
import { activeWindows, deploymentAllowed, type DeploymentScope, type Window } from './windows.js';

export const DEFAULT_EMERGENCY_APPROVALS = 2;

export interface RuntimeGateChange {
  name: string;
  spec: ChangeSpec;
  status: ChangeRecordStatus;
}

export interface RuntimeGateInput {
  /** The change record the Deployment names, loaded; null when it names none (or it does not exist). */
  change: RuntimeGateChange | null;
  /** The change name the Deployment gives (`spec.change`): a name without a record closes the gate. */
  changeRef?: string | null;
  /** The environment requires a change record (Environment `changeRequired`, default `production`). */
  changeRequired: boolean;
  environment: string;
  /** Every Window object; those that do not apply to `scope` are ignored. */
  windows: readonly Window[];
  scope: DeploymentScope;
  /** Results of the Policies with gate `start` (`deny` closes the gate, `warn` is reported). */
  policyResults: readonly GateResult[];
  /** Distinct valid approvals an emergency change needs to run inside a blackout (default 2). */
  emergencyApprovals?: number;
  /** ms since the epoch. */
  now: number;
}

export interface RuntimeGateOverride {
  /** The blackout window(s) overridden, comma-separated when several are active. */
  window: string;
  approvers: string[];
}

export interface RuntimeGate {
  open: boolean;
  /** Why it is closed (the first closed check), or what let it open. */
  message: string;
  /** The earliest time the gate may open by itself (planned start, window end); null: it waits for a person or a policy. */
  until: number | null;
  results: GateResult[];
  /** Set when the gate is open only because an emergency change overrides a blackout. */
  override: RuntimeGateOverride | null;
}

const AUTHORIZED_STATES: ReadonlySet<string> = new Set(['Scheduled', 'Implement', 'Review']);

const isClosed = (result: GateResult) => result.outcome === 'deny' || result.outcome === 'pending';
const text = (error: unknown) => (error instanceof Error ? error.message : String(error));
const isoTime = (ms: number) => (Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms));

/** Valid approvals (decision `approve`), in the order recorded. */
const validApprovals = (approvals: readonly ApprovalRecord[]) => approvals.filter((approval) => approval.valid && approval.decision === 'approve');

/** Distinct users with a valid approval, in the order they first approved. */
export function distinctApprovers(approvals: readonly ApprovalRecord[]): string[] {
  return [...new Set(validApprovals(approvals).map((approval) => approval.user))];
}

interface Check {
  result: GateResult;
  /** When a closed check may open by itself; undefined: it does not by itself. */
  until?: number | null;
}

/** Evaluates the runtime gate. Never throws. */
export function evaluateRuntimeGate(input: RuntimeGateInput): RuntimeGate {
  try {
    return evaluate(input);
  } catch (error) {
    const message = `the governance gate could not be evaluated: ${text(error)}`;
    return { open: false, message, until: null, results: [{ gate: 'change', name: 'gate', outcome: 'deny', message }], override: null };
  }
}

function evaluate(input: RuntimeGateInput): RuntimeGate {
  const { change, now, environment } = input;
  const checks: Check[] = [];

  // change
  const changeCheck = checkChange(input);
  checks.push(changeCheck);
  const usable = change !== null && changeCheck.result.outcome !== 'deny';
  const finalState = change !== null && (change.status.state === 'Canceled' || change.status.state === 'Closed');

  if (change && !finalState) {
    checks.push(checkApproval(change));
    const schedule = checkSchedule(change, now);
    if (schedule) checks.push(schedule);
  }

  // windows
  const window = checkWindows(input, usable ? change : null);
  checks.push(window.check);

  // policies
  for (const policy of input.policyResults) checks.push({ result: { ...policy, gate: 'policy' } });

  const results = checks.map((check) => check.result);
  const closed = checks.filter((check) => isClosed(check.result));
  if (closed.length > 0) {
    const untils = closed.map((check) => check.until);
    const until = untils.every((value): value is number => typeof value === 'number') ? Math.max(...untils) : null;
    return { open: false, message: gateMessage(closed[0]!.result), until, results, override: null };
  }
  const override = window.override;
  const primary = checks.find((check) => check.result.gate === 'approval') ?? changeCheck;
  const warnings = checks.filter((check) => check.result.outcome === 'warn' && check !== window.check).map((check) => gateMessage(check.result));
  const lead = override ? window.check.result.message : primary.result.message;
  const message = [lead, ...warnings].join('; ') || `no governance check holds this deployment in ${environment}`;
  return { open: true, message, until: null, results, override };
}

function gateMessage(result: GateResult): string {
  return result.gate === 'policy' ? `policy ${result.name}: ${result.message}` : result.message;
}

function checkChange(input: RuntimeGateInput): Check {
  const { change, changeRef, changeRequired, environment, scope } = input;
  if (!change) {
    if (changeRef) return { result: { gate: 'change', name: changeRef, outcome: 'deny', message: `change ${changeRef} named by this deployment does not exist` } };
    if (changeRequired) {
      return { result: { gate: 'change', name: environment, outcome: 'deny', message: `no change record authorizes this deployment (environment ${environment} requires one)` } };
    }
    return { result: { gate: 'change', name: environment, outcome: 'pass', message: `no change record is required in environment ${environment}` } };
  }
  const { name, spec, status } = change;
  const deny = (message: string): Check => ({ result: { gate: 'change', name, outcome: 'deny', message } });
  if (status.state === 'Canceled') return deny(`change ${name} is Canceled; a canceled change never authorizes a deployment`);
  if (status.state === 'Closed') return deny(`change ${name} is Closed; it no longer authorizes deployments`);
  if (status.environment && status.environment !== environment) return deny(`change ${name} is for environment ${status.environment}, not ${environment}`);
  const services = scope.services ?? [];
  if (spec.services.length > 0 && services.length > 0 && !services.some((service) => spec.services.includes(service))) {
    return deny(`change ${name} does not cover service ${services.join(', ')} (it lists ${spec.services.join(', ')})`);
  }
  return { result: { gate: 'change', name, outcome: 'pass', message: `change ${name} (${spec.type}) is ${status.state}` } };
}

function checkApproval(change: RuntimeGateChange): Check {
  const { name, status } = change;
  const result = (outcome: GateResult['outcome'], message: string): Check => ({ result: { gate: 'approval', name, outcome, message } });
  if (AUTHORIZED_STATES.has(status.state)) {
    const approvers = distinctApprovers(status.approvals);
    return result('pass', `change ${name} is authorized (${status.state})${approvers.length > 0 ? `, approved by ${approvers.join(', ')}` : ''}`);
  }
  const progress = approvalProgress(status.requiredApprovals, status.approvals);
  const rejection = progress.rejected;
  if (rejection) return result('deny', `change ${name} was rejected by ${rejection.user}${rejection.comment.trim() ? `: ${rejection.comment.trim()}` : ''}`);
  const missing = progress.requirements.filter((requirement) => !requirement.satisfied);
  const where = status.state === 'Authorize' ? '' : ` (state ${status.state})`;
  if (missing.length > 0) {
    return result('pending', `waiting for approval of change ${name}${where}: ${missing.map((requirement) => `${requirement.group} ${requirement.approvers.length} of ${requirement.count}`).join(', ')}`);
  }
  if (status.state === 'Authorize') return result('pending', `change ${name} is approved but not yet scheduled (state Authorize)`);
  return result('pending', `waiting for change ${name} to be authorized (state ${status.state})`);
}

function checkSchedule(change: RuntimeGateChange, now: number): Check | null {
  const { name, spec } = change;
  if (spec.plannedStart === undefined) return null;
  const start = Date.parse(spec.plannedStart);
  if (Number.isFinite(start) && now < start) {
    return { result: { gate: 'schedule', name, outcome: 'pending', message: `change ${name} is scheduled for ${isoTime(start)}` }, until: start };
  }
  const end = spec.plannedEnd === undefined ? NaN : Date.parse(spec.plannedEnd);
  if (Number.isFinite(end) && now >= end) {
    return { result: { gate: 'schedule', name, outcome: 'warn', message: `change ${name}'s planned end ${isoTime(end)} has passed` } };
  }
  return { result: { gate: 'schedule', name, outcome: 'pass', message: `change ${name}'s planned start ${isoTime(start)} has been reached` } };
}

function checkWindows(input: RuntimeGateInput, change: RuntimeGateChange | null): { check: Check; override: RuntimeGateOverride | null } {
  const { windows, scope, now } = input;
  const pending = (name: string, message: string, until: number | null): { check: Check; override: null } => ({
    check: { result: { gate: 'window', name, outcome: 'pending', message }, until },
    override: null,
  });
  let decision: ReturnType<typeof deploymentAllowed>;
  try {
    decision = deploymentAllowed(windows, scope, now);
  } catch (error) {
    return pending('windows', `the windows could not be evaluated: ${text(error)}`, null);
  }
  if (decision.allowed) return { check: { result: { gate: 'window', name: decision.window ?? 'windows', outcome: 'pass', message: decision.reason } }, override: null };

  const blackouts = activeWindows(windows, scope, now).filter((active) => active.window.spec.type === 'blackout');
  if (blackouts.length === 0 || change?.spec.type !== 'emergency') return pending(decision.window ?? 'windows', decision.reason, decision.until);

  const needed = Math.max(1, Math.floor(input.emergencyApprovals ?? DEFAULT_EMERGENCY_APPROVALS));
  const approvers = distinctApprovers(change.status.approvals);
  const names = [...new Set(blackouts.map((active) => active.window.name))].join(', ');
  if (approvers.length < needed) {
    return pending(
      decision.window ?? names,
      `${decision.reason}; an emergency change overrides a blackout with ${needed} approvals (change ${change.name} has ${approvers.length})`,
      decision.until,
    );
  }
  // The blackout is overridden; maintenance windows still apply.
  const rest = deploymentAllowed(windows.filter((window) => window.spec.type !== 'blackout'), scope, now);
  if (!rest.allowed) return pending(rest.window ?? 'windows', rest.reason, rest.until);
  return {
    check: { result: { gate: 'window', name: names, outcome: 'warn', message: `emergency override of blackout ${names} approved by ${approvers.join(', ')}` } },
    override: { window: names, approvers },
  };
}
