/**
 * The three judges in real rollouts: real demo-app processes behind the embedded router, builtin
 * metrics, SQLite. The sequential judge stops a bad canary from its e-values (kept across steps)
 * and promotes a good one; the Kayenta-style judge fails a bad canary on its score.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisRunStatus } from '../../src/core/analysis/types.js';
import { startHarness, startLoad, type EngineHarness } from './helpers.js';

let harness: EngineHarness;
let load: ReturnType<typeof startLoad> | null = null;

const service = (name: string, strategy: string) => ({
  kind: 'Service' as const,
  name,
  spec: {
    owner: 'team',
    tier: 'standard',
    strategy,
    target: { type: 'process', command: 'node examples/demo-app/server.js', env: { SERVICE: name, LATENCY_MS: '2', LATENCY_JITTER_MS: '4' }, healthCheck: { path: '/healthz', intervalSeconds: 1 } },
    router: { type: 'embedded', listen: '127.0.0.1:0' },
  },
});

const steps = (template: string) => [{ setWeight: 20 }, { analysis: { templates: [template] } }, { setWeight: 50 }, { analysis: { templates: [template] } }];

beforeAll(async () => {
  harness = await startHarness();
  await harness.create({
    kind: 'AnalysisTemplate',
    name: 'sequential',
    spec: {
      judge: { sequential: { alpha: 0.05, tolerance: 0.5, horizon: '3s', edgeSamples: 100 } },
      metrics: [
        { name: 'errors', provider: { builtin: { metric: 'errorRate' } }, interval: '1s' },
        { name: 'latency', provider: { builtin: { metric: 'latency' } }, interval: '1s' },
      ],
    },
  });
  await harness.create({
    kind: 'AnalysisTemplate',
    name: 'kayenta',
    spec: {
      judge: { mannWhitney: { confidence: 0.98, tolerance: 0.25, direction: 'increase' } },
      metrics: [{ name: 'errors', provider: { builtin: { metric: 'errorRate' } }, interval: '1s', count: 5, critical: true }],
    },
  });
  await harness.create({ kind: 'RolloutStrategy', name: 'seq', spec: { canary: { steps: steps('sequential'), scaleDownDelaySeconds: 1 } } });
  await harness.create({ kind: 'RolloutStrategy', name: 'mw', spec: { canary: { steps: steps('kayenta'), scaleDownDelaySeconds: 1 } } });
  await harness.create(service('seqshop', 'seq'));
  await harness.create(service('mwshop', 'mw'));
}, 30_000);

afterAll(async () => {
  await load?.stop();
  await harness?.close();
});

const testsOf = (run: AnalysisRunStatus, metric: string) => {
  const state = run.metrics.find((m) => m.name === metric)!;
  return state.measurements.at(-1)!.details as { verdict: string; tests: Array<{ name: string; verdict: string; eValue: number; threshold: number; effect: { estimate: number; lower: number; upper: number } }> };
};

describe('engine: the sequential judge in real rollouts', () => {
  it('promotes a healthy canary, with evidence stored per measurement and kept across steps', async () => {
    await harness.deploy('seqshop-v1', 'seqshop', '1.0.0');
    expect((await harness.waitFor('seqshop-v1', ['Healthy', 'Aborted', 'Degraded'])).phase).toBe('Healthy');
    load = startLoad(await harness.routerAddress('seqshop'), 4);
    await harness.deploy('seqshop-v2', 'seqshop', '2.0.0');
    const status = await harness.waitFor('seqshop-v2', ['Healthy', 'Aborted', 'Degraded']);
    expect(status.phase, status.message).toBe('Healthy');
    const [first, second] = status.analysisRuns;
    expect(first!.phase).toBe('Successful');
    expect(second!.phase).toBe('Successful');
    const evidence = testsOf(second!, 'latency');
    expect(evidence.tests.map((t) => t.name)).toContain('latency.shift');
    expect(evidence.tests.every((t) => t.verdict !== 'fail')).toBe(true);
    // The second step continued the first step's e-process: it has seen more requests than its own windows.
    const seen = (run: AnalysisRunStatus) => (run.metrics.find((m) => m.name === 'errors')!.measurements.at(-1)!.details as { tests: Array<{ samples: { canary: { requests: number } } }> }).tests[0]!.samples.canary.requests;
    const ownRequests = second!.metrics.find((m) => m.name === 'errors')!.measurements.reduce((sum, m) => sum + (m.inputs.canary?.requests ?? 0), 0);
    expect(seen(second!)).toBeGreaterThan(ownRequests);
    await load.stop();
    load = null;
  }, 90_000);

  it('aborts a canary with a higher error rate, from the e-value, and says why', async () => {
    load = startLoad(await harness.routerAddress('seqshop'), 4);
    await harness.deploy('seqshop-v3', 'seqshop', '3.0.0', { ERROR_RATE: '0.2' });
    const status = await harness.waitFor('seqshop-v3', ['Healthy', 'Aborted', 'Degraded']);
    expect(status.phase).toBe('Aborted');
    expect(status.abort?.reason).toBe('AnalysisFailed');
    expect(status.abort?.message).toMatch(/errors/);
    const errors = testsOf(status.analysisRuns.at(-1)!, 'errors');
    expect(errors.verdict).toBe('fail');
    const test = errors.tests.find((t) => t.name === 'errors')!;
    expect(test.eValue).toBeGreaterThanOrEqual(test.threshold);
    expect(test.effect.lower).toBeGreaterThan(1);
    await load.stop();
    load = null;
  }, 90_000);
});

describe('engine: the Kayenta-style judge in real rollouts', () => {
  it('fails a canary whose error rate is higher on its score, and promotes a healthy one', async () => {
    await harness.deploy('mwshop-v1', 'mwshop', '1.0.0');
    expect((await harness.waitFor('mwshop-v1', ['Healthy', 'Aborted', 'Degraded'])).phase).toBe('Healthy');
    load = startLoad(await harness.routerAddress('mwshop'), 4);
    await harness.deploy('mwshop-v2', 'mwshop', '2.0.0', { ERROR_RATE: '0.3' });
    const bad = await harness.waitFor('mwshop-v2', ['Healthy', 'Aborted', 'Degraded']);
    expect(bad.phase).toBe('Aborted');
    const run = bad.analysisRuns.at(-1)!;
    expect(run.scores?.at(-1)?.score).toBe(0);
    expect(run.message).toMatch(/score 0/);

    await harness.deploy('mwshop-v3', 'mwshop', '3.0.0');
    const good = await harness.waitFor('mwshop-v3', ['Healthy', 'Aborted', 'Degraded']);
    expect(good.phase, good.message).toBe('Healthy');
    expect(good.analysisRuns.every((r) => r.scores?.at(-1)?.outcome === 'Pass')).toBe(true);
  }, 120_000);
});
