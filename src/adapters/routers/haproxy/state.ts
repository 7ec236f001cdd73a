/**
 * Reading HAProxy's answers (`show servers state`, `show map`) and the arithmetic of weights.
 * Pure functions: no I/O.
 */

/** One server line of `show servers state <backend>` (format version 1). */
export interface ServerState {
  backend: string;
  name: string;
  /** IP address as HAProxy holds it. */
  addr: string;
  port: number;
  /** srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping. */
  opState: number;
  /** srv_admin_state flags: 0x01 forced maint, 0x02 inherited maint, 0x04 maint from config, 0x08/0x10 drain, 0x20 resolution maint, 0x40 hostname maint. */
  adminState: number;
  /** srv_uweight: the weight set (config or `set server ... weight`). */
  weight: number;
}

/** Any maintenance flag that keeps the server out of load balancing (config's CMAINT alone does not). */
const MAINT_MASK = 0x01 | 0x02 | 0x20 | 0x40;
const DRAIN_MASK = 0x08 | 0x10;

export const inMaintenance = (s: ServerState): boolean => (s.adminState & MAINT_MASK) !== 0;
export const draining = (s: ServerState): boolean => (s.adminState & DRAIN_MASK) !== 0;
/** Takes new requests in proportion to its weight: not in maintenance, not draining, up (running or starting). */
export const serving = (s: ServerState): boolean => !inMaintenance(s) && !draining(s) && (s.opState === 1 || s.opState === 2);

/** Parses `show servers state [<backend>]`; throws on anything else (an error message, an unknown format). */
export function parseServersState(text: string): ServerState[] {
  const lines = text.split('\n').map((l) => l.trim());
  const version = lines[0];
  if (version !== '1') throw new Error(`unexpected answer to "show servers state": ${JSON.stringify(text.slice(0, 200))}`);
  const header = lines.find((l) => l.startsWith('# '));
  if (!header) throw new Error('"show servers state": no header line');
  const fields = header.slice(2).split(/\s+/);
  const col = (name: string) => {
    const i = fields.indexOf(name);
    if (i < 0) throw new Error(`"show servers state": no ${name} column`);
    return i;
  };
  const c = {
    backend: col('be_name'),
    name: col('srv_name'),
    addr: col('srv_addr'),
    op: col('srv_op_state'),
    admin: col('srv_admin_state'),
    weight: col('srv_uweight'),
    port: col('srv_port'),
  };
  const servers: ServerState[] = [];
  for (const line of lines.slice(1)) {
    if (line.length === 0 || line.startsWith('#')) continue;
    const f = line.split(/\s+/);
    servers.push({
      backend: f[c.backend]!,
      name: f[c.name]!,
      addr: f[c.addr]!,
      port: Number(f[c.port]),
      opState: Number(f[c.op]),
      adminState: Number(f[c.admin]),
      weight: Number(f[c.weight]),
    });
  }
  return servers;
}

/** Parses `show map <map>`: `<ref> <key> <value>` per line (keys hold no blank; values may). */
export function parseMap(text: string): Array<{ key: string; value: string }> {
  const entries: Array<{ key: string; value: string }> = [];
  for (const line of text.split('\n')) {
    if (line.trim().length === 0) continue;
    const m = /^(0x[0-9a-f]+)\s+(\S+)(?:\s+(.*))?$/i.exec(line);
    if (!m) throw new Error(`unexpected line in "show map": ${JSON.stringify(line.slice(0, 200))}`);
    entries.push({ key: m[2]!, value: m[3] ?? '' });
  }
  return entries;
}

/** Slots `<prefix><n>` of a backend, in the order of n. */
export function slotsOf(servers: readonly ServerState[], prefix: string): ServerState[] {
  const re = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')}(\\d+)$`);
  return servers
    .map((s) => ({ s, m: re.exec(s.name) }))
    .filter((x): x is { s: ServerState; m: RegExpExecArray } => x.m !== null)
    .sort((a, b) => Number(a.m[1]) - Number(b.m[1]))
    .map((x) => x.s);
}

export const MAX_WEIGHT = 256;

export interface WeightPlan {
  /** Weight of each stable server. */
  stable: number;
  /** Weight of each canary server. */
  canary: number;
}

/**
 * Per-server weights (0..256) so that `canaryServers` canary servers together get `percent` of the
 * requests and `stableServers` stable servers the rest, under weighted round-robin:
 * canary share = m·c / (k·s + m·c). Exact when a pair of weights ≤ 256 gives it (every multiple of
 * 0.5% with one server each, every whole percent with k, m ≤ 2, ...); otherwise the nearest. Of
 * equally good pairs the one whose weights add up to 100 (they read as percentages), else the
 * smallest, is chosen. No canary server: stable 1, canary 0.
 */
export function planWeights(percent: number, stableServers: number, canaryServers: number): WeightPlan {
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) throw new RangeError('canary weight must be a number in 0..100');
  if (!Number.isInteger(stableServers) || stableServers < 1) throw new RangeError('at least one stable server is needed');
  const k = stableServers;
  const m = canaryServers;
  if (m === 0) return { stable: 1, canary: 0 };
  const hundred = (s: number, c: number) => k * s + m * c === 100;
  if (percent === 0) return { stable: 100 % k === 0 && 100 / k <= MAX_WEIGHT ? 100 / k : 1, canary: 0 };
  if (percent === 100) return { stable: 0, canary: 100 % m === 0 && 100 / m <= MAX_WEIGHT ? 100 / m : 1 };
  let best: WeightPlan = { stable: 1, canary: 1 };
  let bestError = Infinity;
  const EPS = 1e-9;
  for (let c = 1; c <= MAX_WEIGHT; c++) {
    // For a given c the share falls as s grows, so the best s is the ideal m·c·(100 − p) / (k·p)
    // rounded down or up, clamped to 1..256.
    const ideal = (m * c * (100 - percent)) / (k * percent);
    const clamp = (s: number) => Math.min(MAX_WEIGHT, Math.max(1, s));
    for (const s of [clamp(Math.floor(ideal)), clamp(Math.ceil(ideal))]) {
      const error = Math.abs((100 * m * c) / (k * s + m * c) - percent);
      const better =
        error < bestError - EPS ||
        (Math.abs(error - bestError) <= EPS &&
          ((hundred(s, c) && !hundred(best.stable, best.canary)) ||
            (hundred(s, c) === hundred(best.stable, best.canary) && k * s + m * c < k * best.stable + m * best.canary)));
      if (better) {
        best = { stable: s, canary: c };
        bestError = error;
      }
    }
  }
  return best;
}

/** The canary's share of new requests, in percent, given what each server serves and weighs. */
export function effectiveCanaryPercent(stable: readonly ServerState[], canary: readonly ServerState[]): number {
  const sum = (list: readonly ServerState[]) => list.filter(serving).reduce((total, s) => total + s.weight, 0);
  const s = sum(stable);
  const c = sum(canary);
  if (s + c === 0) return 0;
  return Math.round((10_000 * c) / (s + c)) / 100;
}

/** `host:port` / `[v6]:port` → parts; throws TypeError on anything else. */
export function parseEndpoint(endpoint: string, where: string): { host: string; port: number } {
  if (typeof endpoint !== 'string') throw new TypeError(`${where}: endpoint must be a "host:port" string`);
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(endpoint);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new TypeError(`${where}: endpoint "${endpoint}" is not "host:port"`);
  return { host: (m[1] ?? m[2])!, port };
}

/** The key an address has in the state map: `a.b.c.d:port` or `[v6]:port`. */
export const endpointKey = (addr: string, port: number): string => (addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`);
