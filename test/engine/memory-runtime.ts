/** An in-memory ServiceRuntime for engine tests: versions become ready at once, metrics are constant. */
import type { ServiceRuntime } from '../../src/engine/index.js';
import type { VersionState } from '../../src/ports/deploy-target.js';
import type { RouterState } from '../../src/ports/traffic-router.js';

export interface MemoryRuntime extends ServiceRuntime {
  ensures: string[];
  retired: string[];
  state: RouterState;
}

export function memoryRuntime(sample = { requests: 100, errors: 0 }): MemoryRuntime {
  const versions = new Map<string, VersionState>();
  const runtime: MemoryRuntime = {
    ensures: [],
    retired: [],
    state: { canaryWeight: 0, stableVersion: null, canaryVersion: null, headerRoute: null },
    target: {
      capabilities: { replicas: true, logs: false },
      async ensure(request) {
        runtime.ensures.push(request.version);
        const state: VersionState = versions.get(request.version) ?? { version: request.version, phase: 'running', endpoints: [`mem:${request.version}`], healthy: true, restarts: 0 };
        versions.set(request.version, state);
        return state;
      },
      observe: async () => [...versions.values()],
      async retire(version) {
        runtime.retired.push(version);
        versions.delete(version);
      },
      logs: async () => null,
      close: async () => versions.clear(),
    },
    router: {
      capabilities: { weights: true, headerRouting: true, sticky: false, verify: true },
      async setBackends(backends) {
        runtime.state = { ...runtime.state, stableVersion: backends.stable.version, canaryVersion: backends.canary?.version ?? null };
      },
      async setWeights({ canary }) {
        runtime.state = { ...runtime.state, canaryWeight: canary };
      },
      async setHeaderRoute(route) {
        runtime.state = { ...runtime.state, headerRoute: route?.name ?? null };
      },
      verify: async () => ({ ...runtime.state }),
      async reset() {
        runtime.state = { ...runtime.state, canaryWeight: 0, headerRoute: null };
      },
      close: async () => undefined,
    },
    metrics: {
      builtin: {
        capabilities: { latency: true, windows: true },
        query: async () => {
          const one = { requests: sample.requests, errors: sample.errors, errorRate: sample.errors / sample.requests, latency: { mean: 0.01, p50: 0.01, p90: 0.02, p95: 0.02, p99: 0.03, max: 0.05 } };
          return { baseline: { ...one, errors: 0, errorRate: 0 }, canary: one };
        },
      },
    },
    close: async () => undefined,
  };
  return runtime;
}
