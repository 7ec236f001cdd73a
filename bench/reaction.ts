/**
 * Reaction-time benchmark: from the moment a canary starts failing to the moment its traffic
 * weight is 0, with a 1 s analysis interval (goal ≤ 2 s).
 *
 *   npx tsx bench/reaction.ts [--runs 7] [--rate 200] [--weight 20] [--error-rate 1] [--healthy 3]
 *
 * Real engine (createEngine: SQLite store, controller, process target, embedded router, builtin
 * metrics), real service processes (bench/lib/flip-app.mjs: healthy until it gets
 * `POST /__bench/fail`), constant open-loop load through the router (default 200 req/s).
 * Strategy: `setWeight` (default 20%), then an analysis step measuring `errorRate` every 1 s
 * against the baseline (`canary.errorRate <= baseline.errorRate + 0.05`, failureLimit 0, count
 * 3600: it never finishes by itself). Each run deploys a new canary version, waits until the
 * analysis has taken --healthy successful measurements, waits a random 0–1000 ms (so the failure
 * lands anywhere in the measurement interval), flips the canary to failing, and measures:
 *
 *   t_fail   first 5xx served by the canary, as the load generator saw it;
 *   t_zero   the router's canary weight reaches 0 (`router.verify()` polled every 10 ms);
 *   t_last   the last response served by the canary (requests already in flight finish);
 *   taken    when the engine took the measurement that failed (from the stored status);
 *
 * detection = taken − t_fail (of which: waiting for the measurement to come due, and the pass
 * lag after it was due), actuation = t_zero − taken (query, decide, setWeight 0).
 * Every run is bounded (60 s timeouts); every process is stopped at the end.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteStore } from '../src/adapters/store/sqlite.js';
import type { Measurement } from '../src/core/analysis/types.js';
import { DEPLOYMENT_LABELS, emptyDeploymentStatus, readDeploymentStatus, type RolloutStatus } from '../src/core/rollout/index.js';
import { createEngine, type Engine } from '../src/engine/index.js';
import type { NewObject, Store } from '../src/ports/store.js';
import { machineNote, max, median, min, numberArg, num, sleep, stderrLogger, tempDir, waitUntil } from './lib/common.js';
import { startOpenLoop, type LoadResponse } from './lib/open-loop.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SERVICE = 'reaction';
const INTERVAL_MS = 1000;

interface VersionSeen {
  first5xx: number | null;
  last: number;
  responses: number;
  errors: number;
}

interface RunResult {
  run: number;
  version: string;
  offsetMs: number;
  flipAt: number;
  tFail: number;
  tZero: number;
  tLast: number;
  taken: number;
  due: number;
  /** Measurements taken after t_fail that still passed (their window held too few failures). */
  passedAfterFail: number;
  failedErrorRate: number | null;
  abortAt: number | null;
}

async function rollout(store: Store, name: string): Promise<RolloutStatus | null> {
  return readDeploymentStatus((await store.read.objects.get('Deployment', name))?.status ?? null).rollout;
}

async function deploy(store: Store, engine: Engine, name: string, version: string): Promise<void> {
  await store.transaction((stores) =>
    stores.objects.create({
      kind: 'Deployment',
      name,
      labels: { [DEPLOYMENT_LABELS.service]: SERVICE, [DEPLOYMENT_LABELS.environment]: 'default' },
      spec: { service: SERVICE, version },
      status: emptyDeploymentStatus() as unknown as Record<string, unknown>,
    }),
  );
  engine.wake(name);
}

const measurementsOf = (status: RolloutStatus | null): Measurement[] => status?.analysisRuns.flatMap((run) => run.metrics.flatMap((metric) => metric.measurements)) ?? [];

/** What `rollgate rollout abort` does: queue the operation in the Deployment's status (CAS), wake the engine. */
async function requestAbort(store: Store, engine: Engine, name: string): Promise<void> {
  await store.transaction(async (stores) => {
    const deployment = await stores.objects.get('Deployment', name);
    if (!deployment) throw new Error(`no Deployment ${name}`);
    const status = readDeploymentStatus(deployment.status);
    const operation = { id: `bench-abort-${Date.now()}`, type: 'abort' as const, actor: 'bench', reason: 'not a reaction-time sample', requestedAt: Date.now() };
    await stores.objects.update('Deployment', name, deployment.version, { status: { ...status, pendingOperations: [...status.pendingOperations, operation] } as unknown as Record<string, unknown> });
  });
  engine.wake(name);
}

async function post(endpoint: string, pathAndQuery: string): Promise<void> {
  const response = await fetch(`http://${endpoint}${pathAndQuery}`, { method: 'POST', signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`POST ${pathAndQuery} to ${endpoint}: ${response.status}`);
  await response.arrayBuffer();
}

async function main(): Promise<void> {
  const runs = Math.floor(numberArg('runs', 7));
  const rate = numberArg('rate', 200);
  const weight = numberArg('weight', 20);
  const errorRate = numberArg('error-rate', 1);
  const healthy = Math.floor(numberArg('healthy', 3));

  console.log(`reaction-time bench: real engine + embedded router + ${runs} canaries (bench/lib/flip-app.mjs), ${rate} req/s open loop, canary at ${weight}%`);
  console.log(`analysis: errorRate every 1 s vs baseline (canary.errorRate <= baseline.errorRate + 0.05, failureLimit 0); canary flips to ${errorRate * 100}% 5xx`);
  console.log(`machine: ${machineNote()}`);

  const tmp = tempDir('rollgate-reaction-');
  const store = await openSqliteStore({ file: path.join(tmp.dir, 'rollgate.db') });
  const engine = createEngine({ store, logger: stderrLogger, dataDir: tmp.dir, workingDir: ROOT, rescanMs: 1000 });
  const seen = new Map<string, VersionSeen>();
  const onResponse = (response: LoadResponse) => {
    let entry = seen.get(response.version);
    if (!entry) seen.set(response.version, (entry = { first5xx: null, last: 0, responses: 0, errors: 0 }));
    entry.responses += 1;
    entry.last = Math.max(entry.last, response.at);
    if (response.status >= 500) {
      entry.errors += 1;
      if (entry.first5xx === null) entry.first5xx = response.at;
    }
  };
  let load: ReturnType<typeof startOpenLoop> | null = null;
  const results: RunResult[] = [];
  const notReady: Array<{ version: string; phase: string; noData: boolean; message: string; window: { startMs: number; endMs: number } | null }> = [];
  try {
    await engine.start();
    const objects: NewObject[] = [
      {
        kind: 'AnalysisTemplate',
        name: 'errors',
        spec: {
          metrics: [
            {
              name: 'error-rate',
              provider: { builtin: { metric: 'errorRate' } },
              interval: '1s',
              count: 3600,
              successCondition: 'canary.errorRate <= baseline.errorRate + 0.05',
              failureLimit: 0,
              noDataPolicy: 'pause',
            },
          ],
        },
      },
      { kind: 'RolloutStrategy', name: 'bench', spec: { canary: { steps: [{ setWeight: weight }, { analysis: { templates: ['errors'] } }], scaleDownDelaySeconds: 1 } } },
      {
        kind: 'Service',
        name: SERVICE,
        spec: {
          owner: 'bench',
          tier: 'standard',
          strategy: 'bench',
          target: { type: 'process', command: 'node bench/lib/flip-app.mjs', healthCheck: { path: '/healthz', intervalSeconds: 1 } },
          router: { type: 'embedded', listen: '127.0.0.1:0' },
        },
      },
    ];
    await store.transaction(async (stores) => {
      for (const object of objects) await stores.objects.create(object);
    });

    await deploy(store, engine, `${SERVICE}-stable`, '1.0.0');
    await waitUntil('the stable version', async () => ((await rollout(store, `${SERVICE}-stable`))?.phase === 'Healthy' ? true : undefined), 60_000, 100);
    const runtime = await engine.runtimes.peek(SERVICE);
    const address = runtime?.address?.();
    if (!runtime || !address) throw new Error('no embedded router for the service');
    // Bounded: enough for every run with its timeouts.
    load = startOpenLoop(address, { rate, maxSeconds: 60 + runs * 90, onResponse });
    await sleep(1000);

    for (let attempt = 1; results.length < runs && attempt <= runs * 2; attempt += 1) {
      const run = results.length + 1;
      const version = `2.0.${attempt}`;
      const name = `${SERVICE}-r${attempt}`;
      await deploy(store, engine, name, version);
      const ready = await waitUntil(
        `${healthy} healthy measurements of ${version}`,
        async () => {
          const status = await rollout(store, name);
          if (status && status.phase !== 'Progressing') return status;
          return measurementsOf(status).filter((m) => m.phase === 'Successful').length >= healthy ? status : undefined;
        },
        60_000,
        50,
      );
      if (ready?.phase !== 'Progressing') {
        // Not a reaction-time sample: the healthy canary stopped before the flip (see the note printed at the end).
        const noData = measurementsOf(ready).some((m) => m.phase === 'NoData');
        notReady.push({ version, phase: ready?.phase ?? 'unknown', noData, message: ready?.message ?? '', window: measurementsOf(ready).at(-1)?.window ?? null });
        console.log(`  attempt ${attempt} (${version}): ${ready?.phase} before the flip${noData ? ' (no data in a measurement window)' : ''}: ${ready?.message}`);
        if (ready?.phase === 'Paused') await requestAbort(store, engine, name);
        await waitUntil(`${name} finished`, async () => ((await rollout(store, name))?.phase === 'Aborted' ? true : undefined), 30_000, 50);
        await waitUntil(`${version} retired`, async () => ((await runtime.target.observe()).some((state) => state.version === version && state.phase !== 'stopped') ? undefined : true), 30_000, 100);
        continue;
      }
      const offsetMs = Math.floor(Math.random() * INTERVAL_MS);
      await sleep(offsetMs);
      const endpoint = (await runtime.target.observe()).find((state) => state.version === version)?.endpoints[0];
      if (!endpoint) throw new Error(`no endpoint for ${version}`);
      await post(endpoint, `/__bench/fail?rate=${errorRate}`);
      const flipAt = Date.now();

      const tZero = await waitUntil(
        `canary weight 0 for ${version}`,
        async () => {
          const state = await runtime.router.verify();
          return state && (state.canaryWeight === 0 || state.canaryVersion !== version) ? Date.now() : undefined;
        },
        60_000,
        10,
      );
      const status = await waitUntil(`${name} aborted`, async () => {
        const current = await rollout(store, name);
        return current && current.phase !== 'Progressing' ? current : undefined;
      }, 30_000, 50);
      if (status.phase !== 'Aborted') throw new Error(`${name} ended ${status.phase}: ${status.message}`);
      // Let requests already routed to the canary finish before reading "last served".
      await sleep(1000);
      const canary = seen.get(version);
      if (!canary?.first5xx) throw new Error(`the load generator saw no 5xx from ${version}`);
      const measurements = measurementsOf(status);
      const failed = measurements.find((m) => m.phase === 'Failed');
      if (!failed) throw new Error(`${name}: no failed measurement in the status (${status.abort?.message})`);
      const result: RunResult = {
        run,
        version,
        offsetMs,
        flipAt,
        tFail: canary.first5xx,
        tZero,
        tLast: canary.last,
        taken: failed.takenAt,
        due: failed.window.startMs + INTERVAL_MS,
        passedAfterFail: measurements.filter((m) => m.phase === 'Successful' && m.takenAt > canary.first5xx!).length,
        failedErrorRate: failed.inputs.canary?.errorRate ?? null,
        abortAt: status.abort?.at ?? null,
      };
      results.push(result);
      console.log(
        `  run ${run}: t_fail→t_zero ${result.tZero - result.tFail} ms (detection ${result.taken - result.tFail}, actuation ${result.tZero - result.taken}); ` +
          `failed window ${failed.window.endMs - failed.window.startMs} ms at canary errorRate ${result.failedErrorRate?.toFixed(2)}`,
      );
      // The canary retires 1 s after the abort; wait so runs do not overlap.
      await waitUntil(`${version} retired`, async () => ((await runtime.target.observe()).some((state) => state.version === version && state.phase !== 'stopped') ? undefined : true), 30_000, 100);
    }
  } finally {
    await load?.stop();
    await engine.stop();
    await store.close();
    tmp.remove();
  }

  const column = (f: (r: RunResult) => number) => results.map(f);
  const rows: Array<[string, number[]]> = [
    ['t_fail -> t_zero (weight 0)', column((r) => r.tZero - r.tFail)],
    ['  detection: t_fail -> measurement taken', column((r) => r.taken - r.tFail)],
    ['    waiting for the measurement to be due', column((r) => r.due - r.tFail)],
    ['    pass lag after it was due', column((r) => r.taken - r.due)],
    ['  actuation: measurement -> weight 0', column((r) => r.tZero - r.taken)],
    ['t_fail -> last response from the canary', column((r) => r.tLast - r.tFail)],
    ['flip request -> first 5xx seen', column((r) => r.tFail - r.flipAt)],
  ];
  console.log(`\nper run (ms)                                 ${results.map((r) => `run ${r.run}`.padStart(7)).join('')}     median        max        min`);
  for (const [label, values] of rows) {
    console.log(`  ${label.padEnd(43)}${values.map((v) => String(v).padStart(7)).join('')}${num(median(values), 0, 11)}${num(max(values), 0, 11)}${num(min(values), 0, 11)}`);
  }
  if (notReady.length > 0) {
    console.log(`\n  ${notReady.length} attempt(s) stopped before the flip and are not samples:`);
    for (const entry of notReady) {
      const phase = entry.window ? ` (window ${entry.window.startMs % 1000} -> ${entry.window.endMs % 1000} ms past the second)` : '';
      console.log(`    ${entry.version}: ${entry.phase}${entry.noData ? ', no data' : ''}${phase}`);
    }
    console.log('    a builtin-metric window counts the 1 s buckets whose start lies in [start, end): a 1 s window starting just');
    console.log('    after a whole second sees only the few ms of the bucket that has just begun, so a canary can have no data in it.');
  }
  const totals = column((r) => r.tZero - r.tFail);
  const missed = results.filter((r) => r.passedAfterFail > 0).length;
  console.log(`\n  measurements after t_fail that still passed: ${missed} of ${results.length} runs needed a second window`);
  console.log(`  goal t_fail -> weight 0 <= 2000 ms: median ${median(totals).toFixed(0)} ms, max ${max(totals).toFixed(0)} ms -> ${max(totals) <= 2000 ? 'met' : 'NOT met'} in every run: ${totals.every((t) => t <= 2000)}`);
  console.log('\ncomputed from documented defaults (not measured): time from a hard failure to rollback ~ interval x failures needed');
  console.log('  Flagger, analysis.interval 60s (its default), threshold 1 (rollback at the first failed check): ~60 s (+ metric window)');
  console.log('  Flagger, its docs example interval 1m, threshold 5:                                         ~300 s');
  console.log("  Argo Rollouts, its docs example (success-rate: interval 5m, failureLimit 3 -> 4 failures):     ~1200 s");
  console.log(`  ratio, this run's median vs Flagger 60 s: ${(60_000 / median(totals)).toFixed(0)}x faster; vs Argo example 1200 s: ${(1_200_000 / median(totals)).toFixed(0)}x`);
}

await main();
