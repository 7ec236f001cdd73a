/**
 * Issue 6's NGINX integration test: a real NGINX (Debian binary, own prefix in tmp, loopback) in
 * front of two versions of examples/demo-app, a canary rollout through 5 / 25 / 50 / 100 % driven
 * by NginxRouter under continuous load, then an abort back to stable.
 *
 * Load: 16 clients, each a loop of GETs on a shared keep-alive agent (realisticGet: a request
 * whose REUSED connection the server closed before any response byte is sent once more, as real
 * HTTP clients do; every such retry is counted and reported, not hidden). A request fails when it
 * errors after that, times out, or gets anything but 200.
 *
 * Asserted: at each step, of the first STEP_REQUESTS requests sent after setWeights() returned,
 * the share answered by the canary (its own X-Demo-Version) is within ±3 percentage points of the
 * weight (exactly 0 % / 100 % at the ends); not one request failed over the whole run, including
 * those in flight while NGINX reloaded.
 */
import { expect, it } from 'vitest';
import { NginxRouter } from '../../src/adapters/routers/nginx.js';
import type { Backends } from '../../src/ports/traffic-router.js';
import { spawnDemo } from '../proxy/helpers.js';
import { describeWithNginx, startLoad, startNginx } from './nginx-helpers.js';

const STEPS = [5, 25, 50, 100];
const STEP_REQUESTS = 3000;
const TOLERANCE_PP = 3;

describeWithNginx('NGINX rollout under load (real nginx, demo-app)', (bin) => {
  it(`5 / 25 / 50 / 100 within ±${TOLERANCE_PP} pp, no failed request, abort → 100 % stable`, async () => {
    const demos = await Promise.all([spawnDemo('1.0.0'), spawnDemo('1.0.0'), spawnDemo('1.1.0'), spawnDemo('1.1.0')]);
    const backends: Backends = {
      stable: { version: '1.0.0', endpoints: [demos[0]!.endpoint, demos[1]!.endpoint] },
      canary: { version: '1.1.0', endpoints: [demos[2]!.endpoint, demos[3]!.endpoint] },
    };
    const nginx = await startNginx({ bin, upstream: 'demo', stable: backends.stable, workers: 4 });
    const router = new NginxRouter({
      includeFile: nginx.includeFile,
      upstream: 'demo',
      nginx: bin,
      configFile: nginx.configFile,
      prefix: `${nginx.dir}/`,
      pidFile: nginx.pidFile,
    });
    const load = startLoad(nginx.port, { concurrency: 16, maxRequests: 60_000 });
    const rows: Array<{ step: string; requests: number; canary: number; share: number; reloadMs: number; at: number }> = [];
    try {
      await router.setBackends(backends);
      const measure = async (step: string, weight: number) => {
        const before = performance.now();
        await router.setWeights({ canary: weight });
        if (weight === 0) await router.setHeaderRoute(null);
        const after = performance.now();
        const window = await load.waitForCompletedSince(after, STEP_REQUESTS);
        const canary = window.filter((r) => r.version === '1.1.0').length;
        rows.push({ step, requests: window.length, canary, share: (100 * canary) / window.length, reloadMs: after - before, at: before });
        return (100 * canary) / window.length;
      };

      expect(await measure('baseline 0', 0)).toBe(0);
      for (const weight of STEPS) {
        const share = await measure(`step ${weight}`, weight);
        if (weight === 100) expect(share).toBe(100);
        else expect(Math.abs(share - weight), `step ${weight}: ${share.toFixed(2)} % to the canary`).toBeLessThanOrEqual(TOLERANCE_PP);
      }
      expect(await measure('abort → 0', 0)).toBe(0);
    } finally {
      await load.stop();
      await router.close();
      const log = nginx.errorLog();
      await nginx.stop();
      await Promise.all(demos.map((d) => d.stop()));
      const failed = load.records.filter((r) => r.error !== null || r.status !== 200);
      const retried = load.records.filter((r) => r.retried).length;
      // The figures for the closing note.
      console.log(
        [
          `NGINX rollout (${load.records.length} requests, 16 keep-alive clients, 4 workers):`,
          ...rows.map((r) => `  ${r.step.padEnd(11)} ${r.canary}/${r.requests} to canary = ${r.share.toFixed(2)} %  (change at ${r.at.toFixed(1)} ms, applied and confirmed in ${r.reloadMs.toFixed(0)} ms)`),
          `  failed requests: ${failed.length}; sent again after a reused keep-alive connection was closed before any response: ${retried}`,
          ...failed.slice(0, 10).map((r) => `  failure at ${r.startedAt.toFixed(1)} ms: status ${r.status} ${r.error ?? ''}${r.reused ? ' (reused connection)' : ' (new connection)'}${r.retried ? ', after a retry' : ''}`),
        ].join('\n'),
      );
      if (failed.length > 0 || process.env.NGINX_TEST_PRINT_LOG) console.log(`nginx error log:\n${log}`);
      expect(failed).toEqual([]);
    }
  }, 180_000);
});
