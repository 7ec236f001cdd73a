/** applyActions hands the target what an ensureVersion action says: count, role, weight, environment, digest, env. */
import { describe, expect, it } from 'vitest';
import { applyActions } from '../../src/engine/effects.js';
import type { EnsureRequest } from '../../src/ports/deploy-target.js';
import { memoryRuntime } from './memory-runtime.js';

describe('applyActions: ensureVersion', () => {
  it('passes replicas, role, canary weight, environment, artifact digest and the resolved env to the target', async () => {
    const runtime = memoryRuntime();
    const requests: EnsureRequest[] = [];
    const ensure = runtime.target.ensure.bind(runtime.target);
    runtime.target = { ...runtime.target, ensure: (request) => (requests.push(request), ensure(request)) };
    await applyActions(
      [{ type: 'ensureVersion', version: '2.0.0', replicas: 3, role: 'canary', canaryWeight: 25, idempotencyKey: 'd/a1/s2/scale=3' }],
      {
        runtime,
        deployment: 'd',
        environment: 'staging',
        artifactDigest: `sha256:${'a'.repeat(64)}`,
        now: () => new Date(0),
        envFor: async () => ({ env: { MODE: 'x', TOKEN: 'secret-value' }, secrets: ['secret-value'] }),
      },
    );
    expect(requests).toEqual([
      { version: '2.0.0', replicas: 3, role: 'canary', canaryWeight: 25, environment: 'staging', artifactDigest: `sha256:${'a'.repeat(64)}`, env: { MODE: 'x', TOKEN: 'secret-value' }, secrets: ['secret-value'] },
    ]);
  });
});
