import { IANAZone } from 'luxon';
import { z } from 'zod';
import { durationSchema, durationToMs } from './common.js';

/**
 * A blackout or maintenance window. Two forms:
 * - recurring: `rrule` (RFC 5545 RRULE without DTSTART) + `start` ("HH:MM", local to `timeZone`) +
 *   `duration` ("2h", "62h"); the duration is wall-clock time in the window's zone, so
 *   "Fri 16:00 + 62h" ends Mon 06:00 local even across a DST change.
 * - one-off: `from` / `to`, ISO datetimes with an offset.
 * `until` (ISO datetime with offset) drops every occurrence that starts at or after it.
 * See docs/governance.md ("Windows") and src/core/governance/windows.ts.
 */

const RRULE_WEEKDAY = /^[+-]?\d{0,2}(MO|TU|WE|TH|FR|SA|SU)$/;
const WEEKDAY = /^(MO|TU|WE|TH|FR|SA|SU)$/;
const intList = (min: number, max: number, allowZero = false) => (value: string) =>
  value.split(',').every((part) => /^[+-]?\d+$/.test(part) && Number(part) >= min && Number(part) <= max && (allowZero || Number(part) !== 0));

const RRULE_PARTS: Record<string, (value: string) => boolean> = {
  FREQ: (v) => ['DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'].includes(v),
  INTERVAL: (v) => /^\d+$/.test(v) && Number(v) >= 1,
  BYDAY: (v) => v.split(',').every((part) => RRULE_WEEKDAY.test(part)),
  BYMONTHDAY: intList(-31, 31),
  BYMONTH: intList(1, 12),
  BYYEARDAY: intList(-366, 366),
  BYWEEKNO: intList(-53, 53),
  BYSETPOS: intList(-366, 366),
  WKST: (v) => WEEKDAY.test(v),
};
const RRULE_REJECTED: Record<string, string> = {
  DTSTART: 'DTSTART is not allowed: the window starts at `start` in `timeZone`',
  COUNT: 'COUNT is not supported: use spec.until to end a recurring window',
  UNTIL: 'UNTIL is not supported inside the RRULE: use spec.until',
  BYHOUR: 'BYHOUR is not supported: the time of day is spec.start',
  BYMINUTE: 'BYMINUTE is not supported: the time of day is spec.start',
  BYSECOND: 'BYSECOND is not supported: the time of day is spec.start',
};

/** Strips an optional "RRULE:" prefix. */
export const normalizeRrule = (rrule: string): string => rrule.trim().replace(/^RRULE:/i, '');

/** Problems with an RRULE string (empty when valid). Only DAILY or coarser rules are accepted. */
export function rruleProblems(rrule: string): string[] {
  const text = normalizeRrule(rrule);
  if (text === '') return ['must be an RRULE such as "FREQ=WEEKLY;BYDAY=FR"'];
  if (/^DTSTART/im.test(text) || text.includes('\n')) return [RRULE_REJECTED.DTSTART!];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const part of text.split(';')) {
    const match = /^([A-Za-z]+)=(.+)$/.exec(part);
    if (!match) {
      problems.push(`"${part}" is not a KEY=VALUE rule part`);
      continue;
    }
    const key = match[1]!.toUpperCase();
    const value = match[2]!.toUpperCase();
    if (seen.has(key)) problems.push(`${key} appears twice`);
    seen.add(key);
    if (RRULE_REJECTED[key]) problems.push(RRULE_REJECTED[key]);
    else if (!RRULE_PARTS[key]) problems.push(`unknown RRULE part ${key}`);
    else if (!RRULE_PARTS[key](value)) problems.push(key === 'FREQ' ? 'FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY' : `invalid ${key} value "${match[2]}"`);
  }
  if (!seen.has('FREQ')) problems.push('FREQ is required (DAILY, WEEKLY, MONTHLY or YEARLY)');
  return problems;
}

const isoWithOffset = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 datetime with an offset, e.g. 2026-12-23T18:00:00+01:00' });

export const windowScopeSchema = z.strictObject({
  environments: z.array(z.string().min(1)).optional(),
  services: z.array(z.string().min(1)).optional(),
  /** Business services (groups of services); matched against the scope's business services. */
  businessServices: z.array(z.string().min(1)).optional(),
});
export type WindowScope = z.infer<typeof windowScopeSchema>;

export const windowSpecSchema = z
  .strictObject({
    /** `blackout`: no deployment inside. `maintenance`: when any applies, deployments only inside. */
    type: z.enum(['blackout', 'maintenance']),
    description: z.string().optional(),
    /** IANA time zone the window is written in, e.g. Europe/Berlin. */
    timeZone: z.string().refine((zone) => IANAZone.isValidZone(zone), 'must be an IANA time zone such as Europe/Berlin or America/New_York'),
    /** RFC 5545 RRULE without DTSTART, e.g. "FREQ=WEEKLY;BYDAY=FR". */
    rrule: z.string().optional(),
    /** Local time of day an occurrence starts, "HH:MM" (24h). */
    start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day "HH:MM", e.g. "16:00"').optional(),
    /** Length of each occurrence (wall-clock in `timeZone`): "2h", "62h". */
    duration: durationSchema.refine((d) => durationToMs(d) > 0, 'must be longer than zero').optional(),
    /** One-off window start. */
    from: isoWithOffset.optional(),
    /** One-off window end. */
    to: isoWithOffset.optional(),
    /** No occurrence starts at or after this instant. */
    until: isoWithOffset.optional(),
    /** What the window applies to; an empty or absent list means every value. */
    scope: windowScopeSchema.optional(),
  })
  .superRefine((spec, ctx) => {
    const recurring = spec.rrule !== undefined || spec.start !== undefined || spec.duration !== undefined;
    const oneOff = spec.from !== undefined || spec.to !== undefined;
    if (recurring && oneOff) {
      ctx.addIssue({ code: 'custom', path: [spec.rrule !== undefined ? 'from' : 'rrule'], message: 'give either rrule + start + duration or from + to, not both' });
      return;
    }
    if (!recurring && !oneOff) {
      ctx.addIssue({ code: 'custom', path: ['rrule'], message: 'give either rrule + start + duration (recurring) or from + to (one-off)' });
      return;
    }
    if (recurring) {
      for (const field of ['rrule', 'start', 'duration'] as const) {
        if (spec[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `${field} is required with a recurring window` });
      }
      if (spec.rrule !== undefined) {
        for (const message of rruleProblems(spec.rrule)) ctx.addIssue({ code: 'custom', path: ['rrule'], message });
      }
    } else {
      for (const field of ['from', 'to'] as const) {
        if (spec[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `${field} is required with a one-off window` });
      }
      if (spec.from && spec.to && Date.parse(spec.to) <= Date.parse(spec.from)) {
        ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
      }
    }
  });
export type WindowSpec = z.infer<typeof windowSpecSchema>;
