/**
 * What every browser suite needs: `rollgate serve` (a child process, as users run it, in its own
 * temp dir) with its admin token and a typed client, and Debian's Chromium (never a downloaded one)
 * driven by playwright-core with a fresh profile, collecting console errors. dist/web is built once
 * by the global setup (build-once.ts). Use inside `describeWithSystemBinary(CHROMIUM, ...)`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createClient, type ObjectDocument, type RollgateClient } from '../../src/client/index.js';
import { ROOT, startServe, type ServeProcess } from '../e2e/helpers.js';
import type { SystemBinary } from '../helpers/system-binary.js';

export const CHROMIUM: SystemBinary = { envVar: 'ROLLGATE_TEST_CHROMIUM', name: 'chromium', packagePath: '/usr/bin/chromium', debianPackage: 'chromium', article: 'a Chromium' };
export const SCREENSHOTS = path.join(ROOT, 'docs/screenshots');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** A document for `client.apply` / `client.create`. */
export const doc = (kind: ObjectDocument['kind'], name: string, spec: Record<string, unknown>) => ({ apiVersion: 'rollgate.dev/v1alpha1', kind, metadata: { name }, spec });
/** The page's globals inside `page.evaluate` (this project's tsconfig has no DOM types). */
export type BrowserGlobals = { document: any; window: any; sessionStorage: { length: number }; localStorage: { length: number } };

export interface BrowserSession {
  serve: ServeProcess;
  /** The admin token `rollgate serve` minted on its first start. */
  adminToken: string;
  /** A client with the admin token. */
  client: RollgateClient;
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors seen so far (tests may clear it after an expected one). */
  consoleErrors: string[];
  /** Where `rollgate serve` runs (its .rollgate/ data dir is in there). */
  cwd: string;
  /** Signs in through the sign-in page with `token` (default: the admin token) and waits for the app. */
  signIn(token?: string): Promise<void>;
  /** Signs out (clears the tab's session) and shows the sign-in page. */
  signOut(): Promise<void>;
  /** Saves docs/screenshots/<name>.png. */
  screenshot(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function startBrowserSession(executablePath: string, options: { serveArgs?: string[]; serveEnv?: Record<string, string>; viewport?: { width: number; height: number } } = {}): Promise<BrowserSession> {
  const cwd = mkdtempSync(path.join(tmpdir(), 'rollgate-web-e2e-'));
  // A fresh profile each time (launchPersistentContext's userDataDir is Chromium's --user-data-dir).
  const profile = mkdtempSync(path.join(tmpdir(), 'rollgate-chromium-'));
  const serve = await startServe(cwd, options.serveArgs ?? [], options.serveEnv ?? {});
  const adminToken = (JSON.parse(readFileSync(path.join(cwd, '.rollgate/config.json'), 'utf8')) as { token: string }).token;
  const client = createClient({ server: serve.url, token: adminToken });
  const context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: CHROMIUM_ARGS, viewport: options.viewport ?? { width: 1280, height: 800 } });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));

  return {
    serve,
    adminToken,
    client,
    context,
    page,
    consoleErrors,
    cwd,
    async signIn(token = adminToken) {
      await page.goto(serve.url);
      await page.getByLabel('API token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByTestId('current-user').waitFor();
    },
    async signOut() {
      await page.evaluate(() => (globalThis as unknown as { sessionStorage: { clear(): void } }).sessionStorage.clear());
      await page.goto(serve.url);
      await page.getByLabel('API token').waitFor();
    },
    async screenshot(name) {
      mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
    },
    async close() {
      await context.close().catch(() => undefined);
      await serve.stop();
      for (const dir of [cwd, profile]) rmSync(dir, { recursive: true, force: true });
    },
  };
}
