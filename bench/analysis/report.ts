/**
 * Summaries and markdown tables of the detector benchmark, and the goal checks.
 * Times to detection are censored at the horizon: a run without an alarm counts as "later than
 * 30 min", so a median that falls on such runs is shown as "> 30 min" (never the median of the
 * detected runs only).
 */
import type { ChunkResult } from './harness.js';
import type { CostResult } from './cost.js';
import { HEADLINE, REGRESSIONS, SHARES, RATES, type Scenario } from './scenarios.js';

export interface VariantSummary {
  variant: string;
  family: string;
  intervalSeconds: number;
  runs: number;
  alarms: number;
  rate: number;
  /** Wilson 95% interval of the rate. */
  low: number;
  high: number;
  /** Censored at the horizon: Infinity when the quantile falls on runs without an alarm. */
  ttdMedian: number;
  ttdP90: number;
  requestsMedian: number;
  requestsP90: number;
  /** Bad canary requests served before detection (or by the horizon without one): median and mean. */
  badMedian: number;
  badMean: number;
}

export interface ScenarioSummary {
  scenario: Scenario;
  variants: VariantSummary[];
}

function wilson(successes: number, n: number): [number, number] {
  if (n === 0) return [Number.NaN, Number.NaN];
  const z = 1.959964;
  const p = successes / n;
  const denominator = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denominator;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Nearest-rank quantile (q in 0..1) of values that may contain Infinity. */
function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1]!;
}

export function summarize(scenario: Scenario, result: ChunkResult): ScenarioSummary {
  return {
    scenario,
    variants: result.variants.map((v) => {
      const runs = v.alarmSec.length;
      const alarms = v.alarmSec.filter((sec) => sec !== Infinity).length;
      const [low, high] = wilson(alarms, runs);
      const requestsAtAlarm = v.alarmSec.map((sec, i) => (sec === Infinity ? Infinity : v.requests[i]!));
      return {
        variant: v.variant,
        family: v.family,
        intervalSeconds: v.intervalSeconds,
        runs,
        alarms,
        rate: alarms / runs,
        low,
        high,
        ttdMedian: quantile(v.alarmSec, 0.5),
        ttdP90: quantile(v.alarmSec, 0.9),
        requestsMedian: quantile(requestsAtAlarm, 0.5),
        requestsP90: quantile(requestsAtAlarm, 0.9),
        badMedian: quantile(v.bad, 0.5),
        badMean: v.bad.reduce((sum, x) => sum + x, 0) / runs,
      };
    }),
  };
}

// ---------------------------------------------------------------- formatting

const SHORT: Record<string, string> = {
  'Rollgate sequential 10 s, α 0.05': 'Rollgate 10 s α0.05',
  'Rollgate sequential 10 s, α 0.01': 'Rollgate 10 s α0.01',
  'Rollgate sequential 10 s, α 0.05, tolerance 0': 'Rollgate 10 s α0.05 tol 0',
  'Rollgate sequential 1 s, α 0.05': 'Rollgate 1 s α0.05',
  'Kayenta replica (increase)': 'Kayenta (increase)',
  'Kayenta replica (either, default)': 'Kayenta (either)',
  'Flagger default, threshold 1': 'Flagger t=1',
  'Flagger default, threshold 5': 'Flagger t=5',
  'Argo threshold, failureLimit 0': 'Argo fl=0',
  'Argo threshold, failureLimit 3': 'Argo fl=3',
};
const short = (variant: string): string => SHORT[variant] ?? variant;

export const pct = (x: number, digits = 1): string => (Number.isFinite(x) ? `${(100 * x).toFixed(digits)}%` : '–');
export const secs = (x: number): string => (x === Infinity ? '> 30 min' : Number.isFinite(x) ? (x >= 600 ? `${(x / 60).toFixed(0)} min` : `${x.toFixed(0)} s`) : '–');
const count = (x: number): string => (x === Infinity ? '—' : Number.isFinite(x) ? (x >= 10_000 ? `${(x / 1000).toFixed(0)}k` : x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0)) : '–');
const shareLabel = (share: number): string => `${Math.round(share * 100)}%`;

function table(header: string[], rows: string[][], align?: string[]): string {
  const separator = header.map((_, i) => align?.[i] ?? (i === 0 ? '---' : '---:'));
  return [header, separator, ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

const variantOrder = (summaries: readonly ScenarioSummary[]): string[] => {
  const seen: string[] = [];
  for (const s of summaries) for (const v of s.variants) if (!seen.includes(v.variant)) seen.push(v.variant);
  const order = Object.keys(SHORT);
  return seen.sort((a, b) => order.indexOf(a) - order.indexOf(b));
};

const find = (s: ScenarioSummary, variant: string): VariantSummary | undefined => s.variants.find((v) => v.variant === variant);

/** A/A false-alarm table: one row per scenario, one column per detector variant. */
export function falseAlarmTable(summaries: readonly ScenarioSummary[]): string {
  const variants = variantOrder(summaries);
  const rows = summaries.map((s) => [
    s.scenario.id,
    String(s.scenario.runs),
    ...variants.map((variant) => {
      const v = find(s, variant);
      return v ? pct(v.rate) : '';
    }),
  ]);
  return table(['A/A scenario', 'runs', ...variants.map(short)], rows);
}

/** Regression table: power and median time to detection per detector variant. */
export function powerTable(summaries: readonly ScenarioSummary[]): string {
  const variants = variantOrder(summaries);
  const rows = summaries.map((s) => [
    s.scenario.id,
    ...variants.map((variant) => {
      const v = find(s, variant);
      return v ? `${pct(v.rate, 0)} · ${secs(v.ttdMedian)}` : '';
    }),
  ]);
  return table(['regression (power within 30 min · median time to detection)', ...variants.map(short)], rows);
}

/** Detail of time to detection and cost in bad requests, for chosen variants. */
export function detailTable(summaries: readonly ScenarioSummary[], variants: readonly string[]): string {
  const rows: string[][] = [];
  for (const s of summaries) {
    for (const variant of variants) {
      const v = find(s, variant);
      if (!v) continue;
      rows.push([
        s.scenario.id,
        short(variant),
        pct(v.rate, 0),
        secs(v.ttdMedian),
        secs(v.ttdP90),
        count(v.requestsMedian),
        count(v.requestsP90),
        count(v.badMedian),
      ]);
    }
  }
  return table(['regression', 'detector', 'power', 'median TTD', 'p90 TTD', 'median canary req. to detect', 'p90 req.', `median bad req. before detection`], rows);
}

export function costTable(costs: readonly CostResult[]): string {
  const rows = costs.map((c) => [
    c.variants.map(short).join(', '),
    `${c.intervalSeconds} s`,
    String(c.updates),
    c.usPerUpdate.toFixed(1),
    c.usFirst5.toFixed(1),
    c.usLast5.toFixed(1),
    (c.usLast5 / c.usFirst5).toFixed(2),
  ]);
  return table(['detector', 'look every', 'updates timed', 'CPU µs / update', 'first 5 min', 'last 5 min', 'last / first'], rows);
}

/** The full share × rate grid of one detector set: power · median TTD. */
export function gridTable(summaries: readonly ScenarioSummary[], variants: readonly string[]): string {
  const rows: string[][] = [];
  for (const regression of REGRESSIONS) {
    for (const share of SHARES) {
      for (const rps of RATES) {
        const s = summaries.find((x) => x.scenario.group === 'regression' && x.scenario.id.startsWith(regression.key + ' ') && x.scenario.share === share && x.scenario.rps === rps);
        if (!s) continue;
        rows.push([
          regression.key,
          shareLabel(share),
          String(rps),
          ...variants.map((variant) => {
            const v = find(s, variant);
            return v ? `${pct(v.rate, 0)} · ${secs(v.ttdMedian)}` : '';
          }),
        ]);
      }
    }
  }
  return table(['regression', 'share', 'req/s', ...variants.map(short)], rows);
}

// ---------------------------------------------------------------- goals

export interface GoalCheck {
  goal: string;
  met: boolean;
  detail: string;
}

const isHeadline = (s: Scenario) => s.rps === HEADLINE.rps && s.share === HEADLINE.share;

export function checkGoals(summaries: readonly ScenarioSummary[], costs: readonly CostResult[], oracle: ReadonlyArray<{ scenario: string; alpha: number; power: number }>): GoalCheck[] {
  const goals: GoalCheck[] = [];
  // 1. A/A false alarms ≤ α under continuous monitoring (all A/A scenarios except the per-arm stress case).
  for (const [variant, alpha] of [
    ['Rollgate sequential 10 s, α 0.05', 0.05],
    ['Rollgate sequential 10 s, α 0.01', 0.01],
    ['Rollgate sequential 10 s, α 0.05, tolerance 0', 0.05],
    ['Rollgate sequential 1 s, α 0.05', 0.05],
  ] as const) {
    const rows = summaries.filter((s) => s.scenario.null && s.scenario.overdispersion !== 'per-arm').flatMap((s) => (find(s, variant) ? [{ s, v: find(s, variant)! }] : []));
    if (rows.length === 0) continue;
    const worst = rows.reduce((a, b) => (b.v.rate > a.v.rate ? b : a));
    const over = rows.filter((r) => r.v.rate > alpha);
    goals.push({
      goal: `A/A false alarms ≤ ${alpha} (${short(variant)}, ${rows.length} A/A scenarios)`,
      met: over.length === 0,
      detail:
        `worst ${pct(worst.v.rate, 2)} (95% CI ${pct(worst.v.low, 2)}–${pct(worst.v.high, 2)}, ${worst.v.runs} runs) in "${worst.s.scenario.id}"` +
        (over.length > 0 ? `; above α in: ${over.map((r) => `"${r.s.scenario.id}" ${pct(r.v.rate, 2)}`).join(', ')}` : ''),
    });
    const stress = summaries.find((s) => s.scenario.null && s.scenario.overdispersion === 'per-arm' && find(s, variant));
    if (stress) {
      const v = find(stress, variant)!;
      goals.push({
        goal: `(stress, not a goal) per-arm over-dispersion, ${short(variant)}`,
        met: v.rate <= alpha,
        detail: `${pct(v.rate, 2)} false alarms (95% CI ${pct(v.low, 2)}–${pct(v.high, 2)}, ${v.runs} runs)`,
      });
    }
  }
  // 2. Power ≥ 95% within 30 min for every regression at 100 req/s and 10% share.
  for (const variant of ['Rollgate sequential 10 s, α 0.05', 'Rollgate sequential 10 s, α 0.05, tolerance 0', 'Rollgate sequential 1 s, α 0.05']) {
    const rows = summaries.filter((s) => !s.scenario.null && isHeadline(s.scenario) && find(s, variant));
    if (rows.length === 0) continue;
    const missed = rows.filter((s) => find(s, variant)!.rate < 0.95);
    goals.push({
      goal: `power ≥ 95% within 30 min, every regression at 100 req/s and 10% (${short(variant)})`,
      met: missed.length === 0,
      detail:
        missed.length === 0
          ? `lowest ${pct(Math.min(...rows.map((s) => find(s, variant)!.rate)))} over ${rows.length} regressions`
          : `missed: ${missed
              .map((s) => {
                const v = find(s, variant)!;
                const o = oracle.filter((x) => s.scenario.id.endsWith(x.scenario) || x.scenario === s.scenario.id);
                const context = o.length > 0 ? ` (oracle fixed-sample power ${o.map((x) => `${pct(x.power)} at α ${x.alpha}`).join(', ')})` : '';
                return `"${s.scenario.id}" ${pct(v.rate)}${context}`;
              })
              .join('; ')}`,
    });
  }
  // 3. Median time to detection ≥ 10× shorter than the Kayenta replica, at equal or lower false alarms.
  for (const [variant, tick] of [
    ['Rollgate sequential 1 s, α 0.05', 1],
    ['Rollgate sequential 10 s, α 0.05', 10],
    ['Rollgate sequential 10 s, α 0.05, tolerance 0', 10],
  ] as const) {
    const kayentaVariant = 'Kayenta replica (increase)';
    const aa = summaries.find((s) => s.scenario.null && s.scenario.tickSeconds === tick && s.scenario.family === 'lognormal-0.6' && !s.scenario.diurnal && !s.scenario.incident && s.scenario.overdispersion === 'none' && isHeadline(s.scenario));
    const rows = summaries.filter((s) => !s.scenario.null && s.scenario.tickSeconds === tick && isHeadline(s.scenario) && find(s, variant) && find(s, kayentaVariant));
    if (!aa || rows.length === 0) continue;
    const ours = find(aa, variant)!;
    const theirs = find(aa, kayentaVariant)!;
    const ratios = rows.map((s) => {
      const r = find(s, variant)!.ttdMedian;
      const k = find(s, kayentaVariant)!.ttdMedian;
      return { s, ratio: k / r, ours: r, theirs: k };
    });
    const below = ratios.filter((x) => !(x.ratio >= 10));
    const fmtRatio = (x: (typeof ratios)[number]) => (x.theirs === Infinity ? `> ${(1800 / x.ours).toFixed(1)}×` : x.ours === Infinity ? 'n/a (Rollgate > 30 min)' : `${x.ratio.toFixed(1)}×`);
    goals.push({
      goal: `median TTD ≥ 10× shorter than Kayenta (increase), at equal or lower false alarms (${short(variant)}, ${rows.length} regressions at 100 req/s, 10%)`,
      met: below.length === 0 && ours.rate <= theirs.rate,
      detail:
        `A/A false alarms ${pct(ours.rate)} vs Kayenta ${pct(theirs.rate)} (either: ${pct(find(aa, 'Kayenta replica (either, default)')?.rate ?? Number.NaN)}); ` +
        `ratios: ${ratios.map((x) => `${x.s.scenario.id.replace(/^1s: /, '').replace(/ 10% @ 100\/s$/, '')} ${fmtRatio(x)}`).join(', ')}` +
        (below.length > 0 ? `; below 10× in ${below.length} of ${rows.length}` : ''),
    });
  }
  // 4. O(1) per-sample update.
  for (const c of costs.filter((x) => x.family.startsWith('rollgate'))) {
    const ratio = c.usLast5 / c.usFirst5;
    goals.push({
      goal: `per-update cost O(1) (${c.variants.map(short).join(', ')})`,
      met: ratio < 1.25,
      detail: `${c.usFirst5.toFixed(1)} µs per update in the first 5 min, ${c.usLast5.toFixed(1)} µs in the last 5 min (×${ratio.toFixed(2)})`,
    });
  }
  return goals;
}

export function goalsTable(goals: readonly GoalCheck[]): string {
  return table(
    ['goal', 'status', 'figures'],
    goals.map((g) => [g.goal, g.met ? '**met**' : '**missed**', g.detail]),
    ['---', '---', '---'],
  );
}
