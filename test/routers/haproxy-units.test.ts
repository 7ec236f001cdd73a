/**
 * The HAProxy router's pure parts: the weight plan, the parsers of HAProxy's answers, CLI escaping,
 * RouterState from a live state, the header-route translation and the configuration renderer.
 * The last block checks rendered configurations with `haproxy -c` when the binary is there.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderHaproxyConfig, stateOf, writeHaproxyConfig, type HaproxyLiveState } from '../../src/adapters/routers/haproxy.js';
import { headerRoutePattern, translateValueRegex } from '../../src/adapters/routers/haproxy/header-route.js';
import { cliArg } from '../../src/adapters/routers/haproxy/runtime-api.js';
import { effectiveCanaryPercent, parseMap, parseServersState, planWeights, type ServerState } from '../../src/adapters/routers/haproxy/state.js';
import { exampleOptions, SERVICE as EXAMPLE_SERVICE } from '../../examples/haproxy/render.js';
import { describeWithHaproxy } from './haproxy-helpers.js';

const share = (p: { stable: number; canary: number }, k: number, m: number) => (100 * m * p.canary) / (k * p.stable + m * p.canary);

describe('planWeights', () => {
  it('is exact for every multiple of 0.5% with one instance each, and every whole percent with up to two', () => {
    for (let p = 0; p <= 100; p += 0.5) expect(share(planWeights(p, 1, 1), 1, 1)).toBeCloseTo(p, 9);
    for (const [k, m] of [[1, 2], [2, 1], [2, 2]] as const) {
      for (let p = 0; p <= 100; p++) expect(share(planWeights(p, k, m), k, m), `${p}% with ${k}+${m}`).toBeCloseTo(p, 9);
    }
  });

  it('reads as percentages when it can, and keeps every weight in 0..256', () => {
    expect(planWeights(5, 1, 1)).toEqual({ stable: 95, canary: 5 });
    expect(planWeights(12.5, 1, 1)).toEqual({ stable: 7, canary: 1 });
    expect(planWeights(0, 1, 1)).toEqual({ stable: 100, canary: 0 });
    expect(planWeights(100, 1, 1)).toEqual({ stable: 0, canary: 100 });
    expect(planWeights(0, 3, 1)).toEqual({ stable: 1, canary: 0 });
    expect(planWeights(12.5, 2, 1)).toEqual({ stable: 7, canary: 2 });
    // No canary: stable takes everything whatever the weight.
    expect(planWeights(60, 2, 0)).toEqual({ stable: 1, canary: 0 });
    for (const [p, k, m] of [[33.3, 2, 1], [0.1, 5, 3], [99.9, 4, 7], [1, 64, 1]] as const) {
      const w = planWeights(p, k, m);
      expect(w.stable).toBeGreaterThanOrEqual(1);
      expect(w.stable).toBeLessThanOrEqual(256);
      expect(w.canary).toBeGreaterThanOrEqual(1);
      expect(w.canary).toBeLessThanOrEqual(256);
    }
  });

  it('is the nearest pair (checked against a brute force)', () => {
    for (const [p, k, m] of [[33.3, 2, 1], [7.77, 3, 2], [0.1, 1, 1], [99.9, 2, 3], [41, 5, 4]] as const) {
      let best = Infinity;
      for (let s = 1; s <= 256; s++) for (let c = 1; c <= 256; c++) best = Math.min(best, Math.abs(share({ stable: s, canary: c }, k, m) - p));
      expect(Math.abs(share(planWeights(p, k, m), k, m) - p)).toBeCloseTo(best, 9);
    }
  });

  it('refuses what cannot be planned', () => {
    expect(() => planWeights(-1, 1, 1)).toThrow(RangeError);
    expect(() => planWeights(Number.NaN, 1, 1)).toThrow(RangeError);
    expect(() => planWeights(10, 0, 1)).toThrow(/stable server/);
  });
});

const STATE = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 be 1 stable1 127.0.0.1 2 4 3 1 0 1 0 0 8 0 0 0 - 29001 - 0 0 - - 0
3 be 2 stable2 127.0.0.1 0 5 1 1 8 1 0 0 8 0 0 0 - 1 - 0 0 - - 0
3 be 3 canary1 ::1 2 4 1 0 0 1 0 0 8 0 0 0 - 29002 - 0 0 - - 0
`;

describe('parsers', () => {
  it('parses show servers state by its header', () => {
    const servers = parseServersState(STATE);
    expect(servers).toHaveLength(3);
    expect(servers[0]).toEqual({ backend: 'be', name: 'stable1', addr: '127.0.0.1', port: 29001, opState: 2, adminState: 4, weight: 3 });
    expect(servers[2]).toMatchObject({ name: 'canary1', addr: '::1', port: 29002 });
    expect(() => parseServersState("Can't find backend.")).toThrow(/unexpected answer/);
  });

  it('parses show map; keys hold no blank, values may', () => {
    expect(parseMap('0x55c3db42f470 canary-weight 12.5\n0x7f9f3404d050 version@127.0.0.1:1 1.0.0%20rc\n')).toEqual([
      { key: 'canary-weight', value: '12.5' },
      { key: 'version@127.0.0.1:1', value: '1.0.0%20rc' },
    ]);
    expect(parseMap('')).toEqual([]);
    expect(() => parseMap('Unknown map identifier')).toThrow(/unexpected line/);
  });

  it('escapes CLI words: backslash, semicolon, blanks; refuses line breaks', () => {
    expect(cliArg('a\\b;c d\te')).toBe('a\\\\b\\;c\\ d\\\te');
    expect(() => cliArg('a\nb')).toThrow(/line break/);
    expect(() => cliArg('')).toThrow(/empty/);
  });
});

describe('stateOf (verify from a live state)', () => {
  const server = (name: string, port: number, weight: number, over: Partial<ServerState> = {}): ServerState => ({
    backend: 'be',
    name,
    addr: '127.0.0.1',
    port,
    opState: 2,
    adminState: 4,
    weight,
    ...over,
  });
  const maint = { adminState: 5, opState: 0 };
  const live = (over: Partial<HaproxyLiveState>): HaproxyLiveState => ({
    stable: [server('stable1', 1001, 95), server('stable2', 1, 1, maint)],
    canary: [server('canary1', 1002, 5), server('canary2', 1, 0, maint)],
    routeCanary: [],
    recordedWeight: 5,
    versions: new Map([
      ['127.0.0.1:1001', '1.0.0'],
      ['127.0.0.1:1002', '1.1.0'],
    ]),
    route: null,
    stateEntries: [],
    routeEntries: [],
    raw: { servers: '', routeServers: '' },
    ...over,
  });

  it('reports the recorded weight while the servers hold the plan for it', () => {
    expect(stateOf(live({}))).toEqual({ canaryWeight: 5, stableVersion: '1.0.0', canaryVersion: '1.1.0', headerRoute: null });
    expect(stateOf(live({ route: { pattern: '\\A', name: 'testers' } })).headerRoute).toBe('testers');
  });

  it('reports the split HAProxy applies when the weights or the servers differ from the plan', () => {
    expect(stateOf(live({ canary: [server('canary1', 1002, 95)] })).canaryWeight).toBe(50);
    // The canary marked down by a health check: no canary traffic.
    expect(stateOf(live({ canary: [server('canary1', 1002, 5, { opState: 0 })] })).canaryWeight).toBe(0);
    // Draining counts as no new requests.
    expect(stateOf(live({ stable: [server('stable1', 1001, 95, { adminState: 4 | 0x08 })] })).canaryWeight).toBe(100);
  });

  it('names a version only when every slot in use has an address Rollgate recorded for it', () => {
    expect(stateOf(live({ versions: new Map([['127.0.0.1:1002', '1.1.0']]) })).stableVersion).toBeNull();
    // The canary removed by setBackends (stable back to weight 1): the weight as set is kept, as the embedded router does.
    expect(stateOf(live({ stable: [server('stable1', 1001, 1)], canary: [server('canary1', 1002, 5, maint)] }))).toMatchObject({ canaryVersion: null, canaryWeight: 5 });
    // The canary put into maintenance by hand: the stable weights are off-plan, and the real split shows.
    expect(stateOf(live({ canary: [server('canary1', 1002, 5, maint)] }))).toMatchObject({ canaryVersion: null, canaryWeight: 0 });
  });

  it('computes the effective share from serving servers only', () => {
    expect(effectiveCanaryPercent([server('s', 1, 3)], [server('c', 2, 1)])).toBe(25);
    expect(effectiveCanaryPercent([server('s', 1, 3, maint)], [server('c', 2, 0)])).toBe(0);
  });
});

describe('header routes as PCRE2', () => {
  it('holds no blank, so it is one word in a map file and on the CLI', () => {
    const pattern = headerRoutePattern({ name: 'r', match: [{ headerName: 'X-A', exact: 'two words' }, { headerName: 'cookie:g', regex: 'a b' }] });
    expect(pattern).not.toMatch(/\s/);
    expect(pattern.startsWith('\\A(?=')).toBe(true);
  });

  it('translates anchors, dots, \\s and negated classes so they stay in the value', () => {
    expect(translateValueRegex('^a.b$', 'header', 'S', 'E')).toBe('Sa[^\\r\\n]bE');
    expect(translateValueRegex('[^x]\\s[\\s-]', 'cookie', 'S', 'E')).toBe('[^;\\r\\nx][\\t\\x0b\\x0c\\x20][\\t\\x0b\\x0c\\x20\\-]');
    expect(translateValueRegex('[a^$.]\\.\\$', 'header', 'S', 'E')).toBe('[a^$.]\\.\\$');
  });

  it('refuses what it cannot translate faithfully', () => {
    expect(() => translateValueRegex('\\u00e9', 'header', 'S', 'E')).toThrow(/JavaScript-only/);
    expect(() => translateValueRegex('[\\W]', 'header', 'S', 'E')).toThrow(/inside a character class/);
    expect(() => translateValueRegex('[]', 'header', 'S', 'E')).toThrow(/empty character class/);
    expect(() => translateValueRegex('(?i)a', 'header', 'S', 'E')).toThrow(/inline flags/);
    expect(() => translateValueRegex('[ab', 'header', 'S', 'E')).toThrow(/unterminated/);
  });
});

describe('renderHaproxyConfig', () => {
  it('renders the two backends, the slots and the frontend rule; validates its options', () => {
    const text = renderHaproxyConfig('checkout', { mapDir: '/etc/haproxy/rollgate', slots: 2, frontend: { bind: '127.0.0.1:8080' }, healthCheck: { path: '/healthz' } });
    expect(text).toContain('backend checkout\n');
    expect(text).toContain('backend checkout_canary\n');
    expect(text).toContain('server stable2 127.0.0.1:1 disabled weight 1 check inter 2000ms');
    expect(text).toContain('server canary1 127.0.0.1:1 disabled weight 0 check inter 2000ms');
    expect(text).toContain('use_backend checkout_canary if { nbsrv(checkout_canary) gt 0 } { req.hdrs,map_reg(/etc/haproxy/rollgate/checkout.routes.map) -m found }');
    expect(text).toContain('server-state-file-name /etc/haproxy/rollgate/checkout.servers.state');
    expect(text).not.toMatch(/^(global|defaults)$/m);
    expect(renderHaproxyConfig('checkout', { mapDir: '/m' })).toContain('#     use_backend checkout_canary if');
    expect(() => renderHaproxyConfig('checkout', { mapDir: 'relative' })).toThrow(/absolute/);
    expect(() => renderHaproxyConfig('checkout', { mapDir: '/m', slots: 0 })).toThrow(RangeError);
    expect(() => renderHaproxyConfig('checkout', { mapDir: '/m', stableServer: 's1' })).toThrow(/digit/);
    expect(() => renderHaproxyConfig('bad name', { mapDir: '/m' })).toThrow(/letters, digits/);
  });
});

describe('examples/haproxy', () => {
  it('haproxy.cfg is what render.ts writes (run `npx tsx examples/haproxy/render.ts --print > examples/haproxy/haproxy.cfg` after changing the renderer)', () => {
    const checkedIn = readFileSync(path.resolve(import.meta.dirname, '../../examples/haproxy/haproxy.cfg'), 'utf8');
    expect(checkedIn).toBe(renderHaproxyConfig(EXAMPLE_SERVICE, exampleOptions()));
  });
});

describeWithHaproxy('rendered configurations pass haproxy -c', (bin) => {
  it('standalone, with a frontend, health checks and custom names; and as an include without a frontend', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-haproxy-cfg-'));
    try {
      const variants = [
        exampleOptions(path.join(dir, 'example')),
        { mapDir: path.join(dir, 'a'), frontend: { bind: ['127.0.0.1:65000'] }, healthCheck: { path: '/healthz', intervalMs: 500 }, standalone: { adminSocket: path.join(dir, 'a.sock'), nbthread: 2 } },
        { mapDir: path.join(dir, 'b'), backend: 'web', canaryBackend: 'web-preview', stableServer: 'blue', canaryServer: 'green', slots: 8, standalone: { adminSocket: path.join(dir, 'b.sock') } },
      ];
      for (const [i, options] of variants.entries()) {
        const file = path.join(dir, `haproxy-${i}.cfg`);
        const written = await writeHaproxyConfig(file, 'svc', options);
        expect(readFileSync(written.serverState, 'utf8')).toBe('1\n');
        const check = spawnSync(bin, ['-c', '-f', file], { encoding: 'utf8' });
        expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
        // No warning either (a warning would show in the operator's logs at every start).
        expect(`${check.stdout}${check.stderr}`).not.toMatch(/WARNING/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
