import { describe, expect, it } from 'vitest';
import { sequentialJudge } from '../../../../src/core/analysis/sequential/judge.js';
import { countTestEvidence, createCountTest, DELTA_GRID, updateCountTest } from '../../../../src/core/analysis/sequential/counts.js';
import type { JsonValue } from '../../../../src/core/analysis/types.js';
import { countSample, errorMetric, poisson, prng, sequentialConfig } from './sim.js';

type Effect = { estimate: number; lower: number; upper: number | null };

interface Scenario {
  windows: number;
  /** Total requests per window before the diurnal swing. */
  load: number;
  share: (w: number) => number;
  canaryRate: (w: number) => number;
  baselineRate: (w: number) => number;
  alpha?: number;
  /** Keep monitoring after a `pass` conclusion (measures "ever alarms" of the e-process itself). */
  ignorePass?: boolean;
}

/** One simulated analysis: Poisson requests with a diurnal swing, Poisson errors given the requests. */
function simulate(seed: number, s: Scenario): { window: number; conclusion: 'Successful' | 'Failed' | null; details: { [key: string]: JsonValue } | null } {
  const random = prng(seed);
  const config = sequentialConfig({ alpha: s.alpha ?? 0.05 });
  let state: JsonValue = null;
  let details: { [key: string]: JsonValue } | null = null;
  for (let w = 0; w < s.windows; w++) {
    const load = s.load * (1 + 0.5 * Math.sin((2 * Math.PI * w) / 100));
    const rho = s.share(w);
    const nc = poisson(random, load * rho);
    const nb = poisson(random, load * (1 - rho));
    const xc = poisson(random, nc * s.canaryRate(w));
    const xb = poisson(random, nb * s.baselineRate(w));
    const verdict = sequentialJudge.judge({ metric: errorMetric, baseline: countSample(nb, xb), canary: countSample(nc, xc), state, config });
    expect(verdict.phase).not.toBe('Error');
    state = verdict.state ?? state;
    details = verdict.details;
    if (verdict.conclusion === 'Failed' || (verdict.conclusion === 'Successful' && !s.ignorePass)) return { window: w, conclusion: verdict.conclusion, details };
  }
  return { window: s.windows, conclusion: null, details };
}

const steppedShare = (w: number): number => (w < 100 ? 0.1 : w < 200 ? 0.25 : 0.5);
const incident = (w: number): number => (w >= 150 && w < 160 ? 20 : 1);
const errorsEffect = (details: { [key: string]: JsonValue } | null): Effect => {
  const tests = details?.['tests'] as Array<{ name: string; effect: Effect }>;
  return tests.find((test) => test.name === 'errors')!.effect;
};

describe('sequential judge: error counts', () => {
  it('A/A: continuous monitoring of 500 runs × 300 windows alarms in at most α (+ Monte-Carlo margin)', () => {
    // Canary share 10% → 25% → 50%, diurnal load ±50%, a shared incident (both arms ×20) at 150–160.
    const runs = 500;
    let alarms = 0;
    for (let run = 0; run < runs; run++) {
      const result = simulate(1_000 + run, {
        windows: 300,
        load: 2000,
        share: steppedShare,
        canaryRate: (w) => 0.005 * incident(w),
        baselineRate: (w) => 0.005 * incident(w),
        ignorePass: true,
      });
      if (result.conclusion === 'Failed') alarms += 1;
    }
    expect(alarms / runs).toBeLessThanOrEqual(0.07);
  });

  it('power: 0.5% → 2.5% errors at a 10% share fails in ≥ 95% of 200 runs, and the interval holds the true ratio 5', () => {
    const runs = 200;
    let failed = 0;
    let covered = 0;
    for (let run = 0; run < runs; run++) {
      const result = simulate(5_000 + run, { windows: 30, load: 2000, share: () => 0.1, canaryRate: () => 0.025, baselineRate: () => 0.005 });
      if (result.conclusion !== 'Failed') continue;
      failed += 1;
      const effect = errorsEffect(result.details);
      if (effect.lower <= 5 && (effect.upper === null || effect.upper >= 5)) covered += 1;
      // The alarm and the interval agree: a failed canary's lower bound is at least 1.
      expect(effect.lower).toBeGreaterThanOrEqual(1);
    }
    expect(failed / runs).toBeGreaterThanOrEqual(0.95);
    expect(covered / failed).toBeGreaterThanOrEqual(0.95);
  });

  it('the tolerance is a margin: a canary 5% worse (inside tolerance 0.1) alarms in at most α of runs, one 3× worse always', () => {
    let alarms = 0;
    for (let run = 0; run < 200; run++) {
      const result = simulate(7_000 + run, { windows: 300, load: 2000, share: () => 0.25, canaryRate: () => 0.0105, baselineRate: () => 0.01, ignorePass: true });
      if (result.conclusion === 'Failed') alarms++;
    }
    expect(alarms / 200).toBeLessThanOrEqual(0.07);
    const margin = countTestEvidence(updateCountTest(createCountTest(), { canary: { requests: 1000, events: 30 }, baseline: { requests: 1000, events: 10 } }), 0.05, Math.log1p(0.1));
    const plain = countTestEvidence(updateCountTest(createCountTest(), { canary: { requests: 1000, events: 30 }, baseline: { requests: 1000, events: 10 } }), 0.05);
    expect(margin.logE).toBeLessThan(plain.logE);
    for (let run = 0; run < 50; run++) {
      expect(simulate(8_000 + run, { windows: 300, load: 2000, share: () => 0.25, canaryRate: () => 0.03, baselineRate: () => 0.01 }).conclusion).toBe('Failed');
    }
  });

  it('one-sided: a canary with fewer errors never fails', () => {
    for (let run = 0; run < 100; run++) {
      const result = simulate(9_000 + run, { windows: 200, load: 2000, share: steppedShare, canaryRate: () => 0.001, baselineRate: () => 0.005, ignorePass: true });
      expect(result.conclusion).not.toBe('Failed');
    }
  });

  it('passes equal arms with plenty of data once the ratio interval is within 1 + tolerance', () => {
    const result = simulate(42, { windows: 200, load: 20_000, share: () => 0.5, canaryRate: () => 0.05, baselineRate: () => 0.05 });
    expect(result.conclusion).toBe('Successful');
    const effect = errorsEffect(result.details);
    expect(effect.upper).not.toBeNull();
    expect(effect.upper!).toBeLessThanOrEqual(1.1);
    expect(effect.lower).toBeLessThanOrEqual(1);
  });
});

describe('count test building blocks', () => {
  it('the grid spans ratios 1/8..16 with δ = 0 on it', () => {
    expect(DELTA_GRID.length).toBeGreaterThanOrEqual(60);
    expect(DELTA_GRID.length).toBeLessThanOrEqual(100);
    expect(Math.exp(DELTA_GRID[0]!)).toBeLessThanOrEqual(1 / 8);
    expect(Math.exp(DELTA_GRID[DELTA_GRID.length - 1]!)).toBeGreaterThanOrEqual(16);
    expect(DELTA_GRID).toContain(0);
  });

  it('no events: e = 1 and an unbounded interval', () => {
    const evidence = countTestEvidence(updateCountTest(createCountTest(), { canary: { requests: 100, events: 0 }, baseline: { requests: 900, events: 0 } }), 0.05);
    expect(evidence.logE).toBeCloseTo(0, 12);
    expect(evidence).toMatchObject({ estimate: 1, lower: 0, upper: null });
  });

  it('events exactly at the canary share: estimate ≈ 1 and an interval around it', () => {
    let state = createCountTest();
    for (let i = 0; i < 50; i++) state = updateCountTest(state, { canary: { requests: 1000, events: 100 }, baseline: { requests: 1000, events: 100 } });
    const evidence = countTestEvidence(state, 0.05);
    expect(evidence.estimate).toBe(1);
    expect(evidence.lower).toBeGreaterThan(0.85);
    expect(evidence.upper!).toBeLessThan(1.15);
    expect(evidence.logE).toBeLessThan(0);
  });

  it('is pure: the input state is not modified', () => {
    const state = createCountTest();
    const before = JSON.stringify(state);
    updateCountTest(state, { canary: { requests: 10, events: 5 }, baseline: { requests: 10, events: 0 } });
    expect(JSON.stringify(state)).toBe(before);
  });
});
