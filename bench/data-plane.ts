/**
 * Data-plane benchmark: direct to the demo service vs through the embedded proxy vs through HAProxy
 * (one thread, same 50/50 split over the same two demo backends), all on 127.0.0.1.
 *
 *   npx tsx bench/data-plane.ts [--rounds 3] [--seconds 5] [--connections 50] [--rate 1000]
 *                               [--latency-seconds 5] [--tool auto|wrk|autocannon]
 *                               [--targets direct,embedded,haproxy[,naive]] [--json FILE]
 *                               [--baseline path/to/other/src/proxy/index.ts] [--only throughput|latency]
 *
 * Every server is its own process: two demo backends, the embedded proxy (src/proxy, run with tsx
 * like the rest of the repo), HAProxy, and optionally `naive`, a plain node:http + http.request +
 * pipe proxy kept as a yardstick, and with --baseline another build of the embedded proxy (e.g. the
 * src/proxy/index.ts of an older checkout) as target `baseline`, for before/after in one run. The load generator is a separate process too: `wrk` (1 thread)
 * when it is on PATH (Debian: apt-get install -y wrk), else autocannon's CLI in a child Node
 * process. Nothing is pinned to a CPU.
 *
 * 1. Max throughput, closed loop (`connections` keep-alive connections): `rounds` rounds, the
 *    targets alternating inside each round (A B C A B C ...), each run preceded by a 1 s warm-up.
 *    Per run: req/s, p50/p99, errors, and the CPU (user + system, from /proc) the measured process
 *    spent per request — the proxy's own cost, whatever the load generator and backends use.
 *    During the proxy runs the TCP connections to the backends are counted from /proc/net/tcp, to
 *    show that upstream connections are reused (kept alive) and not opened per request.
 * 2. Latency at a fixed open-loop rate (default 1,000 req/s, generated here with microsecond
 *    resolution), also alternating by round; p50/p99 and what each proxy adds over direct.
 * Medians over the rounds are reported, with the ratios: embedded / HAProxy throughput (goal
 * >= 0.75), the single-thread capacity ratio (HAProxy CPU per request / embedded CPU per request),
 * and the p99 the embedded proxy adds at the fixed rate (goal <= 2 ms).
 *
 * HAProxy is used when `haproxy` is on PATH (Debian: apt-get install -y haproxy), else skipped:
 * `nbthread 1`, mode http, keep-alive to the backends with `http-reuse always`, the same two
 * backends with weights 50/50 (round-robin), no logging.
 * Every process it starts is stopped at the end; every run is bounded by its duration.
 * On a 2-core machine the load generator, the proxy and the backends share the CPUs (and other work
 * may too): read the medians and ratios, not single runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'hdr-histogram-js';
import { median as medianOfAll, numberArg, sleep, textArg } from './lib/common.js';
import { pickLoadTool, runLoad, type LoadResult, type LoadTool } from './lib/load-tools.js';
import { announceListening, canConnect, DEMO_APP, cpuSeconds, freePort, onPath, spawnListening, startDemoBackends, stopChild, type Child } from './lib/processes.js';

const HOST = '127.0.0.1';
const thisFile = fileURLToPath(import.meta.url);

// ---- child modes: the proxies in their own processes ---------------------------------------------

async function proxyChild(stable: string, canary: string, module?: string): Promise<void> {
  const { createProxy } = (module ? await import(pathToFileURL(path.resolve(module)).href) : await import('../src/proxy/index.js')) as typeof import('../src/proxy/index.js');
  const proxy = createProxy({ listen: { host: HOST, port: 0 }, service: 'bench' });
  const { port } = await proxy.start();
  proxy.setBackends({ stable: { version: 'stable', endpoints: [stable] }, canary: { version: 'canary', endpoints: [canary] } });
  proxy.setWeights({ canary: 50 });
  announceListening(port, () => proxy.stop());
}

/** The yardstick: the simplest keep-alive Node proxy (http.request + pipe), alternating 50/50. */
async function naiveChild(stable: string, canary: string): Promise<void> {
  const targets = [stable, canary].map((e) => ({ host: e.slice(0, e.lastIndexOf(':')), port: Number(e.slice(e.lastIndexOf(':') + 1)) }));
  const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256 });
  let n = 0;
  const server = http.createServer((req, res) => {
    const target = targets[n++ & 1]!;
    const upstream = http.request({ ...target, method: req.method, path: req.url, headers: req.headers, agent }, (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      upstreamRes.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  announceListening((server.address() as net.AddressInfo).port);
}

// ---- helpers -----------------------------------------------------------------------------------

/** Median of the finite values (a NaN, e.g. CPU where /proc is missing, is left out). */
const median = (xs: number[]): number => medianOfAll(xs.filter((x) => Number.isFinite(x)));

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await canConnect({ host: HOST, port })) return;
    await sleep(50);
  }
  throw new Error(`port ${port} never opened`);
}

async function startHaproxy(stablePort: number, canaryPort: number, dir: string): Promise<Child | null> {
  if (!onPath('haproxy', '-v')) return null;
  const port = await freePort(HOST);
  const cfg = path.join(dir, 'haproxy.cfg');
  // No `log` line anywhere: HAProxy logs nothing. Keep-alive both sides (the default
  // http-keep-alive mode), and idle server connections are shared by all clients (http-reuse always).
  writeFileSync(
    cfg,
    `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  http-reuse always
frontend fe
  bind ${HOST}:${port}
  default_backend be
backend be
  balance roundrobin
  server stable ${HOST}:${stablePort} weight 50
  server canary ${HOST}:${canaryPort} weight 50
`,
  );
  const child = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port);
  return { port, pid: child.pid!, stop: () => stopChild(child) };
}

// ---- upstream connection accounting (/proc/net/tcp) ---------------------------------------------

interface TcpSnapshot {
  established: Set<string>;
  timeWait: Set<string>;
}

/** TCP connections with one end on `ports` (loopback IPv4), keyed by their two ends. Null where /proc/net/tcp is missing. */
function tcpSnapshot(ports: ReadonlySet<number>): TcpSnapshot | null {
  let text: string;
  try {
    text = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return null;
  }
  const snap: TcpSnapshot = { established: new Set(), timeWait: new Set() };
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    const local = f[1]!;
    const remote = f[2]!;
    const localPort = parseInt(local.split(':')[1]!, 16);
    const remotePort = parseInt(remote.split(':')[1]!, 16);
    // Each loopback connection shows up from both ends: count the end whose peer is a backend port
    // (the proxy's side), or, in TIME-WAIT, whichever end holds it.
    const key = [local, remote].sort().join('-');
    if (f[3] === '01' && ports.has(remotePort)) snap.established.add(key);
    else if (f[3] === '06' && (ports.has(remotePort) || ports.has(localPort))) snap.timeWait.add(key);
  }
  return snap;
}

interface ConnectionUse {
  /** Connections to the backends opened during the run (new established + new TIME-WAIT). */
  opened: number;
  /** Connections to the backends open at the end of the run. */
  open: number;
}

function connectionUse(before: TcpSnapshot | null, after: TcpSnapshot | null): ConnectionUse | null {
  if (before === null || after === null) return null;
  let opened = 0;
  for (const k of after.established) if (!before.established.has(k)) opened++;
  for (const k of after.timeWait) if (!before.timeWait.has(k) && !before.established.has(k)) opened++;
  return { opened, open: after.established.size };
}

// ---- max throughput (closed loop, the load generator in its own process) -------------------------

function load(tool: LoadTool, port: number, connections: number, seconds: number): Promise<LoadResult> {
  return runLoad(tool, `http://${HOST}:${port}/`, connections, seconds);
}

interface Throughput extends LoadResult {
  /** CPU µs the measured process (the proxy, or the service when direct) spent per request. */
  cpuUsPerRequest: number;
  connections: ConnectionUse | null;
}

async function throughput(tool: LoadTool, target: Target, backendPorts: ReadonlySet<number>, seconds: number, connections: number): Promise<Throughput> {
  await load(tool, target.port, connections, 1); // warm-up: JIT, connection pools
  const before = target.proxy ? tcpSnapshot(backendPorts) : null;
  const cpu0 = cpuSeconds(target.pid);
  const r = await load(tool, target.port, connections, seconds);
  const cpu = cpuSeconds(target.pid) - cpu0;
  const after = target.proxy ? tcpSnapshot(backendPorts) : null;
  return { ...r, cpuUsPerRequest: (cpu * 1e6) / r.requests, connections: connectionUse(before, after) };
}

// ---- fixed-rate latency (open loop, generated in this process) -----------------------------------

interface Latency {
  sent: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
}

/** Open-loop fixed-rate load: requests are sent on schedule whatever the responses do. Bounded by `seconds`. */
async function fixedRate(port: number, rate: number, seconds: number): Promise<Latency> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const hist = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const total = Math.floor(rate * seconds);
  let sent = 0;
  let errors = 0;
  const once = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = http.get({ host: HOST, port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) errors++;
          hist.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
          resolve();
        });
      });
      req.setTimeout(10_000, () => req.destroy());
      req.on('error', () => {
        errors++;
        resolve();
      });
    });
  const pending: Promise<void>[] = [];
  // Warm the pool at the same rate for a second, unmeasured.
  await new Promise<void>((resolve) => {
    const start = performance.now();
    let n = 0;
    const timer = setInterval(() => {
      const due = Math.min(rate, Math.floor(((performance.now() - start) / 1000) * rate));
      while (n < due) {
        n++;
        void once();
      }
      if (n >= rate) {
        clearInterval(timer);
        setTimeout(resolve, 200);
      }
    }, 1);
  });
  hist.reset();
  errors = 0;
  await new Promise<void>((resolve) => {
    const start = performance.now();
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      while (sent < due) {
        sent++;
        pending.push(once());
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  await Promise.all(pending);
  agent.destroy();
  return { sent, p50: hist.getValueAtPercentile(50) / 1000, p99: hist.getValueAtPercentile(99) / 1000, max: hist.maxValue / 1000, errors };
}

// ---- main ----------------------------------------------------------------------------------------

interface Target {
  name: string;
  port: number;
  pid: number;
  /** A proxy in front of the backends (its upstream connections are counted). */
  proxy: boolean;
}

const f = (n: number, digits = 2, width = 10) => (Number.isFinite(n) ? n.toFixed(digits) : '-').padStart(width);

async function main(): Promise<void> {
  if (process.argv[2] === '--proxy-child') return proxyChild(process.argv[3]!, process.argv[4]!, process.argv[5]);
  if (process.argv[2] === '--naive-child') return naiveChild(process.argv[3]!, process.argv[4]!);
  const rounds = numberArg('rounds', 3);
  const seconds = numberArg('seconds', 5);
  const latencySeconds = numberArg('latency-seconds', 5);
  const connections = numberArg('connections', 50);
  const rate = numberArg('rate', 1000);
  const jsonOut = textArg('json', '');
  const wanted = new Set(textArg('targets', 'direct,embedded,haproxy').split(','));
  const toolArg = textArg('tool', 'auto');
  const only = textArg('only', '');
  if (only !== '' && only !== 'throughput' && only !== 'latency') throw new Error('--only must be throughput or latency');
  const doThroughput = only !== 'latency';
  const doLatency = only !== 'throughput';
  const tool = pickLoadTool(toolArg);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'rollgate-bench-'));
  const children: Child[] = [];
  try {
    const { stable, canary } = await startDemoBackends(children);
    const backendPorts = new Set([stable.port, canary.port]);
    const endpoints = [`${HOST}:${stable.port}`, `${HOST}:${canary.port}`];
    const targets: Target[] = [];
    if (wanted.has('direct')) targets.push({ name: 'direct', port: stable.port, pid: stable.pid, proxy: false });
    if (wanted.has('embedded')) {
      const embedded = await spawnListening(process.execPath, ['--import', 'tsx', thisFile, '--proxy-child', ...endpoints], {});
      children.push(embedded);
      targets.push({ name: 'embedded', port: embedded.port, pid: embedded.pid, proxy: true });
    }
    let haproxyVersion = '';
    if (wanted.has('haproxy')) {
      const haproxy = await startHaproxy(stable.port, canary.port, dir);
      if (haproxy) {
        children.push(haproxy);
        targets.push({ name: 'haproxy-1t', port: haproxy.port, pid: haproxy.pid, proxy: true });
        haproxyVersion = /version (\S+)/i.exec(spawnSync('haproxy', ['-v'], { encoding: 'utf8' }).stdout ?? '')?.[1] ?? '';
      } else {
        console.log('haproxy not found on PATH: skipped (apt-get install -y haproxy)');
      }
    }
    const baseline = textArg('baseline', '');
    if (baseline) {
      const child = await spawnListening(process.execPath, ['--import', 'tsx', thisFile, '--proxy-child', ...endpoints, baseline], {});
      children.push(child);
      targets.push({ name: 'baseline', port: child.port, pid: child.pid, proxy: true });
    }
    if (wanted.has('naive')) {
      const naive = await spawnListening(process.execPath, ['--import', 'tsx', thisFile, '--naive-child', ...endpoints], {});
      children.push(naive);
      targets.push({ name: 'naive-node', port: naive.port, pid: naive.pid, proxy: true });
    }
    if (targets.length === 0) throw new Error('no targets (--targets direct,embedded,haproxy,naive)');

    const load0 = os.loadavg();
    console.log(
      `data-plane bench: ${rounds} rounds x ${seconds}s per target (alternating), ${connections} connections, load generator ${tool}` +
        `${tool === 'wrk' ? ' (1 thread)' : ''} in its own process; fixed rate ${rate} req/s for ${latencySeconds}s per target per round`,
    );
    console.log(
      `machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average ${load0.map((x) => x.toFixed(2)).join(' ')}, node ${process.version}` +
        `${haproxyVersion ? `, haproxy ${haproxyVersion}` : ''}`,
    );

    const tp = new Map<string, Throughput[]>(targets.map((t) => [t.name, []]));
    const lat = new Map<string, Latency[]>(targets.map((t) => [t.name, []]));
    if (doThroughput) console.log('\nmax throughput, per run                    req/s    p50 ms    p99 ms    errors  CPU µs/req  upstream conns opened/open');
    for (let r = 1; doThroughput && r <= rounds; r++) {
      for (const t of targets) {
        const result = await throughput(tool, t, backendPorts, seconds, connections);
        tp.get(t.name)!.push(result);
        const conns = result.connections ? `${result.connections.opened}/${result.connections.open}` : '';
        console.log(
          `  round ${r} ${t.name.padEnd(26)}${f(result.rps, 0)}${f(result.p50)}${f(result.p99)}${String(result.errors).padStart(10)}${f(result.cpuUsPerRequest, 1, 12)}  ${conns}`,
        );
      }
    }
    if (doLatency) console.log(`\nlatency at ${rate} req/s, per run              p50 ms    p99 ms    max ms`);
    for (let r = 1; doLatency && r <= rounds; r++) {
      for (const t of targets) {
        const l = await fixedRate(t.port, rate, latencySeconds);
        lat.get(t.name)!.push(l);
        console.log(`  round ${r} ${t.name.padEnd(26)}${f(l.p50, 3)}${f(l.p99, 3)}${f(l.max, 3)}`);
      }
    }
    const load1 = os.loadavg();

    const med = (name: string, pick: (x: Throughput) => number) => median(tp.get(name)!.map(pick));
    const medLat = (name: string, pick: (x: Latency) => number) => median(lat.get(name)!.map(pick));
    if (doThroughput) {
      console.log(`\nmax throughput, median of ${rounds}              req/s    p50 ms    p99 ms    errors  CPU µs/req  1-core req/s`);
      for (const t of targets) {
        const cpu = med(t.name, (x) => x.cpuUsPerRequest);
        const errors = tp.get(t.name)!.reduce((s, x) => s + x.errors, 0);
        console.log(
          `  ${t.name.padEnd(34)}${f(med(t.name, (x) => x.rps), 0)}${f(med(t.name, (x) => x.p50))}${f(med(t.name, (x) => x.p99))}${String(errors).padStart(10)}${f(cpu, 1, 12)}${f(1e6 / cpu, 0, 14)}`,
        );
      }
    }
    if (doLatency) {
      console.log(`\nlatency at ${rate} req/s (open loop), median of ${rounds}    sent    p50 ms    p99 ms    max ms    errors`);
      for (const t of targets) {
        const ls = lat.get(t.name)!;
        console.log(
          `  ${t.name.padEnd(34)}${String(ls[0]!.sent).padStart(10)}${f(medLat(t.name, (x) => x.p50), 3)}${f(medLat(t.name, (x) => x.p99), 3)}${f(medLat(t.name, (x) => x.max), 3)}${String(ls.reduce((s, x) => s + x.errors, 0)).padStart(10)}`,
        );
      }

    }

    const ratios: Record<string, number> = {};
    const has = (name: string) => doThroughput && tp.has(name);
    console.log('\nratios (of medians)');
    const line = (label: string, value: number, note = '') => {
      ratios[label] = value;
      console.log(`  ${label.padEnd(44)}${f(value, 3)}${note ? `   ${note}` : ''}`);
    };
    if (has('embedded') && has('direct')) line('embedded / direct throughput', med('embedded', (x) => x.rps) / med('direct', (x) => x.rps));
    if (has('haproxy-1t') && has('direct')) line('haproxy / direct throughput', med('haproxy-1t', (x) => x.rps) / med('direct', (x) => x.rps));
    if (has('embedded') && has('haproxy-1t')) {
      line('embedded / haproxy throughput', med('embedded', (x) => x.rps) / med('haproxy-1t', (x) => x.rps), '(goal >= 0.75)');
      line(
        'haproxy / embedded CPU per request',
        med('haproxy-1t', (x) => x.cpuUsPerRequest) / med('embedded', (x) => x.cpuUsPerRequest),
        '(single-thread capacity ratio)',
      );
    }
    if (has('naive-node') && has('haproxy-1t')) line('naive node / haproxy throughput', med('naive-node', (x) => x.rps) / med('haproxy-1t', (x) => x.rps));
    if (has('baseline') && has('haproxy-1t')) line('baseline / haproxy throughput', med('baseline', (x) => x.rps) / med('haproxy-1t', (x) => x.rps));
    if (has('baseline') && has('embedded')) {
      line('embedded / baseline throughput', med('embedded', (x) => x.rps) / med('baseline', (x) => x.rps));
      line('embedded / baseline CPU per request', med('embedded', (x) => x.cpuUsPerRequest) / med('baseline', (x) => x.cpuUsPerRequest));
    }
    if (doLatency && lat.has('direct')) {
      const d50 = medLat('direct', (x) => x.p50);
      const d99 = medLat('direct', (x) => x.p99);
      for (const t of targets.filter((x) => x.proxy)) {
        const a50 = medLat(t.name, (x) => x.p50) - d50;
        const a99 = medLat(t.name, (x) => x.p99) - d99;
        ratios[`${t.name} added p50 ms`] = a50;
        ratios[`${t.name} added p99 ms`] = a99;
        console.log(`  ${`${t.name} added p50 / p99 ms`.padEnd(44)}${f(a50, 3)}${f(a99, 3)}${t.name === 'embedded' ? '   (goal p99 <= 2 ms)' : ''}`);
      }
    }
    for (const t of targets.filter((x) => x.proxy && doThroughput)) {
      const c = tp.get(t.name)!.map((x) => x.connections);
      if (c.some((x) => x === null)) continue;
      const opened = c.reduce((s, x) => s + x!.opened, 0);
      const requests = tp.get(t.name)!.reduce((s, x) => s + x.requests, 0);
      console.log(`  ${`${t.name} upstream connections opened`.padEnd(44)}${String(opened).padStart(10)}   for ${requests} requests (${opened < requests / 100 ? 'kept alive' : 'NOT reused'})`);
    }
    console.log(`\nload average at the end ${load1.map((x) => x.toFixed(2)).join(' ')}`);

    if (jsonOut) {
      writeFileSync(
        jsonOut,
        JSON.stringify(
          {
            settings: { rounds, seconds, latencySeconds, connections, rate, tool },
            machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, haproxy: haproxyVersion, loadavgStart: load0, loadavgEnd: load1 },
            throughput: Object.fromEntries(tp),
            latency: Object.fromEntries(lat),
            ratios,
          },
          null,
          2,
        ) + '\n',
      );
      console.log(`results written to ${jsonOut}`);
    }
  } finally {
    for (const child of children.reverse()) await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (!existsSync(DEMO_APP)) throw new Error('run from the repository (examples/demo-app/server.js not found)');
await main();
