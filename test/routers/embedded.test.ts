import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedRouter } from '../../src/adapters/routers/embedded.js';
import { describeTrafficRouterContract } from '../contract/traffic-router-contract.js';
import { HOST, request, sendMany, spawnDemo, startUpstream, waitFor, type DemoProcess, type Upstream } from '../proxy/helpers.js';

describeTrafficRouterContract('embedded router, demo-app processes', async () => {
  const demos: DemoProcess[] = await Promise.all([spawnDemo('1.0.0'), spawnDemo('1.0.0'), spawnDemo('1.1.0')]);
  const router = new EmbeddedRouter({ service: 'demo', listen: { host: HOST, port: 0 } });
  const { port } = await router.start();
  return {
    router,
    backends: {
      stable: { version: '1.0.0', endpoints: [demos[0]!.endpoint, demos[1]!.endpoint] },
      canary: { version: '1.1.0', endpoints: [demos[2]!.endpoint] },
    },
    send: async (n, headers) =>
      (await sendMany(port, n, { headers, concurrency: 16 })).map((r) => ({ version: String(r.headers['x-demo-version']), status: r.status })),
    teardown: async () => {
      await router.close();
      await Promise.all(demos.map((d) => d.stop()));
    },
  };
});

describe('EmbeddedRouter specifics', () => {
  let stable: Upstream;
  let canary: Upstream;
  beforeAll(async () => {
    [stable, canary] = await Promise.all([startUpstream('2.0.0'), startUpstream('2.1.0')]);
  });
  afterAll(async () => {
    await Promise.all([stable.close(), canary.close()]);
  });

  it('copies and freezes its config, declares every capability', async () => {
    const listen = { host: HOST, port: 0 };
    const config = { service: 'svc', listen, sticky: true };
    const router = new EmbeddedRouter(config);
    listen.port = 1;
    config.service = 'other';
    expect(router.config.service).toBe('svc');
    expect(router.config.listen.port).toBe(0);
    expect(Object.isFrozen(router.config)).toBe(true);
    expect(Object.isFrozen(router.config.listen)).toBe(true);
    expect(router.capabilities).toEqual({ weights: true, headerRouting: true, sticky: true, verify: true });
    await router.close();
  });

  it('starts on first use, rejects invalid input without changing state, refuses calls once closed', async () => {
    const router = new EmbeddedRouter({ service: 'svc', listen: { host: HOST, port: 0 } });
    expect(router.address()).toBeNull();
    await router.setBackends({ stable: { version: '2.0.0', endpoints: [stable.endpoint] }, canary: { version: '2.1.0', endpoints: [canary.endpoint] } });
    const address = router.address();
    expect(address?.host).toBe(HOST);
    await router.setWeights({ canary: 30 });
    await expect(router.setWeights({ canary: 101 })).rejects.toThrow(RangeError);
    await expect(router.setWeights({ canary: Number.NaN })).rejects.toThrow(RangeError);
    await expect(router.setBackends({ stable: { version: '', endpoints: [] }, canary: null })).rejects.toThrow(TypeError);
    await expect(router.setBackends({ stable: { version: 'x', endpoints: ['nohost'] }, canary: null })).rejects.toThrow(/host:port/);
    await expect(router.setHeaderRoute({ name: 'bad', match: [{ headerName: 'x', regex: '(' }] })).rejects.toThrow(/regular expression/);
    await expect(router.setHeaderRoute({ name: 'empty', match: [] })).rejects.toThrow(/at least one/);
    expect(await router.verify()).toEqual({ canaryWeight: 30, stableVersion: '2.0.0', canaryVersion: '2.1.0', headerRoute: null });

    const replies = await sendMany(address!.port, 20);
    expect(replies.every((r) => r.status === 200)).toBe(true);
    const served = () => (router.stats.total('2.0.0')?.requests ?? 0) + (router.stats.total('2.1.0')?.requests ?? 0);
    await waitFor(() => served() >= 20);
    expect(served()).toBe(20);
    expect(router.renderPrometheus()).toContain('rollgate_proxy_requests_total{service="svc",version="2.0.0",arm="stable",code_class="2xx"}');

    await router.close();
    await router.close();
    expect(router.address()).toBeNull();
    await expect(router.setWeights({ canary: 0 })).rejects.toThrow(/closed/);
    await expect(router.verify()).rejects.toThrow(/closed/);
    await expect(request(address!.port, { timeoutMs: 2000 })).rejects.toThrow();
  });
});
