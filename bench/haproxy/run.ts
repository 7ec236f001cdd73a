/**
 * HAProxy router benchmark (issue 6, item 7): throughput and p99 through HAProxy while Rollgate
 * changes the weights every second, against fixed weights, in the same run; and the embedded
 * router against HAProxy on the same machine.
 *
 *   npm run bench:haproxy                   # = npx tsx bench/haproxy/run.ts
 *   npx tsx bench/haproxy/run.ts [--rounds 5] [--seconds 3] [--connections 50] [--nbthread 1]
 *                                [--tool auto|wrk|autocannon] [--json FILE]
 *
 * Every server is its own process: two demo backends (examples/demo-app/server.js, one per
 * version), HAProxy 2.x with the configuration Rollgate renders (renderHaproxyConfig: a frontend
 * with the header-route rule, the weighted backend with 4 + 4 slots, the canary backend, no
 * health checks, `nbthread` 1 by default, no logging), and the embedded router (src/adapters/
 * routers/embedded.ts) in a child Node process. The load generator is `wrk -t1 -c50` when it is on
 * PATH (else autocannon's CLI), in its own process; each target gets a 1 s warm-up before its first run.
 *
 * Targets, alternating inside each round, the order rotating by round (A B C, B C A, C A B, ...):
 * - `haproxy-fixed`: HAProxy at canary weight 50;
 * - `haproxy-changing`: the same HAProxy while this process calls HaproxyRouter.setWeights() once a
 *   second, through 10 → 30 → 50 → 70 → 90 → 70 → 50 → 30 → ... (time average 50%; both backends
 *   stay far below their capacity at 90/10): the whole Rollgate path — read the servers' state,
 *   `set server ... weight`, update the state map, read back, write the state files;
 * - `embedded`: the embedded router at canary weight 50.
 * Reported: medians over the rounds of req/s, p50, p99, failed requests (non-2xx + socket errors),
 * the CPU per request of the proxy process (/proc), and how long each weight change took; ratios
 * changing / fixed (goal ≥ 0.95, no failed request) and embedded / HAProxy.
 *
 * Bounded: 3 s of warm-up + rounds × 3 × seconds of load (48 s by default) plus ~3 s to start; every process
 * it starts is stopped at the end, and its temp dir removed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedRouter } from '../../src/adapters/routers/embedded.js';
import { HaproxyRouter, writeHaproxyConfig } from '../../src/adapters/routers/haproxy.js';
import { median, num, numberArg, percentile, textArg } from '../lib/common.js';
import { pickLoadTool, runLoad, type LoadResult } from '../lib/load-tools.js';
import { announceListening, canConnect, cpuSeconds, freePort, onPath, spawnListening, startDemoBackends, stopChild, type Child } from '../lib/processes.js';

const HOST = '127.0.0.1';
const thisFile = fileURLToPath(import.meta.url);
const WEIGHT_CYCLE = [10, 30, 50, 70, 90, 70, 50, 30];

// ---- child mode: the embedded router in its own process ------------------------------------------

async function embeddedChild(stable: string, canary: string): Promise<void> {
  const router = new EmbeddedRouter({ service: 'bench', listen: { host: HOST, port: 0 } });
  const { port } = await router.start();
  await router.setBackends({ stable: { version: 'stable', endpoints: [stable] }, canary: { version: 'canary', endpoints: [canary] } });
  await router.setWeights({ canary: 50 });
  announceListening(port, () => router.close());
}

// ---- processes ------------------------------------------------------------------------------------

function findHaproxy(): string | null {
  for (const candidate of [process.env.ROLLGATE_TEST_HAPROXY, 'haproxy', '/usr/sbin/haproxy']) {
    if (candidate && onPath(candidate, '-v')) return candidate;
  }
  return null;
}

async function startHaproxy(bin: string, dir: string, nbthread: number): Promise<Child & { adminSocket: string; mapDir: string }> {
  const port = await freePort(HOST);
  const adminSocket = path.join(dir, 'admin.sock');
  const mapDir = path.join(dir, 'maps');
  const configFile = path.join(dir, 'haproxy.cfg');
  await writeHaproxyConfig(configFile, 'bench', { mapDir, frontend: { bind: `${HOST}:${port}` }, standalone: { adminSocket, nbthread } });
  // HAProxy's notices (e.g. "leaving forced maintenance" as slots get their addresses) are kept
  // for an error message rather than printed among the results.
  const child = spawn(bin, ['-f', configFile, '-db'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const deadline = Date.now() + 15_000;
  while (!((await canConnect({ path: adminSocket })) && (await canConnect({ host: HOST, port })))) {
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}:\n${log}`);
    if (Date.now() > deadline) throw new Error('haproxy did not start in 15 s');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { port, pid: child.pid!, adminSocket, mapDir, stop: () => stopChild(child) };
}

// ---- the run --------------------------------------------------------------------------------------

interface Run extends LoadResult {
  target: string;
  round: number;
  cpuUsPerRequest: number;
  /** Weight changes made during the run (haproxy-changing). */
  changes: number;
  changeMs: number[];
}

async function main(): Promise<void> {
  const rounds = numberArg('rounds', 5);
  const seconds = numberArg('seconds', 3);
  const connections = numberArg('connections', 50);
  const nbthread = numberArg('nbthread', 1);
  const toolArg = textArg('tool', 'auto');
  const jsonFile = textArg('json', '');
  const tool = pickLoadTool(toolArg);
  const load = (port: number, s: number) => runLoad(tool, `http://${HOST}:${port}/`, connections, s);
  const bin = findHaproxy();
  if (!bin) throw new Error('haproxy not found (apt-get install -y haproxy, or set ROLLGATE_TEST_HAPROXY)');
  const haproxyVersion = /version (\S+)/i.exec(spawnSync(bin, ['-v'], { encoding: 'utf8' }).stdout ?? '')?.[1] ?? '?';

  const dir = mkdtempSync(path.join(os.tmpdir(), 'rollgate-bench-haproxy-'));
  const children: Child[] = [];
  const load0 = os.loadavg()[0]!;
  const started = Date.now();
  try {
    const { stable, canary } = await startDemoBackends(children);
    const endpoints = [`${HOST}:${stable.port}`, `${HOST}:${canary.port}`];
    const haproxy = await startHaproxy(bin, dir, nbthread);
    children.push(haproxy);
    const router = new HaproxyRouter({ service: 'bench', adminSocket: haproxy.adminSocket, mapDir: haproxy.mapDir });
    await router.setBackends({ stable: { version: 'stable', endpoints: [endpoints[0]!] }, canary: { version: 'canary', endpoints: [endpoints[1]!] } });
    await router.setWeights({ canary: 50 });
    const embedded = await spawnListening(process.execPath, ['--import', 'tsx', thisFile, '--embedded-child', ...endpoints], {});
    children.push(embedded);

    console.log(
      `HAProxy router benchmark: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), node ${process.version}, haproxy ${haproxyVersion} nbthread ${nbthread}; ` +
        `${tool}${tool === 'wrk' ? ' -t1' : ''} -c${connections}, ${rounds} rounds × 3 targets × ${seconds} s (1 s warm-up each first); load average ${load0.toFixed(2)}`,
    );
    const targets = [
      { name: 'haproxy-fixed', port: haproxy.port, pid: haproxy.pid, changing: false },
      { name: 'haproxy-changing', port: haproxy.port, pid: haproxy.pid, changing: true },
      { name: 'embedded', port: embedded.port, pid: embedded.pid, changing: false },
    ];
    const runs: Run[] = [];
    for (let round = 1; round <= rounds; round++) {
      // The order rotates by round (A B C, B C A, C A B, ...) so no target always follows the same one.
      const order = targets.map((_, i) => targets[(i + round - 1) % targets.length]!);
      for (const t of order) {
        if (round === 1) await load(t.port, 1);
        let changes = 0;
        const changeMs: number[] = [];
        let changing = t.changing;
        let changer: Promise<void> = Promise.resolve();
        if (changing) {
          changer = (async () => {
            let i = 0;
            let next = Date.now() + 1000;
            while (changing) {
              await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
              if (!changing) break;
              next += 1000;
              const t0 = performance.now();
              await router.setWeights({ canary: WEIGHT_CYCLE[i++ % WEIGHT_CYCLE.length]! });
              changeMs.push(performance.now() - t0);
              changes++;
            }
          })();
        }
        const cpu0 = cpuSeconds(t.pid);
        const result = await load(t.port, seconds);
        const cpu1 = cpuSeconds(t.pid);
        changing = false;
        await changer;
        if (t.changing) await router.setWeights({ canary: 50 });
        const run: Run = { target: t.name, round, ...result, cpuUsPerRequest: ((cpu1 - cpu0) * 1e6) / result.requests, changes, changeMs };
        runs.push(run);
        console.log(
          `  round ${round} ${t.name.padEnd(17)} ${num(run.rps, 0, 8)} req/s  p50 ${num(run.p50, 2, 6)} ms  p99 ${num(run.p99, 2, 6)} ms  errors ${run.errors}` +
            `  CPU ${num(run.cpuUsPerRequest, 1, 5)} µs/req${t.changing ? `  ${changes} weight changes, ${num(median(changeMs), 1, 4)} ms median, ${num(Math.max(...changeMs), 1, 4)} ms max` : ''}`,
        );
      }
    }
    const of = (name: string) => runs.filter((r) => r.target === name);
    const med = (name: string, pick: (r: Run) => number) => median(of(name).map(pick));
    console.log('\nmedian of rounds           req/s   p50 ms   p99 ms  failed  CPU µs/req');
    for (const t of targets) {
      console.log(
        `  ${t.name.padEnd(19)} ${num(med(t.name, (r) => r.rps), 0, 9)} ${num(med(t.name, (r) => r.p50), 2, 8)} ${num(med(t.name, (r) => r.p99), 2, 8)} ${String(of(t.name).reduce((n, r) => n + r.errors, 0)).padStart(7)} ${num(med(t.name, (r) => r.cpuUsPerRequest), 1, 11)}`,
      );
    }
    const allChanges = of('haproxy-changing').flatMap((r) => r.changeMs);
    const changingOverFixed = med('haproxy-changing', (r) => r.rps) / med('haproxy-fixed', (r) => r.rps);
    const embeddedOverHaproxy = med('embedded', (r) => r.rps) / med('haproxy-fixed', (r) => r.rps);
    const failed = of('haproxy-changing').reduce((n, r) => n + r.errors, 0) + of('haproxy-fixed').reduce((n, r) => n + r.errors, 0);
    console.log(`\nweight changes: ${allChanges.length}, each ${num(median(allChanges), 1, 0)} ms median, ${num(percentile(allChanges, 99), 1, 0)} ms p99, ${num(Math.max(...allChanges), 1, 0)} ms max (read state, set weights, update map, read back, write files)`);
    console.log(`haproxy changing / fixed throughput: ${changingOverFixed.toFixed(3)} (goal >= 0.95)  p99 ${med('haproxy-changing', (r) => r.p99).toFixed(2)} vs ${med('haproxy-fixed', (r) => r.p99).toFixed(2)} ms`);
    console.log(`failed requests through HAProxy: ${failed} (goal 0)`);
    console.log(`embedded / haproxy throughput: ${embeddedOverHaproxy.toFixed(3)}  (haproxy / embedded CPU per request: ${(med('haproxy-fixed', (r) => r.cpuUsPerRequest) / med('embedded', (r) => r.cpuUsPerRequest)).toFixed(3)})`);
    console.log(`wall time ${((Date.now() - started) / 1000).toFixed(1)} s; load average ${load0.toFixed(2)} -> ${os.loadavg()[0]!.toFixed(2)}`);
    if (jsonFile) {
      writeFileSync(
        jsonFile,
        JSON.stringify(
          { machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, haproxy: haproxyVersion, nbthread, tool, connections, seconds, rounds }, runs, changingOverFixed, embeddedOverHaproxy, failed },
          null,
          2,
        ),
      );
    }
    await router.close();
    if (failed > 0) process.exitCode = 1;
  } finally {
    for (const child of children.reverse()) await child.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--embedded-child') {
  void embeddedChild(process.argv[3]!, process.argv[4]!);
} else {
  main().catch((error: Error) => {
    console.error(`bench:haproxy: ${error.message}`);
    process.exit(1);
  });
}
