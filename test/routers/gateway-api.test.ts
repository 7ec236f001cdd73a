/**
 * The Gateway API router, without a cluster:
 * - rendering: every HTTPRoute it renders is valid against the Gateway API HTTPRoute v1 schema
 *   shipped in test/fixtures/gateway-api (defaults, patterns, list-map keys and the CRD's CEL rules),
 *   and its header / cookie matches select the same requests as the embedded router's;
 * - the TrafficRouter contract against the router pointed (through a kubeconfig written to a
 *   temporary directory) at a recording API server on loopback, with a Gateway emulator that routes
 *   real requests to demo-app processes by the HTTPRoute the API server stores;
 * - the requests themselves: paths, methods, content types, bodies, field ownership.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  APPLY_CONTENT_TYPE,
  GatewayApiRouter,
  KubeApiError,
  kubeClientFromKubeConfig,
  readRouterState,
  renderHttpRoute,
  type DesiredRouting,
  type HttpRouteTarget,
  type KubeClient,
} from '../../src/adapters/routers/gateway-api.js';
import { headerMatchesFor, regexAnchors, type HttpHeaderMatch } from '../../src/adapters/routers/gateway-api/render.js';
import { validateDocument } from '../../src/core/resources/validate.js';
import type { HeaderRoute } from '../../src/ports/traffic-router.js';
import { compileHeaderRoute, routeMatches } from '../../src/proxy/routing.js';
import { describeTrafficRouterContract } from '../contract/traffic-router-contract.js';
import { sendMany, spawnDemo, type DemoProcess } from '../proxy/helpers.js';
import { startFakeApiServer, type FakeApiServer } from './gateway-api-apiserver.js';
import { startGatewayEmulator } from './gateway-api-gateway.js';
import { httpRouteSchema, validateHttpRoute } from './gateway-api-schema.js';

const root = path.resolve(import.meta.dirname, '../..');
const TARGET: HttpRouteTarget = { service: 'checkout', namespace: 'shop', httpRoute: 'checkout', stableBackend: 'checkout-stable', canaryBackend: 'checkout-canary', port: 8080 };
const ROUTE_PATH = '/apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes/checkout';

const TESTERS: HeaderRoute = { name: 'canary-testers', match: [{ headerName: 'X-Canary', exact: 'always' }] };
const HEADER_ROUTES: Record<string, HeaderRoute> = {
  exact: TESTERS,
  prefix: { name: 'web', match: [{ headerName: 'X-Client', prefix: 'web-' }] },
  regex: { name: 'builds', match: [{ headerName: 'X-Build', regex: '^(beta|rc)-[0-9]+$' }] },
  'unanchored regex': { name: 'beta', match: [{ headerName: 'User-Agent', regex: 'Beta[ /]' }] },
  presence: { name: 'debug', match: [{ headerName: 'X-Debug' }] },
  'empty exact': { name: 'empty', match: [{ headerName: 'X-Empty', exact: '' }] },
  'cookie exact': { name: 'beta-cookie', match: [{ headerName: 'cookie:group', exact: 'beta' }] },
  'cookie prefix': { name: 'be-cookie', match: [{ headerName: 'cookie:group', prefix: 'be' }] },
  'cookie regex': { name: 'b-ta', match: [{ headerName: 'cookie:group', regex: '^b.ta$' }] },
  'cookie unanchored regex': { name: 'eta', match: [{ headerName: 'cookie:group', regex: 'et' }] },
  'cookie presence': { name: 'has-group', match: [{ headerName: 'cookie:group' }] },
  'cookie and header (AND)': {
    name: 'beta-web',
    match: [
      { headerName: 'cookie:group', exact: 'beta' },
      { headerName: 'X-Client', prefix: 'web-' },
    ],
  },
  'two cookies': {
    name: 'beta-gold',
    match: [
      { headerName: 'cookie:group', exact: 'beta' },
      { headerName: 'cookie:tier', prefix: 'gold' },
    ],
  },
  'special characters': { name: 'dots', match: [{ headerName: 'X-Tenant', prefix: 'a.b+c*(d)' }, { headerName: 'cookie:s.id', exact: '$1^[x]' }] },
};

const state = (canaryWeight: number, headerRoute: HeaderRoute | null = null, canary: string | null = '1.1.0'): DesiredRouting => ({
  stableVersion: '1.0.0',
  canaryVersion: canary,
  canaryWeight,
  headerRoute,
});

function expectValid(object: unknown, what: string) {
  const result = validateHttpRoute(object);
  expect(result.errors, what).toEqual([]);
  expect(result.ok).toBe(true);
  return result.defaulted;
}

describe('the shipped schema (test/fixtures/gateway-api/httproute-v1.schema.json)', () => {
  it('is the HTTPRoute v1 schema: backendRefs weight, header match types, rule and match limits', () => {
    const rule = httpRouteSchema.properties.spec.properties.rules;
    expect(rule.maxItems).toBe(16);
    const backendRef = rule.items.properties.backendRefs.items;
    expect(backendRef.required).toEqual(['name']);
    expect(backendRef.properties.weight).toMatchObject({ type: 'integer', minimum: 0, maximum: 1_000_000, default: 1 });
    const header = rule.items.properties.matches.items.properties.headers;
    expect(header.items.properties.type.enum).toEqual(['Exact', 'RegularExpression']);
    expect(header['x-kubernetes-list-map-keys']).toEqual(['name']);
    const readme = readFileSync(path.join(root, 'test/fixtures/gateway-api/README.md'), 'utf8');
    expect(readme).toContain('config/crd/standard/gateway.networking.k8s.io_httproutes.yaml');
  });

  it('is not vacuous: the validator rejects what the API server would', () => {
    const good = renderHttpRoute(TARGET, state(25, TESTERS));
    expectValid(good, 'rendered');
    const broken: Array<[string, (route: any) => void, RegExp]> = [
      ['weight above 1000000', (r) => (r.spec.rules[1].backendRefs[0].weight = 1_000_001), /must be <= 1000000/],
      ['fractional weight', (r) => (r.spec.rules[1].backendRefs[0].weight = 12.5), /must be integer/],
      ['a Prefix header match', (r) => (r.spec.rules[0].matches[0].headers[0].type = 'Prefix'), /allowed values/],
      ['a Service ref without port', (r) => delete r.spec.rules[1].backendRefs[1].port, /Must have port for Service reference/],
      ['the same header twice in a match', (r) => r.spec.rules[0].matches[0].headers.push({ name: 'X-Canary', value: 'x' }), /duplicate entries/],
      ['an invalid header name', (r) => (r.spec.rules[0].matches[0].headers[0].name = 'X Canary'), /must match pattern/],
      ['a relative path', (r) => (r.spec.rules[1].matches[0].path.value = 'api'), /absolute path/],
      ['17 rules', (r) => (r.spec.rules = Array.from({ length: 17 }, () => r.spec.rules[1])), /must NOT have more than 16 items/],
      ['no spec', (r) => delete r.spec, /must have required property 'spec'/],
    ];
    for (const [what, breakIt, message] of broken) {
      const route = structuredClone(good);
      breakIt(route);
      const result = validateHttpRoute(route);
      expect(result.ok, what).toBe(false);
      expect(result.errors.join('\n'), what).toMatch(message);
    }
  });
});

describe('renderHttpRoute', () => {
  it.each([0, 5, 12.5, 50, 100])('weight %s: a valid route whose weights add up to 100000 and read back as the weight', (weight) => {
    const route = renderHttpRoute(TARGET, state(weight));
    const defaulted = expectValid(route, `weight ${weight}`);
    expect(route.spec.rules).toHaveLength(1);
    const refs = route.spec.rules![0]!.backendRefs!;
    expect(refs.map((r) => [r.name, r.weight])).toEqual([
      ['checkout-stable', 100_000 - weight * 1000],
      ['checkout-canary', weight * 1000],
    ]);
    expect(refs.every((r) => r.port === 8080 && r.kind === 'Service' && r.group === '')).toBe(true);
    expect(readRouterState(TARGET, defaulted)).toEqual({ canaryWeight: weight, stableVersion: '1.0.0', canaryVersion: '1.1.0', headerRoute: null });
  });

  it('without a canary: only the stable Service, no header rule, whatever the weight and header route', () => {
    const route = renderHttpRoute(TARGET, state(60, TESTERS, null));
    const defaulted = expectValid(route, 'no canary');
    expect(route.spec.rules).toEqual([
      { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ group: '', kind: 'Service', name: 'checkout-stable', port: 8080, weight: 100_000 }] },
    ]);
    expect(route.metadata.annotations).toEqual({ 'rollgate.dev/service': 'checkout', 'rollgate.dev/stable-version': '1.0.0' });
    expect(readRouterState(TARGET, defaulted)).toEqual({ canaryWeight: 0, stableVersion: '1.0.0', canaryVersion: null, headerRoute: null });
  });

  it('renders only the fields Rollgate owns: spec.rules and its annotations (never parentRefs, hostnames, labels)', () => {
    const route = renderHttpRoute(TARGET, state(5, TESTERS));
    expect(Object.keys(route).sort()).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(route.apiVersion).toBe('gateway.networking.k8s.io/v1');
    expect(route.kind).toBe('HTTPRoute');
    expect(Object.keys(route.metadata).sort()).toEqual(['annotations', 'name', 'namespace']);
    expect(Object.keys(route.spec)).toEqual(['rules']);
    expect(route.metadata.annotations).toEqual({
      'rollgate.dev/service': 'checkout',
      'rollgate.dev/stable-version': '1.0.0',
      'rollgate.dev/canary-version': '1.1.0',
      'rollgate.dev/header-route': 'canary-testers',
    });
    expect(renderHttpRoute(TARGET, state(5, TESTERS))).toEqual(route);
  });

  it('a header route is a first rule to the canary with all its header matches in one match (AND)', () => {
    const route = renderHttpRoute(TARGET, state(0, HEADER_ROUTES['cookie and header (AND)']!));
    expect(route.spec.rules![0]).toEqual({
      matches: [
        {
          path: { type: 'PathPrefix', value: '/' },
          headers: [
            { name: 'X-Client', type: 'RegularExpression', value: '^web-.*' },
            { name: 'Cookie', type: 'RegularExpression', value: '^(?:.*;)?\\s*group\\s*=\\s*(?:beta|"beta")\\s*(?:;.*)?$' },
          ],
        },
      ],
      backendRefs: [{ group: '', kind: 'Service', name: 'checkout-canary', port: 8080, weight: 1 }],
    });
    expect(route.spec.rules![1]!.backendRefs!.map((r) => r.weight)).toEqual([100_000, 0]);
    expect(headerMatchesFor(TESTERS)).toEqual([{ name: 'X-Canary', type: 'Exact', value: 'always' }]);
  });

  it.each(Object.entries(HEADER_ROUTES))('header route "%s": valid at weights 0, 5, 50 and 100, read back by name', (_, route) => {
    for (const weight of [0, 5, 50, 100]) {
      const rendered = renderHttpRoute(TARGET, state(weight, route));
      const defaulted = expectValid(rendered, `${route.name} at ${weight}`);
      expect(readRouterState(TARGET, defaulted)).toEqual({ canaryWeight: weight, stableVersion: '1.0.0', canaryVersion: '1.1.0', headerRoute: route.name });
    }
  });

  it('refuses header routes Gateway API cannot express, with the reason', () => {
    const refused: Array<[HeaderRoute, RegExp]> = [
      [{ name: 'none', match: [] }, /at least one/],
      [{ name: '', match: [{ headerName: 'X-A', exact: 'a' }] }, /name must be a non-empty string/],
      [{ name: 'two conditions', match: [{ headerName: 'X-A', exact: 'a', prefix: 'a' }] }, /sets exact and prefix/],
      [{ name: 'twice', match: [{ headerName: 'X-A', exact: 'a' }, { headerName: 'x-a', prefix: 'b' }] }, /already matched/],
      [{ name: 'bad name', match: [{ headerName: 'X A', exact: 'a' }] }, /not a valid header name/],
      [{ name: 'lookahead', match: [{ headerName: 'X-A', regex: 'a(?=b)' }] }, /lookaround/],
      [{ name: 'backreference', match: [{ headerName: 'X-A', regex: '(a)\\1' }] }, /backreference/],
      [{ name: 'invalid regex', match: [{ headerName: 'X-A', regex: '(' }] }, /not a valid regular expression/],
      [{ name: 'raw cookie', match: [{ headerName: 'Cookie', exact: 'a=1' }] }, /cookie:NAME/],
      [{ name: 'cookie twice', match: [{ headerName: 'cookie:a', exact: '1' }, { headerName: 'cookie:a', exact: '2' }] }, /matched twice/],
      [{ name: 'inner anchor', match: [{ headerName: 'cookie:a', regex: 'x|^y' }] }, /anchored only as a whole/],
      [{ name: 'four cookies', match: ['a', 'b', 'c', 'd'].map((c) => ({ headerName: `cookie:${c}`, exact: '1' })) }, /at most 3 cookie/],
      [{ name: 'too long', match: [{ headerName: 'X-A', prefix: 'x'.repeat(4100) }] }, /longer than 4096/],
    ];
    for (const [route, message] of refused) expect(() => headerMatchesFor(route), route.name).toThrow(message);
    expect(() => headerMatchesFor(refused[0]![0])).toThrow(TypeError);
  });

  it('finds where a regex is anchored (escapes and character classes skipped)', () => {
    expect(regexAnchors('^a$')).toEqual({ leading: true, trailing: true, inner: false, topLevelAlternation: false });
    expect(regexAnchors('a\\$')).toMatchObject({ trailing: false, inner: false });
    expect(regexAnchors('[^$]x')).toMatchObject({ leading: false, inner: false });
    expect(regexAnchors('(a|b)c')).toMatchObject({ topLevelAlternation: false });
    expect(regexAnchors('a|^b')).toMatchObject({ topLevelAlternation: true, inner: true });
  });
});

/**
 * Header matches hold as a Gateway evaluates them: `Exact` equal; `RegularExpression` matched
 * against the whole value (`full`, RE2 / Envoy) or searched in it (`search`). Names case-insensitive.
 */
function gatewayHolds(matches: HttpHeaderMatch[], headers: Record<string, string>, mode: 'full' | 'search'): boolean {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return matches.every((m) => {
    const value = lower[m.name.toLowerCase()];
    if (value === undefined) return false;
    if ((m.type ?? 'Exact') === 'Exact') return value === m.value;
    return new RegExp(mode === 'full' ? `^(?:${m.value})$` : m.value).test(value);
  });
}

describe('header and cookie matches select the requests the embedded router selects', () => {
  const REQUESTS: Array<Record<string, string>> = [
    {},
    { 'X-Canary': 'always' },
    { 'x-canary': 'always' },
    { 'X-Canary': 'Always' },
    { 'X-Canary': 'always ' },
    { 'X-Client': 'web-7' },
    { 'X-Client': 'ios-web-7' },
    { 'X-Client': 'web-' },
    { 'X-Build': 'beta-12' },
    { 'X-Build': 'rc-1x' },
    { 'User-Agent': 'Mozilla/5.0 Beta/1' },
    { 'User-Agent': 'Beta' },
    { 'X-Debug': '1' },
    { 'X-Empty': '' },
    { 'X-Tenant': 'a.b+c*(d)-1' },
    { 'X-Tenant': 'aXb+c*(d)' },
    { Cookie: 'group=beta' },
    { Cookie: 'theme=dark; group=beta' },
    { Cookie: 'group=beta; theme=dark' },
    { Cookie: 'theme=dark;group=beta;x=1' },
    { Cookie: ' group = beta ' },
    { Cookie: 'group="beta"' },
    { Cookie: 'group=betamax' },
    { Cookie: 'group=alpha' },
    { Cookie: 'xgroup=beta' },
    { Cookie: 'group2=beta' },
    { Cookie: 'group=' },
    { Cookie: 'theme=beta' },
    { Cookie: 'group=bxta' },
    { Cookie: 'group=beta; tier=gold-1' },
    { Cookie: 'tier=gold; a=1; group=beta' },
    { Cookie: 'tier=silver; group=beta' },
    { Cookie: 's.id=$1^[x]' },
    { Cookie: 'sXid=$1^[x]' },
    { Cookie: 'group=beta', 'X-Client': 'web-7' },
    { Cookie: 'theme=dark; group=beta', 'X-Client': 'web-7' },
    { Cookie: 'group=beta', 'X-Client': 'ios-7' },
    { Cookie: 'group=alpha', 'X-Client': 'web-7' },
    { 'X-Tenant': 'a.b+c*(d)', Cookie: 's.id=$1^[x]' },
  ];

  it.each(Object.entries(HEADER_ROUTES))('"%s"', (_, route) => {
    const compiled = compileHeaderRoute(route);
    const matches = headerMatchesFor(route);
    let selected = 0;
    for (const headers of REQUESTS) {
      const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
      const embedded = routeMatches(compiled, lower);
      if (embedded) selected++;
      expect(gatewayHolds(matches, headers, 'full'), `${JSON.stringify(headers)} (full match)`).toBe(embedded);
      expect(gatewayHolds(matches, headers, 'search'), `${JSON.stringify(headers)} (search)`).toBe(embedded);
    }
    expect(selected, 'the table exercises this route').toBeGreaterThan(0);
  });
});

describe('readRouterState', () => {
  it('reads a missing or foreign route as nothing routed, and tolerates defaults and other rules', () => {
    expect(readRouterState(TARGET, null)).toEqual({ canaryWeight: 0, stableVersion: null, canaryVersion: null, headerRoute: null });
    const foreign = {
      metadata: { name: 'checkout', namespace: 'shop' },
      spec: {
        rules: [
          { matches: [{ path: { type: 'PathPrefix', value: '/admin' } }], backendRefs: [{ name: 'admin', port: 80 }] },
          { backendRefs: [{ name: 'checkout-stable', port: 8080 }, { name: 'checkout-canary', port: 8080 }] },
          { matches: [{ headers: [{ name: 'X-Canary', value: 'always' }] }], backendRefs: [{ name: 'checkout-canary', port: 8080 }] },
        ],
      },
    };
    // Default weights (1 each): an even split; no annotations: versions unknown, the header rule unnamed.
    expect(readRouterState(TARGET, foreign)).toEqual({ canaryWeight: 50, stableVersion: null, canaryVersion: null, headerRoute: 'unnamed' });
    // A ref to a Service of the same name in another namespace or group is not the backend.
    const elsewhere = { spec: { rules: [{ backendRefs: [{ name: 'checkout-stable', namespace: 'other', port: 8080 }, { name: 'checkout-canary', group: 'x.io', kind: 'Backend' }] }] } };
    expect(readRouterState(TARGET, elsewhere)).toEqual({ canaryWeight: 0, stableVersion: null, canaryVersion: null, headerRoute: null });
    const zero = { spec: { rules: [{ backendRefs: [{ name: 'checkout-stable', port: 8080, weight: 0 }, { name: 'checkout-canary', port: 8080, weight: 0 }] }] } };
    expect(readRouterState(TARGET, zero).canaryWeight).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------

function writeKubeconfig(dir: string, api: FakeApiServer, options: { skipTlsVerify?: boolean } = {}): string {
  const file = path.join(dir, 'kubeconfig');
  const skip = options.skipTlsVerify ?? true;
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: loopback',
      '  cluster:',
      `    server: ${api.url}`,
      // client-node refuses a plain-http server unless TLS verification is explicitly off.
      ...(skip ? ['    insecure-skip-tls-verify: true'] : []),
      'users:',
      '- name: rollgate',
      '  user:',
      `    token: ${api.token}`,
      '- name: stranger',
      '  user:',
      '    token: wrong-token',
      'contexts:',
      '- name: loopback',
      '  context: {cluster: loopback, user: rollgate, namespace: shop}',
      '- name: stranger',
      '  context: {cluster: loopback, user: stranger}',
      'current-context: loopback',
      '',
    ].join('\n'),
  );
  return file;
}

/** The HTTPRoute as the cluster's admin applies it before Rollgate takes over its rules. */
const ADMIN_ROUTE = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'checkout', namespace: 'shop', labels: { app: 'checkout' }, annotations: { 'example.com/owner': 'team-payments' } },
  spec: {
    parentRefs: [{ name: 'public', namespace: 'gateways', sectionName: 'https' }],
    hostnames: ['checkout.example.com'],
    rules: [{ backendRefs: [{ name: 'checkout-stable', port: 8080 }] }],
  },
};

describeTrafficRouterContract('gateway-api router, recording API server + Gateway emulator, demo-app processes', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-gateway-api-'));
  const demos: DemoProcess[] = await Promise.all([spawnDemo('1.0.0'), spawnDemo('1.0.0'), spawnDemo('1.1.0')]);
  const api = await startFakeApiServer();
  api.seed(structuredClone(ADMIN_ROUTE));
  const backends = {
    stable: { version: '1.0.0', endpoints: [demos[0]!.endpoint, demos[1]!.endpoint] },
    canary: { version: '1.1.0', endpoints: [demos[2]!.endpoint] },
  };
  // The Services' selectors: which pods back each Service (the deploy target's business, not the router's).
  const services: Record<string, string[]> = { 'checkout-stable': backends.stable.endpoints, 'checkout-canary': backends.canary.endpoints };
  const gateway = await startGatewayEmulator({ route: () => api.get('shop', 'checkout'), endpoints: (name) => services[name] ?? [] });
  const router = new GatewayApiRouter({ ...TARGET, client: kubeClientFromKubeConfig({ kubeconfig: writeKubeconfig(dir, api) }) });
  return {
    router,
    backends,
    send: async (n, headers) =>
      (await sendMany(gateway.port, n, { headers, concurrency: 16 })).map((r) => ({ version: String(r.headers['x-demo-version']), status: r.status })),
    teardown: async () => {
      await router.close();
      // Whatever the contract did, the admin's fields are still there, and every apply was a valid route.
      const route = api.get('shop', 'checkout')!;
      expect(route.spec.parentRefs).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'gateways', sectionName: 'https' }]);
      expect(route.spec.hostnames).toEqual(['checkout.example.com']);
      expect(route.metadata.annotations['example.com/owner']).toBe('team-payments');
      expect(api.requests.filter((r) => r.status >= 400)).toEqual([]);
      expect(gateway.own).toEqual({});
      await gateway.close();
      await api.close();
      await Promise.all(demos.map((d) => d.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('GatewayApiRouter against the recording API server', () => {
  let api: FakeApiServer;
  let dir: string;
  let kubeconfig: string;
  const routerFor = (client: KubeClient | null = kubeClientFromKubeConfig({ kubeconfig })) => new GatewayApiRouter({ ...TARGET, client });

  beforeAll(async () => {
    api = await startFakeApiServer();
    dir = mkdtempSync(path.join(tmpdir(), 'rollgate-gateway-api-'));
    kubeconfig = writeKubeconfig(dir, api);
  });
  afterAll(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    api.clearRequests();
  });

  it('applies with server-side apply: PATCH, field manager rollgate, force, apply-patch+yaml, bearer token, the rendered route as body', async () => {
    const router = routerFor();
    await router.setBackends({ stable: { version: '1.0.0', endpoints: [] }, canary: { version: '1.1.0', endpoints: ['10.0.0.1:8080'] } });
    await router.setWeights({ canary: 5 });
    await router.setHeaderRoute(TESTERS);
    expect(api.requests.map((r) => [r.method, r.url])).toEqual(
      Array.from({ length: 3 }, () => ['PATCH', `${ROUTE_PATH}?fieldManager=rollgate&force=true`]),
    );
    for (const r of api.requests) {
      expect(r.contentType).toBe(APPLY_CONTENT_TYPE);
      expect(r.contentType).toBe('application/apply-patch+yaml');
      expect(r.authorization).toBe(`Bearer ${api.token}`);
      expect(r.query).toEqual({ fieldManager: 'rollgate', force: 'true' });
      expect(validateHttpRoute(JSON.parse(r.body)).ok).toBe(true);
    }
    expect(JSON.parse(api.requests[0]!.body)).toEqual(renderHttpRoute(TARGET, state(0)));
    expect(JSON.parse(api.requests[1]!.body)).toEqual(renderHttpRoute(TARGET, state(5)));
    expect(JSON.parse(api.requests[2]!.body)).toEqual(renderHttpRoute(TARGET, state(5, TESTERS)));
    expect(router.rendered()).toEqual(renderHttpRoute(TARGET, state(5, TESTERS)));

    api.clearRequests();
    expect(await router.verify()).toEqual({ canaryWeight: 5, stableVersion: '1.0.0', canaryVersion: '1.1.0', headerRoute: 'canary-testers' });
    expect(api.requests.map((r) => [r.method, r.url, r.body])).toEqual([['GET', ROUTE_PATH, '']]);
    expect(api.requests[0]!.authorization).toBe(`Bearer ${api.token}`);
    await router.close();
  });

  it('takes over spec.rules and its annotations, and leaves parentRefs, hostnames, labels and other annotations to their owner', async () => {
    api.seed(structuredClone(ADMIN_ROUTE), 'kubectl');
    expect(api.owners('shop', 'checkout')['spec.rules']).toBe('kubectl');
    const router = routerFor();
    await router.setBackends({ stable: { version: '1.0.0', endpoints: [] }, canary: { version: '1.1.0', endpoints: [] } });
    await router.setWeights({ canary: 25 });
    await router.setHeaderRoute(TESTERS);
    let route = api.get('shop', 'checkout')!;
    expect(route.spec.parentRefs).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'gateways', sectionName: 'https' }]);
    expect(route.spec.hostnames).toEqual(['checkout.example.com']);
    expect(route.metadata.labels).toEqual({ app: 'checkout' });
    expect(route.metadata.annotations['example.com/owner']).toBe('team-payments');
    expect(route.spec.rules).toHaveLength(2);
    const owners = api.owners('shop', 'checkout');
    expect(owners['spec.rules']).toBe('rollgate');
    expect(owners['spec.parentRefs']).toBe('kubectl');
    expect(owners['spec.hostnames']).toBe('kubectl');
    expect(owners['metadata.annotations.rollgate.dev/header-route']).toBe('rollgate');
    expect(owners['metadata.annotations.example.com/owner']).toBe('kubectl');
    expect(route.metadata.managedFields.map((m: { manager: string }) => m.manager)).toEqual(['kubectl', 'rollgate']);

    // Dropping the canary and the header route removes the annotations Rollgate no longer applies.
    await router.setBackends({ stable: { version: '1.1.0', endpoints: [] }, canary: null });
    route = api.get('shop', 'checkout')!;
    expect(route.metadata.annotations).toEqual({ 'example.com/owner': 'team-payments', 'rollgate.dev/service': 'checkout', 'rollgate.dev/stable-version': '1.1.0' });
    expect(await router.verify()).toEqual({ canaryWeight: 0, stableVersion: '1.1.0', canaryVersion: null, headerRoute: null });
    await router.close();
  });

  it('would conflict without force: the API server refuses to hand spec.rules over silently', async () => {
    api.seed(structuredClone(ADMIN_ROUTE), 'kubectl');
    const client = kubeClientFromKubeConfig({ kubeconfig });
    const body = JSON.stringify(renderHttpRoute(TARGET, state(10)));
    const noForce = client.patch(`${ROUTE_PATH}?fieldManager=rollgate`, body, APPLY_CONTENT_TYPE);
    await expect(noForce).rejects.toThrow(/409 Apply failed with 1 conflict\(s\): conflict with "kubectl": \.spec\.rules/);
    await expect(noForce).rejects.toMatchObject({ status: 409, reason: 'Conflict' });
  });

  it('verify() reads a route that does not exist as nothing routed', async () => {
    const router = new GatewayApiRouter({ ...TARGET, httpRoute: 'nobody-made-this', client: kubeClientFromKubeConfig({ kubeconfig }) });
    expect(await router.verify()).toEqual({ canaryWeight: 0, stableVersion: null, canaryVersion: null, headerRoute: null });
    expect(api.requests.map((r) => [r.method, r.path, r.status])).toEqual([['GET', '/apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes/nobody-made-this', 404]]);
  });

  it('a refused apply rejects with the API error and keeps the previous state; the next change applies everything', async () => {
    const router = routerFor();
    await router.setBackends({ stable: { version: '1.0.0', endpoints: [] }, canary: { version: '1.1.0', endpoints: [] } });
    await router.setWeights({ canary: 10 });
    api.failNext(500, 'etcdserver: request timed out');
    const failed = router.setWeights({ canary: 50 });
    await expect(failed).rejects.toBeInstanceOf(KubeApiError);
    await expect(failed).rejects.toThrow(/500 etcdserver: request timed out/);
    expect(await router.verify()).toMatchObject({ canaryWeight: 10 });
    await router.setHeaderRoute(TESTERS);
    expect(await router.verify()).toEqual({ canaryWeight: 10, stableVersion: '1.0.0', canaryVersion: '1.1.0', headerRoute: 'canary-testers' });
    await router.close();
  });

  it('rejects invalid input before sending anything', async () => {
    const router = routerFor();
    await expect(router.setWeights({ canary: 101 })).rejects.toThrow(RangeError);
    await expect(router.setWeights({ canary: Number.NaN })).rejects.toThrow(RangeError);
    await expect(router.setBackends({ stable: { version: '', endpoints: [] }, canary: null })).rejects.toThrow(TypeError);
    await expect(router.setHeaderRoute({ name: 'bad', match: [{ headerName: 'x', regex: '(' }] })).rejects.toThrow(/regular expression/);
    await expect(router.setHeaderRoute({ name: 'empty', match: [] })).rejects.toThrow(/at least one/);
    expect(api.requests).toEqual([]);
    await router.close();
  });

  it('uses the kubeconfig context it is given, and reports the API server\'s refusal', async () => {
    const router = routerFor(kubeClientFromKubeConfig({ kubeconfig, context: 'stranger' }));
    await expect(router.setWeights({ canary: 0 })).rejects.toMatchObject({ status: 401 });
    expect(api.requests.map((r) => r.authorization)).toEqual(['Bearer wrong-token']);
    expect(() => kubeClientFromKubeConfig({ kubeconfig, context: 'missing' })).toThrow(/no context "missing"/);
    await router.close();
  });

  it('a plain-http API server needs insecure-skip-tls-verify in the kubeconfig (client-node refuses otherwise)', async () => {
    const strict = writeKubeconfig(mkdtempSync(path.join(dir, 'strict-')), api, { skipTlsVerify: false });
    const router = routerFor(kubeClientFromKubeConfig({ kubeconfig: strict }));
    await expect(router.setWeights({ canary: 0 })).rejects.toThrow(/HTTP protocol is not allowed/);
    await router.close();
  });

  it('without a client it only renders: verify() is null and capabilities say so', async () => {
    const router = routerFor(null);
    expect(router.capabilities).toEqual({ weights: true, headerRouting: true, sticky: false, verify: false });
    expect(router.rendered()).toBeNull();
    await router.setBackends({ stable: { version: '1.0.0', endpoints: [] }, canary: { version: '1.1.0', endpoints: [] } });
    await router.setWeights({ canary: 50 });
    expect(await router.verify()).toBeNull();
    expect(router.rendered()).toEqual(renderHttpRoute(TARGET, state(50)));
    expect(api.requests).toEqual([]);
    await router.close();
  });

  it('checks and freezes its config, declares its capabilities, refuses calls once closed', async () => {
    const client = kubeClientFromKubeConfig({ kubeconfig });
    const config = { ...TARGET, client };
    const router = new GatewayApiRouter(config);
    config.namespace = 'other';
    expect(router.config.namespace).toBe('shop');
    expect(Object.isFrozen(router.config)).toBe(true);
    expect(router.capabilities).toEqual({ weights: true, headerRouting: true, sticky: false, verify: true });
    for (const bad of [
      { namespace: 'Shop' },
      { httpRoute: 'has space' },
      { canaryBackend: TARGET.stableBackend },
      { port: 0 },
      { port: 8080.5 },
      { service: '' },
    ]) {
      expect(() => new GatewayApiRouter({ ...TARGET, client, ...bad }), JSON.stringify(bad)).toThrow(TypeError);
    }
    await router.close();
    await router.close();
    await expect(router.setWeights({ canary: 0 })).rejects.toThrow(/closed/);
    await expect(router.verify()).rejects.toThrow(/closed/);
  });

  it('kubeClientFromKubeConfig without a file uses $KUBECONFIG, and says so when there is no kubeconfig at all', (ctx) => {
    if (existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) ctx.skip('runs in a pod: the in-cluster service account is a kubeconfig');
    const saved = { KUBECONFIG: process.env.KUBECONFIG, HOME: process.env.HOME };
    try {
      process.env.KUBECONFIG = kubeconfig;
      expect(kubeClientFromKubeConfig().server).toBe(api.url);
      delete process.env.KUBECONFIG;
      process.env.HOME = mkdtempSync(path.join(dir, 'home-'));
      expect(() => kubeClientFromKubeConfig()).toThrow(/no kubeconfig found/);
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});

describe('examples/kubernetes', () => {
  const dir = path.join(root, 'examples/kubernetes');
  const docs = (file: string) => parseAllDocuments(readFileSync(path.join(dir, file), 'utf8')).map((d) => d.toJS() as Record<string, any>).filter((d) => d !== null);

  it('the cluster manifests hold a valid HTTPRoute for the Rollgate Service spec, which validates', async () => {
    const cluster = docs('cluster.k8s');
    const kinds = cluster.map((d) => d.kind);
    expect(kinds).toEqual(expect.arrayContaining(['Namespace', 'Deployment', 'Service', 'Gateway', 'HTTPRoute']));
    const httpRoute = cluster.find((d) => d.kind === 'HTTPRoute')!;
    expectValid(httpRoute, 'examples/kubernetes/cluster.k8s HTTPRoute');

    const rollgate = docs('podinfo.yaml');
    for (const doc of rollgate) expect(validateDocument(doc).ok, `${doc.kind}/${doc.metadata?.name}`).toBe(true);
    const router = rollgate.find((d) => d.kind === 'Service')!.spec.router;
    expect(router.type).toBe('gateway-api');
    expect([httpRoute.metadata.namespace, httpRoute.metadata.name]).toEqual([router.namespace, router.httpRoute]);
    const services = cluster.filter((d) => d.kind === 'Service').map((d) => d.metadata.name);
    expect(services).toEqual(expect.arrayContaining([router.stableBackend, router.canaryBackend]));

    // Rollgate's apply over the example route keeps it valid and keeps its parentRefs.
    const api = await startFakeApiServer();
    try {
      api.seed(structuredClone(httpRoute), 'kubectl');
      const d = mkdtempSync(path.join(tmpdir(), 'rollgate-gateway-api-'));
      const port = cluster.find((x) => x.kind === 'Service' && x.metadata.name === router.stableBackend)!.spec.ports[0].port as number;
      const r = new GatewayApiRouter({ service: 'podinfo', namespace: router.namespace, httpRoute: router.httpRoute, stableBackend: router.stableBackend, canaryBackend: router.canaryBackend, port, client: kubeClientFromKubeConfig({ kubeconfig: writeKubeconfig(d, api) }) });
      await r.setBackends({ stable: { version: '6.4.0', endpoints: [] }, canary: { version: '6.7.1', endpoints: [] } });
      await r.setWeights({ canary: 5 });
      const applied = api.get(router.namespace, router.httpRoute)!;
      expect(applied.spec.parentRefs).toEqual((expectValid(httpRoute, 'example').spec as Record<string, unknown>).parentRefs);
      expect(await r.verify()).toEqual({ canaryWeight: 5, stableVersion: '6.4.0', canaryVersion: '6.7.1', headerRoute: null });
      await r.close();
      rmSync(d, { recursive: true, force: true });
    } finally {
      await api.close();
    }
  });
});
