/** Client calls for the calendar API (see src/server/calendar/routes.ts). */
import { z } from 'zod';
import { API_PREFIX } from '../core/api.js';
import type { Call } from './call.js';

// Loose on purpose: enums are plain strings and unknown fields pass through, so an older client
// still reads a calendar from a newer server that added a conflict type or a field.
const occurrenceSchema = z.looseObject({ startMs: z.number(), endMs: z.number(), localStart: z.string(), localEnd: z.string() });

const calendarWindowSchema = z.looseObject({
  name: z.string(),
  type: z.string(),
  timeZone: z.string(),
  scope: z.record(z.string(), z.unknown()).default({}),
  occurrences: z.array(occurrenceSchema).default([]),
  error: z.string().optional(),
});

const calendarChangeSchema = z.looseObject({
  name: z.string(),
  title: z.string().default(''),
  type: z.string(),
  state: z.string(),
  environment: z.string().optional(),
  services: z.array(z.string()).default([]),
  businessServices: z.array(z.string()).default([]),
  plannedStartMs: z.number(),
  plannedEndMs: z.number(),
  /** The planned interval in ISO 8601, UTC (the same instants as plannedStartMs / plannedEndMs). */
  plannedStart: z.string().optional(),
  plannedEnd: z.string().optional(),
  risk: z.string().nullable().default(null),
  pendingGroups: z.array(z.string()).default([]),
  production: z.boolean().nullable().default(null),
  conflicts: z.array(z.string()).default([]),
});

const conflictSchema = z.looseObject({
  id: z.string(),
  type: z.string(),
  severity: z.string(),
  changes: z.array(z.string()).default([]),
  services: z.array(z.string()).optional(),
  window: z.string().optional(),
  group: z.string().optional(),
  atMs: z.number().optional(),
  message: z.string(),
});

const unscheduledSchema = z.looseObject({
  name: z.string(),
  title: z.string().default(''),
  type: z.string().optional(),
  state: z.string(),
  environment: z.string().optional(),
  services: z.array(z.string()).default([]),
  pendingGroups: z.array(z.string()).default([]),
});

/** A change left off the calendar because its planned start or end is not a valid time. */
const ignoredSchema = z.looseObject({ name: z.string(), reason: z.string() });

export const calendarResponseSchema = z.looseObject({
  from: z.string(),
  to: z.string(),
  /** The range [from, to) in epoch milliseconds, as the server computed it. */
  fromMs: z.number().optional(),
  toMs: z.number().optional(),
  environment: z.string().optional(),
  windows: z.array(calendarWindowSchema).default([]),
  changes: z.array(calendarChangeSchema).default([]),
  conflicts: z.array(conflictSchema).default([]),
  /** Changes with planned times that are not valid times: neither on the calendar nor unscheduled. */
  ignored: z.array(ignoredSchema).default([]),
  unscheduled: z.array(unscheduledSchema).default([]),
});
export type CalendarResponse = z.output<typeof calendarResponseSchema>;
export type CalendarWindowWire = CalendarResponse['windows'][number];
export type CalendarChangeWire = CalendarResponse['changes'][number];
export type CalendarConflictWire = CalendarResponse['conflicts'][number];
export type CalendarIgnoredWire = CalendarResponse['ignored'][number];
export type CalendarUnscheduledWire = CalendarResponse['unscheduled'][number];

export interface CalendarQuery {
  /** ISO 8601 datetime with an offset; the server's default is now. */
  from?: string;
  /** ISO 8601 datetime with an offset; the server's default is from + 14 days (at most 366 days). */
  to?: string;
  environment?: string;
}

export function calendarApi(call: Call) {
  return {
    /** `GET /api/v1/calendar`: windows, planned changes and their conflicts over [from, to). */
    async get(query: CalendarQuery = {}): Promise<CalendarResponse> {
      return call('GET', `${API_PREFIX}/calendar`, calendarResponseSchema, { query: { from: query.from, to: query.to, environment: query.environment } });
    },
  };
}
export type CalendarApi = ReturnType<typeof calendarApi>;
