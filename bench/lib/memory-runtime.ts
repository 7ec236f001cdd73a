/**
 * An in-memory runtime for control-plane benchmarks: a deploy target whose versions are ready at
 * once, a router that keeps its table in a few fields, and a metric provider that answers small
 * constant samples. No processes, no sockets: only the controller, decide() and the store work.
 */
import type { RuntimeFactory, ServiceRuntime } from '../../src/engine/index.js';
import type { DeployTarget, EnsureRequest, VersionState } from '../../src/ports/deploy-target.js';
import type { MetricProvider, VersionSample } from '../../src/ports/metric-provider.js';
import type { Backends, HeaderRoute, RouterState, TrafficRouter } from '../../src/ports/traffic-router.js';

const SAMPLE: VersionSample = Object.freeze({
  requests: 100,
  errors: 0,
  errorRate: 0,
  latency: Object.freeze({ mean: 0.004, p50: 0.003, p90: 0.006, p95: 0.008, p99: 0.012, max: 0.02 }),
});

export interface MemoryRuntimeCounters {
  /** Metric queries answered, all services together. */
  queries: number;
  /** Services whose provider has answered at least one query (= rollouts that reached analysis). */
  measuring: Set<string>;
  /** Router calls (setBackends, setWeights, setHeaderRoute). */
  routerWrites: number;
}

class MemoryTarget implements DeployTarget {
  readonly capabilities = { replicas: true, logs: false } as const;
  private readonly versions = new Map<string, VersionState>();

  async ensure(request: EnsureRequest): Promise<VersionState> {
    let state = this.versions.get(request.version);
    if (!state) {
      state = { version: request.version, phase: 'running', endpoints: ['127.0.0.1:9'], healthy: true, restarts: 0 };
      this.versions.set(request.version, state);
    }
    return { ...state };
  }
  async observe(): Promise<VersionState[]> {
    return [...this.versions.values()].map((state) => ({ ...state }));
  }
  async retire(version: string): Promise<void> {
    this.versions.delete(version);
  }
  async logs(): Promise<string[] | null> {
    return null;
  }
  async close(): Promise<void> {
    this.versions.clear();
  }
}

class MemoryRouter implements TrafficRouter {
  readonly capabilities = { weights: true, headerRouting: true, sticky: false, verify: true } as const;
  private state: RouterState = { canaryWeight: 0, stableVersion: null, canaryVersion: null, headerRoute: null };
  constructor(private readonly counters: MemoryRuntimeCounters) {}

  async setBackends(backends: Backends): Promise<void> {
    this.counters.routerWrites += 1;
    this.state = { ...this.state, stableVersion: backends.stable.version, canaryVersion: backends.canary?.version ?? null };
  }
  async setWeights(weights: { canary: number }): Promise<void> {
    this.counters.routerWrites += 1;
    this.state = { ...this.state, canaryWeight: weights.canary };
  }
  async setHeaderRoute(route: HeaderRoute | null): Promise<void> {
    this.counters.routerWrites += 1;
    this.state = { ...this.state, headerRoute: route?.name ?? null };
  }
  async verify(): Promise<RouterState> {
    return { ...this.state };
  }
  async reset(): Promise<void> {
    this.state = { ...this.state, canaryWeight: 0, headerRoute: null };
  }
  async close(): Promise<void> {}
}

/** A RuntimeFactory building one in-memory runtime per service, and the counters they share. */
export function memoryRuntimeFactory(): { factory: RuntimeFactory; counters: MemoryRuntimeCounters } {
  const counters: MemoryRuntimeCounters = { queries: 0, measuring: new Set(), routerWrites: 0 };
  const factory: RuntimeFactory = async (service) => {
    const metrics: MetricProvider = {
      capabilities: { latency: true, windows: true },
      async query() {
        counters.queries += 1;
        counters.measuring.add(service);
        return { baseline: { ...SAMPLE }, canary: { ...SAMPLE } };
      },
    };
    const runtime: ServiceRuntime = {
      target: new MemoryTarget(),
      router: new MemoryRouter(counters),
      metrics: { builtin: metrics },
      address: () => null,
      close: async () => undefined,
    };
    return runtime;
  };
  return { factory, counters };
}
