/**
 * TrafficRouter over HAProxy, driven through its Runtime API (the admin socket): no configuration
 * file is edited and HAProxy is never reloaded, so a change applies to the next request and no
 * connection is dropped. The configuration it drives is rendered once by `renderHaproxyConfig()`
 * (haproxy/config.ts): a weighted backend with server slots `stable1..N` / `canary1..N`, a
 * canary-only backend for header routes, and three files under `mapDir`.
 *
 * What each call changes:
 * - `setBackends`: each slot's address (`set server B/S addr IP port P`), weight and state
 *   (`ready` | `maint`): the stable endpoints take the first stable slots, the canary endpoints
 *   the first canary slots of both backends, the other slots go to maintenance. Host names are
 *   resolved here (the Runtime API takes IP addresses). Servers that will take traffic are set up
 *   before any is given weight 0 or put in maintenance, so a request always has a server.
 * - `setWeights`: `set server B/S weight N` (0..256) on every slot in use, so that the canary
 *   slots together get the canary's share under weighted round-robin — exact for every multiple of
 *   0.5% with one instance per version (`planWeights` in haproxy/state.ts). Weight 0: no new requests.
 * - `setHeaderRoute`: replaces the route map (one PCRE2 pattern over the header block, see
 *   haproxy/header-route.ts) atomically (`prepare map` / `add map @ver` / `commit map @ver`).
 * - the state map (`<backend>.state.map`) records the canary weight as set and, per address, the
 *   version it serves (`add map` / `set map` / `del map`, in the same batch as the server changes:
 *   new addresses before any slot uses them, old ones after none does): HAProxy itself keeps what
 *   `verify()` needs, so a restarted control plane (or another replica) reads the same state
 *   without any local memory.
 *
 * Each change is one read, one batch of commands on one connection, and one read back that is
 * checked against what was meant (a command HAProxy accepted without doing it, or a concurrent hand
 * edit, is an error) and written to the state files.
 * - `persist` (default true): after each change the two maps and `show servers state` of both
 *   backends are written to their files under `mapDir`, which the rendered configuration loads at
 *   start, so a reload or restart of HAProxy keeps the rollout where it was.
 *
 * `verify()` reads `show servers state` of both backends and the two maps. Versions come from the
 * addresses of the slots in use (null when none is in use or an address is not one Rollgate set);
 * the canary weight is the recorded one when every slot in use is up with the weight Rollgate
 * planned for it, and otherwise the split HAProxy really applies (from the weights of the servers
 * that are up), so hand edits and servers marked down by health checks show up as drift.
 *
 * Calls are serialised within the process; every Runtime API batch is bounded by `timeoutMs`.
 * Sticky sessions are not implemented (capabilities.sticky is false).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { rename, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Backend, Backends, HeaderRoute, RouterCapabilities, RouterState, TrafficRouter } from '../../ports/traffic-router.js';
import { haproxyFiles, haproxyNames, type HaproxyFiles, type HaproxyNames } from './haproxy/config.js';
import { headerRoutePattern } from './haproxy/header-route.js';
import { cliArg, firstLine, HaproxyRuntimeClient, HaproxyRuntimeError } from './haproxy/runtime-api.js';
import {
  draining,
  effectiveCanaryPercent,
  endpointKey,
  inMaintenance,
  parseEndpoint,
  parseMap,
  parseServersState,
  planWeights,
  serving,
  slotsOf,
  type ServerState,
} from './haproxy/state.js';

export { renderHaproxyConfig, writeHaproxyConfig, haproxyFiles, haproxyNames, canaryRouteRule, type HaproxyConfigOptions } from './haproxy/config.js';
export { headerRoutePattern } from './haproxy/header-route.js';
export { HaproxyRuntimeClient, HaproxyRuntimeError } from './haproxy/runtime-api.js';
export { planWeights } from './haproxy/state.js';

export interface HaproxyRouterConfig {
  /** The service this router fronts (messages; the default backend name). */
  service: string;
  /** Path of HAProxy's admin socket (`stats socket <path> level admin`). */
  adminSocket: string;
  /** The weighted backend. Default: the service name. */
  backend?: string;
  /** The canary-only backend header routes use. Default `<backend>_canary`. */
  canaryBackend?: string;
  /** Slot name prefixes (`stable1`, `canary1`, ...). Defaults `stable`, `canary`. */
  stableServer?: string;
  canaryServer?: string;
  /**
   * Directory of `<backend>.routes.map`, `<backend>.state.map` and `<backend>.servers.state`, as the
   * configuration names them. Default: found through `show map` by those file names.
   */
  mapDir?: string;
  /** Write the maps and the server-state file after each change (survives HAProxy reloads). Default true. */
  persist?: boolean;
  /** Bound on each Runtime API batch. Default 5000 ms. */
  timeoutMs?: number;
  /** Resolves a host name to an IP address (the Runtime API takes addresses). Default: DNS lookup. */
  lookup?: (host: string) => Promise<string>;
}

const CAPABILITIES: RouterCapabilities = Object.freeze({ weights: true, headerRouting: true, sticky: false, verify: true });

const WEIGHT_KEY = 'canary-weight';
const VERSION_KEY = 'version@';

/** One endpoint resolved to the address HAProxy holds. */
interface Address {
  endpoint: string;
  addr: string;
  port: number;
  key: string;
}

type SlotTarget = { addr: string; port: number; weight: number } | 'maint';

/** What HAProxy holds for this service, as read in one batch. */
export interface HaproxyLiveState {
  /** Slots of the weighted backend. */
  stable: ServerState[];
  canary: ServerState[];
  /** Canary slots of the canary-only backend. */
  routeCanary: ServerState[];
  /** The canary weight as last set (state map), or null. */
  recordedWeight: number | null;
  /** Address (`ip:port`, `[v6]:port`) → version (state map). */
  versions: Map<string, string>;
  /** The header route in the route map, or null. */
  route: { pattern: string; name: string } | null;
  stateEntries: Array<{ key: string; value: string }>;
  routeEntries: Array<{ key: string; value: string }>;
  /** HAProxy's answers as read: `show servers state` of both backends. */
  raw: { servers: string; routeServers: string };
}

function freezeConfig(config: HaproxyRouterConfig): Readonly<HaproxyRouterConfig> {
  if (typeof config?.service !== 'string' || config.service.length === 0) throw new TypeError('HaproxyRouter: service must be a non-empty string');
  if (typeof config.adminSocket !== 'string' || config.adminSocket.length === 0) throw new TypeError('HaproxyRouter: adminSocket must be a non-empty string');
  if (config.mapDir !== undefined && (typeof config.mapDir !== 'string' || !path.isAbsolute(config.mapDir))) throw new TypeError('HaproxyRouter: mapDir must be an absolute path');
  if (config.timeoutMs !== undefined && (!Number.isFinite(config.timeoutMs) || config.timeoutMs <= 0)) throw new RangeError('HaproxyRouter: timeoutMs must be a positive number');
  return Object.freeze({ ...config });
}

function copyBackend(backend: Backend, where: string): Backend {
  if (typeof backend !== 'object' || backend === null) throw new TypeError(`${where} must be an object`);
  if (typeof backend.version !== 'string' || backend.version.length === 0) throw new TypeError(`${where}.version must be a non-empty string`);
  if (!Array.isArray(backend.endpoints) || backend.endpoints.length === 0) throw new TypeError(`${where}.endpoints must list at least one "host:port"`);
  backend.endpoints.forEach((e, i) => parseEndpoint(e, `${where}.endpoints[${i}]`));
  return { version: backend.version, endpoints: [...backend.endpoints] };
}

const encode = (value: string) => encodeURIComponent(value);
const decode = (value: string) => {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
};

const sameEntries = (a: ReadonlyArray<{ key: string; value: string }>, b: ReadonlyArray<{ key: string; value: string }>) =>
  a.length === b.length && a.every((e, i) => e.key === b[i]!.key && e.value === b[i]!.value);

export class HaproxyRouter implements TrafficRouter {
  readonly capabilities: RouterCapabilities = CAPABILITIES;
  readonly config: Readonly<HaproxyRouterConfig>;
  readonly names: Readonly<HaproxyNames>;
  private readonly api: HaproxyRuntimeClient;
  private files: HaproxyFiles | null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** The last write of the state files failed: the next call writes them even if it changes nothing. */
  private unpersisted = false;

  constructor(config: HaproxyRouterConfig) {
    this.config = freezeConfig(config);
    this.names = Object.freeze(haproxyNames(this.config.service, this.config));
    this.api = new HaproxyRuntimeClient({ socketPath: this.config.adminSocket, ...(this.config.timeoutMs !== undefined ? { timeoutMs: this.config.timeoutMs } : {}) });
    this.files = this.config.mapDir ? Object.freeze(haproxyFiles(this.config.mapDir, this.names.backend)) : null;
  }

  async setBackends(backends: Backends): Promise<void> {
    this.assertOpen();
    const stable = copyBackend(backends?.stable, 'backends.stable');
    const canary = backends.canary == null ? null : copyBackend(backends.canary, 'backends.canary');
    await this.exclusive(async () => {
      const files = await this.resolveFiles();
      const live = await this.read(files);
      const stableAddrs = await this.resolveAll(stable);
      const canaryAddrs = canary ? await this.resolveAll(canary) : [];
      const versions = new Map<string, string>();
      for (const a of stableAddrs) versions.set(a.key, stable.version);
      for (const a of canaryAddrs) {
        const other = versions.get(a.key);
        if (other !== undefined && other !== canary!.version) throw new TypeError(`backends: ${a.endpoint} is listed for both ${other} (stable) and ${canary!.version} (canary)`);
        versions.set(a.key, canary!.version);
      }
      const { backend, canaryBackend, stableServer, canaryServer } = this.names;
      const fits = (n: number, slots: number, which: string, name: string) => {
        if (n > slots) throw new RangeError(`backends.${which}: ${n} endpoints, but backend "${name}" has ${slots} "${which === 'stable' ? stableServer : canaryServer}<n>" slots; render the configuration with slots >= ${n}`);
      };
      fits(stableAddrs.length, live.stable.length, 'stable', backend);
      fits(canaryAddrs.length, live.canary.length, 'canary', backend);
      fits(canaryAddrs.length, live.routeCanary.length, 'canary', canaryBackend);

      const weight = live.recordedWeight ?? 0;
      const plan = planWeights(weight, stableAddrs.length, canaryAddrs.length);
      const targets = (slots: ServerState[], addrs: Address[], w: number) =>
        new Map<string, SlotTarget>(slots.map((s, i) => [s.name, i < addrs.length ? { addr: addrs[i]!.addr, port: addrs[i]!.port, weight: w } : 'maint']));
      const weighted = new Map([...targets(live.stable, stableAddrs, plan.stable), ...targets(live.canary, canaryAddrs, plan.canary)]);
      const routed = targets(live.routeCanary, canaryAddrs, 1);

      // One batch, in this order: the new addresses enter the state map before any slot uses them;
      // servers that will take traffic are set up before others lose it; addresses no slot uses
      // any more leave the map last. verify() never meets an address it cannot name.
      const finalState = this.stateEntries(weight, versions);
      const union = this.stateEntries(weight, new Map([...live.versions, ...versions]));
      await this.exec([
        ...upsertEntries(files.stateMap, live.stateEntries, union),
        ...transition(backend, [...live.stable, ...live.canary], weighted),
        ...transition(canaryBackend, live.routeCanary, routed),
        ...deleteEntries(files.stateMap, union, finalState),
      ]);
      const after = await this.read(files);
      assertApplied(backend, [...after.stable, ...after.canary], weighted);
      assertApplied(canaryBackend, after.routeCanary, routed);
      assertEntries(files.stateMap, after.stateEntries, finalState);
      await this.persist(files, after);
    });
  }

  async setWeights(weights: { canary: number }): Promise<void> {
    this.assertOpen();
    const w = weights?.canary;
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0 || w > 100) throw new RangeError('weights.canary must be a number in 0..100');
    await this.exclusive(() => this.applyWeight(w));
  }

  async setHeaderRoute(route: HeaderRoute | null): Promise<void> {
    this.assertOpen();
    const entries = route === null ? [] : [{ key: headerRoutePattern(route), value: encode(route.name) }];
    await this.exclusive(() => this.applyRoute(entries));
  }

  async verify(): Promise<RouterState> {
    this.assertOpen();
    return this.exclusive(async () => stateOf(await this.read(await this.resolveFiles())));
  }

  async reset(): Promise<void> {
    this.assertOpen();
    await this.exclusive(async () => {
      await this.applyRoute([]);
      await this.applyWeight(0);
    });
  }

  /** Everything HAProxy holds for this service (slots, maps), for inspection and tests. */
  async inspect(): Promise<HaproxyLiveState> {
    this.assertOpen();
    return this.exclusive(async () => this.read(await this.resolveFiles()));
  }

  /** Waits for the call in progress; further calls are refused. Holds no connection between calls. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue.catch(() => undefined);
  }

  // ---- internals --------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new Error(`HaproxyRouter for service "${this.config.service}" is closed`);
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.catch(() => undefined).then(work);
    this.queue = run;
    return run;
  }

  private async applyWeight(w: number): Promise<void> {
    const files = await this.resolveFiles();
    const live = await this.read(files);
    const stable = live.stable.filter((s) => !inMaintenance(s));
    const canary = live.canary.filter((s) => !inMaintenance(s));
    const targets = new Map<string, SlotTarget>();
    if (stable.length > 0) {
      const plan = planWeights(w, stable.length, canary.length);
      for (const s of stable) targets.set(s.name, { addr: s.addr, port: s.port, weight: plan.stable });
      for (const s of canary) targets.set(s.name, { addr: s.addr, port: s.port, weight: plan.canary });
    }
    // The weight is recorded after the servers changed (same batch): until then verify() reports
    // the split still in force.
    const state = this.stateEntries(w, live.versions);
    const commands = [...transition(this.names.backend, [...stable, ...canary], targets), ...upsertEntries(files.stateMap, live.stateEntries, state)];
    if (commands.length === 0) {
      if (this.unpersisted) await this.persist(files, live);
      return;
    }
    await this.exec(commands);
    const after = await this.read(files);
    assertApplied(this.names.backend, [...after.stable, ...after.canary], targets);
    assertEntries(files.stateMap, after.stateEntries, state);
    await this.persist(files, after);
  }

  private async applyRoute(entries: Array<{ key: string; value: string }>): Promise<void> {
    const files = await this.resolveFiles();
    const live = await this.read(files);
    if (sameEntries(entries, live.routeEntries)) {
      if (this.unpersisted) await this.persist(files, live);
      return;
    }
    await this.replaceMap(files.routesMap, entries);
    await this.persist(files, await this.read(files));
  }

  private stateEntries(weight: number, versions: ReadonlyMap<string, string>): Array<{ key: string; value: string }> {
    return [
      { key: WEIGHT_KEY, value: String(weight) },
      ...[...versions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, version]) => ({ key: `${VERSION_KEY}${key}`, value: encode(version) })),
    ];
  }

  /** Replaces a map's whole content in one step: prepare a new version, fill it, commit it. */
  private async replaceMap(file: string, entries: Array<{ key: string; value: string }>): Promise<void> {
    const [prepared] = await this.exec([`prepare map ${cliArg(file)}`]);
    const version = /New version created: (\d+)/.exec(prepared ?? '')?.[1];
    if (!version) throw new HaproxyRuntimeError(`HAProxy did not prepare a new version of map ${file}: ${prepared}`);
    await this.exec([...entries.map((e) => `add map @${version} ${cliArg(file)} ${cliArg(e.key)} ${cliArg(e.value)}`), `commit map @${version} ${cliArg(file)}`]);
  }

  /** Runs a batch, refusing any answer that is not the command's success answer. */
  private exec(commands: string[]): Promise<string[]> {
    return this.api.batch(commands, (command, answer) => {
      if (command.startsWith('show ')) return;
      if (command.startsWith('prepare map ')) {
        if (/^New version created: \d+/.test(answer)) return;
      } else if (/^set server \S+ addr /.test(command)) {
        // "IP changed from ...", "no need to change the addr, port changed from ...", ...
        if (/changed from|no need to change/i.test(answer) && !/invalid|error|failed/i.test(answer)) return;
      } else if (answer.trim() === '') {
        return;
      }
      throw new HaproxyRuntimeError(`HAProxy refused "${command}": ${answer.trim() || '(no answer)'}`, command, answer);
    });
  }

  private async read(files: HaproxyFiles): Promise<HaproxyLiveState> {
    const { backend, canaryBackend, stableServer, canaryServer } = this.names;
    const [b, c, stateText, routesText] = await this.exec([
      `show servers state ${cliArg(backend)}`,
      `show servers state ${cliArg(canaryBackend)}`,
      `show map ${cliArg(files.stateMap)}`,
      `show map ${cliArg(files.routesMap)}`,
    ]);
    const servers = (text: string, name: string) => {
      try {
        return parseServersState(text);
      } catch {
        throw new Error(`HAProxy has no backend "${name}" (${firstLine(text)}): render the configuration with renderHaproxyConfig("${this.config.service}", ...)`);
      }
    };
    const map = (text: string, file: string) => {
      if (/^Unknown map identifier/i.test(text)) throw new Error(`HAProxy has not loaded the map ${file}: its configuration must name it (renderHaproxyConfig with mapDir ${path.dirname(file)})`);
      return parseMap(text);
    };
    const weighted = servers(b!, backend);
    const routeServers = servers(c!, canaryBackend);
    const stable = slotsOf(weighted, stableServer);
    if (stable.length === 0) throw new Error(`HAProxy backend "${backend}" has no "${stableServer}<n>" servers: render the configuration with renderHaproxyConfig("${this.config.service}", ...)`);
    const stateEntries = map(stateText!, files.stateMap);
    const routeEntries = map(routesText!, files.routesMap);
    const weightEntry = stateEntries.find((e) => e.key === WEIGHT_KEY);
    const recorded = weightEntry ? Number(weightEntry.value) : null;
    const versions = new Map<string, string>();
    for (const e of stateEntries) if (e.key.startsWith(VERSION_KEY)) versions.set(e.key.slice(VERSION_KEY.length), decode(e.value));
    const first = routeEntries[0];
    return {
      stable,
      canary: slotsOf(weighted, canaryServer),
      routeCanary: slotsOf(routeServers, canaryServer),
      recordedWeight: recorded !== null && Number.isFinite(recorded) && recorded >= 0 && recorded <= 100 ? recorded : null,
      versions,
      route: first ? { pattern: first.key, name: decode(first.value) } : null,
      stateEntries,
      routeEntries,
      raw: { servers: b!, routeServers: c! },
    };
  }

  private async resolveFiles(): Promise<HaproxyFiles> {
    if (this.files) return this.files;
    const listing = await this.api.run('show map');
    const loaded = [...listing.matchAll(/^\s*-?\d+\s+\((.+?)\)\s/gm)].map((m) => m[1]!);
    const find = (suffix: string) => loaded.find((file) => path.basename(file) === `${this.names.backend}${suffix}`);
    const stateMap = find('.state.map');
    const routesMap = find('.routes.map');
    if (!stateMap || !routesMap) {
      throw new Error(
        `HAProxy has not loaded ${this.names.backend}.state.map and ${this.names.backend}.routes.map (maps loaded: ${loaded.join(', ') || 'none'}): render its configuration with renderHaproxyConfig("${this.config.service}", { mapDir, ... }), or set mapDir`,
      );
    }
    this.files = Object.freeze({ stateMap, routesMap, serverState: path.join(path.dirname(stateMap), `${this.names.backend}.servers.state`) });
    return this.files;
  }

  private async resolveAll(backend: Backend): Promise<Address[]> {
    const lookup = this.config.lookup ?? (async (host: string) => (await dnsLookup(host)).address);
    return Promise.all(
      backend.endpoints.map(async (endpoint) => {
        const { host, port } = parseEndpoint(endpoint, 'endpoint');
        let addr = host;
        if (net.isIP(host) === 0) {
          try {
            addr = await lookup(host);
          } catch (error) {
            throw new Error(`cannot resolve ${endpoint} for HAProxy (the Runtime API takes IP addresses): ${(error as Error).message}`);
          }
          if (net.isIP(addr) === 0) throw new Error(`lookup of ${host} gave "${addr}", not an IP address`);
        }
        return { endpoint, addr, port, key: endpointKey(addr, port) };
      }),
    );
  }

  /** Writes the maps and the servers' state, as just read back, to the files the configuration loads at start. */
  private async persist(files: HaproxyFiles, live: HaproxyLiveState): Promise<void> {
    if (this.config.persist === false) return;
    for (const file of Object.values(files)) {
      if (!path.isAbsolute(file)) throw new Error(`cannot persist to ${file}: HAProxy names it with a relative path (use an absolute mapDir, or set persist: false)`);
    }
    const mapFile = (entries: Array<{ key: string; value: string }>) => entries.map((e) => `${e.key} ${e.value}\n`).join('');
    // One file for both backends: the format-version and header lines once, then every server line.
    const servers = `${live.raw.servers.trimEnd()}\n${live.raw.routeServers
      .split('\n')
      .slice(2)
      .filter((l) => l.trim().length > 0)
      .join('\n')}\n`;
    const write = async (file: string, content: string) => {
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        await writeFile(tmp, content);
        await rename(tmp, file);
      } catch (error) {
        this.unpersisted = true;
        throw new Error(`HAProxy state applied, but writing ${file} failed (${(error as Error).message}): a reload of HAProxy would lose it; fix the permissions, or set persist: false`);
      }
    };
    await write(files.stateMap, mapFile(live.stateEntries));
    await write(files.routesMap, mapFile(live.routeEntries));
    await write(files.serverState, servers);
    this.unpersisted = false;
  }
}

/** Commands that give `file` every entry of `desired` (add, or set when the key exists with another value). */
function upsertEntries(file: string, current: ReadonlyArray<{ key: string; value: string }>, desired: ReadonlyArray<{ key: string; value: string }>): string[] {
  const have = new Map(current.map((e) => [e.key, e.value]));
  return desired
    .filter((e) => have.get(e.key) !== e.value)
    .map((e) => `${have.has(e.key) ? 'set' : 'add'} map ${cliArg(file)} ${cliArg(e.key)} ${cliArg(e.value)}`);
}

/** Commands that remove from `file` the keys of `current` that `desired` does not have. */
function deleteEntries(file: string, current: ReadonlyArray<{ key: string; value: string }>, desired: ReadonlyArray<{ key: string; value: string }>): string[] {
  const keep = new Set(desired.map((e) => e.key));
  return [...new Set(current.map((e) => e.key))].filter((key) => !keep.has(key)).map((key) => `del map ${cliArg(file)} ${cliArg(key)}`);
}

/** Throws unless `file` holds exactly `desired` (in any order). */
function assertEntries(file: string, actual: ReadonlyArray<{ key: string; value: string }>, desired: ReadonlyArray<{ key: string; value: string }>): void {
  const render = (entries: ReadonlyArray<{ key: string; value: string }>) => entries.map((e) => `${e.key} ${e.value}`).sort();
  const a = render(actual);
  const d = render(desired);
  if (a.length !== d.length || a.some((line, i) => line !== d[i])) throw new Error(`HAProxy map ${file} did not take the change: it holds [${a.join(', ')}], expected [${d.join(', ')}]`);
}

/** The Runtime API commands that take `servers` to `targets`: servers that will take traffic first, weight 0 next, maintenance last. */
function transition(backend: string, servers: readonly ServerState[], targets: ReadonlyMap<string, SlotTarget>): string[] {
  const up: string[] = [];
  const zero: string[] = [];
  const down: string[] = [];
  for (const s of servers) {
    const target = targets.get(s.name);
    if (target === undefined) continue;
    const id = cliArg(`${backend}/${s.name}`);
    if (target === 'maint') {
      if (!inMaintenance(s)) down.push(`set server ${id} state maint`);
      continue;
    }
    const list = target.weight > 0 ? up : zero;
    if (s.addr !== target.addr || s.port !== target.port) list.push(`set server ${id} addr ${cliArg(target.addr)} port ${target.port}`);
    if (s.weight !== target.weight) list.push(`set server ${id} weight ${target.weight}`);
    if (inMaintenance(s) || draining(s)) list.push(`set server ${id} state ready`);
  }
  return [...up, ...zero, ...down];
}

/** Throws when HAProxy does not hold what was set (a command it accepted without doing it, or a concurrent hand edit). */
function assertApplied(backend: string, servers: readonly ServerState[], targets: ReadonlyMap<string, SlotTarget>): void {
  const wrong: string[] = [];
  for (const s of servers) {
    const target = targets.get(s.name);
    if (target === undefined) continue;
    if (target === 'maint') {
      if (!inMaintenance(s)) wrong.push(`${s.name} is not in maintenance`);
    } else if (s.addr !== target.addr || s.port !== target.port || s.weight !== target.weight || inMaintenance(s) || draining(s)) {
      wrong.push(`${s.name} is ${endpointKey(s.addr, s.port)} weight ${s.weight}${inMaintenance(s) ? ' (maint)' : draining(s) ? ' (drain)' : ''}, expected ${endpointKey(target.addr, target.port)} weight ${target.weight}`);
    }
  }
  if (wrong.length > 0) throw new Error(`HAProxy backend "${backend}" did not take the change: ${wrong.join('; ')}`);
}

/** RouterState from what HAProxy holds (see the module comment). */
export function stateOf(live: HaproxyLiveState): RouterState {
  const stable = live.stable.filter((s) => !inMaintenance(s));
  const canary = live.canary.filter((s) => !inMaintenance(s));
  const versionOf = (slots: ServerState[]): string | null => {
    if (slots.length === 0) return null;
    const found = new Set(slots.map((s) => live.versions.get(endpointKey(s.addr, s.port)) ?? null));
    return found.size === 1 && !found.has(null) ? [...found][0]! : null;
  };
  const recorded = live.recordedWeight ?? 0;
  let canaryWeight = recorded;
  if (stable.length > 0) {
    const plan = planWeights(recorded, stable.length, canary.length);
    const asPlanned = stable.every((s) => serving(s) && s.weight === plan.stable) && canary.every((s) => serving(s) && s.weight === plan.canary);
    if (!asPlanned) canaryWeight = effectiveCanaryPercent(live.stable, live.canary);
  }
  return { canaryWeight, stableVersion: versionOf(stable), canaryVersion: versionOf(canary), headerRoute: live.route?.name ?? null };
}
