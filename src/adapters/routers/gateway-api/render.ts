/**
 * Pure rendering of a service's routing state into the Gateway API `HTTPRoute`
 * (gateway.networking.k8s.io/v1) fields Rollgate applies, and the mapping back from a live route
 * to a RouterState. No I/O: the router (../gateway-api.ts) applies and reads through the client.
 *
 * What Rollgate renders, and so owns through server-side apply (field manager `rollgate`):
 * - `spec.rules`, as a whole. The CRD leaves `rules` (and `backendRefs`, `matches`) without a
 *   list type, so they are atomic lists: whoever applies them owns the entire list. Keep the routing
 *   Rollgate manages in an HTTPRoute of its own; other paths of the same host go in other
 *   HTTPRoutes attached to the same Gateway.
 * - the annotations `rollgate.dev/service`, `rollgate.dev/stable-version`,
 *   `rollgate.dev/canary-version` and `rollgate.dev/header-route` (map keys are owned one by one;
 *   other annotations are untouched). The versions and the header route's name have no field in
 *   an HTTPRoute, so `verify()` reads them from there.
 * It never renders `spec.parentRefs`, `spec.hostnames`, labels or any other field: they stay
 * whatever the route's author applied.
 *
 * The rules:
 * 1. with a header route and a canary: one rule whose single match holds every header match of the
 *    route (Gateway API ANDs the headers of one match), sending all of it to the canary Service;
 *    a rule with more header matches takes precedence over one with fewer, so it wins over rule 2;
 * 2. always: the weighted split, `PathPrefix /` to the stable Service and, when there is a canary,
 *    to the canary Service. Weights are integers out of WEIGHT_TOTAL (100000), so a percentage is
 *    kept to 0.001 (12.5% renders as 87500 / 12500).
 *
 * Header matches: Gateway API matches a header `Exact`ly or by `RegularExpression` (whose dialect
 * is the implementation's: RE2 in the Envoy-based ones, matched against the whole value). Rollgate
 * renders a prefix as `^PREFIX.*` and a regex `R` as `.*(?:R).*` (kept as is when it is anchored
 * `^...$`), which mean the same whether the implementation matches the whole value or searches it,
 * as the embedded router does. Gateway API has no cookie match: `cookie:NAME` becomes a
 * `RegularExpression` match on the `Cookie` header that finds the pair `NAME=VALUE` among the
 * cookies (see cookieRegex); several cookie matches of one route are folded into that one regex.
 * A cookie regex is matched against the cookie's value, as in the embedded router: its `^` / `$`
 * become the value's boundaries (anchors inside the pattern are refused).
 */
import type { HeaderMatch, HeaderRoute, RouterState } from '../../../ports/traffic-router.js';

export const GATEWAY_API_VERSION = 'gateway.networking.k8s.io/v1';
export { FIELD_MANAGER } from '../../kubernetes/client.js';
/** Sum of the two backend weights of the weighted rule: percent × 1000. */
export const WEIGHT_TOTAL = 100_000;

export const ANNOTATIONS = Object.freeze({
  service: 'rollgate.dev/service',
  stableVersion: 'rollgate.dev/stable-version',
  canaryVersion: 'rollgate.dev/canary-version',
  headerRoute: 'rollgate.dev/header-route',
});

/** Where the route lives and which Services it splits between. */
export interface HttpRouteTarget {
  /** The Rollgate service (recorded in an annotation). */
  service: string;
  namespace: string;
  /** The HTTPRoute's name. */
  httpRoute: string;
  /** Service receiving stable traffic. */
  stableBackend: string;
  /** Service receiving canary traffic. */
  canaryBackend: string;
  /** Service port of both backends (Gateway API requires one for a Service reference). */
  port: number;
}

/** The desired routing, as the router keeps it. */
export interface DesiredRouting {
  /** null: not declared yet (setBackends not called). */
  stableVersion: string | null;
  /** null: no canary; everything goes to the stable Service. */
  canaryVersion: string | null;
  /** 0..100; applies only while there is a canary. */
  canaryWeight: number;
  headerRoute: HeaderRoute | null;
}

// The structural subset of HTTPRoute that Rollgate writes and reads.

export interface HttpHeaderMatch {
  name: string;
  type?: 'Exact' | 'RegularExpression';
  value: string;
}

export interface HttpRouteMatch {
  path?: { type?: 'Exact' | 'PathPrefix' | 'RegularExpression'; value?: string };
  headers?: HttpHeaderMatch[];
  [field: string]: unknown;
}

export interface HttpBackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  weight?: number;
  [field: string]: unknown;
}

export interface HttpRouteRule {
  matches?: HttpRouteMatch[];
  backendRefs?: HttpBackendRef[];
  [field: string]: unknown;
}

export interface HttpRoute {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; annotations?: Record<string, string>; [field: string]: unknown };
  spec: { rules?: HttpRouteRule[]; [field: string]: unknown };
  [field: string]: unknown;
}

/** The request path of one HTTPRoute in the Kubernetes API. */
export function httpRoutePath(namespace: string, name: string): string {
  return `/apis/gateway.networking.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/httproutes/${encodeURIComponent(name)}`;
}

/** Escapes RE2 / JavaScript metacharacters so the text matches itself. */
export function escapeRegex(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
/** The CRD's bounds on HTTPHeaderMatch. */
const MAX_HEADER_NAME = 256;
const MAX_HEADER_VALUE = 4096;
const MAX_HEADERS_PER_MATCH = 16;
/** More cookie matches than this would need too many orderings in one regex (n!). */
const MAX_COOKIE_MATCHES = 3;

/**
 * Constructs that RE2 (the usual dialect of RegularExpression matches) lacks: lookaround and
 * backreferences. A route using them is refused rather than rejected later by the Gateway.
 */
const NOT_RE2 = /\(\?<?[=!]|\\[1-9]|\\k</;

function checkRegex(regex: string, where: string): void {
  try {
    new RegExp(regex);
  } catch (err) {
    throw new TypeError(`${where} is not a valid regular expression: ${(err as Error).message}`);
  }
  if (NOT_RE2.test(regex)) throw new TypeError(`${where} uses lookaround or a backreference, which Gateway API implementations (RE2) do not support`);
}

/** Which single condition a match sets; Gateway API takes one value per header. */
function conditionOf(m: HeaderMatch, where: string): { kind: 'exact' | 'prefix' | 'regex' | 'present'; value: string } {
  const set = (['exact', 'prefix', 'regex'] as const).filter((key) => m[key] !== undefined);
  for (const key of set) if (typeof m[key] !== 'string') throw new TypeError(`${where}.${key} must be a string`);
  if (set.length > 1) {
    throw new TypeError(`${where} sets ${set.join(' and ')}: the gateway-api router renders one condition per header (exact, prefix or regex)`);
  }
  if (set.length === 0) return { kind: 'present', value: '' };
  const kind = set[0]!;
  const value = m[kind]!;
  if (kind === 'regex') checkRegex(value, `${where}.regex`);
  return { kind, value };
}

/** A regex for a header value under either full-match or search semantics. */
function headerValueRegex(c: { kind: 'prefix' | 'regex' | 'present'; value: string }): string {
  if (c.kind === 'prefix') return `^${escapeRegex(c.value)}.*`;
  if (c.kind === 'present') return '.*';
  const anchors = regexAnchors(c.value);
  const anchored = anchors.leading && anchors.trailing && !anchors.inner && !anchors.topLevelAlternation;
  return anchored ? c.value : `.*(?:${c.value}).*`;
}

/**
 * Where a regex is anchored: `^` first, `$` last, anchors elsewhere, `|` outside any group. A
 * small scanner over the pattern (escapes and character classes skipped), enough to move a cookie
 * value's anchors to the value's boundaries inside the Cookie header.
 */
export function regexAnchors(regex: string): { leading: boolean; trailing: boolean; inner: boolean; topLevelAlternation: boolean } {
  const result = { leading: false, trailing: false, inner: false, topLevelAlternation: false };
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < regex.length; i++) {
    const ch = regex[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      continue;
    }
    if (ch === '[') {
      inClass = true;
      if (regex[i + 1] === '^') i++;
      if (regex[i + 1] === ']') i++;
    } else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) result.topLevelAlternation = true;
    else if (ch === '^') {
      if (i === 0) result.leading = true;
      else result.inner = true;
    } else if (ch === '$') {
      if (i === regex.length - 1) result.trailing = true;
      else result.inner = true;
    }
  }
  return result;
}

/** The part of the Cookie regex that matches one cookie's value for a regex condition. */
function cookieValueRegex(regex: string, where: string): string {
  const anchors = regexAnchors(regex);
  if (anchors.inner || (anchors.topLevelAlternation && (anchors.leading || anchors.trailing))) {
    throw new TypeError(`${where}: a cookie regex may be anchored only as a whole (^...$, ^... or ...$), so that it can be matched inside the Cookie header`);
  }
  const inner = regex.slice(anchors.leading ? 1 : 0, anchors.trailing ? regex.length - 1 : regex.length);
  return `${anchors.leading ? '"?' : '[^;]*'}(?:${inner})${anchors.trailing ? '"?' : '[^;]*'}`;
}

/** One `NAME=VALUE` pair of a Cookie header, whitespace around the name, `=` and the value allowed. */
function cookiePair(name: string, c: { kind: 'exact' | 'prefix' | 'regex' | 'present'; value: string }, where: string): string {
  let value: string;
  if (c.kind === 'exact') value = `(?:${escapeRegex(c.value)}|"${escapeRegex(c.value)}")`;
  else if (c.kind === 'prefix') value = `"?${escapeRegex(c.value)}[^;]*`;
  else if (c.kind === 'regex') value = cookieValueRegex(c.value, where);
  else value = '[^;]*';
  return `\\s*${escapeRegex(name)}\\s*=\\s*${value}\\s*`;
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

/**
 * The regex on the `Cookie` header (`a=1; b=2`) that holds when every given cookie is present with
 * its condition: `^(?:.*;)?PAIR1;(?:.*;)?PAIR2(?:;.*)?$` for each order of the pairs (RE2 has no
 * lookahead to AND them otherwise). A regex condition is matched inside the cookie's value; one
 * that can match `;` may reach into the next cookie (an approximation the embedded router does not have).
 */
export function cookieRegex(cookies: ReadonlyArray<{ name: string; pair: string }>): string {
  const orders = permutations(cookies).map((order) => order.map((c, i) => (i === 0 ? `(?:.*;)?${c.pair}` : `;(?:.*;)?${c.pair}`)).join(''));
  return orders.length === 1 ? `^${orders[0]}(?:;.*)?$` : `^(?:${orders.join('|')})(?:;.*)?$`;
}

/**
 * The header matches of one HTTPRouteMatch for a header route: all must hold (AND). Throws a
 * TypeError for a route Gateway API cannot express (see the module comment).
 */
export function headerMatchesFor(route: HeaderRoute): HttpHeaderMatch[] {
  if (typeof route?.name !== 'string' || route.name.length === 0) throw new TypeError('header route: name must be a non-empty string');
  if (!Array.isArray(route.match) || route.match.length === 0) {
    throw new TypeError(`header route "${route.name}": match must list at least one header (an empty match would send all traffic to the canary)`);
  }
  const headers: HttpHeaderMatch[] = [];
  const cookies: Array<{ name: string; pair: string }> = [];
  const seen = new Map<string, number>();
  route.match.forEach((m, i) => {
    const where = `header route "${route.name}": match[${i}]`;
    if (typeof m?.headerName !== 'string') throw new TypeError(`${where}.headerName must be a string`);
    const condition = conditionOf(m, where);
    if (m.headerName.toLowerCase().startsWith('cookie:')) {
      const name = m.headerName.slice('cookie:'.length);
      if (name.length === 0) throw new TypeError(`${where}.headerName "cookie:" needs a cookie name`);
      if (cookies.some((c) => c.name === name)) throw new TypeError(`${where}: cookie "${name}" is matched twice`);
      cookies.push({ name, pair: cookiePair(name, condition, `${where}.regex`) });
      return;
    }
    const name = m.headerName;
    if (!HEADER_NAME.test(name) || name.length > MAX_HEADER_NAME) throw new TypeError(`${where}.headerName "${name}" is not a valid header name`);
    const key = name.toLowerCase();
    if (key === 'cookie') throw new TypeError(`${where}: match cookies with headerName "cookie:NAME", not the Cookie header itself`);
    if (seen.has(key)) throw new TypeError(`${where}: header "${name}" is already matched by match[${seen.get(key)}]; Gateway API takes one match per header name`);
    seen.set(key, i);
    if (condition.kind === 'exact' && condition.value.length > 0) headers.push({ name, type: 'Exact', value: condition.value });
    else if (condition.kind === 'exact') headers.push({ name, type: 'RegularExpression', value: '^$' });
    else headers.push({ name, type: 'RegularExpression', value: headerValueRegex(condition as { kind: 'prefix' | 'regex' | 'present'; value: string }) });
  });
  if (cookies.length > MAX_COOKIE_MATCHES) throw new TypeError(`header route "${route.name}": at most ${MAX_COOKIE_MATCHES} cookie matches (they are folded into one regex on the Cookie header)`);
  if (cookies.length > 0) headers.push({ name: 'Cookie', type: 'RegularExpression', value: cookieRegex(cookies) });
  if (headers.length > MAX_HEADERS_PER_MATCH) throw new TypeError(`header route "${route.name}": at most ${MAX_HEADERS_PER_MATCH} headers per match`);
  for (const h of headers) {
    if (h.value.length > MAX_HEADER_VALUE) throw new TypeError(`header route "${route.name}": the rendered match on ${h.name} is longer than ${MAX_HEADER_VALUE} characters`);
  }
  return headers;
}

/** Percent (0..100) to the canary's integer weight out of WEIGHT_TOTAL. */
export function canaryWeightUnits(percent: number): number {
  return Math.round((percent * WEIGHT_TOTAL) / 100);
}

const ROOT_PATH = Object.freeze({ type: 'PathPrefix' as const, value: '/' });

function backendRef(name: string, port: number, weight: number): HttpBackendRef {
  return { group: '', kind: 'Service', name, port, weight };
}

/**
 * The HTTPRoute fields Rollgate applies for `routing` (server-side apply configuration): pure, the
 * same input always gives the same object.
 */
export function renderHttpRoute(target: HttpRouteTarget, routing: DesiredRouting): HttpRoute {
  const annotations: Record<string, string> = { [ANNOTATIONS.service]: target.service };
  if (routing.stableVersion !== null) annotations[ANNOTATIONS.stableVersion] = routing.stableVersion;
  const rules: HttpRouteRule[] = [];
  const hasCanary = routing.canaryVersion !== null;
  if (hasCanary) annotations[ANNOTATIONS.canaryVersion] = routing.canaryVersion!;
  if (hasCanary && routing.headerRoute) {
    annotations[ANNOTATIONS.headerRoute] = routing.headerRoute.name;
    rules.push({
      matches: [{ path: { ...ROOT_PATH }, headers: headerMatchesFor(routing.headerRoute) }],
      backendRefs: [backendRef(target.canaryBackend, target.port, 1)],
    });
  }
  const canaryUnits = hasCanary ? canaryWeightUnits(routing.canaryWeight) : 0;
  rules.push({
    matches: [{ path: { ...ROOT_PATH } }],
    backendRefs: [
      backendRef(target.stableBackend, target.port, WEIGHT_TOTAL - canaryUnits),
      ...(hasCanary ? [backendRef(target.canaryBackend, target.port, canaryUnits)] : []),
    ],
  });
  return {
    apiVersion: GATEWAY_API_VERSION,
    kind: 'HTTPRoute',
    metadata: { name: target.httpRoute, namespace: target.namespace, annotations },
    spec: { rules },
  };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A backendRef to the Service `name` in the route's namespace (group "" and kind Service, or defaulted). */
function refersTo(ref: unknown, name: string, namespace: string): ref is HttpBackendRef {
  if (!isObject(ref) || ref.name !== name) return false;
  if (ref.group !== undefined && ref.group !== '') return false;
  if (ref.kind !== undefined && ref.kind !== 'Service') return false;
  return ref.namespace === undefined || ref.namespace === namespace;
}

const weightOf = (ref: HttpBackendRef): number => (typeof ref.weight === 'number' ? ref.weight : 1);
const hasHeaderMatch = (rule: HttpRouteRule): boolean => Array.isArray(rule.matches) && rule.matches.some((m) => isObject(m) && Array.isArray(m.headers) && m.headers.length > 0);

/**
 * The RouterState a live HTTPRoute (as the API server returns it, defaults filled in) gives:
 * - canaryWeight: the canary Service's share of the weights in the rule without header matches
 *   (rounded to 0.001); 0 without a canary backendRef or when the weights add up to 0;
 * - stableVersion / canaryVersion: the annotations, when that rule refers to the Service;
 * - headerRoute: when a rule with header matches sends to the canary Service, its name from the
 *   annotation (`unnamed` if the annotation is missing); otherwise null.
 * `route` null (the route does not exist) reads as nothing routed.
 */
export function readRouterState(target: HttpRouteTarget, route: unknown): RouterState {
  const empty: RouterState = { canaryWeight: 0, stableVersion: null, canaryVersion: null, headerRoute: null };
  if (!isObject(route)) return empty;
  const metadata = isObject(route.metadata) ? route.metadata : {};
  const annotations = isObject(metadata.annotations) ? (metadata.annotations as Record<string, unknown>) : {};
  const annotation = (key: string): string | null => (typeof annotations[key] === 'string' ? (annotations[key] as string) : null);
  const spec = isObject(route.spec) ? route.spec : {};
  const rules = (Array.isArray(spec.rules) ? spec.rules : []).filter(isObject) as HttpRouteRule[];
  const refsOf = (rule: HttpRouteRule) => (Array.isArray(rule.backendRefs) ? rule.backendRefs : []);
  const ns = target.namespace;

  const split = rules.find((rule) => !hasHeaderMatch(rule) && refsOf(rule).some((r) => refersTo(r, target.stableBackend, ns) || refersTo(r, target.canaryBackend, ns)));
  const stableRefs = split ? refsOf(split).filter((r) => refersTo(r, target.stableBackend, ns)) : [];
  const canaryRefs = split ? refsOf(split).filter((r) => refersTo(r, target.canaryBackend, ns)) : [];
  const stableUnits = stableRefs.reduce((sum, r) => sum + weightOf(r), 0);
  const canaryUnits = canaryRefs.reduce((sum, r) => sum + weightOf(r), 0);
  const total = stableUnits + canaryUnits;
  const canaryWeight = total > 0 ? Math.round((canaryUnits / total) * 100 * 1000) / 1000 : 0;

  const headerRule = rules.find((rule) => hasHeaderMatch(rule) && refsOf(rule).some((r) => refersTo(r, target.canaryBackend, ns)));
  return {
    canaryWeight,
    stableVersion: stableRefs.length > 0 ? annotation(ANNOTATIONS.stableVersion) : null,
    canaryVersion: canaryRefs.length > 0 ? annotation(ANNOTATIONS.canaryVersion) : null,
    headerRoute: headerRule ? (annotation(ANNOTATIONS.headerRoute) ?? 'unnamed') : null,
  };
}
