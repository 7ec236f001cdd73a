/**
 * A throwaway NGINX for tests: the Debian binary started by the test itself as a master process
 * (`daemon off`, so it is our child) with its own prefix directory in tmp — configuration, pid
 * file, error log and temp directories all there, listening on 127.0.0.1:<free port>; never the
 * distribution's service or /etc/nginx. Stopped (SIGQUIT, then SIGKILL) and its directory removed
 * in `stop()`, killed at the latest when the test process exits.
 *
 * Which binary: ROLLGATE_TEST_NGINX (CI exports it, see .ci/run), else /usr/sbin/nginx, else
 * `nginx` on PATH. Without one the suites skip, stating why, except under CI=true (or with
 * ROLLGATE_TEST_NGINX naming a missing binary) where they fail.
 *
 * Also: a load client that behaves like a real HTTP/1.1 client on keep-alive connections.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { renderInclude } from '../../src/adapters/routers/nginx.js';
import type { Backend } from '../../src/ports/traffic-router.js';
import { HOST, sleep } from '../proxy/helpers.js';
import { describeWithSystemBinary, findSystemBinary, type SystemBinary } from '../helpers/system-binary.js';

const BINARY: SystemBinary = { envVar: 'ROLLGATE_TEST_NGINX', name: 'nginx', packagePath: '/usr/sbin/nginx', debianPackage: 'nginx', article: 'an NGINX' };

/** The binary to use, or why there is none. */
export const findNginx = () => findSystemBinary(BINARY);

/** `describe(name, body)` with the binary; otherwise skipped with the reason, or failing where it must run. */
export const describeWithNginx = (name: string, body: (bin: string) => void): void => describeWithSystemBinary(BINARY, name, body);

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface NginxServer {
  bin: string;
  /** Prefix directory (everything NGINX writes is in it). */
  dir: string;
  configFile: string;
  includeFile: string;
  pidFile: string;
  port: number;
  /** The NGINX master's pid. */
  pid: number;
  /** The error log's last lines (for failure messages). */
  errorLog(): string;
  stop(): Promise<void>;
}

export interface StartNginxOptions {
  bin: string;
  upstream: string;
  /** The first include file (the operator's bootstrap): stable only. */
  stable: Backend;
  /** Extra directives inside `http {}` of nginx.conf (e.g. a conflicting upstream for a test). */
  extraHttp?: string;
  workers?: number;
  /** Replaces the `include` + `server` part of http {} (e.g. the example's site file), given the include file and port. */
  site?: (includeFile: string, port: number) => string;
  /** Content of the first include file instead of a rendered stable-only one (e.g. the example's bootstrap). */
  bootstrap?: string;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** The nginx.conf an operator would write (cf. examples/nginx/nginx.conf), with every path in `dir`. */
function mainConfig(dir: string, port: number, options: StartNginxOptions, includeFile: string): string {
  const variable = `rollgate_${options.upstream.replace(/[.-]/g, '_')}`;
  return `# Test NGINX: everything under ${dir}
daemon off;
master_process on;
worker_processes ${options.workers ?? 2};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log ${process.env.NGINX_TEST_LOG_LEVEL ?? 'notice'};
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path ${dir}/tmp/body;
    proxy_temp_path ${dir}/tmp/proxy;
    fastcgi_temp_path ${dir}/tmp/fastcgi;
    uwsgi_temp_path ${dir}/tmp/uwsgi;
    scgi_temp_path ${dir}/tmp/scgi;
    ${options.extraHttp ?? ''}
${options.site ? options.site(includeFile, port) : `    include ${includeFile};
    server {
        listen ${HOST}:${port};
        location / {
            proxy_pass http://$${variable};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 3;
            proxy_connect_timeout 2s;
        }
    }`}
}
`;
}

export async function startNginx(options: StartNginxOptions): Promise<NginxServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-nginx-test-'));
  // Worker processes run as "nobody" when the test runs as root: they must reach the temp dirs.
  chmodSync(dir, 0o755);
  const includeFile = path.join(dir, 'rollgate', `${options.upstream}.conf`);
  mkdirSync(path.dirname(includeFile), { recursive: true });
  mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  writeFileSync(includeFile, options.bootstrap ?? renderInclude({ upstream: options.upstream, keepalive: 16, keepaliveTimeoutSeconds: 4 }, { stable: options.stable, canary: null, canaryWeight: 0, headerRoute: null }));
  const port = await freePort();
  const configFile = path.join(dir, 'nginx.conf');
  writeFileSync(configFile, mainConfig(dir, port, options, includeFile));
  const pidFile = path.join(dir, 'nginx.pid');
  const child = spawn(options.bin, ['-p', `${dir}/`, '-c', configFile, '-e', path.join(dir, 'error.log')], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => running.delete(child));
  const errorLog = () => {
    try {
      return readFileSync(path.join(dir, 'error.log'), 'utf8').split('\n').slice(-(Number(process.env.NGINX_TEST_LOG_LINES) || 30)).join('\n');
    } catch {
      return '';
    }
  };
  // Ready when it accepts connections.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`nginx exited with ${child.exitCode}: ${output}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, HOST, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not listen on ${HOST}:${port} in 10 s: ${output}\n${errorLog()}`);
    }
    await sleep(20);
  }
  return {
    bin: options.bin,
    dir,
    configFile,
    includeFile,
    pidFile,
    port,
    pid: child.pid!,
    errorLog,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGQUIT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Load

export interface LoadRecord {
  /** performance.now() when the request was first sent, and when it ended. */
  startedAt: number;
  endedAt: number;
  status: number;
  version: string | null;
  /** Set when the request failed for good. */
  error: string | null;
  /** Sent again after its reused keep-alive connection was closed before any response byte. */
  retried: boolean;
  /** Whether the (first) attempt went out on a reused keep-alive connection. */
  reused: boolean;
}

/** Errors of a request whose reused keep-alive connection the server closed before answering. */
const STALE_CONNECTION = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

const usedSockets = new WeakSet<object>();

type Attempt = { status: number; version: string | null; reused: boolean } | { error: NodeJS.ErrnoException; reused: boolean; gotResponse: boolean };

/** One attempt; `agent: false` opens a new connection just for it. */
function once(port: number, agent: http.Agent | false, headers: Record<string, string>): Promise<Attempt> {
  return new Promise((resolve) => {
    let gotResponse = false;
    const req = http.request({ host: HOST, port, path: '/', method: 'GET', agent, headers }, (res) => {
      gotResponse = true;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, version: (res.headers['x-demo-version'] as string | undefined) ?? null, reused }));
      res.on('error', (error) => resolve({ error, reused, gotResponse }));
    });
    // Node sets req.reusedSocket only when the agent hands out an idle socket at once, not when the
    // request waited for one to be freed (maxSockets reached): remember every socket used before.
    let reused = false;
    req.once('socket', (socket) => {
      reused = req.reusedSocket || usedSockets.has(socket);
      usedSockets.add(socket);
    });
    req.setTimeout(10_000, () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error, reused, gotResponse }));
    req.end();
  });
}

/**
 * One GET like a real client: on a REUSED keep-alive connection that the server closed before any
 * byte of the response ("socket hang up" / ECONNRESET / EPIPE), an idempotent request is sent once
 * more on a new connection (RFC 9112 §9.3.1; what browsers, curl, Go and undici do). Anything
 * else — an error on a fresh connection, a second failure, a timeout, a 5xx — is a failure.
 */
export async function realisticGet(port: number, agent: http.Agent, headers: Record<string, string> = {}): Promise<LoadRecord> {
  const startedAt = performance.now();
  const first = await once(port, agent, headers);
  const reused = first.reused;
  let result = first;
  let retried = false;
  if ('error' in first && first.reused && !first.gotResponse && (STALE_CONNECTION.has(first.error.code ?? '') || first.error.message === 'socket hang up')) {
    retried = true;
    // On a NEW connection: another idle pooled one may be just as stale.
    result = await once(port, false, { ...headers, connection: 'close' });
  }
  const endedAt = performance.now();
  if ('error' in result) return { startedAt, endedAt, status: 0, version: null, error: `${result.error.code ?? ''} ${result.error.message}`.trim(), retried, reused };
  return { startedAt, endedAt, status: result.status, version: result.version, error: null, retried, reused };
}

export interface Load {
  records: LoadRecord[];
  /** Resolves once `n` requests that STARTED at or after `since` have ended. */
  waitForCompletedSince(since: number, n: number, timeoutMs?: number): Promise<LoadRecord[]>;
  stop(): Promise<void>;
}

/** `concurrency` clients, each a loop of GETs on a shared keep-alive agent, until stop() (bounded by maxRequests). */
export function startLoad(port: number, options: { concurrency?: number; maxRequests?: number } = {}): Load {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency ?? 16 });
  const records: LoadRecord[] = [];
  const max = options.maxRequests ?? 50_000;
  let stopped = false;
  const loop = async () => {
    while (!stopped && records.length < max) records.push(await realisticGet(port, agent));
  };
  const workers = Array.from({ length: options.concurrency ?? 16 }, loop);
  return {
    records,
    async waitForCompletedSince(since, n, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const done = records.filter((r) => r.startedAt >= since);
        if (done.length >= n) return done.slice(0, n);
        if (Date.now() > deadline || stopped || records.length >= max) throw new Error(`only ${done.length} of ${n} requests completed since the change`);
        await sleep(10);
      }
    },
    async stop() {
      stopped = true;
      await Promise.all(workers);
      agent.destroy();
    },
  };
}
