/** The embedded data plane: a weighted / header-routed reverse proxy with per-version statistics. */
export { createProxy, STICKY_COOKIE, VERSION_HEADER } from './proxy.js';
export type { EmbeddedProxy, ProxyAddress, ProxyConfig, ProxyState } from './proxy.js';
export {
  DEFAULT_RETENTION_SECONDS,
  PROMETHEUS_LATENCY_BUCKETS,
  ProxyStats,
  newLatencyHistogram,
  summarize,
} from './stats.js';
export type { Arm, LatencySummary, ProxyStatsOptions, WindowStats } from './stats.js';
export { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './prometheus.js';
export { compileHeaderRoute, getCookie, routeMatches } from './routing.js';
