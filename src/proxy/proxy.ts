/**
 * The embedded data plane: an HTTP/1.1 reverse proxy for ONE service that splits traffic between a
 * stable and a canary version.
 *
 * Routing of each request, in order:
 * 1. the header route, when set and every one of its matches holds → canary (when one exists);
 * 2. sticky mode: a `rollgate_version=stable|canary` cookie is honoured while its arm still takes
 *    unmatched traffic (canary: a canary backend exists and its weight is > 0; stable: the canary
 *    weight is < 100), so `reset()` really sends everyone to stable;
 * 3. otherwise a weighted random choice by the canary weight (0..100, fractional allowed). In sticky
 *    mode the choice is written back as the cookie on the response.
 * Within a version, endpoints are used round-robin.
 *
 * Changes of backends, weights and header route replace an immutable routing table and apply to the
 * next request; requests in flight keep the endpoint they were given and complete, and no client
 * connection is closed by a change.
 *
 * Requests and responses are streamed (piped) both ways; the method, path, query and headers are
 * kept (hop-by-hop headers removed) and X-Forwarded-For / -Proto / -Host added. Every response
 * carries `X-Rollgate-Version`. An upstream that cannot be reached gives a 502 counted as an error
 * for the version it was meant for. A client that goes away mid-request or mid-response aborts the
 * upstream request; it is counted with status 499 when no response had started yet.
 * WebSocket / Upgrade is not supported (such requests are forwarded as plain HTTP requests).
 */
import http, { type IncomingMessage, type ServerResponse, type OutgoingHttpHeaders, type ClientRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Backend, Backends, HeaderRoute, RouterState } from '../ports/traffic-router.js';
import { renderPrometheus } from './prometheus.js';
import { compileHeaderRoute, getCookie, routeMatches, type CompiledRoute } from './routing.js';
import { ProxyStats, type Arm, type ProxyStatsOptions, type SeriesStats, type VersionStats } from './stats.js';

export const STICKY_COOKIE = 'rollgate_version';
export const VERSION_HEADER = 'x-rollgate-version';

export interface ProxyConfig {
  listen: { host: string; port: number };
  /** Service name, used as the `service` label of the Prometheus series. Default "default". */
  service?: string;
  /** Keep a client on the arm it first got, with the `rollgate_version` cookie. Default false. */
  sticky?: boolean;
  /** Statistics options (clock, retention) or a ready ProxyStats to record into. */
  stats?: ProxyStatsOptions | ProxyStats;
  /** Uniform [0, 1) source for the weighted choice; inject for deterministic tests. Default Math.random. */
  random?: () => number;
  /** Max concurrent sockets to one upstream endpoint. Default unlimited. */
  maxSocketsPerEndpoint?: number;
  /** Idle time (ms) after which an upstream request is abandoned: 504 if nothing was sent yet. 0 = none (default). */
  upstreamTimeoutMs?: number;
  /** How long `stop()` waits for requests in flight before closing their connections. Default 5000. */
  stopGraceMs?: number;
}

export interface ProxyAddress {
  host: string;
  port: number;
}

/** The live routing state, as the data plane applies it. */
export interface ProxyState extends RouterState {
  backends: Backends | null;
  headerRouteSpec: HeaderRoute | null;
  sticky: boolean;
}

export interface EmbeddedProxy {
  /** Listens (port 0 picks a free port) and returns the bound address. Safe to repeat. */
  start(): Promise<ProxyAddress>;
  /** Stops listening, lets requests in flight finish (bounded by stopGraceMs), closes upstream sockets. Safe to repeat. */
  stop(): Promise<void>;
  setBackends(backends: Backends): void;
  setWeights(weights: { canary: number }): void;
  setHeaderRoute(route: HeaderRoute | null): void;
  state(): ProxyState;
  /** The bound address, or null when not listening. */
  address(): ProxyAddress | null;
  readonly stats: ProxyStats;
  renderPrometheus(): string;
}

interface Endpoint {
  readonly host: string;
  readonly port: number;
}

class ArmState {
  rr = 0;
  constructor(
    readonly arm: Arm,
    readonly backend: Backend,
    readonly endpoints: readonly Endpoint[],
    readonly versionStats: VersionStats,
    readonly series: SeriesStats,
  ) {}

  next(): Endpoint {
    const eps = this.endpoints;
    if (eps.length === 1) return eps[0]!;
    const i = this.rr;
    this.rr = i >= 0x3fffffff ? 0 : i + 1;
    return eps[i % eps.length]!;
  }
}

/** Immutable snapshot of everything routing needs; replaced wholesale on change. */
interface RoutingTable {
  readonly stable: ArmState | null;
  readonly canary: ArmState | null;
  readonly canaryWeight: number;
  readonly route: CompiledRoute | null;
}

/** Request headers not forwarded (hop-by-hop, RFC 9110 §7.6.1, plus Expect which this proxy answers itself). */
const HOP_BY_HOP: Record<string, true> = Object.assign(Object.create(null) as Record<string, true>, {
  connection: true,
  'keep-alive': true,
  'proxy-connection': true,
  'proxy-authenticate': true,
  'proxy-authorization': true,
  te: true,
  trailer: true,
  'transfer-encoding': true,
  upgrade: true,
  expect: true,
});

function parseEndpoint(endpoint: string, where: string): Endpoint {
  if (typeof endpoint !== 'string') throw new TypeError(`${where}: endpoint must be a "host:port" string`);
  const colon = endpoint.lastIndexOf(':');
  let host = colon > 0 ? endpoint.slice(0, colon) : '';
  const portText = colon > 0 ? endpoint.slice(colon + 1) : '';
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(portText);
  if (host.length === 0 || !/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw new TypeError(`${where}: endpoint "${endpoint}" is not "host:port"`);
  }
  return Object.freeze({ host, port });
}

function copyBackend(backend: Backend, where: string): Backend {
  if (typeof backend?.version !== 'string' || backend.version.length === 0) throw new TypeError(`${where}.version must be a non-empty string`);
  if (!Array.isArray(backend.endpoints) || backend.endpoints.length === 0) throw new TypeError(`${where}.endpoints must list at least one "host:port"`);
  return Object.freeze({ version: backend.version, endpoints: Object.freeze([...backend.endpoints]) as string[] });
}

function sameBackend(a: Backend, b: Backend): boolean {
  return a.version === b.version && a.endpoints.length === b.endpoints.length && a.endpoints.every((e, i) => e === b.endpoints[i]);
}

const kExchange = Symbol('rollgate.exchange');
type Carrier = { [kExchange]?: Exchange };

const noop = () => {};

/** One client request on its way through the proxy. */
class Exchange {
  upstream: ClientRequest | null = null;
  /** Status recorded for stats: set when a response starts (upstream's or our own). */
  status = 0;
  /** The upstream failed after the response had started. */
  broken = false;
  retried = false;
  recorded = false;
  /** The proxy answered with its own error response; later upstream events are ignored. */
  settled = false;
  constructor(
    readonly proxy: ProxyServer,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly arm: ArmState,
    public endpoint: Endpoint,
    readonly startMs: number,
    /** Sticky cookie to set on the response, or null. */
    readonly setCookie: string | null,
    readonly bodyless: boolean,
  ) {}
}

const STICKY_STABLE = `${STICKY_COOKIE}=stable; Path=/; HttpOnly; SameSite=Lax`;
const STICKY_CANARY = `${STICKY_COOKIE}=canary; Path=/; HttpOnly; SameSite=Lax`;

class ProxyServer implements EmbeddedProxy {
  readonly stats: ProxyStats;
  private readonly config: Readonly<ProxyConfig>;
  private readonly service: string;
  private readonly sticky: boolean;
  private readonly random: () => number;
  private readonly upstreamTimeoutMs: number;
  private readonly agent: http.Agent;
  private readonly server: http.Server;
  private table: RoutingTable = { stable: null, canary: null, canaryWeight: 0, route: null };
  private bound: ProxyAddress | null = null;
  private starting: Promise<ProxyAddress> | null = null;
  private stopping: Promise<void> | null = null;

  constructor(config: ProxyConfig) {
    if (typeof config?.listen?.host !== 'string' || !Number.isInteger(config.listen.port) || config.listen.port < 0 || config.listen.port > 65535) {
      throw new TypeError('proxy: listen must be { host: string, port: 0..65535 }');
    }
    this.config = Object.freeze({ ...config, listen: Object.freeze({ ...config.listen }) });
    this.service = config.service ?? 'default';
    this.sticky = config.sticky === true;
    this.random = config.random ?? Math.random;
    this.upstreamTimeoutMs = config.upstreamTimeoutMs ?? 0;
    this.stats = config.stats instanceof ProxyStats ? config.stats : new ProxyStats(config.stats);
    this.agent = new http.Agent({
      keepAlive: true,
      maxSockets: config.maxSocketsPerEndpoint ?? Infinity,
      maxFreeSockets: 256,
      scheduling: 'lifo',
    });
    this.server = http.createServer({ keepAliveTimeout: 5_000 }, (req, res) => this.handle(req, res));
    // Upgrade requests (WebSocket) are not proxied: with no 'upgrade' listener Node hands them to the
    // request handler, which forwards them as plain requests without the hop-by-hop Upgrade header.
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      if (err.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
  }

  // ---- control ------------------------------------------------------------------------------

  async start(): Promise<ProxyAddress> {
    if (this.bound) return this.bound;
    if (this.stopping) await this.stopping;
    if (!this.starting) {
      this.starting = new Promise<ProxyAddress>((resolve, reject) => {
        const onError = (err: Error) => {
          this.starting = null;
          reject(err);
        };
        this.server.once('error', onError);
        this.server.listen(this.config.listen.port, this.config.listen.host, () => {
          this.server.off('error', onError);
          const info = this.server.address() as AddressInfo;
          this.bound = Object.freeze({ host: info.address, port: info.port });
          this.starting = null;
          resolve(this.bound);
        });
      });
    }
    return this.starting;
  }

  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    if (!this.server.listening) {
      this.agent.destroy();
      return Promise.resolve();
    }
    const grace = this.config.stopGraceMs ?? 5_000;
    this.stopping = new Promise<void>((resolve) => {
      const poll = setInterval(() => this.server.closeIdleConnections(), 25);
      const force = setTimeout(() => this.server.closeAllConnections(), grace);
      this.server.close(() => {
        clearInterval(poll);
        clearTimeout(force);
        this.agent.destroy();
        this.bound = null;
        this.stopping = null;
        resolve();
      });
      this.server.closeIdleConnections();
    });
    return this.stopping;
  }

  address(): ProxyAddress | null {
    return this.bound;
  }

  setBackends(backends: Backends): void {
    const stable = copyBackend(backends?.stable, 'backends.stable');
    const canary = backends.canary == null ? null : copyBackend(backends.canary, 'backends.canary');
    const current = this.table;
    const stableArm = this.armFor('stable', stable, current.stable);
    const canaryArm = canary === null ? null : this.armFor('canary', canary, current.canary);
    this.table = { ...current, stable: stableArm, canary: canaryArm };
    this.stats.pruneIdle(new Set(canary === null ? [stable.version] : [stable.version, canary.version]));
  }

  setWeights(weights: { canary: number }): void {
    const w = weights?.canary;
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0 || w > 100) throw new RangeError('weights.canary must be a number in 0..100');
    if (this.table.canaryWeight !== w) this.table = { ...this.table, canaryWeight: w };
  }

  setHeaderRoute(route: HeaderRoute | null): void {
    this.table = { ...this.table, route: route === null ? null : compileHeaderRoute(route) };
  }

  state(): ProxyState {
    const t = this.table;
    return {
      canaryWeight: t.canaryWeight,
      stableVersion: t.stable?.backend.version ?? null,
      canaryVersion: t.canary?.backend.version ?? null,
      headerRoute: t.route?.name ?? null,
      backends: t.stable ? { stable: t.stable.backend, canary: t.canary?.backend ?? null } : null,
      headerRouteSpec: t.route?.spec ?? null,
      sticky: this.sticky,
    };
  }

  renderPrometheus(): string {
    return renderPrometheus({ service: this.service, canaryWeight: this.table.canaryWeight, series: this.stats.allSeries() });
  }

  private armFor(arm: Arm, backend: Backend, current: ArmState | null): ArmState {
    if (current && current.arm === arm && sameBackend(current.backend, backend)) return current;
    const endpoints = backend.endpoints.map((e, i) => parseEndpoint(e, `backends.${arm}.endpoints[${i}]`));
    return new ArmState(arm, backend, endpoints, this.stats.versionStats(backend.version), this.stats.series(backend.version, arm));
  }

  // ---- data path ----------------------------------------------------------------------------

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const startMs = performance.now();
    // (IncomingMessage emits 'error' only to listeners; a client abort surfaces as res 'close'.)
    res.on('error', noop);
    const t = this.table;
    if (t.stable === null) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'content-length': 30 });
      res.end('rollgate: no backends defined\n');
      return;
    }

    let arm: ArmState = t.stable;
    let setCookie: string | null = null;
    const canary = t.canary;
    if (canary !== null && t.route !== null && routeMatches(t.route, req.headers)) {
      arm = canary;
    } else {
      let decided = false;
      if (this.sticky) {
        const chosen = getCookie(req.headers.cookie, STICKY_COOKIE);
        if (chosen === 'canary' && canary !== null && t.canaryWeight > 0) {
          arm = canary;
          decided = true;
        } else if (chosen === 'stable' && t.canaryWeight < 100) {
          decided = true;
        }
      }
      if (!decided) {
        if (canary !== null && t.canaryWeight > 0 && (t.canaryWeight >= 100 || this.random() * 100 < t.canaryWeight)) arm = canary;
        if (this.sticky) setCookie = arm === canary ? STICKY_CANARY : STICKY_STABLE;
      }
    }

    const h = req.headers;
    const bodyless = h['content-length'] === undefined ? h['transfer-encoding'] === undefined : h['content-length'] === '0';
    const ex = new Exchange(this, req, res, arm, arm.next(), startMs, setCookie, bodyless);
    (res as Carrier)[kExchange] = ex;
    res.on('close', onClientClose);
    this.sendUpstream(ex);
  }

  sendUpstream(ex: Exchange): void {
    const req = ex.req;
    const src = req.headers;
    const headers: OutgoingHttpHeaders = {};
    for (const name in src) {
      if (HOP_BY_HOP[name] !== true) headers[name] = src[name];
    }
    const connection = src.connection;
    if (connection !== undefined && connection !== 'keep-alive' && connection !== 'close') {
      // Headers named in Connection are hop-by-hop too (rare: slow path).
      for (const token of connection.split(',')) delete headers[token.trim().toLowerCase()];
    }
    const remote = req.socket.remoteAddress ?? '';
    const xff = src['x-forwarded-for'];
    headers['x-forwarded-for'] = xff === undefined ? remote : `${xff}, ${remote}`;
    if (src['x-forwarded-proto'] === undefined) headers['x-forwarded-proto'] = 'http';
    if (src['x-forwarded-host'] === undefined && src.host !== undefined) headers['x-forwarded-host'] = src.host;

    let upstream: ClientRequest;
    try {
      upstream = http.request({
        host: ex.endpoint.host,
        port: ex.endpoint.port,
        method: req.method,
        path: req.url,
        headers,
        agent: this.agent,
      });
    } catch {
      // e.g. a request target Node refuses to send (ERR_UNESCAPED_CHARACTERS).
      this.respondError(ex, 400, 'rollgate: request cannot be forwarded\n');
      return;
    }
    ex.upstream = upstream;
    (upstream as Carrier)[kExchange] = ex;
    upstream.on('response', onUpstreamResponse);
    upstream.on('error', onUpstreamError);
    if (this.upstreamTimeoutMs > 0) upstream.setTimeout(this.upstreamTimeoutMs, onUpstreamTimeout);
    if (ex.bodyless) upstream.end();
    else req.pipe(upstream);
  }

  /** Writes the proxy's own error response (502/504) when no response has started. */
  respondError(ex: Exchange, status: number, body: string): void {
    const res = ex.res;
    ex.status = status;
    ex.settled = true;
    if (res.headersSent || res.destroyed) {
      ex.broken = true;
      res.destroy();
      return;
    }
    const headers: OutgoingHttpHeaders = {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      [VERSION_HEADER]: ex.arm.backend.version,
    };
    // The request body may be unread; close the connection rather than parse leftovers.
    if (!ex.bodyless) headers.connection = 'close';
    res.writeHead(status, headers);
    res.end(body);
  }

  /** Records the exchange once, when the client response closes (finished or aborted). */
  finish(ex: Exchange): void {
    if (ex.recorded) return;
    ex.recorded = true;
    const res = ex.res;
    let status = ex.status;
    if (!res.writableFinished) {
      // Client went away, or the upstream broke mid-response.
      if (ex.upstream !== null && !ex.upstream.destroyed) ex.upstream.destroy();
      if (ex.broken) status = status >= 500 ? status : 502;
      else if (status === 0) status = 499;
    }
    if (status === 0) status = res.statusCode;
    this.stats.record(ex.arm.versionStats, ex.arm.series, status, (performance.now() - ex.startMs) / 1000);
  }
}

// Event handlers are module-level functions (no per-request closures): each finds its exchange on
// the emitter it is attached to.

function onClientClose(this: ServerResponse): void {
  const ex = (this as Carrier)[kExchange];
  if (ex) ex.proxy.finish(ex);
}

function onUpstreamResponse(this: ClientRequest, upstreamRes: IncomingMessage): void {
  const ex = (this as Carrier)[kExchange]!;
  const res = ex.res;
  if (res.destroyed) {
    upstreamRes.resume();
    this.destroy();
    return;
  }
  (upstreamRes as Carrier)[kExchange] = ex;
  upstreamRes.on('error', onUpstreamResponseError);
  upstreamRes.on('aborted', onUpstreamResponseError);
  const src = upstreamRes.headers;
  const headers: OutgoingHttpHeaders = {};
  for (const name in src) {
    if (HOP_BY_HOP[name] !== true) headers[name] = src[name];
  }
  headers[VERSION_HEADER] = ex.arm.backend.version;
  if (ex.setCookie !== null) {
    const existing = src['set-cookie'];
    headers['set-cookie'] = existing === undefined ? ex.setCookie : [...existing, ex.setCookie];
  }
  const status = upstreamRes.statusCode ?? 502;
  ex.status = status;
  res.writeHead(status, upstreamRes.statusMessage, headers);
  upstreamRes.pipe(res);
}

function onUpstreamResponseError(this: IncomingMessage): void {
  const ex = (this as Carrier)[kExchange];
  if (!ex || ex.res.writableFinished) return;
  ex.broken = true;
  ex.res.destroy();
}

function onUpstreamError(this: ClientRequest, err: NodeJS.ErrnoException): void {
  const ex = (this as Carrier)[kExchange]!;
  const res = ex.res;
  if (ex.recorded || ex.settled || res.destroyed) return; // the client left first; we aborted the upstream ourselves
  if (ex.status !== 0) {
    // Failed after the response started.
    ex.broken = true;
    res.destroy();
    return;
  }
  // A kept-alive socket the upstream had just closed: retry once on a fresh connection when the
  // request had no body (nothing was consumed from the client).
  if (this.reusedSocket && ex.bodyless && !ex.retried && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
    ex.retried = true;
    ex.proxy.sendUpstream(ex);
    return;
  }
  ex.proxy.respondError(ex, 502, `rollgate: upstream ${ex.arm.backend.version} unreachable (${err.code ?? 'error'})\n`);
}

function onUpstreamTimeout(this: ClientRequest): void {
  const ex = (this as Carrier)[kExchange]!;
  if (ex.recorded || ex.settled) return;
  if (ex.status === 0) ex.proxy.respondError(ex, 504, `rollgate: upstream ${ex.arm.backend.version} timed out\n`);
  else {
    ex.broken = true;
    ex.res.destroy();
  }
  this.destroy();
}

export function createProxy(config: ProxyConfig): EmbeddedProxy {
  return new ProxyServer(config);
}
