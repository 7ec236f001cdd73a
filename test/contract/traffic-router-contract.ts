/**
 * The TrafficRouter contract (src/ports/traffic-router.ts), run against every implementation:
 * embedded, HAProxy, NGINX, Gateway API, and any fake.
 *
 * The harness owns the real traffic: `send(n, headers)` sends n requests through the router and
 * reports which version answered each (from the service's own response, e.g. X-Demo-Version, so
 * the router cannot vouch for itself). Observed splits are checked against a binomial tolerance
 * of ±4 standard deviations (false alarm ≈ 6e-5 per check), never a fixed band.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Backends, HeaderRoute, TrafficRouter } from '../../src/ports/traffic-router.js';

export interface SentReply {
  version: string;
  status: number;
}

export interface TrafficRouterHarness {
  router: TrafficRouter;
  /** Stable and canary backends with distinct versions, both serving. */
  backends: Backends;
  /** Sends n requests through the router (bounded) and reports who answered each. */
  send(n: number, headers?: Record<string, string>): Promise<SentReply[]>;
  teardown(): Promise<void>;
}

export interface TrafficRouterContractOptions {
  /** Requests for each split measurement. Default 2000. */
  splitRequests?: number;
  /** Extra wait after a change, for routers that apply changes asynchronously (reloads). Default 0. */
  settleMs?: number;
}

/** |observed - n·p| ≤ 4·sqrt(n·p·(1-p)) for a weighted split; exact at p = 0 or 1. */
export function expectBinomial(observed: number, n: number, p: number, what: string): void {
  const mean = n * p;
  const sd = Math.sqrt(n * p * (1 - p));
  const tolerance = 4 * sd;
  const ok = Math.abs(observed - mean) <= tolerance;
  expect(ok, `${what}: ${observed}/${n} to canary, expected ${mean.toFixed(1)} ± ${tolerance.toFixed(1)} (4 sd)`).toBe(true);
}

const TESTER_ROUTE: HeaderRoute = { name: 'canary-testers', match: [{ headerName: 'X-Canary', exact: 'always' }] };

/** Per case: generous, for routers that reload and providers that scrape. */
const CASE_TIMEOUT_MS = 120_000;

export function describeTrafficRouterContract(
  label: string,
  setup: () => Promise<TrafficRouterHarness>,
  options: TrafficRouterContractOptions = {},
): void {
  const N = options.splitRequests ?? 2000;
  const settle = () => (options.settleMs ? new Promise<void>((r) => setTimeout(r, options.settleMs)) : Promise.resolve());

  describe(`TrafficRouter contract: ${label}`, () => {
    let h: TrafficRouterHarness;
    let stable: string;
    let canary: string;

    const countCanary = (replies: SentReply[]) => replies.filter((r) => r.version === canary).length;
    const expectAll = (replies: SentReply[], version: string, n: number) => {
      expect(replies).toHaveLength(n);
      expect(replies.filter((r) => r.status >= 500), 'no 5xx').toEqual([]);
      expect(new Set(replies.map((r) => r.version))).toEqual(new Set([version]));
    };

    beforeAll(async () => {
      h = await setup();
      stable = h.backends.stable.version;
      canary = h.backends.canary!.version;
      expect(stable).not.toEqual(canary);
    }, CASE_TIMEOUT_MS);

    afterAll(async () => {
      await h?.teardown();
    }, CASE_TIMEOUT_MS);

    beforeEach(async () => {
      await h.router.setBackends(h.backends);
      await h.router.reset();
      await settle();
    }, CASE_TIMEOUT_MS);

    it('reset() sends 100% to stable and removes the header route', async () => {
      await h.router.setWeights({ canary: 60 });
      await h.router.setHeaderRoute(TESTER_ROUTE);
      await h.router.reset();
      await settle();
      expectAll(await h.send(200), stable, 200);
      if (h.router.capabilities.headerRouting) expectAll(await h.send(50, { 'X-Canary': 'always' }), stable, 50);
      await h.router.reset();
      await settle();
      expectAll(await h.send(50), stable, 50);
    }, CASE_TIMEOUT_MS);

    it(`setWeights 0 / 25 / 100 gives the split (binomial ±4 sd over ${N} requests)`, async (ctx) => {
      if (!h.router.capabilities.weights) ctx.skip('router declares weights: false');
      await h.router.setWeights({ canary: 0 });
      await settle();
      expectAll(await h.send(200), stable, 200);

      await h.router.setWeights({ canary: 25 });
      await settle();
      const split = await h.send(N);
      expect(split).toHaveLength(N);
      expect(split.filter((r) => r.status >= 500)).toEqual([]);
      expect(split.every((r) => r.version === stable || r.version === canary)).toBe(true);
      expectBinomial(countCanary(split), N, 0.25, 'weight 25');

      await h.router.setWeights({ canary: 100 });
      await settle();
      expectAll(await h.send(200), canary, 200);
    }, CASE_TIMEOUT_MS);

    it('setWeights, setBackends, setHeaderRoute and reset are idempotent', async () => {
      await h.router.setBackends(h.backends);
      await h.router.setBackends(h.backends);
      await h.router.setWeights({ canary: 25 });
      await h.router.setWeights({ canary: 25 });
      await settle();
      const first = h.router.capabilities.verify ? await h.router.verify() : null;
      await h.router.setWeights({ canary: 25 });
      await settle();
      if (h.router.capabilities.verify) expect(await h.router.verify()).toEqual(first);
      const n = Math.max(400, Math.floor(N / 2));
      expectBinomial(countCanary(await h.send(n)), n, 0.25, 'weight 25 set three times');

      if (h.router.capabilities.headerRouting) {
        await h.router.setHeaderRoute(TESTER_ROUTE);
        await h.router.setHeaderRoute(TESTER_ROUTE);
        await h.router.setHeaderRoute(null);
        await h.router.setHeaderRoute(null);
      }
      await h.router.reset();
      await h.router.reset();
      await settle();
      expectAll(await h.send(100), stable, 100);
    }, CASE_TIMEOUT_MS);

    it('a header route sends matching requests to the canary at weight 0; null removes it', async (ctx) => {
      if (!h.router.capabilities.headerRouting) ctx.skip('router declares headerRouting: false');
      await h.router.setWeights({ canary: 0 });
      await h.router.setHeaderRoute(TESTER_ROUTE);
      await settle();
      expectAll(await h.send(50, { 'X-Canary': 'always' }), canary, 50);
      expectAll(await h.send(50), stable, 50);
      expectAll(await h.send(50, { 'X-Canary': 'sometimes' }), stable, 50);

      // Cookie matches and AND semantics.
      await h.router.setHeaderRoute({
        name: 'beta-cookie',
        match: [
          { headerName: 'cookie:group', exact: 'beta' },
          { headerName: 'X-Client', prefix: 'web-' },
        ],
      });
      await settle();
      expectAll(await h.send(30, { Cookie: 'theme=dark; group=beta', 'X-Client': 'web-7' }), canary, 30);
      expectAll(await h.send(30, { Cookie: 'group=beta', 'X-Client': 'ios-7' }), stable, 30);
      expectAll(await h.send(30, { Cookie: 'group=alpha', 'X-Client': 'web-7' }), stable, 30);
      expectAll(await h.send(30, { 'X-Client': 'web-7' }), stable, 30);

      await h.router.setHeaderRoute(null);
      await settle();
      expectAll(await h.send(50, { Cookie: 'group=beta', 'X-Client': 'web-7' }), stable, 50);
    }, CASE_TIMEOUT_MS);

    it('verify() reads back what was set, or is null exactly when capabilities.verify is false', async () => {
      const caps = h.router.capabilities;
      if (!caps.verify) {
        expect(await h.router.verify()).toBeNull();
        await h.router.setWeights({ canary: 10 });
        expect(await h.router.verify()).toBeNull();
        return;
      }
      expect(await h.router.verify()).toEqual({ canaryWeight: 0, stableVersion: stable, canaryVersion: canary, headerRoute: null });
      await h.router.setWeights({ canary: 12.5 });
      if (caps.headerRouting) await h.router.setHeaderRoute(TESTER_ROUTE);
      await settle();
      expect(await h.router.verify()).toEqual({
        canaryWeight: 12.5,
        stableVersion: stable,
        canaryVersion: canary,
        headerRoute: caps.headerRouting ? TESTER_ROUTE.name : null,
      });
      await h.router.setBackends({ stable: h.backends.stable, canary: null });
      await settle();
      expect((await h.router.verify())?.canaryVersion).toBeNull();
      await h.router.reset();
      await settle();
      expect(await h.router.verify()).toEqual({ canaryWeight: 0, stableVersion: stable, canaryVersion: null, headerRoute: null });
    }, CASE_TIMEOUT_MS);

    it('setBackends with canary null sends everything to stable, whatever the weight', async () => {
      await h.router.setWeights({ canary: 100 });
      if (h.router.capabilities.headerRouting) await h.router.setHeaderRoute(TESTER_ROUTE);
      await h.router.setBackends({ stable: h.backends.stable, canary: null });
      await settle();
      expectAll(await h.send(100), stable, 100);
      if (h.router.capabilities.headerRouting) expectAll(await h.send(30, { 'X-Canary': 'always' }), stable, 30);
      // Putting the canary back restores the split that was set.
      await h.router.setBackends(h.backends);
      await settle();
      expectAll(await h.send(50), canary, 50);
    }, CASE_TIMEOUT_MS);
  });
}
