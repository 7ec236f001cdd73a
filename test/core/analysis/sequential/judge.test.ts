import { describe, expect, it } from 'vitest';
import { sequentialJudge, summarizeEvidence } from '../../../../src/core/analysis/sequential/judge.js';
import { checkAnalysisTemplate, judgeFor } from '../../../../src/core/analysis/judge.js';
import type { JsonValue, LatencyHistogram, MetricSpec } from '../../../../src/core/analysis/types.js';
import { countSample, errorMetric, latencyMetric, lognormalHistogram, poisson, prng, sequentialConfig } from './sim.js';

const prometheus = (fields: { query?: string; requests?: string; errors?: string; histogram?: string }): MetricSpec => ({
  name: 'm',
  provider: { prometheus: fields },
  noDataPolicy: 'pause',
});

describe('sequentialJudge.check', () => {
  const config = sequentialConfig();
  it.each([
    ['builtin errorRate', errorMetric],
    ['builtin latency', latencyMetric],
    ['prometheus requests + errors', prometheus({ requests: 'r', errors: 'e' })],
    ['prometheus histogram', prometheus({ histogram: 'h' })],
    ['prometheus counts and histogram', prometheus({ requests: 'r', errors: 'e', histogram: 'h' })],
  ])('accepts %s', (_, metric) => {
    expect(sequentialJudge.check(metric, config)).toEqual([]);
  });

  it('rejects builtin requestRate, naming what to use', () => {
    const problems = sequentialJudge.check({ ...errorMetric, provider: { builtin: { metric: 'requestRate' } } }, config);
    expect(problems).toEqual([{ field: 'provider', message: expect.stringMatching(/requestRate.*errorRate or latency.*threshold/) }]);
  });

  it('rejects a prometheus query alone, naming requests/errors/histogram', () => {
    const problems = sequentialJudge.check(prometheus({ query: 'q' }), config);
    expect(problems).toEqual([{ field: 'provider', message: expect.stringMatching(/prometheus\.requests and prometheus\.errors.*prometheus\.histogram/) }]);
  });

  it('rejects only one of requests/errors', () => {
    expect(sequentialJudge.check(prometheus({ requests: 'r' }), config)[0]?.message).toMatch(/both prometheus\.requests and prometheus\.errors/);
  });

  it('rejects success and failure conditions', () => {
    const problems = sequentialJudge.check({ ...errorMetric, successCondition: 'true', failureCondition: 'false' }, config);
    expect(problems.map((problem) => problem.field)).toEqual(['successCondition', 'failureCondition']);
    expect(problems[0]!.message).toMatch(/decides from the data.*remove the condition, or use judge threshold/);
  });

  it('is what checkAnalysisTemplate runs for a sequential template', () => {
    const problems = checkAnalysisTemplate({ judge: { sequential: { alpha: 0.05, tolerance: 0.1, quantiles: [0.99], edgeSamples: 500 } }, metrics: [{ ...errorMetric, successCondition: 'true' }] });
    expect(problems).toEqual([{ path: ['metrics', 0, 'successCondition'], message: expect.any(String) }]);
    expect(judgeFor(sequentialConfig())).toBe(sequentialJudge);
  });
});

describe('sequentialJudge.judge', () => {
  const config = sequentialConfig();
  const state: JsonValue = { opaque: true };

  it.each([
    ['canary', null, countSample(100, 1), /no data for the canary/],
    ['baseline', countSample(100, 1), null, /no data for the baseline/],
  ])('no %s sample: NoData, state unchanged', (_, canary, baseline, message) => {
    const verdict = sequentialJudge.judge({ metric: errorMetric, canary, baseline, state, config });
    expect(verdict).toMatchObject({ phase: 'NoData', message: expect.stringMatching(message), state });
    expect(verdict.conclusion).toBeUndefined();
  });

  it('latency metric without histograms: NoData naming the arm', () => {
    const histogram = lognormalHistogram(prng(1), 100, 0.1, 0.6);
    expect(sequentialJudge.judge({ metric: latencyMetric, canary: countSample(100, 0), baseline: countSample(100, 0, histogram), state, config })).toMatchObject({
      phase: 'NoData',
      message: 'no latency histogram for the canary in the window',
      state,
    });
    expect(sequentialJudge.judge({ metric: latencyMetric, canary: countSample(100, 0, null), baseline: countSample(100, 0, null), state, config }).message).toBe(
      'no latency histogram for the canary and baseline in the window',
    );
  });

  it('a malformed histogram or stored state is an Error, not a throw', () => {
    const bad: LatencyHistogram = { bounds: [0.1, 0.2], counts: [1, 2] };
    expect(sequentialJudge.judge({ metric: latencyMetric, canary: countSample(3, 0, bad), baseline: countSample(3, 0, bad), state: null, config }).phase).toBe('Error');
    expect(sequentialJudge.judge({ metric: errorMetric, canary: countSample(10, 0), baseline: countSample(10, 0), state: { version: 1, errors: [1, 2] }, config })).toMatchObject({
      phase: 'Error',
      message: expect.stringMatching(/stored sequential evidence/),
    });
  });

  it('first window: running, with the details shape the UI reads', () => {
    const verdict = sequentialJudge.judge({ metric: errorMetric, canary: countSample(100, 1), baseline: countSample(900, 4), state: null, config });
    expect(verdict.phase).toBe('Successful');
    expect(verdict.conclusion).toBeUndefined();
    expect(verdict.message).toMatch(/^running: no alarm yet \(errors e = [\d.]+ of 20 needed\)$/);
    expect(verdict.details).toEqual({
      verdict: 'running',
      alpha: 0.05,
      tolerance: 0.1,
      tests: [
        {
          name: 'errors',
          verdict: 'running',
          alpha: 0.05,
          eValue: expect.any(Number),
          threshold: 20,
          effect: { estimate: expect.any(Number), lower: 0, upper: null, unit: 'ratio' },
          samples: { canary: { requests: 100, events: 1 }, baseline: { requests: 900, events: 4 } },
        },
      ],
    });
  });

  it('latency: α split over shift + one test per quantile; exceedance tests wait for the edges', () => {
    const random = prng(3);
    const verdict = sequentialJudge.judge({
      metric: latencyMetric,
      canary: countSample(50, 0, lognormalHistogram(random, 50, 0.1, 0.6)),
      baseline: countSample(300, 0, lognormalHistogram(random, 300, 0.1, 0.6)),
      state: null,
      config: sequentialConfig({ alpha: 0.04, quantiles: [0.5, 0.999] }),
    });
    const tests = verdict.details?.['tests'] as Array<{ name: string; alpha: number; edgeSeconds?: number | null; samples: unknown }>;
    expect(tests.map((test) => test.name)).toEqual(['latency.shift', 'latency.p50', 'latency.p99.9']);
    expect(tests.map((test) => test.alpha)).toEqual([0.04 / 3, 0.04 / 3, 0.04 / 3].map((a) => Number(a.toPrecision(4))));
    expect(tests[1]).toMatchObject({ edgeSeconds: null, samples: { canary: { requests: 0, events: 0 }, baseline: { requests: 0, events: 0 } } });
    expect(verdict.message).toMatch(/quantile edges not fixed yet/);
  });

  it('fails with a readable message and summary', () => {
    const verdict = sequentialJudge.judge({ metric: errorMetric, canary: countSample(1000, 40), baseline: countSample(9000, 90), state: null, config: sequentialConfig({ alpha: 0.005 }) });
    expect(verdict).toMatchObject({ phase: 'Failed', conclusion: 'Failed' });
    expect(verdict.message).toMatch(/^errors: canary worse, e = [\d,.e]+ ≥ 200 \(α 0\.005\); rate ratio 4\.\d+ \[[\d.]+, [\d.]+\] after 40 of 1,000 canary requests failed \(baseline 90 of 9,000\)$/);
    expect(summarizeEvidence(verdict.details)).toMatch(/^fail — errors: e=[\d,.e]+ ≥ 200, ratio [\d.]+ \[[\d.]+, [\d.]+\]$/);
    expect(summarizeEvidence(null)).toBe('');
    expect(summarizeEvidence({ success: true })).toBe('');
  });

  it('state round-trips through JSON between calls with identical verdicts', () => {
    const random = prng(11);
    const windows = Array.from({ length: 30 }, () => {
      const nc = poisson(random, 300);
      const nb = poisson(random, 700);
      return {
        canary: countSample(nc, poisson(random, nc * 0.01), lognormalHistogram(random, nc, 0.1, 0.6, (x) => x * 1.05)),
        baseline: countSample(nb, poisson(random, nb * 0.01), lognormalHistogram(random, nb, 0.1, 0.6)),
      };
    });
    const metric = prometheus({ requests: 'r', errors: 'e', histogram: 'h' });
    let direct: JsonValue = null;
    let viaJson: JsonValue = null;
    for (const window of windows) {
      const a = sequentialJudge.judge({ metric, ...window, state: direct, config });
      const b = sequentialJudge.judge({ metric, ...window, state: viaJson, config });
      expect(b).toEqual(a);
      direct = a.state ?? null;
      viaJson = JSON.parse(JSON.stringify(b.state ?? null)) as JsonValue;
    }
    const tests = (sequentialJudge.judge({ metric, ...windows[0]!, state: viaJson, config }).details?.['tests'] as Array<{ name: string }>).map((test) => test.name);
    expect(tests).toEqual(['errors', 'latency.shift', 'latency.p50', 'latency.p90', 'latency.p99']);
  });

  it('does not throw on odd inputs', () => {
    const verdict = sequentialJudge.judge({ metric: errorMetric, canary: countSample(Number.NaN, 0), baseline: countSample(10, 0), state: null, config });
    expect(verdict).toMatchObject({ phase: 'NoData', message: 'canary.requests had no value in the window' });
    const zero = sequentialJudge.judge({ metric: errorMetric, canary: countSample(0, 0), baseline: countSample(0, 0), state: null, config });
    expect(zero.phase).toBe('Successful');
    expect(sequentialJudge.judge({ metric: errorMetric, canary: countSample(10, 0), baseline: countSample(10, 0), state: null, config: { kind: 'threshold' } }).phase).toBe('Error');
  });

  it('handles arms with different bucket layouts by testing at a bound both share', () => {
    const random = prng(5);
    const fine = lognormalHistogram(random, 2000, 0.1, 0.6);
    // A coarser layout: every second fine bound, counts summed pairwise.
    const coarseBounds = fine.bounds.filter((_, i) => i % 2 === 1);
    const coarseCounts = coarseBounds.map((_, k) => fine.counts[2 * k]! + fine.counts[2 * k + 1]!);
    coarseCounts.push(fine.counts.slice(2 * coarseBounds.length).reduce((a, b) => a + b, 0));
    const coarse = { bounds: coarseBounds, counts: coarseCounts };
    let state: JsonValue = null;
    let verdict = null;
    for (let w = 0; w < 3; w++) {
      verdict = sequentialJudge.judge({ metric: latencyMetric, canary: countSample(2000, 0, coarse), baseline: countSample(2000, 0, fine), state, config });
      state = verdict.state ?? state;
    }
    const tests = verdict?.details?.['tests'] as Array<{ name: string; verdict: string; samples: { canary: { events: number }; baseline: { events: number } } }>;
    const p90 = tests.find((test) => test.name === 'latency.p90')!;
    expect(p90.samples.canary.events).toBeGreaterThan(0);
    expect(p90.samples.canary.events).toBe(p90.samples.baseline.events);
    expect(tests.every((test) => test.verdict !== 'fail')).toBe(true);
  });

  it('costs O(1) per window: the state does not grow with the number of windows', () => {
    const random = prng(21);
    const metric = prometheus({ requests: 'r', errors: 'e', histogram: 'h' });
    let state: JsonValue = null;
    const leaves = (value: JsonValue): number => (Array.isArray(value) ? value.reduce<number>((n, v) => n + leaves(v), 0) : value !== null && typeof value === 'object' ? Object.values(value).reduce<number>((n, v) => n + leaves(v), 0) : 1);
    const sizes: number[] = [];
    for (let w = 1; w <= 1000; w++) {
      const canary = countSample(20, poisson(random, 0.2), lognormalHistogram(random, 20, 0.1, 0.6));
      const baseline = countSample(80, poisson(random, 0.8), lognormalHistogram(random, 80, 0.1, 0.6));
      const verdict = sequentialJudge.judge({ metric, canary, baseline, state, config: sequentialConfig({ alpha: 1e-9 }) });
      expect(verdict.conclusion).not.toBe('Failed');
      state = verdict.state ?? state;
      if (w === 20 || w === 1000) sizes.push(leaves(state));
    }
    expect(sizes[1]).toBe(sizes[0]);
    expect(JSON.stringify(state).length).toBeLessThan(12_000);
  });
});
