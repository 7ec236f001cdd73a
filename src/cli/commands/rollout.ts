/**
 * `rollgate rollout status|promote|abort|retry|pause|resume|history SERVICE`: a service's current
 * rollout (its latest Deployment), operator operations on it, and its history.
 */
import { type Command, Option } from 'commander';
import type { ApiObject, RollgateClient } from '../../client/index.js';
import { readDeploymentStatus } from '../../core/rollout/deployment-status.js';
import type { OperationResult, OperationType } from '../../core/rollout/types.js';
import { CliError, EXIT_CODES, UsageError, type CliContext } from '../context.js';
import { deploymentPhase, FINISHED_PHASES, renderRolloutHistory, renderRolloutStatus } from '../rollout-view.js';

/** How often a watch re-reads the Deployment besides the change events (the engine's writes may not be streamed). */
export const WATCH_POLL_MS = 1000;
/** Default bound on waiting for the engine to handle an operation. */
export const DEFAULT_WAIT_SECONDS = 15;
/** Exit code when a watch is stopped with Ctrl-C (128 + SIGINT). */
export const INTERRUPTED_EXIT_CODE = 130;

const ENV_OPTION = (description = 'environment (default: the latest deployment in any environment)') => new Option('--env <environment>', description);

export const positiveSeconds = (flag: string) => (value: string): number => {
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0) throw new UsageError(`${flag} must be a positive number of seconds, got "${value}"`);
  return Number(value);
};

const positiveInt = (flag: string) => (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${flag} must be a positive integer, got "${value}"`);
  return Number(value);
};

// ---------------------------------------------------------------------------------------------
// Following a Deployment

export interface FollowOptions {
  signal: AbortSignal;
  pollMs?: number;
}

export interface FollowTick {
  deployment: ApiObject;
  /** The Deployment changed since the previous tick (always true on the first). */
  changed: boolean;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * Reads the Deployment now, then again on each change event about it (`client.events`) and at
 * least every `pollMs`, yielding a tick each time, until `signal` aborts. A lost event stream is
 * reopened; polling covers the gap (and writes that are not streamed).
 */
export async function* followDeployment(client: RollgateClient, name: string, options: FollowOptions): AsyncGenerator<FollowTick, void, undefined> {
  const pollMs = options.pollMs ?? WATCH_POLL_MS;
  const stop = new AbortController();
  const abort = () => stop.abort();
  if (options.signal.aborted) return;
  options.signal.addEventListener('abort', abort, { once: true });
  let dirty = false;
  let wake: (() => void) | null = null;
  const kick = () => {
    dirty = true;
    wake?.();
  };
  const stream = (async () => {
    while (!stop.signal.aborted) {
      try {
        for await (const event of client.events({ signal: stop.signal })) {
          if (event.kind === 'Deployment' && event.name === name) kick();
        }
      } catch {
        // Aborted, or the stream broke: polling goes on; reconnect after a pause.
      }
      await sleep(pollMs, stop.signal);
    }
  })();
  try {
    let last: string | null = null;
    while (!stop.signal.aborted) {
      dirty = false;
      const deployment = await client.get('Deployment', name);
      if (!deployment) throw new CliError(`Deployment "${name}" no longer exists`);
      const key = `${deployment.metadata.version}`;
      yield { deployment, changed: key !== last };
      last = key;
      if (dirty || stop.signal.aborted) continue;
      await new Promise<void>((resolve) => {
        wake = resolve;
        void sleep(pollMs, stop.signal).then(resolve);
      });
      wake = null;
    }
  } finally {
    stop.abort();
    options.signal.removeEventListener('abort', abort);
    await stream;
  }
}

/** Aborts on Ctrl-C while `body` runs; tells whether it was interrupted. */
async function withInterrupt<T>(body: (signal: AbortSignal) => Promise<T>): Promise<{ value: T; interrupted: boolean }> {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    const value = await body(controller.signal);
    return { value, interrupted: controller.signal.aborted };
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Aborted when either is (AbortSignal.any needs Node 20.3). */
function anySignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  const controller = new AbortController();
  const abort = () => controller.abort();
  for (const signal of [a, b]) {
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
  }
  return controller.signal;
}

const useColor = (ctx: CliContext): boolean => Boolean(ctx.io.stdout.isTTY) && !ctx.io.env.NO_COLOR && ctx.io.env.TERM !== 'dumb';

/** Clears the terminal and moves the cursor home. */
const CLEAR_SCREEN = '\x1b[H\x1b[2J';

/**
 * `--watch`: shows the Deployment on every change until its rollout is Healthy (exit 0), Aborted or
 * Degraded (exit 1), or Ctrl-C (130). A terminal is cleared and redrawn (each second, so times
 * move); otherwise a new block is printed only when the Deployment changed. `-o json|yaml` prints
 * the object on every change.
 */
export async function watchDeployment(ctx: CliContext, command: Command, name: string, options: { pollMs?: number; signal?: AbortSignal } = {}): Promise<number> {
  const client = ctx.client(command);
  const format = ctx.outputFormat(command);
  const tty = Boolean(ctx.io.stdout.isTTY) && format === 'table';
  const color = useColor(ctx);
  let finalPhase: string | null = null;
  let blocks = 0;
  const { interrupted } = await withInterrupt(async (sigint) => {
    const signal = options.signal ? anySignal(sigint, options.signal) : sigint;
    for await (const { deployment, changed } of followDeployment(client, name, { signal, ...(options.pollMs ? { pollMs: options.pollMs } : {}) })) {
      const phase = deploymentPhase(deployment);
      const finished = FINISHED_PHASES.has(phase);
      if (format !== 'table') {
        if (changed) ctx.printData(format, deployment);
      } else if (tty) {
        const footer = finished ? '' : '\n\n(watching; Ctrl-C to stop)';
        ctx.io.stdout.write(`${CLEAR_SCREEN}${renderRolloutStatus(deployment, { now: Date.now(), color })}${footer}\n`);
      } else if (changed) {
        ctx.out(`${blocks > 0 ? '\n' : ''}${renderRolloutStatus(deployment, { now: Date.now(), color })}`);
        blocks += 1;
      }
      if (finished) {
        finalPhase = phase;
        break;
      }
    }
  });
  if (finalPhase === 'Healthy') return EXIT_CODES.ok;
  if (finalPhase !== null) return EXIT_CODES.failure;
  return interrupted ? INTERRUPTED_EXIT_CODE : EXIT_CODES.failure;
}

// ---------------------------------------------------------------------------------------------
// Operations

const OPERATIONS: Array<{ name: 'promote' | 'abort' | 'retry' | 'pause' | 'resume'; description: string }> = [
  { name: 'promote', description: 'finish the current step (skip a pause, end an analysis run early); --full skips every remaining step and all analysis' },
  { name: 'abort', description: 'stop the rollout: all traffic back to the stable version, the new version retires after the delay' },
  { name: 'retry', description: 'start a new attempt of an aborted or degraded rollout from step 1' },
  { name: 'pause', description: 'hold the rollout where it is (background analysis keeps measuring)' },
  { name: 'resume', description: 'end a pause by an operator, an inconclusive analysis, missing data or the progress deadline' },
];

type HandledResult = OperationResult & { actor?: string; handledAt?: number };

/** Waits until the engine handled `operationId` (its result in status.operationResults); null on timeout. */
export async function waitForResult(client: RollgateClient, name: string, operationId: string, timeoutMs: number, pollMs = WATCH_POLL_MS): Promise<{ result: HandledResult | null; deployment: ApiObject | null }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let latest: ApiObject | null = null;
  try {
    for await (const { deployment } of followDeployment(client, name, { signal: controller.signal, pollMs: Math.min(pollMs, timeoutMs) })) {
      latest = deployment;
      const result = readDeploymentStatus(deployment.status).operationResults.find((candidate) => candidate.id === operationId);
      if (result) return { result, deployment };
    }
    return { result: null, deployment: latest };
  } finally {
    clearTimeout(timer);
  }
}

async function operate(ctx: CliContext, command: Command, service: string, type: OperationType, options: { env?: string; reason?: string; wait: boolean; timeout: number }): Promise<number> {
  const client = ctx.client(command);
  const format = ctx.outputFormat(command);
  const current = await client.rollouts.current(service, options.env);
  const name = current.metadata.name;
  const queued = await client.rollouts.operate(name, type, options.reason);
  if (!options.wait) {
    if (format !== 'table') ctx.printData(format, { operationId: queued.operationId, deployment: queued.deployment, result: null });
    else ctx.out(`${type} queued on deployment/${name} (operation ${queued.operationId}); the engine applies it on its next pass`);
    return EXIT_CODES.ok;
  }
  const { result, deployment } = await waitForResult(client, name, queued.operationId, options.timeout * 1000);
  if (format !== 'table') ctx.printData(format, { operationId: queued.operationId, deployment: deployment ?? queued.deployment, result });
  if (!result) {
    ctx.err(
      `error: ${type} is queued on deployment/${name} (operation ${queued.operationId}) but the engine did not handle it within ${options.timeout}s; it stays queued — check \`rollgate rollout status ${service}\` before sending it again`,
    );
    return EXIT_CODES.failure;
  }
  if (!result.accepted) {
    ctx.err(`error: ${type} rejected on deployment/${name}: ${result.message}`);
    return EXIT_CODES.rejected;
  }
  if (format === 'table') {
    const phase = deployment ? deploymentPhase(deployment) : 'unknown';
    ctx.out(`${type} accepted on deployment/${name}: ${result.message} (phase ${phase})`);
  }
  return EXIT_CODES.ok;
}

// ---------------------------------------------------------------------------------------------
// Registration

export function registerRolloutCommands(program: Command, ctx: CliContext): void {
  const rollout = program
    .command('rollout')
    .description("show and steer a service's rollout (its latest deployment)")
    .addHelpText(
      'after',
      `
Examples:
  rollgate rollout status checkout --env prod --watch
  rollgate rollout promote checkout --reason "dashboards look fine"
  rollgate rollout promote checkout --full
  rollgate rollout abort checkout --reason "p99 regression"
  rollgate rollout history checkout`,
    );

  rollout
    .command('status')
    .description('show the current rollout: phase, versions, traffic, steps, pause/abort, analysis with the latest measurements, recent events')
    .argument('<service>', 'service name')
    .addOption(ENV_OPTION())
    .option('-w, --watch', 'follow changes until the rollout is Healthy (exit 0), Aborted or Degraded (exit 1)')
    .action(
      ctx.run(async (command, service: string) => {
        const options = command.opts<{ env?: string; watch?: boolean }>();
        const client = ctx.client(command);
        const deployment = await client.rollouts.current(service, options.env);
        if (options.watch) return watchDeployment(ctx, command, deployment.metadata.name);
        const format = ctx.outputFormat(command);
        if (format !== 'table') ctx.printData(format, deployment);
        else ctx.out(renderRolloutStatus(deployment, { now: Date.now(), color: useColor(ctx) }));
        return EXIT_CODES.ok;
      }),
    );

  for (const { name, description } of OPERATIONS) {
    const sub = rollout.command(name).description(description).argument('<service>', 'service name').addOption(ENV_OPTION());
    if (name === 'promote') sub.option('--full', 'skip every remaining step and all analysis (promoteFull)');
    sub
      .option('--reason <text>', 'why (kept in the rollout events, the abort record and the audit log)')
      .option('--no-wait', 'return once the operation is queued instead of waiting for the engine to handle it')
      .option('--timeout <seconds>', 'how long to wait for the engine', positiveSeconds('--timeout'), DEFAULT_WAIT_SECONDS)
      .action(
        ctx.run(async (command, service: string) => {
          const options = command.opts<{ env?: string; full?: boolean; reason?: string; wait: boolean; timeout: number }>();
          const type: OperationType = name === 'promote' && options.full ? 'promoteFull' : name;
          return operate(ctx, command, service, type, options);
        }),
      );
  }

  rollout
    .command('history')
    .description("list a service's deployments, newest first")
    .argument('<service>', 'service name')
    .addOption(ENV_OPTION('only deployments to this environment'))
    .option('--limit <n>', 'at most this many', positiveInt('--limit'), 20)
    .action(
      ctx.run(async (command, service: string) => {
        const options = command.opts<{ env?: string; limit: number }>();
        const deployments = await ctx.client(command).rollouts.history(service, options.env, options.limit);
        const format = ctx.outputFormat(command);
        if (format !== 'table') ctx.printData(format, deployments, { list: true });
        else if (deployments.length === 0) ctx.err(`No deployments of ${service}${options.env ? ` in ${options.env}` : ''}.`);
        else ctx.out(renderRolloutHistory(deployments, { now: Date.now() }));
        return EXIT_CODES.ok;
      }),
    );
}
