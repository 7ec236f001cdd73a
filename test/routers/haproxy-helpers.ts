/**
 * A throwaway HAProxy for tests: the Debian binary (`/usr/sbin/haproxy`, package `haproxy`) started
 * by the test itself in the foreground (`-db`) with a configuration rendered by
 * renderHaproxyConfig() in a fresh temp dir: admin socket, maps and server-state file in that dir,
 * the frontend on 127.0.0.1:<free port>. Never the distribution's service. Stopped (SIGTERM, then
 * SIGKILL) in `stop()`, its directory removed, and killed at the latest when the test process exits.
 *
 * Which binary: ROLLGATE_TEST_HAPROXY (CI exports it, see .ci/run), else `haproxy` on PATH, else
 * /usr/sbin/haproxy. Without one the suites skip, stating why, except under CI=true (or when
 * ROLLGATE_TEST_HAPROXY names a missing binary), where they fail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeHaproxyConfig, type HaproxyConfigOptions } from '../../src/adapters/routers/haproxy.js';
import { describeWithSystemBinary, findSystemBinary, type SystemBinary } from '../helpers/system-binary.js';

const BINARY: SystemBinary = { envVar: 'ROLLGATE_TEST_HAPROXY', name: 'haproxy', packagePath: '/usr/sbin/haproxy', debianPackage: 'haproxy', article: 'an HAProxy' };

/** The binary to use, or why there is none. */
export const findHaproxy = () => findSystemBinary(BINARY);

/** `describe(name, body)` with the binary; otherwise skipped with the reason, or failing where it must run. */
export const describeWithHaproxy = (name: string, body: (bin: string) => void): void => describeWithSystemBinary(BINARY, name, body);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const running = new Set<ChildProcess>();
let exitHook = false;
function killOnExit(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
}

export interface HaproxyServer {
  bin: string;
  /** Frontend port on 127.0.0.1. */
  port: number;
  adminSocket: string;
  mapDir: string;
  configFile: string;
  dir: string;
  /** What HAProxy printed (warnings, alerts), for failure messages. */
  log(): string;
  /** Stops HAProxy and starts it again on the same files (what a reload or a host restart does to runtime state). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartHaproxyOptions extends Partial<Omit<HaproxyConfigOptions, 'mapDir' | 'frontend' | 'standalone'>> {
  bin: string;
  service?: string;
  nbthread?: number;
  startTimeoutMs?: number;
}

async function canConnect(options: net.NetConnectOpts): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.createConnection(options);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startHaproxy(options: StartHaproxyOptions): Promise<HaproxyServer> {
  const { bin, service = 'demo', nbthread, startTimeoutMs = 15_000, ...render } = options;
  const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-haproxy-'));
  const port = await freePort();
  const adminSocket = path.join(dir, 'admin.sock');
  const mapDir = path.join(dir, 'maps');
  const configFile = path.join(dir, 'haproxy.cfg');
  await writeHaproxyConfig(configFile, service, {
    ...render,
    mapDir,
    frontend: { bind: `127.0.0.1:${port}` },
    standalone: { adminSocket, ...(nbthread !== undefined ? { nbthread } : {}) },
  });
  let child: ChildProcess | null = null;
  let output = '';
  const launch = async () => {
    output = '';
    const c = spawn(bin, ['-f', configFile, '-db'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    killOnExit(c);
    c.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`haproxy exited at start (${c.exitCode ?? c.signalCode}):\n${output}`);
      if ((await canConnect({ path: adminSocket })) && (await canConnect({ host: '127.0.0.1', port }))) return;
      if (Date.now() > deadline) throw new Error(`haproxy did not start within ${startTimeoutMs} ms:\n${output}`);
      await sleep(25);
    }
  };
  const halt = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await launch();
  } catch (error) {
    await halt();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    bin,
    port,
    adminSocket,
    mapDir,
    configFile,
    dir,
    log: () => output.split('\n').slice(-40).join('\n'),
    restart: async () => {
      await halt();
      await launch();
    },
    stop: async () => {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
