/**
 * The calendar's pure logic: which days a week or month view shows in a zone, the items (window
 * occurrences, planned changes) from the API's answer, and where each item lands in each day.
 *
 * Times are instants (epoch ms) placed into days of the viewer's zone with luxon. Days are real
 * days: a DST day is 23 or 25 hours long. The week grid positions by wall-clock time of day (so a
 * 22:00 item sits on the 22:00 line of every column); the skipped hour of a spring-forward day is
 * reported as a gap, the repeated hour of a fall-back day as a note, and an item spanning midnight
 * is cut into one segment per day, each saying whether it continues before or after.
 */
import { DateTime, IANAZone } from 'luxon';
import type { CalendarChangeWire, CalendarConflictWire, CalendarResponse, CalendarWindowWire } from '../../../../src/client/calendar.js';

export type CalendarView = 'week' | 'month';
export const VIEWS: readonly CalendarView[] = ['week', 'month'];
const HOUR_MS = 3_600_000;
const DAY_MINUTES = 24 * 60;

export const isZone = (zone: string): boolean => IANAZone.isValidZone(zone);

/** The browser's zone (falls back to UTC when it is not an IANA zone luxon knows). */
export function browserZone(): string {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return zone && isZone(zone) ? zone : 'UTC';
}

/** IANA zones for the selector: the runtime's list, with UTC and the given zones in it. */
export function zoneOptions(...must: string[]): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  const list = intl.supportedValuesOf ? intl.supportedValuesOf('timeZone') : [];
  return [...new Set([...list, 'UTC', ...must])].sort();
}

export interface CalendarDay {
  /** YYYY-MM-DD in the zone. */
  date: string;
  startMs: number;
  endMs: number;
  /** Real hours in this day: 24, or 23 / 25 on a DST change. */
  hours: number;
  /** In the month the view is about (month view); always true in a week view. */
  inMonth: boolean;
  /** The wall-clock minutes that do not exist on a spring-forward day, e.g. [120, 180). */
  gap?: { fromMinute: number; toMinute: number };
  /** A DST change on this day, e.g. "25-hour day: clocks go back 1 h at 03:00". */
  dstNote?: string;
}

export interface CalendarRange {
  view: CalendarView;
  zone: string;
  /** The anchor date (YYYY-MM-DD) the view was asked for. */
  anchor: string;
  fromMs: number;
  toMs: number;
  days: CalendarDay[];
  /** Heading, e.g. "23 – 29 Nov 2026" or "November 2026". */
  title: string;
  /** Anchors of the previous and next week / month. */
  previous: string;
  next: string;
}

/** A date as YYYY-MM-DD in `zone`. */
export const dateIn = (ms: number, zone: string): string => DateTime.fromMillis(ms, { zone }).toISODate()!;

/** A valid YYYY-MM-DD, else undefined. */
export function parseAnchor(value: string | null | undefined, zone: string): string | undefined {
  if (!value || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined;
  return DateTime.fromISO(value, { zone }).isValid ? value : undefined;
}

function describeDay(start: DateTime, inMonth: boolean): CalendarDay {
  const end = start.plus({ days: 1 });
  const hours = Math.round((end.toMillis() - start.toMillis()) / HOUR_MS);
  const day: CalendarDay = { date: start.toISODate()!, startMs: start.toMillis(), endMs: end.toMillis(), hours, inMonth };
  if (hours !== 24) {
    // Find the hour whose offset differs from the day's start.
    let at = start;
    while (at < end && at.offset === start.offset) at = at.plus({ hours: 1 });
    const shift = Math.abs(at.offset - start.offset);
    if (hours < 24) {
      const toMinute = at.hour * 60 + at.minute;
      day.gap = { fromMinute: toMinute - shift, toMinute };
      day.dstNote = `${hours}-hour day: clocks go forward ${shift / 60} h at ${hhmm(toMinute - shift)}`;
    } else {
      day.dstNote = `${hours}-hour day: clocks go back ${shift / 60} h at ${hhmm(at.hour * 60 + at.minute + shift)}`;
    }
  }
  return day;
}

const hhmm = (minutes: number) => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

/** The days a week (Monday first) or month view (whole weeks around the month) shows around `anchor`. */
export function calendarRange(view: CalendarView, anchor: string, zone: string): CalendarRange {
  const day = DateTime.fromISO(anchor, { zone }).startOf('day');
  const first = view === 'week' ? day.startOf('week') : day.startOf('month').startOf('week');
  const last = view === 'week' ? first.plus({ days: 6 }) : day.endOf('month').startOf('week').plus({ days: 6 });
  const days: CalendarDay[] = [];
  for (let at = first; at <= last; at = at.plus({ days: 1 })) days.push(describeDay(at.startOf('day'), view === 'week' || at.month === day.month));
  const en = (dt: DateTime) => dt.setLocale('en-GB');
  const title =
    view === 'month'
      ? en(day).toFormat('LLLL yyyy')
      : first.month === last.month
        ? `${first.day} – ${en(last).toFormat('d LLL yyyy')}`
        : first.year === last.year
          ? `${en(first).toFormat('d LLL')} – ${en(last).toFormat('d LLL yyyy')}`
          : `${en(first).toFormat('d LLL yyyy')} – ${en(last).toFormat('d LLL yyyy')}`;
  const step = view === 'week' ? { weeks: 1 } : { months: 1 };
  return {
    view,
    zone,
    anchor: day.toISODate()!,
    fromMs: first.toMillis(),
    toMs: last.plus({ days: 1 }).startOf('day').toMillis(),
    days,
    title,
    previous: day.minus(step).toISODate()!,
    next: day.plus(step).toISODate()!,
  };
}

// ---------------------------------------------------------------------------------------------
// Items

export type ItemKind = 'blackout' | 'maintenance' | 'change';
export type Severity = 'blocking' | 'warning';

export interface CalendarItem {
  /** Unique: `window:<name>:<startMs>` or `change:<name>`. */
  id: string;
  kind: ItemKind;
  name: string;
  startMs: number;
  endMs: number;
  /** Short text inside the grid. */
  label: string;
  /** Windows: the occurrence in the window's own zone, e.g. "Fri 22:00–02:00 Europe/Berlin". */
  ownTime?: string;
  /** The worst conflict of a change (or of conflicts naming this window). */
  severity?: Severity;
  /** Conflict messages concerning the item. */
  conflictMessages: string[];
  /** The conflicts themselves (severity per message). */
  conflicts: CalendarConflictWire[];
  /** One line per fact, for the tooltip / details. */
  details: string[];
  change?: CalendarChangeWire;
  window?: CalendarWindowWire;
}

/** `Fri 22:00–02:00 Europe/Berlin`, `Fri 16:00–Mon 06:00 Europe/Berlin`; from ISO strings carrying the zone's offset. */
export function ownZoneSpan(localStart: string, localEnd: string, zone: string): string {
  const start = DateTime.fromISO(localStart, { zone }).setLocale('en-GB');
  const end = DateTime.fromISO(localEnd, { zone }).setLocale('en-GB');
  if (!start.isValid || !end.isValid) return `${localStart} – ${localEnd} ${zone}`;
  const days = end.startOf('day').diff(start.startOf('day'), 'days').days;
  const short = days === 0 || (days === 1 && end.toMillis() - start.toMillis() < 24 * HOUR_MS);
  const endText = short ? end.toFormat('HH:mm') : days < 7 ? end.toFormat('ccc HH:mm') : end.toFormat('ccc d LLL HH:mm');
  return `${start.toFormat('ccc HH:mm')}–${endText} ${zone}`;
}

/** An instant span in the viewer's zone: `Fri 27 Nov 22:00 – Sat 28 Nov 02:00`. */
export function viewerSpan(startMs: number, endMs: number, zone: string): string {
  const start = DateTime.fromMillis(startMs, { zone }).setLocale('en-GB');
  const end = DateTime.fromMillis(endMs, { zone }).setLocale('en-GB');
  const sameDay = start.toISODate() === end.toISODate();
  return `${start.toFormat('ccc d LLL HH:mm')} – ${sameDay ? end.toFormat('HH:mm') : end.toFormat('ccc d LLL HH:mm')}`;
}

const worst = (severities: readonly string[]): Severity | undefined =>
  severities.includes('blocking') ? 'blocking' : severities.length > 0 ? 'warning' : undefined;

/** Window occurrences and planned changes as items, earliest first (windows before changes at the same time). */
export function calendarItems(calendar: CalendarResponse, zone: string): CalendarItem[] {
  const byId = new Map(calendar.conflicts.map((conflict) => [conflict.id, conflict]));
  const items: CalendarItem[] = [];
  for (const window of calendar.windows) {
    const kind: ItemKind = window.type === 'blackout' ? 'blackout' : 'maintenance';
    const scope = scopeText(window.scope);
    const concerning = calendar.conflicts.filter((conflict) => conflict.window === window.name);
    for (const occurrence of window.occurrences) {
      const ownTime = ownZoneSpan(occurrence.localStart, occurrence.localEnd, window.timeZone);
      const related = concerning.filter((conflict) => overlapsChange(calendar, conflict, occurrence));
      const severity = worst(related.map((c) => c.severity));
      items.push({
        id: `window:${window.name}:${occurrence.startMs}`,
        kind,
        name: window.name,
        startMs: occurrence.startMs,
        endMs: occurrence.endMs,
        label: `${window.name} (${kind})`,
        ownTime,
        ...(severity ? { severity } : {}),
        conflictMessages: related.map((c) => c.message),
        conflicts: related,
        details: [
          `${kind} window ${window.name}`,
          `${viewerSpan(occurrence.startMs, occurrence.endMs, zone)} ${zone}`,
          ...(window.timeZone !== zone ? [`Window's own zone: ${ownTime}`] : [`In its zone: ${ownTime}`]),
          ...(typeof window.description === 'string' && window.description ? [window.description] : []),
          `Applies to: ${scope}`,
        ],
        window,
      });
    }
  }
  for (const change of calendar.changes) {
    const conflicts = change.conflicts.map((id) => byId.get(id)).filter((c): c is CalendarConflictWire => c !== undefined);
    const severity = worst(conflicts.map((c) => c.severity));
    items.push({
      id: `change:${change.name}`,
      kind: 'change',
      name: change.name,
      startMs: change.plannedStartMs,
      endMs: Math.max(change.plannedEndMs, change.plannedStartMs + 1),
      label: change.title && change.title !== change.name ? `${change.name} ${change.title}` : change.name,
      ...(severity ? { severity } : {}),
      conflictMessages: conflicts.map((c) => c.message),
      conflicts,
      details: [
        `${change.type} change ${change.name}: ${change.title}`,
        `${viewerSpan(change.plannedStartMs, change.plannedEndMs, zone)} ${zone}`,
        [change.state, `risk ${change.risk ?? '—'}`, change.services.length > 0 ? change.services.join(', ') : 'no services', ...(change.environment ? [`env ${change.environment}${change.production ? ' (production)' : ''}`] : [])].join(' · '),
        ...(change.pendingGroups.length > 0 ? [`Awaiting approval of ${change.pendingGroups.join(', ')}`] : []),
        ...(conflicts.length > 0 ? [`${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'} (${severity})`] : []),
      ],
      change,
    });
  }
  const order = (item: CalendarItem) => (item.kind === 'change' ? 1 : 0);
  return items.sort((a, b) => a.startMs - b.startMs || order(a) - order(b) || b.endMs - a.endMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function overlapsChange(calendar: CalendarResponse, conflict: CalendarConflictWire, occurrence: { startMs: number; endMs: number }): boolean {
  return conflict.changes.some((name) => {
    const change = calendar.changes.find((c) => c.name === name);
    return change !== undefined && change.plannedStartMs < occurrence.endMs && change.plannedEndMs > occurrence.startMs;
  });
}

export function scopeText(scope: Record<string, unknown>): string {
  const parts = (['environments', 'services', 'businessServices'] as const).flatMap((key) => {
    const values = Array.isArray(scope[key]) ? (scope[key] as unknown[]).filter((v): v is string => typeof v === 'string') : [];
    const label = key === 'businessServices' ? 'business services' : key;
    return values.length > 0 ? [`${label} ${values.join(', ')}`] : [];
  });
  return parts.length > 0 ? parts.join('; ') : 'everything';
}

// ---------------------------------------------------------------------------------------------
// Placing items into days

export interface DaySegment {
  item: CalendarItem;
  /** The part of the item inside this day. */
  startMs: number;
  endMs: number;
  /** Wall-clock minutes since the day's midnight (0–1440) for the week grid. */
  topMinute: number;
  bottomMinute: number;
  /** The item began on an earlier day / goes on into a later day. */
  continuesBefore: boolean;
  continuesAfter: boolean;
  /** Side-by-side placement of overlapping segments: lane of `lanes`. */
  lane: number;
  lanes: number;
}

/** Wall-clock minutes since `day`'s midnight for an instant inside it; the day's end is 1440. */
function wallMinute(ms: number, day: CalendarDay, zone: string): number {
  if (ms >= day.endMs) return DAY_MINUTES;
  const at = DateTime.fromMillis(ms, { zone });
  return at.hour * 60 + at.minute + at.second / 60;
}

/**
 * Each day's segments, earliest first, with lanes: segments that overlap in time share a cluster
 * and each takes the first free lane, so overlapping items stand side by side.
 */
export function placeItems(items: readonly CalendarItem[], days: readonly CalendarDay[], zone: string): DaySegment[][] {
  return days.map((day) => {
    const segments: DaySegment[] = [];
    for (const item of items) {
      if (item.endMs <= day.startMs || item.startMs >= day.endMs) continue;
      const startMs = Math.max(item.startMs, day.startMs);
      const endMs = Math.min(item.endMs, day.endMs);
      const topMinute = wallMinute(startMs, day, zone);
      // On a fall-back day, a segment wholly in the repeated hour could end "before" it starts on the wall clock.
      const bottomMinute = Math.max(wallMinute(endMs, day, zone), topMinute + Math.min(60, (endMs - startMs) / 60_000));
      segments.push({ item, startMs, endMs, topMinute, bottomMinute: Math.min(DAY_MINUTES, bottomMinute), continuesBefore: item.startMs < day.startMs, continuesAfter: item.endMs > day.endMs, lane: 0, lanes: 1 });
    }
    assignLanes(segments);
    return segments;
  });
}

function assignLanes(segments: DaySegment[]): void {
  let cluster: DaySegment[] = [];
  let clusterEnd = -Infinity;
  const close = () => {
    const lanes = Math.max(1, ...cluster.map((s) => s.lane + 1));
    for (const segment of cluster) segment.lanes = lanes;
    cluster = [];
  };
  for (const segment of segments) {
    if (segment.startMs >= clusterEnd) {
      close();
      clusterEnd = -Infinity;
    }
    const taken = new Set(cluster.filter((other) => other.endMs > segment.startMs).map((other) => other.lane));
    let lane = 0;
    while (taken.has(lane)) lane++;
    segment.lane = lane;
    cluster.push(segment);
    clusterEnd = Math.max(clusterEnd, segment.endMs);
  }
  close();
}

/** The segment's time on its day: "22:00–24:00", "00:00–02:00", "all day". */
export function segmentTime(segment: DaySegment, zone: string): string {
  if (segment.continuesBefore && segment.continuesAfter) return 'all day';
  const time = (ms: number, end: boolean) => (end && segment.continuesAfter ? '24:00' : DateTime.fromMillis(ms, { zone }).toFormat('HH:mm'));
  return `${time(segment.startMs, false)}–${time(segment.endMs, true)}`;
}

/** Agenda groups: each day with the items overlapping it (items spanning days appear on each day). */
export function agendaDays(items: readonly CalendarItem[], days: readonly CalendarDay[], zone: string): { day: CalendarDay; segments: DaySegment[] }[] {
  const placed = placeItems(items, days, zone);
  return days.map((day, index) => ({ day, segments: placed[index]! })).filter((entry) => entry.segments.length > 0);
}

/** Conflicts, blocking first, then by time. */
export function sortConflicts(conflicts: readonly CalendarConflictWire[]): CalendarConflictWire[] {
  const rank = (c: CalendarConflictWire) => (c.severity === 'blocking' ? 0 : 1);
  return [...conflicts].sort((a, b) => rank(a) - rank(b) || (a.atMs ?? 0) - (b.atMs ?? 0) || (a.id < b.id ? -1 : 1));
}

/** Day header label: "Mon 23" (week) or "23" (month). */
export function dayLabel(day: CalendarDay, zone: string, view: CalendarView): { short: string; long: string } {
  const dt = DateTime.fromMillis(day.startMs, { zone }).setLocale('en-GB');
  return { short: view === 'week' ? dt.toFormat('ccc d') : dt.toFormat('d'), long: dt.toFormat('cccc d LLLL yyyy') };
}

export const todayIn = (zone: string, nowMs: number = Date.now()): string => dateIn(nowMs, zone);
