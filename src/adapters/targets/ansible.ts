/**
 * The `ansible` deploy target: the `command` target (see `./command.ts` for steps, timeouts,
 * logs, endpoints, health, state and idempotency, which are the same) whose steps are runs of
 * one playbook:
 *
 *   ansible-playbook PLAYBOOK [-i INVENTORY] -e @VARS.json [extraArgs...]
 *
 * in `workingDir` (relative `playbook` / `inventory` paths resolve against it).
 *
 * What the playbook gets
 * - Extra vars (a 0600 JSON file in a private temporary directory, removed after the run), the
 *   spec's `extraVars` first, then — overriding them, the `rollgate_` prefix is reserved:
 *     rollgate_action            deploy | health | retire (one playbook, one branch per action:
 *                                guard every task with `when: rollgate_action == '...'`)
 *     rollgate_service, rollgate_version, rollgate_replicas (number),
 *     rollgate_environment       when known,
 *     rollgate_artifact_digest   when known (use `rollgate_artifact_digest | default('')`),
 *     rollgate_port              a free loopback port on the control-plane host kept for the
 *                                version (meaningful with `connection: local`),
 *     rollgate_endpoints         list of "host:port" already known for the version,
 *     rollgate_canary_weight, rollgate_role   when the engine passes them.
 * - Environment: as for `command` steps (ROLLGATE_* included). The request's env — which may hold
 *   secrets — goes ONLY into ansible-playbook's environment (read it with
 *   `lookup('env', 'NAME')`), never into the vars file, the command line or the log.
 * - Set by Rollgate, overriding ansible.cfg, because the output is parsed:
 *   ANSIBLE_STDOUT_CALLBACK=default, ANSIBLE_CALLBACK_RESULT_FORMAT=json,
 *   ANSIBLE_CALLBACK_FORMAT_PRETTY=false, ANSIBLE_NOCOLOR=1, ANSIBLE_FORCE_COLOR=0,
 *   ANSIBLE_RETRY_FILES_ENABLED=false, PYTHONUNBUFFERED=1 (output streams into the log as it runs).
 *
 * What Rollgate reads back
 * - Endpoints: `ROLLGATE_ENDPOINT=host:port` anywhere in the deploy run's stdout, typically
 *   `ansible.builtin.debug: msg: "ROLLGATE_ENDPOINT={{ inventory_hostname }}:8080"` (one per host
 *   or instance); else the config's `endpoints` templates.
 * - Failures: a run that exits non-zero fails the step; the message names the failing task, its
 *   host and its message (`msg`, return code, last stderr/stdout lines) — the last failure not
 *   marked `...ignoring` — or Ansible's own `ERROR!` text (syntax errors, missing playbook).
 * - Health: with `health` (default true) the playbook runs with `rollgate_action=health` after a
 *   deploy (polled until it succeeds, within `startTimeoutMs`) and every `healthIntervalMs`
 *   (default 30 s; 0: only after deploys). `health: false`: healthy once the deploy run succeeds.
 *
 * What Rollgate never does: edit the playbook or inventory, pass `--become`, `--limit` or any
 * other option not in `extraArgs`, put request env values in extra vars, or run the playbook for
 * any action but the three above.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AnsibleOutput } from './command/ansible-output.js';
import {
  type OutputObserver,
  type PreparedStep,
  type ScriptedTargetConfig,
  ScriptedTarget,
  type StepAction,
  type StepContext,
  type StepDriver,
} from './command/scripted.js';

export type { ScriptedEnsureRequest } from './command/scripted.js';

export interface AnsibleTargetConfig extends ScriptedTargetConfig {
  /** Path of the playbook (relative: to `workingDir`). */
  playbook: string;
  /** `-i` argument: inventory file, directory or comma-separated host list; none: Ansible's default. */
  inventory?: string;
  /** Extra vars passed as JSON (strings, numbers, lists, maps); names must not start with `rollgate_`. */
  extraVars?: Record<string, unknown>;
  /** Run the playbook with `rollgate_action=health` to check a version; default true. */
  health?: boolean;
  /** The ansible-playbook executable; default `ansible-playbook` found on PATH. */
  ansiblePlaybook?: string;
  /** More arguments after the ones above, e.g. ["--limit", "web", "--become"]. */
  extraArgs?: string[];
}

/** Settings that make ansible-playbook's output what `AnsibleOutput` parses. */
export const ANSIBLE_OUTPUT_ENV: Readonly<Record<string, string>> = Object.freeze({
  ANSIBLE_STDOUT_CALLBACK: 'default',
  ANSIBLE_CALLBACK_RESULT_FORMAT: 'json',
  ANSIBLE_CALLBACK_FORMAT_PRETTY: 'false',
  ANSIBLE_NOCOLOR: '1',
  ANSIBLE_FORCE_COLOR: '0',
  ANSIBLE_RETRY_FILES_ENABLED: 'false',
  PYTHONUNBUFFERED: '1',
});

/** The extra vars of one step (without the spec's own). */
export function rollgateVars(context: StepContext): Record<string, unknown> {
  const vars: Record<string, unknown> = {
    rollgate_action: context.action,
    rollgate_service: context.service,
    rollgate_version: context.version,
    rollgate_replicas: context.replicas,
    rollgate_endpoints: [...context.endpoints],
  };
  if (context.environment !== undefined) vars.rollgate_environment = context.environment;
  if (context.artifactDigest !== undefined) vars.rollgate_artifact_digest = context.artifactDigest;
  if (context.port !== null) vars.rollgate_port = context.port;
  if (context.canaryWeight !== undefined) vars.rollgate_canary_weight = context.canaryWeight;
  if (context.role !== undefined) vars.rollgate_role = context.role;
  return vars;
}

class PlaybookDriver implements StepDriver {
  readonly kind = 'ansible';
  readonly label = 'AnsibleTarget';
  private readonly playbook: string;
  private readonly inventory: string | undefined;
  private readonly extraVars: Readonly<Record<string, unknown>>;
  private readonly health: boolean;
  private readonly bin: string;
  private readonly extraArgs: readonly string[];
  private readonly workingDir: string;

  constructor(config: AnsibleTargetConfig) {
    if (typeof config.playbook !== 'string' || !config.playbook.trim()) throw new TypeError('AnsibleTarget: playbook is required');
    if (config.inventory !== undefined && (typeof config.inventory !== 'string' || !config.inventory.trim())) {
      throw new TypeError('AnsibleTarget: inventory must be a non-empty string');
    }
    const reserved = Object.keys(config.extraVars ?? {}).filter((name) => name.startsWith('rollgate_'));
    if (reserved.length > 0) throw new TypeError(`AnsibleTarget: extraVars ${reserved.join(', ')}: the rollgate_ prefix is reserved for the variables Rollgate passes`);
    for (const arg of config.extraArgs ?? []) if (typeof arg !== 'string') throw new TypeError('AnsibleTarget: extraArgs must be strings');
    this.workingDir = path.resolve(config.workingDir ?? process.cwd());
    this.playbook = config.playbook;
    this.inventory = config.inventory;
    this.extraVars = Object.freeze(JSON.parse(JSON.stringify(config.extraVars ?? {})) as Record<string, unknown>);
    this.health = config.health ?? true;
    this.bin = config.ansiblePlaybook ?? 'ansible-playbook';
    this.extraArgs = Object.freeze([...(config.extraArgs ?? [])]);
  }

  has(action: StepAction): boolean {
    return action !== 'health' || this.health;
  }

  prepare(context: StepContext): PreparedStep {
    if (!existsSync(path.resolve(this.workingDir, this.playbook))) {
      throw new Error(`playbook ${this.playbook} not found (relative paths resolve against ${this.workingDir})`);
    }
    const vars = { ...this.extraVars, ...rollgateVars(context) };
    const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-ansible-'));
    const varsFile = path.join(dir, 'vars.json');
    try {
      writeFileSync(varsFile, `${JSON.stringify(vars)}\n`, { mode: 0o600 });
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    const args = [this.playbook, ...(this.inventory !== undefined ? ['-i', this.inventory] : []), '-e', `@${varsFile}`, ...this.extraArgs];
    const shown = [this.bin, this.playbook, ...(this.inventory !== undefined ? ['-i', this.inventory] : []), '-e', '@vars.json', ...this.extraArgs];
    return {
      file: this.bin,
      args,
      env: { ...ANSIBLE_OUTPUT_ENV },
      display: `${shown.join(' ')}   # vars.json: ${JSON.stringify(vars)}`,
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  }

  observer(): OutputObserver {
    return new AnsibleOutput();
  }
}

/** See the module documentation. */
export class AnsibleTarget extends ScriptedTarget {
  constructor(config: AnsibleTargetConfig) {
    super(config, new PlaybookDriver(config), 30_000);
  }
}
