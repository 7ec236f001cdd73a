/**
 * Runs the API on a real socket. The CLI's `serve` command calls startServer, prints or saves
 * the admin token, and wires signals with installSignalHandlers.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Store } from '../ports/store.js';
import { createApp } from './app.js';
import { createEventBus } from './events/bus.js';
import { mergeExpositions } from './metrics/exposition.js';
import type { ServerSecrets } from './secrets/routes.js';
import { createCommit, type Commit } from './transaction.js';
import type { Logger } from './logger.js';
import { createTokenService } from './tokens/service.js';

export interface ServerConfig {
  store: Store;
  host: string;
  /** 0 picks a free port; `url` tells which. */
  port: number;
  logger: Logger;
  /** Where the CLI keeps its state; logged for operators, not used by the API itself yet. */
  dataDir?: string;
  bodyLimitBytes?: number;
  /** The provider `secretRef`s resolve from, managed through /api/v1/secrets when it is writable. */
  secrets?: ServerSecrets;
  /** How long close() lets in-flight requests finish before cutting connections. */
  shutdownGraceMs?: number;
  /**
   * Builds the rollout engine with the server's commit (so its status writes reach SSE
   * subscribers). It is started once the API listens, woken by every Deployment change that
   * is not its own, and stopped before the store closes.
   */
  engine?: (deps: { commit: Commit }) => EngineHandle;
  /** Directory of the built web UI to serve on this port (createApp's `webRoot`); API only without it. */
  webRoot?: string;
}

export interface EngineHandle {
  start(): Promise<void>;
  wake(name: string): void;
  /** Wakes every Paused rollout: a governance decision may have opened its gate. */
  wakePaused?(): void;
  stop(): Promise<void>;
  /** Prometheus exposition texts of the engine and the data planes it runs. */
  metrics?(): Promise<string[]>;
}

/** Audit actor of the engine's own writes; they must not wake it again. */
const ENGINE_ACTOR = 'system:engine';
/** Kinds whose changes can open or close a rollout's governance gate (approvals, windows, policies). */
const GATE_KINDS: ReadonlySet<string> = new Set(['Change', 'Window', 'Policy', 'Release', 'RiskModel', 'Environment']);

export interface RunningServer {
  url: string;
  /** The admin token minted on first start (shown once); null when tokens already existed. */
  adminToken: string | null;
  /** Graceful shutdown; safe to call more than once. */
  close(): Promise<void>;
}

const DEFAULT_GRACE_MS = 10_000;

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const { store, logger } = config;
  const bus = createEventBus();
  const engine = config.engine?.({ commit: createCommit(store, bus) }) ?? null;
  const metrics = async () => mergeExpositions((await engine?.metrics?.()) ?? []);
  const app = createApp({ store, logger, bus, metrics, ...(config.bodyLimitBytes ? { bodyLimitBytes: config.bodyLimitBytes } : {}), ...(config.secrets ? { secrets: config.secrets } : {}), ...(config.webRoot ? { webRoot: config.webRoot } : {}) });

  const server = await new Promise<Server>((resolve, reject) => {
    const created = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, () => resolve(created as Server)) as Server;
    created.once('error', reject);
  });
  // Minted only once the port is ours: a token minted by a start that then failed to listen
  // would never be shown, and the next start would not mint another.
  let adminToken: string | null;
  try {
    const tokens = createTokenService({ now: () => new Date() });
    adminToken = await store.transaction((stores) => tokens.ensureAdminToken(stores));
  } catch (error) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info({ url, dataDir: config.dataDir, adminTokenCreated: adminToken !== null }, 'rollgate API listening');
  let unsubscribe: (() => void) | null = null;
  if (engine) {
    const subscription = bus.subscribe();
    unsubscribe = () => subscription.close();
    void (async () => {
      for (let event = await subscription.next(); event; event = await subscription.next()) {
        if (event.actor === ENGINE_ACTOR) continue;
        if (event.kind === 'Deployment') engine.wake(event.name);
        else if (GATE_KINDS.has(event.kind)) engine.wakePaused?.();
      }
    })();
    await engine.start();
  }

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      logger.info('shutting down');
      // 1. stop accepting; server.close() resolves once every connection has ended.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // 2. SSE streams never end by themselves: end them so their connections can close.
      bus.close();
      // A keep-alive connection whose request finishes during shutdown turns idle after this
      // call; sweep repeatedly so it closes now instead of at the keep-alive timeout.
      server.closeIdleConnections();
      const sweeper = setInterval(() => server.closeIdleConnections(), 50);
      // 3. in-flight requests get a bounded grace period, then their connections are cut.
      const grace = config.shutdownGraceMs ?? DEFAULT_GRACE_MS;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), grace)));
      if ((await Promise.race([closed, timedOut])) === 'timeout') {
        logger.warn({ graceMs: grace }, 'requests still running after the grace period; closing their connections');
        server.closeAllConnections();
        await closed;
      }
      clearTimeout(timer);
      clearInterval(sweeper);
      // 4. the engine finishes its passes in flight and stops the data planes it runs.
      unsubscribe?.();
      await engine?.stop().catch((error: unknown) => logger.error({ err: error }, 'engine stop failed'));
      // 5. only now is nothing left that could use the store.
      await store.close();
      logger.info('stopped');
    })();
    return closing;
  };

  return { url, adminToken, close };
}

/**
 * SIGTERM / SIGINT start a graceful shutdown; a second signal exits at once. Returns a function
 * that removes the handlers.
 */
export function installSignalHandlers(server: Pick<RunningServer, 'close'>, options: { logger?: Logger; exit?: (code: number) => void } = {}): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      options.logger?.warn({ signal }, 'second signal; exiting now');
      exit(1);
      return;
    }
    stopping = true;
    options.logger?.info({ signal }, 'signal received; shutting down gracefully');
    server.close().then(
      () => exit(0),
      (error: unknown) => {
        options.logger?.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}
