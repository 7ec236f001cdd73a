/**
 * The `process` deploy target: runs each version of a service as local processes on loopback
 * ports, health-checks them over HTTP, restarts the ones that die and never leaves orphans.
 *
 * How instances are run
 * - Each instance is `/bin/sh -c <command>`, spawned detached: it leads its own session and
 *   process group, so stopping it signals the whole group (`kill(-pgid)`) and takes down the shell,
 *   the program it runs and anything that program started.
 * - Environment: this process's environment minus every inherited `ROLLGATE_*` variable, then the
 *   config's `env`, then the request's `env`, then `PORT`, `ROLLGATE_VERSION`, `ROLLGATE_SERVICE`,
 *   `ROLLGATE_ENVIRONMENT` and `ROLLGATE_ARTIFACT_DIGEST` (the last two only when given) and
 *   `ROLLGATE_INSTANCE_ID` (a random id that marks the process as ours, see `pidfile.ts`).
 * - stdout and stderr of every instance of a version are the file `${logDir}/${service}/${version}.log`
 *   itself (opened for append): output reaches the disk without passing through the control plane,
 *   so an instance never dies of a broken pipe when the control plane goes away. The target adds
 *   its own `[rollgate ...]` lines (start, exit, restart) and keeps the last 200 lines in memory.
 * - Start: healthy once `GET http://127.0.0.1:PORT{healthCheck.path}` answers 2xx (polled, bounded
 *   by `startTimeoutMs`). An instance that exits before it ever passed, or a version that is not
 *   healthy in time, fails the whole version: its instances are stopped and the state is `failed`
 *   with the reason and the last lines of output in `message`. A later `ensure` starts it afresh.
 * - Running: health is checked every `healthCheck.intervalSeconds` (one failed check makes the
 *   version `unhealthy` until every instance passes again). An instance that exits is restarted on
 *   the same port after an exponential backoff (0.5 s doubling to 30 s; back to 0.5 s when the
 *   instance had stayed up 60 s), counted in `restarts`.
 * - Stop: SIGTERM to the group, SIGKILL after `stopGraceMs` (5 s) if any member remains.
 *
 * Orphans and what cannot be promised
 * - Every started group is registered process-wide: on `'exit'` (normal end, `process.exit()`, an
 *   uncaught exception or unhandled rejection) they are SIGKILLed synchronously. SIGINT/SIGTERM end
 *   Node.js without `'exit'`, so the composition root should call
 *   `installProcessTargetSignalHandlers()` (or `killAllProcessTargetsSync()` from its own handler).
 * - A SIGKILLed control plane runs no handler at all. For that case each instance has a pid file
 *   (`${logDir}/${service}/pids/*.json`, JSON `{pid, port, version, startedAt, ...}`): on the next
 *   start call `reapOrphans(logDir)` to kill what is left, or build the target with `adopt: true`
 *   to take the still-running instances over instead (no restart, so a control-plane crash causes
 *   no outage). With `adopt: true` instances are also deliberately left running when the control
 *   plane exits. Recognising an instance needs Linux `/proc`; elsewhere recorded processes are left
 *   alone.
 * - The target does not keep the Node.js event loop alive by itself (children and timers are unref'd).
 * - Ports are found by binding port 0 (or scanning `portRange`) and releasing it; another program
 *   can take the port in between, and the instance then fails to start or is restarted.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DeployTarget, EnsureRequest, InstancePhase, TargetCapabilities, VersionState } from '../../ports/deploy-target.js';
import { FILTERED_COMMAND_SCRIPT, filteredCommandEnv } from '../secrets/output-filter.js';
import { LogTail } from './process/log-tail.js';
import { allocatePort, probeHttp, releasePort, reservePort } from './process/net.js';
import {
  INSTANCE_ID_ENV,
  type PidRecord,
  liveMembersOf,
  ownerIsAlive,
  pidFileFor,
  readPidFiles,
  removePidFile,
  safeName,
  serviceDir,
  writePidFile,
} from './process/pidfile.js';
import { groupMembers, isAlive, isSameLiveProcess, readEnviron, readProcStat, selfStartTime, signalGroup } from './process/procfs.js';
import { isRegisteredGroup, registerGroup, unregisterGroup } from './process/registry.js';

export { reapOrphans, type ReapOptions, type ReapReport, type PidRecord } from './process/pidfile.js';
export { installProcessTargetSignalHandlers, killAllProcessTargetsSync, type KillAllOptions } from './process/registry.js';

export interface ProcessHealthCheck {
  /** Path of the HTTP health endpoint; default `/healthz`. */
  path?: string;
  /** Between periodic checks of a running version; default 5. */
  intervalSeconds?: number;
  /** Per request; default 2. */
  timeoutSeconds?: number;
}

export interface ProcessTargetConfig {
  service: string;
  /** Shell command (run by `/bin/sh -c`); it must listen on 127.0.0.1:$PORT. */
  command: string;
  /** Working directory of the command; default this process's. */
  workingDir?: string;
  env?: Record<string, string>;
  healthCheck?: ProcessHealthCheck;
  /** How long `ensure` waits for a new version to become healthy; default 30000. */
  startTimeoutMs?: number;
  /** Root of logs and pid files: `${logDir}/${service}/${version}.log`, `${logDir}/${service}/pids/`. */
  logDir: string;
  host?: '127.0.0.1';
  /** Inclusive range to take ports from; default: any free port the kernel picks. */
  portRange?: [number, number];
  /** SIGTERM → SIGKILL grace when stopping an instance; default 5000. */
  stopGraceMs?: number;
  /** Restart backoff of instances that exit; defaults 500 ms doubling to 30000 ms, reset after 60000 ms up. */
  restartBackoff?: { initialMs?: number; maxMs?: number; resetAfterMs?: number };
  /**
   * Take over instances a previous control plane of this service left running (found through the
   * pid files) instead of starting new ones, and leave instances running when this control plane
   * exits (so the next one adopts them). `close()` still stops everything.
   */
  adopt?: boolean;
}

/** What `instances()` tells about one instance (for operators and tests; not part of the port). */
export interface ProcessInstanceInfo {
  index: number;
  /** Pid of the instance's process-group leader; null while it waits to be restarted. */
  pid: number | null;
  port: number;
  healthy: boolean;
  restarts: number;
  adopted: boolean;
  /** ISO 8601 start of the current process. */
  startedAt: string;
}

interface ResolvedConfig {
  readonly service: string;
  readonly command: string;
  readonly workingDir: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly healthPath: string;
  readonly healthIntervalMs: number;
  readonly healthTimeoutMs: number;
  readonly startTimeoutMs: number;
  readonly logDir: string;
  readonly host: '127.0.0.1';
  readonly portRange: readonly [number, number] | undefined;
  readonly stopGraceMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly backoffResetMs: number;
  readonly adopt: boolean;
}

interface Instance {
  index: number;
  port: number;
  instanceId: string;
  /** Leader pid (= process group id) of the current process; null when not running. */
  pid: number | null;
  /** Our child handle; null for adopted instances (their exit is noticed by polling). */
  child: ChildProcess | null;
  adopted: boolean;
  /** Bumped at every spawn so late events of an earlier process are ignored. */
  generation: number;
  startedAt: number;
  alive: boolean;
  healthy: boolean;
  lastProbe: string;
  exitInfo: string;
  restarts: number;
  backoffMs: number;
  restartTimer: NodeJS.Timeout | null;
  stopping: boolean;
  /** Environment to (re)start it with, without ROLLGATE_INSTANCE_ID; null when unknown (adopted without /proc). */
  env: Record<string, string> | null;
  pidFile: string | null;
}

interface VersionRun {
  version: string;
  request: EnsureRequest;
  /** Desired instance count. */
  replicas: number;
  instances: Instance[];
  phase: InstancePhase;
  /** True while `ensure` waits for new instances to pass their first health check. */
  starting: boolean;
  message: string | undefined;
  /** Why the last scale-up failed, shown while fewer instances run than desired. */
  scaleError: string | undefined;
  logFile: string;
  tail: LogTail;
  monitor: NodeJS.Timeout | null;
  checking: Promise<void> | null;
  /** Adopted versions: resolves after the first health check. */
  ready: Promise<void> | null;
  secrets: string[];
  /** True when the request named secret values: output goes to the log file through the redacting filter. */
  filterOutput: boolean;
}

const OUTPUT_LINES_IN_MESSAGE = 20;
/**
 * The request env "may hold secrets" and the target cannot tell which values are secret, so every
 * value at least this long is blanked out of `message` and `logs()` (shorter ones would blank out
 * ordinary words and numbers). Over-redaction of plain settings is the price of never leaking.
 */
const MIN_SECRET_LENGTH = 8;

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`ProcessTarget: ${name} must be a positive number`);
  return value;
}

function resolveConfig(config: ProcessTargetConfig): ResolvedConfig {
  if (!config.service) throw new TypeError('ProcessTarget: service is required');
  if (!config.command?.trim()) throw new TypeError('ProcessTarget: command is required');
  if (!config.logDir) throw new TypeError('ProcessTarget: logDir is required');
  if (config.host !== undefined && config.host !== '127.0.0.1') throw new TypeError('ProcessTarget: host must be 127.0.0.1');
  let portRange: readonly [number, number] | undefined;
  if (config.portRange) {
    const [low, high] = config.portRange;
    if (!Number.isInteger(low) || !Number.isInteger(high) || low < 1 || high > 65535 || low > high) {
      throw new RangeError('ProcessTarget: portRange must be [low, high] within 1-65535');
    }
    portRange = Object.freeze([low, high] as const);
  }
  const healthPath = config.healthCheck?.path ?? '/healthz';
  if (!healthPath.startsWith('/')) throw new TypeError('ProcessTarget: healthCheck.path must start with /');
  return Object.freeze({
    service: config.service,
    command: config.command,
    workingDir: config.workingDir === undefined ? undefined : path.resolve(config.workingDir),
    env: Object.freeze({ ...(config.env ?? {}) }),
    healthPath,
    healthIntervalMs: positive(config.healthCheck?.intervalSeconds, 5, 'healthCheck.intervalSeconds') * 1000,
    healthTimeoutMs: positive(config.healthCheck?.timeoutSeconds, 2, 'healthCheck.timeoutSeconds') * 1000,
    startTimeoutMs: positive(config.startTimeoutMs, 30_000, 'startTimeoutMs'),
    logDir: path.resolve(config.logDir),
    host: '127.0.0.1',
    portRange,
    stopGraceMs: positive(config.stopGraceMs, 5000, 'stopGraceMs'),
    backoffInitialMs: positive(config.restartBackoff?.initialMs, 500, 'restartBackoff.initialMs'),
    backoffMaxMs: positive(config.restartBackoff?.maxMs, 30_000, 'restartBackoff.maxMs'),
    backoffResetMs: positive(config.restartBackoff?.resetAfterMs, 60_000, 'restartBackoff.resetAfterMs'),
    adopt: config.adopt ?? false,
  });
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code ?? 'unknown'}`;
}

export class ProcessTarget implements DeployTarget {
  readonly capabilities: TargetCapabilities = Object.freeze({ replicas: true, logs: true });
  private readonly config: ResolvedConfig;
  private readonly versions = new Map<string, VersionRun>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(config: ProcessTargetConfig) {
    this.config = resolveConfig(config);
    mkdirSync(serviceDir(this.config.logDir, this.config.service), { recursive: true });
    if (this.config.adopt) this.adoptLeftovers();
  }

  // ---------------------------------------------------------------- port methods

  async ensure(request: EnsureRequest): Promise<VersionState> {
    if (typeof request.version !== 'string' || request.version === '') throw new TypeError('ensure: version is required');
    if (!Number.isInteger(request.replicas) || request.replicas < 1) throw new RangeError('ensure: replicas must be an integer >= 1');
    this.assertOpen();
    return this.withLock(request.version, async () => {
      this.assertOpen();
      const copy: EnsureRequest = { ...request, env: Object.freeze({ ...(request.env ?? {}) }) };
      const existing = this.versions.get(request.version);
      if (existing && existing.phase !== 'failed') {
        if (existing.ready) await existing.ready;
        existing.request = copy;
        existing.secrets = secretsOf(copy, existing.secrets);
        existing.filterOutput ||= (copy.secrets?.length ?? 0) > 0;
        if (existing.instances.length === request.replicas && existing.replicas === request.replicas) return this.stateOf(existing);
        return this.scale(existing, request.replicas);
      }
      if (existing) this.versions.delete(request.version);
      return this.start(copy);
    });
  }

  async observe(): Promise<VersionState[]> {
    return [...this.versions.values()].map((run) => this.stateOf(run));
  }

  async retire(version: string): Promise<void> {
    await this.withLock(version, () => this.retireNow(version));
  }

  async logs(version: string, lines: number): Promise<string[] | null> {
    const run = this.versions.get(version);
    if (!run) return null;
    return run.tail.last(lines).map((line) => redact(line, run.secrets));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closing ??= (async () => {
      await Promise.allSettled([...this.locks.values()]);
      await Promise.all([...this.versions.keys()].map((version) => this.withLock(version, () => this.retireNow(version))));
    })();
    return this.closing;
  }

  // ---------------------------------------------------------------- extras (not in the port)

  /** The instances of `version` (pids, ports); null for an unknown version. */
  instances(version: string): ProcessInstanceInfo[] | null {
    const run = this.versions.get(version);
    if (!run) return null;
    return run.instances.map((inst) => ({
      index: inst.index,
      pid: inst.alive ? inst.pid : null,
      port: inst.port,
      healthy: inst.alive && inst.healthy,
      restarts: inst.restarts,
      adopted: inst.adopted,
      startedAt: new Date(inst.startedAt).toISOString(),
    }));
  }

  /**
   * Lets go of every instance WITHOUT stopping it: timers stop, pid files stay, and the exit hook no
   * longer kills them, so a later target with `adopt: true` can take them over (a graceful control
   * plane restart). The target is closed afterwards.
   */
  async detach(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.locks.values()]);
    for (const run of this.versions.values()) {
      this.stopMonitor(run);
      for (const inst of run.instances) {
        inst.stopping = true;
        if (inst.restartTimer) clearTimeout(inst.restartTimer);
        inst.restartTimer = null;
        if (inst.pid !== null) unregisterGroup(inst.pid);
        releasePort(inst.port);
      }
    }
    this.versions.clear();
  }

  // ---------------------------------------------------------------- start, scale, fail, retire

  private async start(request: EnsureRequest): Promise<VersionState> {
    const logFile = path.join(serviceDir(this.config.logDir, this.config.service), `${safeName(request.version)}.log`);
    const run: VersionRun = {
      version: request.version,
      request,
      replicas: request.replicas,
      instances: [],
      phase: 'starting',
      starting: true,
      message: undefined,
      scaleError: undefined,
      logFile,
      tail: new LogTail(logFile, 200, 'end'),
      monitor: null,
      checking: null,
      ready: null,
      secrets: secretsOf(request, []),
      filterOutput: (request.secrets?.length ?? 0) > 0,
    };
    this.versions.set(request.version, run);
    this.note(run, `starting ${request.replicas} instance(s) of ${this.config.service} ${request.version}`);
    try {
      for (let index = 0; index < request.replicas; index++) await this.addInstance(run, index);
    } catch (error) {
      return this.fail(run, `could not start: ${(error as Error).message}`);
    }
    const result = await this.waitHealthy(run, run.instances);
    if (!result.ok) return this.fail(run, result.reason);
    run.starting = false;
    this.updatePhase(run);
    this.startMonitor(run);
    return this.stateOf(run);
  }

  private async scale(run: VersionRun, replicas: number): Promise<VersionState> {
    run.replicas = replicas;
    run.scaleError = undefined;
    const extra = run.instances.filter((inst) => inst.index >= replicas);
    if (extra.length > 0) {
      run.instances = run.instances.filter((inst) => inst.index < replicas);
      await Promise.all(extra.map((inst) => this.stopInstance(inst)));
    }
    const added: Instance[] = [];
    try {
      while (run.instances.length < replicas) {
        const used = new Set(run.instances.map((inst) => inst.index));
        let index = 0;
        while (used.has(index)) index++;
        added.push(await this.addInstance(run, index));
      }
    } catch (error) {
      run.scaleError = `could not add an instance: ${(error as Error).message}`;
    }
    if (added.length > 0 && !run.scaleError) {
      const result = await this.waitHealthy(run, added);
      if (!result.ok) run.scaleError = this.withOutput(run, `scaling to ${replicas} failed: ${result.reason}`);
    }
    if (run.scaleError) {
      run.instances = run.instances.filter((inst) => !added.includes(inst));
      await Promise.all(added.map((inst) => this.stopInstance(inst)));
    }
    this.updatePhase(run);
    return this.stateOf(run);
  }

  private async fail(run: VersionRun, reason: string): Promise<VersionState> {
    run.starting = false;
    run.phase = 'failed';
    run.message = this.withOutput(run, reason);
    this.stopMonitor(run);
    const instances = run.instances;
    run.instances = [];
    await Promise.all(instances.map((inst) => this.stopInstance(inst)));
    return this.stateOf(run);
  }

  private async retireNow(version: string): Promise<void> {
    const run = this.versions.get(version);
    if (!run) return;
    run.phase = 'stopped';
    run.starting = false;
    this.stopMonitor(run);
    await Promise.all(run.instances.map((inst) => this.stopInstance(inst)));
    this.note(run, `retired ${version}`);
    this.versions.delete(version);
  }

  // ---------------------------------------------------------------- instances

  private async addInstance(run: VersionRun, index: number): Promise<Instance> {
    const port = await allocatePort(this.config.host, this.config.portRange);
    const inst: Instance = {
      index,
      port,
      instanceId: '',
      pid: null,
      child: null,
      adopted: false,
      generation: 0,
      startedAt: Date.now(),
      alive: false,
      healthy: false,
      lastProbe: 'not checked yet',
      exitInfo: '',
      restarts: 0,
      backoffMs: this.config.backoffInitialMs,
      restartTimer: null,
      stopping: false,
      env: this.environmentFor(run.request, port),
      pidFile: null,
    };
    run.instances.push(inst);
    run.instances.sort((a, b) => a.index - b.index);
    this.spawnInstance(run, inst);
    return inst;
  }

  private environmentFor(request: EnsureRequest, port: number): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined && !key.startsWith('ROLLGATE_')) env[key] = value;
    }
    Object.assign(env, this.config.env, request.env ?? {});
    env.PORT = String(port);
    env.ROLLGATE_VERSION = request.version;
    env.ROLLGATE_SERVICE = this.config.service;
    if (request.environment !== undefined) env.ROLLGATE_ENVIRONMENT = request.environment;
    if (request.artifactDigest !== undefined) env.ROLLGATE_ARTIFACT_DIGEST = request.artifactDigest;
    return env;
  }

  /** Starts (or restarts) the instance's process; false when it could not be started at all. Never throws. */
  private spawnInstance(run: VersionRun, inst: Instance): boolean {
    const generation = ++inst.generation;
    inst.instanceId = randomUUID();
    inst.startedAt = Date.now();
    inst.healthy = false;
    inst.lastProbe = 'not checked yet';
    inst.exitInfo = '';
    inst.adopted = false;
    inst.alive = false;
    inst.pid = null;
    let child: ChildProcess;
    let fd: number | null = null;
    try {
      mkdirSync(path.dirname(run.logFile), { recursive: true });
      fd = openSync(run.logFile, 'a', 0o600);
      // With secrets, stdout and stderr reach the file through a filter in the instance's own
      // process group (src/adapters/secrets/output-filter.ts): redacted, and still never through us.
      const filter = run.filterOutput ? filteredCommandEnv(this.config.command, run.secrets) : null;
      child = spawn('/bin/sh', ['-c', filter ? FILTERED_COMMAND_SCRIPT : this.config.command], {
        cwd: this.config.workingDir,
        env: { ...inst.env, ...filter, [INSTANCE_ID_ENV]: inst.instanceId },
        detached: true,
        stdio: ['ignore', fd, fd],
      });
    } catch (error) {
      inst.exitInfo = `could not be started: ${(error as Error).message}`;
      this.note(run, `instance ${inst.index} ${inst.exitInfo}`);
      return false;
    } finally {
      if (fd !== null) closeSync(fd);
    }
    child.unref();
    inst.child = child;
    inst.pid = child.pid ?? null;
    inst.alive = inst.pid !== null;
    child.once('error', (error) => this.onExit(run, inst, generation, `could not be started: ${error.message}`));
    child.once('exit', (code, signal) => this.onExit(run, inst, generation, describeExit(code, signal)));
    if (inst.pid === null) return false; // the 'error' event follows and fills in exitInfo
    const pidFile = pidFileFor(this.config.logDir, {
      service: this.config.service,
      version: run.version,
      index: inst.index,
      instanceId: inst.instanceId,
    });
    inst.pidFile = pidFile;
    registerGroup({ pgid: inst.pid, pidFile, keepOnExit: this.config.adopt, onKill: () => this.markKilled(inst) });
    const record: PidRecord = {
      pid: inst.pid,
      port: inst.port,
      version: run.version,
      startedAt: new Date(inst.startedAt).toISOString(),
      service: this.config.service,
      index: inst.index,
      replicas: run.replicas,
      instanceId: inst.instanceId,
      command: this.config.command,
      procStartTime: readProcStat(inst.pid)?.startTime ?? null,
      ownerPid: process.pid,
      ownerStartTime: selfStartTime,
    };
    try {
      writePidFile(pidFile, record);
    } catch (error) {
      this.note(run, `could not write pid file ${pidFile}: ${(error as Error).message}`);
    }
    this.note(run, `instance ${inst.index} started: pid ${inst.pid}, port ${inst.port}${inst.restarts ? `, restart ${inst.restarts}` : ''}`);
    return true;
  }

  /** An instance's process ended (child 'exit'/'error', or an adopted pid found dead). */
  private onExit(run: VersionRun, inst: Instance, generation: number, detail: string): void {
    if (inst.generation !== generation) return;
    if (!inst.alive) {
      // e.g. 'error' after a spawn that never produced a pid
      if (!inst.exitInfo) inst.exitInfo = detail;
      return;
    }
    const pgid = inst.pid;
    inst.alive = false;
    inst.healthy = false;
    inst.child = null;
    inst.exitInfo = detail;
    if (inst.stopping) return; // stopInstance waits for the group and cleans up
    inst.pid = null;
    if (pgid !== null) {
      signalGroup(pgid, 'SIGKILL'); // stragglers would hold the port
      unregisterGroup(pgid);
    }
    removePidFile(inst.pidFile);
    inst.pidFile = null;
    this.note(run, `instance ${inst.index} (pid ${pgid}) ${detail}`);
    if (run.starting || run.phase === 'failed' || run.phase === 'stopped' || this.closed) return; // waitHealthy reports it
    this.scheduleRestart(run, inst);
    this.updatePhase(run);
  }

  private scheduleRestart(run: VersionRun, inst: Instance): void {
    if (!inst.env) {
      inst.exitInfo += '; cannot restart an adopted instance whose environment is unknown (call ensure again)';
      return;
    }
    if (Date.now() - inst.startedAt >= this.config.backoffResetMs) inst.backoffMs = this.config.backoffInitialMs;
    const delay = inst.backoffMs;
    inst.backoffMs = Math.min(inst.backoffMs * 2, this.config.backoffMaxMs);
    this.note(run, `instance ${inst.index} restarts in ${delay} ms`);
    inst.restartTimer = setTimeout(() => {
      inst.restartTimer = null;
      if (inst.stopping || this.versions.get(run.version) !== run || !run.instances.includes(inst) || this.closed) return;
      inst.restarts += 1;
      if (!this.spawnInstance(run, inst)) {
        inst.exitInfo ||= 'could not be started';
        this.scheduleRestart(run, inst);
        this.updatePhase(run);
        return;
      }
      this.updatePhase(run);
      void this.checkSoon(run, inst);
    }, delay);
    inst.restartTimer.unref();
  }

  /** After a restart: probe quickly until it passes (bounded by the start timeout) instead of waiting for the next interval. */
  private async checkSoon(run: VersionRun, inst: Instance): Promise<void> {
    const generation = inst.generation;
    const deadline = Date.now() + this.config.startTimeoutMs;
    let delay = 50;
    while (Date.now() < deadline && inst.generation === generation && inst.alive && !inst.stopping && !this.closed) {
      const result = await probeHttp(this.config.host, inst.port, this.config.healthPath, this.config.healthTimeoutMs);
      if (inst.generation !== generation || !inst.alive) return;
      inst.lastProbe = result.detail;
      if (result.ok) {
        inst.healthy = true;
        this.updatePhase(run);
        return;
      }
      await sleep(delay, undefined, { ref: false });
      delay = Math.min(delay * 2, 500);
    }
  }

  /** `killAllProcessTargetsSync` is about to SIGKILL this instance: do not restart it. */
  private markKilled(inst: Instance): void {
    inst.stopping = true;
    inst.exitInfo = 'was killed by killAllProcessTargetsSync';
    if (inst.restartTimer) clearTimeout(inst.restartTimer);
    inst.restartTimer = null;
  }

  /** SIGTERM the instance's group, SIGKILL after the grace period, wait until it is gone (bounded). */
  private async stopInstance(inst: Instance): Promise<void> {
    inst.stopping = true;
    if (inst.restartTimer) clearTimeout(inst.restartTimer);
    inst.restartTimer = null;
    const pgid = inst.pid;
    if (pgid !== null) {
      const alive = () => groupMembers(pgid).length > 0;
      if (alive()) {
        signalGroup(pgid, 'SIGTERM');
        const deadline = Date.now() + this.config.stopGraceMs;
        while (alive() && Date.now() < deadline) await sleep(25);
        if (alive()) {
          signalGroup(pgid, 'SIGKILL');
          const killDeadline = Date.now() + 2000;
          while (alive() && Date.now() < killDeadline) await sleep(25);
        }
      }
      unregisterGroup(pgid);
    }
    inst.alive = false;
    inst.healthy = false;
    inst.pid = null;
    inst.child = null;
    removePidFile(inst.pidFile);
    inst.pidFile = null;
    releasePort(inst.port);
  }

  private async waitHealthy(run: VersionRun, instances: Instance[]): Promise<{ ok: true } | { ok: false; reason: string }> {
    const { host, healthPath, healthTimeoutMs, startTimeoutMs } = this.config;
    const deadline = Date.now() + startTimeoutMs;
    const pending = new Set(instances);
    let delay = 50;
    for (;;) {
      const remaining = Math.max(1, deadline - Date.now());
      await Promise.all(
        [...pending].map(async (inst) => {
          const generation = inst.generation;
          const result = await probeHttp(host, inst.port, healthPath, Math.min(healthTimeoutMs, Math.max(250, remaining)));
          if (inst.generation !== generation) return;
          inst.lastProbe = result.detail;
          if (result.ok && inst.alive) {
            inst.healthy = true;
            pending.delete(inst);
          }
        }),
      );
      if (pending.size === 0) return { ok: true };
      for (const inst of pending) {
        if (!inst.alive) {
          return { ok: false, reason: `instance ${inst.index} ${inst.exitInfo || 'could not be started'} before passing its health check` };
        }
      }
      if (this.closed || run.phase === 'stopped') return { ok: false, reason: 'stopped while starting' };
      if (Date.now() >= deadline) {
        const first = [...pending][0]!;
        return {
          ok: false,
          reason: `instance ${first.index} did not answer 2xx on GET ${healthPath} within ${startTimeoutMs} ms (last: ${first.lastProbe})`,
        };
      }
      await sleep(Math.max(0, Math.min(delay, deadline - Date.now())));
      delay = Math.min(delay * 2, 500);
    }
  }

  // ---------------------------------------------------------------- monitoring

  private startMonitor(run: VersionRun): void {
    this.stopMonitor(run);
    run.monitor = setInterval(() => void this.tick(run), this.config.healthIntervalMs);
    run.monitor.unref();
  }

  private stopMonitor(run: VersionRun): void {
    if (run.monitor) clearInterval(run.monitor);
    run.monitor = null;
  }

  /** One periodic pass: notice dead adopted instances, probe the live ones, recompute the phase. */
  private tick(run: VersionRun): Promise<void> {
    if (run.checking) return run.checking;
    run.checking = (async () => {
      run.tail.refresh();
      for (const inst of run.instances) {
        if (inst.alive && inst.child === null && inst.pid !== null && !inst.stopping && !isAlive(inst.pid)) {
          this.onExit(run, inst, inst.generation, 'exited (adopted instance; exit status unknown)');
        }
      }
      await Promise.all(
        run.instances
          .filter((inst) => inst.alive && !inst.stopping)
          .map(async (inst) => {
            const generation = inst.generation;
            const result = await probeHttp(this.config.host, inst.port, this.config.healthPath, this.config.healthTimeoutMs);
            if (inst.generation !== generation || !inst.alive) return;
            inst.healthy = result.ok;
            inst.lastProbe = result.detail;
          }),
      );
      this.updatePhase(run);
    })().finally(() => {
      run.checking = null;
    });
    return run.checking;
  }

  private updatePhase(run: VersionRun): void {
    if (run.starting || run.phase === 'failed' || run.phase === 'stopped') return;
    const problems: string[] = [];
    for (const inst of run.instances) {
      if (!inst.alive) {
        problems.push(`instance ${inst.index} (port ${inst.port}) ${inst.exitInfo}${inst.restartTimer ? ', restart pending' : ''}`);
      } else if (!inst.healthy) {
        problems.push(`instance ${inst.index} (port ${inst.port}) failed GET ${this.config.healthPath}: ${inst.lastProbe}`);
      }
    }
    if (run.instances.length < run.replicas) {
      problems.push(`${run.instances.length} of ${run.replicas} instances running${run.scaleError ? `: ${run.scaleError}` : ''}`);
    }
    if (problems.length === 0) {
      run.phase = 'running';
      run.message = undefined;
    } else {
      run.phase = 'unhealthy';
      run.message = redact(problems.join('; '), run.secrets);
    }
  }

  private stateOf(run: VersionRun): VersionState {
    const serving = run.phase !== 'failed' && run.phase !== 'stopped';
    const state: VersionState = {
      version: run.version,
      phase: run.phase,
      endpoints: serving ? run.instances.map((inst) => `${this.config.host}:${inst.port}`) : [],
      healthy: run.phase === 'running',
      restarts: run.instances.reduce((sum, inst) => sum + inst.restarts, 0),
    };
    if (run.message !== undefined) state.message = run.message;
    return state;
  }

  // ---------------------------------------------------------------- adoption

  /** Re-registers the live instances a previous control plane of this service left behind (see `adopt`). */
  private adoptLeftovers(): void {
    const byVersion = new Map<string, Array<{ file: string; record: PidRecord }>>();
    for (const entry of readPidFiles(this.config.logDir, this.config.service)) {
      const { file, record } = entry;
      if (record.service !== this.config.service || isRegisteredGroup(record.pid) || ownerIsAlive(record)) continue;
      const members = liveMembersOf(record);
      if (members === null) continue; // cannot verify on this platform: leave it alone
      if (!members.includes(record.pid) || !isSameLiveProcess(record.pid, record.procStartTime)) {
        if (members.length > 0) signalGroup(record.pid, 'SIGKILL'); // leader gone: stragglers only
        removePidFile(file);
        continue;
      }
      const list = byVersion.get(record.version) ?? [];
      list.push(entry);
      byVersion.set(record.version, list);
    }
    for (const [version, entries] of byVersion) {
      const logFile = path.join(serviceDir(this.config.logDir, this.config.service), `${safeName(version)}.log`);
      const run: VersionRun = {
        version,
        request: { version, replicas: entries.length },
        replicas: entries.length,
        instances: [],
        phase: 'starting',
        starting: false,
        message: `adopted ${entries.length} running instance(s); checking health`,
        scaleError: undefined,
        logFile,
        tail: new LogTail(logFile, 200, 64 * 1024),
        monitor: null,
        checking: null,
        ready: null,
        secrets: [],
        filterOutput: false,
      };
      for (const { file, record } of entries.sort((a, b) => a.record.index - b.record.index)) {
        const used = new Set(run.instances.map((inst) => inst.index));
        let index = record.index;
        while (used.has(index)) index++;
        const environ = readEnviron(record.pid);
        if (environ) delete environ[INSTANCE_ID_ENV];
        const inst: Instance = {
          index,
          port: record.port,
          instanceId: record.instanceId,
          pid: record.pid,
          child: null,
          adopted: true,
          generation: 1,
          startedAt: Date.parse(record.startedAt) || Date.now(),
          alive: true,
          healthy: false,
          lastProbe: 'not checked yet',
          exitInfo: '',
          restarts: 0,
          backoffMs: this.config.backoffInitialMs,
          restartTimer: null,
          stopping: false,
          env: environ,
          pidFile: file,
        };
        reservePort(record.port);
        registerGroup({ pgid: record.pid, pidFile: file, keepOnExit: true, onKill: () => this.markKilled(inst) });
        try {
          writePidFile(file, { ...record, index, ownerPid: process.pid, ownerStartTime: selfStartTime });
        } catch {
          // keep going: the instance is registered in memory
        }
        run.instances.push(inst);
      }
      this.versions.set(version, run);
      this.note(run, `adopted ${run.instances.map((inst) => `pid ${inst.pid} (port ${inst.port})`).join(', ')}`);
      run.ready = this.tick(run);
      this.startMonitor(run);
    }
  }

  // ---------------------------------------------------------------- helpers

  private assertOpen(): void {
    if (this.closed) throw new Error('ProcessTarget is closed');
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

  /** Appends a control-plane line to the version's log file. */
  private note(run: VersionRun, text: string): void {
    try {
      mkdirSync(path.dirname(run.logFile), { recursive: true });
      appendFileSync(run.logFile, `[rollgate ${new Date().toISOString()}] ${text}\n`, { mode: 0o600 });
    } catch {
      // logging must never break the target
    }
  }

  private withOutput(run: VersionRun, reason: string): string {
    const lines = run.tail.last(OUTPUT_LINES_IN_MESSAGE);
    const text = lines.length > 0 ? `${reason}\n--- last output ---\n${lines.join('\n')}` : reason;
    return redact(text, run.secrets);
  }
}

function secretsOf(request: EnsureRequest, previous: string[]): string[] {
  const values = new Set(previous);
  for (const value of Object.values(request.env ?? {})) if (value.length >= MIN_SECRET_LENGTH) values.add(value);
  // Values the engine says are secrets are redacted whatever their length (the redactor's own minimum applies).
  for (const value of request.secrets ?? []) if (value.length >= 4) values.add(value);
  return [...values].sort((a, b) => b.length - a.length);
}

/** Replaces every secret value (request env values of 8+ characters) with "***". */
function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) result = result.split(secret).join('***');
  return result;
}
