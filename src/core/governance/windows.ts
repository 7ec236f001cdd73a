/**
 * Blackout and maintenance windows: pure computations over Window specs (time is an input).
 *
 * - Recurring windows expand their RRULE in the window's own IANA zone with "floating" wall-clock
 *   dates: a 16:00 Europe/Berlin start stays 16:00 local across DST, so its UTC instant moves by an
 *   hour. The duration is wall-clock too (Fri 16:00 + 62h = Mon 06:00 local, even when the weekend
 *   has 61 or 63 real hours). A start inside a spring-forward gap moves forward by the gap
 *   (02:30 -> 03:30); an ambiguous fall-back start resolves as luxon does.
 * - The RRULE's implicit DTSTART is 2000-01-03 (a Monday) at `start`: INTERVAL counts from there,
 *   and FREQ=WEEKLY without BYDAY means Mondays. Times before 2000-01-03 have no occurrences.
 * - Occurrences of one window that overlap or touch are merged. Every expansion is bounded: at most
 *   `MAX_OCCURRENCES` (1,000) per call, the earliest first; decisions look ahead at most
 *   `DEFAULT_HORIZON_MS` (366 days) unless told otherwise.
 */
import { DateTime } from 'luxon';
import rrulePkg from 'rrule';
import { durationToMs } from '../resources/common.js';
import { normalizeRrule, type WindowSpec } from '../resources/window.js';

// rrule@2 ships CommonJS as "main" and an ESM build Node cannot load ("module" field, no
// "exports"/"type"), so named ESM imports are undefined under Node: take the CJS default export.
const { RRule } = rrulePkg;

export const MAX_OCCURRENCES = 1000;
export const DEFAULT_HORIZON_MS = 366 * 24 * 3_600_000;
const DAY_MS = 24 * 3_600_000;
const RRULE_ANCHOR = { year: 2000, month: 0, day: 3 };

/** A Window resource as the computations need it: its name (for reasons) and its validated spec. */
export interface Window {
  name: string;
  spec: WindowSpec;
}

/** Half-open interval [startMs, endMs) in epoch milliseconds. */
export interface Occurrence {
  startMs: number;
  endMs: number;
}

/**
 * What a deployment touches. A window limited on a dimension the scope leaves out (e.g. a window
 * for `prod` checked against a scope without `environment`) applies: unknown means fail closed.
 */
export interface DeploymentScope {
  environment?: string;
  services?: string[];
  businessServices?: string[];
}

export interface ActiveWindow {
  window: Window;
  /** The (merged) occurrence that contains `nowMs`. */
  startMs: number;
  endMs: number;
}

export interface DeploymentDecision {
  allowed: boolean;
  /** Names the deciding window and when it ends or opens, in that window's zone. */
  reason: string;
  /** When this answer changes: the next allowed instant if blocked, the next blocked one if allowed; null when not within the horizon. */
  until: number | null;
  /** The window that decided, if any. */
  window: string | null;
}

export interface HorizonOptions {
  /** How far ahead to look for the next change, default `DEFAULT_HORIZON_MS`. */
  horizonMs?: number;
}

/** Sorts and merges intervals that overlap or touch. */
export function mergeOccurrences(intervals: readonly Occurrence[]): Occurrence[] {
  const sorted = [...intervals].sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
  const merged: Occurrence[] = [];
  for (const next of sorted) {
    const last = merged.at(-1);
    if (last && next.startMs <= last.endMs) last.endMs = Math.max(last.endMs, next.endMs);
    else merged.push({ ...next });
  }
  return merged;
}

/** Wall-clock fields of an instant in `zone`, encoded as if they were UTC ("floating" time). */
function toFloating(ms: number, zone: string): number {
  const dt = DateTime.fromMillis(ms, { zone });
  return Date.UTC(dt.year, dt.month - 1, dt.day, dt.hour, dt.minute, dt.second, dt.millisecond);
}

/** The instant at which `zone`'s wall clock shows the floating time. */
function fromFloating(floating: number, zone: string): number {
  const d = new Date(floating);
  return DateTime.fromObject(
    {
      year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(),
      hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(), millisecond: d.getUTCMilliseconds(),
    },
    { zone },
  ).toMillis();
}

const ruleCache = new Map<string, InstanceType<typeof RRule>>();
function ruleFor(rrule: string, start: string): InstanceType<typeof RRule> {
  const key = `${start}|${rrule}`;
  let rule = ruleCache.get(key);
  if (!rule) {
    const [hour, minute] = start.split(':').map(Number) as [number, number];
    const dtstart = new Date(Date.UTC(RRULE_ANCHOR.year, RRULE_ANCHOR.month, RRULE_ANCHOR.day, hour, minute));
    rule = new RRule({ ...RRule.parseString(normalizeRrule(rrule)), dtstart, tzid: null });
    ruleCache.set(key, rule);
  }
  return rule;
}

/**
 * The occurrences of `window` that overlap [fromMs, toMs), merged, earliest first, each whole (not
 * clipped to the range), at most `limit` (default and maximum `MAX_OCCURRENCES`).
 */
export function occurrences(window: Window, fromMs: number, toMs: number, limit = MAX_OCCURRENCES): Occurrence[] {
  const cap = Math.max(0, Math.min(limit, MAX_OCCURRENCES));
  if (!(toMs > fromMs) || cap === 0) return [];
  const { spec } = window;
  const untilMs = spec.until ? Date.parse(spec.until) : Infinity;
  const overlaps = (o: Occurrence) => o.startMs < toMs && o.endMs > fromMs && o.startMs < untilMs;

  if (spec.from !== undefined && spec.to !== undefined) {
    const single = { startMs: Date.parse(spec.from), endMs: Date.parse(spec.to) };
    return overlaps(single) ? [single] : [];
  }
  if (spec.rrule === undefined || spec.start === undefined || spec.duration === undefined) return [];

  const zone = spec.timeZone;
  const durationMs = durationToMs(spec.duration);
  const rule = ruleFor(spec.rrule, spec.start);
  // Floating bounds with a day of slack either side: wall clock and instants are not 1:1 around DST.
  const after = new Date(toFloating(fromMs, zone) - durationMs - DAY_MS);
  const before = new Date(toFloating(Math.min(toMs, untilMs), zone) + DAY_MS);
  const found: Occurrence[] = [];
  rule.between(after, before, true, (date) => {
    const floatingStart = date.getTime();
    const startMs = fromFloating(floatingStart, zone);
    let endMs = fromFloating(floatingStart + durationMs, zone);
    if (endMs <= startMs) endMs = startMs + durationMs;
    const occurrence = { startMs, endMs };
    if (overlaps(occurrence)) found.push(occurrence);
    return found.length <= cap;
  });
  return mergeOccurrences(found).slice(0, cap);
}

const dimensionMatches = (allowed: readonly string[] | undefined, actual: readonly string[] | undefined): boolean =>
  !allowed?.length || !actual?.length || actual.some((value) => allowed.includes(value));

/** Whether `window` applies to `scope` (see `DeploymentScope`). */
export function windowApplies(window: Window, scope: DeploymentScope): boolean {
  const s = window.spec.scope ?? {};
  return (
    dimensionMatches(s.environments, scope.environment === undefined ? undefined : [scope.environment]) &&
    dimensionMatches(s.services, scope.services) &&
    dimensionMatches(s.businessServices, scope.businessServices)
  );
}

/** Windows that apply to `scope` and are open at `nowMs`, with their current occurrence. */
export function activeWindows(windows: readonly Window[], scope: DeploymentScope, nowMs: number): ActiveWindow[] {
  return windows.flatMap((window) => {
    if (!windowApplies(window, scope)) return [];
    const current = occurrences(window, nowMs, nowMs + 1).find((o) => o.startMs <= nowMs && nowMs < o.endMs);
    return current ? [{ window, ...current }] : [];
  });
}

/** Renders an instant in a window's zone: "Mon 2026-03-30 06:00 Europe/Berlin (UTC+02:00)". */
export function formatInZone(ms: number, zone: string): string {
  const dt = DateTime.fromMillis(ms, { zone }).setLocale('en-US');
  return `${dt.toFormat('ccc yyyy-LL-dd HH:mm')} ${zone} (UTC${dt.toFormat('ZZ')})`;
}

interface Tagged extends Occurrence {
  window: Window;
}

interface Timeline {
  blackouts: Occurrence[];
  /** null when no maintenance window applies: then every time outside blackouts is allowed. */
  maintenance: Occurrence[] | null;
  tagged: Tagged[];
  horizonEnd: number;
}

function timeline(windows: readonly Window[], scope: DeploymentScope, nowMs: number, options: HorizonOptions): Timeline {
  const horizonEnd = nowMs + (options.horizonMs ?? DEFAULT_HORIZON_MS);
  const applicable = windows.filter((window) => windowApplies(window, scope));
  const tagged = applicable.flatMap((window) => occurrences(window, nowMs, horizonEnd).map((o) => ({ window, ...o })));
  const ofType = (type: WindowSpec['type']) => mergeOccurrences(tagged.filter((t) => t.window.spec.type === type));
  return {
    blackouts: ofType('blackout'),
    maintenance: applicable.some((w) => w.spec.type === 'maintenance') ? ofType('maintenance') : null,
    tagged,
    horizonEnd,
  };
}

const inside = (intervals: readonly Occurrence[], t: number) => intervals.some((o) => o.startMs <= t && t < o.endMs);
const allowedAt = (tl: Timeline, t: number) => !inside(tl.blackouts, t) && (tl.maintenance === null || inside(tl.maintenance, t));

function firstAllowed(tl: Timeline, fromMs: number): number | null {
  const candidates = [fromMs, ...tl.blackouts.map((o) => o.endMs), ...(tl.maintenance ?? []).map((o) => o.startMs)]
    .filter((t) => t >= fromMs && t < tl.horizonEnd)
    .sort((a, b) => a - b);
  return candidates.find((t) => allowedAt(tl, t)) ?? null;
}

function firstBlocked(tl: Timeline, fromMs: number): number | null {
  const candidates = [...tl.blackouts.map((o) => o.startMs), ...(tl.maintenance ?? []).map((o) => o.endMs)]
    .filter((t) => t > fromMs && t < tl.horizonEnd)
    .sort((a, b) => a - b);
  return candidates.find((t) => !allowedAt(tl, t)) ?? null;
}

/** The earliest instant at or after `nowMs` when a deployment in `scope` is allowed, or null if none within the horizon. */
export function nextAllowedAt(windows: readonly Window[], scope: DeploymentScope, nowMs: number, options: HorizonOptions = {}): number | null {
  return firstAllowed(timeline(windows, scope, nowMs, options), nowMs);
}

const quote = (window: Window) => `${window.spec.type} window "${window.name}"`;

/**
 * Whether a deployment in `scope` may start at `nowMs`. An active blackout forbids it; when any
 * maintenance window applies to the scope, deployments are allowed only inside one.
 */
export function deploymentAllowed(windows: readonly Window[], scope: DeploymentScope, nowMs: number, options: HorizonOptions = {}): DeploymentDecision {
  const tl = timeline(windows, scope, nowMs, options);
  const containing = (type: WindowSpec['type']) =>
    tl.tagged.filter((t) => t.window.spec.type === type && t.startMs <= nowMs && nowMs < t.endMs).sort((a, b) => b.endMs - a.endMs);
  const horizonNote = 'no allowed time within the look-ahead horizon';

  if (!allowedAt(tl, nowMs)) {
    const next = firstAllowed(tl, nowMs);
    const blackout = containing('blackout')[0];
    if (blackout) {
      const zone = blackout.window.spec.timeZone;
      let reason = `blocked by ${quote(blackout.window)} until ${formatInZone(blackout.endMs, zone)}`;
      if (next === null) reason += `; ${horizonNote}`;
      else if (next !== blackout.endMs) reason += `; next allowed at ${formatInZone(next, zone)}`;
      return { allowed: false, reason, until: next, window: blackout.window.name };
    }
    const opening = next === null ? undefined : tl.tagged.find((t) => t.window.spec.type === 'maintenance' && t.startMs <= next && next < t.endMs);
    const names = [...new Set(tl.tagged.filter((t) => t.window.spec.type === 'maintenance').map((t) => t.window.name))];
    const reason = opening
      ? `outside maintenance windows; ${quote(opening.window)} opens at ${formatInZone(next!, opening.window.spec.timeZone)}`
      : `outside maintenance windows${names.length ? ` (${names.join(', ')})` : ''}; ${horizonNote}`;
    return { allowed: false, reason, until: next, window: opening?.window.name ?? null };
  }

  const until = firstBlocked(tl, nowMs);
  const maintenance = containing('maintenance')[0];
  if (maintenance) {
    const reason = `inside ${quote(maintenance.window)} until ${formatInZone(maintenance.endMs, maintenance.window.spec.timeZone)}`;
    return { allowed: true, reason, until, window: maintenance.window.name };
  }
  const nextBlackout = until === null ? undefined : tl.tagged.find((t) => t.window.spec.type === 'blackout' && t.startMs === until);
  const reason = nextBlackout
    ? `no window blocks this deployment; next ${quote(nextBlackout.window)} starts at ${formatInZone(until!, nextBlackout.window.spec.timeZone)}`
    : 'no window blocks this deployment';
  return { allowed: true, reason, until, window: null };
}
