/**
 * Keeps every active rollout moving: a timer queue of when each rollout's next pass is due, a
 * bounded number of passes in flight (never two for the same rollout), and leases so that with
 * several control-plane processes on one PostgreSQL each rollout has exactly one owner.
 *
 * Rollouts are spread over SHARD_COUNT shards; a process owns the shards whose leases it holds and
 * renews them every `leaseTtlMs / 3`. Every status write checks, in its transaction, that the
 * shard's lease is still this process's with the same fencing token, so a process that lost its
 * lease (paused, partitioned) cannot overwrite the new owner's work.
 */
import { createHash } from 'node:crypto';
import { isFinishedPhase, readDeploymentStatus } from '../core/rollout/index.js';
import type { Lease, Store, Stores } from '../ports/store.js';
import { defaultHolderId, takeOverAbandoned } from './holder.js';
import { LeaseLostError, runPass, type Commit, type PassDeps } from './pass.js';
import type { RuntimeRegistry } from './runtime.js';
import type { Notifier } from '../ports/notifier.js';
import type { EngineSecrets } from './secrets.js';

export const SHARD_COUNT = 16;

export interface EngineLogger {
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

export interface ControllerConfig {
  store: Store;
  /** Publishes change events after commit (the server's); default: plain transactions. */
  commit?: Commit;
  runtimes: RuntimeRegistry;
  notifier?: Notifier;
  logger: EngineLogger;
  now?: () => Date;
  /**
   * Identifies this process in leases. Default: an id naming this process (see holder.ts), so that
   * after a crash the next process on this host takes the dead one's leases at once instead of
   * waiting for them to expire.
   */
  holderId?: string;
  leaseTtlMs?: number;
  /** How often to look for rollouts this process does not know about (other writers, takeover). */
  rescanMs?: number;
  /** Passes in flight at once. */
  concurrency?: number;
  /** Delay before retrying a pass that failed unexpectedly. */
  errorBackoffMs?: number;
  /** Resolves secretRefs and redacts their values (see secrets.ts). */
  secrets?: EngineSecrets;
}

export const shardOf = (name: string): number => createHash('sha1').update(name).digest().readUInt16BE(0) % SHARD_COUNT;
const leaseName = (shard: number) => `engine/shard-${shard}`;

export function createController(config: ControllerConfig) {
  const holder = config.holderId ?? defaultHolderId();
  const now = config.now ?? (() => new Date());
  const ttl = config.leaseTtlMs ?? 15_000;
  const rescanMs = config.rescanMs ?? 5_000;
  const concurrency = config.concurrency ?? 32;
  const errorBackoffMs = config.errorBackoffMs ?? 2_000;
  const commit: Commit = config.commit ?? ((work) => config.store.transaction(work));
  const { logger } = config;

  const owned = new Map<number, Lease>();
  /** When each rollout's next pass is due (ms since epoch); `queue` orders the same entries by time. */
  const due = new Map<string, number>();
  const queue = new DueQueue();
  const running = new Set<string>();
  /** Rollouts woken while their pass ran: they get another pass right after. */
  const rerun = new Set<string>();
  /** Rollouts whose last pass left them Paused (held by a gate or waiting for a person). */
  const paused = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  let leaseTimer: NodeJS.Timeout | null = null;
  let rescanTimer: NodeJS.Timeout | null = null;
  let stopped = true;
  const inFlight = new Set<Promise<void>>();
  const stats = { passes: 0, writes: 0, conflicts: 0, errors: 0, maxLagMs: 0, lagSamples: [] as number[] };

  async function assertOwner(stores: Stores, rollout: string): Promise<void> {
    const shard = shardOf(rollout);
    const mine = owned.get(shard);
    const lease = await stores.leases.get(leaseName(shard));
    if (!mine || !lease || lease.holder !== holder || lease.fencingToken !== mine.fencingToken || Date.parse(lease.expiresAt) <= now().getTime()) {
      owned.delete(shard);
      throw new LeaseLostError(`lost the lease of shard ${shard} (rollout ${rollout})`);
    }
  }

  const passDeps: PassDeps = { read: config.store.read, commit, runtimes: config.runtimes, ...(config.notifier ? { notifier: config.notifier } : {}), ...(config.secrets ? { secrets: config.secrets } : {}), now, assertOwner };

  async function renewLeases(): Promise<void> {
    for (let shard = 0; shard < SHARD_COUNT; shard += 1) {
      try {
        const lease = await config.store.transaction(
          async (stores) =>
            (await stores.leases.acquire(leaseName(shard), holder, ttl, now())) ??
            // Held by a process of this host that died without releasing it (SIGKILL): take it now.
            (await takeOverAbandoned(stores, leaseName(shard), holder, ttl, now())),
        );
        const had = owned.has(shard);
        if (lease) owned.set(shard, lease);
        else owned.delete(shard);
        if (lease && !had && !stopped) void rescan();
      } catch (error) {
        owned.delete(shard);
        logger.warn({ err: error, shard }, 'lease renewal failed');
      }
    }
  }

  function schedule(name: string, delayMs: number): void {
    scheduleAt(name, now().getTime() + Math.max(0, delayMs));
  }

  function scheduleAt(name: string, at: number): void {
    if (stopped) return;
    const current = due.get(name);
    if (current === undefined || at < current) {
      due.set(name, at);
      queue.push(at, name);
    }
    arm();
  }

  /** The earliest due entry still current (entries superseded by an earlier time are dropped lazily). */
  function earliest(): { at: number; name: string } | null {
    for (let top = queue.peek(); top; top = queue.peek()) {
      if (due.get(top.name) === top.at) return top;
      queue.pop();
    }
    return null;
  }

  function arm(): void {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = null;
    // With every slot busy there is nothing to start; the next pass to finish re-arms.
    if (running.size >= concurrency) return;
    const next = earliest();
    if (!next) return;
    timer = setTimeout(tick, Math.max(0, Math.min(next.at - now().getTime(), 60_000)));
  }

  function tick(): void {
    timer = null;
    const nowMs = now().getTime();
    /** Due entries whose rollout is still running: they stay due (taken once it finishes). */
    const busy: Array<{ at: number; name: string }> = [];
    for (let next = earliest(); next && next.at <= nowMs && running.size < concurrency; next = earliest()) {
      queue.pop();
      const { name, at } = next;
      if (running.has(name)) {
        busy.push(next);
        continue;
      }
      due.delete(name);
      if (!owned.has(shardOf(name))) continue;
      recordLag(nowMs - at);
      start(name);
    }
    for (const entry of busy) queue.push(entry.at, entry.name);
    arm();
  }

  function recordLag(lagMs: number): void {
    if (lagMs > stats.maxLagMs) stats.maxLagMs = lagMs;
    stats.lagSamples.push(lagMs);
    if (stats.lagSamples.length > 10_000) stats.lagSamples.splice(0, 5_000);
  }

  function start(name: string): void {
    running.add(name);
    const work = (async () => {
      try {
        stats.passes += 1;
        const outcome = await runPass(passDeps, name);
        if (outcome.kind === 'conflict') {
          stats.conflicts += 1;
          schedule(name, 0);
        } else if (outcome.kind === 'done') {
          if (outcome.wrote) stats.writes += 1;
          if (outcome.phase === 'Paused') paused.add(name);
          else paused.delete(name);
          // requeueAfterMs counts from the time the pass decided at, not from when it finished:
          // a measurement due every second is taken every second, however long a pass takes.
          if (outcome.requeueAfterMs !== null) {
            if (outcome.decidedAt !== undefined) scheduleAt(name, outcome.decidedAt + outcome.requeueAfterMs);
            else schedule(name, outcome.requeueAfterMs);
          }
        }
      } catch (error) {
        stats.errors += 1;
        if (error instanceof LeaseLostError) {
          logger.warn({ rollout: name }, error.message);
        } else {
          logger.error({ err: error, rollout: name }, 'rollout pass failed; retrying');
          schedule(name, errorBackoffMs);
        }
      } finally {
        running.delete(name);
        if (rerun.delete(name)) schedule(name, 0);
        arm();
      }
    })();
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  }

  /** Finds rollouts that need passes: new, active, with pending operations or retirements. */
  async function rescan(): Promise<void> {
    let cursor: string | undefined;
    do {
      const page = await config.store.read.objects.list('Deployment', { limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const deployment of page.items) {
        if (!owned.has(shardOf(deployment.name)) || due.has(deployment.name) || running.has(deployment.name)) continue;
        const status = readDeploymentStatus(deployment.status);
        const rollout = status.rollout;
        const active =
          (rollout === null && !status.failure) ||
          status.pendingOperations.length > 0 ||
          (rollout !== null && (!isFinishedPhase(rollout.phase) || rollout.retirements.some((retirement) => retirement.retiredAt === null)));
        if (active) schedule(deployment.name, 0);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  return {
    holder,
    stats,
    /** Takes leases, finds active rollouts and starts passing. */
    async start(): Promise<void> {
      stopped = false;
      await renewLeases();
      await rescan();
      leaseTimer = setInterval(() => void renewLeases(), Math.max(250, Math.floor(ttl / 3)));
      rescanTimer = setInterval(() => void rescan().catch((error) => logger.warn({ err: error }, 'rescan failed')), rescanMs);
    },
    /** Runs a pass for `name` soon (a new deployment, a queued operation). Safe to repeat. */
    wake(name: string): void {
      if (running.has(name)) rerun.add(name);
      else schedule(name, 0);
    },
    /**
     * Runs a pass soon for every rollout whose last pass left it Paused: a governance decision
     * (an approval, a window, a policy) may have opened its gate. Safe to repeat.
     */
    wakePaused(): void {
      for (const name of paused) {
        if (running.has(name)) rerun.add(name);
        else schedule(name, 0);
      }
    },
    /** Stops scheduling, waits for passes in flight, and gives up the leases. */
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (leaseTimer) clearInterval(leaseTimer);
      if (rescanTimer) clearInterval(rescanTimer);
      await Promise.allSettled([...inFlight]);
      for (const shard of owned.keys()) {
        await config.store.transaction((stores) => stores.leases.release(leaseName(shard), holder)).catch(() => undefined);
      }
      owned.clear();
      due.clear();
      queue.clear();
    },
    /** Shards this process owns now (tests, status). */
    ownedShards: () => [...owned.keys()].sort((a, b) => a - b),
    /** Passes scheduled, running (tests). */
    pending: () => ({ scheduled: due.size, running: running.size }),
  };
}

export type Controller = ReturnType<typeof createController>;

/**
 * A binary min-heap of (time, rollout): the timer queue. Finding the next due pass is O(1) and
 * adding one O(log n), where scanning every scheduled rollout on each schedule and tick made the
 * controller's own bookkeeping grow with the number of rollouts (O(n) per pass). Entries are never
 * removed in place: the controller skips those whose time no longer matches `due`.
 */
class DueQueue {
  private readonly times: number[] = [];
  private readonly names: string[] = [];

  get size(): number {
    return this.times.length;
  }

  push(at: number, name: string): void {
    let i = this.times.length;
    this.times.push(at);
    this.names.push(name);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.times[parent]! <= at) break;
      this.times[i] = this.times[parent]!;
      this.names[i] = this.names[parent]!;
      i = parent;
    }
    this.times[i] = at;
    this.names[i] = name;
  }

  peek(): { at: number; name: string } | null {
    return this.times.length === 0 ? null : { at: this.times[0]!, name: this.names[0]! };
  }

  pop(): void {
    const lastTime = this.times.pop();
    const lastName = this.names.pop();
    if (this.times.length === 0 || lastTime === undefined || lastName === undefined) return;
    const n = this.times.length;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.times[right]! < this.times[left]! ? right : left;
      if (this.times[child]! >= lastTime) break;
      this.times[i] = this.times[child]!;
      this.names[i] = this.names[child]!;
      i = child;
    }
    this.times[i] = lastTime;
    this.names[i] = lastName;
  }

  clear(): void {
    this.times.length = 0;
    this.names.length = 0;
  }
}
