/**
 * HaproxyRouter against a REAL HAProxy (the Debian binary, started on 127.0.0.1 by
 * haproxy-helpers.ts with a configuration from renderHaproxyConfig) in front of demo-app
 * processes: the TrafficRouter contract, then what is specific to HAProxy — weights as HAProxy
 * holds them, drift, a restarted control plane and a restarted HAProxy, header-route semantics
 * checked against the embedded router's matcher, and errors. Skipped with a reason when no haproxy
 * binary is installed; failing under CI=true.
 */
import http from 'node:http';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HaproxyRouter, HaproxyRuntimeClient, HaproxyRuntimeError } from '../../src/adapters/routers/haproxy.js';
import type { HeaderRoute } from '../../src/ports/traffic-router.js';
import { compileHeaderRoute, routeMatches } from '../../src/proxy/routing.js';
import { describeTrafficRouterContract } from '../contract/traffic-router-contract.js';
import { request, sendMany, spawnDemo, type DemoProcess } from '../proxy/helpers.js';
import { describeWithHaproxy, startHaproxy, type HaproxyServer } from './haproxy-helpers.js';

const versionsOf = async (port: number, n: number, headers?: Record<string, string>) =>
  (await sendMany(port, n, { headers, concurrency: 16 })).map((r) => ({ version: String(r.headers['x-demo-version']), status: r.status }));

describeWithHaproxy('HaproxyRouter on a real HAProxy', (bin) => {
  describeTrafficRouterContract('haproxy router, demo-app processes', async () => {
    const demos: DemoProcess[] = await Promise.all([spawnDemo('1.0.0'), spawnDemo('1.0.0'), spawnDemo('1.1.0')]);
    const haproxy = await startHaproxy({ bin, service: 'demo' });
    const router = new HaproxyRouter({ service: 'demo', adminSocket: haproxy.adminSocket, mapDir: haproxy.mapDir });
    return {
      router,
      backends: {
        stable: { version: '1.0.0', endpoints: [demos[0]!.endpoint, demos[1]!.endpoint] },
        canary: { version: '1.1.0', endpoints: [demos[2]!.endpoint] },
      },
      send: (n, headers) => versionsOf(haproxy.port, n, headers),
      teardown: async () => {
        await router.close();
        await haproxy.stop();
        await Promise.all(demos.map((d) => d.stop()));
      },
    };
  });

  describe('HaproxyRouter specifics', () => {
    let haproxy: HaproxyServer;
    let demos: DemoProcess[];
    let router: HaproxyRouter;
    const backends = () => ({
      stable: { version: '2.0.0', endpoints: [demos[0]!.endpoint] },
      canary: { version: '2.1.0', endpoints: [demos[1]!.endpoint] },
    });

    beforeAll(async () => {
      demos = await Promise.all([spawnDemo('2.0.0'), spawnDemo('2.1.0'), spawnDemo('2.2.0')]);
      haproxy = await startHaproxy({ bin, service: 'shop', slots: 3 });
      router = new HaproxyRouter({ service: 'shop', adminSocket: haproxy.adminSocket, mapDir: haproxy.mapDir });
    }, 60_000);
    afterAll(async () => {
      await router?.close();
      await haproxy?.stop();
      await Promise.all((demos ?? []).map((d) => d.stop()));
    });
    beforeEach(async () => {
      await router.setBackends(backends());
      await router.reset();
    });

    it('copies and freezes its config; declares weights, header routing and verify, not sticky', async () => {
      const config = { service: 'svc', adminSocket: '/nowhere.sock', backend: 'b1' };
      const r = new HaproxyRouter(config);
      config.backend = 'other';
      expect(r.config.backend).toBe('b1');
      expect(r.names).toEqual({ backend: 'b1', canaryBackend: 'b1_canary', stableServer: 'stable', canaryServer: 'canary' });
      expect(Object.isFrozen(r.config)).toBe(true);
      expect(r.capabilities).toEqual({ weights: true, headerRouting: true, sticky: false, verify: true });
      expect(() => new HaproxyRouter({ service: 'svc', adminSocket: '/x', mapDir: 'relative/dir' })).toThrow(/absolute/);
      expect(() => new HaproxyRouter({ service: 'svc', adminSocket: '/x', backend: 'has space' })).toThrow(/letters, digits/);
      await r.close();
    });

    it('sets per-server weights that give the split exactly, and reads back the weight that was set', async () => {
      await router.setWeights({ canary: 5 });
      let live = await router.inspect();
      // One instance each: the weights read as percentages.
      expect(live.stable[0]).toMatchObject({ weight: 95, addr: '127.0.0.1', port: demos[0]!.port });
      expect(live.canary[0]).toMatchObject({ weight: 5, addr: '127.0.0.1', port: demos[1]!.port });
      expect(live.stable.slice(1).every((s) => (s.adminState & 0x01) !== 0)).toBe(true);
      expect(await router.verify()).toEqual({ canaryWeight: 5, stableVersion: '2.0.0', canaryVersion: '2.1.0', headerRoute: null });

      // Two stable instances, one canary: 33.3% has no exact pair ≤ 256; the nearest is applied and
      // the weight as set is still what verify() reports, since HAProxy holds the planned weights.
      await router.setBackends({ stable: { version: '2.0.0', endpoints: [demos[0]!.endpoint, demos[2]!.endpoint] }, canary: backends().canary });
      await router.setWeights({ canary: 33.3 });
      live = await router.inspect();
      const s = live.stable[0]!.weight;
      const c = live.canary[0]!.weight;
      expect(live.stable[1]!.weight).toBe(s);
      // 33.3% = 666/667 per stable weight: the nearest pair ≤ 256 is 0.033 points off.
      expect(Math.abs((100 * c) / (2 * s + c) - 33.3)).toBeLessThan(0.05);
      expect((await router.verify()).canaryWeight).toBe(33.3);

      // Weighted round-robin is deterministic: the split is far tighter than a random one's (±4 sd
      // would be ±35 of 400); right after a weight change HAProxy's cycle may start off-beat (97 seen).
      await router.setWeights({ canary: 25 });
      const replies = await versionsOf(haproxy.port, 400);
      expect(Math.abs(replies.filter((r) => r.version === '2.1.0').length - 100)).toBeLessThanOrEqual(8);
    });

    it('reports drift: a weight changed by hand shows as the split HAProxy applies, until set again', async () => {
      await router.setWeights({ canary: 20 });
      const api = new HaproxyRuntimeClient({ socketPath: haproxy.adminSocket });
      const { canary } = await router.inspect();
      await api.run(`set server shop/${canary[0]!.name} weight 80`);
      const drifted = await router.verify();
      // stable 80 (the plan for 20%: 80/20), canary 80 by hand → 50%.
      expect(drifted.canaryWeight).toBe(50);
      await router.setWeights({ canary: 20 });
      expect((await router.verify()).canaryWeight).toBe(20);
      // A canary slot forced into maintenance by hand: no canary version is serving.
      await api.run(`set server shop/${canary[0]!.name} state maint`);
      expect(await router.verify()).toMatchObject({ canaryVersion: null });
      await router.setBackends(backends());
      expect(await router.verify()).toMatchObject({ canaryVersion: '2.1.0', canaryWeight: 20 });
    });

    it('a new router instance (restarted control plane) reads the same state from HAProxy, finding the maps itself', async () => {
      await router.setWeights({ canary: 40 });
      await router.setHeaderRoute({ name: 'beta users', match: [{ headerName: 'X-Beta', exact: 'yes' }] });
      const fresh = new HaproxyRouter({ service: 'shop', adminSocket: haproxy.adminSocket });
      expect(await fresh.verify()).toEqual({ canaryWeight: 40, stableVersion: '2.0.0', canaryVersion: '2.1.0', headerRoute: 'beta users' });
      await fresh.setWeights({ canary: 10 });
      expect((await router.verify()).canaryWeight).toBe(10);
      await fresh.close();
    });

    it('survives an HAProxy restart: weights, addresses, states and the route come back from the files it wrote', async () => {
      await router.setWeights({ canary: 30 });
      const route: HeaderRoute = { name: 'testers', match: [{ headerName: 'cookie:group', exact: 'beta' }] };
      await router.setHeaderRoute(route);
      const before = await router.verify();
      await haproxy.restart();
      expect(await router.verify()).toEqual(before);
      expect((await versionsOf(haproxy.port, 20, { Cookie: 'group=beta' })).every((r) => r.version === '2.1.0')).toBe(true);
      const split = await versionsOf(haproxy.port, 200);
      expect(split.every((r) => r.status === 200)).toBe(true);
      expect(Math.abs(split.filter((r) => r.version === '2.1.0').length - 60)).toBeLessThanOrEqual(6);
    }, 60_000);

    it('a failed write of the state files is reported, and the next call writes them even when it changes nothing', async () => {
      const stateFile = path.join(haproxy.mapDir, 'shop.servers.state');
      rmSync(stateFile);
      mkdirSync(path.join(stateFile, 'blocker'), { recursive: true });
      await expect(router.setWeights({ canary: 15 })).rejects.toThrow(/HAProxy state applied, but writing .*shop\.servers\.state failed/);
      expect((await router.verify()).canaryWeight).toBe(15);
      rmSync(stateFile, { recursive: true });
      await router.setWeights({ canary: 15 });
      expect(readFileSync(stateFile, 'utf8')).toMatch(/^1\n# be_id .*\n\d+ shop \d+ stable1 /s);
    });

    it('header routes match as the embedded router does (cases checked against its matcher)', async () => {
      const cases: Array<{ route: HeaderRoute; requests: Array<Record<string, string>> }> = [
        {
          route: { name: 'exact', match: [{ headerName: 'X-Canary', exact: 'always' }] },
          requests: [{ 'X-Canary': 'always' }, { 'x-canary': 'always' }, { 'X-Canary': 'Always' }, { 'X-Canary': 'always!' }, { 'X-Canary-2': 'always' }, {}],
        },
        {
          route: { name: 'prefix and presence', match: [{ headerName: 'X-Client', prefix: 'web-' }, { headerName: 'X-Session' }] },
          requests: [{ 'X-Client': 'web-1', 'X-Session': 'a' }, { 'X-Client': 'web-1' }, { 'X-Client': 'ios-1', 'X-Session': 'a' }, { 'X-Session': '', 'X-Client': 'web-' }],
        },
        {
          route: { name: 'regex', match: [{ headerName: 'User-Agent', regex: '^Mozilla/5\\.0 \\(X11;' }, { headerName: 'X-Tier', regex: '(gold|platinum)$' }] },
          requests: [
            { 'User-Agent': 'Mozilla/5.0 (X11; Linux)', 'X-Tier': 'gold' },
            { 'User-Agent': 'Mozilla/5.0 (X11; Linux)', 'X-Tier': 'goldish' },
            { 'User-Agent': 'xMozilla/5.0 (X11; Linux)', 'X-Tier': 'platinum' },
            { 'User-Agent': 'Mozilla/5.0 (X11; Linux)', 'X-Tier': 'a platinum' },
          ],
        },
        {
          route: { name: 'regex classes', match: [{ headerName: 'X-A', regex: 'a.b' }, { headerName: 'X-B', regex: '^[^x]+\\s\\d$' }] },
          requests: [{ 'X-A': 'a-b', 'X-B': 'yy 1' }, { 'X-A': 'ab', 'X-B': 'yy 1' }, { 'X-A': 'a b', 'X-B': 'yx 1' }, { 'X-A': 'zza+bzz', 'X-B': 'y 12' }],
        },
        {
          route: { name: 'cookies', match: [{ headerName: 'cookie:group', exact: 'beta' }, { headerName: 'cookie:id', prefix: 'u-' }] },
          requests: [
            { Cookie: 'group=beta; id=u-1' },
            { Cookie: 'id=u-1; theme=dark; group=beta' },
            { Cookie: 'group="beta"; id="u-2"' },
            { Cookie: 'group=betamax; id=u-1' },
            { Cookie: 'xgroup=beta; id=u-1' },
            { Cookie: 'group=beta; id=x-u-1' },
            { Cookie: 'group = beta ; id=u-7' },
          ],
        },
        {
          route: { name: 'cookie regex', match: [{ headerName: 'cookie:ab', regex: '^v[0-9]+$' }] },
          requests: [{ Cookie: 'ab=v12' }, { Cookie: 'ab=v12x' }, { Cookie: 'x=1; ab=v3' }, { Cookie: 'ab=xv3' }],
        },
      ];
      await router.setWeights({ canary: 0 });
      for (const { route, requests } of cases) {
        await router.setHeaderRoute(route);
        const compiled = compileHeaderRoute(route);
        for (const headers of requests) {
          const expected = routeMatches(compiled, Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))) ? '2.1.0' : '2.0.0';
          const reply = await request(haproxy.port, { headers });
          expect(reply.status).toBe(200);
          expect(reply.headers['x-demo-version'], `route "${route.name}", headers ${JSON.stringify(headers)}`).toBe(expected);
        }
      }
      // verify() names the route the map holds: the last one set.
      expect((await router.verify()).headerRoute).toBe('cookie regex');
    });

    it('refuses invalid input before changing anything', async () => {
      await router.setWeights({ canary: 30 });
      const before = await router.inspect();
      await expect(router.setWeights({ canary: 101 })).rejects.toThrow(RangeError);
      await expect(router.setWeights({ canary: Number.NaN })).rejects.toThrow(RangeError);
      await expect(router.setBackends({ stable: { version: '', endpoints: [] }, canary: null })).rejects.toThrow(TypeError);
      await expect(router.setBackends({ stable: { version: 'x', endpoints: ['nohost'] }, canary: null })).rejects.toThrow(/host:port/);
      await expect(router.setHeaderRoute({ name: 'empty', match: [] })).rejects.toThrow(/at least one/);
      await expect(router.setHeaderRoute({ name: 'bad', match: [{ headerName: 'x', regex: '(' }] })).rejects.toThrow(/regular expression/);
      await expect(router.setHeaderRoute({ name: 'utf', match: [{ headerName: 'x', regex: 'é' }] })).rejects.toThrow(/ASCII/);
      // Four stable endpoints, three slots.
      const four = Array.from({ length: 4 }, () => demos[0]!.endpoint);
      await expect(router.setBackends({ stable: { version: '2.0.0', endpoints: four }, canary: null })).rejects.toThrow(/3 "stable<n>" slots; render the configuration with slots >= 4/);
      await expect(
        router.setBackends({ stable: { version: '2.0.0', endpoints: [demos[0]!.endpoint] }, canary: { version: '2.1.0', endpoints: [demos[0]!.endpoint] } }),
      ).rejects.toThrow(/listed for both/);
      // A pattern HAProxy's PCRE2 refuses (variable-length lookbehind) leaves the route map as it was.
      await router.setHeaderRoute({ name: 'ok', match: [{ headerName: 'X-Ok', exact: '1' }] });
      await expect(router.setHeaderRoute({ name: 'lookbehind', match: [{ headerName: 'X-L', regex: '(?<=a+)b' }] })).rejects.toThrow(HaproxyRuntimeError);
      expect((await router.verify()).headerRoute).toBe('ok');
      const after = await router.inspect();
      expect(after.stable).toEqual(before.stable);
      expect(after.canary).toEqual(before.canary);
    });

    it('resolves host names; refuses calls once closed; reports an unreachable or misconfigured HAProxy clearly', async () => {
      await router.setBackends({ stable: { version: '2.0.0', endpoints: [`localhost:${demos[0]!.port}`] }, canary: backends().canary });
      expect((await router.inspect()).stable[0]).toMatchObject({ addr: '127.0.0.1', port: demos[0]!.port });
      expect((await router.verify()).stableVersion).toBe('2.0.0');

      const closed = new HaproxyRouter({ service: 'shop', adminSocket: haproxy.adminSocket });
      await closed.close();
      await closed.close();
      await expect(closed.setWeights({ canary: 0 })).rejects.toThrow(/closed/);
      await expect(closed.verify()).rejects.toThrow(/closed/);

      const missing = new HaproxyRouter({ service: 'shop', adminSocket: `${haproxy.dir}/no-such.sock`, timeoutMs: 1000 });
      await expect(missing.verify()).rejects.toThrow(/no such socket/);
      const wrongBackend = new HaproxyRouter({ service: 'nope', adminSocket: haproxy.adminSocket, mapDir: haproxy.mapDir });
      await expect(wrongBackend.verify()).rejects.toThrow(/HAProxy has no backend "nope"/);
      const noMaps = new HaproxyRouter({ service: 'shop', adminSocket: haproxy.adminSocket, backend: 'shop_canary', canaryBackend: 'shop' });
      await expect(noMaps.verify()).rejects.toThrow(/has not loaded shop_canary.state.map/);

      // A socket that accepts but never answers: the batch times out.
      const held = new Set<net.Socket>();
      const silent = net.createServer((socket) => held.add(socket));
      const silentPath = `${haproxy.dir}/silent.sock`;
      await new Promise<void>((resolve) => silent.listen(silentPath, resolve));
      const mute = new HaproxyRouter({ service: 'shop', adminSocket: silentPath, mapDir: haproxy.mapDir, timeoutMs: 300 });
      await expect(mute.verify()).rejects.toThrow(/no answer within 300 ms/);
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });

    it('keeps serving during setBackends: promoting the canary to stable drops no request', async () => {
      await router.setWeights({ canary: 50 });
      const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
      let stop = false;
      const statuses: number[] = [];
      const loop = async () => {
        while (!stop) statuses.push((await request(haproxy.port, { agent })).status);
      };
      const clients = [loop(), loop(), loop(), loop()];
      for (let i = 0; i < 5; i++) {
        await router.setBackends({ stable: backends().canary, canary: null });
        await router.setBackends(backends());
        await router.setBackends({ stable: { version: '2.2.0', endpoints: [demos[2]!.endpoint] }, canary: backends().canary });
      }
      stop = true;
      await Promise.all(clients);
      agent.destroy();
      expect(statuses.length).toBeGreaterThan(50);
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      expect(await router.verify()).toMatchObject({ stableVersion: '2.2.0', canaryVersion: '2.1.0', canaryWeight: 50 });
      await router.setBackends(backends());
      // The state map names only the addresses in use.
      expect([...(await router.inspect()).versions.values()].sort()).toEqual(['2.0.0', '2.1.0']);
    }, 60_000);
  });
});
