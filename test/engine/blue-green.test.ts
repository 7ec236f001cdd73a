/** Blue-green on real processes: preview, pre-promotion analysis, automatic switch, old version retired. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, startLoad, type EngineHarness } from './helpers.js';

let harness: EngineHarness;
let load: ReturnType<typeof startLoad> | null = null;

beforeAll(async () => {
  harness = await startHarness();
  await harness.create({
    kind: 'AnalysisTemplate',
    name: 'healthy',
    spec: { metrics: [{ name: 'error-rate', provider: { builtin: { metric: 'errorRate' } }, interval: '1s', count: 2, successCondition: 'canary.errorRate <= 0.02', noDataPolicy: 'pass' }] },
  });
  await harness.create({
    kind: 'RolloutStrategy',
    name: 'bg',
    spec: { blueGreen: { autoPromotionEnabled: true, autoPromotionSeconds: 1, prePromotionAnalysis: { templates: ['healthy'] }, scaleDownDelaySeconds: 1 } },
  });
  await harness.create({
    kind: 'Service',
    name: 'bluegreen',
    spec: {
      owner: 'team',
      tier: 'standard',
      strategy: 'bg',
      target: { type: 'process', command: 'node examples/demo-app/server.js', healthCheck: { path: '/healthz', intervalSeconds: 1 } },
      router: { type: 'embedded', listen: '127.0.0.1:0' },
    },
  });
}, 30_000);

afterAll(async () => {
  await load?.stop();
  await harness?.close();
});

describe('engine: blue-green on real processes', () => {
  it('switches all traffic to the new version after pre-promotion analysis and retires the old one', async () => {
    await harness.deploy('bg-v1', 'bluegreen', '1.0.0');
    expect((await harness.waitFor('bg-v1', ['Healthy', 'Aborted', 'Degraded'])).phase).toBe('Healthy');
    load = startLoad(await harness.routerAddress('bluegreen'), 2);

    await harness.deploy('bg-v2', 'bluegreen', '2.0.0');
    const status = await harness.waitFor('bg-v2', ['Healthy', 'Aborted', 'Degraded'], 60_000);
    expect(status.phase, status.message).toBe('Healthy');
    expect(status.strategy).toBe('blueGreen');
    expect(status.analysisRuns.some((run) => run.phase === 'Successful')).toBe(true);
    const runtime = (await harness.engine.runtimes.peek('bluegreen'))!;
    expect(await runtime.router.verify()).toMatchObject({ stableVersion: '2.0.0', canaryWeight: 0 });

    // The old version is retired after scaleDownDelaySeconds.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (await runtime.target.observe()).some((version) => version.version === '1.0.0')) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect((await runtime.target.observe()).map((version) => version.version)).toEqual(['2.0.0']);
    expect(load.counts.failed).toBe(0);
  }, 90_000);
});
