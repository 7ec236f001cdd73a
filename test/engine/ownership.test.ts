/**
 * One owner per rollout: two controllers on one database (SQLite here, PostgreSQL when
 * ROLLGATE_TEST_DATABASE_URL is set). The one holding the shard leases runs the passes; the other
 * takes over when the first stops, and a controller that lost its lease cannot write.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/adapters/store/postgres.js';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import { DEPLOYMENT_LABELS, emptyDeploymentStatus, readDeploymentStatus } from '../../src/core/rollout/index.js';
import { createController, createRuntimeRegistry, SHARD_COUNT, shardOf } from '../../src/engine/index.js';
import type { Store } from '../../src/ports/store.js';
import { silentLogger } from './helpers.js';
import { memoryRuntime } from './memory-runtime.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-ownership-'));
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const postgresUrl = process.env.ROLLGATE_TEST_DATABASE_URL;
if (!postgresUrl && process.env.CI === 'true') throw new Error('ROLLGATE_TEST_DATABASE_URL not set, but CI=true: the PostgreSQL ownership suite must run in CI');

type OpenPair = () => Promise<[Store, Store]>;
const backends: Array<{ label: string; open: OpenPair }> = [
  {
    label: 'SQLite',
    open: async () => {
      const file = path.join(dir, `${randomUUID()}.db`);
      return [await openSqliteStore({ file }), await openSqliteStore({ file })];
    },
  },
];
if (postgresUrl) {
  backends.push({
    label: 'PostgreSQL',
    open: async () => {
      const schema = `rg_own_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      cleanups.push(async () => {
        const client = new pg.Client({ connectionString: postgresUrl });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await client.end();
      });
      return [await openPostgresStore({ url: postgresUrl, schema }), await openPostgresStore({ url: postgresUrl, schema })];
    },
  });
}

async function seed(store: Store, rollouts: number): Promise<string[]> {
  const names = Array.from({ length: rollouts }, (_, index) => `d-${index}`);
  await store.transaction(async (stores) => {
    await stores.objects.create({ kind: 'AnalysisTemplate', name: 'ok', spec: { metrics: [{ name: 'e', provider: { builtin: { metric: 'errorRate' } }, interval: '200ms', count: 1000, successCondition: 'canary.errorRate <= 0.5' }] } });
    await stores.objects.create({ kind: 'RolloutStrategy', name: 's', spec: { canary: { steps: [{ setWeight: 10 }, { analysis: { templates: ['ok'] } }] } } });
    await stores.objects.create({ kind: 'Service', name: 'svc', spec: { owner: 'o', tier: 'standard', strategy: 's', target: { type: 'process', command: 'true' } }, status: { environments: { default: { stableVersion: '1.0.0', deployment: 'seed', since: new Date(0).toISOString() } } } });
    for (const name of names) {
      await stores.objects.create({ kind: 'Deployment', name, labels: { [DEPLOYMENT_LABELS.service]: 'svc' }, spec: { service: 'svc', version: '2.0.0' }, status: emptyDeploymentStatus() as unknown as Record<string, unknown> });
    }
  });
  return names;
}

const measurementsOf = async (store: Store, name: string) =>
  readDeploymentStatus((await store.read.objects.get('Deployment', name))!.status).rollout?.analysisRuns[0]?.metrics[0]?.measurements.length ?? 0;

const until = async (condition: () => Promise<boolean>, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('condition not met in time');
};

describe.each(backends)('rollout ownership on $label', ({ open }) => {
  it('one controller owns every shard; the other takes over when it stops; a stale owner cannot write', async () => {
    const [storeA, storeB] = await open();
    cleanups.push(async () => {
      await storeA.close();
      await storeB.close();
    });
    const names = await seed(storeA, 8);
    const make = (store: Store, holderId: string) =>
      createController({ store, runtimes: createRuntimeRegistry(async () => memoryRuntime()), logger: silentLogger, holderId, leaseTtlMs: 900, rescanMs: 200 });
    const a = make(storeA, 'controller-a');
    const b = make(storeB, 'controller-b');
    await a.start();
    await b.start();
    expect(a.ownedShards()).toHaveLength(SHARD_COUNT);
    expect(b.ownedShards()).toEqual([]);

    await until(async () => (await Promise.all(names.map((name) => measurementsOf(storeA, name)))).every((count) => count >= 2));
    expect(b.stats.writes).toBe(0);

    const before = await Promise.all(names.map((name) => measurementsOf(storeA, name)));
    await a.stop();
    await until(async () => b.ownedShards().length === SHARD_COUNT);
    await until(async () => (await Promise.all(names.map((name) => measurementsOf(storeB, name)))).every((count, index) => count > before[index]! + 1));
    expect(b.stats.writes).toBeGreaterThan(0);

    // Fencing: a thief takes one shard's lease (as if B's lease had expired during a pause);
    // B's next write for a rollout in that shard is refused inside its transaction.
    const probe = names[0]!;
    const shard = shardOf(probe);
    const stolen = await storeA.transaction((stores) => stores.leases.acquire(`engine/shard-${shard}`, 'thief', 60_000, new Date(Date.now() + 3_600_000)));
    expect(stolen?.holder).toBe('thief');
    const frozenAt = await measurementsOf(storeB, probe);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await measurementsOf(storeB, probe)).toBeLessThanOrEqual(frozenAt + 1);
    expect(b.ownedShards()).not.toContain(shard);
    const others = names.filter((name) => shardOf(name) !== shard);
    if (others.length > 0) {
      const other = others[0]!;
      const otherBefore = await measurementsOf(storeB, other);
      await until(async () => (await measurementsOf(storeB, other)) > otherBefore + 1);
    }
    await b.stop();
  }, 40_000);
});
