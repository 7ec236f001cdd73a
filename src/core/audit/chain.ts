import { createHash } from 'node:crypto';

/**
 * Canonical JSON (RFC 8785 style for the values Rollgate stores): object keys sorted by code
 * unit, no whitespace, `undefined` members dropped. Two equal values always hash the same.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite number in canonical JSON');
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item === undefined ? null : item)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, member]) => member !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`;
}

export const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** Digest of an object's state, stored in audit events instead of the state itself. */
export const digestOf = (value: unknown): string | null => (value === null || value === undefined ? null : `sha256:${sha256Hex(canonicalJson(value))}`);

export const GENESIS_HASH = '0'.repeat(64);

/** What an audit event says; the chain fields are added by `chainEvent`. */
export interface AuditEventBody {
  seq: number;
  time: string;
  actor: string;
  action: string;
  kind: string;
  name: string;
  beforeDigest: string | null;
  afterDigest: string | null;
  details?: Record<string, unknown>;
}

export interface ChainedAuditEvent extends AuditEventBody {
  prevHash: string;
  hash: string;
}

/** hash = sha256(prevHash + canonicalJson(body)); the body includes `seq`, so events cannot be reordered. */
export function chainEvent(prevHash: string, body: AuditEventBody): ChainedAuditEvent {
  const canonicalBody = canonicalJson(stripChainFields(body));
  return { ...body, prevHash, hash: sha256Hex(prevHash + canonicalBody) };
}

function stripChainFields(event: AuditEventBody | ChainedAuditEvent): AuditEventBody {
  const { seq, time, actor, action, kind, name, beforeDigest, afterDigest, details } = event;
  return { seq, time, actor, action, kind, name, beforeDigest, afterDigest, details };
}

export type ChainVerdict =
  | { ok: true; checked: number; headHash: string }
  | { ok: false; checked: number; brokenAt: number; reason: string };

/**
 * Verifies events in ascending `seq` order, starting from `prevHash` (the genesis hash, or the
 * hash of the event before the first one given). Names the first broken link.
 */
export function verifyChain(events: Iterable<ChainedAuditEvent>, prevHash = GENESIS_HASH, expectedSeq = 1): ChainVerdict {
  let checked = 0;
  let previous = prevHash;
  let seq = expectedSeq;
  for (const event of events) {
    if (event.seq !== seq) return { ok: false, checked, brokenAt: event.seq, reason: `expected event #${seq}, found #${event.seq} (an event was removed or reordered)` };
    if (event.prevHash !== previous) return { ok: false, checked, brokenAt: event.seq, reason: `event #${event.seq} does not point at the hash of the event before it` };
    const expected = chainEvent(previous, event).hash;
    if (event.hash !== expected) return { ok: false, checked, brokenAt: event.seq, reason: `event #${event.seq} was altered: its content does not match its hash` };
    previous = event.hash;
    seq += 1;
    checked += 1;
  }
  return { ok: true, checked, headHash: previous };
}
