/**
 * Helpers for the crash test: a `rollgate serve` child process that can be SIGKILLed and started
 * again in the same directory, the HTTP API with the admin token, pid files, a process-table scan
 * for leftovers, traffic through a service's embedded router, and a read-only look at the SQLite
 * file while no control plane runs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import type { DeploymentStatus } from '../../src/core/rollout/index.js';
import { ROOT } from './helpers.js';

export { ROOT };
export const DEMO_APP = path.join(ROOT, 'examples/demo-app/server.js');
const CLI_ENTRY = path.join(ROOT, 'src/cli/main.ts');
const TSX_LOADER = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const execFileAsync = promisify(execFile);

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a value other than undefined/false/null; throws with `describe()` on timeout. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, options: { timeoutMs?: number; intervalMs?: number; describe?: () => Promise<string> | string } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(options.intervalMs ?? 50);
  }
  const detail = options.describe ? await Promise.resolve(options.describe()).catch((error: unknown) => String(error)) : '';
  throw new Error(`timed out waiting for ${what}${detail ? `: ${detail}` : ''}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}

/** A free TCP port on 127.0.0.1 (bound and released; fine for a test). */
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

// ------------------------------------------------------------------------------------------------
// rollgate serve

export interface Serve {
  child: ChildProcess;
  pid: number;
  url: string;
  output(): string;
  /** SIGKILL: no handler runs; resolves once the process is gone. */
  crash(): Promise<void>;
  /** SIGTERM (graceful stop); resolves with the exit code. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Every serve child started by this test file, so afterAll can kill what a failing test left. */
export const serveChildren = new Set<ChildProcess>();

/**
 * Starts `rollgate serve` in `cwd` (SQLite under .rollgate). Unlike startServe in helpers.ts it
 * takes the URL from this process's own log line and waits until config.json names it, so a
 * restart in a directory that already has a config.json never hands back the previous URL.
 */
export async function spawnServe(cwd: string): Promise<Serve> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('ROLLGATE_')) env[key] = value;
  const child = spawn(process.execPath, ['--import', TSX_LOADER, CLI_ENTRY, 'serve', '--listen', '127.0.0.1:0', '--log-level', 'info'], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  serveChildren.add(child);
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 2_000_000) output = output.slice(-1_000_000);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    serveChildren.delete(child);
    resolve(code);
  }));

  const configFile = path.join(cwd, '.rollgate', 'config.json');
  let url: string | null = null;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
    const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*"msg":"rollgate API listening"/.exec(output);
    if (match && existsSync(configFile)) {
      try {
        if ((JSON.parse(readFileSync(configFile, 'utf8')) as { server?: string }).server === match[1]) {
          url = match[1]!;
          break;
        }
      } catch {
        // being replaced: read again
      }
    }
    await sleep(25);
  }
  if (!url) {
    child.kill('SIGKILL');
    throw new Error(`rollgate serve did not start in ${cwd}:\n${output}`);
  }
  return {
    child,
    pid: child.pid!,
    url,
    output: () => output,
    exited,
    crash: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

// ------------------------------------------------------------------------------------------------
// HTTP API with the admin token serve saved in config.json

export interface StoredDeployment {
  metadata: { name: string; version: number };
  spec: Record<string, unknown>;
  status: DeploymentStatus;
}

export class Api {
  constructor(private readonly cwd: string) {}

  private config(): { server: string; token: string } {
    return JSON.parse(readFileSync(path.join(this.cwd, '.rollgate', 'config.json'), 'utf8')) as { server: string; token: string };
  }

  async request(method: string, route: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const { server, token } = this.config();
    const response = await fetch(`${server}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(5_000),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : null };
  }

  async createDeployment(name: string, service: string, version: string, env?: Record<string, string>): Promise<void> {
    const response = await this.request('POST', '/api/v1/deployments', {
      apiVersion: 'rollgate.dev/v1alpha1',
      kind: 'Deployment',
      metadata: { name },
      spec: { service, version, ...(env ? { env } : {}) },
    });
    if (response.status !== 201) throw new Error(`create Deployment ${name}: HTTP ${response.status} ${JSON.stringify(response.body)}`);
  }

  async deployment(name: string): Promise<StoredDeployment> {
    const response = await this.request('GET', `/api/v1/deployments/${name}`);
    if (response.status !== 200) throw new Error(`get Deployment ${name}: HTTP ${response.status} ${JSON.stringify(response.body)}`);
    return response.body as StoredDeployment;
  }

  /** Queues promote / abort / ... through POST /api/v1/deployments/{name}/operations; returns the operation id. */
  async operate(name: string, type: string, reason: string): Promise<string> {
    const response = await this.request('POST', `/api/v1/deployments/${name}/operations`, { type, reason });
    if (response.status !== 202) throw new Error(`${type} ${name}: HTTP ${response.status} ${JSON.stringify(response.body)}`);
    return (response.body as { operationId: string }).operationId;
  }
}

// ------------------------------------------------------------------------------------------------
// The SQLite file, read while no control plane runs (between a crash and the restart)

/** The Deployment's stored status exactly as the killed process left it. */
export function peekDeploymentStatus(cwd: string, name: string): DeploymentStatus | null {
  const db = new Database(path.join(cwd, '.rollgate', 'rollgate.db'), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare("SELECT status FROM objects WHERE kind = 'Deployment' AND name = ?").get(name) as { status: string | null } | undefined;
    return row?.status ? (JSON.parse(row.status) as DeploymentStatus) : null;
  } finally {
    db.close();
  }
}

// ------------------------------------------------------------------------------------------------
// Instances: pid files and the process table

export interface PidFileEntry {
  version: string;
  pid: number;
  port: number;
  instanceId: string;
  ownerPid: number;
}

/** The pid files of a service's instances (`.rollgate/services/<service>/pids/*.json`). */
export function pidFiles(cwd: string, service: string): PidFileEntry[] {
  const dir = path.join(cwd, '.rollgate', 'services', service, 'pids');
  if (!existsSync(dir)) return [];
  const entries: PidFileEntry[] = [];
  for (const file of readdirSync(dir)) {
    if (!file.endsWith('.json')) continue;
    try {
      const record = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as PidFileEntry;
      entries.push({ version: record.version, pid: record.pid, port: record.port, instanceId: record.instanceId, ownerPid: record.ownerPid });
    } catch {
      // written atomically; a vanished file is simply gone
    }
  }
  return entries.sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
}

/** version -> pid of the instance(s) the pid files name. */
export function pidsByVersion(cwd: string, service: string): Record<string, number[]> {
  const result: Record<string, number[]> = {};
  for (const entry of pidFiles(cwd, service)) (result[entry.version] ??= []).push(entry.pid);
  return result;
}

export interface ProcessEntry {
  pid: number;
  pgid: number;
  args: string;
}

/**
 * Live processes whose command line contains `marker` (zombies excluded). Asynchronous on purpose:
 * a synchronous `ps` would block this process's event loop — and with it the load generator,
 * leaving analysis windows without traffic.
 */
export async function processesWith(marker: string): Promise<ProcessEntry[]> {
  const { stdout } = await execFileAsync('ps', ['-eo', 'pid=,pgid=,stat=,args='], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  const found: ProcessEntry[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    if (!match || !match[4]!.includes(marker) || match[3]!.startsWith('Z')) continue;
    if (match[4]!.startsWith('ps ')) continue;
    found.push({ pid: Number(match[1]), pgid: Number(match[2]), args: match[4]! });
  }
  return found;
}

/** SIGKILLs the process groups of every live process whose command line contains `marker`. */
export async function killProcessesWith(marker: string): Promise<number> {
  const groups = new Set((await processesWith(marker)).map((entry) => entry.pgid));
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return groups.size;
}

// ------------------------------------------------------------------------------------------------
// Traffic through the router

export interface VersionCounts {
  total: number;
  /** Requests that got no answer (router down) or a 5xx. */
  failed: number;
  byVersion: Record<string, number>;
  /** Answers by HTTP status, e.g. `{200: 812, 503: 3}`. */
  byStatus: Record<number, number>;
  /** Connection errors (nothing listening: the control plane, and with it the router, is down). */
  unreachable: number;
}

function get(agent: http.Agent, port: number, counts: VersionCounts): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/', agent, timeout: 5_000 }, (response) => {
      const version = String(response.headers['x-rollgate-version'] ?? 'none');
      counts.byVersion[version] = (counts.byVersion[version] ?? 0) + 1;
      const code = response.statusCode ?? 0;
      counts.byStatus[code] = (counts.byStatus[code] ?? 0) + 1;
      const ok = code > 0 && code < 500;
      if (!ok) counts.failed += 1;
      response.resume();
      response.on('end', () => resolve(ok));
      response.on('error', () => resolve(false));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', () => {
      counts.failed += 1;
      counts.unreachable += 1;
      resolve(false);
    });
  });
}

/**
 * Background traffic: `concurrency` requests in flight until stopped. While the router is down
 * (control plane killed) each worker waits 25 ms between failed attempts.
 */
export function startLoad(port: number, concurrency = 4) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const counts: VersionCounts = { total: 0, failed: 0, byVersion: {}, byStatus: {}, unreachable: 0 };
  let running = true;
  const workers = Array.from({ length: concurrency }, async () => {
    while (running) {
      counts.total += 1;
      if (!(await get(agent, port, counts))) await sleep(25);
      else await sleep(2);
    }
  });
  return {
    counts,
    async stop() {
      running = false;
      await Promise.all(workers);
      agent.destroy();
    },
  };
}

/** `total` requests, `concurrency` at a time, on fresh keep-alive connections; counts by X-Rollgate-Version. */
export async function burst(port: number, total: number, concurrency = 8): Promise<VersionCounts> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const counts: VersionCounts = { total: 0, failed: 0, byVersion: {}, byStatus: {}, unreachable: 0 };
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next += 1;
        counts.total += 1;
        await get(agent, port, counts);
      }
    }),
  );
  agent.destroy();
  return counts;
}
