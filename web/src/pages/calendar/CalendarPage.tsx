/**
 * The release calendar: maintenance and blackout windows (recurrences expanded by the server),
 * planned changes and the conflicts between them, by week or month, in the viewer's time zone;
 * changes without planned times (unscheduled) and with planned times that are not valid (ignored)
 * are listed below.
 * The range, zone and environment live in the URL (?view=week|month&date=YYYY-MM-DD&tz=&env=) so
 * a view can be shared. On a phone the grid becomes an agenda list. Updates live on any Window or
 * Change change.
 */
import { useEffect, useMemo, useState } from 'react';
import { Link, useSearchParams } from 'wouter';
import type { CalendarResponse } from '../../../../src/client/calendar.js';
import { ErrorNotice } from '../../components/ErrorNotice.js';
import { useApi } from '../../hooks/useApi.js';
import { usePageTitle } from '../../hooks/usePageTitle.js';
import { AgendaList, MonthTable, WeekGrid, type ItemHandlers } from './CalendarViews.js';
import {
  agendaDays,
  browserZone,
  calendarItems,
  calendarRange,
  isZone,
  parseAnchor,
  placeItems,
  sortConflicts,
  todayIn,
  viewerSpan,
  VIEWS,
  zoneOptions,
  type CalendarItem,
  type CalendarView,
} from './derive.js';
import './calendar.css';

const REFRESH_ON = ['Window', 'Change'] as const;
const NARROW = '(max-width: 700px)';

function useMediaQuery(query: string): boolean {
  const get = () => typeof window !== 'undefined' && typeof window.matchMedia === 'function' && window.matchMedia(query).matches;
  const [matches, setMatches] = useState(get);
  useEffect(() => {
    if (typeof window.matchMedia !== 'function') return;
    const list = window.matchMedia(query);
    const update = () => setMatches(list.matches);
    update();
    list.addEventListener('change', update);
    return () => list.removeEventListener('change', update);
  }, [query]);
  return matches;
}

function useNow(intervalMs = 60_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

export default function CalendarPage() {
  usePageTitle('Calendar');
  const [params, setParams] = useSearchParams();
  const narrow = useMediaQuery(NARROW);
  const nowMs = useNow();

  const defaultZone = useMemo(browserZone, []);
  const tzParam = params.get('tz');
  const zone = tzParam && isZone(tzParam) ? tzParam : defaultZone;
  const view: CalendarView = (VIEWS as readonly string[]).includes(params.get('view') ?? '') ? (params.get('view') as CalendarView) : 'week';
  const anchor = parseAnchor(params.get('date'), zone) ?? todayIn(zone, nowMs);
  const environment = params.get('env') ?? '';
  const range = useMemo(() => calendarRange(view, anchor, zone), [view, anchor, zone]);

  const update = (changes: Record<string, string | null>, replace = false) =>
    setParams(
      (previous) => {
        const next = new URLSearchParams(previous);
        for (const [key, value] of Object.entries(changes)) {
          if (value) next.set(key, value);
          else next.delete(key);
        }
        return next;
      },
      { replace },
    );

  const calendar = useApi(
    'the calendar',
    (client) => client.calendar.get({ from: new Date(range.fromMs).toISOString(), to: new Date(range.toMs).toISOString(), ...(environment ? { environment } : {}) }),
    [range.fromMs, range.toMs, environment],
    { refreshOn: REFRESH_ON },
  );
  const environments = useApi('environments', async (client) => (await client.listAll('Environment')).map((object) => object.metadata.name).sort(), [], { refreshOn: ['Environment'] });

  const data: CalendarResponse | undefined = calendar.data;
  const items = useMemo(() => (data ? calendarItems(data, zone) : []), [data, zone]);
  const segments = useMemo(() => placeItems(items, range.days, zone), [items, range.days, zone]);
  const zones = useMemo(() => zoneOptions(defaultZone, zone), [defaultZone, zone]);

  const [preview, setPreview] = useState<string | undefined>(undefined);
  const [pinned, setPinned] = useState<string | undefined>(undefined);
  const selectedId = preview ?? pinned;
  const selected = items.find((item) => item.id === selectedId) ?? items.find((item) => item.id === pinned);
  const handlers: ItemHandlers = {
    selectedId: pinned,
    onSelect: (item, pin) => {
      if (pin) setPinned((current) => (current === item.id ? undefined : item.id));
      else setPreview(item.id);
    },
  };

  const conflicts = data ? sortConflicts(data.conflicts) : [];
  const blocking = conflicts.filter((conflict) => conflict.severity === 'blocking').length;
  const brokenWindows = data?.windows.filter((window) => window.error) ?? [];

  return (
    <section className="calendar" aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title">Calendar</h1>
        <p className="muted" data-testid="calendar-range">
          {range.title} · {zone}
          {environment ? ` · environment ${environment}` : ''}
        </p>
      </div>

      <div className="cal-toolbar">
        <div className="cal-nav" role="group" aria-label="Range">
          <button type="button" className="secondary" onClick={() => update({ date: range.previous })} aria-label={`Previous ${view}`}>
            ‹ Prev
          </button>
          <button type="button" className="secondary" onClick={() => update({ date: null })} disabled={!params.get('date')}>
            Today
          </button>
          <button type="button" className="secondary" onClick={() => update({ date: range.next })} aria-label={`Next ${view}`}>
            Next ›
          </button>
        </div>
        <div className="cal-views" role="group" aria-label="View">
          {VIEWS.map((name) => (
            <button key={name} type="button" aria-pressed={view === name} className={view === name ? undefined : 'secondary'} onClick={() => update({ view: name === 'week' ? null : name })}>
              {name === 'week' ? 'Week' : 'Month'}
            </button>
          ))}
        </div>
        <form className="cal-filters" onSubmit={(event) => event.preventDefault()} aria-label="Calendar options">
          <div className="field">
            <label htmlFor="cal-tz">Time zone</label>
            <select id="cal-tz" value={zone} onChange={(event) => update({ tz: event.target.value === defaultZone ? null : event.target.value }, true)}>
              {zones.map((name) => (
                <option key={name} value={name}>
                  {name}
                  {name === defaultZone ? ' (this browser)' : ''}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="cal-env">Environment</label>
            <select id="cal-env" value={environment} onChange={(event) => update({ env: event.target.value || null }, true)}>
              <option value="">All environments</option>
              {[...new Set([...(environments.data ?? []), ...(environment ? [environment] : [])])].map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </div>
        </form>
      </div>

      <ul className="cal-legend" aria-label="Legend">
        <li>
          <span className="cal-swatch cal-blackout" aria-hidden="true" /> Blackout window
        </li>
        <li>
          <span className="cal-swatch cal-maintenance" aria-hidden="true" /> Maintenance window
        </li>
        <li>
          <span className="cal-swatch cal-change" aria-hidden="true" /> Planned change
        </li>
        <li>
          <span className="cal-swatch cal-change cal-conflict-blocking" aria-hidden="true" /> ⚠ Conflict
        </li>
      </ul>

      {calendar.error && <ErrorNotice error={calendar.error} onRetry={calendar.reload} />}
      {!data && calendar.loading && <p role="status">Loading calendar…</p>}
      {brokenWindows.map((window) => (
        <p key={window.name} className="notice notice-error" role="alert">
          Window {window.name} could not be expanded: {window.error}
        </p>
      ))}

      {data && (
        <>
          <p className="muted" role="status" aria-live="polite" data-testid="calendar-summary">
            {summary(data)}
          </p>
          {narrow ? (
            items.length === 0 ? (
              <p>No windows or planned changes in this {view}.</p>
            ) : (
              <AgendaList entries={agendaDays(items, range.days, zone)} zone={zone} handlers={handlers} view={view} />
            )
          ) : view === 'week' ? (
            <WeekGrid days={range.days} segments={segments} zone={zone} handlers={handlers} nowMs={nowMs} />
          ) : (
            <MonthTable days={range.days} segments={segments} zone={zone} handlers={handlers} nowMs={nowMs} title={range.title} />
          )}
          {!narrow && items.length === 0 && <p>No windows or planned changes in this {view}.</p>}

          <Details item={selected} />

          <section className="cal-conflicts" aria-labelledby="cal-conflicts-title">
            <h2 id="cal-conflicts-title">
              Conflicts{' '}
              <span className="muted">
                {conflicts.length === 0 ? '(none)' : `(${conflicts.length}: ${blocking} blocking, ${conflicts.length - blocking} warning)`}
              </span>
            </h2>
            {conflicts.length > 0 && (
              <div className="table-scroll">
                <table className="data-table stack cal-table">
                  <thead>
                    <tr>
                      <th scope="col">Severity</th>
                      <th scope="col">Type</th>
                      <th scope="col">Message</th>
                      <th scope="col">Changes</th>
                      <th scope="col">When ({zone})</th>
                    </tr>
                  </thead>
                  <tbody>
                    {conflicts.map((conflict) => (
                      <tr key={conflict.id} className={`cal-sev-${conflict.severity}`}>
                        <td>
                          <span className={`badge cal-badge-${conflict.severity}`}>{conflict.severity}</span>
                        </td>
                        <td>
                          <code>{conflict.type}</code>
                        </td>
                        <td>
                          {conflict.message}
                          {conflict.window && <span className="muted"> · window {conflict.window}</span>}
                          {conflict.group && <span className="muted"> · group {conflict.group}</span>}
                        </td>
                        <td>
                          {conflict.changes.map((name, index) => (
                            <span key={name}>
                              {index > 0 && ', '}
                              <Link href={`/changes/${encodeURIComponent(name)}`}>{name}</Link>
                            </span>
                          ))}
                        </td>
                        <td>{conflict.atMs !== undefined ? <time dateTime={new Date(conflict.atMs).toISOString()}>{viewerSpan(conflict.atMs, conflict.atMs, zone).split(' – ')[0]}</time> : '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>

          {data.unscheduled.length > 0 && (
            <section className="cal-unscheduled" aria-labelledby="cal-unscheduled-title">
              <h2 id="cal-unscheduled-title">
                Unscheduled <span className="muted">({data.unscheduled.length}: no planned start and end)</span>
              </h2>
              <ul>
                {data.unscheduled.map((change) => (
                  <li key={change.name}>
                    <Link href={`/changes/${encodeURIComponent(change.name)}`}>{change.name}</Link> {change.title} <span className="muted">· {[change.state, change.services.length > 0 ? change.services.join(', ') : 'no services', ...(change.environment ? [`env ${change.environment}`] : [])].join(' · ')}</span>
                  </li>
                ))}
              </ul>
            </section>
          )}
          {data.ignored.length > 0 && (
            <section className="cal-ignored notice" aria-labelledby="cal-ignored-title">
              <h2 id="cal-ignored-title">
                Not on the calendar <span className="muted">({data.ignored.length}: planned times that are not valid times)</span>
              </h2>
              <ul>
                {data.ignored.map((change) => (
                  <li key={change.name}>
                    <Link href={`/changes/${encodeURIComponent(change.name)}`}>{change.name}</Link> <span className="muted">· {change.reason}</span>
                  </li>
                ))}
              </ul>
            </section>
          )}
          <p className="muted cal-footnote">
            Times in {zone}; each window also shows its own zone.
          </p>
        </>
      )}
    </section>
  );
}

function summary(data: CalendarResponse): string {
  const occurrences = data.windows.reduce((sum, window) => sum + window.occurrences.length, 0);
  const n = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  return `${n(occurrences, 'window occurrence')} · ${n(data.changes.length, 'planned change')} · ${n(data.conflicts.length, 'conflict')}`;
}

function Details({ item }: { item: CalendarItem | undefined }) {
  return (
    <aside className="cal-details" aria-label="Selected item" aria-live="polite" data-testid="calendar-details">
      {item ? (
        <>
          <h2>
            {item.kind === 'change' ? <Link href={`/changes/${encodeURIComponent(item.name)}`}>{item.name}</Link> : item.name}{' '}
            <span className={`badge cal-badge-${item.kind}`}>{item.kind === 'change' ? `${item.change?.type ?? ''} change`.trim() : `${item.kind} window`}</span>
          </h2>
          <ul>
            {item.details.slice(1).map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
          {item.conflicts.length > 0 && (
            <ul className="cal-detail-conflicts">
              {item.conflicts.map((conflict) => (
                <li key={conflict.id}>
                  <span className={`badge cal-badge-${conflict.severity}`}>{conflict.severity}</span> {conflict.message}
                </li>
              ))}
            </ul>
          )}
        </>
      ) : (
        <p className="muted">Focus or hover an item for its details; click a window to keep it here.</p>
      )}
    </aside>
  );
}
