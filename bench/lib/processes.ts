/**
 * Child processes for the benchmarks: spawning servers that announce their port, stopping them,
 * free ports, connection probes, and the CPU a process has used (from /proc).
 *
 * A server child prints one line `{"msg":"listening","port":N}` on stdout once it listens
 * (`announceListening`); the parent starts it with `spawnListening` and stops it with `Child.stop()`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** examples/demo-app/server.js: the demo service the data-plane benchmarks route to. */
export const DEMO_APP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples/demo-app/server.js');

/** A process this benchmark started: where it listens, its pid (for cpuSeconds), and how to stop it. */
export interface Child {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Whether `command` runs (e.g. `onPath('wrk', '-v')`); its output is ignored. */
export function onPath(command: string, versionArg: string): boolean {
  return spawnSync(command, [versionArg], { stdio: 'ignore' }).error === undefined;
}

/** A TCP port free on `host` at the time of the call. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether a connection to `options` (TCP host/port or a Unix socket path) opens; it is closed at once. */
export async function canConnect(options: net.NetConnectOpts): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.createConnection(options);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc; NaN where unavailable. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after "(comm) ": state is index 0, so utime (14th overall) is index 11, stime index 12;
    // both in clock ticks of 1/100 s.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited (at once if it already has). */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Spawns a process that prints {"msg":"listening","port":N} on stdout (stderr is inherited);
 * resolves with its port, rejects if it exits first or has not announced a port in 15 s.
 */
export async function spawnListening(command: string, args: string[], env: Record<string, string>): Promise<Child> {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not start in 15 s`)), 15_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { msg?: string; port?: number };
        if (msg.msg === 'listening' && msg.port) {
          clearTimeout(timer);
          resolve(msg.port);
        }
      } catch {
        /* not ours */
      }
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
  return { port, pid: child.pid!, stop: () => stopChild(child) };
}

/**
 * Two demo backends (versions `stable` and `canary`), each its own process on a free port; each is
 * pushed on `children` as soon as it runs, so a caller's cleanup stops it even if the other fails.
 */
export async function startDemoBackends(children: Child[]): Promise<{ stable: Child; canary: Child }> {
  const stable = await spawnListening(process.execPath, [DEMO_APP], { PORT: '0', ROLLGATE_VERSION: 'stable' });
  children.push(stable);
  const canary = await spawnListening(process.execPath, [DEMO_APP], { PORT: '0', ROLLGATE_VERSION: 'canary' });
  children.push(canary);
  return { stable, canary };
}

/**
 * The child's side of spawnListening: prints the listening line, and on SIGTERM runs `stop`
 * (if any) and exits 0.
 */
export function announceListening(port: number, stop?: () => Promise<unknown>): void {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port })}\n`);
  process.on('SIGTERM', () => {
    if (stop) void stop().then(() => process.exit(0));
    else process.exit(0);
  });
}

/** Runs a command to completion (SIGKILL after `timeoutMs`); resolves with its stdout if it exits 0, else rejects with the start of its stderr. */
export function runProcess(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${err.slice(0, 500)}`));
    });
  });
}
