/**
 * CPU time per detector update, measured on its own (in the main process, after the worker
 * processes have exited, so process.cpuUsage() counts only this replay): the windows of a run are simulated first, then each
 * detector family replays them, with the CPU clock read around three blocks of consecutive
 * updates: the first 5 minutes, the middle, the last 5 minutes. Cost per update that does not grow
 * with the number of windows already seen shows as first ≈ last. Every window is fed, alarmed or not.
 */
import { Aggregator } from './harness.js';
import { Rng, seedOf } from './rng.js';
import { prepareScenario, TrafficRun, type Window } from './simulate.js';
import type { Scenario } from './scenarios.js';
import type { DetectorFamily } from './detectors/types.js';

export interface CostResult {
  family: string;
  variants: string[];
  intervalSeconds: number;
  runs: number;
  updates: number;
  /** CPU µs per update over the whole run, in the first 5 minutes, in the last 5 minutes. */
  usPerUpdate: number;
  usFirst5: number;
  usLast5: number;
  updatesFirst5: number;
  updatesLast5: number;
}

const cpuMicros = (): number => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

const EDGE_SECONDS = 300;

export function measureCost(scenario: Scenario, families: readonly DetectorFamily[], runs: number, seed: number, warmupRuns = 2): CostResult[] {
  const prepared = prepareScenario(scenario);
  const totals = families.map(() => ({ first: 0, middle: 0, last: 0, nFirst: 0, nMiddle: 0, nLast: 0 }));
  for (let run = 0; run < warmupRuns + runs; run++) {
    const traffic = new TrafficRun(prepared, new Rng(seedOf(seed, 'cost', scenario.id, run)));
    const intervals = [...new Set(families.map((family) => family.intervalSeconds))];
    const aggregators = intervals.map((interval) => new Aggregator(interval));
    const windows: Window[][] = intervals.map(() => []);
    while (traffic.seconds < scenario.horizonSeconds) {
      const tick = traffic.nextTick();
      aggregators.forEach((aggregator, i) => {
        const window = aggregator.add(tick);
        if (window) windows[i]!.push(window);
      });
    }
    families.forEach((family, f) => {
      const list = windows[intervals.indexOf(family.intervalSeconds)]!;
      const firstEnd = list.findIndex((window) => window.endSec > EDGE_SECONDS);
      const lastStart = list.findIndex((window) => window.startSec >= scenario.horizonSeconds - EDGE_SECONDS);
      const detector = family.create();
      const t0 = cpuMicros();
      for (let i = 0; i < firstEnd; i++) detector.update(list[i]!);
      const t1 = cpuMicros();
      for (let i = firstEnd; i < lastStart; i++) detector.update(list[i]!);
      const t2 = cpuMicros();
      for (let i = lastStart; i < list.length; i++) detector.update(list[i]!);
      const t3 = cpuMicros();
      if (run < warmupRuns) return;
      const total = totals[f]!;
      total.first += t1 - t0;
      total.middle += t2 - t1;
      total.last += t3 - t2;
      total.nFirst += firstEnd;
      total.nMiddle += lastStart - firstEnd;
      total.nLast += list.length - lastStart;
    });
  }
  return families.map((family, f) => {
    const t = totals[f]!;
    const updates = t.nFirst + t.nMiddle + t.nLast;
    return {
      family: family.id,
      variants: family.variants,
      intervalSeconds: family.intervalSeconds,
      runs,
      updates,
      usPerUpdate: (t.first + t.middle + t.last) / updates,
      usFirst5: t.first / t.nFirst,
      usLast5: t.last / t.nLast,
      updatesFirst5: t.nFirst,
      updatesLast5: t.nLast,
    };
  });
}
