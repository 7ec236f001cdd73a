/**
 * A control plane restarted in the middle of an analysis (same database, same router port):
 * - the router comes back with its routes before it accepts a connection: never a 503 "no backends
 *   defined" (it used to listen first, and answer 503 while the stable version was being ensured);
 * - the measurement that was due across the restart is not judged on the new router's statistics,
 *   which only began at the restart: it is an Error measurement (not counted, retried), where it
 *   used to be judged on whatever sliver of traffic the new router had seen — often none, i.e.
 *   "no data", which pauses the rollout or, with `noDataPolicy: fail`, aborts a healthy canary.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import { DEPLOYMENT_LABELS, emptyDeploymentStatus, readDeploymentStatus, type RolloutStatus } from '../../src/core/rollout/index.js';
import { createEngine, type Engine } from '../../src/engine/index.js';
import type { Store } from '../../src/ports/store.js';
import { ROOT, silentLogger } from './helpers.js';

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

/** `concurrency` requests in flight until stopped; answers by HTTP status and version (connection errors apart). */
function startLoad(port: number, concurrency: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const counts = { byStatus: {} as Record<number, number>, byVersion: {} as Record<string, number>, unreachable: 0 };
  let running = true;
  const one = () =>
    new Promise<void>((resolve) => {
      const request = http.get({ host: '127.0.0.1', port, path: '/', agent }, (response) => {
        const code = response.statusCode ?? 0;
        counts.byStatus[code] = (counts.byStatus[code] ?? 0) + 1;
        const version = String(response.headers['x-rollgate-version'] ?? 'none');
        counts.byVersion[version] = (counts.byVersion[version] ?? 0) + 1;
        response.resume();
        response.on('end', () => resolve());
      });
      request.on('error', () => {
        counts.unreachable += 1;
        setTimeout(resolve, 10);
      });
    });
  const workers = Array.from({ length: concurrency }, async () => {
    while (running) await one();
  });
  return {
    counts,
    async stop() {
      running = false;
      await Promise.all(workers);
      agent.destroy();
    },
  };
}

const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-restart-'));
let store: Store | null = null;
let engine: Engine | null = null;
afterAll(async () => {
  await engine?.stop();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const start = () => {
  engine = createEngine({ store: store!, logger: silentLogger, dataDir: dir, workingDir: ROOT, rescanMs: 500 });
  return engine.start();
};

async function waitFor(name: string, what: string, reached: (r: RolloutStatus) => boolean): Promise<RolloutStatus> {
  const deadline = Date.now() + 20_000;
  let last: RolloutStatus | null = null;
  while (Date.now() < deadline) {
    last = readDeploymentStatus((await store!.read.objects.get('Deployment', name))?.status ?? null).rollout;
    if (last && reached(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${name}: ${what} not reached; last: ${last?.phase} ${last?.message}`);
}

async function deploy(name: string, version: string): Promise<void> {
  await store!.transaction((stores) =>
    stores.objects.create({
      kind: 'Deployment',
      name,
      labels: { [DEPLOYMENT_LABELS.service]: 'shop', [DEPLOYMENT_LABELS.environment]: 'default' },
      spec: { service: 'shop', version },
      status: emptyDeploymentStatus() as unknown as Record<string, unknown>,
    }),
  );
  engine!.wake(name);
}

describe('engine: restart mid-analysis', () => {
  it('restores the routes before listening and measures across the restart without "no data"', async () => {
    store = await openSqliteStore({ file: path.join(dir, 'rollgate.db') });
    const port = await freePort();
    await store.transaction(async (stores) => {
      await stores.objects.create({
        kind: 'AnalysisTemplate',
        name: 'errors',
        // noDataPolicy pass: a busy machine may leave a window without canary traffic; that must not
        // stop this test, which looks at the window spanning the restart (never judged, see below).
        spec: { metrics: [{ name: 'error-rate', provider: { builtin: { metric: 'errorRate' } }, interval: '1s', count: 3, successCondition: 'canary.errorRate <= 0.05', noDataPolicy: 'pass' }] },
      });
      await stores.objects.create({ kind: 'RolloutStrategy', name: 'half', spec: { canary: { steps: [{ setWeight: 50 }, { analysis: { templates: ['errors'] } }, { pause: {} }] } } });
      await stores.objects.create({
        kind: 'Service',
        name: 'shop',
        spec: {
          owner: 'team',
          tier: 'standard',
          strategy: 'half',
          target: { type: 'process', command: 'node examples/demo-app/server.js', healthCheck: { path: '/healthz', intervalSeconds: 1 } },
          router: { type: 'embedded', listen: `127.0.0.1:${port}` },
        },
      });
    });
    await start();
    await deploy('shop-v1', '1.0.0');
    await waitFor('shop-v1', 'Healthy', (r) => r.phase === 'Healthy');
    const load = startLoad(port, 4);
    try {
      await deploy('shop-v2', '2.0.0');
      await waitFor('shop-v2', 'a measurement', (r) => (r.analysisRuns[0]?.metrics[0]?.measurements.length ?? 0) >= 1);

      // Restart: this one stops its instances (a graceful stop); the next one starts them again,
      // restores the routes and goes on with the analysis.
      await engine!.stop();
      const stopped = readDeploymentStatus((await store.read.objects.get('Deployment', 'shop-v2'))!.status).rollout!;
      const lastEnd = stopped.analysisRuns[0]!.metrics[0]!.measurements.at(-1)!.window.endMs;
      await start();

      const paused = await waitFor('shop-v2', 'the pause step', (r) => r.phase !== 'Progressing');
      expect(paused.phase, paused.message).toBe('Paused');
      expect(paused.stepIndex).toBe(2);
      const metric = paused.analysisRuns[0]!.metrics[0]!;
      // The window that spans the restart: an Error measurement (not counted), not judged on the
      // traffic the new router saw since it started.
      const across = metric.measurements.find((measurement) => measurement.window.startMs === lastEnd)!;
      expect(across.phase).toBe('Error');
      expect(across.message).toMatch(/before this control plane's router began counting/);
      expect(metric.errors).toBe(1);
      expect(metric.counted).toBe(3);
    } finally {
      await load.stop();
    }
    // No request was ever answered "no backends" (503): before the restore the port was closed.
    expect(load.counts.byStatus[503] ?? 0).toBe(0);
    expect(load.counts.byVersion['2.0.0'] ?? 0).toBeGreaterThan(0);
  }, 45_000);
});
