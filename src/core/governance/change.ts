/**
 * Change-record state machine (ServiceNow-like). Pure: time comes in as `ctx.now` (ms since epoch).
 *
 * States: New → Assess → Authorize → Scheduled → Implement → Review → Closed,
 * and Canceled from any non-final state. Closed and Canceled are final.
 *
 * Transitions per type (besides "→ Canceled" from every non-final state):
 *   normal:    New→Assess, Assess→Authorize, Authorize→Scheduled, Scheduled→Implement,
 *              Implement→Review, Review→Closed; rejections Assess→New, Authorize→New (reason required)
 *   emergency: as normal, plus New→Authorize (may skip Assess)
 *   standard:  pre-approved: New→Scheduled, Scheduled→Implement, Implement→Review, Review→Closed
 *
 * Required fields per target state (missing ones are named in the error):
 *   Assess    normal: justification, implementationPlan, backoutPlan, testPlan
 *             emergency: justification, implementationPlan, backoutPlan
 *   Authorize same as Assess for the type
 *   Scheduled services (at least one), plannedStart, plannedEnd with plannedStart < plannedEnd;
 *             standard changes also need implementationPlan and backoutPlan (they skip Assess)
 *   Closed    closeCode (successful | successful-with-issues | unsuccessful); closeNotes unless
 *             closeCode is "successful". Only from Review.
 *   Canceled  a reason; back to New: a reason
 *
 * Approval gating (who must approve before Authorize → Scheduled) belongs to the Approval
 * resource and its service, not to this machine.
 */
import {
  changeSpecSchema,
  type ChangeSpec,
  type ChangeState,
  type ChangeStatus,
  type ChangeType,
} from '../resources/change.js';

export interface Change {
  spec: ChangeSpec;
  status: ChangeStatus;
}

export interface ChangeContext {
  actor: string;
  /** Milliseconds since the epoch. */
  now: number;
  reason?: string;
}

export interface ChangeTransitionEvent {
  type: `change.${ChangeState}`;
  actor: string;
  /** ISO 8601 of ctx.now. */
  at: string;
  from: ChangeState;
  to: ChangeState;
  reason?: string;
}

export interface ChangeEditedEvent {
  type: 'change.Edited';
  actor: string;
  at: string;
  state: ChangeState;
  /** Spec fields whose value changed. */
  fields: string[];
  approvalsInvalidated: boolean;
  reason?: string;
}

export type ChangeErrorCode =
  | 'final-state'
  | 'transition-not-allowed'
  | 'missing-fields'
  | 'invalid-fields'
  | 'read-only-fields'
  | 'invalid-context';

export interface ChangeError {
  code: ChangeErrorCode;
  message: string;
  /** Field names the error is about (empty when it is about the transition itself). */
  fields: string[];
}

export type TransitionResult =
  | { ok: true; change: Change; event: ChangeTransitionEvent }
  | { ok: false; error: ChangeError };

export type EditResult =
  | { ok: true; change: Change; event: ChangeEditedEvent; changedFields: string[]; approvalsInvalidated: boolean }
  | { ok: false; error: ChangeError };

export const FINAL_STATES: readonly ChangeState[] = ['Closed', 'Canceled'];

export const isFinalState = (state: ChangeState): boolean => FINAL_STATES.includes(state);

/** Allowed forward/back transitions per type, excluding "→ Canceled" (allowed from every non-final state). */
export const CHANGE_TRANSITIONS: Readonly<Record<ChangeType, Readonly<Partial<Record<ChangeState, readonly ChangeState[]>>>>> = {
  normal: {
    New: ['Assess'],
    Assess: ['Authorize', 'New'],
    Authorize: ['Scheduled', 'New'],
    Scheduled: ['Implement'],
    Implement: ['Review'],
    Review: ['Closed'],
  },
  emergency: {
    New: ['Assess', 'Authorize'],
    Assess: ['Authorize', 'New'],
    Authorize: ['Scheduled', 'New'],
    Scheduled: ['Implement'],
    Implement: ['Review'],
    Review: ['Closed'],
  },
  standard: {
    New: ['Scheduled'],
    Scheduled: ['Implement'],
    Implement: ['Review'],
    Review: ['Closed'],
  },
};

/** Target states this change type may move to from `from` (including Canceled when not final). */
export function allowedTransitions(type: ChangeType, from: ChangeState): ChangeState[] {
  if (isFinalState(from)) return [];
  return [...(CHANGE_TRANSITIONS[type][from] ?? []), 'Canceled'];
}

/**
 * Spec fields that cannot change once the change is Scheduled (i.e. authorized) or later.
 * Changing any of them before that invalidates approvals.
 */
export const READ_ONLY_FROM_SCHEDULED = [
  'type',
  'services',
  'businessServices',
  'implementationPlan',
  'backoutPlan',
  'testPlan',
  'plannedStart',
  'plannedEnd',
  'risk',
] as const satisfies readonly (keyof ChangeSpec)[];

/** Fields whose change, before authorization, makes existing approvals expire. */
export const APPROVAL_MATERIAL_FIELDS = [...READ_ONLY_FROM_SCHEDULED, 'justification'] as const satisfies readonly (keyof ChangeSpec)[];

const LOCKED_STATES: readonly ChangeState[] = ['Scheduled', 'Implement', 'Review'];

const PLAN_FIELDS = {
  normal: ['justification', 'implementationPlan', 'backoutPlan', 'testPlan'],
  emergency: ['justification', 'implementationPlan', 'backoutPlan'],
  standard: [],
} as const satisfies Record<ChangeType, readonly (keyof ChangeSpec)[]>;

const blank = (value: unknown): boolean =>
  value === undefined || value === null || (typeof value === 'string' && value.trim() === '') || (Array.isArray(value) && value.length === 0);

/** Problems that prevent `spec` from entering `to` from `from`: missing field names, or invalid ones with a message. */
function requirementsFor(spec: ChangeSpec, from: ChangeState, to: ChangeState, reason: string | undefined): ChangeError | null {
  const missing: string[] = [];
  const need = (field: keyof ChangeSpec) => {
    if (blank(spec[field])) missing.push(field);
  };
  switch (to) {
    case 'Assess':
    case 'Authorize':
      PLAN_FIELDS[spec.type].forEach(need);
      break;
    case 'Scheduled':
      if (spec.type === 'standard') (['implementationPlan', 'backoutPlan'] as const).forEach(need);
      need('services');
      need('plannedStart');
      need('plannedEnd');
      break;
    case 'Closed':
      need('closeCode');
      if (spec.closeCode !== undefined && spec.closeCode !== 'successful') need('closeNotes');
      break;
    case 'Canceled':
      if (blank(reason)) missing.push('reason');
      break;
    case 'New':
      if (from !== 'New' && blank(reason)) missing.push('reason');
      break;
    default:
      break;
  }
  if (missing.length > 0) {
    return { code: 'missing-fields', message: `${to} needs ${missing.join(', ')}`, fields: missing };
  }
  if (to === 'Scheduled' && Date.parse(spec.plannedStart!) >= Date.parse(spec.plannedEnd!)) {
    return { code: 'invalid-fields', message: 'plannedStart must be before plannedEnd', fields: ['plannedStart', 'plannedEnd'] };
  }
  return null;
}

function checkContext(ctx: ChangeContext): ChangeError | null {
  if (blank(ctx.actor)) return { code: 'invalid-context', message: 'actor is required', fields: ['actor'] };
  if (typeof ctx.now !== 'number' || !Number.isFinite(ctx.now)) {
    return { code: 'invalid-context', message: 'now must be a finite number of milliseconds', fields: ['now'] };
  }
  return null;
}

/** A fresh change in state New (the spec is validated and defaulted by zod). */
export function createChange(spec: unknown): { ok: true; change: Change } | { ok: false; error: ChangeError } {
  const parsed = changeSpecSchema.safeParse(spec);
  if (!parsed.success) return { ok: false, error: specError(parsed.error.issues) };
  return { ok: true, change: { spec: parsed.data, status: { state: 'New' } } };
}

function specError(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): ChangeError {
  const fields = [...new Set(issues.map((issue) => issue.path.map(String).join('.') || '(spec)'))];
  return {
    code: 'invalid-fields',
    message: issues.map((issue) => `${issue.path.map(String).join('.') || '(spec)'}: ${issue.message}`).join('; '),
    fields,
  };
}

/** Move the change to `to`, or say why it cannot move. Never mutates its input. */
export function transition(change: Change, to: ChangeState, ctx: ChangeContext): TransitionResult {
  const contextError = checkContext(ctx);
  if (contextError) return { ok: false, error: contextError };
  const from = change.status.state;
  if (isFinalState(from)) {
    return { ok: false, error: { code: 'final-state', message: `change is ${from}; ${from} is final`, fields: [] } };
  }
  const allowed = allowedTransitions(change.spec.type, from);
  if (!allowed.includes(to)) {
    return {
      ok: false,
      error: {
        code: 'transition-not-allowed',
        message: `a ${change.spec.type} change cannot go from ${from} to ${to} (allowed: ${allowed.join(', ')})`,
        fields: [],
      },
    };
  }
  const problem = requirementsFor(change.spec, from, to, ctx.reason);
  if (problem) return { ok: false, error: problem };
  const at = new Date(ctx.now).toISOString();
  const event: ChangeTransitionEvent = { type: `change.${to}`, actor: ctx.actor, at, from, to };
  if (ctx.reason !== undefined) event.reason = ctx.reason;
  return { ok: true, change: { spec: change.spec, status: { ...change.status, state: to, stateEnteredAt: at } }, event };
}

const sameValue = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Apply a partial spec edit.
 * - Closed / Canceled: every edit is refused.
 * - Scheduled, Implement, Review: changing any READ_ONLY_FROM_SCHEDULED field is refused, naming each
 *   (setting a field to its current value is not a change). Other fields (evidence, closeCode, ...) stay editable.
 * - `type` may change only while New (the state must stay reachable for the type).
 * - New, Assess, Authorize: changing an APPROVAL_MATERIAL_FIELDS field returns approvalsInvalidated: true;
 *   the caller expires existing approvals. The state does not move.
 * A key set to `undefined` in the patch clears that optional field.
 */
export function editChange(change: Change, patch: Partial<ChangeSpec>, ctx: ChangeContext): EditResult {
  const contextError = checkContext(ctx);
  if (contextError) return { ok: false, error: contextError };
  const state = change.status.state;
  if (isFinalState(state)) {
    return { ok: false, error: { code: 'final-state', message: `change is ${state}; it can no longer be edited`, fields: [] } };
  }
  const current = change.spec as Record<string, unknown>;
  const changedFields = Object.keys(patch).filter((key) => !sameValue(current[key], (patch as Record<string, unknown>)[key]));

  if (LOCKED_STATES.includes(state)) {
    const locked = changedFields.filter((field) => (READ_ONLY_FROM_SCHEDULED as readonly string[]).includes(field));
    if (locked.length > 0) {
      return {
        ok: false,
        error: {
          code: 'read-only-fields',
          message: `${locked.join(', ')} ${locked.length === 1 ? 'is' : 'are'} read-only once the change is authorized (state ${state})`,
          fields: locked,
        },
      };
    }
  } else if (changedFields.includes('type') && state !== 'New') {
    return { ok: false, error: { code: 'read-only-fields', message: `type can change only while New (state ${state})`, fields: ['type'] } };
  }

  const merged: Record<string, unknown> = { ...current, ...patch };
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  const parsed = changeSpecSchema.safeParse(merged);
  if (!parsed.success) return { ok: false, error: specError(parsed.error.issues) };

  const approvalsInvalidated =
    !LOCKED_STATES.includes(state) && changedFields.some((field) => (APPROVAL_MATERIAL_FIELDS as readonly string[]).includes(field));
  const event: ChangeEditedEvent = {
    type: 'change.Edited',
    actor: ctx.actor,
    at: new Date(ctx.now).toISOString(),
    state,
    fields: changedFields,
    approvalsInvalidated,
  };
  if (ctx.reason !== undefined) event.reason = ctx.reason;
  return { ok: true, change: { spec: parsed.data, status: change.status }, event, changedFields, approvalsInvalidated };
}
