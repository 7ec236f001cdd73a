/**
 * Control-plane benchmark: how many concurrent rollouts one process keeps on schedule on SQLite
 * with 1-second passes, against the raw SQLite compare-and-swap rate measured in the same run.
 *
 *   npx tsx bench/control-plane.ts [--max 10000] [--levels 500,750,1000,2000,5000,10000]
 *                                  [--seconds 20] [--warmup 5] [--warmup-max 120] [--cas-seconds 2]
 *                                  [--concurrency 32] [--no-stop]
 *
 * For each level N (ascending, up to --max; stops early once the controller falls far behind):
 * - a fresh SQLite file (WAL) in a temp dir with N Services (stable 1.0.0 recorded) and N
 *   Deployments of 2.0.0, created in batches of 500 per transaction;
 * - the real controller (createController: shard leases, timer queue, passes, status + audit
 *   writes, fencing check) over an in-memory runtime (bench/lib/memory-runtime.ts: no processes,
 *   no sockets; constant metric samples), so only the control plane is measured;
 * - strategy: setWeight 10, then an analysis step whose metric has interval 1s and count 1,000,000:
 *   every rollout needs one pass per second, and each pass records a measurement and writes
 *   its status;
 * - after every rollout is measuring, a warm-up until the statuses have their steady size (~20
 *   measurements per rollout: each metric keeps its last 20; at least --warmup, at most
 *   --warmup-max seconds), then a --seconds window: passes/s achieved vs N required,
 *   writes/s, pass lag (start of a pass minus when it was due) p50/p99/max, CPU of this process
 *   and event-loop utilisation;
 * - then, with the controller stopped, the yardstick on the same file: CAS updates/s
 *   (`UPDATE objects SET status=?, version=version+1 WHERE kind=? AND name=? AND version=?`, one
 *   statement per transaction, better-sqlite3 prepared statement), with the engine's own status
 *   payload and with a small one.
 *
 * Bounded: every level has a fixed number of rollouts and fixed durations (ramp-up times out
 * after 180 s). On a 2-core machine shared with other work, read the ratios, not the absolutes.
 */
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openSqliteStore } from '../src/adapters/store/sqlite.js';
import { DEPLOYMENT_LABELS, emptyDeploymentStatus } from '../src/core/rollout/index.js';
import { createController, createRuntimeRegistry } from '../src/engine/index.js';
import type { NewObject, Store } from '../src/ports/store.js';
import { flagArg, listArg, machineNote, max, numberArg, num, percentile, sleep, stderrLogger, tempDir } from './lib/common.js';
import { memoryRuntimeFactory } from './lib/memory-runtime.js';
import { casRate, type CasResult } from './lib/sqlite-cas.js';

const BATCH = 500;
const RAMP_TIMEOUT_MS = 180_000;

interface LevelResult {
  n: number;
  createSeconds: number;
  rampSeconds: number;
  warmupSeconds: number;
  reached: boolean;
  passesPerSecond: number;
  writesPerSecond: number;
  lagP50: number;
  lagP99: number;
  lagMax: number;
  /** CPU seconds of this process per wall second (1.0 = one core busy). */
  cpu: number;
  /** Event-loop utilisation, 0..1 (1: the main thread never idles). */
  elu: number;
  conflicts: number;
  errors: number;
  statusBytes: number;
  cpuMsPerPass: number;
  /** 1-minute load average of the machine at the end of the window (other work shares the cores). */
  load: number;
  casEngine: CasResult;
  casSmall: CasResult;
}

const name = (prefix: string, i: number) => `${prefix}-${String(i).padStart(6, '0')}`;

async function seed(store: Store, n: number): Promise<void> {
  const base: NewObject[] = [
    {
      kind: 'AnalysisTemplate',
      name: 'steady',
      spec: {
        metrics: [
          {
            name: 'error-rate',
            provider: { builtin: { metric: 'errorRate' } },
            interval: '1s',
            count: 1_000_000,
            successCondition: 'canary.errorRate <= baseline.errorRate + 0.01',
            failureLimit: 0,
            noDataPolicy: 'pause',
          },
        ],
      },
    },
    { kind: 'RolloutStrategy', name: 'steady', spec: { canary: { steps: [{ setWeight: 10 }, { analysis: { templates: [{ templateName: 'steady' }] } }] } } },
  ];
  await store.transaction(async (stores) => {
    for (const object of base) await stores.objects.create(object);
  });
  const since = new Date().toISOString();
  for (let from = 0; from < n; from += BATCH) {
    await store.transaction(async (stores) => {
      for (let i = from; i < Math.min(n, from + BATCH); i += 1) {
        const service = name('svc', i);
        await stores.objects.create({
          kind: 'Service',
          name: service,
          spec: { owner: 'bench', tier: 'standard', strategy: 'steady', target: { type: 'process', command: 'true' }, router: { type: 'embedded', listen: '127.0.0.1:0' } },
          status: { environments: { default: { stableVersion: '1.0.0', deployment: `${service}-v1`, since } } },
        });
        await stores.objects.create({
          kind: 'Deployment',
          name: name('roll', i),
          labels: { [DEPLOYMENT_LABELS.service]: service, [DEPLOYMENT_LABELS.environment]: 'default' },
          spec: { service, version: '2.0.0' },
          status: emptyDeploymentStatus() as unknown as Record<string, unknown>,
        });
      }
    });
  }
}

async function averageStatusBytes(store: Store, n: number): Promise<{ bytes: number; sample: string }> {
  const page = await store.read.objects.list('Deployment', { limit: Math.min(200, n) });
  let total = 0;
  let sample = '{}';
  for (const item of page.items) {
    const text = JSON.stringify(item.status);
    total += Buffer.byteLength(text);
    sample = text;
  }
  return { bytes: page.items.length ? total / page.items.length : 0, sample };
}

async function runLevel(n: number, options: { seconds: number; warmup: number; warmupMax: number; casSeconds: number; concurrency: number }): Promise<LevelResult> {
  const tmp = tempDir('rollgate-cp-');
  const file = path.join(tmp.dir, 'rollgate.db');
  let store: Store | null = await openSqliteStore({ file });
  let drain: NodeJS.Timeout | null = null;
  try {
    const created = performance.now();
    await seed(store, n);
    const createSeconds = (performance.now() - created) / 1000;

    const { factory, counters } = memoryRuntimeFactory();
    const controller = createController({ store, runtimes: createRuntimeRegistry(factory), logger: stderrLogger, concurrency: options.concurrency });
    // The controller keeps at most 10,000 lag samples; take them every 100 ms so none is dropped.
    let lags: number[] = [];
    drain = setInterval(() => {
      for (const lag of controller.stats.lagSamples.splice(0)) lags.push(lag);
    }, 100);

    const rampStart = performance.now();
    await controller.start();
    let reached = true;
    while (counters.measuring.size < n) {
      if (performance.now() - rampStart > RAMP_TIMEOUT_MS) {
        reached = false;
        break;
      }
      await sleep(100);
    }
    const rampSeconds = (performance.now() - rampStart) / 1000;
    // Warm-up: at least --warmup s, and until the statuses have grown to their steady size (each
    // metric keeps its last 20 measurements, so ~20 measurements per rollout), at most --warmup-max s.
    const warmStart = performance.now();
    while (reached) {
      const elapsed = (performance.now() - warmStart) / 1000;
      if (elapsed >= options.warmupMax || (elapsed >= options.warmup && counters.queries >= 20 * n)) break;
      await sleep(250);
    }
    const warmupSeconds = (performance.now() - warmStart) / 1000;

    // The measured window.
    lags.push(...controller.stats.lagSamples.splice(0));
    lags = [];
    const before = { ...controller.stats, lagSamples: [] };
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    await sleep(options.seconds * 1000);
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const elu = performance.eventLoopUtilization(elu0);
    const load = os.loadavg()[0]!;
    lags.push(...controller.stats.lagSamples.splice(0));
    const after = controller.stats;
    clearInterval(drain);
    drain = null;
    await controller.stop();

    const passes = after.passes - before.passes;
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const status = await averageStatusBytes(store, n);
    await store.close();
    store = null;

    const casEngine = casRate(file, { seconds: options.casSeconds, payload: status.sample });
    const casSmall = casRate(file, { seconds: options.casSeconds, payload: '{"phase":"Progressing"}' });
    return {
      n,
      createSeconds,
      rampSeconds,
      warmupSeconds,
      reached,
      passesPerSecond: passes / wall,
      writesPerSecond: (after.writes - before.writes) / wall,
      lagP50: percentile(lags, 50),
      lagP99: percentile(lags, 99),
      lagMax: max(lags),
      cpu: cpuSeconds / wall,
      elu: elu.utilization,
      conflicts: after.conflicts - before.conflicts,
      errors: after.errors - before.errors,
      statusBytes: status.bytes,
      cpuMsPerPass: passes > 0 ? (cpuSeconds * 1000) / passes : Number.NaN,
      load,
      casEngine,
      casSmall,
    };
  } finally {
    if (drain) clearInterval(drain);
    await store?.close();
    tmp.remove();
  }
}

async function main(): Promise<void> {
  const maxN = numberArg('max', 10_000);
  const levels = listArg('levels', [500, 750, 1000, 2000, 5000, 10_000]).filter((n) => n <= maxN);
  const seconds = numberArg('seconds', 20);
  const warmup = numberArg('warmup', 5);
  const warmupMax = numberArg('warmup-max', 120);
  const casSeconds = numberArg('cas-seconds', 2);
  const concurrency = numberArg('concurrency', 32);
  const keepGoing = flagArg('no-stop');

  console.log(`control-plane bench: SQLite file (WAL, synchronous=NORMAL), real controller, in-memory runtimes; analysis interval 1s`);
  console.log(
    `levels ${levels.join(', ')}; after every rollout is measuring, warm-up until ~20 measurements per rollout (${warmup}-${warmupMax} s), then a ${seconds} s window; pass concurrency ${concurrency}`,
  );
  console.log(`machine: ${machineNote()}`);
  console.log('');
  const header =
    '      N  create s    ramp s    warm s  passes/s  needed/s  achieved   writes/s  lag p50 ms  lag p99 ms  lag max ms   CPU core   loop util  CPU ms/pass  status KB  CAS/s same  CAS/s small  writes/CAS  load';
  console.log(header);

  const results: LevelResult[] = [];
  for (const n of levels) {
    const r = await runLevel(n, { seconds, warmup, warmupMax, casSeconds, concurrency });
    results.push(r);
    console.log(
      `${String(r.n).padStart(7)}${num(r.createSeconds, 1)}${num(r.rampSeconds, 1)}${num(r.warmupSeconds, 1)}${num(r.passesPerSecond)}${num(r.n)}${num(r.passesPerSecond / r.n, 3)}${num(r.writesPerSecond, 0, 11)}` +
        `${num(r.lagP50, 0, 12)}${num(r.lagP99, 0, 12)}${num(r.lagMax, 0, 12)}${num(r.cpu, 2, 11)}${num(r.elu, 2, 12)}${num(r.cpuMsPerPass, 3, 13)}${num(r.statusBytes / 1024, 1, 11)}` +
        `${num(r.casEngine.perSecond, 0, 12)}${num(r.casSmall.perSecond, 0, 13)}${num(r.writesPerSecond / r.casEngine.perSecond, 4, 12)}${num(r.load, 1, 6)}` +
        (r.reached ? '' : '   (ramp-up timed out: not every rollout reached its analysis)') +
        (r.conflicts || r.errors ? `   conflicts ${r.conflicts}, errors ${r.errors}` : ''),
    );
    const fellBehind = !r.reached || r.lagP99 > 10_000 || r.passesPerSecond < 0.5 * r.n;
    if (fellBehind && !keepGoing) {
      console.log(`  stopping the ramp: the controller fell far behind at N=${n} (use --no-stop to go on)`);
      break;
    }
  }

  // "On schedule": p99 pass lag <= 1 s (the goal's wording). A controller short of CPU also slows
  // every rollout down (the next pass is due 1 s after the last one ran), so the lag alone can stay
  // under 1 s while only ~half the needed passes happen: the strict reading also wants >= 95%.
  const byLag = results.filter((r) => r.reached && r.lagP99 <= 1000).at(-1);
  const strict = results.filter((r) => r.reached && r.lagP99 <= 1000 && r.passesPerSecond >= 0.95 * r.n).at(-1);
  console.log('');
  console.log(`largest N with pass lag p99 <= 1 s: ${byLag ? byLag.n : 'none'}; and with >= 95% of the needed passes/s: ${strict ? strict.n : 'none'} (goal 10,000; floor 1,000)`);
  for (const r of results) {
    console.log(
      `  N=${r.n}: ${r.passesPerSecond.toFixed(0)} passes/s of ${r.n} needed (${((100 * r.passesPerSecond) / r.n).toFixed(1)}%); writes/s = ` +
        `${(r.writesPerSecond / r.casEngine.perSecond).toFixed(4)} x raw CAS with the same payload (${r.casEngine.perSecond.toFixed(0)}/s), ` +
        `${(r.writesPerSecond / r.casSmall.perSecond).toFixed(4)} x raw CAS with a small payload (${r.casSmall.perSecond.toFixed(0)}/s)`,
    );
  }
  const capacity = results.map((r) => r.passesPerSecond / Math.max(r.cpu, 1e-9));
  console.log(`  passes per CPU-second of this process (what one whole core would sustain): ${capacity.map((c) => c.toFixed(0)).join(', ')}`);
}

await main();
