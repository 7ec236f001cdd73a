/** A control plane without HTTP: a store, an engine with real process targets and embedded routers, and traffic. */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import { verifyChain } from '../../src/core/audit/chain.js';
import { DEPLOYMENT_LABELS, emptyDeploymentStatus, readDeploymentStatus, type RolloutStatus } from '../../src/core/rollout/index.js';
import { createEngine, type Engine } from '../../src/engine/index.js';
import type { NewObject, Store } from '../../src/ports/store.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export const silentLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export interface EngineHarness {
  store: Store;
  engine: Engine;
  dir: string;
  create(object: NewObject): Promise<void>;
  deploy(name: string, service: string, version: string, env?: Record<string, string>): Promise<void>;
  rollout(name: string): Promise<RolloutStatus | null>;
  waitFor(name: string, phases: string[], timeoutMs?: number): Promise<RolloutStatus>;
  routerAddress(service: string): Promise<{ host: string; port: number }>;
  close(): Promise<void>;
}

export async function startHarness(options: { holderId?: string } = {}): Promise<EngineHarness> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-engine-'));
  const store = await openSqliteStore({ file: path.join(dir, 'rollgate.db') });
  const engine = createEngine({ store, logger: silentLogger, dataDir: dir, workingDir: ROOT, rescanMs: 500, ...(options.holderId ? { holderId: options.holderId } : {}) });
  await engine.start();

  const create = async (object: NewObject) => {
    await store.transaction((stores) => stores.objects.create(object));
  };
  const rollout = async (name: string) => readDeploymentStatus((await store.read.objects.get('Deployment', name))?.status ?? null).rollout;
  return {
    store,
    engine,
    dir,
    create,
    async deploy(name, service, version, env) {
      await create({
        kind: 'Deployment',
        name,
        labels: { [DEPLOYMENT_LABELS.service]: service, [DEPLOYMENT_LABELS.environment]: 'default' },
        spec: { service, version, ...(env ? { env } : {}) },
        status: emptyDeploymentStatus() as unknown as Record<string, unknown>,
      });
      engine.wake(name);
    },
    rollout,
    async waitFor(name, phases, timeoutMs = 45_000) {
      const deadline = Date.now() + timeoutMs;
      let last: RolloutStatus | null = null;
      while (Date.now() < deadline) {
        last = await rollout(name);
        if (last && phases.includes(last.phase)) return last;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`${name} did not reach ${phases.join('/')} in ${timeoutMs} ms; last: ${last?.phase} ${last?.message}`);
    },
    async routerAddress(service) {
      const runtime = await engine.runtimes.peek(service);
      const address = runtime?.address?.();
      if (!address) throw new Error(`no router for ${service}`);
      return address;
    },
    async close() {
      await engine.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function auditChainOk(store: Store): Promise<boolean> {
  const events = await store.read.audit.list({ limit: 1000 });
  return verifyChain(events).ok;
}

/** Keeps `concurrency` requests in flight against `address` until stopped; counts by version and status. */
export function startLoad(address: { host: string; port: number }, concurrency = 4) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const counts = { total: 0, failed: 0, byVersion: new Map<string, number>() };
  let running = true;
  const one = () =>
    new Promise<void>((resolve) => {
      const request = http.get({ host: address.host, port: address.port, path: '/', agent }, (response) => {
        const version = String(response.headers['x-rollgate-version'] ?? 'none');
        counts.byVersion.set(version, (counts.byVersion.get(version) ?? 0) + 1);
        if ((response.statusCode ?? 500) >= 500) counts.failed += 1;
        response.resume();
        response.on('end', () => resolve());
      });
      request.on('error', () => {
        counts.failed += 1;
        resolve();
      });
    });
  const workers = Array.from({ length: concurrency }, async () => {
    while (running) {
      counts.total += 1;
      await one();
    }
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
