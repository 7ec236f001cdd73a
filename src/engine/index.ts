/**
 * The engine: a controller running rollout passes, over the services' runtimes. `createEngine`
 * composes the default adapters (process targets, embedded routers, builtin metrics); tests and
 * benchmarks pass their own runtime factory.
 */
import path from 'node:path';
import type { ServiceSpec } from '../core/resources/service.js';
import type { Notifier } from '../ports/notifier.js';
import type { Store } from '../ports/store.js';
import { createController, type EngineLogger } from './controller.js';
import type { Commit } from './pass.js';
import { restoreDataPlane } from './restore.js';
import { createRuntimeRegistry, defaultRuntimeFactory, prometheusProviders, withPrometheus, type PrometheusSettings, type RuntimeFactory } from './runtime.js';
import { createEngineSecrets, redactingTarget, type EngineSecretsConfig } from './secrets.js';

export { createController, shardOf, SHARD_COUNT, type Controller, type EngineLogger } from './controller.js';
export { LeaseLostError, runPass, type Commit, type PassOutcome } from './pass.js';
export { createRuntimeRegistry, defaultRuntimeFactory, prometheusProviders, type PrometheusSettings, type RuntimeFactory, type RuntimeRegistry, type ServiceRuntime } from './runtime.js';
export { DEFAULT_ENVIRONMENT, resolveRolloutSpec, stableVersionOf } from './resolve.js';
export { createEngineSecrets, redactingTarget, SecretRedactor, SecretResolutionError, type EngineSecrets, type EngineSecretsConfig } from './secrets.js';

export interface EngineConfig {
  store: Store;
  logger: EngineLogger;
  /** Logs and pid files of the services' processes go under `${dataDir}/services`. */
  dataDir: string;
  /** Working directory of service commands; default this process's. */
  workingDir?: string;
  commit?: Commit;
  notifier?: Notifier;
  runtimeFactory?: RuntimeFactory;
  /**
   * Prometheus for analysis metrics with a `prometheus` provider: `address` serves the metrics that
   * set none of their own (`rollgate serve --prometheus-url`); metrics with an `address` work
   * without it. Given to every runtime, including those of a custom `runtimeFactory`.
   */
  prometheus?: PrometheusSettings;
  /**
   * Where `secretRef`s in env resolve, and the redactor their values are added to (share it with
   * the logger). Without a provider, a spec that refers to a secret cannot start.
   */
  secrets?: EngineSecretsConfig;
  now?: () => Date;
  holderId?: string;
  leaseTtlMs?: number;
  rescanMs?: number;
}

export function createEngine(config: EngineConfig) {
  const secrets = createEngineSecrets(config.secrets);
  const provider = config.secrets?.provider;
  const build =
    config.runtimeFactory ??
    defaultRuntimeFactory({
      logDir: path.join(config.dataDir, 'services'),
      workingDir: config.workingDir ?? process.cwd(),
      redact: (text) => secrets.redactor.redact(text),
      // Ansible extraVars secretRefs: resolved by the target at each run, every value redacted everywhere.
      ...(provider
        ? {
            resolveSecret: async (ref) => {
              const value = await provider.resolve(ref);
              if (value !== null) secrets.redactor.add([value]);
              return value;
            },
          }
        : {}),
    });
  const prometheus = prometheusProviders(config.prometheus);
  const runtimes = createRuntimeRegistry(async (service, spec, environment = 'default') => {
    const runtime = withPrometheus(await build(service, spec, environment), prometheus);
    // Every message and log line a target returns passes the redactor before it reaches a status or audit event.
    runtime.target = redactingTarget(runtime.target, secrets.redactor);
    const stored = await config.store.read.objects.get('Service', service);
    try {
      if (stored) await restoreDataPlane(config.store.read, runtime, stored, environment, secrets);
      // Only now: the routing table is what the stored state says.
      await runtime.listen?.();
    } catch (error) {
      await runtime.close().catch(() => undefined);
      throw error;
    }
    return runtime;
  });
  const controller = createController({
    store: config.store,
    runtimes,
    logger: config.logger,
    ...(config.commit ? { commit: config.commit } : {}),
    ...(config.notifier ? { notifier: config.notifier } : {}),
    ...(config.now ? { now: config.now } : {}),
    ...(config.holderId ? { holderId: config.holderId } : {}),
    ...(config.leaseTtlMs ? { leaseTtlMs: config.leaseTtlMs } : {}),
    ...(config.rescanMs ? { rescanMs: config.rescanMs } : {}),
    secrets,
  });
  return {
    controller,
    runtimes,
    /** Brings back the data plane of every service that has a stable version, then starts passing. */
    async start(): Promise<void> {
      let cursor: string | undefined;
      do {
        const page = await config.store.read.objects.list('Service', { limit: 1000, ...(cursor ? { cursor } : {}) });
        for (const service of page.items) {
          for (const environment of Object.keys(service.status?.environments ?? {})) {
            await runtimes
              .get(service.name, service.spec as unknown as ServiceSpec, environment)
              .catch((error: unknown) => config.logger.error({ err: error, service: service.name, environment }, 'cannot restore the data plane'));
          }
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      await controller.start();
    },
    wake: (name: string) => controller.wake(name),
    wakePaused: () => controller.wakePaused(),
    /** Prometheus texts: the engine's counters, then each service's data plane. */
    async metrics(): Promise<string[]> {
      const { stats } = controller;
      const lag = [...stats.lagSamples].sort((a, b) => a - b);
      const quantile = (q: number) => (lag.length === 0 ? 0 : lag[Math.min(lag.length - 1, Math.floor(q * lag.length))]! / 1000);
      const engineText = [
        '# HELP rollgate_engine_passes_total Rollout passes run by this process.',
        '# TYPE rollgate_engine_passes_total counter',
        `rollgate_engine_passes_total ${stats.passes}`,
        '# HELP rollgate_engine_status_writes_total Passes that wrote a status change.',
        '# TYPE rollgate_engine_status_writes_total counter',
        `rollgate_engine_status_writes_total ${stats.writes}`,
        '# HELP rollgate_engine_conflicts_total Passes whose write lost a compare-and-swap and were run again.',
        '# TYPE rollgate_engine_conflicts_total counter',
        `rollgate_engine_conflicts_total ${stats.conflicts}`,
        '# HELP rollgate_engine_errors_total Passes that failed and were retried.',
        '# TYPE rollgate_engine_errors_total counter',
        `rollgate_engine_errors_total ${stats.errors}`,
        '# HELP rollgate_engine_pass_lag_seconds Delay between a pass being due and starting (recent passes).',
        '# TYPE rollgate_engine_pass_lag_seconds gauge',
        `rollgate_engine_pass_lag_seconds{quantile="0.5"} ${quantile(0.5)}`,
        `rollgate_engine_pass_lag_seconds{quantile="0.99"} ${quantile(0.99)}`,
        '# HELP rollgate_engine_owned_shards Rollout shards whose lease this process holds.',
        '# TYPE rollgate_engine_owned_shards gauge',
        `rollgate_engine_owned_shards ${controller.ownedShards().length}`,
        '',
      ].join('\n');
      const planes = (await runtimes.all()).map((runtime) => runtime.renderPrometheus?.() ?? '');
      return [engineText, ...planes];
    },
    /** Stops passes, then the services' data planes (routers, processes). */
    async stop(): Promise<void> {
      await controller.stop();
      await runtimes.closeAll();
    },
  };
}

export type Engine = ReturnType<typeof createEngine>;
