/**
 * Data-plane benchmark: direct to the demo service vs through the embedded proxy vs through HAProxy
 * (one thread, same 50/50 split), all on 127.0.0.1.
 *
 *   npx tsx bench/data-plane.ts [--seconds 5] [--connections 50] [--rate 1000]
 *
 * Prints, side by side:
 * - max throughput (autocannon, keep-alive, `connections` concurrent) with p50/p99;
 * - latency at a fixed open-loop rate (default 1,000 req/s) measured here with microsecond
 *   resolution (autocannon's histogram has 1 ms resolution), and the p50/p99 each proxy adds
 *   over direct;
 * - ratios: embedded / HAProxy throughput (goal ≥ 0.75) and added p99 at 1,000 req/s (goal ≤ 2 ms).
 *
 * HAProxy is used when `haproxy` is on PATH (Debian: apt-get install -y haproxy), else skipped.
 * Every process it starts is stopped at the end; each run is bounded by --seconds.
 * On a 2-core machine the load generator, the proxy and the upstreams share the CPUs: read the
 * ratios, not the absolute numbers.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { build } from 'hdr-histogram-js';

const HOST = '127.0.0.1';
const thisFile = fileURLToPath(import.meta.url);
const repoRoot = path.resolve(path.dirname(thisFile), '..');

// ---- child mode: the embedded proxy in its own process ------------------------------------------

async function proxyChild(stable: string, canary: string): Promise<void> {
  const { createProxy } = await import('../src/proxy/index.js');
  const proxy = createProxy({ listen: { host: HOST, port: 0 }, service: 'bench' });
  const { port } = await proxy.start();
  proxy.setBackends({ stable: { version: 'stable', endpoints: [stable] }, canary: { version: 'canary', endpoints: [canary] } });
  proxy.setWeights({ canary: 50 });
  process.stdout.write(JSON.stringify({ msg: 'listening', port }) + '\n');
  process.on('SIGTERM', () => {
    void proxy.stop().then(() => process.exit(0));
  });
}

// ---- helpers -----------------------------------------------------------------------------------

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i === -1 ? fallback : Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

interface Child {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** CPU seconds (user + system) a process has used so far, from /proc; NaN where unavailable. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after "(comm) ": state is index 0, so utime (14th overall) is index 11, stime index 12.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

async function spawnListening(command: string, args: string[], env: Record<string, string>): Promise<Child> {
  const child: ChildProcess = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not start`)), 15_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { msg?: string; port?: number };
        if (msg.msg === 'listening' && msg.port) {
          clearTimeout(timer);
          resolve(msg.port);
        }
      } catch {
        /* ignore */
      }
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
  return { port, pid: child.pid!, stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, HOST, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} never opened`);
}

async function startHaproxy(stablePort: number, canaryPort: number, dir: string): Promise<Child | null> {
  if (spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status !== 0) return null;
  const port = await freePort();
  const cfg = path.join(dir, 'haproxy.cfg');
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

interface Throughput {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU µs the measured process (proxy, or the service when direct) spent per request. */
  cpuUsPerRequest: number;
}

async function throughput(port: number, pid: number, seconds: number, connections: number): Promise<Throughput> {
  // Warm-up (JIT, connection pools), then the measured run.
  await autocannon({ url: `http://${HOST}:${port}/`, connections, duration: 1 });
  const cpu0 = cpuSeconds(pid);
  const r = await autocannon({ url: `http://${HOST}:${port}/`, connections, duration: seconds });
  const cpu = cpuSeconds(pid) - cpu0;
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx + r.timeouts,
    cpuUsPerRequest: (cpu * 1e6) / r.requests.total,
  };
}

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
  let done = 0;
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
        pending.push(once().then(() => void done++));
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

const f = (n: number, digits = 2) => n.toFixed(digits).padStart(10);

async function main(): Promise<void> {
  if (process.argv[2] === '--proxy-child') return proxyChild(process.argv[3]!, process.argv[4]!);
  const seconds = arg('seconds', 5);
  const connections = arg('connections', 50);
  const rate = arg('rate', 1000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rollgate-bench-'));
  const children: Child[] = [];
  try {
    const demo = path.join(repoRoot, 'examples/demo-app/server.js');
    const stable = await spawnListening(process.execPath, [demo], { PORT: '0', ROLLGATE_VERSION: 'stable' });
    children.push(stable);
    const canary = await spawnListening(process.execPath, [demo], { PORT: '0', ROLLGATE_VERSION: 'canary' });
    children.push(canary);
    const embedded = await spawnListening(process.execPath, ['--import', 'tsx', thisFile, '--proxy-child', `${HOST}:${stable.port}`, `${HOST}:${canary.port}`], {});
    children.push(embedded);
    const haproxy = await startHaproxy(stable.port, canary.port, dir);
    if (haproxy) children.push(haproxy);

    const targets: Array<[string, number, number]> = [
      ['direct', stable.port, stable.pid],
      ['embedded', embedded.port, embedded.pid],
      ...(haproxy ? ([['haproxy-1t', haproxy.port, haproxy.pid]] as Array<[string, number, number]>) : []),
    ];
    console.log(`data-plane bench: ${seconds}s runs, ${connections} connections, fixed rate ${rate} req/s, ${os.cpus().length} CPUs, node ${process.version}`);
    if (!haproxy) console.log('haproxy not found on PATH: skipped (apt-get install -y haproxy)');

    const tp = new Map<string, Throughput>();
    const lat = new Map<string, Latency>();
    for (const [name, port, pid] of targets) tp.set(name, await throughput(port, pid, seconds, connections));
    for (const [name, port] of targets) lat.set(name, await fixedRate(port, rate, seconds));

    console.log('\nmax throughput (autocannon)        req/s    p50 ms    p99 ms    errors  CPU µs/req');
    for (const [name] of targets) {
      const t = tp.get(name)!;
      console.log(`  ${name.padEnd(28)}${f(t.rps, 0)}${f(t.p50)}${f(t.p99)}${String(t.errors).padStart(10)}${f(t.cpuUsPerRequest, 1)}`);
    }
    console.log(`\nlatency at ${rate} req/s (open loop)    sent    p50 ms    p99 ms    max ms    errors`);
    for (const [name] of targets) {
      const l = lat.get(name)!;
      console.log(`  ${name.padEnd(28)}${String(l.sent).padStart(10)}${f(l.p50, 3)}${f(l.p99, 3)}${f(l.max, 3)}${String(l.errors).padStart(10)}`);
    }
    const direct = lat.get('direct')!;
    console.log('\nratios');
    console.log(`  embedded / direct throughput        ${f(tp.get('embedded')!.rps / tp.get('direct')!.rps, 3)}`);
    if (haproxy) {
      console.log(`  haproxy / direct throughput         ${f(tp.get('haproxy-1t')!.rps / tp.get('direct')!.rps, 3)}`);
      console.log(`  embedded / haproxy throughput       ${f(tp.get('embedded')!.rps / tp.get('haproxy-1t')!.rps, 3)}   (goal >= 0.75)`);
      console.log(`  haproxy / embedded CPU per request  ${f(tp.get('haproxy-1t')!.cpuUsPerRequest / tp.get('embedded')!.cpuUsPerRequest, 3)}   (single-thread capacity ratio)`);
    }
    for (const [name] of targets.slice(1)) {
      const l = lat.get(name)!;
      console.log(`  ${(name + ' added p50 / p99 ms').padEnd(36)}${f(l.p50 - direct.p50, 3)}${f(l.p99 - direct.p99, 3)}${name === 'embedded' ? '   (goal p99 <= 2 ms)' : ''}`);
    }
  } finally {
    for (const child of children.reverse()) await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
