/**
 * Pid files: one JSON file per running instance under `${logDir}/${service}/pids/`, written when
 * the instance starts and removed when it is stopped. They are what a control plane that was
 * SIGKILLed leaves behind, so the next one can reap (`reapOrphans`) or adopt (`adopt: true`) the
 * instances that are still running.
 *
 * An instance is recognised as "ours" by the `ROLLGATE_INSTANCE_ID` marker in its environment
 * (`/proc/PID/environ`), which survives the `exec` that `/bin/sh -c` may do; the leader's start
 * time (`/proc/PID/stat`) guards against a reused pid; and, when the environment cannot be read,
 * the leader's `/proc/PID/cmdline` must still match the configured command. All of this needs
 * Linux `/proc`: elsewhere a live recorded process cannot be verified and is left alone.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRegisteredGroup } from './registry.js';
import {
  groupMembers,
  hasProcFs,
  isSameLiveProcess,
  readCmdline,
  readEnviron,
  readProcStat,
  signalGroup,
} from './procfs.js';

export const INSTANCE_ID_ENV = 'ROLLGATE_INSTANCE_ID';

export interface PidRecord {
  /** Pid of the instance's `/bin/sh -c` leader; also its process group id. */
  pid: number;
  port: number;
  version: string;
  /** ISO 8601. */
  startedAt: string;
  service: string;
  /** Instance number within the version (0-based) and the replica count it was started for. */
  index: number;
  replicas: number;
  /** Random id also present in the instance's environment as ROLLGATE_INSTANCE_ID. */
  instanceId: string;
  command: string;
  /** /proc start time of the leader (null without /proc). */
  procStartTime: number | null;
  /** The control plane process that owns the instance, so a live owner's instances are never reaped. */
  ownerPid: number;
  ownerStartTime: number | null;
}

/** File- and path-safe form of a service or version name. */
export function safeName(name: string): string {
  const encoded = encodeURIComponent(name);
  return encoded === '.' || encoded === '..' ? encoded.replace(/\./g, '%2E') : encoded;
}

export function serviceDir(logDir: string, service: string): string {
  return path.join(logDir, safeName(service));
}

export function pidDir(logDir: string, service: string): string {
  return path.join(serviceDir(logDir, service), 'pids');
}

export function pidFileFor(logDir: string, record: Pick<PidRecord, 'service' | 'version' | 'index' | 'instanceId'>): string {
  return path.join(pidDir(logDir, record.service), `${safeName(record.version)}.${record.index}.${record.instanceId}.json`);
}

/** Writes a pid file atomically (mode 0600). */
export function writePidFile(file: string, record: PidRecord): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  renameSync(temp, file);
}

export function removePidFile(file: string | null | undefined): void {
  if (!file) return;
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

function isPidRecord(value: unknown): value is PidRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    Number.isInteger(record.pid) &&
    (record.pid as number) > 1 &&
    Number.isInteger(record.port) &&
    typeof record.version === 'string' &&
    typeof record.service === 'string' &&
    typeof record.instanceId === 'string' &&
    typeof record.command === 'string'
  );
}

/** The pid files of one service (or of every service under `logDir` when `service` is omitted). */
export function readPidFiles(logDir: string, service?: string): Array<{ file: string; record: PidRecord }> {
  const dirs: string[] = [];
  if (service !== undefined) dirs.push(pidDir(logDir, service));
  else {
    let services: string[] = [];
    try {
      services = readdirSync(logDir);
    } catch {
      return [];
    }
    for (const entry of services) dirs.push(path.join(logDir, entry, 'pids'));
  }
  const found: Array<{ file: string; record: PidRecord }> = [];
  for (const dir of dirs) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (!entry.endsWith('.json')) continue;
      const file = path.join(dir, entry);
      try {
        const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
        if (isPidRecord(parsed)) found.push({ file, record: parsed });
        else removePidFile(file);
      } catch {
        // Unreadable or half-written (a crash between write and rename leaves only the .tmp): ignore.
      }
    }
  }
  return found;
}

/** Whether the control plane that wrote `record` is still running (and is not this process). */
export function ownerIsAlive(record: PidRecord): boolean {
  if (record.ownerPid === process.pid) return false;
  return isSameLiveProcess(record.ownerPid, record.ownerStartTime);
}

function cmdlineMatches(pid: number, command: string): boolean {
  const argv = readCmdline(pid);
  if (!argv) return false;
  if (argv.length >= 3 && /(^|\/)sh$/.test(argv[0] ?? '') && argv[1] === '-c' && argv[2] === command) return true;
  // `/bin/sh -c` may exec a simple command in place of itself.
  return argv.join(' ') === command.trim();
}

/**
 * The live processes that belong to the recorded instance: members of its process group carrying
 * its instance id (or, if environments are unreadable, the leader itself when its start time and
 * command line match). `null` when that cannot be determined on this platform.
 */
export function liveMembersOf(record: PidRecord): number[] | null {
  if (!hasProcFs) return null;
  const members = groupMembers(record.pid);
  const leaderStat = readProcStat(record.pid);
  const leaderIsOriginal =
    leaderStat !== null && (record.procStartTime == null || leaderStat.startTime === record.procStartTime);
  return members.filter((pid) => {
    const env = readEnviron(pid);
    if (env) return env[INSTANCE_ID_ENV] === record.instanceId;
    return pid === record.pid && leaderIsOriginal && cmdlineMatches(pid, record.command);
  });
}

/** True when the recorded leader process itself still runs and is the one that was started. */
export function leaderIsLive(record: PidRecord): boolean {
  const members = liveMembersOf(record);
  if (members === null) return false;
  return members.includes(record.pid) && isSameLiveProcess(record.pid, record.procStartTime);
}

/** Stops a recorded instance's group: SIGTERM, then SIGKILL after `graceMs`. Resolves once it is gone (bounded). */
export async function stopRecordedGroup(record: PidRecord, graceMs: number): Promise<void> {
  const alive = () => (liveMembersOf(record) ?? []).length > 0;
  if (!alive()) return;
  signalGroup(record.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && alive()) await sleep(25);
  if (alive()) {
    signalGroup(record.pid, 'SIGKILL');
    const killDeadline = Date.now() + 2000;
    while (Date.now() < killDeadline && alive()) await sleep(25);
  }
}

export interface ReapOptions {
  /** Only this service's pid files (default: every service under logDir). */
  service?: string;
  /** Time between SIGTERM and SIGKILL. Default 5000 ms. */
  graceMs?: number;
}

export interface ReapReport {
  /** Instances that were still running and were stopped. */
  reaped: PidRecord[];
  /** Pid files whose processes were already gone; removed. */
  stale: PidRecord[];
  /** Left alone, with the reason (owner still alive, cannot verify on this platform, ...). */
  skipped: Array<{ record: PidRecord; reason: string }>;
}

/**
 * Kills the instances a previous control plane left behind (for example after it was SIGKILLed,
 * when no exit handler could run): for every pid file under `${logDir}/<service>/pids/`, when the
 * recorded process group still has members that carry the recorded instance id, the group gets
 * SIGTERM and, after `graceMs`, SIGKILL; the pid file is removed. Instances whose owning control
 * plane is still alive, or that a target in this process manages, are skipped. Call it on start,
 * before creating `ProcessTarget`s without `adopt`.
 */
export async function reapOrphans(logDir: string, options: ReapOptions = {}): Promise<ReapReport> {
  const graceMs = options.graceMs ?? 5000;
  const report: ReapReport = { reaped: [], stale: [], skipped: [] };
  const work: Array<Promise<void>> = [];
  for (const { file, record } of readPidFiles(path.resolve(logDir), options.service)) {
    if (isRegisteredGroup(record.pid)) {
      report.skipped.push({ record, reason: 'managed by a live target in this process' });
      continue;
    }
    if (ownerIsAlive(record)) {
      report.skipped.push({ record, reason: `owned by live control plane pid ${record.ownerPid}` });
      continue;
    }
    const members = liveMembersOf(record);
    if (members === null) {
      report.skipped.push({ record, reason: 'cannot verify processes without /proc' });
      continue;
    }
    if (members.length === 0) {
      removePidFile(file);
      report.stale.push(record);
      continue;
    }
    report.reaped.push(record);
    work.push(stopRecordedGroup(record, graceMs).then(() => removePidFile(file)));
  }
  await Promise.all(work);
  return report;
}
