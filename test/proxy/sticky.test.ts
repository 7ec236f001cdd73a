import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxy, type EmbeddedProxy } from '../../src/proxy/index.js';
import { HOST, request, startUpstream, type Upstream } from './helpers.js';

describe('sticky sessions', () => {
  let stable: Upstream;
  let canary: Upstream;
  let proxy: EmbeddedProxy;
  let port: number;
  const backends = () => ({ stable: { version: '6.0.0', endpoints: [stable.endpoint] }, canary: { version: '6.1.0', endpoints: [canary.endpoint] } });
  const cookieOf = (setCookie: string[] | undefined) => setCookie?.find((c) => c.startsWith('rollgate_version='))?.split(';')[0];

  beforeAll(async () => {
    [stable, canary] = await Promise.all([startUpstream('6.0.0'), startUpstream('6.1.0')]);
    proxy = createProxy({ listen: { host: HOST, port: 0 }, sticky: true });
    ({ port } = await proxy.start());
  });
  afterAll(async () => {
    await proxy.stop();
    await Promise.all([stable.close(), canary.close()]);
  });

  it('sets the cookie on the first response and honours it afterwards', async () => {
    proxy.setBackends(backends());
    proxy.setWeights({ canary: 50 });
    const seen = new Set<string>();
    for (let client = 0; client < 20; client++) {
      const first = await request(port);
      const cookie = cookieOf(first.headers['set-cookie']);
      expect(cookie).toMatch(/^rollgate_version=(stable|canary)$/);
      expect(first.headers['set-cookie']![0]).toMatch(/Path=\/; HttpOnly; SameSite=Lax/);
      const version = first.headers['x-rollgate-version'] as string;
      expect(cookie).toBe(version === '6.1.0' ? 'rollgate_version=canary' : 'rollgate_version=stable');
      seen.add(version);
      for (let i = 0; i < 10; i++) {
        const next = await request(port, { headers: { cookie: `other=1; ${cookie}` } });
        expect(next.headers['x-rollgate-version']).toBe(version);
        expect(next.headers['set-cookie']).toBeUndefined();
      }
    }
    // 20 clients at 50%: both arms seen except with probability 2^-19.
    expect(seen).toEqual(new Set(['6.0.0', '6.1.0']));
  });

  it('drops a canary cookie at weight 0 or without a canary, and a stable cookie at weight 100', async () => {
    proxy.setBackends(backends());
    proxy.setWeights({ canary: 0 });
    const atZero = await request(port, { headers: { cookie: 'rollgate_version=canary' } });
    expect(atZero.headers['x-rollgate-version']).toBe('6.0.0');
    expect(cookieOf(atZero.headers['set-cookie'])).toBe('rollgate_version=stable');

    proxy.setWeights({ canary: 50 });
    proxy.setBackends({ stable: backends().stable, canary: null });
    const noCanary = await request(port, { headers: { cookie: 'rollgate_version=canary' } });
    expect(noCanary.headers['x-rollgate-version']).toBe('6.0.0');

    proxy.setBackends(backends());
    proxy.setWeights({ canary: 100 });
    const atFull = await request(port, { headers: { cookie: 'rollgate_version=stable' } });
    expect(atFull.headers['x-rollgate-version']).toBe('6.1.0');
    expect(cookieOf(atFull.headers['set-cookie'])).toBe('rollgate_version=canary');

    const garbage = await request(port, { headers: { cookie: 'rollgate_version=blue' } });
    expect(cookieOf(garbage.headers['set-cookie'])).toBe('rollgate_version=canary');
  });

  it('a header route wins over a stable cookie; the route sets no cookie', async () => {
    proxy.setBackends(backends());
    proxy.setWeights({ canary: 10 });
    proxy.setHeaderRoute({ name: 'qa', match: [{ headerName: 'x-qa', exact: '1' }] });
    const reply = await request(port, { headers: { cookie: 'rollgate_version=stable', 'x-qa': '1' } });
    expect(reply.headers['x-rollgate-version']).toBe('6.1.0');
    expect(reply.headers['set-cookie']).toBeUndefined();
    proxy.setHeaderRoute(null);
  });

  it('without sticky mode no cookie is set', async () => {
    const plain = createProxy({ listen: { host: HOST, port: 0 } });
    const { port: p } = await plain.start();
    plain.setBackends(backends());
    plain.setWeights({ canary: 50 });
    for (let i = 0; i < 10; i++) expect((await request(p)).headers['set-cookie']).toBeUndefined();
    await plain.stop();
  });
});
