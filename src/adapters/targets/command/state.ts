/**
 * The small JSON state file of a `command` / `ansible` target: what this target deployed, per
 * version, so that a restarted control plane knows what runs (and does not deploy it again) even
 * though the deployed software is not its child. One file per service and environment:
 * `${logDir}/${service}/${kind}-state.json`, written atomically (temp file + rename), mode 0600.
 *
 * It never holds request env values (they may be secrets): a control plane that restarts knows
 * them again only from the next `ensure`.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { InstancePhase } from '../../../ports/deploy-target.js';

export interface VersionRecord {
  version: string;
  phase: InstancePhase;
  healthy: boolean;
  /** Where the version serves, "host:port" (kept while failed too, for the retire step). */
  endpoints: string[];
  replicas: number;
  /** The loopback port handed to the steps as ROLLGATE_PORT / rollgate_port. */
  port: number | null;
  artifactDigest?: string;
  environment?: string;
  /** ISO 8601: when the last deploy of this version succeeded. */
  deployedAt?: string;
  /** ISO 8601: last change of this record. */
  updatedAt: string;
  /** Redeploys of a version that had been running (repairs after failed health checks). */
  restarts: number;
  message?: string;
}

export interface StateFile {
  kind: string;
  service: string;
  environment: string | null;
  versions: VersionRecord[];
}

const PHASES = new Set<InstancePhase>(['starting', 'running', 'unhealthy', 'failed', 'stopped']);

function isRecord(value: unknown): value is VersionRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.version === 'string' &&
    record.version !== '' &&
    PHASES.has(record.phase as InstancePhase) &&
    typeof record.healthy === 'boolean' &&
    Array.isArray(record.endpoints) &&
    record.endpoints.every((endpoint) => typeof endpoint === 'string') &&
    Number.isInteger(record.replicas) &&
    (record.port === null || Number.isInteger(record.port)) &&
    Number.isInteger(record.restarts)
  );
}

export interface LoadedState {
  records: VersionRecord[];
  /** Set when the file existed but could not be used; it was moved to this path. */
  movedAside: string | null;
}

/**
 * Reads the state file. A missing file is an empty state. An unreadable or malformed one is moved
 * aside (`<file>.unreadable-<time>`) and the state starts empty: the versions it listed are then
 * unknown and the next `ensure` runs their deploy step again (deploy steps must be safe to repeat).
 */
export function loadState(file: string, kind: string): LoadedState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], movedAside: null };
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<StateFile>;
    if (parsed.kind !== kind || !Array.isArray(parsed.versions)) throw new Error('not a state file of this target');
    return { records: parsed.versions.filter(isRecord).map((record) => ({ ...record, endpoints: [...record.endpoints] })), movedAside: null };
  } catch {
    const aside = `${file}.unreadable-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    try {
      renameSync(file, aside);
    } catch {
      return { records: [], movedAside: null };
    }
    return { records: [], movedAside: aside };
  }
}

export function saveState(file: string, state: StateFile): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(temp, file);
}
