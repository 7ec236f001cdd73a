/**
 * Smoke test of the detector benchmark (bench/analysis): a tiny configuration proves the harness
 * runs end to end, is deterministic, and that every detector sees a gross regression. Behaviour
 * only; no timing is asserted.
 */
import { describe, expect, it } from 'vitest';
import { measureCost } from '../../bench/analysis/cost.js';
import { familiesForScenario } from '../../bench/analysis/detectors/index.js';
import { mergeChunks, runChunk } from '../../bench/analysis/harness.js';
import { oracleErrorPower } from '../../bench/analysis/oracle.js';
import { summarize } from '../../bench/analysis/report.js';
import { Rng } from '../../bench/analysis/rng.js';
import { HORIZON_SECONDS, scenarioGrid, type Scenario } from '../../bench/analysis/scenarios.js';
import { prepareScenario, TrafficRun } from '../../bench/analysis/simulate.js';

const scenario = (partial: Partial<Scenario>): Scenario => ({
  id: 'smoke',
  group: 'regression',
  null: true,
  family: 'lognormal-0.6',
  change: 'none',
  errorBaseline: 0.001,
  errorCanary: 0.001,
  rps: 100,
  share: 0.1,
  diurnal: false,
  overdispersion: 'none',
  incident: false,
  tickSeconds: 10,
  runs: 3,
  horizonSeconds: HORIZON_SECONDS,
  bad: null,
  ...partial,
});

const alarmRate = (result: ReturnType<typeof runChunk>, variant: string): number => {
  const v = result.variants.find((x) => x.variant === variant);
  if (!v) throw new Error(`no variant ${variant}`);
  return v.alarmSec.filter((sec) => sec !== Infinity).length / v.alarmSec.length;
};

describe('detector benchmark (smoke)', () => {
  it('simulates the requested traffic: rates, shares and error rates', () => {
    const s = scenario({ rps: 1000, share: 0.1, errorCanary: 0.01 });
    const run = new TrafficRun(prepareScenario(s), new Rng(7));
    let baseline = 0;
    let canary = 0;
    let canaryErrors = 0;
    let histogramTotal = 0;
    while (run.seconds < 600) {
      const w = run.nextTick();
      baseline += w.baseline.requests;
      canary += w.canary.requests;
      canaryErrors += w.canary.errors;
      histogramTotal += w.canary.counts.reduce((a, b) => a + b, 0);
    }
    expect(canary / (canary + baseline)).toBeCloseTo(0.1, 2);
    expect((canary + baseline) / 600).toBeGreaterThan(980);
    expect((canary + baseline) / 600).toBeLessThan(1020);
    expect(canaryErrors / canary).toBeGreaterThan(0.008);
    expect(canaryErrors / canary).toBeLessThan(0.012);
    expect(histogramTotal).toBe(canary);
  });

  it('every detector alarms on a gross regression (errors 0.1% → 5%, latency ×3)', () => {
    const s = scenario({ null: false, errorCanary: 0.05, bad: 'errors' });
    // Latency ×3 is not in the grid; ×1.5 on the whole distribution is, and is gross enough for all of them.
    const withLatency = { ...s, change: 'x1.5' as const };
    const result = runChunk(withLatency, familiesForScenario(withLatency), 42, 0, 3);
    for (const variant of result.variants) {
      expect(alarmRate(result, variant.variant), variant.variant).toBe(1);
      for (const sec of variant.alarmSec) expect(sec % variant.intervalSeconds).toBe(0);
    }
    const rollgate = result.variants.find((v) => v.family === 'rollgate-10s-a0.05')!;
    const kayenta = result.variants.find((v) => v.family === 'kayenta')!;
    // Rollgate looks every 10 s, Kayenta judges from its third minute.
    expect(Math.max(...rollgate.alarmSec)).toBeLessThanOrEqual(120);
    expect(Math.min(...kayenta.alarmSec)).toBeGreaterThanOrEqual(180);
    // Bad requests are counted up to the alarm.
    for (let i = 0; i < 3; i++) expect(rollgate.bad[i]!).toBeLessThanOrEqual(rollgate.requests[i]!);
  });

  it('is deterministic and independent of how runs are split into chunks', () => {
    const s = scenario({ runs: 4 });
    const families = familiesForScenario(s);
    const whole = runChunk(s, families, 3, 0, 4);
    const split = mergeChunks([runChunk(s, families, 3, 0, 2), runChunk(s, families, 3, 2, 4)]);
    expect(split).toEqual(whole);
    const summary = summarize(s, whole);
    for (const v of summary.variants) {
      expect(v.runs).toBe(4);
      expect(v.rate).toBeGreaterThanOrEqual(0);
      expect(v.rate).toBeLessThanOrEqual(1);
    }
  });

  it('runs the 1 s configuration with the replicas on the same windows', () => {
    const s = scenarioGrid({ aaRuns: 1, aaExtraRuns: 1, regressionRuns: 1, headlineAaRuns: 0, headlineRegressionRuns: 1 }).find((x) => x.id === '1s: errors 0.1%→0.5%')!;
    const result = runChunk({ ...s, errorCanary: 0.05 }, familiesForScenario(s), 5, 0, 1);
    const families = new Set(result.variants.map((v) => v.family));
    expect([...families]).toEqual(['rollgate-1s-a0.05', 'kayenta', 'flagger', 'argo']);
    expect(alarmRate(result, 'Rollgate sequential 1 s, α 0.05')).toBe(1);
  });

  it('measures CPU per update for every family', () => {
    const s = scenario({ tickSeconds: 1, horizonSeconds: 900 });
    const costs = measureCost(s, familiesForScenario(s), 1, 1, 0);
    expect(costs.map((c) => c.family)).toEqual(['rollgate-1s-a0.05', 'kayenta', 'flagger', 'argo']);
    for (const c of costs) {
      expect(c.updates).toBe(900 / c.intervalSeconds);
      expect(Number.isFinite(c.usPerUpdate)).toBe(true);
    }
  });

  it('oracle power: at most α when nothing changed, near 1 for a 5× error rate', () => {
    const base = { rps: 100, share: 0.1, seconds: 1800, errorBaseline: 0.001, alpha: 0.05 };
    expect(oracleErrorPower({ ...base, errorCanary: 0.001 })).toBeLessThanOrEqual(0.05);
    expect(oracleErrorPower({ ...base, errorCanary: 0.005 })).toBeGreaterThan(0.99);
  });
});
