/**
 * In-memory DeployTarget for engine unit tests. Each instance of a version is a tiny HTTP server
 * on 127.0.0.1 (port 0) inside the test process, so "endpoints answer HTTP" holds and a router can
 * be pointed at them. Runs the DeployTarget contract (test/targets/fake.test.ts).
 *
 * A version fails to start when its ensure env has `UNHEALTHY=1` (configurable with `failWhen`).
 * Test hooks: `setHealth` (a running version turns unhealthy and back), `crash` (counts a restart),
 * `calls` (what the engine asked for), `failNextEnsure`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DeployTarget, EnsureRequest, InstancePhase, TargetCapabilities, VersionState } from '../../src/ports/deploy-target.js';

export interface FakeDeployTargetOptions {
  capabilities?: Partial<TargetCapabilities>;
  /** Delay before a version is reported healthy (ms); default 0. */
  startDelayMs?: number;
  /** Whether an ensure request fails to become healthy; default: env UNHEALTHY=1. */
  failWhen?: (request: EnsureRequest) => boolean;
}

export interface FakeCall {
  method: 'ensure' | 'observe' | 'retire' | 'logs' | 'close';
  version?: string;
  replicas?: number;
}

interface FakeVersion {
  request: EnsureRequest;
  servers: http.Server[];
  endpoints: string[];
  phase: InstancePhase;
  healthy: boolean;
  restarts: number;
  message?: string;
  log: string[];
}

export class FakeDeployTarget implements DeployTarget {
  readonly capabilities: TargetCapabilities;
  readonly calls: FakeCall[] = [];
  private readonly versions = new Map<string, FakeVersion>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly failWhen: (request: EnsureRequest) => boolean;
  private readonly startDelayMs: number;
  private ensureFailures: Error[] = [];

  constructor(options: FakeDeployTargetOptions = {}) {
    this.capabilities = Object.freeze({ replicas: true, logs: true, ...options.capabilities });
    this.failWhen = options.failWhen ?? ((request) => request.env?.UNHEALTHY === '1');
    this.startDelayMs = options.startDelayMs ?? 0;
  }

  async ensure(request: EnsureRequest): Promise<VersionState> {
    this.calls.push({ method: 'ensure', version: request.version, replicas: request.replicas });
    return this.withLock(request.version, async () => {
      const failure = this.ensureFailures.shift();
      if (failure) throw failure;
      const replicas = this.capabilities.replicas ? request.replicas : 1;
      const existing = this.versions.get(request.version);
      if (existing && existing.phase !== 'failed') {
        existing.request = { ...request };
        while (existing.servers.length > replicas) await closeServer(existing.servers.pop()!);
        existing.endpoints = existing.endpoints.slice(0, existing.servers.length);
        while (existing.servers.length < replicas) await this.addServer(request.version, existing);
        return this.stateOf(request.version, existing);
      }
      const run: FakeVersion = {
        request: { ...request },
        servers: [],
        endpoints: [],
        phase: 'starting',
        healthy: false,
        restarts: 0,
        log: [`starting ${request.version} x${replicas}`],
      };
      this.versions.set(request.version, run);
      if (this.startDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.startDelayMs));
      if (this.failWhen(request)) {
        run.phase = 'failed';
        run.message = `${request.version} never became healthy (simulated)`;
        run.log.push(run.message);
        return this.stateOf(request.version, run);
      }
      for (let i = 0; i < replicas; i++) await this.addServer(request.version, run);
      run.phase = 'running';
      run.healthy = true;
      run.log.push(`${request.version} healthy on ${run.endpoints.join(', ')}`);
      return this.stateOf(request.version, run);
    });
  }

  async observe(): Promise<VersionState[]> {
    this.calls.push({ method: 'observe' });
    return [...this.versions].map(([version, run]) => this.stateOf(version, run));
  }

  async retire(version: string): Promise<void> {
    this.calls.push({ method: 'retire', version });
    await this.withLock(version, async () => {
      const run = this.versions.get(version);
      if (!run) return;
      run.phase = 'stopped';
      await Promise.all(run.servers.map(closeServer));
      this.versions.delete(version);
    });
  }

  async logs(version: string, lines: number): Promise<string[] | null> {
    this.calls.push({ method: 'logs', version });
    if (!this.capabilities.logs) return null;
    const run = this.versions.get(version);
    return run ? run.log.slice(-Math.max(0, lines)) : null;
  }

  async close(): Promise<void> {
    this.calls.push({ method: 'close' });
    await Promise.allSettled([...this.locks.values()]);
    await Promise.all([...this.versions.keys()].map((version) => this.retire(version)));
  }

  // ------------------------------------------------------------ test hooks

  /** Makes a running version unhealthy (with `message`) or healthy again. */
  setHealth(version: string, healthy: boolean, message = 'health check failed (simulated)'): void {
    const run = this.versions.get(version);
    if (!run || run.phase === 'failed' || run.phase === 'stopped') throw new Error(`FakeDeployTarget: ${version} is not running`);
    run.healthy = healthy;
    run.phase = healthy ? 'running' : 'unhealthy';
    if (healthy) delete run.message;
    else run.message = message;
  }

  /** Simulates an instance crash that was restarted: `restarts` goes up by one. */
  crash(version: string): void {
    const run = this.versions.get(version);
    if (!run) throw new Error(`FakeDeployTarget: ${version} is not running`);
    run.restarts += 1;
    run.log.push(`instance crashed and was restarted (${run.restarts})`);
  }

  /** The next ensure call rejects with `error`. */
  failNextEnsure(error: Error = new Error('target unavailable (simulated)')): void {
    this.ensureFailures.push(error);
  }

  /** The request the version was last ensured with (env included). */
  lastRequest(version: string): EnsureRequest | undefined {
    return this.versions.get(version)?.request;
  }

  // ------------------------------------------------------------ internals

  private async addServer(version: string, run: FakeVersion): Promise<void> {
    const index = run.servers.length;
    const server = http.createServer((req, res) => {
      const healthy = run.healthy;
      res.writeHead(req.url === '/healthz' && !healthy ? 503 : 200, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ version, instance: index }));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    server.unref();
    run.servers.push(server);
    run.endpoints.push(`127.0.0.1:${(server.address() as AddressInfo).port}`);
  }

  private stateOf(version: string, run: FakeVersion): VersionState {
    const serving = run.phase !== 'failed' && run.phase !== 'stopped';
    const state: VersionState = {
      version,
      phase: run.phase,
      endpoints: serving ? [...run.endpoints] : [],
      healthy: run.phase === 'running' && run.healthy,
      restarts: run.restarts,
    };
    if (run.message !== undefined) state.message = run.message;
    return state;
  }

  private withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const result = previous.then(fn, fn);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(key, settled);
    void settled.then(() => {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    });
    return result;
  }
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
