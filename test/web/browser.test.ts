/**
 * The web UI in a real browser: Debian's Chromium (never a downloaded one) driven by playwright-core
 * against `rollgate serve` (a child process, as users run it), with data created through the API.
 * Signs in with the admin token, checks the overview, measures it with 1,000 services, and saves
 * docs/screenshots/overview.png. Skips, saying why, without Chromium; fails instead under CI or
 * ROLLGATE_TEST_CHROMIUM (.ci/run installs the "chromium" package and exports it).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClient, type ObjectDocument } from '../../src/client/index.js';
import { ROOT, startServe, type ServeProcess } from '../e2e/helpers.js';
import { describeWithSystemBinary, type SystemBinary } from '../helpers/system-binary.js';

const CHROMIUM: SystemBinary = { envVar: 'ROLLGATE_TEST_CHROMIUM', name: 'chromium', packagePath: '/usr/bin/chromium', debianPackage: 'chromium', article: 'a Chromium' };
const SCREENSHOTS = path.join(ROOT, 'docs/screenshots');
const SERVICES = 1000;

const doc = (kind: ObjectDocument['kind'], name: string, spec: Record<string, unknown>) => ({ apiVersion: 'rollgate.dev/v1alpha1', kind, metadata: { name }, spec });
/** The page's globals inside `page.evaluate` (this project's tsconfig has no DOM types). */
type BrowserGlobals = { document: any; window: any; sessionStorage: { length: number }; localStorage: { length: number } };

describeWithSystemBinary(CHROMIUM, 'web UI in Chromium', (executablePath) => {
  let cwd: string;
  let profile: string;
  let serve: ServeProcess;
  let token: string;
  let context: BrowserContext;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    cwd = mkdtempSync(path.join(tmpdir(), 'rollgate-web-e2e-'));
    profile = mkdtempSync(path.join(tmpdir(), 'rollgate-chromium-'));
    serve = await startServe(cwd);
    token = (JSON.parse(readFileSync(path.join(cwd, '.rollgate/config.json'), 'utf8')) as { token: string }).token;

    const client = createClient({ server: serve.url, token });
    const services = Array.from({ length: SERVICES }, (_, i) => doc('Service', `svc-${String(i).padStart(4, '0')}`, { owner: 'team-web', target: { type: 'command', deploy: 'true' } }));
    await client.apply([
      doc('Environment', 'staging', {}),
      doc('Environment', 'prod', { production: true }),
      doc('Pipeline', 'main', { services: ['checkout', 'cart'], stages: [{ environment: 'staging' }, { environment: 'prod' }] }),
      doc('Service', 'checkout', { owner: 'team-pay', target: { type: 'command', deploy: 'true' } }),
      doc('Service', 'cart', { owner: 'team-pay', target: { type: 'command', deploy: 'true' } }),
    ]);
    // An apply batch holds at most 500 documents.
    for (let i = 0; i < services.length; i += 500) await client.apply(services.slice(i, i + 500));
    await client.create(doc('Deployment', 'checkout-staging-1', { service: 'checkout', environment: 'staging', version: '1.4.0' }));
    await client.create(doc('Deployment', 'cart-staging-1', { service: 'cart', environment: 'staging', version: '2.0.1' }));

    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      viewport: { width: 1280, height: 800 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await serve?.stop();
    for (const dir of [cwd, profile]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a wrong token and signs in with the admin token', async () => {
    await page.goto(serve.url);
    await page.getByLabel('API token').fill('rg_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not accepted');
    consoleErrors.length = 0; // the browser logs the refused whoami (401) itself: expected here

    await page.getByLabel('API token').fill(token);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    expect(await page.getByTestId('current-user').textContent()).toMatch(/admin$/);
    expect(await page.evaluate(() => [(globalThis as unknown as BrowserGlobals).sessionStorage.length, (globalThis as unknown as BrowserGlobals).localStorage.length])).toEqual([1, 0]);
    await expect.poll(() => page.getByTestId('live-indicator').textContent(), { timeout: 10_000 }).toBe('Live');
  });

  it('shows every service × environment, virtualized, with search and filters', async () => {
    const started = Date.now();
    await page.reload();
    // Every service in both environments (the pipeline's, and all environments for the others).
    await page.getByText('2,004 rows').waitFor();
    const loadMs = Date.now() - started;
    const rowsInDom = await page.getByRole('row').count();
    expect(rowsInDom).toBeGreaterThan(5);
    expect(rowsInDom).toBeLessThan(80);

    const searching = Date.now();
    await page.getByLabel('Search', { exact: true }).fill('svc-09');
    await page.getByText('200 of 2,004 rows').waitFor();
    const searchMs = Date.now() - searching;
    await page.getByLabel('Search', { exact: true }).fill('');

    // Scrolling to the end renders the last rows.
    await page.locator('.vtable-scroll').evaluate((element) => (element.scrollTop = element.scrollHeight));
    await page.getByRole('cell', { name: 'svc-0999' }).first().waitFor();
    console.info(`overview in Chromium with ${SERVICES + 2} services × 2 environments: loaded and rendered in ${loadMs} ms (reload included), search filtered in ${searchMs} ms, ${rowsInDom} rows in the DOM`);
    await page.locator('.vtable-scroll').evaluate((element) => (element.scrollTop = 0));

    await page.getByLabel('Search', { exact: true }).fill('c');
    await page.getByLabel('Environment', { exact: true }).selectOption('staging');
    const checkout = page.getByRole('link', { name: 'checkout' });
    expect(await checkout.getAttribute('href')).toBe('/rollouts/checkout-staging-1');
    expect(new URL(page.url()).search).toBe('?q=c&env=staging');
  });

  it('saves a screenshot of the overview, with no console errors', async () => {
    await page.goto(`${serve.url}/?env=staging`);
    await page.getByRole('link', { name: 'cart' }).waitFor();
    await new Promise((resolve) => setTimeout(resolve, 1500)); // let the engine finish the two direct deploys
    await page.reload();
    await page.getByRole('link', { name: 'cart' }).waitFor();
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, 'overview.png') });
    expect(consoleErrors).toEqual([]);
  });

  it('opens a deep link directly, navigates by keyboard, and fits a phone screen', async () => {
    await page.goto(`${serve.url}/rollouts/checkout-staging-1`);
    await page.getByRole('heading', { level: 1, name: 'checkout-staging-1' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).document.activeElement?.textContent)).toBe('Skip to content');

    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(serve.url);
    await page.getByText('2,004 rows').waitFor();
    expect(await page.evaluate(() => { const g = globalThis as unknown as BrowserGlobals; return g.document.documentElement.scrollWidth <= g.window.innerWidth; })).toBe(true);
    await page.setViewportSize({ width: 1280, height: 800 });
    expect(consoleErrors).toEqual([]);
  });
});
