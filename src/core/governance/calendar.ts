/**
 * Release calendar: planned changes, window occurrences and the conflicts between them. Pure: the
 * caller loads the objects and passes every instant in (no clock, no I/O), so the calendar route,
 * the CLI and the CAB view compute the same conflicts the same way. See docs/governance.md
 * ("Calendar and conflicts").
 *
 * Conflicts (only between changes that are not final, i.e. not Closed / Canceled):
 * - same-service / dependent-service / same-business-service: two changes in the same environment
 *   (or either without one: it may be the same) whose planned intervals overlap and that touch the
 *   same service, two services where one `dependsOn` the other (directly, either direction), or the
 *   same business service (the change's own plus those of its services). A pair gets only its most
 *   specific relation, in that order: a shared service nearly always shares business services too,
 *   and one conflict per pair is what a CAB wants to read.
 *   same-service is `blocking` when both changes name the same environment (the server keeps one
 *   active rollout per service and environment, so one of them cannot run as planned), `warning`
 *   otherwise; the other two are `warning`.
 * - outside-maintenance (`blocking`): maintenance windows apply to the change's scope and their
 *   occurrences (merged across windows, as the runtime gate does) do not cover its whole planned
 *   interval.
 * - inside-blackout: the planned interval overlaps an applicable blackout occurrence. `blocking`,
 *   or `warning` for an emergency change, which can run with the emergency override.
 * - group-overbooked (`warning`): more changes awaiting a group's approval start on one UTC day
 *   than the group can review: members × `approvalsPerMemberPerDay` (default 3). A group without
 *   members (or unknown) cannot approve anything, so one waiting change is already too many.
 *
 * Scope matching is windows.ts `windowApplies`: a change without an environment is matched by
 * environment-limited windows (fail closed).
 *
 * Never throws on odd input: changes with a non-finite planned start or end are listed in
 * `ignored`; an end at or before the start is taken as a one-millisecond interval at the start; a
 * repeated change name keeps the first; unknown services, groups or environments are treated as
 * having no dependencies, no members and no production flag; a window whose recurrence cannot be
 * expanded has no occurrences and carries an `error`. Ordering is deterministic: changes by planned
 * start then name, conflicts by time then id, windows by name.
 *
 * Completeness: only the changes passed in are compared. For every conflict of one change, load the
 * calendar over `conflictRange(start, end)` (its interval widened to whole UTC days, for the
 * per-day group capacity) and call `conflictsFor`.
 */
import { DateTime } from 'luxon';
import type { ChangeState, ChangeType } from '../resources/change.js';
import type { WindowScope, WindowSpec } from '../resources/window.js';
import type { RiskLevel } from './risk.js';
import { formatInZone, mergeOccurrences, occurrences, windowApplies, type DeploymentScope, type Occurrence, type Window } from './windows.js';

export const DEFAULT_APPROVALS_PER_MEMBER_PER_DAY = 3;
const DAY_MS = 24 * 3_600_000;

export const CONFLICT_TYPES = ['same-service', 'dependent-service', 'same-business-service', 'outside-maintenance', 'inside-blackout', 'group-overbooked'] as const;
export type ConflictType = (typeof CONFLICT_TYPES)[number];
export const CONFLICT_SEVERITIES = ['warning', 'blocking'] as const;
export type ConflictSeverity = (typeof CONFLICT_SEVERITIES)[number];

/** A Change as the calendar needs it (the server builds it from the Change object). */
export interface CalendarChange {
  name: string;
  title: string;
  type: ChangeType;
  state: ChangeState;
  environment?: string;
  services: string[];
  businessServices: string[];
  plannedStartMs: number;
  plannedEndMs: number;
  risk: RiskLevel | null;
  /** Groups whose approval is still needed. */
  pendingGroups: string[];
}

export interface CalendarService {
  name: string;
  dependsOn: string[];
  businessServices: string[];
}

export interface CalendarGroup {
  name: string;
  members: string[];
}

export interface CalendarEnvironment {
  name: string;
  production: boolean;
}

export interface CalendarInput {
  /** The range shown, half-open [fromMs, toMs). */
  fromMs: number;
  toMs: number;
  changes: readonly CalendarChange[];
  windows: readonly Window[];
  services: readonly CalendarService[];
  groups: readonly CalendarGroup[];
  environments: readonly CalendarEnvironment[];
}

export interface CalendarOptions {
  /** Approvals one group member is expected to give per day; default 3. */
  approvalsPerMemberPerDay?: number;
}

export interface CalendarOccurrence {
  startMs: number;
  endMs: number;
  /** ISO 8601 with the offset of the window's own zone. */
  localStart: string;
  localEnd: string;
}

export interface CalendarWindow {
  name: string;
  type: WindowSpec['type'];
  timeZone: string;
  scope: WindowScope;
  /** Occurrences overlapping the range, whole (not clipped), merged, earliest first. */
  occurrences: CalendarOccurrence[];
  /** Set when the window's recurrence could not be expanded (it then counts as having no occurrences). */
  error?: string;
}

export interface CalendarEntry extends CalendarChange {
  /** ISO 8601 (UTC) of the planned interval, for readers that do not want epoch milliseconds. */
  plannedStart: string;
  plannedEnd: string;
  /** The environment's production flag; null when the change names no (known) environment. */
  production: boolean | null;
  /** Ids of the conflicts this change is part of. */
  conflicts: string[];
}

export interface Conflict {
  /** Stable for the same facts: type, changes and the window / group / day involved. */
  id: string;
  type: ConflictType;
  severity: ConflictSeverity;
  /** Names of the changes involved, sorted. */
  changes: string[];
  services?: string[];
  window?: string;
  group?: string;
  /** When the conflict starts (overlap start, change start, blackout overlap, or UTC day). */
  atMs: number;
  /** One readable sentence naming the changes, windows, groups and times. */
  message: string;
}

export interface Calendar {
  fromMs: number;
  toMs: number;
  windows: CalendarWindow[];
  /** Changes whose planned interval overlaps the range (final ones included: they are history). */
  changes: CalendarEntry[];
  conflicts: Conflict[];
  /** Changes left out because their planned times are not usable. */
  ignored: Array<{ name: string; reason: string }>;
}

// ---------------------------------------------------------------------------------------------
// Formatting

const UTC = 'UTC';

/** "Fri 2026-03-27 10:00–11:00 UTC", "Fri 2026-03-27 16:00 – Mon 2026-03-30 06:00 Europe/Berlin (UTC+01:00/UTC+02:00)". */
export function formatSpan(startMs: number, endMs: number, zone: string): string {
  const start = DateTime.fromMillis(startMs, { zone }).setLocale('en-US');
  const end = DateTime.fromMillis(endMs, { zone }).setLocale('en-US');
  if (!start.isValid || !end.isValid) return `${new Date(startMs).toISOString()} – ${new Date(endMs).toISOString()}`;
  const sameDay = start.toISODate() === end.toISODate();
  const span = sameDay
    ? `${start.toFormat('ccc yyyy-LL-dd HH:mm')}–${end.toFormat('HH:mm')}`
    : `${start.toFormat('ccc yyyy-LL-dd HH:mm')} – ${end.toFormat('ccc yyyy-LL-dd HH:mm')}`;
  if (start.offset === 0 && end.offset === 0 && /^(Etc\/)?(UTC|GMT|Zulu|Universal)$/i.test(zone)) return `${span} ${zone}`;
  const offsets = start.offset === end.offset ? `UTC${start.toFormat('ZZ')}` : `UTC${start.toFormat('ZZ')}/UTC${end.toFormat('ZZ')}`;
  return `${span} ${zone} (${offsets})`;
}

const localIso = (ms: number, zone: string): string =>
  DateTime.fromMillis(ms, { zone }).toISO({ suppressMilliseconds: true }) ?? new Date(ms).toISOString();

const quoteAll = (names: readonly string[]) => names.map((name) => `"${name}"`).join(', ');
const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

// ---------------------------------------------------------------------------------------------
// The computation

const FINAL: readonly ChangeState[] = ['Closed', 'Canceled'];
const isFinal = (change: CalendarChange) => FINAL.includes(change.state);

interface Planned extends CalendarChange {
  /** The interval used for overlaps: end forced after start. */
  startMs: number;
  endMs: number;
  allBusinessServices: string[];
}

const overlapOf = (a: Occurrence, b: Occurrence): Occurrence | null => {
  const startMs = Math.max(a.startMs, b.startMs);
  const endMs = Math.min(a.endMs, b.endMs);
  return startMs < endMs ? { startMs, endMs } : null;
};

const sortedUnique = (values: Iterable<string>) => [...new Set(values)].sort();
const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);

function safeOccurrences(window: Window, fromMs: number, toMs: number): { list: Occurrence[]; error?: string } {
  try {
    return { list: occurrences(window, fromMs, toMs) };
  } catch (error) {
    return { list: [], error: error instanceof Error ? error.message : String(error) };
  }
}

/** Builds the calendar for `input.fromMs`..`input.toMs`. See the module comment for the rules. */
export function buildCalendar(input: CalendarInput, options: CalendarOptions = {}): Calendar {
  const fromMs = input.fromMs;
  const toMs = input.toMs;
  const perMember =
    typeof options.approvalsPerMemberPerDay === 'number' && Number.isFinite(options.approvalsPerMemberPerDay) && options.approvalsPerMemberPerDay >= 0
      ? options.approvalsPerMemberPerDay
      : DEFAULT_APPROVALS_PER_MEMBER_PER_DAY;
  const rangeValid = Number.isFinite(fromMs) && Number.isFinite(toMs) && toMs > fromMs;

  const services = new Map<string, CalendarService>();
  for (const service of input.services ?? []) if (!services.has(service.name)) services.set(service.name, service);
  const groups = new Map<string, string[]>();
  for (const group of input.groups ?? []) groups.set(group.name, sortedUnique([...(groups.get(group.name) ?? []), ...strings(group.members)]));
  const production = new Map<string, boolean>();
  for (const environment of input.environments ?? []) if (!production.has(environment.name)) production.set(environment.name, environment.production === true);

  // Windows: shown with their occurrences in the range, in their own zone.
  const windowErrors = new Map<string, string>();
  const windows: CalendarWindow[] = [...(input.windows ?? [])].sort(byName).map((window) => {
    const { list, error } = rangeValid ? safeOccurrences(window, fromMs, toMs) : { list: [] };
    if (error !== undefined) windowErrors.set(window.name, error);
    const zone = window.spec.timeZone;
    return {
      name: window.name,
      type: window.spec.type,
      timeZone: zone,
      scope: window.spec.scope ?? {},
      occurrences: list.map((o) => ({ startMs: o.startMs, endMs: o.endMs, localStart: localIso(o.startMs, zone), localEnd: localIso(o.endMs, zone) })),
      ...(error !== undefined ? { error } : {}),
    };
  });

  // Changes in the range.
  const ignored: Calendar['ignored'] = [];
  const seen = new Set<string>();
  const planned: Planned[] = [];
  for (const change of input.changes ?? []) {
    if (seen.has(change.name)) continue;
    seen.add(change.name);
    if (!Number.isFinite(change.plannedStartMs) || !Number.isFinite(change.plannedEndMs)) {
      ignored.push({ name: change.name, reason: 'planned start or end is not a valid time' });
      continue;
    }
    const startMs = change.plannedStartMs;
    const endMs = Math.max(change.plannedEndMs, startMs + 1);
    if (!rangeValid || !(startMs < toMs && endMs > fromMs)) continue;
    const own = strings(change.services);
    const allBusinessServices = sortedUnique([...strings(change.businessServices), ...own.flatMap((name) => strings(services.get(name)?.businessServices))]);
    planned.push({ ...change, services: own, businessServices: strings(change.businessServices), pendingGroups: strings(change.pendingGroups), startMs, endMs, allBusinessServices });
  }
  planned.sort((a, b) => a.startMs - b.startMs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  ignored.sort(byName);

  const conflicts: Conflict[] = [];
  const active = planned.filter((change) => !isFinal(change));

  // Pairs of changes.
  const dependsOn = (a: string, b: string) => strings(services.get(a)?.dependsOn).includes(b);
  for (let i = 0; i < active.length; i += 1) {
    for (let j = i + 1; j < active.length; j += 1) {
      const [a, b] = [active[i]!, active[j]!];
      if (a.environment !== undefined && b.environment !== undefined && a.environment !== b.environment) continue;
      const overlap = overlapOf(a, b);
      if (!overlap) continue;
      const pair = [a.name, b.name].sort();
      const when = formatSpan(overlap.startMs, overlap.endMs, UTC);
      const where = a.environment !== undefined && b.environment !== undefined ? ` in ${a.environment}` : '';
      const base = { changes: pair, atMs: overlap.startMs };

      const shared = a.services.filter((name) => b.services.includes(name));
      if (shared.length > 0) {
        const sameEnvironment = where !== '';
        const list = sortedUnique(shared);
        conflicts.push({
          ...base,
          id: `same-service:${pair.join(',')}`,
          type: 'same-service',
          severity: sameEnvironment ? 'blocking' : 'warning',
          services: list,
          message:
            `Changes ${quoteAll(pair)} both touch ${list.length === 1 ? 'service' : 'services'} ${list.join(', ')}${where} and overlap ${when}` +
            (sameEnvironment ? '; only one rollout per service and environment can run at a time' : '; one of them names no environment, so they may collide'),
        });
        continue;
      }
      const links: string[] = [];
      const involved = new Set<string>();
      for (const [x, y] of [[a, b], [b, a]] as const) {
        for (const s of x.services) {
          for (const t of y.services) {
            if (s !== t && dependsOn(s, t)) {
              links.push(`${s} (change "${x.name}") depends on ${t} (change "${y.name}")`);
              involved.add(s).add(t);
            }
          }
        }
      }
      if (links.length > 0) {
        conflicts.push({
          ...base,
          id: `dependent-service:${pair.join(',')}`,
          type: 'dependent-service',
          severity: 'warning',
          services: sortedUnique(involved),
          message: `Changes ${quoteAll(pair)}${where} touch dependent services (${sortedUnique(links).join('; ')}) and overlap ${when}`,
        });
        continue;
      }
      const business = a.allBusinessServices.filter((name) => b.allBusinessServices.includes(name));
      if (business.length > 0) {
        conflicts.push({
          ...base,
          id: `same-business-service:${pair.join(',')}`,
          type: 'same-business-service',
          severity: 'warning',
          services: business,
          message: `Changes ${quoteAll(pair)}${where} both affect business ${business.length === 1 ? 'service' : 'services'} ${business.join(', ')} and overlap ${when}`,
        });
      }
    }
  }

  // Windows against each change.
  const sortedWindows = [...(input.windows ?? [])].sort(byName).filter((window) => !windowErrors.has(window.name));
  for (const change of active) {
    const scope: DeploymentScope = {
      ...(change.environment !== undefined ? { environment: change.environment } : {}),
      services: change.services,
      businessServices: change.allBusinessServices,
    };
    const applicable = sortedWindows.filter((window) => windowApplies(window, scope));
    const plannedText = formatSpan(change.startMs, change.endMs, UTC);

    const maintenance = applicable.filter((window) => window.spec.type === 'maintenance');
    if (maintenance.length > 0) {
      const tagged = maintenance.flatMap((window) => safeOccurrences(window, change.startMs, change.endMs).list.map((o) => ({ window, ...o })));
      const uncoveredAt = firstUncovered(mergeOccurrences(tagged), change.startMs, change.endMs);
      if (uncoveredAt !== null) {
        // Name the window that covers part of the change when there is one: that is the one it runs past.
        const named = tagged.find((o) => o.startMs < change.endMs && o.endMs > change.startMs)?.window ?? maintenance[0]!;
        const zone = named.spec.timeZone;
        const names = maintenance.map((window) => window.name);
        conflicts.push({
          id: `outside-maintenance:${change.name}`,
          type: 'outside-maintenance',
          severity: 'blocking',
          changes: [change.name],
          window: named.name,
          atMs: change.startMs,
          message:
            `Change "${change.name}" is planned ${formatSpan(change.startMs, change.endMs, zone)} but is not entirely inside ` +
            `${names.length === 1 ? 'maintenance window' : 'maintenance windows'} ${quoteAll(names)}: uncovered from ${formatInZone(uncoveredAt, zone)}`,
        });
      }
    }

    for (const window of applicable.filter((w) => w.spec.type === 'blackout')) {
      const hits = safeOccurrences(window, change.startMs, change.endMs).list.flatMap((o) => {
        const overlap = overlapOf(o, change);
        return overlap ? [{ occurrence: o, overlap }] : [];
      });
      const first = hits[0];
      if (!first) continue;
      const emergency = change.type === 'emergency';
      const zone = window.spec.timeZone;
      conflicts.push({
        id: `inside-blackout:${change.name}:${window.name}`,
        type: 'inside-blackout',
        severity: emergency ? 'warning' : 'blocking',
        changes: [change.name],
        window: window.name,
        atMs: first.overlap.startMs,
        message:
          `Change "${change.name}" (planned ${plannedText}) overlaps blackout window "${window.name}" ` +
          `(${formatSpan(first.occurrence.startMs, first.occurrence.endMs, zone)}${hits.length > 1 ? ` and ${plural(hits.length - 1, 'more occurrence')}` : ''})` +
          (emergency ? '; as an emergency change it needs the emergency override to run then' : '; it cannot run then'),
      });
    }
  }

  // Approver groups: changes awaiting each group, per UTC day of their planned start.
  const waiting = new Map<string, Map<string, Planned[]>>();
  for (const change of active) {
    const day = new Date(change.startMs).toISOString().slice(0, 10);
    for (const group of sortedUnique(change.pendingGroups)) {
      const days = waiting.get(group) ?? new Map<string, Planned[]>();
      waiting.set(group, days);
      days.set(day, [...(days.get(day) ?? []), change]);
    }
  }
  for (const [group, days] of waiting) {
    const members = groups.get(group) ?? [];
    const capacity = members.length * perMember;
    for (const [day, list] of days) {
      if (list.length <= capacity && members.length > 0) continue;
      const names = list.map((change) => change.name).sort();
      const dayStart = Date.parse(`${day}T00:00:00Z`);
      const dayLabel = `${DateTime.fromMillis(dayStart, { zone: UTC }).setLocale('en-US').toFormat('ccc yyyy-LL-dd')} (UTC)`;
      conflicts.push({
        id: `group-overbooked:${group}:${day}`,
        type: 'group-overbooked',
        severity: 'warning',
        changes: names,
        group,
        atMs: dayStart,
        message:
          members.length === 0
            ? `Group "${group}" has no members, but ${plural(list.length, 'change')} starting on ${dayLabel} ${list.length === 1 ? 'awaits' : 'await'} its approval: ${names.join(', ')}`
            : `Group "${group}" has ${plural(list.length, 'change')} awaiting its approval starting on ${dayLabel}, more than it can review ` +
              `(${plural(members.length, 'member')} × ${perMember} a day = ${capacity}): ${names.join(', ')}`,
      });
    }
  }

  conflicts.sort((a, b) => a.atMs - b.atMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const byChange = new Map<string, string[]>();
  for (const conflict of conflicts) for (const name of conflict.changes) byChange.set(name, [...(byChange.get(name) ?? []), conflict.id]);

  const changes: CalendarEntry[] = planned.map((change) => ({
    name: change.name,
    title: change.title,
    type: change.type,
    state: change.state,
    ...(change.environment !== undefined ? { environment: change.environment } : {}),
    services: change.services,
    businessServices: change.businessServices,
    plannedStartMs: change.plannedStartMs,
    plannedEndMs: change.plannedEndMs,
    plannedStart: new Date(change.plannedStartMs).toISOString(),
    plannedEnd: new Date(change.plannedEndMs).toISOString(),
    risk: change.risk ?? null,
    pendingGroups: change.pendingGroups,
    production: change.environment !== undefined ? (production.get(change.environment) ?? null) : null,
    conflicts: byChange.get(change.name) ?? [],
  }));

  return { fromMs, toMs, windows, changes, conflicts, ignored };
}

/** The first instant of [startMs, endMs) that no interval of `merged` (sorted, merged) covers; null when covered. */
function firstUncovered(merged: readonly Occurrence[], startMs: number, endMs: number): number | null {
  let cursor = startMs;
  for (const o of merged) {
    if (o.startMs > cursor) break;
    if (o.endMs > cursor) cursor = o.endMs;
    if (cursor >= endMs) return null;
  }
  return cursor < endMs ? cursor : null;
}

/** The conflicts `changeName` is part of, in calendar order. */
export function conflictsFor(changeName: string, calendar: Pick<Calendar, 'conflicts'>): Conflict[] {
  return calendar.conflicts.filter((conflict) => conflict.changes.includes(changeName));
}

/**
 * The range to build a calendar over to see every conflict of a change planned [startMs, endMs):
 * the interval widened to whole UTC days, since approver capacity is counted per UTC day.
 */
export function conflictRange(startMs: number, endMs: number): { fromMs: number; toMs: number } {
  const fromMs = Math.floor(startMs / DAY_MS) * DAY_MS;
  const toMs = Math.max(fromMs + DAY_MS, Math.ceil(Math.max(endMs, startMs + 1) / DAY_MS) * DAY_MS);
  return { fromMs, toMs };
}
