/**
 * The audit log newest first, on an API that pages it oldest first (`GET /api/v1/audit?afterSeq=`).
 *
 * Sequence numbers are contiguous from 1 (the chain checks it), so the newest page is the window
 * of seqs just below the head: `afterSeq = head - pageSize`. The head is found with few requests
 * (one for a log of up to 1,000 events, then galloping and bisecting with `limit=1`). With
 * server-side filters (kind, name, actor) matches are sparse, so older pages scan windows of
 * 1,000 seqs downwards until a page is full, or a scan budget per click is spent (the page then
 * says how far down it searched). New events (live) are read after the highest seq seen.
 */
import type { AuditEventWire, AuditListQuery, AuditVerifyResult, Page } from '../../../../src/client/index.js';

export type ListAudit = (query: AuditListQuery) => Promise<Page<AuditEventWire>>;

/** The server's largest page. */
export const MAX_LIMIT = 1000;

export interface AuditFilters {
  kind?: string;
  name?: string;
  actor?: string;
}

const filterQuery = (filters: AuditFilters): AuditFilters => ({
  ...(filters.kind ? { kind: filters.kind } : {}),
  ...(filters.name ? { name: filters.name } : {}),
  ...(filters.actor ? { actor: filters.actor } : {}),
});

export const hasFilters = (filters: AuditFilters): boolean => Boolean(filters.kind || filters.name || filters.actor);

/** The highest seq in the log (0: empty). */
export async function findHeadSeq(list: ListAudit): Promise<number> {
  const first = await list({ limit: MAX_LIMIT });
  const last = first.items.at(-1)?.seq ?? 0;
  if (first.nextCursor === null) return last;
  // Gallop: lo is a seq known to exist; double the step until nothing lies beyond lo + step.
  let lo = last;
  let step = MAX_LIMIT;
  for (;;) {
    const probe = await list({ afterSeq: lo + step, limit: 1 });
    const found = probe.items[0];
    if (!found) break;
    lo = found.seq;
    step *= 2;
  }
  // Bisect (lo exists, nothing after lo + step) until one page covers the rest.
  let hi = lo + step;
  while (hi - lo > MAX_LIMIT) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const probe = await list({ afterSeq: mid, limit: 1 });
    const found = probe.items[0];
    if (found) lo = found.seq;
    else hi = mid;
  }
  const rest = await list({ afterSeq: lo, limit: MAX_LIMIT });
  return rest.items.at(-1)?.seq ?? lo;
}

export interface OlderPage {
  /** Newest first. */
  events: AuditEventWire[];
  /** Every seq below this is still to be read (exclusive); 1 or less: the start of the log was reached. */
  before: number;
}

/**
 * Events with seq < `before`, newest first: at least `pageSize` when there are that many (a window
 * may give more), scanning at most `maxWindows` windows.
 */
export async function loadOlder(list: ListAudit, options: { before: number; filters: AuditFilters; pageSize: number; maxWindows?: number }): Promise<OlderPage> {
  const filtered = hasFilters(options.filters);
  const window = filtered ? MAX_LIMIT : Math.min(options.pageSize, MAX_LIMIT);
  const maxWindows = options.maxWindows ?? 20;
  const events: AuditEventWire[] = [];
  let hi = options.before - 1;
  for (let scanned = 0; hi > 0 && scanned < maxWindows && events.length < options.pageSize; scanned++) {
    const lo = Math.max(0, hi - window);
    const page = await list({ afterSeq: lo, limit: window, ...filterQuery(options.filters) });
    const top = hi;
    events.push(...page.items.filter((event) => event.seq <= top).reverse());
    hi = lo;
  }
  return { events, before: hi + 1 };
}

/** Events after `afterSeq`, newest first, every page of them. */
export async function loadNewer(list: ListAudit, options: { afterSeq: number; filters: AuditFilters; maxPages?: number }): Promise<AuditEventWire[]> {
  const events: AuditEventWire[] = [];
  let after = options.afterSeq;
  for (let pages = 0; pages < (options.maxPages ?? 10); pages++) {
    const page = await list({ afterSeq: after, limit: MAX_LIMIT, ...filterQuery(options.filters) });
    events.push(...page.items);
    if (page.nextCursor === null || page.items.length === 0) break;
    after = Number(page.nextCursor);
  }
  return events.reverse();
}

/** Adds `incoming` to `current` (both newest first), once per seq, newest first. */
export function mergeEvents(current: readonly AuditEventWire[], incoming: readonly AuditEventWire[]): AuditEventWire[] {
  const bySeq = new Map(current.map((event) => [event.seq, event]));
  for (const event of incoming) bySeq.set(event.seq, event);
  return [...bySeq.values()].sort((a, b) => b.seq - a.seq);
}

/** Case-insensitive; every word must appear in the seq, actor, action, kind, name or details. */
export function matchesText(event: AuditEventWire, text: string): boolean {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const haystack = [String(event.seq), event.actor, event.action, event.kind, event.name, `${event.kind}/${event.name}`, event.details ? JSON.stringify(event.details) : ''].join(' ').toLowerCase();
  return words.every((word) => haystack.includes(word));
}

export type VerifyTone = 'ok' | 'broken';

/** The chain's verdict in one sentence, like `rollgate audit verify`. */
export function describeVerify(result: AuditVerifyResult): { tone: VerifyTone; text: string } {
  const events = `${result.checked.toLocaleString('en-US')} ${result.checked === 1 ? 'event' : 'events'}`;
  if (result.ok) return { tone: 'ok', text: `Chain verified: ${events}, every hash links to the one before.` };
  const where = result.brokenAt === undefined ? 'Chain broken' : `Chain broken at event ${result.brokenAt}`;
  return { tone: 'broken', text: `${where}: ${result.reason ?? 'no reason given'} (${events} checked).` };
}

/** The web page showing the object an event is about, if the UI has one. */
export function objectHref(kind: string, name: string): string | null {
  const encoded = encodeURIComponent(name);
  switch (kind) {
    case 'Release':
      return `/releases/${encoded}`;
    case 'Deployment':
      return `/rollouts/${encoded}`;
    case 'Change':
      return `/changes/${encoded}`;
    default:
      return null;
  }
}

/** `sha256:abcdef123456…` for a hash or digest; the full one goes in a tooltip. */
export const shortHash = (hash: string | null): string => {
  if (hash === null) return '—';
  const [algorithm, hex] = hash.includes(':') ? (hash.split(':', 2) as [string, string]) : ['', hash];
  const short = hex.length > 12 ? `${hex.slice(0, 12)}…` : hex;
  return algorithm ? `${algorithm}:${short}` : short;
};
