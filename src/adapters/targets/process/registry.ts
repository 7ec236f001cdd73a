/**
 * Process-wide registry of every process group the `process` targets of this Node.js process
 * started, so that an exiting control plane can kill them synchronously.
 *
 * What this covers and what it cannot:
 * - normal exit, `process.exit()`, an uncaught exception or unhandled rejection: Node.js emits
 *   `'exit'`, and the hook installed here SIGKILLs every registered group (synchronously: nothing
 *   asynchronous can run in an `'exit'` handler);
 * - SIGINT / SIGTERM / SIGHUP: Node.js's default action ends the process WITHOUT emitting `'exit'`,
 *   so a composition root should call `installProcessTargetSignalHandlers()` once (a library must
 *   not change what Ctrl-C does behind its caller's back), or call `killAllProcessTargetsSync()`
 *   from its own handler;
 * - SIGKILL of the control plane (kill -9, the OOM killer, a power cut): no handler can run. Each
 *   instance therefore also has a pid file, and `reapOrphans(logDir)` (or a target built with
 *   `adopt: true`) deals with the leftovers when the control plane starts again.
 */
import { unlinkSync } from 'node:fs';
import { signalGroup } from './procfs.js';

export interface LiveGroup {
  pgid: number;
  pidFile: string | null;
  /** Instances of an `adopt: true` target outlive the control plane on purpose (they are adopted on restart). */
  keepOnExit: boolean;
  /** Called (synchronously) just before the group is killed, so its target stops restarting it. */
  onKill?: () => void;
}

const liveGroups = new Map<number, LiveGroup>();
let exitHookInstalled = false;

export function registerGroup(group: LiveGroup): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      killAllProcessTargetsSync();
    });
  }
  liveGroups.set(group.pgid, group);
}

export function unregisterGroup(pgid: number): void {
  liveGroups.delete(pgid);
}

export function isRegisteredGroup(pgid: number): boolean {
  return liveGroups.has(pgid);
}

export interface KillAllOptions {
  /** Also kill instances of `adopt: true` targets, which are otherwise left running for adoption. Default false. */
  includeAdoptable?: boolean;
}

/**
 * SIGKILLs, synchronously, the whole process group of every instance any `ProcessTarget` in this
 * Node.js process started and removes their pid files. Safe to call from `'exit'` and signal
 * handlers and to call more than once. Returns how many groups were signalled.
 */
export function killAllProcessTargetsSync(options: KillAllOptions = {}): number {
  let killed = 0;
  for (const group of [...liveGroups.values()]) {
    if (group.keepOnExit && !options.includeAdoptable) continue;
    try {
      group.onKill?.();
    } catch {
      // never let bookkeeping stop the killing
    }
    if (signalGroup(group.pgid, 'SIGKILL')) killed += 1;
    if (group.pidFile) {
      try {
        unlinkSync(group.pidFile);
      } catch {
        // already gone
      }
    }
    liveGroups.delete(group.pgid);
  }
  return killed;
}

/**
 * Installs SIGINT/SIGTERM/SIGHUP handlers that kill every instance (as `killAllProcessTargetsSync`)
 * and then, when no other handler for that signal is installed, re-raise the signal so the process
 * still ends the way it would have. Returns a function that removes the handlers.
 */
export function installProcessTargetSignalHandlers(
  signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'],
  options: KillAllOptions = {},
): () => void {
  const handlers = new Map<NodeJS.Signals, () => void>();
  const uninstall = () => {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
    handlers.clear();
  };
  for (const signal of signals) {
    const handler = () => {
      killAllProcessTargetsSync(options);
      if (process.listenerCount(signal) === 1) {
        uninstall();
        process.kill(process.pid, signal);
      }
    };
    handlers.set(signal, handler);
    process.on(signal, handler);
  }
  return uninstall;
}
