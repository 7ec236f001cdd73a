/**
 * The `command` deploy target: a version is deployed, health-checked and retired by the user's own
 * shell commands. Rollgate does not run the software itself; it runs the steps, remembers what they
 * deployed, and tells the engine where each version serves and whether it is healthy.
 *
 * Steps
 * - `deploy` (required), `health` and `retire` (optional) are shell commands, each run as
 *   `/bin/sh -c <command>` in `workingDir`. They are the user's own commands from the Service spec,
 *   trusted as a `process` target's command is. Facts about the version reach them ONLY through the
 *   environment, never by text substitution, so a version or environment name can never inject
 *   shell syntax: use "$ROLLGATE_VERSION", not a template.
 * - Environment of every step: this process's environment minus every inherited `ROLLGATE_*`
 *   variable, then the config's `env`, then the request's `env` (resolved secrets may be among
 *   them: they are never written by Rollgate, and every value of 8+ characters is blanked to `***`
 *   in captured output, status messages and `logs()`), then:
 *     ROLLGATE_SERVICE, ROLLGATE_VERSION, ROLLGATE_ACTION (deploy|health|retire),
 *     ROLLGATE_REPLICAS, ROLLGATE_ENVIRONMENT, ROLLGATE_ARTIFACT_DIGEST (when known),
 *     ROLLGATE_PORT (a free loopback port on the control-plane host, chosen once per version and
 *       kept; useful when the step starts the version on this host, ignorable otherwise),
 *     ROLLGATE_ENDPOINTS (comma-separated host:port of the version, for health and retire),
 *     ROLLGATE_CANARY_WEIGHT and ROLLGATE_ROLE (stable|canary|preview): the weight the version is
 *     about to serve and what it is for, on every ensure of a rollout (absent when a restarted
 *     control plane restores a version).
 * - Timeouts: `timeoutMs` per deploy/retire step (default 10 min), `healthTimeoutMs` per health
 *   step (30 s). A step that runs over has its whole process group stopped (SIGTERM, then SIGKILL
 *   after `killGraceMs`) and counts as failed.
 * - Output: stdout and stderr of every step are appended, line by line and redacted, to the
 *   version's log `${logDir}/${service}/${version}.log` between `[rollgate …] ==> deploy 1.2.0`
 *   and `[rollgate …] <== deploy succeeded: exited with code 0 after 1.2 s` lines; `logs(version,
 *   n)` returns the last lines of that file. Health polling logs its first and last attempt in full
 *   and one line for the others; periodic checks log only changes (healthy ↔ unhealthy).
 *   A step ends when its shell exits: anything it starts in the background must redirect its output
 *   (`nohup server >server.log 2>&1 &`), or it loses its stdout when Rollgate stops reading.
 * - A step that exits non-zero (or times out) fails: a failed deploy or health makes the version
 *   `failed` with `message` = what happened plus the step's last output lines (at most 10 lines,
 *   2 KB); a failed retire throws with the same detail (the engine retries it).
 *
 * Endpoints (where the router sends the version's traffic)
 * - The deploy step prints one line `ROLLGATE_ENDPOINT=host:port` on stdout per instance
 *   (e.g. `echo "ROLLGATE_ENDPOINT=10.0.0.7:8080"`), or
 * - the config's `endpoints` templates are used (`127.0.0.1:{{port}}`, `{{version}}.web.internal:80`;
 *   `{{port}}` is ROLLGATE_PORT). Printed endpoints win. A version may have none (a router that
 *   addresses servers by name does not need them).
 *
 * Health
 * - With a `health` command: after a successful deploy it is polled (0.25 s doubling to 2 s) until
 *   it exits 0, for at most `startTimeoutMs` (default 2 min), else the version fails. While the
 *   version runs it is run every `healthIntervalMs` (default 10 s; 0 disables): a failure makes the
 *   version `unhealthy` (message: its last lines), a later pass `running` again.
 * - Without one, a version is healthy as soon as its deploy step exits 0.
 *
 * Idempotency and state
 * - What was deployed is kept in `${logDir}/${service}/command-state.json` (phase, endpoints,
 *   port, digest, environment; never env values), so a restarted control plane knows what runs.
 * - `ensure` of a version that is running and healthy runs nothing. One that is deployed but
 *   unhealthy gets one health check; if that fails, the deploy step runs again (counted in
 *   `restarts`). A failed or unknown version is deployed. Deploy commands should themselves be
 *   safe to repeat (start only what is not running).
 * - `retire` runs the retire step and forgets the version; an unknown version does nothing.
 * - `close()` stops steps in flight and the health checks. It does NOT retire what was deployed
 *   (a control plane that stops must not take production down) unless `retireOnClose` is set.
 * - A control plane that exits while a step runs kills that step's process group (the `process`
 *   target's exit hook and `killAllProcessTargetsSync()` cover steps in flight too); the version's
 *   record says `starting`, which the next control plane reads as `failed` and deploys again.
 */
import { endpointOnLine } from './command/output.js';
import {
  type OutputObserver,
  type PreparedStep,
  type ScriptedTargetConfig,
  ScriptedTarget,
  type StepAction,
  type StepContext,
  type StepDriver,
} from './command/scripted.js';

export type { ScriptedEnsureRequest, StepAction, StepContext } from './command/scripted.js';

export interface CommandTargetConfig extends ScriptedTargetConfig {
  /** Shell command that deploys "$ROLLGATE_VERSION" (and may print ROLLGATE_ENDPOINT=host:port lines). */
  deploy: string;
  /** Shell command that exits 0 while the version is healthy. */
  health?: string;
  /** Shell command that stops "$ROLLGATE_VERSION"; must succeed when it is already gone. */
  retire?: string;
  /** Shell that runs the commands with `-c`; default `/bin/sh`. */
  shell?: string;
}

class ShellDriver implements StepDriver {
  readonly kind = 'command';
  readonly label = 'CommandTarget';
  private readonly commands: Readonly<Record<StepAction, string | undefined>>;
  private readonly shell: string;

  constructor(config: CommandTargetConfig) {
    if (typeof config.deploy !== 'string' || !config.deploy.trim()) throw new TypeError('CommandTarget: deploy is required');
    for (const name of ['health', 'retire'] as const) {
      const value = config[name];
      if (value !== undefined && (typeof value !== 'string' || !value.trim())) throw new TypeError(`CommandTarget: ${name} must be a non-empty command`);
    }
    this.commands = Object.freeze({ deploy: config.deploy, health: config.health, retire: config.retire });
    this.shell = config.shell ?? '/bin/sh';
  }

  has(action: StepAction): boolean {
    return this.commands[action] !== undefined;
  }

  prepare(context: StepContext): PreparedStep {
    const command = this.commands[context.action];
    if (command === undefined) throw new Error(`no ${context.action} command is configured`);
    return { file: this.shell, args: ['-c', command], display: `${this.shell} -c ${JSON.stringify(command)}` };
  }

  observer(): OutputObserver {
    const endpoints: string[] = [];
    return {
      line(line, stream) {
        if (stream !== 'stdout') return;
        const endpoint = endpointOnLine(line);
        if (endpoint !== null) endpoints.push(endpoint);
      },
      endpoints: () => [...endpoints],
      failure: () => null,
    };
  }
}

/** See the module documentation. */
export class CommandTarget extends ScriptedTarget {
  constructor(config: CommandTargetConfig) {
    super(config, new ShellDriver(config), 10_000);
  }
}
