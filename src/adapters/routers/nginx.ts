/**
 * TrafficRouter over an NGINX the operator runs: Rollgate owns ONE include file (upstreams and a
 * routing `map`, see nginx/render.ts) and reloads NGINX after changing it. It never edits
 * nginx.conf, never starts or stops NGINX, and touches no other file than the include file, its
 * `.previous` copy and two short-lived siblings (a candidate `.<name>.rollgate-*.tmp` and
 * `<name>.rollgate-restore`), all in the include file's directory.
 *
 * One change (setBackends / setWeights / setHeaderRoute / reset), serialized in this process:
 *  1. render the whole file from the desired state; identical to the live file and already
 *     reloaded by this process: nothing to do;
 *  2. write it to a candidate file next to the live one (same file system, so renames are atomic)
 *     and run `nginx -t` on a throwaway configuration that includes ONLY the candidate
 *     (commands.ts): what the renderer can get wrong — syntax, a regex PCRE refuses, an endpoint
 *     host that does not resolve — is refused here, before the live file is touched at all;
 *  3. swap-then-check-then-restore for the whole configuration: hard-link the live file to
 *     `<file>.rollgate-restore`, rename the candidate over the live file, run `nginx -t` on the
 *     operator's configuration (`-c` / `-p`), which is the only way to check the file in its real
 *     context (names it defines vs. nginx.conf's, the location using the variable) without
 *     rewriting nginx.conf; on failure rename the restore link back (atomic: the live file is
 *     byte-for-byte and inode-for-inode what it was) and throw with NGINX's message. Why not a
 *     rewritten copy of nginx.conf pointing at the candidate: rewriting someone's configuration
 *     (includes, relative paths, globs) to test it is more fragile than a few milliseconds during
 *     which an unchecked-but-pre-checked file sits at the live path, where NGINX reads it only on
 *     a reload or restart (a crash in that window is repaired on the next start: step 0);
 *  4. reload (`nginx -s reload`, or `reloadCommand`) and, when `pidFile` is set, wait until the
 *     master has new workers and no old worker still accepting (commands.ts, Linux /proc) — a
 *     reload NGINX could not apply (it logs the error and keeps its old configuration) is caught
 *     here; on failure the previous file is put back, NGINX is asked to reload it (best effort) and
 *     the call throws;
 *  5. rename the restore link to `<file>.previous`: the file as it was before the last successful
 *     change.
 *  0. on first use, a `<file>.rollgate-restore` left by a control plane that died in step 3/4 is
 *     renamed back over the live file and NGINX reloaded: the interrupted change is undone (the
 *     engine sends it again).
 *
 * Reloads are graceful: old workers finish the requests they are serving and close idle
 * keep-alive connections; new connections go to the new workers. Clients see no failed request,
 * except that a client sending on an idle keep-alive connection at the instant an old worker
 * closes it gets a connection reset — standard HTTP/1.1 keep-alive behaviour, which real clients
 * (browsers, curl, Go, Node's undici) handle by retrying an idempotent request on a new connection.
 *
 * `verify()` reads the include file back and cross-checks the rendered `weight=` values against
 * the state it records: it verifies the CONFIGURATION NGINX accepted (`nginx -t`) and was told to
 * load (confirmed by new workers when `pidFile` is set) — not the workers' live state, which
 * open-source NGINX does not expose. Drift it does see: a hand-edited or replaced file (the
 * rendered weights win), a deleted file (all null). It cannot see an NGINX that was restarted
 * with another configuration or is down; that is what health checks and metrics are for.
 */
import { constants } from 'node:fs';
import { copyFile, link, open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Backends, HeaderRoute, RouterCapabilities, RouterState, TrafficRouter } from '../../ports/traffic-router.js';
import { compileHeaderRoute } from '../../proxy/index.js';
import {
  checkCandidateAlone,
  childrenOf,
  NginxConfigError,
  nginxMessage,
  procAvailable,
  readPidFile,
  runCommand,
  waitForNewWorkers,
} from './nginx/commands.js';
import {
  copyBackend,
  copyHeaderRoute,
  EMPTY_STATE,
  isManaged,
  MANAGED_MARKER,
  parseInclude,
  renderInclude,
  routerStateOf,
  routingVariable,
  validateUpstreamName,
  validateWeight,
  type NginxRoutingState,
  type RenderOptions,
} from './nginx/render.js';

export { NginxConfigError } from './nginx/commands.js';
export { renderInclude, routingVariable, upstreamNames, type NginxRoutingState } from './nginx/render.js';

export interface NginxRouterConfig {
  /** Absolute path of the include file Rollgate owns; nginx.conf includes it inside `http {}`. */
  includeFile: string;
  /** Upstream name U: the file defines `upstream U`, `U__stable`, `U__canary` and `$rollgate_<U>`. */
  upstream: string;
  /** The NGINX binary. Default /usr/sbin/nginx (Debian). */
  nginx?: string;
  /** Main configuration file passed as `-c` to `nginx -t` and `nginx -s reload`. Default: NGINX's compiled-in one. */
  configFile?: string;
  /** Prefix passed as `-p`. Default: NGINX's compiled-in one. */
  prefix?: string;
  /**
   * Prepended to every command that reads the operator's configuration or signals the master
   * (the whole-configuration `nginx -t` and the reload), e.g. `["sudo", "-n"]`. Default none.
   */
  commandPrefix?: readonly string[];
  /** Replaces `[...commandPrefix, nginx, -p, -c, -s, reload]`, e.g. `["sudo", "-n", "systemctl", "reload", "nginx"]`. */
  reloadCommand?: readonly string[];
  /**
   * The master's pid file (nginx.conf's `pid`; Debian: /run/nginx.pid). When set, each reload waits
   * until the master runs new workers (Linux /proc), and a reload NGINX did not apply fails the
   * call. When absent, a reload counts as done once the command exits 0 (NGINX applies it
   * asynchronously, usually within milliseconds).
   */
  pidFile?: string;
  /** How long a reload may take to show new workers. Default 10000 ms. */
  reloadTimeoutMs?: number;
  /** Timeout of each `nginx -t` / reload command. Default 30000 ms. */
  commandTimeoutMs?: number;
  /** Idle keep-alive connections per worker to each upstream. Default 16; 0 = none. */
  keepalive?: number;
  /**
   * Idle time after which NGINX closes a kept-alive upstream connection, seconds. Default 4: below
   * the 5 s of Node.js servers, so NGINX closes an idle connection before the backend does (a
   * request sent on a connection the backend is closing fails and is retried on another server).
   * null: NGINX's default (60 s).
   */
  keepaliveTimeoutSeconds?: number | null;
  /** Where the stand-alone candidate check makes its throwaway directory. Default os.tmpdir(). */
  tmpDir?: string;
}

type FrozenConfig = Readonly<Omit<NginxRouterConfig, 'commandPrefix' | 'reloadCommand'>> & {
  readonly commandPrefix: readonly string[];
  readonly reloadCommand?: readonly string[];
};

const CAPABILITIES: RouterCapabilities = Object.freeze({ weights: true, headerRouting: true, sticky: false, verify: true });

function freezeConfig(config: NginxRouterConfig): FrozenConfig {
  if (typeof config?.includeFile !== 'string' || !path.isAbsolute(config.includeFile)) {
    throw new TypeError(`NginxRouter: includeFile must be an absolute path, got ${JSON.stringify(config?.includeFile)}`);
  }
  validateUpstreamName(config.upstream);
  const argv = (value: readonly string[] | undefined, name: string) => {
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.some((a) => typeof a !== 'string' || a.length === 0)) throw new TypeError(`NginxRouter: ${name} must be an array of non-empty strings`);
    return Object.freeze([...value]);
  };
  const reloadCommand = argv(config.reloadCommand, 'reloadCommand');
  if (reloadCommand && reloadCommand.length === 0) throw new TypeError('NginxRouter: reloadCommand must not be empty');
  const positive = (value: number | undefined, name: string) => {
    if (value !== undefined && (!Number.isFinite(value) || value <= 0)) throw new RangeError(`NginxRouter: ${name} must be a positive number`);
  };
  positive(config.reloadTimeoutMs, 'reloadTimeoutMs');
  positive(config.commandTimeoutMs, 'commandTimeoutMs');
  if (config.keepalive !== undefined && (!Number.isInteger(config.keepalive) || config.keepalive < 0)) throw new RangeError('NginxRouter: keepalive must be an integer >= 0');
  const kt = config.keepaliveTimeoutSeconds;
  if (kt !== undefined && kt !== null && (!Number.isInteger(kt) || kt <= 0)) throw new RangeError('NginxRouter: keepaliveTimeoutSeconds must be a positive integer or null');
  return Object.freeze({
    ...config,
    includeFile: path.normalize(config.includeFile),
    commandPrefix: argv(config.commandPrefix, 'commandPrefix') ?? Object.freeze([]),
    ...(reloadCommand ? { reloadCommand } : {}),
  });
}

async function readOrNull(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

async function exists(file: string): Promise<boolean> {
  return (await readOrNull(file).catch(() => '')) !== null;
}

async function unlinkIfPresent(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Best effort: makes renames in `dir` durable. */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    /* not supported everywhere; the renames are still atomic */
  }
}

export class NginxRouter implements TrafficRouter {
  readonly capabilities: RouterCapabilities = CAPABILITIES;
  readonly config: FrozenConfig;
  /** Where `.previous` keeps the file as it was before the last successful change. */
  readonly previousFile: string;
  private readonly restoreFile: string;
  private readonly renderOptions: RenderOptions;
  /** Desired state; null until read from the live file on first use. */
  private state: NginxRoutingState | null = null;
  /** The content this process last saw NGINX reload (or confirmed as loaded); null: none yet. */
  private reloaded: string | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(config: NginxRouterConfig) {
    this.config = freezeConfig(config);
    this.previousFile = `${this.config.includeFile}.previous`;
    this.restoreFile = `${this.config.includeFile}.rollgate-restore`;
    this.renderOptions = Object.freeze({
      upstream: this.config.upstream,
      keepalive: this.config.keepalive ?? 16,
      keepaliveTimeoutSeconds: this.config.keepaliveTimeoutSeconds === undefined ? 4 : this.config.keepaliveTimeoutSeconds,
    });
  }

  /** The variable nginx.conf's `proxy_pass http://$...;` names (without `$`). */
  get variable(): string {
    return routingVariable(this.config.upstream);
  }

  async setBackends(backends: Backends): Promise<void> {
    const stable = copyBackend(backends?.stable, 'backends.stable');
    const canary = backends?.canary == null ? null : copyBackend(backends.canary, 'backends.canary');
    await this.change((s) => ({ ...s, stable, canary }));
  }

  async setWeights(weights: { canary: number }): Promise<void> {
    const canaryWeight = validateWeight(weights?.canary);
    await this.change((s) => ({ ...s, canaryWeight }));
  }

  async setHeaderRoute(route: HeaderRoute | null): Promise<void> {
    const headerRoute = route === null ? null : copyHeaderRoute(compileHeaderRoute(route).spec);
    await this.change((s) => ({ ...s, headerRoute }));
  }

  async reset(): Promise<void> {
    await this.change((s) => ({ ...s, canaryWeight: 0, headerRoute: null }));
  }

  async verify(): Promise<RouterState> {
    this.assertOpen();
    const content = await readOrNull(this.config.includeFile);
    if (content === null || content.trim().length === 0) return { canaryWeight: 0, stableVersion: null, canaryVersion: null, headerRoute: null };
    try {
      return routerStateOf(parseInclude(content, this.config.upstream));
    } catch (error) {
      throw new Error(`NginxRouter: ${this.config.includeFile}: ${(error as Error).message}`);
    }
  }

  /** Waits for a change in progress; the include file stays (NGINX keeps routing as last set). */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue.catch(() => undefined);
  }

  // -------------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new Error(`NginxRouter for upstream "${this.config.upstream}" is closed`);
  }

  /** Runs one change after the previous one; the desired state moves only when the change applied. */
  private change(next: (state: NginxRoutingState) => NginxRoutingState): Promise<void> {
    this.assertOpen();
    const run = this.queue.then(async () => {
      this.assertOpen();
      const current = await this.load();
      const desired = next(current);
      await this.apply(desired);
      this.state = desired;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The desired state, read from the live file on first use (after undoing an interrupted change). */
  private async load(): Promise<NginxRoutingState> {
    if (this.state) return this.state;
    if (await exists(this.restoreFile)) {
      await rename(this.restoreFile, this.config.includeFile);
      await syncDir(path.dirname(this.config.includeFile));
      const content = await readFile(this.config.includeFile, 'utf8');
      await this.wholeConfigCheck('the include file restored after an interrupted change');
      await this.reload();
      this.reloaded = content;
    }
    const content = await readOrNull(this.config.includeFile);
    let state: NginxRoutingState = EMPTY_STATE;
    if (content !== null && content.trim().length > 0) {
      if (!isManaged(content)) {
        throw new Error(
          `NginxRouter: ${this.config.includeFile} exists and was not written by Rollgate (no "${MANAGED_MARKER}" line); move it away or start it with that line — Rollgate rewrites the whole file`,
        );
      }
      try {
        state = parseInclude(content, this.config.upstream).state ?? EMPTY_STATE;
      } catch (error) {
        throw new Error(`NginxRouter: ${this.config.includeFile}: ${(error as Error).message}`);
      }
    }
    this.state = state;
    return state;
  }

  private async apply(desired: NginxRoutingState): Promise<void> {
    // Nothing to render before the stable backend is known; the state waits in memory.
    if (!desired.stable) return;
    const content = renderInclude(this.renderOptions, desired);
    const live = await readOrNull(this.config.includeFile);
    if (live === content) {
      if (this.reloaded === content) return;
      // Same file, but this process has not seen it loaded (e.g. after a restart): reload once.
      await this.reload();
      this.reloaded = content;
      return;
    }
    if (live !== null && !isManaged(live)) {
      throw new Error(`NginxRouter: ${this.config.includeFile} was replaced by a file Rollgate did not write (no "${MANAGED_MARKER}" line); refusing to overwrite it`);
    }
    await this.replace(content, live !== null);
    this.reloaded = content;
  }

  private async replace(content: string, hadLive: boolean): Promise<void> {
    const file = this.config.includeFile;
    const dir = path.dirname(file);
    const candidate = path.join(dir, `.${path.basename(file)}.rollgate-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
    const handle = await open(candidate, 'wx', 0o644);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }

    // 2. The candidate on its own: the live file is not touched.
    try {
      const refused = await checkCandidateAlone(this.nginxBin, candidate, this.commandTimeoutMs, this.config.tmpDir);
      if (refused) {
        throw new NginxConfigError(
          `NginxRouter: nginx -t refused the new ${file} for upstream "${this.config.upstream}" (the live file was not changed): ${refused.message}`,
          refused.output,
        );
      }
    } catch (error) {
      await unlinkIfPresent(candidate);
      throw error;
    }

    // 3. Swap, check the whole configuration, restore on failure.
    if (hadLive) {
      await unlinkIfPresent(this.restoreFile);
      try {
        await link(file, this.restoreFile);
      } catch {
        await copyFile(file, this.restoreFile);
      }
    }
    await rename(candidate, file);
    await syncDir(dir);
    let stage: 'check' | 'reload' = 'check';
    try {
      await this.wholeConfigCheck(`the new ${file}`);
      stage = 'reload';
      await this.reload();
    } catch (error) {
      if (hadLive) await rename(this.restoreFile, file);
      else await unlinkIfPresent(file);
      await syncDir(dir);
      // A reload that was sent but not confirmed may still land late: ask NGINX to load the restored file.
      if (stage === 'reload' && hadLive) await this.reload().catch(() => undefined);
      throw error;
    }

    // 5. The file as it was before this change.
    if (hadLive) {
      await rename(this.restoreFile, this.previousFile);
      await syncDir(dir);
    }
  }

  private get nginxBin(): string {
    return this.config.nginx ?? '/usr/sbin/nginx';
  }

  private get commandTimeoutMs(): number {
    return this.config.commandTimeoutMs ?? 30_000;
  }

  private nginxArgv(...args: string[]): string[] {
    return [
      ...this.config.commandPrefix,
      this.nginxBin,
      ...(this.config.prefix ? ['-p', this.config.prefix] : []),
      ...(this.config.configFile ? ['-c', this.config.configFile] : []),
      ...args,
    ];
  }

  private async wholeConfigCheck(what: string): Promise<void> {
    const result = await runCommand(this.nginxArgv('-t', '-q'), this.commandTimeoutMs);
    if (result.code === 0 && !result.timedOut) return;
    throw new NginxConfigError(
      `NginxRouter: nginx -t refused the configuration with ${what} for upstream "${this.config.upstream}" (the live file was restored): ${nginxMessage(result)}`,
      `${result.stderr}${result.stdout}`,
    );
  }

  private async reload(): Promise<void> {
    const argv = this.config.reloadCommand ?? this.nginxArgv('-s', 'reload');
    const pidFile = this.config.pidFile;
    const confirm = pidFile !== undefined && (await procAvailable());
    let master: number | null = null;
    let before = new Set<number>();
    if (confirm) {
      master = await readPidFile(pidFile);
      if (master === null) throw new Error(`NginxRouter: cannot reload upstream "${this.config.upstream}": no NGINX master pid in ${pidFile} (is NGINX running?)`);
      before = new Set((await childrenOf(master)).map((c) => c.pid));
    }
    const result = await runCommand(argv, this.commandTimeoutMs);
    if (result.code !== 0 || result.timedOut) {
      throw new Error(`NginxRouter: reload failed for upstream "${this.config.upstream}" (${argv.join(' ')}): ${nginxMessage(result)}`);
    }
    if (!confirm || master === null) return;
    const timeoutMs = this.config.reloadTimeoutMs ?? 10_000;
    const current = await readPidFile(pidFile);
    // A master started anew (pid changed) read the new file when it started.
    if (current !== null && current !== master) return;
    const problem = await waitForNewWorkers(master, before, timeoutMs);
    if (problem) throw new Error(`NginxRouter: reload of upstream "${this.config.upstream}" not confirmed: ${problem}`);
  }
}
