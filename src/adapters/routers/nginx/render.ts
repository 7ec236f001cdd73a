/**
 * Renders the NGINX include file the NGINX router owns, and reads it back. Pure: no I/O.
 *
 * The file goes into the `http {}` context of the operator's nginx.conf and defines, for an
 * upstream name `U` (variable-safe form `V`: U with `.` and `-` replaced by `_`):
 *
 *   upstream U__stable { ... }   every stable endpoint (header-route fallback, direct use)
 *   upstream U__canary { ... }   every canary endpoint (only while there is a canary)
 *   upstream U { ... }           the weighted split: stable endpoints `weight=S`, canary endpoints
 *                                `weight=C`, so that C·n_stable/(S·n_canary + C·n_stable) is the
 *                                canary share (0.01 % resolution). NGINX refuses `weight=0`: at 0 %
 *                                (or with no canary) the canary servers are left out, at 100 % the
 *                                stable ones.
 *   map ... $rollgate_V          which upstream a request goes to: `U`, or `U__canary` when the
 *                                header route matches. The operator's location says
 *                                `proxy_pass http://$rollgate_V;` (a variable naming an upstream
 *                                block is resolved to that block, no resolver needed).
 *
 * Every upstream carries a `zone`, so all worker processes share one round-robin state and the
 * split is exact across workers, not per worker.
 *
 * Header routes: each condition of each match (presence, exact, prefix, regex) becomes a `map`
 * from `$http_<name>` or `$cookie_<name>` to 0/1, and a final `map` over their concatenation sends
 * "all ones" to the canary (AND). Exact and prefix values are matched as escaped, anchored,
 * case-sensitive PCRE regexes: NGINX compares plain `map` strings ignoring case, which would not
 * be "exact". A regex that matches in a `map` replaces the request's positional captures
 * ($1..$9): a location that needs its own captures after `$rollgate_V` was evaluated must copy
 * them first (`set $path $1;`) or use named captures (`(?<path>.*)`). Differences from the
 * embedded proxy, stated where they are enforced:
 *   - NGINX cannot tell an empty header from a missing one: a match needs a non-empty value, and
 *     `exact: ""` is refused;
 *   - header names are letters, digits and `-` (NGINX drops headers with `_` unless
 *     `underscores_in_headers on`), cookie names letters, digits and `_` (NGINX variable names);
 *     NGINX matches cookie names ignoring case, and does not strip quotes around a cookie value;
 *   - `regex` is compiled by NGINX's PCRE, not JavaScript: it is checked with JavaScript first,
 *     and what PCRE refuses (e.g. an unbounded look-behind) is refused by `nginx -t`;
 *   - a header sent several times: NGINX 1.22 matches the first value (1.23+: all values joined
 *     with ", "); the embedded proxy matches any one of them.
 *
 * The file starts with two comment lines: the marker `# rollgate-managed` (the router overwrites
 * only a file that is missing, empty, or carries it) and `# rollgate-state: {json}`, the state it
 * rendered (versions, endpoints, the exact requested weight, the header route), which a restarted
 * control plane reads back and `verify()` cross-checks against the rendered `weight=` values.
 */
import type { Backend, HeaderMatch, HeaderRoute, RouterState } from '../../../ports/traffic-router.js';

export const MANAGED_MARKER = '# rollgate-managed';
const STATE_PREFIX = '# rollgate-state: ';
const STATE_FORMAT = 1;

/** What the router last set; the include file is a pure function of it. */
export interface NginxRoutingState {
  stable: Backend | null;
  canary: Backend | null;
  /** As requested, 0..100 (rendered with 0.01 % resolution). */
  canaryWeight: number;
  headerRoute: HeaderRoute | null;
}

export interface RenderOptions {
  /** The upstream name U. */
  upstream: string;
  /** `keepalive` connections per worker to each upstream; 0 renders none. */
  keepalive: number;
  /** `keepalive_timeout` of idle upstream connections, seconds; null: NGINX's default (60 s). */
  keepaliveTimeoutSeconds: number | null;
}

export const EMPTY_STATE: NginxRoutingState = Object.freeze({ stable: null, canary: null, canaryWeight: 0, headerRoute: null });

const UPSTREAM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const HEADER_NAME = /^[A-Za-z0-9-]+$/;
const COOKIE_NAME = /^[A-Za-z0-9_]+$/;
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export function validateUpstreamName(upstream: unknown): string {
  if (typeof upstream !== 'string' || !UPSTREAM_NAME.test(upstream)) {
    throw new TypeError(`NginxRouter: upstream must be 1-100 letters, digits, "_", "." or "-" starting with a letter or digit, got ${JSON.stringify(upstream)}`);
  }
  return upstream;
}

/** The variable the operator's `proxy_pass http://$...;` names, without the `$`. */
export function routingVariable(upstream: string): string {
  return `rollgate_${upstream.replace(/[.-]/g, '_')}`;
}

export function upstreamNames(upstream: string) {
  return { weighted: upstream, stable: `${upstream}__stable`, canary: `${upstream}__canary` };
}

// ---------------------------------------------------------------------------------------------
// Validation (before anything is rendered)

function validateEndpoint(endpoint: unknown, where: string): string {
  if (typeof endpoint !== 'string') throw new TypeError(`${where}: endpoint must be a "host:port" string`);
  const colon = endpoint.lastIndexOf(':');
  const host = colon > 0 ? endpoint.slice(0, colon) : '';
  const portText = colon > 0 ? endpoint.slice(colon + 1) : '';
  const port = Number(portText);
  if (!HOST.test(host) || !/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) {
    throw new TypeError(`${where}: endpoint "${endpoint}" is not "host:port" (host name, IPv4 address or [IPv6] address; port 1-65535)`);
  }
  return endpoint;
}

export function copyBackend(backend: Backend, where: string): Backend {
  if (typeof backend?.version !== 'string' || backend.version.length === 0) throw new TypeError(`${where}.version must be a non-empty string`);
  if (CONTROL.test(backend.version)) throw new TypeError(`${where}.version must not contain control characters`);
  if (!Array.isArray(backend.endpoints) || backend.endpoints.length === 0) throw new TypeError(`${where}.endpoints must list at least one "host:port"`);
  const endpoints = backend.endpoints.map((e, i) => validateEndpoint(e, `${where}.endpoints[${i}]`));
  return Object.freeze({ version: backend.version, endpoints: Object.freeze(endpoints) as string[] });
}

export function validateWeight(weight: unknown): number {
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > 100) throw new RangeError('weights.canary must be a number in 0..100');
  return weight;
}

/**
 * Checks what NGINX can express, on top of the embedded proxy's own validation (names, regex
 * syntax), which the caller runs first. Returns a frozen copy.
 */
export function copyHeaderRoute(route: HeaderRoute): HeaderRoute {
  if (CONTROL.test(route.name)) throw new TypeError(`header route ${JSON.stringify(route.name)}: name must not contain control characters`);
  route.match.forEach((m, i) => {
    const where = `header route "${route.name}": match[${i}]`;
    if (m.headerName.toLowerCase().startsWith('cookie:')) {
      const cookie = m.headerName.slice('cookie:'.length);
      if (!COOKIE_NAME.test(cookie)) throw new TypeError(`${where}.headerName: NGINX reads cookies through $cookie_NAME variables, so a cookie name must be letters, digits and "_", got "${cookie}"`);
    } else if (!HEADER_NAME.test(m.headerName)) {
      throw new TypeError(`${where}.headerName "${m.headerName}": NGINX routes on headers whose names are letters, digits and "-" (it drops headers with "_" by default)`);
    }
    for (const key of ['exact', 'prefix', 'regex'] as const) {
      const value = m[key];
      if (value !== undefined && CONTROL.test(value)) throw new TypeError(`${where}.${key} must not contain control characters`);
    }
    if (m.exact === '') throw new TypeError(`${where}.exact is "": NGINX cannot tell an empty header from a missing one`);
  });
  return Object.freeze({
    name: route.name,
    match: Object.freeze(
      route.match.map((m) =>
        Object.freeze({
          headerName: m.headerName,
          ...(m.exact !== undefined ? { exact: m.exact } : {}),
          ...(m.prefix !== undefined ? { prefix: m.prefix } : {}),
          ...(m.regex !== undefined ? { regex: m.regex } : {}),
        }),
      ),
    ) as HeaderMatch[],
  });
}

// ---------------------------------------------------------------------------------------------
// Rendering

/** A double-quoted NGINX configuration string: the parser turns `\\` into `\` and `\"` into `"`. */
export function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** `value` as a PCRE literal. */
export function regexLiteral(value: string): string {
  return value.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Canary share in basis points (0..10000) as rendered. */
export function basisPoints(weight: number): number {
  return Math.min(10_000, Math.max(0, Math.round(weight * 100)));
}

/**
 * Integer `weight=` values for each stable and each canary endpoint giving `weight` % to the
 * canary arm as a whole; null for an arm left out (NGINX refuses weight 0).
 */
export function serverWeights(weight: number, stableCount: number, canaryCount: number): { stable: number | null; canary: number | null } {
  const bp = canaryCount === 0 ? 0 : basisPoints(weight);
  if (bp === 0) return { stable: 1, canary: null };
  if (bp === 10_000) return { stable: null, canary: 1 };
  let s = (10_000 - bp) * canaryCount;
  let c = bp * stableCount;
  const g = gcd(s, c);
  s /= g;
  c /= g;
  return { stable: s, canary: c };
}

interface Condition {
  source: string;
  /** null: the value is not empty. */
  regex: string | null;
  describe: string;
}

function conditionsOf(match: HeaderMatch): Condition[] {
  const isCookie = match.headerName.toLowerCase().startsWith('cookie:');
  const source = isCookie ? `$cookie_${match.headerName.slice('cookie:'.length)}` : `$http_${match.headerName.toLowerCase().replace(/-/g, '_')}`;
  const label = isCookie ? `cookie ${match.headerName.slice('cookie:'.length)}` : `header ${match.headerName}`;
  const conditions: Condition[] = [];
  if (match.exact !== undefined) conditions.push({ source, regex: `^${regexLiteral(match.exact)}$`, describe: `${label} exact ${JSON.stringify(match.exact)}` });
  if (match.prefix !== undefined && match.prefix !== '') {
    conditions.push({ source, regex: `^${regexLiteral(match.prefix)}`, describe: `${label} prefix ${JSON.stringify(match.prefix)}` });
  }
  if (match.regex !== undefined) conditions.push({ source, regex: match.regex, describe: `${label} regex ${JSON.stringify(match.regex)}` });
  // Present (non-empty) unless a non-empty exact or prefix condition already implies it.
  if (match.exact === undefined && (match.prefix === undefined || match.prefix === '')) {
    conditions.unshift({ source, regex: null, describe: `${label} present` });
  }
  return conditions;
}

function upstreamBlock(name: string, servers: string[], options: RenderOptions): string[] {
  const lines = [`upstream ${name} {`, `    zone rollgate_${name} 64k;`, ...servers.map((s) => `    ${s}`)];
  if (options.keepalive > 0) {
    lines.push(`    keepalive ${options.keepalive};`);
    if (options.keepaliveTimeoutSeconds !== null) lines.push(`    keepalive_timeout ${options.keepaliveTimeoutSeconds}s;`);
  }
  lines.push('}');
  return lines;
}

/** One line of JSON (no raw newlines: JSON escapes them), so it stays inside its comment. */
function stateLine(options: RenderOptions, state: NginxRoutingState): string {
  return STATE_PREFIX + JSON.stringify({ format: STATE_FORMAT, upstream: options.upstream, ...state });
}

/** The include file for `state`; `state.stable` must be set. */
export function renderInclude(options: RenderOptions, state: NginxRoutingState): string {
  const stable = state.stable;
  if (!stable) throw new Error('renderInclude: no stable backend');
  const names = upstreamNames(options.upstream);
  const variable = routingVariable(options.upstream);
  const canary = state.canary;
  const w = serverWeights(state.canaryWeight, stable.endpoints.length, canary?.endpoints.length ?? 0);
  const out: string[] = [
    `${MANAGED_MARKER}: NGINX router of upstream "${options.upstream}". Rollgate rewrites this whole file on every traffic change (edits are lost);`,
    `# the previous version is kept next to it as <this file>.previous. Route with: proxy_pass http://$${variable};`,
    stateLine(options, state),
    `# stable ${JSON.stringify(stable.version)}${canary ? `, canary ${JSON.stringify(canary.version)} at ${state.canaryWeight}%` : ', no canary'}${canary && state.headerRoute ? `, header route ${JSON.stringify(state.headerRoute.name)}` : ''}`,
    '',
  ];
  const server = (endpoint: string, weight: number | null, arm: string, version: string) =>
    `server ${endpoint}${weight !== null && weight !== 1 ? ` weight=${weight}` : ''};  # ${arm} ${version}`;

  out.push(...upstreamBlock(names.stable, stable.endpoints.map((e) => server(e, null, 'stable', stable.version)), options), '');
  if (canary) out.push(...upstreamBlock(names.canary, canary.endpoints.map((e) => server(e, null, 'canary', canary.version)), options), '');
  const weighted: string[] = [];
  if (w.stable !== null) weighted.push(...stable.endpoints.map((e) => server(e, w.stable, 'stable', stable.version)));
  if (w.canary !== null && canary) weighted.push(...canary.endpoints.map((e) => server(e, w.canary, 'canary', canary.version)));
  out.push(...upstreamBlock(names.weighted, weighted, options), '');

  const route = canary ? state.headerRoute : null;
  if (route) {
    const flags: string[] = [];
    out.push(`# header route ${JSON.stringify(route.name)}: to ${names.canary} when all of these hold`);
    route.match.forEach((m, i) => {
      conditionsOf(m).forEach((c, j) => {
        const flag = `${variable}_m${i}_${j}`;
        flags.push(`$${flag}`);
        // Presence is a plain empty-string entry, not a regex: a successful regex match in a map
        // replaces the request's positional captures ($1..$9), which a location may still need.
        const body = c.regex === null ? ['    default 1;', '    "" 0;'] : ['    default 0;', `    ${quote(`~${c.regex}`)} 1;`];
        out.push(`map ${c.source} $${flag} {  # ${c.describe}`, ...body, '}');
      });
    });
    out.push(`map ${quote(flags.join(''))} $${variable} {`, `    default ${names.weighted};`, `    ${quote('1'.repeat(flags.length))} ${names.canary};`, '}');
  } else {
    out.push(`map $host $${variable} {`, `    default ${names.weighted};`, '}');
  }
  out.push('');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Reading back

export interface ParsedInclude {
  /** The state line, as Rollgate wrote it; null for a managed file without one (a bootstrap). */
  state: NginxRoutingState | null;
  /** Canary share from the `weight=` values of the weighted upstream, basis points; null if absent. */
  renderedBasisPoints: number | null;
  /** Whether the routing map sends a header match to the canary upstream. */
  renderedHeaderRoute: boolean;
}

export function isManaged(content: string): boolean {
  return content.trim().length === 0 || content.includes(MANAGED_MARKER);
}

/** Parses a file this module rendered. Throws when it is not a Rollgate file or names another upstream. */
export function parseInclude(content: string, upstream: string): ParsedInclude {
  if (!content.includes(MANAGED_MARKER)) throw new Error(`not a file Rollgate manages (no "${MANAGED_MARKER}" line)`);
  const lines = content.split('\n');
  let state: NginxRoutingState | null = null;
  const stateText = lines.find((l) => l.startsWith(STATE_PREFIX));
  if (stateText) {
    let raw: { format?: unknown; upstream?: unknown } & Partial<NginxRoutingState>;
    try {
      raw = JSON.parse(stateText.slice(STATE_PREFIX.length)) as typeof raw;
    } catch (error) {
      throw new Error(`its "${STATE_PREFIX.trim()}" line is not JSON: ${(error as Error).message}`);
    }
    if (raw.format !== STATE_FORMAT) throw new Error(`its state format ${JSON.stringify(raw.format)} is not ${STATE_FORMAT}`);
    if (raw.upstream !== upstream) throw new Error(`it routes upstream ${JSON.stringify(raw.upstream)}, not "${upstream}"`);
    state = {
      stable: raw.stable ?? null,
      canary: raw.canary ?? null,
      canaryWeight: typeof raw.canaryWeight === 'number' ? raw.canaryWeight : 0,
      headerRoute: raw.headerRoute ?? null,
    };
  }

  const names = upstreamNames(upstream);
  let renderedBasisPoints: number | null = null;
  const start = lines.findIndex((l) => l.trim() === `upstream ${names.weighted} {`);
  if (start !== -1) {
    let stableSum = 0;
    let canarySum = 0;
    for (let i = start + 1; i < lines.length && lines[i]!.trim() !== '}'; i++) {
      const m = /^\s*server\s+\S+?(?:\s+weight=(\d+))?\s*;\s*#\s*(stable|canary)\b/.exec(lines[i]!);
      if (!m) continue;
      const weight = m[1] === undefined ? 1 : Number(m[1]);
      if (m[2] === 'canary') canarySum += weight;
      else stableSum += weight;
    }
    if (stableSum + canarySum > 0) renderedBasisPoints = Math.round((canarySum * 10_000) / (stableSum + canarySum));
  }
  const variable = routingVariable(upstream);
  const routeLine = new RegExp(`^\\s*"1+"\\s+${names.canary.replace(/[.]/g, '\\.')};`);
  const mapStart = lines.findIndex((l) => l.startsWith('map ') && l.includes(`$${variable} {`));
  let renderedHeaderRoute = false;
  if (mapStart !== -1) {
    for (let i = mapStart + 1; i < lines.length && lines[i]!.trim() !== '}'; i++) if (routeLine.test(lines[i]!)) renderedHeaderRoute = true;
  }
  return { state, renderedBasisPoints, renderedHeaderRoute };
}

/**
 * The RouterState the file describes: versions and route name from the state line; the weight as
 * requested when the rendered `weight=` values agree with it (to the 0.01 % the file can express),
 * otherwise the share the `weight=` values give — someone changed the servers by hand, and the
 * rendered weights are what NGINX reads.
 */
export function routerStateOf(parsed: ParsedInclude): RouterState {
  const state = parsed.state ?? EMPTY_STATE;
  const canaryVersion = state.canary?.version ?? null;
  const expectedBp = state.canary ? basisPoints(state.canaryWeight) : 0;
  let canaryWeight = state.canaryWeight;
  if (parsed.state && parsed.renderedBasisPoints !== null && parsed.renderedBasisPoints !== expectedBp) canaryWeight = parsed.renderedBasisPoints / 100;
  const headerRoute = state.headerRoute && (parsed.renderedHeaderRoute || !state.canary) ? state.headerRoute.name : null;
  return { canaryWeight, stableVersion: state.stable?.version ?? null, canaryVersion, headerRoute };
}
