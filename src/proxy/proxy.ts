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
 * Requests and responses are streamed both ways (never buffered); the method, path, query and
 * headers are kept (hop-by-hop headers removed) and X-Forwarded-For / -Proto / -Host added. Every
 * response carries `X-Rollgate-Version`. An upstream that cannot be reached gives a 502 counted as an
 * error for the version it was meant for. A client that goes away mid-request or mid-response aborts
 * the upstream request; it is counted with status 499 when no response had started yet.
 * WebSocket / Upgrade is not supported (such requests are forwarded as plain HTTP requests).
 * Repeated request headers are forwarded as they came (separate lines, same order); a request with
 * two Host headers, or an asterisk-form target (`OPTIONS *`), is answered 400 and not forwarded.
 * A bodyless request whose kept-alive upstream connection turns out closed is sent once more, on a
 * fresh connection.
 *
 * Implementation: the client side is node:http; the upstream side is an undici `Pool` per endpoint
 * (keep-alive, no pipelining) driven through its low-level `dispatch` API, with the exchange object
 * itself as the dispatch handler. Headers travel as flat raw arrays (`req.rawHeaders` in, undici's
 * raw response headers out through `res.writeHead(status, array)`): no header objects are built on
 * the hot path. See docs/benchmarks.md for what each of these choices is worth.
 */
import http, { type IncomingMessage, type ServerResponse, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Client, Pool, type Dispatcher } from 'undici';
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
  /** Max concurrent connections to one upstream endpoint; requests beyond wait in a queue. Default unlimited. */
  maxSocketsPerEndpoint?: number;
  /**
   * Upstream timeout (ms): the longest wait for the response headers once the request is on its
   * upstream connection (→ 504 when nothing was sent to the client yet), and the longest gap between
   * two chunks of the response body (→ the client response is cut and counted as an error).
   * 0 = none (default).
   */
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

/** One upstream endpoint and its keep-alive connection pool (shared by every arm that uses it). */
class Endpoint {
  private pool: Pool | null = null;
  constructor(
    readonly host: string,
    readonly port: number,
    /** `http://host:port`. */
    readonly origin: string,
    private readonly maxConnections: number | null,
  ) {}

  /** The live pool, opened on first use and again after `close()` / `destroy()`. */
  get(): Pool {
    const pool = this.pool;
    return pool !== null && !pool.closed && !pool.destroyed ? pool : this.open();
  }

  private open(): Pool {
    this.pool = new Pool(this.origin, {
      connections: this.maxConnections,
      pipelining: 1,
      // Timeouts are set per request (see handle()); the pool's defaults (300 s) would apply otherwise.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    return this.pool;
  }

  /**
   * Sends one request on a connection of its own, closed after it (the retry after a kept-alive
   * connection failed: the pool might hand out another stale one).
   */
  dispatchFresh(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): void {
    const client = new Client(this.origin, { pipelining: 1, headersTimeout: 0, bodyTimeout: 0 });
    client.dispatch({ ...options, reset: true }, handler);
    client.close().catch(noop); // once that request completes
  }

  /** Lets requests in flight complete, then closes the connections. */
  close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    return pool === null ? Promise.resolve() : pool.close().catch(noop);
  }

  /** Closes the connections now. */
  destroy(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    return pool === null ? Promise.resolve() : pool.destroy().catch(noop);
  }
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

/** Headers not forwarded either way (hop-by-hop, RFC 9110 §7.6.1, plus Expect which this proxy answers itself). */
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

/**
 * Request headers the single pass over `req.rawHeaders` must look at, by lower-cased name: the
 * hop-by-hop ones (dropped) and those the proxy reads or rewrites.
 */
const enum H {
  Other = 0,
  HopByHop,
  Connection,
  Host,
  ContentLength,
  TransferEncoding,
  Cookie,
  XForwardedFor,
  XForwardedProto,
  XForwardedHost,
}
const REQUEST_HEADER_KIND: Record<string, H> = Object.assign(Object.create(null) as Record<string, H>, {
  'keep-alive': H.HopByHop,
  'proxy-connection': H.HopByHop,
  'proxy-authenticate': H.HopByHop,
  'proxy-authorization': H.HopByHop,
  te: H.HopByHop,
  trailer: H.HopByHop,
  upgrade: H.HopByHop,
  expect: H.HopByHop,
  connection: H.Connection,
  host: H.Host,
  'content-length': H.ContentLength,
  'transfer-encoding': H.TransferEncoding,
  cookie: H.Cookie,
  'x-forwarded-for': H.XForwardedFor,
  'x-forwarded-proto': H.XForwardedProto,
  'x-forwarded-host': H.XForwardedHost,
});

function parseEndpoint(endpoint: string, where: string): { host: string; port: number; origin: string } {
  if (typeof endpoint !== 'string') throw new TypeError(`${where}: endpoint must be a "host:port" string`);
  const colon = endpoint.lastIndexOf(':');
  let host = colon > 0 ? endpoint.slice(0, colon) : '';
  const portText = colon > 0 ? endpoint.slice(colon + 1) : '';
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(portText);
  if (host.length === 0 || !/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw new TypeError(`${where}: endpoint "${endpoint}" is not "host:port"`);
  }
  return { host, port, origin: `http://${host.includes(':') ? `[${host}]` : host}:${port}` };
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

/** The reason given to undici when the client went away; one shared instance (no stack capture per abort). */
const CLIENT_GONE = Object.assign(new Error('rollgate: client went away'), { code: 'ROLLGATE_CLIENT_GONE' });

/** Connection-level failures after which a bodyless request may be sent once more on a fresh connection. */
const RETRYABLE: Record<string, true> = Object.assign(Object.create(null) as Record<string, true>, {
  UND_ERR_SOCKET: true,
  ECONNRESET: true,
  EPIPE: true,
});

const STICKY_STABLE = `${STICKY_COOKIE}=stable; Path=/; HttpOnly; SameSite=Lax`;
const STICKY_CANARY = `${STICKY_COOKIE}=canary; Path=/; HttpOnly; SameSite=Lax`;

/**
 * One client request on its way through the proxy. It is also the undici dispatch handler of its
 * upstream request (undici's native handler interface: onConnect / onHeaders / onData / onComplete /
 * onError), so a request allocates no handler object and no closures.
 */
class Exchange implements Dispatcher.DispatchHandler {
  /** undici's abort for the upstream request, once it is on a connection. */
  abort: ((err?: Error) => void) | null = null;
  /** undici's resume, after onData returned false (client response backpressure). */
  resume: (() => void) | null = null;
  /** Status recorded for stats: set when a response starts (upstream's or our own). */
  status = 0;
  /** The upstream failed after the response had started. */
  broken = false;
  retried = false;
  recorded = false;
  /** The upstream response has been fully received and written. */
  completed = false;
  /** The client left before the upstream request got a connection: abort it as soon as it does. */
  abortOnConnect = false;
  drainHooked = false;
  /** The proxy answered with its own error response; later upstream events are ignored. */
  settled = false;

  constructor(
    readonly proxy: ProxyServer,
    readonly res: ServerResponse,
    readonly arm: ArmState,
    readonly endpoint: Endpoint,
    readonly startMs: number,
    /** Sticky cookie to set on the response, or null. */
    readonly setCookie: string | null,
    readonly bodyless: boolean,
    /** The upstream request: what `dispatch` gets (kept for a retry). */
    readonly options: Dispatcher.DispatchOptions,
  ) {}

  // ---- undici dispatch handler -----------------------------------------------------------------

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.abortOnConnect) abort(CLIENT_GONE);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true; // 1xx informational: not forwarded (Node answers 100-continue itself)
    const res = this.res;
    if (this.settled || res.destroyed) return true; // finish() aborts the upstream request
    this.resume = resume;
    const headers: string[] = [];
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!.toString('latin1');
      const lower = name.toLowerCase();
      if (HOP_BY_HOP[lower] === true || lower === VERSION_HEADER) continue;
      headers.push(name, rawHeaders[i + 1]!.toString('latin1'));
    }
    headers.push(VERSION_HEADER, this.arm.backend.version);
    if (this.setCookie !== null) headers.push('set-cookie', this.setCookie);
    this.status = statusCode;
    res.writeHead(statusCode, statusText, headers);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    if (this.res.destroyed) return true; // finish() aborts the upstream request
    if (!this.drainHooked) {
      this.drainHooked = true;
      this.res.on('drain', onClientDrain);
    }
    return false;
  }

  onComplete(): void {
    this.completed = true;
    if (!this.settled) this.res.end();
  }

  onError(err: Error): void {
    const res = this.res;
    if (this.recorded || this.settled || res.destroyed) return; // the client left first; we aborted the upstream ourselves
    if (this.status !== 0) {
      // Failed after the response started (upstream died or stalled mid-body).
      this.broken = true;
      res.destroy();
      return;
    }
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'UND_ERR_HEADERS_TIMEOUT') {
      this.proxy.respondError(this, 504, `rollgate: upstream ${this.arm.backend.version} timed out\n`);
      return;
    }
    if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED') {
      // A request undici refuses to send (e.g. an invalid request target or a duplicate Host).
      this.proxy.respondError(this, 400, 'rollgate: request cannot be forwarded\n');
      return;
    }
    // A kept-alive connection the upstream had just closed: send once more on a fresh connection
    // when the request had no body (nothing was consumed from the client). When undici tells how
    // much the connection had read, only a connection that had already served a response counts.
    if (this.bodyless && !this.retried && RETRYABLE[code] === true && reusedConnection(err)) {
      this.retried = true;
      this.abort = null;
      this.endpoint.dispatchFresh(this.options, this);
      return;
    }
    this.proxy.respondError(this, 502, `rollgate: upstream ${this.arm.backend.version} unreachable (${code})\n`);
  }
}

/** False only when the error says its connection had read nothing before (a fresh connection). */
function reusedConnection(err: Error): boolean {
  const bytesRead = (err as { socket?: { bytesRead?: unknown } }).socket?.bytesRead;
  return typeof bytesRead !== 'number' || bytesRead > 0;
}

class ProxyServer implements EmbeddedProxy {
  readonly stats: ProxyStats;
  private readonly config: Readonly<ProxyConfig>;
  private readonly service: string;
  private readonly sticky: boolean;
  private readonly random: () => number;
  private readonly upstreamTimeoutMs: number;
  private readonly server: http.Server;
  /** Upstream endpoints by origin; one no routing table uses any more is closed gracefully. */
  private readonly endpoints = new Map<string, Endpoint>();
  private table: RoutingTable = { stable: null, canary: null, canaryWeight: 0, route: null };
  private bound: ProxyAddress | null = null;
  private starting: Promise<ProxyAddress> | null = null;
  private stopping: Promise<void> | null = null;

  constructor(config: ProxyConfig) {
    if (typeof config?.listen?.host !== 'string' || !Number.isInteger(config.listen.port) || config.listen.port < 0 || config.listen.port > 65535) {
      throw new TypeError('proxy: listen must be { host: string, port: 0..65535 }');
    }
    const maxSockets = config.maxSocketsPerEndpoint;
    if (maxSockets !== undefined && maxSockets !== Infinity && (!Number.isInteger(maxSockets) || maxSockets < 1)) {
      throw new RangeError('maxSocketsPerEndpoint must be a positive integer (or Infinity)');
    }
    const timeout = config.upstreamTimeoutMs;
    if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0)) {
      throw new RangeError('upstreamTimeoutMs must be a number >= 0');
    }
    this.config = Object.freeze({ ...config, listen: Object.freeze({ ...config.listen }) });
    this.service = config.service ?? 'default';
    this.sticky = config.sticky === true;
    this.random = config.random ?? Math.random;
    this.upstreamTimeoutMs = config.upstreamTimeoutMs ?? 0;
    this.stats = config.stats instanceof ProxyStats ? config.stats : new ProxyStats(config.stats);
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
    if (!this.server.listening) return this.destroyPools();
    const grace = this.config.stopGraceMs ?? 5_000;
    this.stopping = new Promise<void>((resolve) => {
      const poll = setInterval(() => this.server.closeIdleConnections(), 25);
      const force = setTimeout(() => this.server.closeAllConnections(), grace);
      this.server.close(() => {
        clearInterval(poll);
        clearTimeout(force);
        void this.destroyPools().then(() => {
          this.bound = null;
          this.stopping = null;
          resolve();
        });
      });
      this.server.closeIdleConnections();
    });
    return this.stopping;
  }

  /** Closes every upstream connection (pools reopen on use if the proxy is started again). */
  private async destroyPools(): Promise<void> {
    await Promise.all([...this.endpoints.values()].map((ep) => ep.destroy()));
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
    this.releaseUnusedEndpoints();
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

  /** Closes (gracefully: requests in flight complete) the endpoints no arm of the live table uses. */
  private releaseUnusedEndpoints(): void {
    const used = new Set<Endpoint>();
    for (const arm of [this.table.stable, this.table.canary]) if (arm) for (const ep of arm.endpoints) used.add(ep);
    for (const [origin, ep] of this.endpoints) {
      if (used.has(ep)) continue;
      this.endpoints.delete(origin);
      void ep.close();
    }
  }

  private armFor(arm: Arm, backend: Backend, current: ArmState | null): ArmState {
    if (current && current.arm === arm && sameBackend(current.backend, backend)) return current;
    const endpoints = backend.endpoints.map((e, i) => {
      const { host, port, origin } = parseEndpoint(e, `backends.${arm}.endpoints[${i}]`);
      let ep = this.endpoints.get(origin);
      if (ep === undefined) {
        const max = this.config.maxSocketsPerEndpoint;
        ep = new Endpoint(host, port, origin, max === undefined || max === Infinity ? null : max);
        this.endpoints.set(origin, ep);
      }
      return ep;
    });
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

    // One pass over the raw headers: copy what is forwarded, note what the proxy needs.
    const raw = req.rawHeaders;
    const headers: string[] = [];
    let connection: string | undefined;
    let host: string | undefined;
    let contentLength: string | undefined;
    let chunked = false;
    let cookie: string | undefined;
    let xff: string | undefined;
    let hasProto = false;
    let hasXHost = false;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      const value = raw[i + 1]!;
      const kind = REQUEST_HEADER_KIND[name.toLowerCase()];
      if (kind === undefined) {
        headers.push(name, value);
        continue;
      }
      switch (kind) {
        case H.HopByHop:
          break;
        case H.Connection:
          connection = connection === undefined ? value : `${connection}, ${value}`;
          break;
        case H.TransferEncoding:
          chunked = true;
          break;
        case H.XForwardedFor:
          xff = xff === undefined ? value : `${xff}, ${value}`;
          break;
        case H.Host:
          host ??= value;
          headers.push(name, value);
          break;
        case H.ContentLength:
          contentLength = value;
          headers.push(name, value);
          break;
        case H.Cookie:
          cookie = cookie === undefined ? value : `${cookie}; ${value}`;
          headers.push(name, value);
          break;
        case H.XForwardedProto:
          hasProto = true;
          headers.push(name, value);
          break;
        case H.XForwardedHost:
          hasXHost = true;
          headers.push(name, value);
          break;
        default:
          headers.push(name, value);
      }
    }

    let arm: ArmState = t.stable;
    let setCookie: string | null = null;
    const canary = t.canary;
    if (canary !== null && t.route !== null && routeMatches(t.route, req.headers)) {
      arm = canary;
    } else {
      let decided = false;
      if (this.sticky) {
        const chosen = getCookie(cookie, STICKY_COOKIE);
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

    if (connection !== undefined) {
      const c = connection.trim().toLowerCase();
      if (c !== 'keep-alive' && c !== 'close') dropConnectionTokens(headers, c);
    }
    const remote = req.socket.remoteAddress ?? '';
    headers.push('x-forwarded-for', xff === undefined ? remote : `${xff}, ${remote}`);
    if (!hasProto) headers.push('x-forwarded-proto', 'http');
    if (!hasXHost && host !== undefined) headers.push('x-forwarded-host', host);

    const bodyless = contentLength === undefined ? !chunked : contentLength === '0';
    const options: Dispatcher.DispatchOptions = {
      path: req.url ?? '/',
      method: req.method as Dispatcher.HttpMethod,
      headers,
      body: bodyless ? null : req,
      // Without pipelining `blocking` changes nothing, but left at its default it costs undici an
      // extra scheduling pass per response.
      blocking: false,
      headersTimeout: this.upstreamTimeoutMs,
      bodyTimeout: this.upstreamTimeoutMs,
    };
    const ex = new Exchange(this, res, arm, arm.next(), startMs, setCookie, bodyless, options);
    (res as Carrier)[kExchange] = ex;
    res.on('close', onClientClose);
    this.dispatch(ex);
  }

  /** Sends (or re-sends) the upstream request of `ex` on its endpoint's pool. */
  dispatch(ex: Exchange): void {
    // undici reports synchronous failures (e.g. an invalid request) through onError too.
    ex.endpoint.get().dispatch(ex.options, ex);
  }

  /** Writes the proxy's own error response (400/502/504) when no response has started. */
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
      // Client went away, or the upstream broke mid-response: abort the upstream request.
      if (!ex.completed && !ex.settled) {
        if (ex.abort !== null) ex.abort(CLIENT_GONE);
        else ex.abortOnConnect = true;
      }
      if (ex.broken) status = status >= 500 ? status : 502;
      else if (status === 0) status = 499;
    }
    if (status === 0) status = res.statusCode;
    this.stats.record(ex.arm.versionStats, ex.arm.series, status, (performance.now() - ex.startMs) / 1000);
  }
}

/** Removes from a flat header list the headers named in a Connection header (rare: slow path). */
function dropConnectionTokens(headers: string[], connection: string): void {
  const named = new Set(connection.split(',').map((token) => token.trim()));
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (named.has(headers[i]!.toLowerCase())) headers.splice(i, 2);
  }
}

// Event handlers are module-level functions (no per-request closures): each finds its exchange on
// the emitter it is attached to.

function onClientClose(this: ServerResponse): void {
  const ex = (this as Carrier)[kExchange];
  if (ex) ex.proxy.finish(ex);
}

function onClientDrain(this: ServerResponse): void {
  const ex = (this as Carrier)[kExchange];
  if (ex && ex.resume !== null) ex.resume();
}

export function createProxy(config: ProxyConfig): EmbeddedProxy {
  return new ProxyServer(config);
}
