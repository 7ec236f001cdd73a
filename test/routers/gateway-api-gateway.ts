/**
 * A Gateway emulator on 127.0.0.1 for the TrafficRouter contract: the data plane that a Gateway
 * API implementation would program from an HTTPRoute. On every request it reads the route as the
 * fake API server stores it (what a controller watching HTTPRoutes would see) and routes by the
 * Gateway API rules (HTTPRoute v1):
 * - a rule matches when any of its `matches` holds; a match ANDs its path (`PathPrefix` on path
 *   elements, or `Exact`) and its headers (`Exact`: equal value; `RegularExpression`: the whole
 *   value, RE2-style full match, emulated with a JavaScript RegExp anchored `^(?:...)$`);
 *   header names are case-insensitive;
 * - across matching rules, precedence goes to an Exact path, then the longest prefix, then the most
 *   header matches, then the first rule in list order;
 * - the backendRefs of the chosen rule share its traffic by weight (default 1); no route, no match
 *   or all weights 0 answer 404 / 500 as the spec says.
 * A backend Service name resolves to endpoints through `endpoints(name)` (the harness plays the
 * Service's selector), and the request is proxied there; the upstream's answer (and its
 * X-Demo-Version) is relayed unchanged. Not emulated: parentRefs / hostnames / listeners, filters,
 * query and method matches, status.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GatewayEmulator {
  port: number;
  /** Requests answered by the gateway itself (no route, no backend), by status. */
  readonly own: Record<number, number>;
  close(): Promise<void>;
}

interface Candidate {
  ruleIndex: number;
  exact: boolean;
  prefixLength: number;
  headerCount: number;
  backendRefs: Array<{ name: string; weight?: number }>;
}

const regexCache = new Map<string, RegExp>();
function fullMatch(pattern: string, value: string): boolean {
  let regex = regexCache.get(pattern);
  if (!regex) {
    regex = new RegExp(`^(?:${pattern})$`);
    regexCache.set(pattern, regex);
  }
  return regex.test(value);
}

function pathMatches(path: { type?: string; value?: string } | undefined, requestPath: string): { ok: boolean; exact: boolean; length: number } {
  const type = path?.type ?? 'PathPrefix';
  const value = path?.value ?? '/';
  if (type === 'Exact') return { ok: requestPath === value, exact: true, length: value.length };
  if (type !== 'PathPrefix') return { ok: false, exact: false, length: 0 };
  const prefix = value.replace(/\/+$/, '');
  const ok = prefix === '' || requestPath === prefix || requestPath.startsWith(`${prefix}/`);
  return { ok, exact: false, length: value.length };
}

function headerValue(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : value;
}

function candidates(route: any, req: http.IncomingMessage): Candidate[] {
  const requestPath = new URL(req.url ?? '/', 'http://gateway').pathname;
  const found: Candidate[] = [];
  (route?.spec?.rules ?? []).forEach((rule: any, ruleIndex: number) => {
    const matches: any[] = rule.matches ?? [{ path: { type: 'PathPrefix', value: '/' } }];
    for (const match of matches) {
      const path = pathMatches(match.path, requestPath);
      if (!path.ok) continue;
      const headers: any[] = match.headers ?? [];
      const headersHold = headers.every((h) => {
        const value = headerValue(req, h.name);
        if (value === undefined) return false;
        return (h.type ?? 'Exact') === 'Exact' ? value === h.value : fullMatch(h.value, value);
      });
      if (!headersHold) continue;
      found.push({ ruleIndex, exact: path.exact, prefixLength: path.length, headerCount: headers.length, backendRefs: rule.backendRefs ?? [] });
    }
  });
  return found;
}

function best(found: Candidate[]): Candidate | undefined {
  return [...found].sort(
    (a, b) => Number(b.exact) - Number(a.exact) || b.prefixLength - a.prefixLength || b.headerCount - a.headerCount || a.ruleIndex - b.ruleIndex,
  )[0];
}

export async function startGatewayEmulator(options: {
  /** The HTTPRoute as stored now (null: none). */
  route: () => unknown;
  /** Endpoints ("host:port") of a backend Service. */
  endpoints: (service: string) => string[];
  random?: () => number;
}): Promise<GatewayEmulator> {
  const random = options.random ?? Math.random;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const own: Record<number, number> = {};
  const answer = (res: http.ServerResponse, status: number, message: string) => {
    own[status] = (own[status] ?? 0) + 1;
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(message);
  };
  let roundRobin = 0;

  const server = http.createServer((req, res) => {
    const route = options.route();
    if (!route) return answer(res, 404, 'no HTTPRoute');
    const chosen = best(candidates(route, req));
    if (!chosen) return answer(res, 404, 'no rule matches');
    const refs = chosen.backendRefs.map((r) => ({ name: r.name, weight: r.weight ?? 1 }));
    const total = refs.reduce((sum, r) => sum + r.weight, 0);
    if (total <= 0) return answer(res, 500, 'every backend has weight 0');
    let pick = random() * total;
    const ref = refs.find((r) => (pick -= r.weight) < 0) ?? refs.filter((r) => r.weight > 0).at(-1)!;
    const endpoints = options.endpoints(ref.name);
    if (endpoints.length === 0) return answer(res, 503, `Service ${ref.name} has no endpoints`);
    const [host, port] = endpoints[roundRobin++ % endpoints.length]!.split(':');
    const upstream = http.request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers, agent }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', (err) => {
      if (!res.headersSent) answer(res, 502, err.message);
      else res.destroy();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    own,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
