/**
 * Lease holder ids that say which process holds a lease, so that a control plane restarted after
 * a crash (SIGKILL, OOM kill) does not wait out its dead predecessor's leases.
 *
 * Without this, `rollgate serve` started again after a kill -9 owned no shard until the leases
 * of the killed process expired (the TTL, 15 s, plus up to a renewal period): every rollout stood
 * still that long — no analysis, no operations — although nothing else could hold them.
 *
 * The default holder id names the process: `engine:<host>:<pid>:<start>:<random>`, where `<host>`
 * is a digest of the kernel's boot id and the pid namespace, and `<start>` the process's start time
 * in clock ticks after boot (Linux /proc). A lease whose holder names this same host (same boot,
 * same pid namespace) and a process that is no longer alive — or whose pid now belongs to another
 * process (different start time) — is provably abandoned: `takeOverAbandoned` releases it on the
 * dead holder's behalf and takes it, which increments the fencing token as any change of hands
 * does. A holder on another machine, in another container, or with an id in any other form
 * (explicit `holderId`s, or no /proc) is never judged dead: its leases are taken only once expired.
 */
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { readFileSync, readlinkSync } from 'node:fs';
import { isSameLiveProcess, readProcStat } from '../adapters/targets/process/procfs.js';
import type { Lease, Stores } from '../ports/store.js';

const PREFIX = 'engine';

function computeHostKey(): string | null {
  try {
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const pidNamespace = readlinkSync('/proc/self/ns/pid');
    if (!bootId || !pidNamespace) return null;
    return createHash('sha256').update(`${bootId}\0${pidNamespace}`).digest('hex').slice(0, 16);
  } catch {
    return null;
  }
}

/** This kernel boot and pid namespace; null when it cannot be told (no /proc). */
export const localHostKey: string | null = computeHostKey();

interface HolderProcess {
  hostKey: string;
  pid: number;
  startTime: number;
}

/** The holder id for process `pid` (started at `startTime` ticks after boot) on this host. */
export function processHolderId(pid: number, startTime: number, hostKey: string, suffix = randomUUID().slice(0, 8)): string {
  return `${PREFIX}:${hostKey}:${pid}:${startTime}:${suffix}`;
}

/** A holder id naming this process when /proc can identify it; a random one otherwise. */
export function defaultHolderId(): string {
  const startTime = readProcStat(process.pid)?.startTime;
  if (localHostKey === null || startTime === undefined || !Number.isFinite(startTime)) return `${PREFIX}-${hostname()}-${randomUUID()}`;
  return processHolderId(process.pid, startTime, localHostKey);
}

function parseHolder(holder: string): HolderProcess | null {
  const match = /^engine:([0-9a-f]{16}):(\d+):(\d+):[^:]*$/.exec(holder);
  if (!match) return null;
  return { hostKey: match[1]!, pid: Number(match[2]), startTime: Number(match[3]) };
}

/**
 * True only when `holder` names a process on this host (same boot, same pid namespace) that is
 * gone. Anything else — another host, another form of id, no /proc — is false.
 */
export function isAbandonedHolder(holder: string, hostKey: string | null = localHostKey): boolean {
  if (hostKey === null) return false;
  const parsed = parseHolder(holder);
  if (!parsed || parsed.hostKey !== hostKey) return false;
  return !isSameLiveProcess(parsed.pid, parsed.startTime);
}

/**
 * In one transaction: when lease `name` is held (unexpired) by an abandoned holder, releases it on
 * that holder's behalf and acquires it for `holder` (a new fencing token). null when the lease is
 * free of such a holder — then the ordinary `acquire` answered already.
 */
export async function takeOverAbandoned(stores: Pick<Stores, 'leases'>, name: string, holder: string, ttlMs: number, now: Date): Promise<Lease | null> {
  const current = await stores.leases.get(name);
  if (!current || current.holder === holder || !isAbandonedHolder(current.holder)) return null;
  await stores.leases.release(name, current.holder);
  return stores.leases.acquire(name, holder, ttlMs, now);
}
