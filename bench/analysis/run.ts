/**
 * Detector benchmark: Rollgate's sequential judge against replicas of Kayenta, Flagger and Argo
 * Rollouts on the same simulated baseline/canary traffic (docs/benchmarks.md, "Canary analysis:
 * detectors").
 *
 *   npm run bench:analysis -- [--runs 2000] [--regression-runs 200] [--seed 1] [--workers 2]
 *                             [--quick] [--only TEXT] [--out FILE.json] [--md FILE.md]
 *
 * --runs: runs of each A/A scenario at the headline setting (100 req/s, 10%); the combined and
 *   per-arm nuisance cases and the 1 s A/A get a quarter of it (they cost the most CPU). --regression-runs: runs of every
 *   regression scenario and A/A grid cell. --quick: 200 / 40 runs, for a check in a few minutes.
 * Markdown goes to stdout (and --md), the summaries as JSON to --out (default
 * .rollgate/bench/analysis.json, git-ignored). Progress goes to stderr.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { flagArg, machineNote, numberArg } from '../lib/common.js';
import { measureCost, type CostResult } from './cost.js';
import { ALL_FAMILIES, REPLICAS, ROLLGATE_10S, ROLLGATE_10S_NO_MARGIN, ROLLGATE_10S_STRICT, ROLLGATE_1S } from './detectors/index.js';
import { mergeChunks, type ChunkResult } from './harness.js';
import { oracleErrorPower } from './oracle.js';
import { checkGoals, costTable, detailTable, falseAlarmTable, goalsTable, gridTable, powerTable, summarize, type ScenarioSummary } from './report.js';
import { HEADLINE, HORIZON_SECONDS, REGRESSIONS, scenarioGrid, type Scenario } from './scenarios.js';
import type { Task } from './worker.js';

function stringArg(name: string): string | null {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? null : (process.argv[index + 1] ?? null);
}

const quick = flagArg('quick');
const aaRuns = numberArg('runs', quick ? 200 : 2000);
const regressionRuns = numberArg('regression-runs', quick ? 40 : 200);
const seed = numberArg('seed', 1);
const workers = numberArg('workers', Math.min(2, os.cpus().length));
const costRuns = numberArg('cost-runs', quick ? 3 : 20);
const only = stringArg('only');
const out = stringArg('out') ?? '.rollgate/bench/analysis.json';
const md = stringArg('md');

const log = (line: string) => process.stderr.write(`${line}\n`);

/** CPU seconds the worker processes spent, per scenario group. */
const cpuByGroup = new Map<string, number>();

async function runAll(scenarios: readonly Scenario[]): Promise<Map<string, ChunkResult>> {
  const tasks: Task[] = [];
  for (const scenario of scenarios) {
    const chunk = scenario.tickSeconds === 1 ? 25 : 100;
    for (let start = 0; start < scenario.runs; start += chunk) tasks.push({ id: tasks.length, scenario, seed, runStart: start, runEnd: Math.min(scenario.runs, start + chunk) });
  }
  // Longest first: 1 s ticks cost ~5× a 10 s tick run.
  const weight = (t: Task) => (t.runEnd - t.runStart) * (t.scenario.tickSeconds === 1 ? 5 : 1);
  const queue = [...tasks].sort((a, b) => weight(b) - weight(a));
  const chunks = new Map<number, ChunkResult>();
  const total = queue.length;
  let done = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(workers, total)) }, () => {
      // `advanced` serialization keeps Infinity (no alarm) intact.
      const worker = fork(fileURLToPath(new URL('./worker.ts', import.meta.url)), [], { execArgv: process.execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      return new Promise<void>((resolve, reject) => {
        let finished = false;
        const next = () => {
          const task = queue.shift();
          if (!task) {
            finished = true;
            worker.disconnect();
            resolve();
            return;
          }
          worker.send(task);
        };
        worker.on('exit', (code) => {
          if (!finished) reject(new Error(`worker process exited (code ${code}) before finishing`));
        });
        worker.on('message', (message: { id: number; result?: ChunkResult; error?: string; cpuMicros?: number }) => {
          if (message.error !== undefined) {
            finished = true;
            worker.kill();
            reject(new Error(`task ${message.id} failed: ${message.error}`));
            return;
          }
          chunks.set(message.id, message.result!);
          const group = tasks[message.id]!.scenario.group;
          cpuByGroup.set(group, (cpuByGroup.get(group) ?? 0) + (message.cpuMicros ?? 0) / 1e6);
          done += 1;
          if (done % 10 === 0 || done === total) log(`  ${done}/${total} chunks, ${((Date.now() - started) / 1000).toFixed(0)} s`);
          next();
        });
        worker.on('error', reject);
        next();
      });
    }),
  );
  const results = new Map<string, ChunkResult>();
  for (const scenario of scenarios) {
    const mine = tasks.filter((t) => t.scenario.id === scenario.id).map((t) => chunks.get(t.id)!);
    results.set(scenario.id, mergeChunks(mine));
  }
  return results;
}

/** sha256 (12 hex) of the judges' sources, so figures can be tied to the code they measured. */
function judgeDigest(): string {
  const hash = createHash('sha256');
  for (const dir of ['sequential', 'kayenta']) {
    const full = fileURLToPath(new URL(`../../src/core/analysis/${dir}/`, import.meta.url));
    for (const file of readdirSync(full).sort()) hash.update(`${dir}/${file}\0`).update(readFileSync(path.join(full, file)));
  }
  return hash.digest('hex').slice(0, 12);
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ');
}

async function main(): Promise<void> {
  const wallStart = Date.now();
  const cpuStart = process.cpuUsage();
  const loadStart = loadAverage();
  const digest = judgeDigest();
  let scenarios = scenarioGrid({
    aaRuns,
    aaExtraRuns: Math.ceil(aaRuns / 4),
    regressionRuns,
    headlineAaRuns: Math.ceil(aaRuns / 4),
    headlineRegressionRuns: regressionRuns,
  });
  if (only !== null) scenarios = scenarios.filter((s) => s.id.includes(only));
  const totalRuns = scenarios.reduce((sum, s) => sum + s.runs, 0);
  log(`${machineNote()}`);
  log(`${scenarios.length} scenarios, ${totalRuns} runs, seed ${seed}, ${workers} worker process(es)`);

  const results = await runAll(scenarios);
  const simulationSeconds = (Date.now() - wallStart) / 1000;
  const summaries: ScenarioSummary[] = scenarios.map((s) => summarize(s, results.get(s.id)!));

  log('measuring CPU per update …');
  const costScenario = scenarioGrid({ aaRuns: 1, aaExtraRuns: 1, regressionRuns: 1, headlineAaRuns: 1, headlineRegressionRuns: 0 }).find((s) => s.id === '1s: A/A lognormal σ0.6')!;
  const costs: CostResult[] = [
    ...measureCost(costScenario, [ROLLGATE_10S, ROLLGATE_10S_STRICT, ROLLGATE_10S_NO_MARGIN, ...REPLICAS], costRuns, seed),
    ...measureCost(costScenario, [ROLLGATE_1S], Math.max(1, Math.ceil(costRuns / 4)), seed),
  ];

  log('oracle fixed-sample power …');
  const oracle: Array<{ scenario: string; alpha: number; power: number }> = [];
  for (const regression of REGRESSIONS.filter((r) => r.bad === 'errors')) {
    for (const alpha of [0.05, 0.025]) {
      oracle.push({
        scenario: `${regression.key} 10% @ 100/s`,
        alpha,
        power: oracleErrorPower({ rps: HEADLINE.rps, share: HEADLINE.share, seconds: HORIZON_SECONDS, errorBaseline: 0.001, errorCanary: regression.errorCanary, alpha }),
      });
    }
  }
  const oracleGrid: Array<{ scenario: string; power: number }> = [];
  for (const s of scenarios.filter((x) => x.group === 'regression' && x.bad === 'errors')) {
    oracleGrid.push({ scenario: s.id, power: oracleErrorPower({ rps: s.rps, share: s.share, seconds: HORIZON_SECONDS, errorBaseline: s.errorBaseline, errorCanary: s.errorCanary, alpha: 0.025 }) });
  }

  const goals = checkGoals(summaries, costs, oracle);
  const wallSeconds = (Date.now() - wallStart) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const command = `npm run bench:analysis -- ${process.argv.slice(2).join(' ')}`.trim();

  const group = (name: Scenario['group']) => summaries.filter((s) => s.scenario.group === name);
  const headlineRegressions = group('regression').filter((s) => s.scenario.rps === HEADLINE.rps && s.scenario.share === HEADLINE.share);
  const sections: string[] = [];
  sections.push(
    [
      `Command: \`${command}\` (seed ${seed}; judge sources sha256 ${digest}). Machine: ${machineNote()}; load average at start ${loadStart}, at end ${loadAverage()}.`,
      `Wall time ${wallSeconds.toFixed(0)} s (simulation + detectors ${simulationSeconds.toFixed(0)} s in ${workers} worker process(es)), ${totalRuns} runs of 30 min.`,
      `CPU: workers ${[...cpuByGroup.values()].reduce((a, b) => a + b, 0).toFixed(0)} s (${[...cpuByGroup].map(([g, c]) => `${g} ${c.toFixed(0)} s`).join(', ')}), main process ${((cpu.user + cpu.system) / 1e6).toFixed(0)} s (cost measurement, oracle, report).`,
    ].join('\n'),
  );
  sections.push(`### Goals\n\n${goalsTable(goals)}`);
  const aaRows = [...group('aa'), ...group('headline-1s').filter((s) => s.scenario.null)];
  if (aaRows.length > 0) sections.push(`### A/A false alarms within 30 min, 100 req/s, 10% canary\n\n${falseAlarmTable(aaRows)}`);
  if (group('aa-grid').length > 0) sections.push(`### A/A false alarms, lognormal σ0.6, other shares and rates\n\n${falseAlarmTable(group('aa-grid'))}`);
  if (headlineRegressions.length > 0) sections.push(`### Regressions at 100 req/s, 10% canary: power within 30 min · median time to detection\n\n${powerTable(headlineRegressions)}`);
  const oneSecond = group('headline-1s').filter((s) => !s.scenario.null);
  if (oneSecond.length > 0) {
    sections.push(`### Rollgate at 1 s looks (100 req/s, 10% canary; the replicas on the same runs)\n\n${powerTable(oneSecond)}`);
    sections.push(
      `### Time to detection and bad requests, 1 s looks (100 req/s, 10%)\n\n${detailTable(oneSecond, ['Rollgate sequential 1 s, α 0.05', 'Kayenta replica (increase)', 'Flagger default, threshold 1', 'Argo threshold, failureLimit 3'])}`,
    );
  }
  if (headlineRegressions.length > 0) {
    sections.push(
      `### Time to detection and bad requests, 10 s looks (100 req/s, 10%)\n\n${detailTable(headlineRegressions, ['Rollgate sequential 10 s, α 0.05', 'Rollgate sequential 10 s, α 0.01', 'Rollgate sequential 10 s, α 0.05, tolerance 0', 'Kayenta replica (increase)'])}`,
    );
  }
  sections.push(`### CPU time per update (one update = one look of a detector at all its metrics)\n\n${costTable(costs)}`);
  if (group('regression').length > 0) {
    sections.push(
      `### Full grid: power within 30 min · median time to detection\n\n${gridTable(group('regression'), [
        'Rollgate sequential 10 s, α 0.05',
        'Kayenta replica (increase)',
        'Kayenta replica (either, default)',
        'Flagger default, threshold 1',
        'Flagger default, threshold 5',
        'Argo threshold, failureLimit 0',
        'Argo threshold, failureLimit 3',
      ])}`,
    );
  }
  sections.push(
    `### Oracle: fixed-sample power of the exact one-sided conditional binomial test at 30 min (error regressions)\n\n` +
      [
        '| regression | α 0.05 | α 0.025 (the errors metric\'s share) |',
        '|---|---:|---:|',
        ...REGRESSIONS.filter((r) => r.bad === 'errors').map((r) => {
          const at = (alpha: number) => oracle.find((o) => o.scenario === `${r.key} 10% @ 100/s` && o.alpha === alpha)?.power ?? Number.NaN;
          return `| ${r.key}, 10% @ 100/s | ${(100 * at(0.05)).toFixed(1)}% | ${(100 * at(0.025)).toFixed(1)}% |`;
        }),
      ].join('\n') +
      (oracleGrid.length > 0 ? `\n\nOther cells at α 0.025: ${oracleGrid.map((o) => `${o.scenario} ${(100 * o.power).toFixed(1)}%`).join('; ')}.` : ''),
  );
  const markdown = sections.join('\n\n') + '\n';
  process.stdout.write(markdown);
  if (md !== null) writeFileSync(md, markdown);

  mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  const json = {
    command,
    seed,
    judgeSourcesSha256: digest,
    machine: machineNote(),
    wallSeconds,
    workerCpuSecondsByGroup: Object.fromEntries(cpuByGroup),
    loadAverage: { start: loadStart, end: loadAverage() },
    families: ALL_FAMILIES.map((f) => ({ id: f.id, intervalSeconds: f.intervalSeconds, variants: f.variants })),
    goals,
    costs,
    oracle,
    oracleGrid,
    scenarios: summaries.map((s) => ({
      ...s.scenario,
      variants: s.variants.map((v) => ({ ...v, ttdMedian: finite(v.ttdMedian), ttdP90: finite(v.ttdP90), requestsMedian: finite(v.requestsMedian), requestsP90: finite(v.requestsP90) })),
    })),
  };
  writeFileSync(out, JSON.stringify(json, null, 1));
  log(`JSON: ${out}; wall time ${wallSeconds.toFixed(0)} s`);
}

/** JSON has no Infinity: censored values become null ("no alarm within the horizon"). */
const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
