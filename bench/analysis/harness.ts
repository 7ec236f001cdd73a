/**
 * Runs detectors over simulated runs: every detector sees the same windows (ticks aggregated to
 * its interval) of the same run, and the harness records, per variant, when it first alarmed
 * (end of the window it alarmed on), how many canary requests had been served by then and how
 * many of them were bad. Runs are seeded by (seed, scenario id, run index), so results do not
 * depend on how runs are split between workers.
 */
import { Rng, seedOf } from './rng.js';
import { addArm, emptyArm, prepareScenario, TrafficRun, type PreparedScenario, type Window } from './simulate.js';
import type { Scenario } from './scenarios.js';
import type { Detector, DetectorFamily } from './detectors/types.js';

/**
 * Per variant, per run: first alarm in seconds (Infinity: none within the horizon), canary
 * requests and bad requests served by then (by the horizon when it never alarmed).
 */
export interface VariantRuns {
  variant: string;
  family: string;
  intervalSeconds: number;
  alarmSec: number[];
  requests: number[];
  bad: number[];
}

export interface ChunkResult {
  scenarioId: string;
  runs: number;
  variants: VariantRuns[];
}

/** Families that can run on a scenario's tick (their interval must be a multiple of it). */
export function familiesFor(scenario: Scenario, families: readonly DetectorFamily[]): DetectorFamily[] {
  return families.filter((family) => family.intervalSeconds % scenario.tickSeconds === 0);
}

export class Aggregator {
  private window: Window | null = null;
  constructor(readonly intervalSeconds: number) {}
  /** Adds a tick; returns the completed window when the tick closes one. */
  add(tick: Window): Window | null {
    if (this.intervalSeconds === tick.endSec - tick.startSec) return tick;
    if (this.window === null) this.window = { startSec: tick.startSec, endSec: tick.startSec, baseline: emptyArm(), canary: emptyArm() };
    addArm(this.window.baseline, tick.baseline);
    addArm(this.window.canary, tick.canary);
    this.window.endSec = tick.endSec;
    if (tick.endSec % this.intervalSeconds !== 0) return null;
    const done = this.window;
    this.window = null;
    return done;
  }
}

export function runChunk(scenario: Scenario, allFamilies: readonly DetectorFamily[], seed: number, runStart: number, runEnd: number, prepared?: PreparedScenario): ChunkResult {
  const families = familiesFor(scenario, allFamilies);
  const ready = prepared ?? prepareScenario(scenario);
  const variants: VariantRuns[] = families.flatMap((family) =>
    family.variants.map((variant) => ({ variant, family: family.id, intervalSeconds: family.intervalSeconds, alarmSec: [], requests: [], bad: [] })),
  );
  const intervals = [...new Set(families.map((family) => family.intervalSeconds))];
  for (let run = runStart; run < runEnd; run++) {
    const rng = new Rng(seedOf(seed, scenario.id, run));
    const traffic = new TrafficRun(ready, rng);
    const detectors: Detector[] = families.map((family) => family.create());
    const aggregators = intervals.map((interval) => new Aggregator(interval));
    const firstAlarm = variants.map(() => ({ sec: Infinity, requests: 0, bad: 0 }));
    let open = variants.length;
    let requests = 0;
    let bad = 0;
    while (traffic.seconds < scenario.horizonSeconds && (scenario.null || open > 0)) {
      const tick = traffic.nextTick();
      requests += tick.canary.requests;
      bad += scenario.bad === 'errors' ? tick.canary.errors : scenario.bad === 'slow' ? tick.canary.slow : 0;
      const windows = aggregators.map((aggregator) => aggregator.add(tick));
      let v = 0;
      families.forEach((family, f) => {
        const window = windows[intervals.indexOf(family.intervalSeconds)];
        const detector = detectors[f]!;
        // A family whose variants have all alarmed has nothing left to tell: skip it (saves CPU).
        if (window && !detector.alarmed.every(Boolean)) detector.update(window);
        for (let i = 0; i < family.variants.length; i++, v++) {
          const first = firstAlarm[v]!;
          if (window && first.sec === Infinity && detector.alarmed[i]) {
            first.sec = window.endSec;
            first.requests = requests;
            first.bad = bad;
            open -= 1;
          }
        }
      });
    }
    variants.forEach((variant, v) => {
      const first = firstAlarm[v]!;
      const never = first.sec === Infinity;
      variant.alarmSec.push(first.sec);
      variant.requests.push(never ? requests : first.requests);
      variant.bad.push(never ? bad : first.bad);
    });
  }
  return { scenarioId: scenario.id, runs: runEnd - runStart, variants };
}

/** Concatenates chunk results of one scenario (in run order). */
export function mergeChunks(chunks: readonly ChunkResult[]): ChunkResult {
  const first = chunks[0]!;
  return {
    scenarioId: first.scenarioId,
    runs: chunks.reduce((sum, chunk) => sum + chunk.runs, 0),
    variants: first.variants.map((variant, v) => ({
      ...variant,
      alarmSec: chunks.flatMap((chunk) => chunk.variants[v]!.alarmSec),
      requests: chunks.flatMap((chunk) => chunk.variants[v]!.requests),
      bad: chunks.flatMap((chunk) => chunk.variants[v]!.bad),
    })),
  };
}
