/**
 * The engine end to end without HTTP: real demo-app processes, the embedded router, builtin
 * metrics and SQLite. A healthy version is promoted through every step; a bad one is stopped by
 * analysis and traffic goes back to stable by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDeploymentStatus } from '../../src/core/rollout/index.js';
import { auditChainOk, startHarness, startLoad, type EngineHarness } from './helpers.js';

let harness: EngineHarness;
let load: ReturnType<typeof startLoad> | null = null;

beforeAll(async () => {
  harness = await startHarness();
  await harness.create({
    kind: 'AnalysisTemplate',
    name: 'errors',
    spec: {
      metrics: [
        { name: 'error-rate', provider: { builtin: { metric: 'errorRate' } }, interval: '1s', count: 3, successCondition: 'canary.errorRate <= 0.02', failureLimit: 0, noDataPolicy: 'pause' },
      ],
    },
  });
  await harness.create({
    kind: 'RolloutStrategy',
    name: 'quick',
    spec: { canary: { steps: [{ setWeight: 20 }, { analysis: { templates: ['errors'] } }, { setWeight: 50 }, { pause: { duration: '1s' } }], scaleDownDelaySeconds: 1 } },
  });
  await harness.create({
    kind: 'Service',
    name: 'shop',
    spec: {
      owner: 'team',
      tier: 'standard',
      strategy: 'quick',
      target: { type: 'process', command: 'node examples/demo-app/server.js', env: { SERVICE: 'shop' }, healthCheck: { path: '/healthz', intervalSeconds: 1 } },
      router: { type: 'embedded', listen: '127.0.0.1:0' },
    },
  });
}, 30_000);

afterAll(async () => {
  await load?.stop();
  await harness?.close();
});

describe('engine: canary rollouts on real processes', () => {
  it('deploys the first version directly and records it as stable', async () => {
    await harness.deploy('shop-v1', 'shop', '1.0.0');
    const status = await harness.waitFor('shop-v1', ['Healthy', 'Aborted', 'Degraded']);
    expect(status.phase).toBe('Healthy');
    expect(status.strategy).toBe('direct');
    const service = await harness.store.read.objects.get('Service', 'shop');
    expect(service?.status).toMatchObject({ environments: { default: { stableVersion: '1.0.0', deployment: 'shop-v1' } } });
  }, 60_000);

  it('promotes a healthy canary through its steps with analysis, under load', async () => {
    load = startLoad(await harness.routerAddress('shop'), 4);
    await harness.deploy('shop-v2', 'shop', '2.0.0');
    const status = await harness.waitFor('shop-v2', ['Healthy', 'Aborted', 'Degraded']);
    expect(status.phase, status.message).toBe('Healthy');
    expect(status.stepIndex).toBe(status.stepCount);
    const run = status.analysisRuns[0]!;
    expect(run.phase).toBe('Successful');
    const types = status.history.map((event) => event.type);
    expect(types).toContain('TrafficShifted');
    expect(types).toContain('Promoted');
    expect(load.counts.byVersion.get('2.0.0') ?? 0).toBeGreaterThan(0);
    const router = await (await harness.engine.runtimes.peek('shop'))!.router.verify();
    expect(router).toMatchObject({ stableVersion: '2.0.0', canaryVersion: null, canaryWeight: 0 });
  }, 60_000);

  it('aborts a failing canary by itself and sends all traffic back to stable', async () => {
    await harness.deploy('shop-v3', 'shop', '3.0.0', { ERROR_RATE: '0.3' });
    const status = await harness.waitFor('shop-v3', ['Healthy', 'Aborted', 'Degraded']);
    expect(status.phase).toBe('Aborted');
    expect(status.abort?.reason).toBe('AnalysisFailed');
    expect(status.canaryWeight).toBe(0);
    const router = await (await harness.engine.runtimes.peek('shop'))!.router.verify();
    expect(router).toMatchObject({ stableVersion: '2.0.0', canaryWeight: 0 });
    const failed = status.analysisRuns[0]!.metrics[0]!;
    const lastMeasurement = failed.measurements.at(-1)!;
    expect(lastMeasurement.phase).toBe('Failed');
    expect(lastMeasurement.inputs.canary!.errorRate!).toBeGreaterThan(0.02);
    const service = await harness.store.read.objects.get('Service', 'shop');
    expect(service?.status).toMatchObject({ environments: { default: { stableVersion: '2.0.0' } } });
  }, 60_000);

  it('exposes the engine and the router in Prometheus format', async () => {
    const texts = await harness.engine.metrics();
    const merged = texts.join('');
    expect(merged).toMatch(/rollgate_engine_passes_total [1-9]/);
    expect(merged).toMatch(/rollgate_proxy_requests_total\{[^}]*version="2\.0\.0"/);
  });

  it('keeps a verifiable audit trail of every decision', async () => {
    expect(await auditChainOk(harness.store)).toBe(true);
    const events = await harness.store.read.audit.list({ kind: 'Deployment', name: 'shop-v3', limit: 1000 });
    expect(events.map((event) => event.action)).toContain('rollout.Aborted');
    const deployment = await harness.store.read.objects.get('Deployment', 'shop-v3');
    expect(readDeploymentStatus(deployment!.status).resolved?.canaryVersion).toBe('3.0.0');
  });
});
