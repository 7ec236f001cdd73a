/**
 * A secretRef that does not resolve holds the rollout visibly (Deployment `status.blocked`, one
 * `rollout.Blocked` audit event naming the variable and the reference) instead of failing the pass
 * in the engine's log only; once the secret exists the rollout goes on by itself and the block clears.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import { DEPLOYMENT_LABELS, emptyDeploymentStatus, readDeploymentStatus, type DeploymentStatus } from '../../src/core/rollout/index.js';
import { createEngine, type Engine } from '../../src/engine/index.js';
import type { Store } from '../../src/ports/store.js';
import { FakeSecretProvider } from '../secrets/fake-secret-provider.js';
import { silentLogger } from './helpers.js';
import { memoryRuntime, type MemoryRuntime } from './memory-runtime.js';

let dir: string;
let store: Store;
let engine: Engine;
const provider = new FakeSecretProvider();
let runtime: MemoryRuntime;

const status = async (name: string): Promise<DeploymentStatus> => readDeploymentStatus((await store.read.objects.get('Deployment', name))?.status ?? null);

async function waitUntil(name: string, done: (status: DeploymentStatus) => boolean, what: string, timeoutMs = 20_000): Promise<DeploymentStatus> {
  const deadline = Date.now() + timeoutMs;
  let last = await status(name);
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`${name}: not ${what} within ${timeoutMs} ms; last: ${JSON.stringify({ phase: last.rollout?.phase, blocked: last.blocked })}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = await status(name);
  }
  return last;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'rollgate-secret-blocked-'));
  store = await openSqliteStore({ file: path.join(dir, 'rollgate.db') });
  engine = createEngine({
    store,
    logger: silentLogger,
    dataDir: dir,
    rescanMs: 200,
    secrets: { provider },
    runtimeFactory: async () => (runtime = memoryRuntime()),
  });
  await engine.start();
}, 30_000);

afterAll(async () => {
  await engine?.stop();
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('engine: a secretRef that does not resolve', () => {
  it('blocks the rollout with the reason on its status, then goes on once the secret exists', async () => {
    await store.transaction(async (stores) => {
      await stores.objects.create({ kind: 'Service', name: 'billing', spec: { owner: 'team', tier: 'standard', target: { type: 'process', command: 'true' } } });
      await stores.objects.create({
        kind: 'Deployment',
        name: 'billing-1',
        labels: { [DEPLOYMENT_LABELS.service]: 'billing', [DEPLOYMENT_LABELS.environment]: 'default' },
        spec: { service: 'billing', version: '1.0.0', env: { MODE: 'live', DB_PASSWORD: { secretRef: { name: 'billing-db', key: 'password' } } } },
        status: emptyDeploymentStatus() as unknown as Record<string, unknown>,
      });
    });
    engine.wake('billing-1');

    const blocked = await waitUntil('billing-1', (current) => Boolean(current.blocked), 'blocked');
    expect(blocked.blocked!.message).toContain('environment variable DB_PASSWORD: secret billing-db');
    expect(blocked.failure ?? null).toBeNull();
    expect(runtime.ensures).toEqual([]);
    // Still blocked after more passes, with one audit event, not one per retry.
    await new Promise((resolve) => setTimeout(resolve, 300));
    engine.wake('billing-1');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const events = await store.read.audit.list({ kind: 'Deployment', name: 'billing-1', limit: 100 });
    expect(events.filter((event) => event.action === 'rollout.Blocked')).toHaveLength(1);
    expect(events.find((event) => event.action === 'rollout.Blocked')?.details).toMatchObject({ message: blocked.blocked!.message });

    await provider.put('billing-db', { password: 's3cret-value' });
    const healthy = await waitUntil('billing-1', (current) => current.rollout?.phase === 'Healthy', 'Healthy');
    expect(healthy.blocked ?? null).toBeNull();
    expect(runtime.ensures).toContain('1.0.0');
    expect(JSON.stringify(healthy)).not.toContain('s3cret-value');
  });
});
