/**
 * Issue 7's "done when": `npx rollgate demo --keep` prints the web UI's address, and every page works
 * against it in a real browser (Debian's Chromium through playwright-core): signed in with the admin
 * token the demo prints, each page renders its heading without console errors, the rollouts show the
 * demo's promoted v2 and the v3 stopped by analysis. Ctrl-C then stops the demo.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT } from '../e2e/helpers.js';
import { describeWithSystemBinary } from '../helpers/system-binary.js';
import { CHROMIUM } from './harness.js';

const CLI_ENTRY = path.join(ROOT, 'src/cli/main.ts');
const TSX_LOADER = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Each page of the UI and the heading it must show against the demo's data. */
const PAGES: Array<{ path: string; heading: RegExp }> = [
  { path: '/', heading: /^Overview$/ },
  { path: '/rollouts', heading: /^Rollouts$/ },
  { path: '/rollouts/demo-shop-v3', heading: /demo-shop-v3/ },
  { path: '/approvals', heading: /^Approvals$/ },
  { path: '/releases', heading: /^Releases$/ },
  { path: '/changes', heading: /^Changes$/ },
  { path: '/calendar', heading: /^Calendar$/ },
  { path: '/audit', heading: /^Audit log$/ },
];

describeWithSystemBinary(CHROMIUM, 'web UI against `rollgate demo --keep`', (executablePath) => {
  let cwd: string;
  let profile: string;
  let demo: ChildProcess;
  let output = '';
  let url: string;
  let token: string;
  let context: BrowserContext;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    cwd = mkdtempSync(path.join(tmpdir(), 'rollgate-demo-keep-'));
    profile = mkdtempSync(path.join(tmpdir(), 'rollgate-chromium-'));
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ROLLGATE_')));
    demo = spawn(process.execPath, ['--import', TSX_LOADER, CLI_ENTRY, 'demo', '--keep'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    demo.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    demo.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 150_000;
    while (!/^\s*admin token \S+$/m.test(output)) {
      if (demo.exitCode !== null || Date.now() > deadline) throw new Error(`the demo did not reach --keep:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    url = output.match(/web UI\s+(http:\/\/\S+?)\/?\s/)![1]!;
    token = output.match(/^\s*admin token (\S+)$/m)![1]!;
    context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 800 } });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
  }, 180_000);

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    if (demo && demo.exitCode === null) {
      const exited = new Promise((resolve) => demo.once('exit', resolve));
      demo.kill('SIGINT');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
      if (demo.exitCode === null) demo.kill('SIGKILL');
    }
    for (const dir of [cwd, profile]) if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('prints the web UI address, and the UI signs in with the printed admin token', async () => {
    expect(output).toMatch(/web UI\s+http:\/\/127\.0\.0\.1:\d+\//);
    await page.goto(url);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('current-user').waitFor();
  });

  it('renders every page against the demo without console errors', async () => {
    for (const { path: route, heading } of PAGES) {
      await page.goto(`${url}${route}`);
      await expect.poll(async () => (await page.getByRole('heading', { level: 1 }).first().textContent())?.trim() ?? '', { timeout: 15_000, message: route }).toMatch(heading);
    }
    expect(consoleErrors).toEqual([]);
  });

  it('shows the demo rollouts: v2 promoted, v3 aborted by analysis', async () => {
    await page.goto(`${url}/rollouts`);
    await expect.poll(() => page.getByRole('main').textContent(), { timeout: 15_000 }).toMatch(/demo-shop-v3[\s\S]*Aborted|Aborted[\s\S]*demo-shop-v3/);
    await page.goto(`${url}/rollouts/demo-shop-v3`);
    await expect.poll(() => page.getByRole('main').textContent(), { timeout: 15_000 }).toMatch(/Aborted/);
    await page.goto(`${url}/`);
    await expect.poll(() => page.getByRole('main').textContent(), { timeout: 15_000 }).toContain('2.0.0');
    expect(consoleErrors).toEqual([]);
  });
});
