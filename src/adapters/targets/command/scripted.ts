/**
 * The DeployTarget shared by the `command` and `ansible` targets: a version is deployed, checked
 * and retired by running steps (user commands, ansible-playbook runs) that a `StepDriver` builds.
 * Everything about state, health, logs, timeouts and idempotency lives here; the drivers only say
 * which program a step runs and how to read its output. The module docs of `../command.ts` and
 * `../ansible.ts` describe the behaviour users see.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SecretRedactor } from '../../../core/secrets/redact.js';
import type { DeployTarget, EnsureRequest, InstancePhase, TargetCapabilities, VersionState } from '../../../ports/deploy-target.js';
import { allocatePort, releasePort, reservePort } from '../process/net.js';
import { safeName, serviceDir } from '../process/pidfile.js';
import {
  LineRing,
  checkEndpointTemplates,
  fillEndpoint,
  headBytes,
  isEndpoint,
  lastLinesForMessage,
  MESSAGE_MAX_BYTES,
  redact,
  secretValues,
  tailFile,
} from './output.js';
import { describeResult, formatDuration, runStep } from './runner.js';
import { loadState, saveState, type VersionRecord } from './state.js';

export type StepAction = 'deploy' | 'health' | 'retire';

/**
 * What a step knows about the version it acts on. The drivers turn it into environment variables
 * (`ROLLGATE_*`) and, for Ansible, extra vars (`rollgate_*`).
 */
export interface StepContext {
  action: StepAction;
  service: string;
  version: string;
  /** Unknown (undefined) when neither the request nor the target's config named one. */
  environment: string | undefined;
  artifactDigest: string | undefined;
  replicas: number;
  /** A loopback port on the control-plane host kept for this version (ROLLGATE_PORT). */
  port: number | null;
  /** Known endpoints of the version (empty for its first deploy). */
  endpoints: string[];
  canaryWeight: number | undefined;
  role: string | undefined;
}

export interface PreparedStep {
  file: string;
  args: string[];
  /** Added to the step's environment last (e.g. ANSIBLE_* settings the parsing depends on). */
  env?: Record<string, string>;
  /** How the step is shown in the version's log (never holds secret values). */
  display: string;
  /**
   * Secret values the step hands its program (Ansible extra vars from secretRefs): from now on they
   * are blanked out of everything captured for the version, in every form SecretRedactor knows
   * (as written, JSON-escaped, base64, ...), from 4 characters on (MIN_REDACTED_LENGTH), not only 8+.
   */
  secrets?: readonly string[];
  /** Runs after the step ended (e.g. removes a temporary extra-vars file). */
  cleanup?(): void;
}

/** Reads a step's output as it arrives. */
export interface OutputObserver {
  line(line: string, stream: 'stdout' | 'stderr'): void;
  /** Endpoints the step reported (`ROLLGATE_ENDPOINT=host:port`), in order, possibly with repeats. */
  endpoints(): string[];
  /** Why a failed step failed, better than its last lines (the failing Ansible task's message); null: use the last lines. */
  failure(): string | null;
}

export interface StepDriver {
  /** Names the state file (`${kind}-state.json`). */
  readonly kind: string;
  /** Class name for errors. */
  readonly label: string;
  /** Whether the step exists (a `command` target without a `health` command has no health step). */
  has(action: StepAction): boolean;
  /** The program of one step; may throw or reject (the step then fails with the error's message). */
  prepare(context: StepContext): PreparedStep | Promise<PreparedStep>;
  observer(action: StepAction): OutputObserver;
}

/** The engine's `EnsureRequest`; its `role` and `canaryWeight` are passed on to the steps when given. */
export type ScriptedEnsureRequest = EnsureRequest;

export interface ScriptedTargetConfig {
  /** The service name the steps see as ROLLGATE_SERVICE. */
  service: string;
  /**
   * The environment this target serves (ROLLGATE_ENVIRONMENT when a request names none). Logs and
   * state live under `${logDir}/${service}` for `default` or no environment, else
   * `${logDir}/${service}.${environment}` (as the runtime names `process` targets).
   */
  environment?: string;
  /** Root of logs and state: `${logDir}/${dir}/${version}.log`, `${logDir}/${dir}/${kind}-state.json`. */
  logDir: string;
  /** Working directory of every step; default this process's. */
  workingDir?: string;
  /** Environment for every step (after this process's, before the request's). */
  env?: Record<string, string>;
  /**
   * Endpoints of a version whose deploy step printed no `ROLLGATE_ENDPOINT=host:port` line;
   * `{{port}}`, `{{version}}`, `{{service}}` and `{{environment}}` are replaced.
   */
  endpoints?: string[];
  /** Per deploy or retire step; default 600000 (10 min). */
  timeoutMs?: number;
  /** How long the health step may take to pass after a deploy; default 120000. */
  startTimeoutMs?: number;
  /** Between periodic health checks of a running version; 0: none. Default 10000 (command) / 30000 (ansible). */
  healthIntervalMs?: number;
  /** Per health step; default 30000. */
  healthTimeoutMs?: number;
  /** SIGTERM → SIGKILL grace when a step is stopped; default 5000. */
  killGraceMs?: number;
  /** The deploy step honours ROLLGATE_REPLICAS and reports one endpoint per instance (capabilities.replicas); default false. */
  scales?: boolean;
  /** Inclusive range for ROLLGATE_PORT; default a free port the kernel picks. */
  portRange?: [number, number];
  /**
   * Run the retire step of every version on `close()`. Default false: a control plane that stops
   * leaves what it deployed running (the state file lets the next one carry on). Tests and
   * throwaway environments set it.
   */
  retireOnClose?: boolean;
  /**
   * Applied to every captured output line, status message and `logs()` line, after the target's
   * own blanking of request env values: the engine's secret redactor (which knows every resolved
   * secret, short ones included) goes here.
   */
  redact?: (text: string) => string;
}

interface Settings {
  service: string;
  environment: string | undefined;
  dir: string;
  workingDir: string | undefined;
  env: Readonly<Record<string, string>>;
  endpoints: readonly string[];
  timeoutMs: number;
  startTimeoutMs: number;
  healthIntervalMs: number;
  healthTimeoutMs: number;
  killGraceMs: number;
  scales: boolean;
  portRange: readonly [number, number] | undefined;
  retireOnClose: boolean;
  redact: ((text: string) => string) | undefined;
}

interface Run {
  record: VersionRecord;
  /** The last request's env (memory only: it may hold secrets). */
  env: Readonly<Record<string, string>>;
  /** Request env values long enough to be treated as secrets (blanked to `***`). */
  secrets: string[];
  /** Values known to be secrets (a step's `PreparedStep.secrets`), blanked in every form. */
  known: SecretRedactor;
  canaryWeight: number | undefined;
  role: string | undefined;
  monitor: NodeJS.Timeout | null;
  /** False for a version read from the state file until a health step ran for it in this process. */
  verified: boolean;
}

interface StepOutcome {
  ok: boolean;
  /** "exited with code 2 after 1.2 s". */
  summary: string;
  /** For a status message: the summary, then the failure detail or the last lines. Empty when ok. */
  reason: string;
  endpoints: string[];
  /** Log lines held back by a quiet step (health polling), written only when worth it. */
  held: string[];
}

const DEFAULT_ENVIRONMENT = 'default';
const LOG_TAIL_LINES = 200;

function positive(value: number | undefined, fallback: number, name: string, who: string, allowZero = false): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) throw new RangeError(`${who}: ${name} must be a positive number`);
  return value;
}

function resolveSettings(config: ScriptedTargetConfig, who: string, defaultHealthIntervalMs: number): Settings {
  if (!config.service) throw new TypeError(`${who}: service is required`);
  if (!config.logDir) throw new TypeError(`${who}: logDir is required`);
  const endpoints = [...(config.endpoints ?? [])];
  checkEndpointTemplates(endpoints, who);
  let portRange: readonly [number, number] | undefined;
  if (config.portRange) {
    const [low, high] = config.portRange;
    if (!Number.isInteger(low) || !Number.isInteger(high) || low < 1 || high > 65535 || low > high) {
      throw new RangeError(`${who}: portRange must be [low, high] within 1-65535`);
    }
    portRange = Object.freeze([low, high] as const);
  }
  const environment = config.environment || undefined;
  const dirName = environment === undefined || environment === DEFAULT_ENVIRONMENT ? config.service : `${config.service}.${environment}`;
  return Object.freeze({
    service: config.service,
    environment,
    dir: serviceDir(path.resolve(config.logDir), dirName),
    workingDir: config.workingDir === undefined ? undefined : path.resolve(config.workingDir),
    env: Object.freeze({ ...(config.env ?? {}) }),
    endpoints: Object.freeze(endpoints),
    timeoutMs: positive(config.timeoutMs, 600_000, 'timeoutMs', who),
    startTimeoutMs: positive(config.startTimeoutMs, 120_000, 'startTimeoutMs', who),
    healthIntervalMs: positive(config.healthIntervalMs, defaultHealthIntervalMs, 'healthIntervalMs', who, true),
    healthTimeoutMs: positive(config.healthTimeoutMs, 30_000, 'healthTimeoutMs', who),
    killGraceMs: positive(config.killGraceMs, 5000, 'killGraceMs', who),
    scales: config.scales ?? false,
    portRange,
    retireOnClose: config.retireOnClose ?? false,
    redact: config.redact,
  });
}

const isLive = (phase: InstancePhase) => phase === 'running' || phase === 'unhealthy';

export class ScriptedTarget implements DeployTarget {
  readonly capabilities: TargetCapabilities;
  /** `${logDir}/${service}/${kind}-state.json`. */
  readonly stateFile: string;
  /** Problems found when the state file was loaded (e.g. it was unreadable and moved aside). */
  readonly startupWarnings: string[] = [];
  protected readonly settings: Settings;
  private readonly driver: StepDriver;
  private readonly runs = new Map<string, Run>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly waiting = new Map<string, number>();
  private readonly inFlight = new Set<AbortController>();
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(config: ScriptedTargetConfig, driver: StepDriver, defaultHealthIntervalMs: number) {
    this.driver = driver;
    this.settings = resolveSettings(config, driver.label, defaultHealthIntervalMs);
    this.capabilities = Object.freeze({ replicas: this.settings.scales, logs: true });
    mkdirSync(this.settings.dir, { recursive: true, mode: 0o700 });
    this.stateFile = path.join(this.settings.dir, `${driver.kind}-state.json`);
    this.loadRecords();
  }

  // ---------------------------------------------------------------- port methods

  async ensure(request: ScriptedEnsureRequest): Promise<VersionState> {
    if (typeof request.version !== 'string' || request.version === '') throw new TypeError('ensure: version is required');
    if (!Number.isInteger(request.replicas) || request.replicas < 1) throw new RangeError('ensure: replicas must be an integer >= 1');
    this.assertOpen();
    return this.withLock(request.version, async () => {
      this.assertOpen();
      const env = Object.freeze({ ...(request.env ?? {}) });
      let run = this.runs.get(request.version);
      if (!run) {
        const record: VersionRecord = {
          version: request.version,
          phase: 'starting',
          healthy: false,
          endpoints: [],
          replicas: request.replicas,
          port: null,
          updatedAt: new Date().toISOString(),
          restarts: 0,
        };
        run = { record, env, secrets: secretValues(env), known: new SecretRedactor(), canaryWeight: undefined, role: undefined, monitor: null, verified: true };
        this.runs.set(request.version, run);
      } else {
        run.env = env;
        run.secrets = secretValues(env, run.secrets);
      }
      if (request.canaryWeight !== undefined) run.canaryWeight = request.canaryWeight;
      if (request.role !== undefined) run.role = request.role;

      const { record } = run;
      const sameSize = !this.settings.scales || record.replicas === request.replicas;
      if (isLive(record.phase) && sameSize) {
        // Deployed already: never deployed again while it is healthy. What a previous control
        // plane recorded is checked once before it is believed.
        if (!this.driver.has('health')) return this.stateOf(run);
        if (record.phase === 'running' && record.healthy && run.verified) return this.stateOf(run);
        const check = await this.checkHealth(run);
        if (check.ok) return this.stateOf(run);
        this.note(run, `${request.version} is deployed but fails its health check: deploying it again`);
        return this.deploy(run, request, true);
      }
      return this.deploy(run, request, false);
    });
  }

  async observe(): Promise<VersionState[]> {
    return [...this.runs.values()].map((run) => this.stateOf(run));
  }

  async retire(version: string): Promise<void> {
    await this.withLock(version, async () => {
      const run = this.runs.get(version);
      if (!run) return;
      this.stopMonitor(run);
      if (this.driver.has('retire')) {
        const outcome = await this.step(run, 'retire', this.settings.timeoutMs);
        if (!outcome.ok) {
          run.record.message = outcome.reason;
          this.touch(run);
          if (isLive(run.record.phase) && !this.closed) this.startMonitor(run);
          throw new Error(`${this.driver.label}: retire of ${this.settings.service} ${version} failed: ${outcome.reason}`);
        }
      } else {
        this.note(run, `no retire step is configured: ${version} is forgotten; whatever its deploy started is left as it is`);
      }
      this.runs.delete(version);
      this.persist();
      if (run.record.port !== null) releasePort(run.record.port);
      this.note(run, `${version} retired`);
    });
  }

  async logs(version: string, lines: number): Promise<string[] | null> {
    const run = this.runs.get(version);
    const tail = tailFile(this.logFile(version), lines);
    if (tail === null) return run ? [] : null;
    return tail.map((line) => this.clean(run, line));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closing ??= (async () => {
      for (const controller of this.inFlight) controller.abort();
      await Promise.allSettled([...this.locks.values()]);
      for (const run of this.runs.values()) this.stopMonitor(run);
      if (this.settings.retireOnClose) {
        await Promise.allSettled([...this.runs.keys()].map((version) => this.retire(version)));
      }
    })();
    return this.closing;
  }

  // ---------------------------------------------------------------- extras (not in the port)

  /** The log file of a version: `${logDir}/${service}/${version}.log`. */
  logFile(version: string): string {
    return path.join(this.settings.dir, `${safeName(version)}.log`);
  }

  /** Runs the health step of every deployed version now (as the periodic check does) and returns their states. */
  async checkNow(): Promise<VersionState[]> {
    await Promise.all(
      [...this.runs.values()].map((run) =>
        this.withLock(run.record.version, async () => {
          if (this.runs.get(run.record.version) === run && isLive(run.record.phase) && this.driver.has('health')) await this.checkHealth(run);
        }),
      ),
    );
    return this.observe();
  }

  // ---------------------------------------------------------------- deploy and health

  private async deploy(run: Run, request: ScriptedEnsureRequest, repair: boolean): Promise<VersionState> {
    const { record } = run;
    const wasLive = isLive(record.phase);
    this.stopMonitor(run);
    record.replicas = request.replicas;
    // A version's artifact and environment are what it was first deployed with (the engine may
    // pass the deployment's digest when it ensures another version).
    record.artifactDigest ??= request.artifactDigest;
    record.environment ??= request.environment ?? this.settings.environment;
    if (record.artifactDigest === undefined) delete record.artifactDigest;
    if (record.environment === undefined) delete record.environment;
    if (repair) record.restarts += 1;
    if (record.port === null) {
      try {
        record.port = await allocatePort('127.0.0.1', this.settings.portRange);
      } catch (error) {
        return this.fail(run, `deploy could not be started: ${(error as Error).message}`);
      }
    }
    record.phase = 'starting';
    record.healthy = false;
    delete record.message;
    this.touch(run);
    this.note(run, `deploying ${record.version}${repair ? ' again (repair)' : wasLive ? ` (scaling to ${request.replicas})` : ''}`);

    const outcome = await this.step(run, 'deploy', this.settings.timeoutMs);
    if (!outcome.ok) return this.fail(run, outcome.reason);

    let endpoints = [...new Set(outcome.endpoints)];
    let source = 'printed by the deploy step';
    if (endpoints.length === 0 && this.settings.endpoints.length > 0) {
      const values = { port: record.port, version: record.version, service: this.settings.service, environment: record.environment ?? '' };
      endpoints = [...new Set(this.settings.endpoints.map((template) => fillEndpoint(template, values)))];
      source = 'from the configured endpoints';
    }
    const invalid = endpoints.find((endpoint) => !isEndpoint(endpoint));
    if (invalid !== undefined) {
      return this.fail(run, `deploy succeeded but reported the endpoint "${invalid}" (${source}), which is not "host:port"`);
    }
    record.endpoints = endpoints;
    this.touch(run);

    if (this.driver.has('health')) {
      const healthy = await this.waitHealthy(run);
      if (!healthy.ok) return this.fail(run, healthy.reason);
    }
    record.phase = 'running';
    record.healthy = true;
    run.verified = true;
    record.deployedAt = new Date().toISOString();
    delete record.message;
    this.touch(run);
    this.note(run, `${record.version} is running${endpoints.length ? ` at ${endpoints.join(', ')}` : ' (no endpoints reported)'}`);
    this.startMonitor(run);
    return this.stateOf(run);
  }

  /** Polls the health step until it passes or the start timeout ends. */
  private async waitHealthy(run: Run): Promise<{ ok: true } | { ok: false; reason: string }> {
    const { startTimeoutMs, healthTimeoutMs } = this.settings;
    const started = Date.now();
    const deadline = started + startTimeoutMs;
    let delay = 250;
    for (let attempt = 1; ; attempt++) {
      // Bounded by what is left of the start timeout, but never starved (a check needs a moment to run).
      const remaining = deadline - Date.now();
      const outcome = await this.step(run, 'health', Math.min(healthTimeoutMs, Math.max(remaining, 2000)), { quiet: true });
      if (outcome.ok) {
        this.note(run, `health passed (attempt ${attempt}, ${formatDuration(Date.now() - started)} after the deploy step)`);
        return { ok: true };
      }
      const last = this.closed || Date.now() >= deadline;
      if (attempt === 1 || last) this.writeHeld(run, outcome);
      else this.note(run, `health attempt ${attempt} failed: ${outcome.summary}`);
      if (this.closed) return { ok: false, reason: `stopped while waiting for the health step to pass: the target is closing` };
      if (last) {
        return {
          ok: false,
          reason: `health did not pass within ${formatDuration(startTimeoutMs)} after the deploy step (${attempt} attempts); last attempt: ${outcome.reason}`,
        };
      }
      await sleep(Math.max(0, Math.min(delay, deadline - Date.now())));
      delay = Math.min(delay * 2, 2000);
    }
  }

  /** One health step of a deployed version; updates its phase (running ↔ unhealthy). Call under the version's lock. */
  private async checkHealth(run: Run): Promise<StepOutcome> {
    const outcome = await this.step(run, 'health', this.settings.healthTimeoutMs, { quiet: true });
    const { record } = run;
    if (!this.closed) run.verified = true;
    if (this.closed || this.runs.get(record.version) !== run || !isLive(record.phase)) return outcome;
    if (outcome.ok) {
      if (record.phase !== 'running' || !record.healthy) {
        record.phase = 'running';
        record.healthy = true;
        delete record.message;
        this.touch(run);
        this.note(run, `health passes again`);
      }
    } else if (record.phase === 'running') {
      this.writeHeld(run, outcome);
      record.phase = 'unhealthy';
      record.healthy = false;
      record.message = outcome.reason;
      this.touch(run);
    } else {
      record.message = outcome.reason; // still unhealthy: fresher detail, no log line and no state write
    }
    return outcome;
  }

  private fail(run: Run, reason: string): VersionState {
    const { record } = run;
    record.phase = 'failed';
    record.healthy = false;
    record.message = this.clean(run, reason);
    this.stopMonitor(run);
    this.touch(run);
    this.note(run, `${record.version} failed: ${record.message.split('\n')[0]}`);
    return this.stateOf(run);
  }

  private startMonitor(run: Run): void {
    this.stopMonitor(run);
    if (!this.driver.has('health') || this.settings.healthIntervalMs <= 0 || this.closed) return;
    const version = run.record.version;
    run.monitor = setInterval(() => {
      // Skip a tick while ensure/retire/another check works on this version.
      if (this.closed || (this.waiting.get(version) ?? 0) > 0) return;
      void this.withLock(version, async () => {
        if (!this.closed && this.runs.get(version) === run && isLive(run.record.phase)) await this.checkHealth(run);
      }).catch(() => undefined);
    }, this.settings.healthIntervalMs);
    run.monitor.unref();
  }

  private stopMonitor(run: Run): void {
    if (run.monitor) clearInterval(run.monitor);
    run.monitor = null;
  }

  // ---------------------------------------------------------------- steps

  private async step(run: Run, action: StepAction, timeoutMs: number, options: { quiet?: boolean } = {}): Promise<StepOutcome> {
    const { record } = run;
    const held: string[] = [];
    const write = (text: string) => (options.quiet ? held.push(text) : this.append(run, text));
    const stamp = () => `[rollgate ${new Date().toISOString()}]`;
    const context: StepContext = {
      action,
      service: this.settings.service,
      version: record.version,
      environment: record.environment ?? this.settings.environment,
      artifactDigest: record.artifactDigest,
      replicas: record.replicas,
      port: record.port,
      endpoints: [...record.endpoints],
      canaryWeight: run.canaryWeight,
      role: run.role,
    };
    write(`${stamp()} ==> ${action} ${record.version} (timeout ${formatDuration(timeoutMs)})`);
    let prepared: PreparedStep;
    try {
      prepared = await this.driver.prepare(context);
    } catch (error) {
      const summary = `could not be started: ${(error as Error).message}`;
      write(`${stamp()} <== ${action} FAILED: ${summary}`);
      return { ok: false, summary, reason: this.clean(run, `${action} ${summary}`), endpoints: [], held };
    }
    // Before anything of the step is written: its output may echo these values.
    if (prepared.secrets) run.known.add(prepared.secrets);
    write(this.clean(run, `${stamp()} $ ${prepared.display}`));
    const observer = this.driver.observer(action);
    const tail = new LineRing(LOG_TAIL_LINES);
    const controller = new AbortController();
    this.inFlight.add(controller);
    let result;
    try {
      result = await runStep({
        file: prepared.file,
        args: prepared.args,
        env: this.stepEnv(run, context, prepared.env),
        cwd: this.settings.workingDir,
        timeoutMs,
        killGraceMs: this.settings.killGraceMs,
        signal: controller.signal,
        onLine: (line, stream) => {
          observer.line(line, stream);
          const clean = this.clean(run, line);
          tail.push(clean);
          write(clean);
        },
      });
    } finally {
      this.inFlight.delete(controller);
      try {
        prepared.cleanup?.();
      } catch {
        // best effort
      }
    }
    const ok = result.code === 0 && !result.timedOut && !result.aborted && result.spawnError === null;
    const summary = describeResult(result, timeoutMs);
    if (result.outputLeftOpen) {
      write(
        `${stamp()} warning: a process started by the ${action} step kept its stdout/stderr open after the step ended; Rollgate stopped reading them, ` +
          'so that process will get SIGPIPE/EPIPE at its next write. Redirect the output of anything a step starts in the background (nohup CMD >FILE 2>&1 &).',
      );
    }
    write(`${stamp()} <== ${action} ${ok ? 'succeeded' : 'FAILED'}: ${summary}`);
    let reason = '';
    if (!ok) {
      const detail = observer.failure();
      if (detail) {
        reason = `${action} ${summary}: ${headBytes(detail, MESSAGE_MAX_BYTES)}`;
      } else {
        const lines = lastLinesForMessage(tail.all());
        reason = lines.length > 0 ? `${action} ${summary}; last output:\n${lines.join('\n')}` : `${action} ${summary} (no output)`;
      }
      reason = this.clean(run, reason);
    }
    return { ok, summary, reason, endpoints: ok ? observer.endpoints() : [], held };
  }

  /**
   * This process's environment without any inherited ROLLGATE_* variable (the control plane's own
   * settings and keys), then the config's env, then the request's env, then the ROLLGATE_* facts
   * of the step, then the driver's.
   */
  private stepEnv(run: Run, context: StepContext, extra: Record<string, string> | undefined): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('ROLLGATE_')) env[key] = value;
    Object.assign(env, this.settings.env, run.env);
    env.ROLLGATE_SERVICE = context.service;
    env.ROLLGATE_VERSION = context.version;
    env.ROLLGATE_ACTION = context.action;
    env.ROLLGATE_REPLICAS = String(context.replicas);
    if (context.environment !== undefined) env.ROLLGATE_ENVIRONMENT = context.environment;
    if (context.artifactDigest !== undefined) env.ROLLGATE_ARTIFACT_DIGEST = context.artifactDigest;
    if (context.port !== null) env.ROLLGATE_PORT = String(context.port);
    if (context.endpoints.length > 0) env.ROLLGATE_ENDPOINTS = context.endpoints.join(',');
    if (context.canaryWeight !== undefined) env.ROLLGATE_CANARY_WEIGHT = String(context.canaryWeight);
    if (context.role !== undefined) env.ROLLGATE_ROLE = context.role;
    if (extra) Object.assign(env, extra);
    return env;
  }

  // ---------------------------------------------------------------- state

  private loadRecords(): void {
    let loaded;
    try {
      loaded = loadState(this.stateFile, this.driver.kind);
    } catch (error) {
      throw new Error(`${this.driver.label}: cannot read ${this.stateFile}: ${(error as Error).message}`);
    }
    if (loaded.movedAside) {
      this.startupWarnings.push(`${this.stateFile} was unreadable and was moved to ${loaded.movedAside}; the versions it listed are unknown until ensured again`);
    }
    for (const record of loaded.records) {
      if (record.phase === 'stopped') continue;
      if (record.phase === 'starting') {
        record.phase = 'failed';
        record.healthy = false;
        record.message = 'the control plane stopped while this version was being deployed; the next ensure deploys it again';
      }
      if (record.port !== null) reservePort(record.port);
      const run: Run = { record, env: Object.freeze({}), secrets: [], known: new SecretRedactor(), canaryWeight: undefined, role: undefined, monitor: null, verified: false };
      this.runs.set(record.version, run);
      if (isLive(record.phase)) this.startMonitor(run);
    }
    if (loaded.records.length > 0 || loaded.movedAside) this.persist();
  }

  private touch(run: Run): void {
    run.record.updatedAt = new Date().toISOString();
    this.persist();
  }

  private persist(): void {
    try {
      saveState(this.stateFile, {
        kind: this.driver.kind,
        service: this.settings.service,
        environment: this.settings.environment ?? null,
        versions: [...this.runs.values()].map((run) => run.record),
      });
    } catch (error) {
      for (const run of this.runs.values()) this.note(run, `could not write ${this.stateFile}: ${(error as Error).message}`);
    }
  }

  private stateOf(run: Run): VersionState {
    const { record } = run;
    const serving = record.phase !== 'failed' && record.phase !== 'stopped';
    const state: VersionState = {
      version: record.version,
      phase: record.phase,
      endpoints: serving ? [...record.endpoints] : [],
      healthy: record.phase === 'running' && record.healthy,
      restarts: record.restarts,
    };
    if (record.message !== undefined) state.message = record.message;
    return state;
  }

  // ---------------------------------------------------------------- helpers

  private assertOpen(): void {
    if (this.closed) throw new Error(`${this.driver.label} is closed`);
  }

  private withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    this.waiting.set(key, (this.waiting.get(key) ?? 0) + 1);
    const previous = this.locks.get(key) ?? Promise.resolve();
    const result = previous.then(fn, fn);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(key, settled);
    void settled.then(() => {
      const left = (this.waiting.get(key) ?? 1) - 1;
      if (left > 0) this.waiting.set(key, left);
      else this.waiting.delete(key);
      if (this.locks.get(key) === settled) this.locks.delete(key);
    });
    return result;
  }

  /** Known secrets and request env values blanked, then the configured redactor. */
  private clean(run: Run | undefined, text: string): string {
    const blanked = run ? redact(run.known.redact(text), run.secrets) : text;
    if (!this.settings.redact) return blanked;
    try {
      return this.settings.redact(blanked);
    } catch {
      return blanked;
    }
  }

  private writeHeld(run: Run, outcome: StepOutcome): void {
    for (const line of outcome.held) this.append(run, line);
  }

  /** Appends a control-plane line to the version's log. */
  private note(run: Run, text: string): void {
    this.append(run, this.clean(run, `[rollgate ${new Date().toISOString()}] ${text}`));
  }

  private append(run: Run, line: string): void {
    try {
      appendFileSync(this.logFile(run.record.version), `${line}\n`, { mode: 0o600 });
    } catch {
      // logging must never break the target
    }
  }
}
