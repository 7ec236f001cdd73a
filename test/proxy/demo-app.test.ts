/** examples/demo-app/server.js: the service the router tests and the demo run behind the proxy. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { request, sendMany, spawnDemo, type DemoProcess } from './helpers.js';

const started: DemoProcess[] = [];
async function demo(version: string, env: Record<string, string> = {}) {
  const d = await spawnDemo(version, env);
  started.push(d);
  return d;
}

describe('demo-app', () => {
  afterEach(async () => {
    await Promise.all(started.splice(0).map((d) => d.stop()));
  });

  it('serves {service, version} with X-Demo-Version, and /healthz', async () => {
    const d = await demo('4.2.0', { SERVICE: 'shop' });
    const reply = await request(d.port, { path: '/anything?x=1' });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ service: 'shop', version: '4.2.0', path: '/anything' });
    expect(reply.headers['x-demo-version']).toBe('4.2.0');
    expect((await request(d.port, { path: '/healthz' })).status).toBe(200);
    const echo = await request(d.port, { method: 'POST', path: '/echo', body: 'ping' });
    expect(echo.body).toBe('ping');
  });

  it('ERROR_RATE with SEED gives the same deterministic error sequence in every process', async () => {
    const [a, b] = await Promise.all([demo('1', { ERROR_RATE: '0.3', SEED: '42' }), demo('1', { ERROR_RATE: '0.3', SEED: '42' })]);
    const seq = async (port: number) => (await sendMany(port, 200, { concurrency: 1 })).map((r) => r.status);
    const [sa, sb] = await Promise.all([seq(a.port), seq(b.port)]);
    expect(sa).toEqual(sb);
    const errors = sa.filter((s) => s === 500).length;
    expect(errors).toBeGreaterThan(30); // 60 expected; ±4 sd ≈ ±26
    expect(errors).toBeLessThan(90);
    expect((await request(a.port, { path: '/healthz' })).status).toBe(200); // health is never failed on purpose
  });

  it('LATENCY_MS delays responses; UNHEALTHY=1 fails /healthz', async () => {
    const d = await demo('1', { LATENCY_MS: '80', LATENCY_JITTER_MS: '20', UNHEALTHY: '1' });
    const t0 = Date.now();
    expect((await request(d.port)).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(75);
    expect((await request(d.port, { path: '/healthz' })).status).toBe(503);
  });

  it('SIGTERM lets a request in flight finish, then exits 0', async () => {
    const d = await demo('1', { LATENCY_MS: '300' });
    const inFlight = request(d.port);
    await new Promise((r) => setTimeout(r, 50));
    const exited = new Promise<number | null>((r) => d.child.once('exit', (code) => r(code)));
    d.child.kill('SIGTERM');
    expect((await inFlight).status).toBe(200);
    expect(await exited).toBe(0);
  });

  it('rejects invalid settings with exit code 2', () => {
    const script = path.resolve(import.meta.dirname, '../../examples/demo-app/server.js');
    const run = spawnSync(process.execPath, [script], { env: { PATH: process.env.PATH ?? '', PORT: '0', ERROR_RATE: '2' }, encoding: 'utf8', timeout: 10_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/ERROR_RATE must be a number in 0..1/);
  });
});
