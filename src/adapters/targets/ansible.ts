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
 *   spec's `extraVars` first — a value `{ secretRef: { name, key } }` is resolved through
 *   `resolveSecret` at each run and written only into that file (never the command line, the log
 *   line showing the command, or the state file; the value is blanked out of everything captured,
 *   see "Secrets" below) — then, overriding them, the `rollgate_` prefix is reserved:
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
 * Secrets
 * - An extra var's secretRef is resolved before each run (deploy, health, retire), so a rotated
 *   secret takes effect at the next run. One that cannot be resolved (no such secret or key, no
 *   resolver configured, the provider failed) fails that run before ansible-playbook starts, with a
 *   message naming the variable and the reference, never a value.
 * - Resolved values are blanked (as `[redacted]`, in every form SecretRedactor recognises: as
 *   written, JSON-escaped, percent-encoded, base64) out of the version's log, status messages and
 *   `logs()` (from 4 characters on) — a playbook that prints one (a `debug` task, `-v` output)
 *   shows `[redacted]`. Mark tasks that handle them `no_log: true` all the same: other callbacks
 *   and hosts' logs are beyond Rollgate.
 *
 * What Rollgate never does: edit the playbook or inventory, pass `--become`, `--limit` or any
 * other option not in `extraArgs`, put request env values in extra vars, or run the playbook for
 * any action but the three above.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { formatSecretRef, secretRefSchema, type SecretRef, type SecretResolver } from '../../core/secrets/env.js';
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
  /**
   * Extra vars passed as JSON (strings, numbers, lists, maps); names must not start with `rollgate_`.
   * A value `{ secretRef: { name, key } }` is a secret, resolved through `resolveSecret` at each run.
   */
  extraVars?: Record<string, unknown>;
  /**
   * Looks up the secrets `extraVars` refer to (the engine passes its secret provider's `resolve`):
   * the value, or null when the secret or key does not exist. Without it, an extra var that refers
   * to a secret fails every run.
   */
  resolveSecret?: SecretResolver;
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

/** An extra var that refers to a secret, as specs write it (the same shape as a secret `env` value). */
const secretVarSchema = z.strictObject({ secretRef: secretRefSchema });

/** Whether an extra var's value is meant as a secret reference: a plain object with a `secretRef` key. */
const isSecretVar = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.prototype.hasOwnProperty.call(value, 'secretRef');

/**
 * The spec's extra vars split into literal ones and secret references; a value that has a
 * `secretRef` key but is not exactly `{ secretRef: { name, key } }` is refused (a typo must not
 * reach the playbook as a literal map).
 */
export function splitExtraVars(extraVars: Readonly<Record<string, unknown>>): { literal: Record<string, unknown>; secret: Array<{ name: string; ref: SecretRef }> } {
  const literal: Record<string, unknown> = {};
  const secret: Array<{ name: string; ref: SecretRef }> = [];
  for (const [name, value] of Object.entries(extraVars)) {
    if (!isSecretVar(value)) {
      literal[name] = value;
      continue;
    }
    const parsed = secretVarSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new TypeError(`AnsibleTarget: extraVars ${name}: a secret reference is { secretRef: { name, key } }${issue ? ` (${[...issue.path].join('.') || 'value'}: ${issue.message})` : ''}`);
    }
    secret.push({ name, ref: { name: parsed.data.secretRef.name, key: parsed.data.secretRef.key } });
  }
  return { literal, secret };
}

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
  /** The spec's extra vars as written: secret ones as their references. */
  private readonly extraVars: Readonly<Record<string, unknown>>;
  private readonly secretVars: ReadonlyArray<{ name: string; ref: SecretRef }>;
  private readonly resolveSecret: SecretResolver | undefined;
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
    this.secretVars = Object.freeze(splitExtraVars(this.extraVars).secret);
    if (config.resolveSecret !== undefined && typeof config.resolveSecret !== 'function') throw new TypeError('AnsibleTarget: resolveSecret must be a function');
    this.resolveSecret = config.resolveSecret;
    this.health = config.health ?? true;
    this.bin = config.ansiblePlaybook ?? 'ansible-playbook';
    this.extraArgs = Object.freeze([...(config.extraArgs ?? [])]);
  }

  has(action: StepAction): boolean {
    return action !== 'health' || this.health;
  }

  /**
   * The secret extra vars' values, looked up now. Throws naming every variable and reference that
   * could not be resolved (never a value).
   */
  private async resolveSecrets(): Promise<Record<string, string>> {
    const resolve = this.resolveSecret;
    const failures: string[] = [];
    const values: Record<string, string> = {};
    await Promise.all(
      this.secretVars.map(async ({ name, ref }) => {
        const secret = `secret ${formatSecretRef(ref)}`;
        if (!resolve) return void failures.push(`extraVars ${name}: ${secret} cannot be resolved: no secret provider is configured`);
        try {
          const value = await resolve(ref);
          if (typeof value === 'string') values[name] = value;
          else failures.push(`extraVars ${name}: ${secret} does not exist`);
        } catch (error) {
          failures.push(`extraVars ${name}: ${secret} could not be read: ${error instanceof Error ? error.message : String(error)}`);
        }
      }),
    );
    if (failures.length > 0) throw new Error(failures.sort().join('; '));
    return values;
  }

  async prepare(context: StepContext): Promise<PreparedStep> {
    if (!existsSync(path.resolve(this.workingDir, this.playbook))) {
      throw new Error(`playbook ${this.playbook} not found (relative paths resolve against ${this.workingDir})`);
    }
    const secrets = await this.resolveSecrets();
    // Secret values go into the file only; the log line shows their references. (The rollgate_
    // names never collide with the spec's: that prefix is refused there.)
    const shownVars = { ...this.extraVars, ...rollgateVars(context) };
    const vars = { ...shownVars, ...secrets };
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
      display: `${shown.join(' ')}   # vars.json: ${JSON.stringify(shownVars)}`,
      secrets: Object.values(secrets),
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
