/**
 * The releases, release and audit pages in Chromium against `rollgate serve`, with data created
 * through the typed client: a release with scope of every classification, a component with its
 * digest, a posted result and a go/no-go criterion, promoted to dev. Saves releases.png,
 * release.png and audit.png.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClient } from '../../src/client/index.js';
import { describeWithSystemBinary } from '../helpers/system-binary.js';
import { CHROMIUM, doc, startBrowserSession, type BrowserGlobals, type BrowserSession } from './harness.js';

const DIGEST = 'sha256:1100000000000000000000000000000000000000000000000000000000000abc';

describeWithSystemBinary(CHROMIUM, 'releases and audit pages in Chromium', (executablePath) => {
  let session: BrowserSession;

  beforeAll(async () => {
    session = await startBrowserSession(executablePath);
    const { client } = session;
    await client.apply([
      doc('User', 'dave', { displayName: 'Dave (head of releases)', groups: ['release-managers'] }),
      doc('User', 'carol', { displayName: 'Carol (compliance)', groups: ['compliance'] }),
      doc('Environment', 'dev', {}),
      doc('Environment', 'staging', {}),
      doc('Environment', 'prod', { production: true }),
      doc('Service', 'ledger', { owner: 'team-payments', businessServices: ['payments'], target: { type: 'command', deploy: 'true' } }),
      doc('Service', 'storefront', { owner: 'team-web', dependsOn: ['ledger'], target: { type: 'command', deploy: 'true' } }),
      doc('Pipeline', 'ledger-path', { services: ['ledger'], stages: [{ environment: 'dev' }, { environment: 'staging' }, { environment: 'prod' }] }),
      doc('Artifact', 'ledger-1-1-0', { service: 'ledger', version: '1.1.0', digest: DIGEST, author: 'erin', signatures: [{ keyId: 'ci', signature: 'MEUCIQDexample' }], attestations: [{ type: 'provenance' }] }),
    ]);
    await client.releases.create(
      {
        version: '1.1.0',
        description: 'Multi-currency settlement',
        freezeDate: new Date(Date.now() - 86_400_000).toISOString(),
        components: [{ service: 'ledger', version: '1.1.0', digest: DIGEST }],
        scope: [
          { title: 'Report EU settlements to the regulator', classification: 'net-new', value: 90, contractual: true, jurisdictions: ['eu'] },
          { title: 'Settle payments in several currencies', classification: 'enhancement', link: 'https://tracker.example/PAY-12' },
          { title: 'Reject negative amounts', classification: 'defect-fix' },
        ],
        goNoGo: { environment: 'prod', criteria: [{ id: 'coverage', required: true, description: 'coverage at least 80%', result: { name: 'coverage', type: 'coverage', min: 80 } }, { id: 'load-test', result: { name: 'load-test', type: 'benchmark', max: 250 } }] },
      },
      { name: 'ledger-1-1-0' },
    );
    await client.releases.postResult('ledger-1-1-0', { name: 'coverage', type: 'coverage', value: 87.5, passed: true, service: 'ledger' });
    await client.releases.create({ version: '2.0.0', components: [] }, { name: 'ledger-2-0-0' });
    await client.promotions.promote('ledger-1-1-0', { environment: 'dev' });
    const dave = await client.tokens.create({ name: 'dave-token', role: 'approver', user: 'dave' });
    await createClient({ server: session.serve.url, token: dave.token }).releases.decide('ledger-1-1-0', { environment: 'prod', decision: 'no-go', comment: 'load test still missing' });
    await session.signIn();
  }, 120_000);

  afterAll(async () => {
    await session?.close();
  });

  it('lists the releases with version, components, path and last go/no-go, searchable', async () => {
    const { page, serve } = session;
    await page.goto(`${serve.url}/releases`);
    await page.getByRole('heading', { level: 1, name: 'Releases' }).waitFor();
    await page.getByTestId('releases-count').getByText('2 shown').waitFor();
    const row = page.getByRole('row', { name: /ledger-1-1-0/ });
    expect(await row.textContent()).toContain('1.1.0');
    expect(await row.getByRole('list', { name: /^Path: dev . → staging · → prod ·$/ }).count()).toBe(1);
    expect(await row.textContent()).toMatch(/NO-GO for prod by dave/);
    await page.getByLabel('Search').fill('multi-currency');
    await page.getByTestId('releases-count').getByText('1 of 2 shown').waitFor();
    expect(new URL(page.url()).search).toBe('?q=multi-currency');
    await page.getByLabel('Search').fill('');
    await page.waitForTimeout(1500); // the dev rollout finishes (command target `true`)
    await page.reload();
    await page.getByRole('link', { name: 'ledger-1-1-0' }).waitFor();
    await session.screenshot('releases');
    expect(session.consoleErrors).toEqual([]);
  });

  it('shows a release: scope by classification, the digest, criteria states and the path', async () => {
    const { page } = session;
    await page.getByRole('link', { name: 'ledger-1-1-0' }).click();
    await page.getByRole('heading', { level: 1, name: 'Release ledger-1-1-0' }).waitFor();
    for (const [classification, title] of [
      ['net-new', 'Report EU settlements to the regulator'],
      ['enhancement', 'Settle payments in several currencies'],
      ['defect-fix', 'Reject negative amounts'],
    ] as const) {
      expect(await page.getByTestId(`scope-${classification}`).textContent()).toContain(title);
    }
    expect(await page.getByTestId('scope-net-new').textContent()).toMatch(/contractual.*jurisdiction eu/);
    const digest = page.locator('code[data-digest]');
    expect(await digest.textContent()).toBe('sha256:110000000000');
    expect(await digest.getAttribute('title')).toBe(DIGEST);
    const prod = page.getByTestId('gonogo-prod');
    expect(await prod.textContent()).toContain('BLOCKED');
    expect(await prod.getByRole('row', { name: /coverage/ }).textContent()).toMatch(/met.*automatic.*yes.*passed \(value 87\.5\)/);
    expect(await prod.getByRole('row', { name: /load-test/ }).textContent()).toMatch(/pending/);
    expect(await prod.getByRole('row', { name: /compliance-signoff/ }).textContent()).toMatch(/pending.*manual/);
    expect(await page.getByRole('list', { name: 'Promotion path' }).textContent()).toMatch(/^dev✓?.*promoted.*staging.*not promoted yet.*prod/);
    expect(await page.getByText('storefront (outside the release)').count()).toBe(1);
    await session.screenshot('release');
    expect(session.consoleErrors).toEqual([]);

    // The admin token belongs to no group: the server refuses its decision, and the dialog says why.
    expect(await prod.getByRole('button', { name: 'Record GO for prod…' }).isDisabled()).toBe(true);
    await prod.getByRole('button', { name: 'Record NO-GO for prod…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Record NO-GO for ledger-1-1-0 in prod' });
    await dialog.getByLabel(/Comment/).fill('not yet');
    await dialog.getByRole('button', { name: 'Record NO-GO' }).click();
    await expect.poll(() => dialog.getByRole('alert').textContent()).toMatch(/^Refused \(403 Forbidden\): a no-go decision needs membership of group "release-managers"/);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    // Chromium logs the refused request (403) itself: expected here.
    expect(session.consoleErrors.every((error) => /status of 403/.test(error))).toBe(true);
    session.consoleErrors.length = 0;
  });

  it('lets a compliance member sign the release off from its page', async () => {
    const { page, serve } = session;
    const carol = await session.client.tokens.create({ name: 'carol-token', role: 'approver', user: 'carol' });
    await session.signOut();
    await session.signIn(carol.token);
    await page.goto(`${serve.url}/releases/ledger-1-1-0`);
    const prod = page.getByTestId('gonogo-prod');
    const row = prod.getByRole('row', { name: /compliance-signoff/ });
    await row.getByRole('button', { name: 'Sign off for compliance…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Sign off ledger-1-1-0 for compliance' });
    await dialog.getByLabel(/Comment/).fill('EU reporting reviewed');
    await dialog.getByRole('button', { name: 'Sign off' }).click();
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    await expect.poll(() => row.textContent()).toMatch(/met.*manual.*yes.*signed off by carol for compliance/);
    expect(await row.getByRole('button').count()).toBe(0);
    expect(await page.getByRole('region', { name: 'Go / no-go' }).textContent()).toMatch(/compliance: carol, .* — “EU reporting reviewed”/);
    expect((await session.client.releases.overview('ledger-1-1-0')).signoffs).toMatchObject([{ group: 'compliance', user: 'carol', comment: 'EU reporting reviewed' }]);
    expect(session.consoleErrors).toEqual([]);
    await session.signOut();
    await session.signIn();
  });

  it('shows the audit log newest first, searchable, with the chain verified', async () => {
    const { page, serve } = session;
    await page.goto(`${serve.url}/audit`);
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    await expect.poll(() => page.getByTestId('audit-verify').textContent()).toMatch(/Chain verified: \d+ events/);
    await page.getByRole('cell', { name: 'ledger-1-1-0' }).first().waitFor();
    const seqs = await page.locator('td.audit-seq').allTextContents();
    expect(seqs.map(Number)).toEqual([...seqs.map(Number)].sort((a, b) => b - a));

    // Server-side: only the release's events.
    await page.getByLabel('Kind').selectOption('Release');
    await page.getByLabel('Object name').fill('ledger-1-1-0');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => new URL(page.url()).search).toBe('?kind=Release&name=ledger-1-1-0');
    await expect.poll(async () => (await page.locator('tbody tr').allTextContents()).every((text) => text.includes('Release/ledger-1-1-0'))).toBe(true);
    const filtered = await page.locator('td.audit-seq').count();
    expect(filtered).toBeGreaterThanOrEqual(2);

    // Client-side: an action.
    await page.getByLabel('Search loaded events').fill('create');
    await expect.poll(() => page.getByTestId('audit-count').textContent()).toMatch(new RegExp(`^1 of ${filtered} loaded events match`));
    await page.getByRole('button', { name: /^Details of event/ }).first().click();
    expect(await page.locator('pre.audit-json').textContent()).toContain('"version"');

    // Server-side: an action prefix, the release's workflow events only (its creation is left out).
    await page.getByLabel('Search loaded events').fill('');
    await page.getByLabel('Action').fill('release.*');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => new URL(page.url()).search).toBe('?kind=Release&name=ledger-1-1-0&action=release.*');
    await expect
      .poll(async () => {
        const actions = await page.locator('td[data-label="Action"]').allTextContents();
        return actions.length > 0 && actions.length < filtered && actions.every((action) => action.startsWith('release.'));
      })
      .toBe(true);
    expect(await page.locator('td[data-label="Action"]').allTextContents()).toEqual(expect.arrayContaining(['release.result', 'release.promote']));

    // Live: a new event appears without a reload.
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByRole('cell', { name: 'ledger-2-0-0' }).first().waitFor();
    const before = await page.getByRole('cell', { name: 'ledger-2-0-0' }).count();
    await session.client.releases.postResult('ledger-2-0-0', { name: 'smoke', type: 'test', passed: true });
    await expect.poll(() => page.getByRole('cell', { name: 'ledger-2-0-0' }).count(), { timeout: 10_000 }).toBe(before + 1);
    await page.getByRole('button', { name: 'Verify again' }).click();
    await expect.poll(() => page.getByTestId('audit-verify').textContent()).toMatch(/Chain verified/);
    await session.screenshot('audit');

    await page.setViewportSize({ width: 390, height: 844 });
    for (const path of ['/audit', '/releases', '/releases/ledger-1-1-0']) {
      await page.goto(`${serve.url}${path}`);
      await page.getByRole('heading', { level: 1 }).waitFor();
      await page.waitForTimeout(300);
      expect(await page.evaluate(() => { const g = globalThis as unknown as BrowserGlobals; return g.document.documentElement.scrollWidth <= g.window.innerWidth; }), path).toBe(true);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    expect(session.consoleErrors).toEqual([]);
  });
});
