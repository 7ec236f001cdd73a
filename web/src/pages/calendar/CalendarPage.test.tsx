// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { DateTime } from 'luxon';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryLocation } from 'wouter/memory-location';
import { App } from '../../App.js';
import { TOKEN_KEY } from '../../session.js';
import { apiObject, fakeApi, json, memoryStorage, problem, TEST_SERVER } from '../../test-support/fake-api.js';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const at = (iso: string) => DateTime.fromISO(iso, { setZone: true }).toMillis();
const occurrence = (start: string, end: string) => ({ startMs: at(start), endMs: at(end), localStart: start, localEnd: end });

const CALENDAR = {
  windows: [
    {
      name: 'weekend-freeze',
      type: 'blackout',
      timeZone: 'Europe/Berlin',
      scope: { environments: ['prod'] },
      occurrences: [occurrence('2026-10-23T22:00:00+02:00', '2026-10-24T02:00:00+02:00')],
    },
    {
      name: 'db-maintenance',
      type: 'maintenance',
      timeZone: 'America/New_York',
      scope: { environments: ['staging'] },
      occurrences: [occurrence('2026-10-21T10:00:00-04:00', '2026-10-21T14:00:00-04:00')],
    },
  ],
  changes: [
    {
      name: 'chg-00001',
      title: 'Upgrade ledger',
      type: 'normal',
      state: 'Assess',
      environment: 'prod',
      services: ['ledger'],
      businessServices: [],
      plannedStartMs: at('2026-10-23T23:00:00+02:00'),
      plannedEndMs: at('2026-10-24T00:30:00+02:00'),
      risk: 'medium',
      pendingGroups: ['cab'],
      production: true,
      conflicts: ['c1'],
    },
  ],
  conflicts: [
    { id: 'c1', type: 'inside-blackout', severity: 'blocking', changes: ['chg-00001'], window: 'weekend-freeze', atMs: at('2026-10-23T23:00:00+02:00'), message: 'Change "chg-00001" is planned inside blackout window "weekend-freeze"' },
  ],
  unscheduled: [{ name: 'chg-00002', title: 'Someday', type: 'normal', state: 'New', services: [], pendingGroups: [] }],
};

function renderCalendar(path: string, failWith?: { status: number; detail: string }, extra: Record<string, unknown> = {}) {
  const queries: URLSearchParams[] = [];
  const api = fakeApi({
    users: { rg_admin: { user: 'alice', role: 'admin' } },
    objects: { Environment: [apiObject('Environment', 'prod'), apiObject('Environment', 'staging')] },
    routes: [
      {
        path: '/api/v1/calendar',
        respond: ({ url }) => {
          queries.push(url.searchParams);
          if (failWith) return problem(failWith.status, 'Bad Request', failWith.detail);
          return json({ from: url.searchParams.get('from'), to: url.searchParams.get('to'), ...CALENDAR, ...extra });
        },
      },
    ],
  });
  const location = memoryLocation({ path, record: true });
  render(<App server={TEST_SERVER} fetch={api.fetch} storage={memoryStorage({ [TOKEN_KEY]: 'rg_admin' })} location={location} />);
  return { api, location, queries };
}

describe('calendar page', () => {
  it('shows the week in the chosen zone: windows with their own zone, the change and its conflict', async () => {
    const { queries } = renderCalendar('/calendar?date=2026-10-21&tz=Europe/Berlin');
    await screen.findByTestId('week-grid', {}, { timeout: 10_000 });
    expect(screen.getByTestId('calendar-range').textContent).toBe('19 – 25 Oct 2026 · Europe/Berlin');
    expect(queries[0]!.get('from')).toBe('2026-10-18T22:00:00.000Z');
    expect(queries[0]!.get('to')).toBe('2026-10-25T23:00:00.000Z'); // the 25-hour Sunday included

    const friday = screen.getByRole('region', { name: 'Friday 23 October 2026' });
    const saturday = screen.getByRole('region', { name: 'Saturday 24 October 2026' });
    expect(within(friday).getByRole('button', { name: /^Blackout weekend-freeze, 22:00–24:00 Europe\/Berlin, continues the next day/ })).toBeTruthy();
    expect(within(saturday).getByRole('button', { name: /^Blackout weekend-freeze, 00:00–02:00 Europe\/Berlin, continued from the previous day/ })).toBeTruthy();
    const change = within(friday).getByRole('link', { name: /^Change chg-00001 Upgrade ledger, 23:00–24:00 .*1 blocking conflict$/ });
    expect(change.getAttribute('href')).toBe('/changes/chg-00001');
    // The New York maintenance window is shown in Berlin time with its own zone.
    const wednesday = screen.getByRole('region', { name: 'Wednesday 21 October 2026' });
    const maintenance = within(wednesday).getByRole('button', { name: /^Maintenance db-maintenance, 16:00–20:00 Europe\/Berlin, window time Wed 10:00–14:00 America\/New_York/ });
    expect(maintenance.textContent).toContain('Wed 10:00–14:00 America/New_York');
    expect(screen.getByRole('region', { name: /Sunday 25 October 2026 \(25-hour day: clocks go back 1 h at 03:00\)/ })).toBeTruthy();

    const conflicts = screen.getByRole('region', { name: /Conflicts/ });
    expect(within(conflicts).getByRole('heading').textContent).toBe('Conflicts (1: 1 blocking, 0 warning)');
    expect(within(conflicts).getByText('Change "chg-00001" is planned inside blackout window "weekend-freeze"')).toBeTruthy();
    expect(within(conflicts).getByRole('link', { name: 'chg-00001' }).getAttribute('href')).toBe('/changes/chg-00001');
    expect(screen.getByRole('region', { name: /Unscheduled/ }).textContent).toContain('chg-00002');
    expect(screen.getByTestId('calendar-summary').textContent).toBe('2 window occurrences · 1 planned change · 1 conflict');
  });

  it('lists the changes left off the calendar because their planned times are not valid', async () => {
    renderCalendar('/calendar?date=2026-10-21&tz=Europe/Berlin', undefined, { ignored: [{ name: 'chg-00009', reason: 'planned start or end is not a valid time' }] });
    const note = await screen.findByRole('region', { name: /Not on the calendar/ }, { timeout: 10_000 });
    expect(within(note).getByRole('heading').textContent).toBe('Not on the calendar (1: planned times that are not valid times)');
    expect(within(note).getByRole('link', { name: 'chg-00009' }).getAttribute('href')).toBe('/changes/chg-00009');
    expect(note.textContent).toContain('chg-00009 · planned start or end is not a valid time');
    // Not in the grid, not unscheduled.
    expect(within(screen.getByTestId('week-grid')).queryByText(/chg-00009/)).toBeNull();
    expect(screen.getByRole('region', { name: /Unscheduled/ }).textContent).not.toContain('chg-00009');
  });

  it('shows no such note when every change has valid times (and an older server sends no ignored list)', async () => {
    renderCalendar('/calendar?date=2026-10-21&tz=Europe/Berlin');
    await screen.findByTestId('week-grid', {}, { timeout: 10_000 });
    expect(screen.queryByRole('region', { name: /Not on the calendar/ })).toBeNull();
  });

  it('shows an item in the details panel on focus', async () => {
    renderCalendar('/calendar?date=2026-10-21&tz=Europe/Berlin');
    await screen.findByTestId('week-grid', {}, { timeout: 10_000 });
    const [blackout] = screen.getAllByRole('button', { name: /^Blackout weekend-freeze/ });
    fireEvent.focus(blackout!);
    const details = screen.getByTestId('calendar-details');
    expect(details.textContent).toContain('In its zone: Fri 22:00–02:00 Europe/Berlin');
    expect(details.textContent).toContain('Applies to: environments prod');
    expect(details.textContent).toContain('blocking Change "chg-00001" is planned inside blackout window "weekend-freeze"');
  });

  it('moves by week and month and switches views and zone through the URL', async () => {
    const { location, queries } = renderCalendar('/calendar?date=2026-10-21&tz=Europe/Berlin');
    await screen.findByTestId('week-grid', {}, { timeout: 10_000 });
    await userEvent.click(screen.getByRole('button', { name: 'Next week' }));
    expect(location.history.at(-1)).toBe('/calendar?date=2026-10-28&tz=Europe%2FBerlin');
    await userEvent.click(screen.getByRole('button', { name: 'Month' }));
    await screen.findByTestId('month-grid', {}, { timeout: 10_000 });
    expect(location.history.at(-1)).toBe('/calendar?date=2026-10-28&tz=Europe%2FBerlin&view=month');
    expect(screen.getByTestId('calendar-range').textContent).toBe('October 2026 · Europe/Berlin');
    const cell = screen.getByRole('cell', { name: 'Friday 23 October 2026' });
    expect(within(cell).getByRole('link', { name: /chg-00001/ })).toBeTruthy();
    await userEvent.selectOptions(screen.getByLabelText('Time zone'), 'America/New_York');
    await waitFor(() => expect(screen.getByTestId('calendar-range').textContent).toBe('October 2026 · America/New_York'), { timeout: 5000 });
    await waitFor(() => expect(queries.at(-1)!.get('from')).toBe('2026-09-28T04:00:00.000Z'), { timeout: 5000 });
    await userEvent.click(screen.getByRole('button', { name: 'Previous month' }));
    expect(location.history.at(-1)).toContain('date=2026-09-28');
    await screen.findByRole('option', { name: 'staging' });
    await userEvent.selectOptions(screen.getByLabelText('Environment'), 'staging');
    await waitFor(() => expect(queries.at(-1)!.get('environment')).toBe('staging'), { timeout: 5000 });
    expect(location.history.at(-1)).toContain('env=staging');
  });

  it('shows the server refusal with a retry', async () => {
    renderCalendar('/calendar?date=2026-10-21&tz=Europe/Berlin', { status: 400, detail: 'to must be at most 366 days after from' });
    const alert = await screen.findByRole('alert', {}, { timeout: 10_000 });
    expect(alert.textContent).toContain('Could not load the calendar');
    expect(alert.textContent).toContain('to must be at most 366 days after from');
    expect(screen.getByRole('button', { name: 'Try again' })).toBeTruthy();
  });

  it('renders an agenda list on a narrow screen', async () => {
    vi.stubGlobal('matchMedia', (query: string) => ({ matches: query.includes('max-width'), addEventListener() {}, removeEventListener() {} }));
    renderCalendar('/calendar?date=2026-10-21&tz=Europe/Berlin');
    const agenda = await screen.findByTestId('agenda', {}, { timeout: 10_000 });
    expect(screen.queryByTestId('week-grid')).toBeNull();
    const days = within(agenda).getAllByRole('heading').map((h) => h.textContent);
    expect(days).toEqual(['Wednesday 21 October 2026', 'Friday 23 October 2026', 'Saturday 24 October 2026']);
    expect(agenda.textContent).toContain('Change "chg-00001" is planned inside blackout window "weekend-freeze"');
  });
});
