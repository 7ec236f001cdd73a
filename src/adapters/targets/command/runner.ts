/**
 * Runs one step (deploy, health or retire) of a `command` or `ansible` target as a child process
 * and reports how it ended.
 *
 * - The step leads its own session and process group (`detached`), so a timeout, `close()` or the
 *   control plane's exit stops the whole group: the shell, what it runs and what that started.
 * - stdout and stderr are pipes read line by line (so output can be redacted and parsed before it
 *   is written anywhere). The step ends when its process exits; a background process it left
 *   holding the pipes gets `outputGraceMs` to let go, then the pipes are closed (the caller logs a
 *   warning: such a process dies of SIGPIPE/EPIPE at its next write, so redirect the output of
 *   anything a deploy step starts in the background).
 * - While it runs the group is registered with the process-wide registry the `process` target
 *   uses, so an exiting control plane kills in-flight steps instead of leaving them orphaned. A
 *   finished step is unregistered: what it deployed must outlive the control plane.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { groupMembers, signalGroup } from '../process/procfs.js';
import { registerGroup, unregisterGroup } from '../process/registry.js';
import { LineSplitter } from './output.js';

export interface StepOptions {
  file: string;
  args: readonly string[];
  env: Record<string, string>;
  cwd?: string | undefined;
  timeoutMs: number;
  /** SIGTERM → SIGKILL grace when the step is stopped. */
  killGraceMs: number;
  /** After the process exited, how long to wait for its output pipes to close; default 500 ms. */
  outputGraceMs?: number;
  /** Aborting stops the step as a timeout does (close()). */
  signal?: AbortSignal;
  onLine(line: string, stream: 'stdout' | 'stderr'): void;
}

export interface StepResult {
  /** Exit code; null when killed by a signal or never started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  /** The process could not be started (e.g. ENOENT). */
  spawnError: string | null;
  durationMs: number;
  /** Something the step started kept its stdout/stderr open after it exited; those pipes were closed. */
  outputLeftOpen: boolean;
}

export function describeResult(result: StepResult, timeoutMs: number): string {
  const took = `after ${formatDuration(result.durationMs)}`;
  if (result.spawnError) return `could not be started: ${result.spawnError}`;
  if (result.timedOut) return `timed out after ${formatDuration(timeoutMs)} (its process group was stopped)`;
  if (result.aborted) return `was stopped because the target is closing (${took})`;
  if (result.signal) return `was killed by ${result.signal} ${took}`;
  return `exited with code ${result.code ?? 'unknown'} ${took}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1).replace(/\.0$/, '')} s`;
  return `${(ms / 60_000).toFixed(1).replace(/\.0$/, '')} min`;
}

/** SIGTERM to the group, SIGKILL after `graceMs` if any member remains; resolves once it is empty (bounded). */
async function stopGroup(pgid: number, graceMs: number): Promise<void> {
  const alive = () => groupMembers(pgid).length > 0;
  if (!alive()) return;
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) await sleep(25);
  if (alive()) {
    signalGroup(pgid, 'SIGKILL');
    const killDeadline = Date.now() + 2000;
    while (alive() && Date.now() < killDeadline) await sleep(25);
  }
}

export function runStep(options: StepOptions): Promise<StepResult> {
  const started = Date.now();
  return new Promise<StepResult>((resolve) => {
    const result: StepResult = {
      code: null,
      signal: null,
      timedOut: false,
      aborted: false,
      spawnError: null,
      durationMs: 0,
      outputLeftOpen: false,
    };
    let child;
    try {
      child = spawn(options.file, [...options.args], {
        cwd: options.cwd,
        env: options.env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      result.spawnError = (error as Error).message;
      result.durationMs = Date.now() - started;
      resolve(result);
      return;
    }
    const pgid = child.pid ?? null;
    if (pgid !== null) registerGroup({ pgid, pidFile: null, keepOnExit: false });

    const open = new Set<NodeJS.ReadableStream>();
    const streamEnded = new Map<NodeJS.ReadableStream, () => void>();
    for (const [stream, name] of [
      [child.stdout, 'stdout'],
      [child.stderr, 'stderr'],
    ] as const) {
      if (!stream) continue;
      open.add(stream);
      const splitter = new LineSplitter((line) => {
        try {
          options.onLine(line, name);
        } catch {
          // a bad observer must not break the step
        }
      });
      stream.on('data', (chunk: Buffer) => splitter.write(chunk));
      const done = () => {
        if (!open.has(stream)) return;
        open.delete(stream);
        splitter.end();
        streamEnded.get(stream)?.();
      };
      stream.on('end', done);
      stream.on('close', done);
      stream.on('error', done);
    }

    let stopping: Promise<void> | null = null;
    const stop = () => {
      if (pgid === null) return;
      stopping ??= stopGroup(pgid, options.killGraceMs);
    };
    const timer = setTimeout(() => {
      result.timedOut = true;
      stop();
    }, options.timeoutMs);
    const onAbort = () => {
      if (result.timedOut) return;
      result.aborted = true;
      stop();
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    let finished = false;
    const finish = async (code: number | null, signal: NodeJS.Signals | null, spawnError: string | null) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      result.code = code;
      result.signal = signal;
      result.spawnError = spawnError;
      if (stopping) await stopping; // a stopped step's stragglers are gone before it counts as ended
      if (pgid !== null) unregisterGroup(pgid);
      if (open.size > 0) {
        const graceMs = options.outputGraceMs ?? 500;
        await Promise.race([
          Promise.all([...open].map((stream) => new Promise<void>((done) => streamEnded.set(stream, done)))),
          sleep(graceMs),
        ]);
        if (open.size > 0) {
          result.outputLeftOpen = true;
          for (const stream of [...open]) (stream as NodeJS.ReadableStream & { destroy(): void }).destroy();
        }
      }
      result.durationMs = Date.now() - started;
      resolve(result);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      // Only a spawn failure has no pid; other errors (a failed kill) are followed by 'exit'.
      if (pgid === null) void finish(null, null, error.code === 'ENOENT' ? `${options.file}: not found` : error.message);
    });
    child.once('exit', (code, signal) => void finish(code, signal, null));
  });
}
