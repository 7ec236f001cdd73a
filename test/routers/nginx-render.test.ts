/**
 * The NGINX include file renderer and reader (pure; no nginx needed): weights, escaping, the
 * state line, what verify() derives from a file and how it notices hand edits.
 */
import { describe, expect, it } from 'vitest';
import {
  basisPoints,
  parseInclude,
  quote,
  regexLiteral,
  renderInclude,
  routerStateOf,
  serverWeights,
  type NginxRoutingState,
  type RenderOptions,
} from '../../src/adapters/routers/nginx/render.js';

const OPTIONS: RenderOptions = { upstream: 'checkout-api', keepalive: 16, keepaliveTimeoutSeconds: 4 };
const STATE: NginxRoutingState = {
  stable: { version: '1.0.0', endpoints: ['127.0.0.1:8081', '127.0.0.1:8082'] },
  canary: { version: '1.1.0', endpoints: ['10.0.0.7:8083'] },
  canaryWeight: 5,
  headerRoute: null,
};

describe('NGINX include rendering', () => {
  it('gives each arm its share with integer weights, leaving out an arm at 0 / 100 %', () => {
    expect(serverWeights(5, 2, 1)).toEqual({ stable: 19, canary: 2 }); // 38 : 2 = 95 : 5
    expect(serverWeights(25, 1, 1)).toEqual({ stable: 3, canary: 1 });
    expect(serverWeights(50, 2, 2)).toEqual({ stable: 1, canary: 1 });
    expect(serverWeights(12.5, 1, 1)).toEqual({ stable: 7, canary: 1 });
    expect(serverWeights(33.33, 1, 1)).toEqual({ stable: 6667, canary: 3333 });
    expect(serverWeights(0, 2, 1)).toEqual({ stable: 1, canary: null });
    expect(serverWeights(100, 2, 1)).toEqual({ stable: null, canary: 1 });
    expect(serverWeights(60, 2, 0)).toEqual({ stable: 1, canary: null });
    for (const w of [0.01, 1, 5, 25, 33.33, 50, 75, 99.99]) {
      for (const [ns, nc] of [[1, 1], [2, 1], [3, 2], [1, 4]] as const) {
        const { stable, canary } = serverWeights(w, ns, nc);
        const share = (100 * canary! * nc) / (canary! * nc + stable! * ns);
        expect(share).toBeCloseTo(w, 6);
      }
    }
    expect(basisPoints(12.345)).toBe(1235);
  });

  it('renders upstreams, the weighted split and the routing variable', () => {
    const text = renderInclude(OPTIONS, STATE);
    expect(text.split('\n')[0]).toMatch(/^# rollgate-managed: /);
    expect(text).toContain('upstream checkout-api__stable {');
    expect(text).toContain('upstream checkout-api__canary {');
    expect(text).toContain('    zone rollgate_checkout-api 64k;');
    expect(text).toMatch(/upstream checkout-api \{\n {4}zone rollgate_checkout-api 64k;\n {4}server 127\.0\.0\.1:8081 weight=19;  # stable 1\.0\.0\n {4}server 127\.0\.0\.1:8082 weight=19;  # stable 1\.0\.0\n {4}server 10\.0\.0\.7:8083 weight=2;  # canary 1\.1\.0\n {4}keepalive 16;\n {4}keepalive_timeout 4s;\n\}/);
    expect(text).toContain('map $host $rollgate_checkout_api {\n    default checkout-api;\n}');
    expect(renderInclude(OPTIONS, { ...STATE, canary: null })).not.toContain('__canary');
    expect(renderInclude({ ...OPTIONS, keepalive: 0 }, STATE)).not.toContain('keepalive');
    expect(renderInclude({ ...OPTIONS, keepaliveTimeoutSeconds: null }, STATE)).not.toContain('keepalive_timeout');
  });

  it('renders a header route as anchored, case-sensitive regex maps ANDed by a final map', () => {
    const text = renderInclude(OPTIONS, {
      ...STATE,
      headerRoute: {
        name: 'beta',
        match: [
          { headerName: 'cookie:group', exact: 'beta' },
          { headerName: 'X-Client', prefix: 'web.' },
          { headerName: 'X-Q', regex: '^a\\d+"x$' },
        ],
      },
    });
    expect(text).toContain('map $cookie_group $rollgate_checkout_api_m0_0 {  # cookie group exact "beta"\n    default 0;\n    "~^beta$" 1;\n}');
    expect(text).toContain('map $http_x_client $rollgate_checkout_api_m1_0 {');
    expect(text).toContain('    "~^web\\\\." 1;'); // config text "~^web\\." is the PCRE ^web\.
    expect(text).toContain('map $http_x_q $rollgate_checkout_api_m2_0 {  # header X-Q present\n    default 1;\n    "" 0;\n}');
    expect(text).toContain('    "~^a\\\\d+\\"x$" 1;');
    expect(text).toContain(
      'map "$rollgate_checkout_api_m0_0$rollgate_checkout_api_m1_0$rollgate_checkout_api_m2_0$rollgate_checkout_api_m2_1" $rollgate_checkout_api {\n    default checkout-api;\n    "1111" checkout-api__canary;\n}',
    );
    // No canary: no route to it.
    expect(renderInclude(OPTIONS, { ...STATE, canary: null, headerRoute: { name: 'r', match: [{ headerName: 'X-A', exact: 'b' }] } })).not.toContain('map $http_x_a');
  });

  it('escapes literals for PCRE and strings for the NGINX parser', () => {
    expect(regexLiteral('a.b*c?(d)[e]{f}|g^h$i\\j/k-l+')).toBe('a\\.b\\*c\\?\\(d\\)\\[e\\]\\{f\\}\\|g\\^h\\$i\\\\j\\/k\\-l\\+');
    expect(quote('say "hi" \\ bye')).toBe('"say \\"hi\\" \\\\ bye"');
  });

  it('reads back the state it wrote; verify() reports the requested weight, or the rendered one after a hand edit', () => {
    const state = { ...STATE, canaryWeight: 12.5, headerRoute: { name: 'testers', match: [{ headerName: 'X-Canary', exact: 'always' }] } };
    const text = renderInclude(OPTIONS, state);
    const parsed = parseInclude(text, 'checkout-api');
    expect(parsed.state).toEqual(state);
    expect(parsed.renderedBasisPoints).toBe(1250);
    expect(parsed.renderedHeaderRoute).toBe(true);
    expect(routerStateOf(parsed)).toEqual({ canaryWeight: 12.5, stableVersion: '1.0.0', canaryVersion: '1.1.0', headerRoute: 'testers' });

    // 0.01 % resolution: the exact request is reported while the rendered weights agree with it.
    expect(routerStateOf(parseInclude(renderInclude(OPTIONS, { ...STATE, canaryWeight: 33.333 }), 'checkout-api')).canaryWeight).toBe(33.333);

    // Someone took the canary out of the weighted upstream by hand.
    const start = text.indexOf('upstream checkout-api {');
    const edited = text.slice(0, start) + text.slice(start).replace(/ {4}server 10\.0\.0\.7:8083 weight=\d+;[^\n]*\n/, '');
    expect(edited).not.toBe(text);
    expect(routerStateOf(parseInclude(edited, 'checkout-api')).canaryWeight).toBe(0);
    // ... or the route map.
    expect(routerStateOf(parseInclude(text.replace('"1" checkout-api__canary;', ''), 'checkout-api')).headerRoute).toBeNull();

    expect(() => parseInclude(text, 'other')).toThrow(/routes upstream "checkout-api", not "other"/);
    expect(() => parseInclude('upstream x { server a:1; }', 'checkout-api')).toThrow(/not a file Rollgate manages/);
    // A hand-written bootstrap with the marker and no state line: nothing known yet.
    expect(routerStateOf(parseInclude('# rollgate-managed\nupstream checkout-api { server 127.0.0.1:8081; }\n', 'checkout-api'))).toEqual({
      canaryWeight: 0,
      stableVersion: null,
      canaryVersion: null,
      headerRoute: null,
    });
  });
});
