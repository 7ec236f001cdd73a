/**
 * Calendar route: planned changes, window occurrences and the conflicts between them over a time
 * range (src/core/governance/calendar.ts computes them; ./service.ts loads the objects).
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { API_PREFIX } from '../../core/api.js';
import { CONFLICT_SEVERITIES, CONFLICT_TYPES } from '../../core/governance/calendar.js';
import { RISK_LEVELS } from '../../core/governance/risk.js';
import { CHANGE_STATES, CHANGE_TYPES } from '../../core/resources/change.js';
import { nameSchema } from '../../core/resources/common.js';
import type { AppEnv } from '../context.js';
import type { GovernanceRouteDeps } from '../governance-deps.js';
import { problem, problemResponse as problemBody } from '../problem.js';
import { secureRoute } from '../route.js';
import { loadCalendar } from './service.js';

const json = <S extends z.ZodType>(schema: S) => ({ content: { 'application/json': { schema } } });
const tags = ['Calendar'];
const DAY_MS = 24 * 3_600_000;
export const DEFAULT_CALENDAR_DAYS = 14;
export const MAX_CALENDAR_DAYS = 366;

const isoDateTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 datetime, e.g. 2026-03-27T00:00:00Z or 2026-03-27T00:00:00+01:00' });

export const calendarQuerySchema = z.object({
  /** Default: now. */
  from: isoDateTime.optional(),
  /** Default: from + 14 days. At most 366 days after from. */
  to: isoDateTime.optional(),
  environment: nameSchema.optional(),
});

const occurrenceSchema = z.object({ startMs: z.number(), endMs: z.number(), localStart: z.string(), localEnd: z.string() });
const calendarWindowSchema = z.object({
  name: z.string(),
  type: z.enum(['blackout', 'maintenance']),
  timeZone: z.string(),
  scope: z.object({ environments: z.array(z.string()).optional(), services: z.array(z.string()).optional(), businessServices: z.array(z.string()).optional() }),
  occurrences: z.array(occurrenceSchema),
  error: z.string().optional(),
});
const calendarChangeSchema = z.object({
  name: z.string(),
  title: z.string(),
  type: z.enum(CHANGE_TYPES),
  state: z.enum(CHANGE_STATES),
  environment: z.string().optional(),
  services: z.array(z.string()),
  businessServices: z.array(z.string()),
  plannedStartMs: z.number(),
  plannedEndMs: z.number(),
  plannedStart: z.string(),
  plannedEnd: z.string(),
  risk: z.enum(RISK_LEVELS).nullable(),
  pendingGroups: z.array(z.string()),
  production: z.boolean().nullable(),
  conflicts: z.array(z.string()),
});
const conflictSchema = z.object({
  id: z.string(),
  type: z.enum(CONFLICT_TYPES),
  severity: z.enum(CONFLICT_SEVERITIES),
  changes: z.array(z.string()),
  services: z.array(z.string()).optional(),
  window: z.string().optional(),
  group: z.string().optional(),
  atMs: z.number(),
  message: z.string(),
});
export const calendarResponseSchema = z.object({
  from: z.string(),
  to: z.string(),
  environment: z.string().optional(),
  fromMs: z.number(),
  toMs: z.number(),
  windows: z.array(calendarWindowSchema),
  changes: z.array(calendarChangeSchema),
  conflicts: z.array(conflictSchema),
  ignored: z.array(z.object({ name: z.string(), reason: z.string() })),
  unscheduled: z.array(
    z.object({
      name: z.string(),
      title: z.string(),
      type: z.string(),
      state: z.string(),
      environment: z.string().optional(),
      services: z.array(z.string()),
      pendingGroups: z.array(z.string()),
    }),
  ),
});

export const calendarRoutes = {
  get: secureRoute({
    permission: 'viewer',
    method: 'get',
    path: `${API_PREFIX}/calendar`,
    operationId: 'getCalendar',
    tags,
    summary: 'Planned changes, window occurrences and conflicts (same / dependent / business service overlaps, outside maintenance, inside blackout, overbooked approver groups) over a time range',
    request: { query: calendarQuerySchema },
    responses: {
      200: { description: 'The calendar; changes without planned times are in `unscheduled`', ...json(calendarResponseSchema) },
    },
  }),
};

export function registerCalendarRoutes(app: OpenAPIHono<AppEnv>, deps: GovernanceRouteDeps): void {
  app.openapi(calendarRoutes.get, async (c) => {
    const query = c.req.valid('query');
    const fromMs = query.from !== undefined ? Date.parse(query.from) : deps.now().getTime();
    const toMs = query.to !== undefined ? Date.parse(query.to) : fromMs + DEFAULT_CALENDAR_DAYS * DAY_MS;
    const invalidTo = (message: string) =>
      problemBody(c, problem(400, 'validation', 'invalid query parameters', { errors: [{ path: ['to'], message }] })) as never;
    if (toMs <= fromMs) return invalidTo(`must be after from (${new Date(fromMs).toISOString()})`);
    if (toMs - fromMs > MAX_CALENDAR_DAYS * DAY_MS) return invalidTo(`must be at most ${MAX_CALENDAR_DAYS} days after from (${new Date(fromMs).toISOString()})`);

    const calendar = await loadCalendar(deps.store.read, { fromMs, toMs, ...(query.environment !== undefined ? { environment: query.environment } : {}) });
    return c.json(
      {
        from: new Date(fromMs).toISOString(),
        to: new Date(toMs).toISOString(),
        ...(query.environment !== undefined ? { environment: query.environment } : {}),
        ...calendar,
      },
      200,
    );
  });
}
