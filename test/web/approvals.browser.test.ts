/**
 * The approvals inbox, the change list and a change record in Chromium against `rollgate serve`,
 * with users, tokens, an Environment with approval rules and change records created through the
 * typed client. Alice requests; she sees her change but cannot approve it (no button, and the
 * server refuses her with 403 separation-of-duties); Bob approves in the browser (1 of 2, live);
 * Carol approves and the change moves on to Scheduled. A refusal only the server knows (Erin was
 * removed from cab after she signed in) is shown in the page. Saves approvals.png, change.png and
 * changes.png.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiError, createClient, type RollgateClient } from '../../src/client/index.js';
import { describeWithSystemBinary } from '../helpers/system-binary.js';
import { CHROMIUM, doc, startBrowserSession, type BrowserSession } from './harness.js';

const HOUR = 3_600_000;
const at = (hours: number) => new Date(Math.ceil(Date.now() / HOUR) * HOUR + hours * HOUR).toISOString();

describeWithSystemBinary(CHROMIUM, 'approvals and changes in Chromium', (executablePath) => {
  let session: BrowserSession;
  const tokens: Record<string, string> = {};
  const clients: Record<string, RollgateClient> = {};
  let main = '';
  let second = '';

  beforeAll(async () => {
    session = await startBrowserSession(executablePath);
    session.page.setDefaultTimeout(10_000);
    const { client } = session;
    await client.apply([
      doc('Environment', 'staging', {}),
      doc('Environment', 'prod', { production: true, dataSensitivity: 'restricted', approvals: [{ group: 'cab', count: 2 }] }),
      doc('Service', 'checkout', { owner: 'team-pay', tier: 'critical', businessServices: ['online-store'], target: { type: 'command', deploy: 'true' } }),
      doc('Service', 'cart', { owner: 'team-pay', target: { type: 'command', deploy: 'true' } }),
      doc('Window', 'prod-maintenance', { type: 'maintenance', timeZone: 'UTC', from: at(29), to: at(33), scope: { environments: ['prod'] } }),
    ]);
    const users: Record<string, string[]> = { alice: ['release-managers'], bob: ['cab'], carol: ['cab'], erin: ['cab'] };
    for (const [name, groups] of Object.entries(users)) {
      await client.users.create(name, { groups, displayName: name });
      tokens[name] = (await client.tokens.create({ name: `${name}-web`, role: 'approver', user: name })).token;
      clients[name] = createClient({ server: session.serve.url, token: tokens[name]! });
    }

    const changeInput = (title: string, services: string[]) => ({
      type: 'normal' as const,
      title,
      services,
      plannedStart: at(30),
      plannedEnd: at(32),
      implementationPlan: 'rollgate deploy checkout --version 2.4.0 --env prod',
      backoutPlan: 'rollgate rollout abort checkout',
      testPlan: 'smoke suite and canary analysis',
      justification: 'fixes the rounding bug in order totals',
      environment: 'prod',
      evidence: [{ title: 'CI run 4711', link: 'https://ci.example.com/runs/4711', kind: 'test-report' }],
    });
    main = (await clients.alice!.changes.create(changeInput('Upgrade checkout to 2.4', ['checkout']))).metadata.name;
    second = (await clients.alice!.changes.create(changeInput('Resize cart workers', ['cart']))).metadata.name;
    for (const name of [main, second]) {
      await clients.alice!.changes.transition(name, 'Assess');
      await clients.alice!.changes.transition(name, 'Authorize');
    }
  }, 120_000);

  afterAll(async () => {
    await session?.close();
  });

  it('the server refuses the requester with 403 separation of duties', async () => {
    const refused = await clients.alice!.changes.approve(main, 'my own change').then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(403);
    expect((refused as ApiError).problem.detail).toBe(`user "alice" requested change ${main} and cannot approve it (separation of duties)`);
  });

  it('alice (the requester) sees her change in the inbox and the list, without approve / reject', async () => {
    const { page } = session;
    await session.signIn(tokens.alice);
    await page.goto(`${session.serve.url}/approvals`);
    const entry = page.getByTestId(`inbox-${main}`);
    await entry.waitFor();
    expect(await entry.getByText('your request').count()).toBe(1);
    expect(await entry.getByText('You requested this change: separation of duties bars you from approving or rejecting it.').count()).toBe(1);
    expect(await entry.getByRole('button', { name: /Approve|Reject/ }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /Approve|Reject/ }).count()).toBe(0);

    await page.goto(`${session.serve.url}/changes`);
    await page.getByTestId('changes-count').filter({ hasText: '2 changes' }).waitFor();
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: main }) });
    expect(await row.textContent()).toMatch(/Upgrade checkout to 2\.4.*normal.*Authorize.*needs cab 0 of 2.*(medium|high) · \d+.*prod.*alice/);
    await page.getByLabel('Search').fill('cart');
    await page.getByTestId('changes-count').filter({ hasText: '1 of 2 changes' }).waitFor();
    await page.getByLabel('Search').fill('');
    await session.screenshot('changes');

    await page.getByRole('link', { name: main }).click();
    await page.getByRole('heading', { level: 1, name: `${main} · Upgrade checkout to 2.4` }).waitFor();
    expect(await page.getByRole('button', { name: /Approve|Reject/ }).count()).toBe(0);
    expect(session.consoleErrors).toEqual([]);
  });

  it('bob (cab) approves with a comment: 1 of 2; carol approving elsewhere shows up live', async () => {
    const { page } = session;
    await session.signOut();
    await session.signIn(tokens.bob);
    await page.goto(`${session.serve.url}/approvals`);
    const entry = page.getByTestId(`inbox-${main}`);
    await entry.getByRole('button', { name: `Approve ${main}` }).waitFor();
    expect(await page.getByTestId('approvals-count').textContent()).toBe('2 waiting for you or your groups · 2 awaiting the board');
    expect(await entry.getByTestId('inbox-progress').textContent()).toContain('cab: 0 of 2 — 2 more');
    expect(await entry.textContent()).toMatch(/Risk fromService tier \+20/);
    await expect.poll(() => page.getByTestId('live-indicator').textContent(), { timeout: 10_000 }).toBe('Live');
    await session.screenshot('approvals');

    await entry.getByRole('button', { name: `Approve ${main}` }).click();
    const dialog = page.getByRole('dialog', { name: `Approve ${main}?` });
    await dialog.getByLabel('Comment (required)').fill('plans and backout look right');
    await dialog.getByRole('button', { name: 'Confirm approve' }).click();
    await expect.poll(() => entry.getByTestId('inbox-progress').textContent()).toContain('cab: 1 of 2 (bob) — 1 more');
    expect(await entry.getByText('You already decided on this version of the change (one decision per person until it is edited).').count()).toBe(1);

    // Carol approves the second change through the API: bob's page updates without a reload.
    const other = page.getByTestId(`inbox-${second}`);
    expect(await other.getByTestId('inbox-progress').textContent()).toContain('cab: 0 of 2');
    await clients.carol!.changes.approve(second, 'capacity checked');
    await expect.poll(() => other.getByTestId('inbox-progress').textContent(), { timeout: 10_000 }).toContain('cab: 1 of 2 (carol) — 1 more');
    expect(session.consoleErrors).toEqual([]);
  });

  it('shows the server refusal for a decision only the server can refuse (erin left cab after signing in)', async () => {
    const { page } = session;
    await session.signOut();
    await session.signIn(tokens.erin);
    await page.goto(`${session.serve.url}/approvals`);
    const entry = page.getByTestId(`inbox-${second}`);
    await entry.getByRole('button', { name: `Approve ${second}` }).waitFor();
    await session.client.users.setGroups('erin', ['ops']);
    await entry.getByRole('button', { name: `Approve ${second}` }).click();
    const dialog = page.getByRole('dialog', { name: `Approve ${second}?` });
    await dialog.getByLabel('Comment (required)').fill('looks fine');
    await dialog.getByRole('button', { name: 'Confirm approve' }).click();
    const alert = entry.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain(`The server refused: user "erin" is in none of the groups change ${second} needs approvals from (cab); their groups: ops`);
    expect(await alert.textContent()).toContain(`POST /api/v1/changes/${second}/approvals answered 403`);
    // The browser logs the refused request (403) itself: expected here.
    expect(session.consoleErrors.every((line) => line.includes('403'))).toBe(true);
    session.consoleErrors.length = 0;
  });

  it('carol approves on the change page: approvals complete, the change moves to Scheduled; the record shows risk, approvals, audit', async () => {
    const { page } = session;
    await session.signOut();
    await session.signIn(tokens.carol);
    await page.goto(`${session.serve.url}/changes/${main}`);
    await page.getByRole('heading', { level: 1, name: `${main} · Upgrade checkout to 2.4` }).waitFor();
    expect(await page.getByTestId('approval-summary').textContent()).toBe('Missing: 1 more from cab (has 1 of 2: bob)');
    await page.getByRole('button', { name: `Approve ${main}` }).click();
    const dialog = page.getByRole('dialog', { name: `Approve ${main}?` });
    await dialog.getByLabel('Comment (required)').fill('security review done');
    await dialog.getByRole('button', { name: 'Confirm approve' }).click();

    await expect.poll(() => page.getByTestId('change-windows').textContent()).toBe('prod-maintenance (maintenance)');
    await expect.poll(() => page.getByTestId('approval-summary').textContent()).toBe('Complete.');
    await page.locator('[aria-current="step"]', { hasText: 'Scheduled' }).waitFor();
    expect(await page.getByText('Authorize → Scheduled').count()).toBe(1);
    const approvals = await page.getByTestId('change-approvals').textContent();
    expect(approvals).toMatch(/bobapprovedcab.*plans and backout look right/);
    expect(approvals).toMatch(/carolapprovedcab.*security review done/);
    const audit = await page.getByTestId('change-audit').textContent();
    for (const action of ['change.create', 'change.approve']) expect(audit).toContain(action);
    expect(audit).toContain('separation of duties'); // alice's refused attempt is on the record

    const risk = page.getByTestId('risk-breakdown');
    const riskText = await risk.textContent();
    expect(riskText).toMatch(/Service tier.*critical.*20/);
    expect(riskText).toMatch(/Environment data sensitivity.*restricted/);
    expect(await page.getByTestId('risk-floor').textContent()).toMatch(/^Rule “restricted-data-customer-facing” sets at least medium \(customer-facing change in an environment holding restricted data\)/);
    expect(await page.getByRole('button', { name: /Approve|Reject/ }).count()).toBe(0);
    await page.getByRole('heading', { name: 'Risk' }).evaluate((heading: { scrollIntoView(options: unknown): void }) => heading.scrollIntoView({ block: 'start' }));
    await session.screenshot('change');
    expect(session.consoleErrors).toEqual([]);

    // The board's queue no longer has it.
    expect((await clients.carol!.changes.cab()).map((entry) => entry.name)).toEqual([second]);
  }, 60_000);

  it('reads well on a phone: no horizontal scroll on the inbox and the change page', async () => {
    const { page } = session;
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [path, ready] of [['/approvals?scope=all', 'approvals-count'], [`/changes/${main}`, 'change-audit'], ['/changes', 'changes-count']] as const) {
      await page.goto(`${session.serve.url}${path}`);
      await page.getByTestId(ready).waitFor();
      const overflow = await page.evaluate(() => {
        const doc = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document;
        return doc.documentElement.scrollWidth - doc.documentElement.clientWidth;
      });
      expect(overflow, path).toBeLessThanOrEqual(0);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    expect(session.consoleErrors).toEqual([]);
  }, 60_000);
});
