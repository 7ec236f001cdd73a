/**
 * TrafficRouter over the embedded data plane (src/proxy): the proxy runs inside this process, so
 * every change applies to the next request and `verify()` reads the live routing table back.
 *
 * The proxy starts listening on first use (or an explicit `start()`), and `close()` stops it; a
 * closed router refuses further calls. Its per-version statistics (`stats`) feed the builtin
 * MetricProvider, and `renderPrometheus()` its Prometheus exposition.
 */
import type { Backends, HeaderRoute, RouterCapabilities, RouterState, TrafficRouter } from '../../ports/traffic-router.js';
import { createProxy, type EmbeddedProxy, type ProxyAddress, type ProxyStats, type ProxyStatsOptions } from '../../proxy/index.js';

export interface EmbeddedRouterConfig {
  /** The service this router fronts (Prometheus `service` label). */
  service: string;
  /** Where the proxy listens; port 0 picks a free port (see `start()` / `address()`). */
  listen: { host: string; port: number };
  /** Keep clients on the version they first got (cookie `rollgate_version`). Default false. */
  sticky?: boolean;
  /** Statistics clock and retention (default 15 minutes of 1-second buckets). */
  stats?: ProxyStatsOptions;
  /** Longest wait for an upstream's response headers, or between two body chunks, before the request is abandoned (504). 0 = none (default). */
  upstreamTimeoutMs?: number;
  /** Max concurrent connections in the pool to one upstream endpoint. Default unlimited. */
  maxSocketsPerEndpoint?: number;
  /** How long close() waits for requests in flight. Default 5000 ms. */
  stopGraceMs?: number;
  /** Uniform [0, 1) source for the weighted split; for deterministic tests. */
  random?: () => number;
}

const CAPABILITIES: RouterCapabilities = Object.freeze({ weights: true, headerRouting: true, sticky: true, verify: true });

function freezeConfig(config: EmbeddedRouterConfig): Readonly<EmbeddedRouterConfig> {
  if (typeof config?.service !== 'string' || config.service.length === 0) throw new TypeError('EmbeddedRouter: service must be a non-empty string');
  return Object.freeze({
    ...config,
    listen: Object.freeze({ ...config.listen }),
    ...(config.stats ? { stats: Object.freeze({ ...config.stats }) } : {}),
  });
}

export class EmbeddedRouter implements TrafficRouter {
  readonly capabilities: RouterCapabilities = CAPABILITIES;
  readonly config: Readonly<EmbeddedRouterConfig>;
  private readonly proxy: EmbeddedProxy;
  private closed = false;

  constructor(config: EmbeddedRouterConfig) {
    this.config = freezeConfig(config);
    this.proxy = createProxy({
      listen: this.config.listen,
      service: this.config.service,
      sticky: this.config.sticky ?? false,
      ...(this.config.stats ? { stats: this.config.stats } : {}),
      ...(this.config.random ? { random: this.config.random } : {}),
      ...(this.config.upstreamTimeoutMs !== undefined ? { upstreamTimeoutMs: this.config.upstreamTimeoutMs } : {}),
      ...(this.config.maxSocketsPerEndpoint !== undefined ? { maxSocketsPerEndpoint: this.config.maxSocketsPerEndpoint } : {}),
      ...(this.config.stopGraceMs !== undefined ? { stopGraceMs: this.config.stopGraceMs } : {}),
    });
  }

  /** Starts the proxy (idempotent) and returns the address it listens on. */
  async start(): Promise<ProxyAddress> {
    this.assertOpen();
    return this.proxy.start();
  }

  /** The address the proxy listens on, or null before start / after close. */
  address(): ProxyAddress | null {
    return this.proxy.address();
  }

  /** Per-version statistics of the traffic this router served (for BuiltinMetricProvider). */
  get stats(): ProxyStats {
    return this.proxy.stats;
  }

  /** Prometheus text exposition of the proxy's counters. */
  renderPrometheus(): string {
    return this.proxy.renderPrometheus();
  }

  async setBackends(backends: Backends): Promise<void> {
    await this.start();
    this.proxy.setBackends(backends);
  }

  async setWeights(weights: { canary: number }): Promise<void> {
    await this.start();
    this.proxy.setWeights(weights);
  }

  async setHeaderRoute(route: HeaderRoute | null): Promise<void> {
    await this.start();
    this.proxy.setHeaderRoute(route);
  }

  async verify(): Promise<RouterState> {
    this.assertOpen();
    const s = this.proxy.state();
    return { canaryWeight: s.canaryWeight, stableVersion: s.stableVersion, canaryVersion: s.canaryVersion, headerRoute: s.headerRoute };
  }

  async reset(): Promise<void> {
    await this.start();
    this.proxy.setHeaderRoute(null);
    this.proxy.setWeights({ canary: 0 });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.proxy.stop();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`EmbeddedRouter for service "${this.config.service}" is closed`);
  }
}
