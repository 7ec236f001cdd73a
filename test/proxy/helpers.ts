/**
 * Test helpers for the data plane: in-process upstreams, demo-app child processes and a bounded
 * HTTP client. Everything binds to and talks to 127.0.0.1 only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';

export const HOST = '127.0.0.1';
const repoRoot = path.resolve(import.meta.dirname, '..', '..');

export interface Upstream {
  version: string;
  port: number;
  endpoint: string;
  /** Requests received so far. */
  received: number;
  /** Requests whose client (the proxy) went away before the response ended. */
  aborted: number;
  close(): Promise<void>;
}

/**
 * An in-process upstream reporting `version` in X-Test-Version / X-Demo-Version.
 * Query parameters on any path: status=NNN, delayMs=N. Paths: /echo (streams the body back),
 * /headers (request line and headers as JSON), /stream?chunks=N&intervalMs=M, /destroy-mid
 * (sends headers and one chunk, then destroys the socket).
 */
export async function startUpstream(version: string): Promise<Upstream> {
  const sockets = new Set<import('node:net').Socket>();
  const state = { received: 0, aborted: 0 };
  const server = http.createServer((req, res) => {
    state.received++;
    res.on('close', () => {
      if (!res.writableFinished) state.aborted++;
    });
    const url = new URL(req.url ?? '/', 'http://x');
    const common = { 'x-test-version': version, 'x-demo-version': version };
    if (url.pathname === '/echo') {
      res.writeHead(200, { ...common, 'content-type': 'application/octet-stream' });
      req.pipe(res);
      return;
    }
    req.resume();
    if (url.pathname === '/headers') {
      const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, version });
      res.writeHead(200, { ...common, 'content-type': 'application/json' });
      res.end(body);
      return;
    }
    if (url.pathname === '/stream') {
      const chunks = Number(url.searchParams.get('chunks') ?? 10);
      const interval = Number(url.searchParams.get('intervalMs') ?? 10);
      res.writeHead(200, { ...common, 'content-type': 'text/plain' });
      let sent = 0;
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        res.write(`chunk ${sent}\n`);
        if (++sent >= chunks) {
          clearInterval(timer);
          res.end();
        }
      }, interval);
      res.on('close', () => clearInterval(timer));
      return;
    }
    if (url.pathname === '/destroy-mid') {
      res.writeHead(200, { ...common, 'content-type': 'text/plain' });
      res.write('partial\n');
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    const status = Number(url.searchParams.get('status') ?? 200);
    const delayMs = Number(url.searchParams.get('delayMs') ?? 0);
    const respond = () => {
      if (res.destroyed) return;
      const body = JSON.stringify({ version, path: url.pathname });
      res.writeHead(status, { ...common, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (delayMs > 0) setTimeout(respond, delayMs);
    else respond();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    version,
    port,
    endpoint: `${HOST}:${port}`,
    get received() {
      return state.received;
    },
    get aborted() {
      return state.aborted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

export interface DemoProcess {
  version: string;
  port: number;
  endpoint: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Spawns examples/demo-app/server.js on a free port (PORT=0) and waits for its "listening" line. */
export async function spawnDemo(version: string, env: Record<string, string> = {}): Promise<DemoProcess> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'examples/demo-app/server.js')], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', ROLLGATE_VERSION: version, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo-app ${version} did not start in 10 s: ${stderr}`)), 10_000);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { msg?: string; port?: number };
        if (msg.msg === 'listening' && typeof msg.port === 'number') {
          clearTimeout(timer);
          resolve(msg.port);
        }
      } catch {
        /* not our line */
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`demo-app ${version} exited with ${code}: ${stderr}`));
    });
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    version,
    port,
    endpoint: `${HOST}:${port}`,
    child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 6_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  path?: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
  agent?: http.Agent;
  /** Whole-request timeout; default 10 s. */
  timeoutMs?: number;
}

/** One HTTP request to 127.0.0.1:port; rejects on a connection error or timeout. */
export function request(port: number, options: RequestOptions = {}): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    const req = http.request(
      { host: HOST, port, method: options.method ?? 'GET', path: options.path ?? '/', headers: options.headers, agent: options.agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      },
    );
    const timer = setTimeout(() => req.destroy(new Error('request timed out')), options.timeoutMs ?? 10_000);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(options.body);
  });
}

/**
 * Sends `n` requests with `concurrency` clients in parallel (each client a sequential loop) and
 * returns the replies in completion order. Bounded by `n`; each request by its timeout.
 */
export async function sendMany(
  port: number,
  n: number,
  options: RequestOptions & { concurrency?: number; onEach?: (i: number) => void } = {},
): Promise<Reply[]> {
  const agent = options.agent ?? new http.Agent({ keepAlive: true, maxSockets: options.concurrency ?? 16 });
  const replies: Reply[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      options.onEach?.(i);
      replies.push(await request(port, { ...options, agent }));
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 16, n) }, worker));
  } finally {
    if (!options.agent) agent.destroy();
  }
  return replies;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A manual clock (ms since epoch) for deterministic statistics. */
export function fakeClock(startMs = Date.UTC(2030, 0, 1, 12, 0, 0)) {
  let now = startMs;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
    set(ms: number) {
      now = ms;
    },
  };
}

/** Polls `condition` every 5 ms until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}
