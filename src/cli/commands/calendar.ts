/**
 * `rollgate calendar [--from DATE] [--to DATE] [--days N] [--env ENV] [--tz ZONE]`: the release
 * calendar as an agenda grouped by day in the viewer's zone (windows, planned changes), then the
 * conflicts the server computed. `-o json|yaml` prints the server's calendar as is.
 */
import type { Command } from 'commander';
import { DateTime, IANAZone } from 'luxon';
import type { CalendarChangeWire, CalendarQuery, CalendarResponse, CalendarWindowWire } from '../../client/calendar.js';
import { UsageError, type CliContext } from '../context.js';
import { plural } from '../output.js';

const DAY_MS = 24 * 3_600_000;

const positiveInt = (flag: string) => (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${flag} must be a positive integer, got "${value}"`);
  return Number(value);
};

/** The viewer's zone: --tz, else the TZ environment variable when it names an IANA zone, else UTC. */
export function viewerZone(flag: string | undefined, env: Record<string, string | undefined>): string {
  if (flag !== undefined) {
    if (!IANAZone.isValidZone(flag)) throw new UsageError(`--tz "${flag}" is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)`);
    return flag;
  }
  const fromEnv = env.TZ;
  return fromEnv && IANAZone.isValidZone(fromEnv) ? fromEnv : 'UTC';
}

/**
 * A --from / --to value as an instant: an ISO datetime with an offset (`Z`, `+01:00`) is taken as
 * is; without one it is local to the viewer's zone; a bare date is the start of that day, or for
 * --to (`endOfDay`) the end of it, so `--to 2026-03-31` includes the 31st.
 */
export function parseDate(flag: string, value: string, zone: string, endOfDay = false): number {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const withOffset = /(Z|[+-]\d{2}:?\d{2})$/i.test(value) && value.includes('T');
  const parsed = withOffset ? DateTime.fromISO(value, { setZone: true }) : DateTime.fromISO(value, { zone });
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || !parsed.isValid) {
    throw new UsageError(`${flag} "${value}" is not a date (YYYY-MM-DD) or an ISO 8601 datetime (YYYY-MM-DDTHH:MM, optionally with Z or an offset)`);
  }
  return (dateOnly && endOfDay ? parsed.plus({ days: 1 }) : parsed).toMillis();
}

/** What to ask the server for; undefined fields take the server's defaults (now, now + 14 days). */
export function calendarQuery(options: { from?: string; to?: string; days?: number; env?: string }, zone: string, nowMs: number): CalendarQuery {
  if (options.to !== undefined && options.days !== undefined) throw new UsageError('give --to or --days, not both');
  const fromMs = options.from !== undefined ? parseDate('--from', options.from, zone) : undefined;
  let toMs = options.to !== undefined ? parseDate('--to', options.to, zone, true) : undefined;
  if (options.days !== undefined) toMs = (fromMs ?? nowMs) + options.days * DAY_MS;
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    ...(fromMs !== undefined ? { from: iso(fromMs) } : toMs !== undefined && options.days !== undefined ? { from: iso(nowMs) } : {}),
    ...(toMs !== undefined ? { to: iso(toMs) } : {}),
    ...(options.env !== undefined ? { environment: options.env } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Rendering

interface AgendaRow {
  startMs: number;
  endMs: number;
  /** Windows before changes at the same time: they frame what happens inside them. */
  order: number;
  name: string;
  what: string;
  details: string;
}

const dateTime = (ms: number, zone: string) => DateTime.fromMillis(ms, { zone }).setLocale('en-US');
const dayKey = (ms: number, zone: string) => dateTime(ms, zone).toISODate()!;

/** A time on the row's day as HH:MM; on another day with the weekday (within a week) or the date. */
function timeOn(ms: number, day: string, zone: string): string {
  const dt = dateTime(ms, zone);
  if (dt.toISODate() === day) return dt.toFormat('HH:mm');
  const days = Math.abs(dt.startOf('day').diff(DateTime.fromISO(day, { zone }), 'days').days);
  return days < 7 ? dt.toFormat('ccc HH:mm') : dt.toFormat('yyyy-LL-dd HH:mm');
}

const span = (startMs: number, endMs: number, day: string, zone: string) => `${timeOn(startMs, day, zone)} – ${timeOn(endMs, day, zone)}`;

function windowRows(window: CalendarWindowWire, viewer: string): AgendaRow[] {
  return window.occurrences.map((o) => {
    const own = window.timeZone !== viewer ? `${span(o.startMs, o.endMs, dayKey(o.startMs, window.timeZone), window.timeZone)} ${window.timeZone}` : '';
    return { startMs: o.startMs, endMs: o.endMs, order: 0, name: window.name, what: `${window.type} window`, details: own };
  });
}

function changeRow(change: CalendarChangeWire): AgendaRow {
  const details = [
    `"${change.title}"`,
    change.state,
    `risk ${change.risk ?? '-'}`,
    change.services.length > 0 ? change.services.join(', ') : 'no services',
    ...(change.environment !== undefined ? [`env ${change.environment}${change.production ? ' (production)' : ''}`] : []),
    ...(change.pendingGroups.length > 0 ? [`awaiting ${change.pendingGroups.join(', ')}`] : []),
    ...(change.conflicts.length > 0 ? [`${plural(change.conflicts.length, 'conflict')}`] : []),
  ];
  return { startMs: change.plannedStartMs, endMs: change.plannedEndMs, order: 1, name: change.name, what: `${change.type} change`, details: details.join(' · ') };
}

/** The agenda: a heading, the days with their windows and changes, unscheduled changes, conflicts. */
export function renderCalendar(calendar: CalendarResponse, viewer: string): string {
  const fromMs = Date.parse(calendar.from);
  const toMs = Date.parse(calendar.to);
  const lines: string[] = [];
  const heading = `${dateTime(fromMs, viewer).toFormat('ccc yyyy-LL-dd HH:mm')} – ${dateTime(toMs, viewer).toFormat('ccc yyyy-LL-dd HH:mm')} ${viewer}`;
  lines.push(`Calendar ${heading}${calendar.environment !== undefined ? `, environment ${calendar.environment}` : ''}`);

  const rows = [...calendar.windows.flatMap((window) => windowRows(window, viewer)), ...calendar.changes.map(changeRow)];
  // An entry that began before the range is listed on the range's first day.
  const days = new Map<string, AgendaRow[]>();
  for (const row of rows) {
    const key = dayKey(Math.max(row.startMs, fromMs), viewer);
    days.set(key, [...(days.get(key) ?? []), row]);
  }
  if (rows.length === 0) {
    lines.push('', 'No windows or planned changes in this range.');
  } else {
    const all = [...days].flatMap(([day, list]) => list.map((row) => ({ day, row })));
    const timeWidth = Math.max(...all.map(({ day, row }) => span(row.startMs, row.endMs, day, viewer).length));
    const whatWidth = Math.max(...all.map(({ row }) => row.what.length));
    const nameWidth = Math.max(...all.map(({ row }) => row.name.length));
    for (const day of [...days.keys()].sort()) {
      lines.push('', DateTime.fromISO(day, { zone: viewer }).setLocale('en-US').toFormat('ccc yyyy-LL-dd'));
      const list = days.get(day)!.sort((a, b) => a.startMs - b.startMs || a.order - b.order || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const row of list) {
        const cells = [span(row.startMs, row.endMs, day, viewer).padEnd(timeWidth), row.what.padEnd(whatWidth), row.name.padEnd(nameWidth), row.details];
        lines.push(`  ${cells.join('   ')}`.trimEnd());
      }
    }
  }

  if (calendar.unscheduled.length > 0) {
    lines.push('', `UNSCHEDULED (${calendar.unscheduled.length}: no planned start and end)`);
    for (const change of calendar.unscheduled) {
      const details = [`"${change.title}"`, change.state, change.services.length > 0 ? change.services.join(', ') : 'no services', ...(change.environment ? [`env ${change.environment}`] : [])];
      lines.push(`  ${change.name}   ${details.join(' · ')}`);
    }
  }

  const blocking = calendar.conflicts.filter((conflict) => conflict.severity === 'blocking').length;
  if (calendar.conflicts.length === 0) {
    lines.push('', 'CONFLICTS: none');
  } else {
    lines.push('', `CONFLICTS (${calendar.conflicts.length}: ${blocking} blocking, ${calendar.conflicts.length - blocking} warning)`);
    const typeWidth = Math.max(...calendar.conflicts.map((conflict) => conflict.type.length));
    for (const conflict of calendar.conflicts) {
      lines.push(`  ${conflict.severity.toUpperCase().padEnd(8)}   ${conflict.type.padEnd(typeWidth)}   ${conflict.message}`);
    }
  }
  return lines.join('\n');
}

export function registerCalendarCommands(program: Command, ctx: CliContext): void {
  program
    .command('calendar')
    .description('release calendar: maintenance and blackout windows, planned changes and their conflicts, by day')
    .option('--from <date>', 'start: YYYY-MM-DD (start of that day) or an ISO datetime; zone-less values are in --tz (default: now)')
    .option('--to <date>', 'end: YYYY-MM-DD (end of that day) or an ISO datetime (default: from + 14 days; at most 366 days)')
    .option('--days <n>', 'show N days from --from (instead of --to)', positiveInt('--days'))
    .option('--env <environment>', 'only changes in this environment (and those naming none) and the windows that apply to it')
    .option('--tz <zone>', 'IANA zone to show times in (default: the TZ environment variable, else UTC)')
    .action(
      ctx.run(async (command) => {
        const options = command.opts<{ from?: string; to?: string; days?: number; env?: string; tz?: string }>();
        const zone = viewerZone(options.tz, ctx.io.env);
        const query = calendarQuery(options, zone, Date.now());
        const calendar = await ctx.client(command).calendar.get(query);
        const format = ctx.outputFormat(command);
        if (format !== 'table') ctx.printData(format, calendar);
        else ctx.out(renderCalendar(calendar, zone));
      }),
    );
}
