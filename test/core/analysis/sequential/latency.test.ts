import { describe, expect, it } from 'vitest';
import { sequentialJudge } from '../../../../src/core/analysis/sequential/judge.js';
import { createShiftTest, shiftTestEvidence, updateShiftTest } from '../../../../src/core/analysis/sequential/shift.js';
import { FINE_LATENCY_BOUNDS, logMoments } from '../../../../src/core/analysis/histogram.js';
import type { JsonValue, LatencyHistogram } from '../../../../src/core/analysis/types.js';
import { countSample, latencyMetric, lognormalHistogram, poisson, prng, sequentialConfig } from './sim.js';

type TestDetails = { name: string; verdict: string; eValue: number; effect: { estimate: number; lower: number; upper: number | null }; edgeSeconds?: number | null };

const MEDIAN = 0.1;
const SIGMA = 0.6;
/** The baseline's p98 (lognormal, z = 2.0537). */
const P98 = MEDIAN * Math.exp(SIGMA * 2.0537);

interface LatencyScenario {
  windows: number;
  requests: number;
  share: (w: number) => number;
  canary?: (x: number) => number;
  ignorePass?: boolean;
}

function simulate(seed: number, s: LatencyScenario): { window: number; conclusion: 'Successful' | 'Failed' | null; tests: TestDetails[] } {
  const random = prng(seed);
  const config = sequentialConfig();
  let state: JsonValue = null;
  let tests: TestDetails[] = [];
  for (let w = 0; w < s.windows; w++) {
    const load = s.requests * (1 + 0.5 * Math.sin((2 * Math.PI * w) / 50));
    const nc = poisson(random, load * s.share(w));
    const nb = poisson(random, load * (1 - s.share(w)));
    const canary = lognormalHistogram(random, nc, MEDIAN, SIGMA, s.canary);
    const baseline = lognormalHistogram(random, nb, MEDIAN, SIGMA);
    const verdict = sequentialJudge.judge({ metric: latencyMetric, baseline: countSample(nb, 0, baseline), canary: countSample(nc, 0, canary), state, config });
    expect(verdict.phase).not.toBe('Error');
    state = verdict.state ?? state;
    tests = verdict.details?.['tests'] as TestDetails[];
    if (verdict.conclusion === 'Failed' || (verdict.conclusion === 'Successful' && !s.ignorePass)) return { window: w, conclusion: verdict.conclusion, tests };
  }
  return { window: s.windows, conclusion: null, tests };
}

const failing = (tests: TestDetails[]): string[] => tests.filter((test) => test.verdict === 'fail').map((test) => test.name);

describe('sequential judge: latency', () => {
  it('a ×1.5 slowdown of the whole distribution fails by the shift test', () => {
    for (let run = 0; run < 50; run++) {
      const result = simulate(200 + run, { windows: 20, requests: 400, share: () => 0.1, canary: (x) => x * 1.5 });
      expect(result.conclusion).toBe('Failed');
      expect(failing(result.tests)).toContain('latency.shift');
      const shift = result.tests.find((test) => test.name === 'latency.shift')!;
      // The alarm is the interval's lower bound passing 1.
      expect(shift.effect.lower).toBeGreaterThanOrEqual(1);
      expect(shift.effect.estimate).toBeGreaterThan(1.25);
    }
  });

  it('a ×1.5 slowdown of the tail above the baseline p98 fails by the p99 exceedance test', () => {
    const runs = 100;
    let byP99 = 0;
    for (let run = 0; run < runs; run++) {
      const result = simulate(300 + run, { windows: 100, requests: 1000, share: () => 0.5, canary: (x) => (x > P98 ? x * 1.5 : x) });
      const failed = failing(result.tests);
      if (result.conclusion === 'Failed' && failed.includes('latency.p99')) byP99 += 1;
      // The body of the distribution is unchanged: the median test never alarms.
      expect(failed).not.toContain('latency.p50');
    }
    expect(byP99 / runs).toBeGreaterThanOrEqual(0.9);
  });

  it('A/A: 300 runs with share changes and load swings alarm in at most α (+ margin)', () => {
    const runs = 300;
    let alarms = 0;
    for (let run = 0; run < runs; run++) {
      const result = simulate(100 + run, { windows: 40, requests: 400, share: (w) => (w < 20 ? 0.1 : 0.5), ignorePass: true });
      if (result.conclusion === 'Failed') alarms += 1;
    }
    expect(alarms / runs).toBeLessThanOrEqual(0.08);
  });

  it('one-sided: a faster canary (×0.7) never fails', () => {
    for (let run = 0; run < 50; run++) {
      const result = simulate(700 + run, { windows: 40, requests: 400, share: () => 0.3, canary: (x) => x * 0.7, ignorePass: true });
      expect(result.conclusion).not.toBe('Failed');
    }
  });

  it('passes identical arms with plenty of data: every test\'s upper bound within 1 + tolerance', () => {
    // Expected lognormal counts per bucket, identical in both arms: only the p99 test needs much data.
    const z = (x: number) => Math.log(x / MEDIAN) / SIGMA;
    const cdf = (x: number) => 0.5 * (1 + erf(z(x) / Math.SQRT2));
    const bounds = [...FINE_LATENCY_BOUNDS];
    const counts = bounds.map((bound, i) => Math.round(200_000 * (cdf(bound) - (i === 0 ? 0 : cdf(bounds[i - 1]!)))));
    counts.push(Math.round(200_000 * (1 - cdf(bounds[bounds.length - 1]!))));
    const histogram: LatencyHistogram = { bounds, counts };
    const total = counts.reduce((sum, count) => sum + count, 0);
    let state: JsonValue = null;
    let verdict = null;
    for (let w = 0; w < 50; w++) {
      verdict = sequentialJudge.judge({ metric: latencyMetric, baseline: countSample(total, 0, histogram), canary: countSample(total, 0, histogram), state, config: sequentialConfig() });
      state = verdict.state ?? state;
      if (verdict.conclusion) break;
    }
    expect(verdict?.conclusion).toBe('Successful');
    expect(verdict?.phase).toBe('Successful');
    for (const test of verdict?.details?.['tests'] as TestDetails[]) {
      expect(test.verdict).toBe('pass');
      expect(test.effect.upper).not.toBeNull();
      expect(test.effect.upper!).toBeLessThanOrEqual(1.1);
    }
    expect(verdict?.message).toMatch(/^pass: canary no worse than baseline \+10%/);
  });
});

describe('shift test building blocks', () => {
  it('e = 1 and an unbounded interval before any comparison', () => {
    expect(shiftTestEvidence(createShiftTest(), 0.05)).toEqual({ logE: 0, estimate: 1, lower: 0, upper: null });
  });

  it('estimates the geometric-mean ratio and covers it', () => {
    const random = prng(7);
    let state = createShiftTest();
    for (let w = 0; w < 20; w++) {
      state = updateShiftTest(state, logMoments(lognormalHistogram(random, 500, MEDIAN * 1.2, SIGMA)), logMoments(lognormalHistogram(random, 500, MEDIAN, SIGMA)));
    }
    const evidence = shiftTestEvidence(state, 0.05);
    expect(evidence.estimate).toBeGreaterThan(1.1);
    expect(evidence.estimate).toBeLessThan(1.3);
    expect(evidence.lower).toBeLessThan(1.2);
    expect(evidence.upper!).toBeGreaterThan(1.2);
    expect(evidence.logE).toBeGreaterThan(Math.log(20));
  });
});

/** erf via Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): enough to lay out expected bucket counts. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}
