/**
 * The data-plane adapters of each service, built from its Service spec on first use and kept for
 * the life of the process: a deploy target, a traffic router and the metric providers analysis
 * reads. Issue-6 adapters (command, Ansible, HAProxy, NGINX, Gateway API) plug in here.
 */
import path from 'node:path';
import { BuiltinMetricProvider } from '../adapters/metrics/builtin.js';
import { EmbeddedRouter } from '../adapters/routers/embedded.js';
import { ProcessTarget } from '../adapters/targets/process.js';
import type { ServiceSpec } from '../core/resources/service.js';
import type { DeployTarget } from '../ports/deploy-target.js';
import type { MetricProvider } from '../ports/metric-provider.js';
import type { TrafficRouter } from '../ports/traffic-router.js';

export interface ServiceRuntime {
  target: DeployTarget;
  router: TrafficRouter;
  /** Providers by the key an AnalysisTemplate metric names (`builtin`, `prometheus`). */
  metrics: Partial<Record<string, MetricProvider>>;
  /** Prometheus exposition of the data plane, when the router has one. */
  renderPrometheus?: () => string;
  /** Where the router listens, for people and the demo. null: not an embedded router. */
  address?: () => { host: string; port: number } | null;
  close(): Promise<void>;
}

/** Builds the runtime of one service; the default handles `process` targets and `embedded` routers. */
export type RuntimeFactory = (service: string, spec: ServiceSpec) => Promise<ServiceRuntime>;

export interface DefaultRuntimeConfig {
  /** Root of per-version logs and pid files. */
  logDir: string;
  /** Working directory for process commands (relative paths in specs resolve against it). */
  workingDir: string;
}

function parseListen(listen: string): { host: string; port: number } {
  const separator = listen.lastIndexOf(':');
  const host = listen.slice(0, separator).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(listen.slice(separator + 1)) };
}

export function defaultRuntimeFactory(config: DefaultRuntimeConfig): RuntimeFactory {
  const frozen = Object.freeze({ ...config });
  return async (service, spec) => {
    if (spec.target.type !== 'process') throw new Error(`service "${service}": target type "${spec.target.type}" is not supported yet (only "process")`);
    const routerSpec = spec.router ?? { type: 'embedded' as const, listen: '127.0.0.1:0' };
    if (routerSpec.type !== 'embedded') throw new Error(`service "${service}": router type "${routerSpec.type}" is not supported yet (only "embedded")`);

    const target = new ProcessTarget({
      service,
      command: spec.target.command,
      workingDir: spec.target.workingDir ? path.resolve(frozen.workingDir, spec.target.workingDir) : frozen.workingDir,
      ...(spec.target.env ? { env: spec.target.env } : {}),
      ...(spec.target.healthCheck ? { healthCheck: spec.target.healthCheck } : {}),
      logDir: frozen.logDir,
      // A restarted control plane takes over the instances the previous one left running.
      adopt: true,
    });
    const router = new EmbeddedRouter({ service, listen: parseListen(routerSpec.listen), ...(routerSpec.sticky !== undefined ? { sticky: routerSpec.sticky } : {}) });
    await router.start();
    return {
      target,
      router,
      metrics: { builtin: new BuiltinMetricProvider({ stats: router.stats }) },
      renderPrometheus: () => router.renderPrometheus(),
      address: () => router.address(),
      close: async () => {
        await router.close();
        await target.close();
      },
    };
  };
}

/** One runtime per service, created once even when several passes ask at the same time. */
export function createRuntimeRegistry(factory: RuntimeFactory) {
  const runtimes = new Map<string, Promise<ServiceRuntime>>();
  return {
    get(service: string, spec: ServiceSpec): Promise<ServiceRuntime> {
      let runtime = runtimes.get(service);
      if (!runtime) {
        runtime = factory(service, spec);
        runtimes.set(service, runtime);
        // A failed build is not cached: the next pass tries again (e.g. after the port frees up).
        runtime.catch(() => runtimes.delete(service));
      }
      return runtime;
    },
    /** The runtime if it was built; null otherwise (no side effects). */
    async peek(service: string): Promise<ServiceRuntime | null> {
      const runtime = runtimes.get(service);
      return runtime ? runtime.catch(() => null) : null;
    },
    services: () => [...runtimes.keys()],
    async closeAll(): Promise<void> {
      const all = [...runtimes.values()];
      runtimes.clear();
      await Promise.all(all.map(async (runtime) => (await runtime.catch(() => null))?.close()));
    },
  };
}

export type RuntimeRegistry = ReturnType<typeof createRuntimeRegistry>;
