/**
 * The rollout pages in a real browser against `rollgate serve` running a real canary: the demo
 * app as local processes behind the embedded router, under steady load, judged by the sequential
 * template. Watches the rollout progress live (steps and weight move without a reload), saves
 * docs/screenshots/rollout.png with the charts, aborts from the UI (button → dialog → reason →
 * confirm) and checks through the router that the stable version serves every request again.
 * A viewer sees no action buttons; the list is saved as docs/screenshots/rollouts.png.
 */
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it, onTestFailed } from 'vitest';
import { ROOT } from '../e2e/helpers.js';
import { describeWithSystemBinary } from '../helpers/system-binary.js';
import { CHROMIUM, doc, startBrowserSession, type BrowserGlobals, type BrowserSession } from './harness.js';

const DEMO_APP = path.join(ROOT, 'examples/demo-app/server.js');
const SERVICE = 'web-shop';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One request through the router: the version that answered (x-demo-version), or null. */
async function versionVia(port: number): Promise<string | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/shop`, { signal: AbortSignal.timeout(3000) });
    await response.arrayBuffer();
    return response.headers.get('x-demo-version');
  } catch {
    return null;
  }
}

/** Steady load on the router (~30 requests/s, one at a time), until stopped; bounded to 5 minutes. */
function startLoad(port: number) {
  let running = true;
  const counts: Record<string, number> = {};
  const done = (async () => {
    const until = Date.now() + 5 * 60_000;
    while (running && Date.now() < until) {
      const version = await versionVia(port);
      counts[version ?? 'unreachable'] = (counts[version ?? 'unreachable'] ?? 0) + 1;
      await sleep(30);
    }
  })();
  return {
    counts,
    async stop() {
      running = false;
      await done;
    },
  };
}

describeWithSystemBinary(CHROMIUM, 'rollout pages in Chromium', (executablePath) => {
  let session: BrowserSession;
  let routerPort: number;
  let load: ReturnType<typeof startLoad> | null = null;

  const phaseOf = async (name: string): Promise<string | undefined> => {
    const deployment = await session.client.get('Deployment', name);
    return (deployment?.status as { rollout?: { phase?: string } } | null)?.rollout?.phase;
  };

  beforeAll(async () => {
    session = await startBrowserSession(executablePath);
    routerPort = await freePort();
    const { client } = session;
    await client.apply([
      doc('AnalysisTemplate', 'web-golden-signals', {
        judge: { sequential: { alpha: 0.05, tolerance: 0.5, horizon: '3s', edgeSamples: 100 } },
        metrics: [
          { name: 'errors', provider: { builtin: { metric: 'errorRate' } }, interval: '1s', noDataPolicy: 'pass' },
          { name: 'latency', provider: { builtin: { metric: 'latency' } }, interval: '1s', noDataPolicy: 'pass' },
        ],
      }),
      doc('RolloutStrategy', 'web-canary', {
        canary: {
          steps: [
            { setWeight: 20 },
            { analysis: { templates: [{ templateName: 'web-golden-signals' }] } },
            { pause: { duration: '3s' } },
            { setWeight: 50 },
            { analysis: { templates: [{ templateName: 'web-golden-signals' }] } },
            { pause: {} },
          ],
          scaleDownDelaySeconds: 1,
        },
      }),
      doc('Service', SERVICE, {
        owner: 'team-web',
        tier: 'standard',
        strategy: 'web-canary',
        target: {
          type: 'process',
          command: `node ${DEMO_APP} rollouts-browser-test`,
          env: { SERVICE, LATENCY_MS: '20', LATENCY_JITTER_MS: '5' },
          healthCheck: { path: '/healthz', intervalSeconds: 1, timeoutSeconds: 1 },
        },
        router: { type: 'embedded', listen: `127.0.0.1:${routerPort}` },
      }),
    ]);
    await client.create(doc('Deployment', `${SERVICE}-1`, { service: SERVICE, version: '1.0.0' }));
    const deadline = Date.now() + 30_000;
    while ((await phaseOf(`${SERVICE}-1`)) !== 'Healthy') {
      if (Date.now() > deadline) throw new Error(`${SERVICE}-1 did not become Healthy:\n${session.serve.output().slice(-3000)}`);
      await sleep(250);
    }
    load = startLoad(routerPort);
    await client.create(doc('Deployment', `${SERVICE}-2`, { service: SERVICE, version: '2.0.0' }));
  }, 90_000);

  // A failure says what the page showed and what the server logged last.
  beforeEach(() => {
    onTestFailed(async () => {
      if (!session) return;
      const shown = await session.page.locator('main').innerText({ timeout: 2000 }).catch((error: unknown) => String(error));
      console.error(`page ${session.page.url()}:\n${shown.slice(0, 4000)}\n--- serve output (tail) ---\n${session.serve.output().slice(-4000)}`);
    });
  });

  afterAll(async () => {
    await load?.stop();
    await session?.close();
  });

  it('lists the rollouts newest first and opens one from the list', async () => {
    const { page } = session;
    await session.signIn();
    await page.getByRole('link', { name: 'Rollouts' }).click();
    await page.getByTestId('rollouts-count').filter({ hasText: '2 rollouts' }).waitFor();
    const rows = page.locator('.rollouts-table tbody tr');
    await expect.poll(() => rows.first().locator('th').textContent()).toBe(`${SERVICE}-2`);
    expect(await rows.nth(1).textContent()).toContain('Healthy');
    await page.getByRole('link', { name: `${SERVICE}-2` }).click();
    await page.getByRole('heading', { level: 1, name: `${SERVICE}-2` }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/rollouts/${SERVICE}-2`);
  });

  it('shows the canary progress live: the steps and the weight move without a reload', async () => {
    const { page } = session;
    // Survives only as long as the page is not reloaded.
    await page.evaluate(() => ((globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true));
    const weight = page.getByTestId('canary-weight');
    const seen = new Set<string>();
    const watch = async () => {
      const value = (await weight.getAttribute('aria-valuenow')) ?? '';
      seen.add(value);
      return value;
    };
    await expect.poll(watch, { timeout: 30_000, interval: 150 }).toBe('20');
    await expect.poll(() => page.getByTestId('step-summary').textContent(), { timeout: 30_000, interval: 200 }).toMatch(/Step [2-3] of 6/);
    await expect.poll(watch, { timeout: 45_000, interval: 150 }).toBe('50');
    // Seen in order, on the same page (0 first when the new version was still starting).
    expect([...seen].filter((value) => value !== '' && value !== '0')).toEqual(['20', '50']);
    await expect.poll(() => page.locator('.rollout-head .badge').textContent(), { timeout: 45_000, interval: 250 }).toBe('Paused');
    expect(await page.getByTestId('step-summary').textContent()).toBe('Step 6 of 6');
    expect(await page.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);

    // The timeline: five steps done, the indefinite pause current.
    const steps = page.getByTestId('steps').locator('li');
    expect(await steps.count()).toBe(6);
    expect(await steps.nth(0).textContent()).toContain('setWeight 20');
    expect(await page.locator('.step-done').count()).toBe(5);
    expect(await page.locator('.step-current').textContent()).toContain('pause (until promoted)');
    await page.getByRole('heading', { name: 'Paused: pauseStep' }).waitFor();

    // Charts: weight over time and each metric's canary vs baseline, with the judge's evidence.
    await expect.poll(async () => Number(await page.getByTestId('weight-chart').getAttribute('data-points'))).toBeGreaterThanOrEqual(3);
    expect(await page.getByTestId('weight-chart').locator('canvas').count()).toBeGreaterThan(0);
    const errors = page.getByTestId('metric-web-golden-signals/errors');
    const latency = page.getByTestId('metric-web-golden-signals/latency');
    await expect.poll(async () => Number(await errors.getByTestId('chart-web-golden-signals/errors-errorRate').getAttribute('data-points'))).toBeGreaterThan(1);
    await expect.poll(async () => Number(await latency.getByTestId('chart-web-golden-signals/latency-p99').getAttribute('data-points'))).toBeGreaterThan(1);
    expect(await errors.locator('.evidence-table tbody tr').first().textContent()).toMatch(/errors .*e = .* (<|≥) [0-9,]+.*ratio/);
    expect(await latency.locator('.evidence-table').textContent()).toContain('latency.shift');

    // The charts at the top of the picture: the traffic panel scrolled to the top of the window.
    await page.evaluate(() => (globalThis as unknown as BrowserGlobals).document.getElementById('traffic-title').scrollIntoView());
    await session.screenshot('rollout');
    await page.evaluate(() => (globalThis as unknown as BrowserGlobals).window.scrollTo(0, 0));
  }, 120_000);

  it('aborts from the UI with a reason; the stable version serves every request again', async () => {
    const { page } = session;
    await page.getByRole('button', { name: 'Abort', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    expect(await dialog.getByRole('button', { name: 'Confirm abort' }).isDisabled()).toBe(true);
    await dialog.getByLabel('Reason').fill('latency looks off in the browser test');
    await dialog.getByRole('button', { name: 'Confirm abort' }).click();
    await dialog.waitFor({ state: 'detached' });

    await expect.poll(() => page.locator('.rollout-head .badge').textContent(), { timeout: 20_000, interval: 200 }).toBe('Aborted');
    const result = page.getByTestId('my-operation-result');
    await expect.poll(() => result.textContent(), { timeout: 10_000 }).toMatch(/Abort.*accepted: aborted: all traffic back to the stable version/);
    await page.getByRole('heading', { name: 'Aborted: OperatorAbort' }).waitFor();
    expect(await page.getByTestId('canary-weight').getAttribute('aria-valuenow')).toBe('0');
    expect(await page.locator('.step-stopped').count()).toBe(1);
    // Only retry applies now.
    expect(await page.getByRole('group', { name: 'Rollout operations' }).getByRole('button').allTextContents()).toEqual(['Retry']);

    await load!.stop();
    expect(load!.counts['2.0.0'] ?? 0).toBeGreaterThan(0); // the canary did get traffic
    const versions: Array<string | null> = [];
    for (let i = 0; i < 40; i += 1) versions.push(await versionVia(routerPort));
    expect(versions.filter((version) => version === '1.0.0')).toHaveLength(40);
    expect(session.consoleErrors).toEqual([]);
  }, 60_000);

  it('shows a viewer no action buttons', async () => {
    const { page } = session;
    const viewer = await session.client.tokens.create({ name: 'web-viewer', role: 'viewer' });
    await session.signOut();
    await session.signIn(viewer.token);
    await page.goto(`${session.serve.url}/rollouts/${SERVICE}-2`);
    await page.getByRole('heading', { level: 1, name: `${SERVICE}-2` }).waitFor();
    await page.getByTestId('operations').waitFor();
    expect(await page.getByRole('group', { name: 'Rollout operations' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^(Retry|Abort|Promote|Pause|Resume)/ }).count()).toBe(0);
    expect(session.consoleErrors).toEqual([]);
  });

  it('filters the list and saves its screenshot; a phone gets no sideways scroll', async () => {
    const { page } = session;
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Rollouts' }).click();
    await page.getByTestId('rollouts-count').filter({ hasText: '2 rollouts' }).waitFor();
    await page.getByLabel('Phase').selectOption('Aborted');
    await page.getByTestId('rollouts-count').filter({ hasText: '1 of 2 rollouts' }).waitFor();
    expect(new URL(page.url()).search).toBe('?phase=Aborted');
    await page.getByLabel('Phase').selectOption('');
    await page.getByTestId('rollouts-count').filter({ hasText: '2 rollouts' }).waitFor();
    await session.screenshot('rollouts');

    await page.setViewportSize({ width: 390, height: 844 });
    for (const route of ['/rollouts', `/rollouts/${SERVICE}-2`]) {
      await page.goto(`${session.serve.url}${route}`);
      await page.locator('h1').waitFor();
      await sleep(300);
      const overflow = await page.evaluate(() => {
        const { document } = globalThis as unknown as BrowserGlobals;
        return document.documentElement.scrollWidth - document.documentElement.clientWidth;
      });
      expect(overflow, route).toBeLessThanOrEqual(0);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    expect(session.consoleErrors).toEqual([]);
  });
});
