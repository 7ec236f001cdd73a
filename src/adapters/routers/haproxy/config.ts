/**
 * The HAProxy configuration Rollgate drives for one service, and the names both sides agree on.
 *
 * `renderHaproxyConfig(service, options)` renders:
 * - backend `<backend>`: weighted round-robin over `slots` server slots per version, `stable1..N`
 *   and `canary1..N`, all starting in maintenance at a placeholder address; Rollgate gives them
 *   addresses, weights and states through the Runtime API;
 * - backend `<backend>_canary`: canary slots only, for requests a header route sends to the canary;
 * - optionally a frontend (with `frontend.bind`) whose one `use_backend` line picks the canary
 *   backend when a canary is up and the request matches the route map; without `frontend`, the
 *   output shows that line for your own frontend;
 * - optionally (`standalone`) `global` and `defaults` sections, for a test or a demo: Rollgate never
 *   renders or changes them for an existing HAProxy — only the admin socket line is needed there.
 *
 * Files under `mapDir` (created empty by `writeHaproxyConfig`, kept up to date by the router):
 * - `<backend>.routes.map`: the header route, one regex → route name (see header-route.ts);
 * - `<backend>.state.map`: the canary weight as set and which address serves which version;
 * - `<backend>.servers.state`: the servers' addresses, weights and states, loaded at start
 *   (`load-server-state-from-file local`), so a reload or restart of HAProxy keeps the rollout.
 */
import { mkdir, writeFile, access } from 'node:fs/promises';
import path from 'node:path';

export const DEFAULT_SLOTS = 4;
export const MAX_SLOTS = 64;

export interface HaproxyNames {
  backend: string;
  canaryBackend: string;
  stableServer: string;
  canaryServer: string;
}

export interface HaproxyFiles {
  routesMap: string;
  stateMap: string;
  serverState: string;
}

const PROXY_NAME = /^[A-Za-z0-9_.:-]+$/;

/** Backend and slot names: defaults `<service>`, `<backend>_canary`, `stable`, `canary`. */
export function haproxyNames(service: string, o: { backend?: string; canaryBackend?: string; stableServer?: string; canaryServer?: string } = {}): HaproxyNames {
  const names = {
    backend: o.backend ?? service,
    canaryBackend: o.canaryBackend ?? `${o.backend ?? service}_canary`,
    stableServer: o.stableServer ?? 'stable',
    canaryServer: o.canaryServer ?? 'canary',
  };
  for (const [key, value] of Object.entries(names)) {
    if (typeof value !== 'string' || !PROXY_NAME.test(value)) throw new TypeError(`HAProxy ${key} "${value}" must be letters, digits, "_", ".", ":" or "-"`);
  }
  if (names.backend === names.canaryBackend) throw new TypeError('HAProxy backend and canaryBackend must differ');
  if (names.stableServer === names.canaryServer || /\d$/.test(names.stableServer) || /\d$/.test(names.canaryServer)) {
    throw new TypeError('HAProxy stableServer and canaryServer must differ and not end with a digit (slots are <prefix>1, <prefix>2, ...)');
  }
  return names;
}

/** Where the map and server-state files of `backend` live under `mapDir`. */
export function haproxyFiles(mapDir: string, backend: string): HaproxyFiles {
  return {
    routesMap: path.join(mapDir, `${backend}.routes.map`),
    stateMap: path.join(mapDir, `${backend}.state.map`),
    serverState: path.join(mapDir, `${backend}.servers.state`),
  };
}

export interface HaproxyConfigOptions {
  /** Absolute directory of the map and server-state files (HAProxy resolves relative paths against its own working directory). */
  mapDir: string;
  backend?: string;
  canaryBackend?: string;
  /** Slot name prefixes; default `stable` / `canary`. */
  stableServer?: string;
  canaryServer?: string;
  /** Server slots per version: the most instances one version can have. Default 4. */
  slots?: number;
  /** Render a frontend; without it the output shows the `use_backend` line for yours. */
  frontend?: { name?: string; bind: string | string[] };
  /** HTTP health checks of every slot (`option httpchk GET <path>`, `check inter <intervalMs>`). Default none. */
  healthCheck?: { path: string; intervalMs?: number };
  /** Also render `global` (with the admin socket) and `defaults`, e.g. for tests and demos. */
  standalone?: { adminSocket: string; maxconn?: number; nbthread?: number; timeoutMs?: { connect?: number; client?: number; server?: number } };
}

function assertLine(value: string, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || /[\r\n#]/.test(value) || /\s/.test(value)) throw new TypeError(`HAProxy ${what} "${value}" must be one word`);
  return value;
}

/** The frontend rule that sends matching requests to the canary backend (when one of its servers is up). */
export function canaryRouteRule(names: HaproxyNames, files: HaproxyFiles): string {
  // nbsrv first: while no canary is up, the header block is never built nor matched.
  return `use_backend ${names.canaryBackend} if { nbsrv(${names.canaryBackend}) gt 0 } { req.hdrs,map_reg(${files.routesMap}) -m found }`;
}

export function renderHaproxyConfig(service: string, options: HaproxyConfigOptions): string {
  if (typeof service !== 'string' || service.length === 0) throw new TypeError('renderHaproxyConfig: service must be a non-empty string');
  const names = haproxyNames(service, options);
  if (typeof options.mapDir !== 'string' || !path.isAbsolute(options.mapDir)) throw new TypeError('renderHaproxyConfig: mapDir must be an absolute path');
  assertLine(options.mapDir, 'mapDir');
  const files = haproxyFiles(options.mapDir, names.backend);
  const slots = options.slots ?? DEFAULT_SLOTS;
  if (!Number.isInteger(slots) || slots < 1 || slots > MAX_SLOTS) throw new RangeError(`renderHaproxyConfig: slots must be an integer in 1..${MAX_SLOTS}`);
  const check = options.healthCheck;
  if (check) {
    if (!check.path?.startsWith('/')) throw new TypeError('renderHaproxyConfig: healthCheck.path must start with "/"');
    assertLine(check.path, 'healthCheck.path');
  }
  const checkArgs = check ? ` check inter ${check.intervalMs ?? 2000}ms` : '';

  const out: string[] = [];
  const line = (text = '') => out.push(text);
  line(`# Rendered by Rollgate for service "${service}". Rollgate changes, through the Runtime API only:`);
  line(`# the addresses, weights and states of the servers below, and the maps and the server-state file`);
  line(`# under ${options.mapDir}. It never edits this file, never reloads HAProxy, and never touches`);
  line('# global, defaults, other frontends or other backends.');
  line();
  if (options.standalone) {
    const s = options.standalone;
    assertLine(s.adminSocket, 'adminSocket');
    const t = s.timeoutMs ?? {};
    line('global');
    line(`    stats socket ${s.adminSocket} mode 600 level admin`);
    line('    stats timeout 30s');
    line(`    maxconn ${s.maxconn ?? 4096}`);
    if (s.nbthread !== undefined) line(`    nbthread ${s.nbthread}`);
    line();
    line('defaults');
    line('    mode http');
    line(`    timeout connect ${t.connect ?? 2000}ms`);
    line(`    timeout client ${t.client ?? 30_000}ms`);
    line(`    timeout server ${t.server ?? 30_000}ms`);
    line('    option http-keep-alive');
    line();
  }
  if (options.frontend) {
    const name = options.frontend.name ?? `${names.backend}_front`;
    if (!PROXY_NAME.test(name)) throw new TypeError(`renderHaproxyConfig: frontend name "${name}" is not a valid HAProxy name`);
    const binds = Array.isArray(options.frontend.bind) ? options.frontend.bind : [options.frontend.bind];
    if (binds.length === 0) throw new TypeError('renderHaproxyConfig: frontend.bind needs at least one address');
    line(`frontend ${name}`);
    line('    mode http');
    for (const bind of binds) line(`    bind ${assertLine(bind, 'frontend.bind')}`);
    line(`    ${canaryRouteRule(names, files)}`);
    line(`    default_backend ${names.backend}`);
    line();
  } else {
    line('# In the frontend that serves this service, before its default_backend / use_backend lines:');
    line(`#     ${canaryRouteRule(names, files)}`);
    line(`#     use_backend ${names.backend}   (or default_backend ${names.backend})`);
    line();
  }
  const backend = (name: string, slotLines: string[]) => {
    line(`backend ${name}`);
    line('    mode http');
    // Weights change at run time: roundrobin is the dynamic weighted algorithm (static-rr is not).
    line('    balance roundrobin');
    // A request whose connection to a server fails is retried, on another server if needed.
    line('    retries 3');
    line('    option redispatch 1');
    if (check) line(`    option httpchk GET ${check.path}`);
    // What the Runtime API set survives a reload or restart (the router rewrites this file).
    line('    load-server-state-from-file local');
    line(`    server-state-file-name ${files.serverState}`);
    for (const l of slotLines) line(`    ${l}`);
    line();
  };
  const slot = (prefix: string, weight: number) =>
    Array.from({ length: slots }, (_, i) => `server ${prefix}${i + 1} 127.0.0.1:1 disabled weight ${weight}${checkArgs}`);
  out.push(`# Weighted split: Rollgate sets each slot's address, weight (0..256) and state (ready | maint).`);
  out.push(`# ${names.stableServer}<n> serve the stable version, ${names.canaryServer}<n> the canary.`);
  backend(names.backend, [
    // The state map is loaded here (the rule never runs) so that the Runtime API can update it.
    `http-request set-var(txn.rollgate_state) str(-),map(${files.stateMap}) if FALSE`,
    ...slot(names.stableServer, 1),
    ...slot(names.canaryServer, 0),
  ]);
  out.push('# Header/cookie routes: requests matching the route map go to the canary slots only.');
  backend(names.canaryBackend, slot(names.canaryServer, 1));
  return `${out.join('\n')}\n`;
}

export interface WrittenHaproxyConfig extends HaproxyFiles {
  configFile: string;
}

/**
 * Writes the rendered configuration to `configFile` and creates `mapDir` with empty map files and
 * a server-state file holding only the format version — existing ones are kept, since they hold
 * the live routing. Needs no running control plane.
 */
export async function writeHaproxyConfig(configFile: string, service: string, options: HaproxyConfigOptions): Promise<WrittenHaproxyConfig> {
  const text = renderHaproxyConfig(service, options);
  const files = haproxyFiles(options.mapDir, haproxyNames(service, options).backend);
  await mkdir(options.mapDir, { recursive: true });
  const createIfMissing = async (file: string, content: string) => {
    try {
      await access(file);
    } catch {
      await writeFile(file, content, { flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
    }
  };
  await createIfMissing(files.routesMap, '');
  await createIfMissing(files.stateMap, '');
  await createIfMissing(files.serverState, '1\n');
  await mkdir(path.dirname(configFile), { recursive: true });
  await writeFile(configFile, text);
  return { configFile, ...files };
}
