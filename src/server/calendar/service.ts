/**
 * Loads what the release calendar needs from the store and hands it to the pure core
 * (src/core/governance/calendar.ts). The calendar route and the CAB view both call `loadCalendar`,
 * so they show the same conflicts.
 */
import { approvalProgress } from '../../core/governance/approvals.js';
import { buildCalendar, type Calendar, type CalendarChange, type CalendarEnvironment, type CalendarGroup, type CalendarOptions, type CalendarService } from '../../core/governance/calendar.js';
import { changeRecordStatusSchema, type ApprovalRecord, type ApprovalRequirement } from '../../core/governance/records.js';
import { RISK_LEVELS, type RiskLevel } from '../../core/governance/risk.js';
import type { Window } from '../../core/governance/windows.js';
import { windowApplies } from '../../core/governance/windows.js';
import { CHANGE_STATES, CHANGE_TYPES, type ChangeState, type ChangeType } from '../../core/resources/change.js';
import type { KindName } from '../../core/resources/kinds.js';
import { windowSpecSchema } from '../../core/resources/window.js';
import type { ObjectRepository, StoredObject, Stores } from '../../ports/store.js';

const LIST_PAGE = 1000;

export interface CalendarQuery {
  fromMs: number;
  toMs: number;
  /** Only changes in this environment (and changes naming none: they may run there) and the windows that apply to it. */
  environment?: string;
}

/** A change without both planned times: not on the calendar, listed so it is not forgotten. */
export interface UnscheduledChange {
  name: string;
  title: string;
  type: string;
  state: string;
  environment?: string;
  services: string[];
  pendingGroups: string[];
}

export interface LoadedCalendar extends Calendar {
  unscheduled: UnscheduledChange[];
}

/** States in which a change can still be waiting for approvals; from Scheduled on it was authorized. */
const AWAITING_APPROVAL: readonly ChangeState[] = ['New', 'Assess', 'Authorize'];

async function listAll(objects: Pick<ObjectRepository, 'list'>, kind: KindName): Promise<StoredObject[]> {
  const all: StoredObject[] = [];
  let cursor: string | undefined;
  do {
    const page = await objects.list(kind, { limit: LIST_PAGE, ...(cursor ? { cursor } : {}) });
    all.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all;
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const oneOf = <T extends string>(values: readonly T[], value: unknown): T | undefined => (values as readonly unknown[]).includes(value) ? (value as T) : undefined;

/**
 * Groups with a requirement not met yet, counted by core `approvalProgress` (the rule the change
 * service authorizes with): `count` distinct users with a valid `approve` recorded for the group.
 */
export function pendingGroups(requirements: readonly ApprovalRequirement[], approvals: readonly ApprovalRecord[]): string[] {
  const unmet = approvalProgress(requirements, approvals).requirements.filter((requirement) => !requirement.satisfied);
  return [...new Set(unmet.map((requirement) => requirement.group))].sort();
}

/** The facts of one Change object, read tolerantly: a record that does not parse still shows up. */
function readChange(object: StoredObject) {
  const spec = object.spec;
  const parsed = changeRecordStatusSchema.safeParse(object.status ?? {});
  const raw = (object.status ?? {}) as Record<string, unknown>;
  const state: ChangeState = parsed.success ? parsed.data.state : (oneOf(CHANGE_STATES, raw.state) ?? 'New');
  const environment = parsed.success ? parsed.data.environment : text(raw.environment);
  const assessed = parsed.success ? parsed.data.risk?.level : undefined;
  const risk: RiskLevel | null = assessed ?? oneOf(RISK_LEVELS, spec.risk) ?? null;
  const pending = parsed.success && AWAITING_APPROVAL.includes(state) ? pendingGroups(parsed.data.requiredApprovals, parsed.data.approvals) : [];
  return {
    name: object.name,
    title: text(spec.title) ?? object.name,
    type: (oneOf(CHANGE_TYPES, spec.type) ?? 'normal') as ChangeType,
    state,
    ...(environment !== undefined ? { environment } : {}),
    services: strings(spec.services),
    businessServices: strings(spec.businessServices),
    plannedStart: text(spec.plannedStart),
    plannedEnd: text(spec.plannedEnd),
    risk,
    pendingGroups: pending,
  };
}

/**
 * Reads Changes, Windows, Services, Users (their groups) and Environments and builds the calendar
 * for [fromMs, toMs). Changes without both planned times are returned in `unscheduled` (filtered by
 * environment like the others, final ones left out).
 */
export async function loadCalendar(read: Pick<Stores, 'objects'>, query: CalendarQuery, options: CalendarOptions = {}): Promise<LoadedCalendar> {
  const objects = read.objects;
  const [changeObjects, windowObjects, serviceObjects, userObjects, environmentObjects] = await Promise.all(
    (['Change', 'Window', 'Service', 'User', 'Environment'] as const).map((kind) => listAll(objects, kind)),
  );
  const inEnvironment = (environment: string | undefined) => query.environment === undefined || environment === undefined || environment === query.environment;

  const changes: CalendarChange[] = [];
  const unscheduled: UnscheduledChange[] = [];
  for (const object of changeObjects!) {
    const { plannedStart, plannedEnd, ...change } = readChange(object);
    if (!inEnvironment(change.environment)) continue;
    if (plannedStart === undefined || plannedEnd === undefined) {
      if (change.state === 'Closed' || change.state === 'Canceled') continue;
      unscheduled.push({
        name: change.name, title: change.title, type: change.type, state: change.state,
        ...(change.environment !== undefined ? { environment: change.environment } : {}),
        services: change.services, pendingGroups: change.pendingGroups,
      });
      continue;
    }
    changes.push({ ...change, plannedStartMs: Date.parse(plannedStart), plannedEndMs: Date.parse(plannedEnd) });
  }

  const windows: Window[] = windowObjects!.flatMap((object) => {
    const parsed = windowSpecSchema.safeParse(object.spec);
    if (!parsed.success) return [];
    const window = { name: object.name, spec: parsed.data };
    return query.environment === undefined || windowApplies(window, { environment: query.environment }) ? [window] : [];
  });

  const services: CalendarService[] = serviceObjects!.map((object) => ({
    name: object.name,
    dependsOn: strings(object.spec.dependsOn),
    businessServices: strings(object.spec.businessServices),
  }));

  const members = new Map<string, string[]>();
  for (const user of userObjects!) for (const group of strings(user.spec.groups)) members.set(group, [...(members.get(group) ?? []), user.name]);
  const groups: CalendarGroup[] = [...members].map(([name, list]) => ({ name, members: list }));

  const environments: CalendarEnvironment[] = environmentObjects!.map((object) => ({ name: object.name, production: object.spec.production === true }));

  const calendar = buildCalendar({ fromMs: query.fromMs, toMs: query.toMs, changes, windows, services, groups, environments }, options);
  return { ...calendar, unscheduled: unscheduled.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
}
