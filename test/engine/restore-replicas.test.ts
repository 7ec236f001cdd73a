/**
 * restoreDataPlane starts each version again with the instance count it ran with (not one each):
 * the canary's from the rollout status, the stable's from the rollout that made it stable.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import { DEPLOYMENT_LABELS, emptyDeploymentStatus } from '../../src/core/rollout/index.js';
import { restoreDataPlane } from '../../src/engine/restore.js';
import type { EnsureRequest } from '../../src/ports/deploy-target.js';
import type { Store } from '../../src/ports/store.js';
import { memoryRuntime } from './memory-runtime.js';

let dir: string;
let store: Store;

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'rollgate-restore-'));
  store = await openSqliteStore({ file: path.join(dir, 'rollgate.db') });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Only the parts of a rollout status restore reads. */
const rolloutOf = (fields: { phase: string; canaryVersion: string; stableVersion: string | null; replicas: number; weight?: number; deployment: string }) => ({
  rolloutId: fields.deployment,
  phase: fields.phase,
  canaryVersion: fields.canaryVersion,
  stableVersion: fields.stableVersion,
  canaryWeight: fields.weight ?? 0,
  headerRoute: null,
  newVersion: { ensuredAt: 1, replicas: fields.replicas, readyAt: 1, backendsSetAt: 1, state: null, message: null },
});

async function seed(deployments: Array<{ name: string; version: string; replicas: number; rollout: ReturnType<typeof rolloutOf>; createdOrder: number }>, stable: { version: string; deployment: string }) {
  await store.transaction(async (stores) => {
    await stores.objects.create({
      kind: 'Service',
      name: 'api',
      spec: { owner: 'team', tier: 'standard', target: { type: 'process', command: 'true' } },
      status: { environments: { default: { stableVersion: stable.version, deployment: stable.deployment, since: new Date().toISOString() } } },
    });
  });
  for (const deployment of deployments.sort((a, b) => a.createdOrder - b.createdOrder)) {
    await store.transaction(async (stores) => {
      await stores.objects.create({
        kind: 'Deployment',
        name: deployment.name,
        labels: { [DEPLOYMENT_LABELS.service]: 'api', [DEPLOYMENT_LABELS.environment]: 'default' },
        spec: { service: 'api', version: deployment.version },
        status: { ...emptyDeploymentStatus(), rollout: deployment.rollout, resolved: { service: 'api', replicas: deployment.replicas } } as unknown as Record<string, unknown>,
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 5)); // distinct createdAt
  }
}

function recordingRuntime(canScale = true) {
  const runtime = memoryRuntime();
  const requests: EnsureRequest[] = [];
  const ensure = runtime.target.ensure.bind(runtime.target);
  runtime.target = { ...runtime.target, capabilities: { ...runtime.target.capabilities, replicas: canScale }, ensure: (request) => (requests.push(request), ensure(request)) };
  return { runtime, requests };
}

describe('restoreDataPlane: instance counts', () => {
  it('restarts the stable version with the count of the rollout that made it stable', async () => {
    await seed([{ name: 'api-1', version: '1.0.0', replicas: 3, rollout: rolloutOf({ phase: 'Healthy', canaryVersion: '1.0.0', stableVersion: null, replicas: 3, deployment: 'api-1' }), createdOrder: 1 }], { version: '1.0.0', deployment: 'api-1' });
    const { runtime, requests } = recordingRuntime();
    await restoreDataPlane(store.read, runtime, (await store.read.objects.get('Service', 'api'))!);
    expect(requests.map(({ version, replicas, environment }) => ({ version, replicas, environment }))).toEqual([{ version: '1.0.0', replicas: 3, environment: 'default' }]);
  });

  it('during a canary: the stable with its own count, the canary with the count it had reached', async () => {
    await seed(
      [
        { name: 'api-1', version: '1.0.0', replicas: 4, rollout: rolloutOf({ phase: 'Healthy', canaryVersion: '1.0.0', stableVersion: null, replicas: 4, deployment: 'api-1' }), createdOrder: 1 },
        { name: 'api-2', version: '2.0.0', replicas: 4, rollout: rolloutOf({ phase: 'Progressing', canaryVersion: '2.0.0', stableVersion: '1.0.0', replicas: 2, weight: 25, deployment: 'api-2' }), createdOrder: 2 },
      ],
      { version: '1.0.0', deployment: 'api-1' },
    );
    const { runtime, requests } = recordingRuntime();
    await restoreDataPlane(store.read, runtime, (await store.read.objects.get('Service', 'api'))!);
    expect(requests.map(({ version, replicas }) => ({ version, replicas }))).toEqual([
      { version: '1.0.0', replicas: 4 },
      { version: '2.0.0', replicas: 2 },
    ]);
    expect(runtime.state.canaryWeight).toBe(25);
  });

  it('asks a target that cannot scale for one instance', async () => {
    await seed([{ name: 'api-1', version: '1.0.0', replicas: 3, rollout: rolloutOf({ phase: 'Healthy', canaryVersion: '1.0.0', stableVersion: null, replicas: 3, deployment: 'api-1' }), createdOrder: 1 }], { version: '1.0.0', deployment: 'api-1' });
    const { runtime, requests } = recordingRuntime(false);
    await restoreDataPlane(store.read, runtime, (await store.read.objects.get('Service', 'api'))!);
    expect(requests.map(({ replicas }) => replicas)).toEqual([1]);
  });
});
