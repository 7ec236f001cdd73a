/**
 * The data-plane adapters of each service, built from its Service spec on first use and kept for
 * the life of the process: a deploy target, a traffic router and the metric providers analysis
 * reads. Issue-6 adapters (command, Ansible, Kubernetes, HAProxy, NGINX, Gateway API) plug in here.
 */
import path from 'node:path';
import { BuiltinMetricProvider } from '../adapters/metrics/builtin.js';
import { PrometheusMetricProvider } from '../adapters/metrics/prometheus.js';
import { EmbeddedRouter } from '../adapters/routers/embedded.js';
import { ProcessTarget } from '../adapters/targets/process.js';
import { AnsibleTarget } from '../adapters/targets/ansible.js';
import { CommandTarget } from '../adapters/targets/command.js';
import { defaultStableDeployment, KubernetesTarget } from '../adapters/targets/kubernetes.js';
import { GatewayApiRouter } from '../adapters/routers/gateway-api.js';
import { kubeClientFromKubeConfig } from '../adapters/kubernetes/client.js';
import { HaproxyRouter } from '../adapters/routers/haproxy.js';
import { NginxRouter } from '../adapters/routers/nginx.js';
import { durationToMs } from '../core/resources/common.js';
import type { ServiceSpec } from '../core/resources/service.js';
import { literalEnv, type SecretResolver } from '../core/secrets/env.js';
import type { DeployTarget } from '../ports/deploy-target.js';
import type { MetricProvider } from '../ports/metric-provider.js';
import type { TrafficRouter } from '../ports/traffic-router.js';

export interface ServiceRuntime {
  target: DeployTarget;
  router: TrafficRouter;
  /**
   * Providers by the key an AnalysisTemplate metric names (`builtin`, `prometheus`). The engine adds
   * `prometheus` when it was configured with a Prometheus address (see `withPrometheus`).
   */
  metrics: Partial<Record<string, MetricProvider>>;
  /** The Prometheus provider for a metric's own `provider.prometheus.address` (added by the engine). */
  prometheusAt?: (address: string) => MetricProvider;
  /** Prometheus exposition of the data plane, when the router has one. */
  renderPrometheus?: () => string;
  /** Where the router listens, for people and the demo. null: not an embedded router. */
  address?: () => { host: string; port: number } | null;
  /**
   * Starts serving traffic. The engine calls it once the data plane was restored from the stored
   * state (see restore.ts): a router that listened before it knew its backends answered the
   * requests arriving meanwhile with 503 "no backends defined" — after a control-plane restart,
   * for a service whose instances had kept running all along.
   */
  listen?: () => Promise<void>;
  close(): Promise<void>;
}

/**
 * Builds the runtime of one service in one environment; the default handles `process` targets and
 * `embedded` routers. `spec` already has the environment's overrides (`spec.environments[env]`)
 * applied; `environment` is `default` for Deployments that name none.
 */
export type RuntimeFactory = (service: string, spec: ServiceSpec, environment?: string) => Promise<ServiceRuntime>;

const DEFAULT_ENVIRONMENT = 'default';

/** The Service spec as one environment sees it: its `environments[env]` target and router replace the service's. */
export function specForEnvironment(spec: ServiceSpec, environment: string): ServiceSpec {
  const override = spec.environments?.[environment];
  if (!override) return spec;
  return { ...spec, ...(override.target ? { target: override.target } : {}), ...(override.router ? { router: override.router } : {}) };
}

/**
 * Each environment of a service has its own data plane (processes, router): dev, staging and prod
 * never share instances or a routing table. The `default` environment keeps the bare service name.
 */
export const runtimeKey = (service: string, environment: string = DEFAULT_ENVIRONMENT): string =>
  environment === DEFAULT_ENVIRONMENT ? service : `${service}@${environment}`;

export interface DefaultRuntimeConfig {
  /** Root of per-version logs and pid files. */
  logDir: string;
  /** Working directory for process commands (relative paths in specs resolve against it). */
  workingDir: string;
  /** Applied to every line a command or Ansible target captures (the secret redactor). */
  redact?: (text: string) => string;
  /** Resolves the secretRefs of Ansible `extraVars` at each playbook run (the engine's secret provider; values go to the redactor). */
  resolveSecret?: SecretResolver;
}

/**
 * The builtin provider answers from the embedded router's in-memory statistics, which begin when
 * this process built the router. A window that starts earlier — the measurement that was due while
 * the control plane was down, taken by the next process after a crash or restart — would count only
 * the traffic since then: usually none, which analysis reads as "no data" (pausing the rollout, or
 * with `noDataPolicy: fail` failing a healthy canary), and at best a sliver judged as if it were the
 * whole window. Such a window is refused instead, as the provider already refuses one older than its
 * retention: decide() records an Error measurement (not counted; retried) and the next window starts
 * where that one ended, inside what this router saw.
 */
export function statsSince(provider: MetricProvider, sinceMs: number): MetricProvider {
  return {
    capabilities: provider.capabilities,
    async query(query) {
      if (query.window.startMs < sinceMs) {
        throw new RangeError(
          `the window starts at ${new Date(query.window.startMs).toISOString()}, before this control plane's router began counting at ${new Date(sinceMs).toISOString()} (the control plane was restarted); the traffic before that was not seen, so the next window starts after this one`,
        );
      }
      return provider.query(query);
    },
  };
}

/** How the engine reaches Prometheus (`rollgate serve --prometheus-url`). */
export interface PrometheusSettings {
  /** Base URL used by metrics that set no `address`; absent: such metrics report that none is configured. */
  address?: string;
  /** Per-request timeout, ms (provider default 10 s; a metric's `timeout` overrides it). */
  timeoutMs?: number;
  /** Retries after a network error, 5xx or timeout (provider default 2; a metric's `retries` overrides it). */
  retries?: number;
  /** fetch for the providers (tests). */
  fetch?: typeof fetch;
}

/**
 * Prometheus providers by address, built on first use and shared by every service (the provider
 * keeps no state but its settings). The default address is checked at once: a malformed one fails
 * here, when the engine is created, rather than at the first measurement.
 */
export function prometheusProviders(settings: PrometheusSettings = {}) {
  const frozen = Object.freeze({ ...settings });
  const cache = new Map<string, MetricProvider>();
  const at = (address: string): MetricProvider => {
    let provider = cache.get(address);
    if (!provider) {
      provider = new PrometheusMetricProvider({
        address,
        ...(frozen.timeoutMs !== undefined ? { timeoutMs: frozen.timeoutMs } : {}),
        ...(frozen.retries !== undefined ? { retries: frozen.retries } : {}),
        ...(frozen.fetch ? { fetch: frozen.fetch } : {}),
      });
      cache.set(address, provider);
    }
    return provider;
  };
  return { default: frozen.address ? at(frozen.address) : null, at };
}

export type PrometheusProviders = ReturnType<typeof prometheusProviders>;

/** Gives a runtime the engine's Prometheus providers, keeping any its factory already set. */
export function withPrometheus(runtime: ServiceRuntime, providers: PrometheusProviders): ServiceRuntime {
  if (providers.default && !runtime.metrics.prometheus) runtime.metrics = { ...runtime.metrics, prometheus: providers.default };
  runtime.prometheusAt ??= providers.at;
  return runtime;
}

function parseListen(listen: string): { host: string; port: number } {
  const separator = listen.lastIndexOf(':');
  const host = listen.slice(0, separator).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(listen.slice(separator + 1)) };
}

type RouterSpec = NonNullable<ServiceSpec['router']>;

/** A router that is not the embedded one: no builtin statistics (analysis reads Prometheus), no listener of ours. */
function externalRouter(service: string, routerSpec: Exclude<RouterSpec, { type: 'embedded' }>, workingDir: string): TrafficRouter {
  switch (routerSpec.type) {
    case 'haproxy':
      return new HaproxyRouter({
        service,
        adminSocket: path.resolve(workingDir, routerSpec.adminSocket),
        backend: routerSpec.backend,
        ...(routerSpec.canaryBackend ? { canaryBackend: routerSpec.canaryBackend } : {}),
        ...(routerSpec.stableServer ? { stableServer: routerSpec.stableServer } : {}),
        ...(routerSpec.canaryServer ? { canaryServer: routerSpec.canaryServer } : {}),
        ...(routerSpec.mapDir ? { mapDir: routerSpec.mapDir } : {}),
        ...(routerSpec.persist !== undefined ? { persist: routerSpec.persist } : {}),
      });
    case 'nginx':
      return new NginxRouter({
        includeFile: path.resolve(workingDir, routerSpec.includeFile),
        upstream: routerSpec.upstream,
        ...(routerSpec.nginx ? { nginx: routerSpec.nginx } : {}),
        ...(routerSpec.configFile ? { configFile: routerSpec.configFile } : {}),
        ...(routerSpec.prefix ? { prefix: routerSpec.prefix } : {}),
        ...(routerSpec.pidFile ? { pidFile: routerSpec.pidFile } : {}),
        ...(routerSpec.commandPrefix ? { commandPrefix: routerSpec.commandPrefix } : {}),
        ...(routerSpec.reloadCommand ? { reloadCommand: routerSpec.reloadCommand } : {}),
        ...(routerSpec.reloadTimeout ? { reloadTimeoutMs: durationToMs(routerSpec.reloadTimeout) } : {}),
        ...(routerSpec.keepalive !== undefined ? { keepalive: routerSpec.keepalive } : {}),
      });
    case 'gateway-api':
      return new GatewayApiRouter({
        service,
        namespace: routerSpec.namespace,
        httpRoute: routerSpec.httpRoute,
        stableBackend: routerSpec.stableBackend,
        canaryBackend: routerSpec.canaryBackend,
        port: routerSpec.port ?? 80,
        client: kubeClientFromKubeConfig({
          ...(routerSpec.kubeconfig ? { kubeconfig: path.resolve(workingDir, routerSpec.kubeconfig) } : {}),
          ...(routerSpec.context ? { context: routerSpec.context } : {}),
        }),
      });
    default:
      // Every router type of the schema is handled above; a newer schema's is not.
      throw new Error(`service "${service}": router type "${(routerSpec as { type: string }).type}" is not supported yet`);
  }
}

type ScriptedSpec = Extract<ServiceSpec['target'], { type: 'command' | 'ansible' }>;

/** What the command and Ansible targets share: logs, working dir, timeouts, endpoints. */
function scriptedCommon(service: string, environment: string, targetSpec: ScriptedSpec, config: Readonly<DefaultRuntimeConfig>) {
  const ms = (duration: string | undefined) => (duration === undefined ? undefined : durationToMs(duration));
  const health = targetSpec.healthCheck;
  const optional = {
    // Literal entries only: secretRefs are resolved when a version starts (EnsureRequest.env, see secrets.ts).
    env: targetSpec.env ? literalEnv(targetSpec.env) : undefined,
    timeoutMs: ms(targetSpec.timeout),
    healthIntervalMs: ms(health?.interval),
    healthTimeoutMs: ms(health?.timeout),
    startTimeoutMs: ms(health?.startTimeout),
    endpoints: targetSpec.endpoints,
    scales: targetSpec.scales,
    redact: config.redact,
  };
  return {
    service,
    environment,
    logDir: config.logDir,
    workingDir: targetSpec.workingDir ? path.resolve(config.workingDir, targetSpec.workingDir) : config.workingDir,
    ...(Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined)) as Partial<typeof optional>),
  };
}

function buildTarget(service: string, environment: string, targetSpec: ServiceSpec['target'], config: Readonly<DefaultRuntimeConfig>, routerSpec?: RouterSpec): DeployTarget {
  switch (targetSpec.type) {
    case 'process':
      return new ProcessTarget({
        // Per environment, so each keeps its own logs and pid files (and adopts only its own instances).
        service: environment === DEFAULT_ENVIRONMENT ? service : `${service}.${environment}`,
        command: targetSpec.command,
        workingDir: targetSpec.workingDir ? path.resolve(config.workingDir, targetSpec.workingDir) : config.workingDir,
        // Literal entries only: secretRefs are resolved when a version starts (EnsureRequest.env, see secrets.ts).
        ...(targetSpec.env ? { env: literalEnv(targetSpec.env) } : {}),
        ...(targetSpec.healthCheck ? { healthCheck: targetSpec.healthCheck } : {}),
        logDir: config.logDir,
        // A restarted control plane takes over the instances the previous one left running.
        adopt: true,
      });
    case 'command':
      return new CommandTarget({
        ...scriptedCommon(service, environment, targetSpec, config),
        deploy: targetSpec.deploy,
        ...(targetSpec.health ? { health: targetSpec.health } : {}),
        ...(targetSpec.retire ? { retire: targetSpec.retire } : {}),
      });
    case 'ansible':
      return new AnsibleTarget({
        ...scriptedCommon(service, environment, targetSpec, config),
        playbook: targetSpec.playbook,
        ...(targetSpec.inventory ? { inventory: targetSpec.inventory } : {}),
        ...(targetSpec.extraVars ? { extraVars: targetSpec.extraVars } : {}),
        ...(targetSpec.health !== undefined ? { health: targetSpec.health } : {}),
        ...(targetSpec.extraArgs ? { extraArgs: targetSpec.extraArgs } : {}),
        ...(config.resolveSecret ? { resolveSecret: config.resolveSecret } : {}),
      });
    case 'kubernetes':
      return new KubernetesTarget({
        service,
        namespace: targetSpec.namespace,
        deployment: targetSpec.deployment,
        stableDeployment: targetSpec.stableDeployment ?? defaultStableDeployment(targetSpec.deployment),
        ...(targetSpec.container ? { container: targetSpec.container } : {}),
        ...(targetSpec.image ? { image: targetSpec.image } : {}),
        ...(targetSpec.replicas !== undefined ? { replicas: targetSpec.replicas } : {}),
        ...(targetSpec.timeout ? { timeoutMs: durationToMs(targetSpec.timeout) } : {}),
        client: kubeClientFromKubeConfig({
          ...(targetSpec.kubeconfig ? { kubeconfig: path.resolve(config.workingDir, targetSpec.kubeconfig) } : {}),
          ...(targetSpec.context ? { context: targetSpec.context } : {}),
        }),
        // Behind the Gateway API router, each track's endpoint is the Service the route sends it traffic through.
        ...(routerSpec?.type === 'gateway-api'
          ? { services: { stable: routerSpec.stableBackend, canary: routerSpec.canaryBackend, port: routerSpec.port ?? 80, namespace: routerSpec.namespace } }
          : {}),
      });
    default:
      throw new Error(`service "${service}": target type "${(targetSpec as { type: string }).type}" is not supported yet`);
  }
}

export function defaultRuntimeFactory(config: DefaultRuntimeConfig): RuntimeFactory {
  const frozen = Object.freeze({ ...config });
  return async (service, spec, environment = DEFAULT_ENVIRONMENT) => {
    const routerSpec: RouterSpec = spec.router ?? { type: 'embedded', listen: '127.0.0.1:0' };
    const target = buildTarget(service, environment, spec.target, frozen, routerSpec);

    if (routerSpec.type !== 'embedded') {
      const router = externalRouter(service, routerSpec, frozen.workingDir);
      return {
        target,
        router,
        metrics: {},
        address: () => null,
        // The external router keeps routing as last set: traffic flows while Rollgate is down.
        close: async () => {
          await router.close();
          await target.close();
        },
      };
    }

    const router = new EmbeddedRouter({ service, listen: parseListen(routerSpec.listen), ...(routerSpec.sticky !== undefined ? { sticky: routerSpec.sticky } : {}) });
    const countingSince = router.stats.now();
    return {
      target,
      router,
      metrics: { builtin: statsSince(new BuiltinMetricProvider({ stats: router.stats }), countingSince) },
      renderPrometheus: () => router.renderPrometheus(),
      address: () => router.address(),
      // Restoring the routing table starts the router too: its setters listen first, and set the
      // table in the same turn of the event loop, before any connection is accepted.
      listen: async () => {
        await router.start();
      },
      close: async () => {
        await router.close();
        await target.close();
      },
    };
  };
}

/** One runtime per service and environment, created once even when several passes ask at the same time. */
export function createRuntimeRegistry(factory: RuntimeFactory) {
  const runtimes = new Map<string, Promise<ServiceRuntime>>();
  return {
    get(service: string, spec: ServiceSpec, environment: string = DEFAULT_ENVIRONMENT): Promise<ServiceRuntime> {
      const key = runtimeKey(service, environment);
      let runtime = runtimes.get(key);
      if (!runtime) {
        runtime = factory(service, specForEnvironment(spec, environment), environment);
        runtimes.set(key, runtime);
        // A failed build is not cached: the next pass tries again (e.g. after the port frees up).
        runtime.catch(() => runtimes.delete(key));
      }
      return runtime;
    },
    /** The runtime if it was built; null otherwise (no side effects). */
    async peek(service: string, environment: string = DEFAULT_ENVIRONMENT): Promise<ServiceRuntime | null> {
      const runtime = runtimes.get(runtimeKey(service, environment));
      return runtime ? runtime.catch(() => null) : null;
    },
    /** Keys of the runtimes built so far (`service` or `service@environment`). */
    services: () => [...runtimes.keys()],
    /** Every runtime built so far (failed builds left out). */
    async all(): Promise<ServiceRuntime[]> {
      const built = await Promise.all([...runtimes.values()].map((runtime) => runtime.catch(() => null)));
      return built.filter((runtime): runtime is ServiceRuntime => runtime !== null);
    },
    async closeAll(): Promise<void> {
      const all = [...runtimes.values()];
      runtimes.clear();
      await Promise.all(all.map(async (runtime) => (await runtime.catch(() => null))?.close()));
    },
  };
}

export type RuntimeRegistry = ReturnType<typeof createRuntimeRegistry>;
