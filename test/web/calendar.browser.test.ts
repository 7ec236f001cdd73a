/**
 * The calendar page in Chromium against `rollgate serve`, with data created through the client:
 * a weekly Europe/Berlin blackout, a one-off America/New_York maintenance window and a change
 * planned inside the blackout (a blocking conflict). The browser's zone is fixed to Europe/Berlin
 * with CDP `Emulation.setTimezoneOverride` (the harness's persistent context cannot take a
 * `timezoneId`), so the page's default zone is known. Saves docs/screenshots/calendar.png (week)
 * and calendar-month.png.
 */
import { DateTime } from 'luxon';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithSystemBinary } from '../helpers/system-binary.js';
import { CHROMIUM, doc, startBrowserSession, type BrowserGlobals, type BrowserSession } from './harness.js';

const BERLIN = 'Europe/Berlin';
const NEW_YORK = 'America/New_York';
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describeWithSystemBinary(CHROMIUM, 'calendar page in Chromium', (executablePath) => {
  let session: BrowserSession;
  // The first Friday at least two days ahead (Berlin), so the planned change is in the future.
  const now = DateTime.now().setZone(BERLIN);
  let friday = now.plus({ days: 2 }).startOf('day');
  while (friday.weekday !== 5) friday = friday.plus({ days: 1 });
  const wednesday = friday.minus({ days: 2 });
  const fridayDate = friday.toISODate()!;
  const regionName = (day: DateTime) => day.setLocale('en-GB').toFormat('cccc d LLLL yyyy');
  let changeName = '';

  beforeAll(async () => {
    session = await startBrowserSession(executablePath);
    const { client } = session;
    await client.apply([
      doc('Environment', 'prod', { production: true }),
      doc('Environment', 'staging', {}),
      doc('Service', 'ledger', { owner: 'team-pay', target: { type: 'command', deploy: 'true' } }),
      doc('Window', 'payments-freeze', { type: 'blackout', description: 'Weekly settlement run', timeZone: BERLIN, rrule: 'FREQ=WEEKLY;BYDAY=FR', start: '22:00', duration: '4h', scope: { environments: ['prod'] } }),
      doc('Window', 'db-maintenance', {
        type: 'maintenance',
        timeZone: NEW_YORK,
        from: DateTime.fromISO(`${wednesday.toISODate()}T10:00`, { zone: NEW_YORK }).toISO()!,
        to: DateTime.fromISO(`${wednesday.toISODate()}T14:00`, { zone: NEW_YORK }).toISO()!,
        scope: { environments: ['staging'] },
      }),
    ]);
    const change = await client.changes.create({
      type: 'normal',
      title: 'Upgrade ledger',
      services: ['ledger'],
      environment: 'prod',
      plannedStart: friday.set({ hour: 23 }).toISO()!,
      plannedEnd: friday.plus({ days: 1 }).set({ hour: 0, minute: 30 }).toISO()!,
      backoutPlan: 'redeploy the previous version',
    });
    changeName = change.metadata.name;

    const cdp = await session.context.newCDPSession(session.page);
    await cdp.send('Emulation.setTimezoneOverride', { timezoneId: BERLIN });
    await session.signIn();
  }, 120_000);

  afterAll(async () => {
    await session?.close();
  });

  it('week view: blackout occurrences with the window zone, the maintenance window, the change and the conflict', async () => {
    const { page, serve } = session;
    await page.goto(`${serve.url}/calendar?date=${fridayDate}`);
    await page.getByTestId('week-grid').waitFor();
    // The browser's zone (overridden to Berlin) is the default.
    expect(await page.getByLabel('Time zone').inputValue()).toBe(BERLIN);

    const fridayColumn = page.getByRole('region', { name: regionName(friday), exact: true });
    const saturdayColumn = page.getByRole('region', { name: regionName(friday.plus({ days: 1 })), exact: true });
    const blackout = fridayColumn.getByRole('button', { name: /^Blackout payments-freeze, 22:00–24:00 Europe\/Berlin, continues the next day/ });
    await blackout.waitFor();
    expect(await blackout.textContent()).toContain('Fri 22:00–02:00 Europe/Berlin');
    await saturdayColumn.getByRole('button', { name: /^Blackout payments-freeze, 00:00–02:00 Europe\/Berlin/ }).waitFor();

    const changeLink = fridayColumn.getByRole('link', { name: new RegExp(`^Change ${changeName} Upgrade ledger, 23:00–24:00 .*blocking conflict`) });
    expect(await changeLink.getAttribute('href')).toBe(`/changes/${changeName}`);

    // The New York window, in Berlin time on Wednesday, with its own zone.
    const nyStart = DateTime.fromISO(`${wednesday.toISODate()}T10:00`, { zone: NEW_YORK }).setZone(BERLIN).toFormat('HH:mm');
    const maintenance = page.getByRole('region', { name: regionName(wednesday), exact: true }).getByRole('button', { name: new RegExp(`^Maintenance db-maintenance, ${nyStart}–`) });
    expect(await maintenance.textContent()).toContain('Wed 10:00–14:00 America/New_York');

    // The conflict, in the list under the grid and in the details of the focused change.
    const conflicts = page.getByRole('region', { name: /^Conflicts/ });
    expect(await conflicts.getByRole('heading').textContent()).toBe('Conflicts (1: 1 blocking, 0 warning)');
    const row = conflicts.getByRole('row', { name: new RegExp(`blocking inside-blackout Change "${escape(changeName)}"`) });
    expect(await row.textContent()).toContain('overlaps blackout window "payments-freeze"');

    await blackout.focus();
    await page.keyboard.press('Tab'); // keyboard: next item in the column
    const details = page.getByTestId('calendar-details');
    await expect.poll(() => details.textContent()).toContain('overlaps blackout window "payments-freeze"');
    await blackout.focus();
    await expect.poll(() => details.textContent()).toContain('In its zone: Fri 22:00–02:00 Europe/Berlin');

    await page.mouse.move(0, 0);
    await page.evaluate(() => (globalThis as unknown as BrowserGlobals).document.activeElement?.blur());
    await session.screenshot('calendar');
    expect(session.consoleErrors).toEqual([]);
  });

  it('updates live and follows another zone chosen in the selector', async () => {
    const { page, client } = session;
    const second = await client.changes.create({ type: 'normal', title: 'Rotate certificates', services: ['ledger'], environment: 'prod', plannedStart: wednesday.set({ hour: 9 }).toISO()!, plannedEnd: wednesday.set({ hour: 10 }).toISO()! });
    const wednesdayColumn = page.getByRole('region', { name: regionName(wednesday), exact: true });
    await wednesdayColumn.getByRole('link', { name: new RegExp(`^Change ${second.metadata.name} Rotate certificates, 09:00–10:00`) }).waitFor({ timeout: 10_000 });

    await page.getByLabel('Time zone').selectOption(NEW_YORK);
    await expect.poll(() => page.getByTestId('calendar-range').textContent()).toContain(NEW_YORK);
    expect(page.url()).toContain('tz=America%2FNew_York');
    const nyFriday = friday.set({ hour: 22 }).setZone(NEW_YORK);
    const nyEnd = friday.plus({ days: 1 }).set({ hour: 2 }).setZone(NEW_YORK).toFormat('HH:mm');
    await page
      .getByRole('region', { name: regionName(nyFriday), exact: true })
      .getByRole('button', { name: new RegExp(`^Blackout payments-freeze, ${nyFriday.toFormat('HH:mm')}–${nyEnd} America/New_York, window time Fri 22:00–02:00 Europe/Berlin`) })
      .waitFor();
    await page.getByLabel('Time zone').selectOption(BERLIN);
    expect(session.consoleErrors).toEqual([]);
  });

  it('month view shows the weekly recurrence', async () => {
    const { page } = session;
    await page.getByRole('button', { name: 'Month' }).click();
    const grid = page.getByTestId('month-grid');
    await grid.waitFor();
    expect(page.url()).toContain('view=month');
    // Every Friday of the month (and the Saturday morning after it) carries an occurrence.
    const fridaysInMonth: DateTime[] = [];
    for (let day = friday.startOf('month'); day.month === friday.month; day = day.plus({ days: 1 })) if (day.weekday === 5) fridaysInMonth.push(day);
    for (const day of fridaysInMonth) {
      await grid.getByRole('cell', { name: regionName(day), exact: true }).getByRole('button', { name: /^Blackout payments-freeze, 22:00–24:00/ }).waitFor();
    }
    expect(await grid.getByRole('button', { name: /^Blackout payments-freeze, 22:00–24:00/ }).count()).toBeGreaterThanOrEqual(fridaysInMonth.length);
    await page.mouse.move(0, 0);
    await session.screenshot('calendar-month');
    expect(session.consoleErrors).toEqual([]);
  });

  it('on a phone the grid becomes an agenda without horizontal scrolling', async () => {
    const { page, serve } = session;
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.goto(`${serve.url}/calendar?date=${fridayDate}`);
      const agenda = page.getByTestId('agenda');
      await agenda.waitFor();
      expect(await page.getByTestId('week-grid').count()).toBe(0);
      const headings = await agenda.getByRole('heading').allTextContents();
      expect(headings).toContain(regionName(friday));
      expect(await agenda.textContent()).toContain('overlaps blackout window "payments-freeze"');
      await agenda.getByRole('link', { name: new RegExp(`^Change ${changeName}`) }).first().waitFor();
      const width = await page.evaluate(() => (globalThis as unknown as BrowserGlobals).document.documentElement.scrollWidth as number);
      expect(width).toBeLessThanOrEqual(390);
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
    expect(session.consoleErrors).toEqual([]);
  });
});
