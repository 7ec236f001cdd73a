/**
 * The audit log newest first: `GET /api/v1/audit?order=desc` gives the newest page, and each page's
 * `nextCursor` is the `beforeSeq` of the next, older one, with the server-side filters (kind, name,
 * actor, action) applied by the store. New events (live) are read oldest first after the highest
 * seq seen.
 */
import type { AuditEventWire, AuditListQuery, AuditVerifyResult, Page } from '../../../../src/client/index.js';

export type ListAudit = (query: AuditListQuery) => Promise<Page<AuditEventWire>>;

/** The server's largest page. */
export const MAX_LIMIT = 1000;

export interface AuditFilters {
  kind?: string;
  name?: string;
  actor?: string;
  /** Exact, or a prefix ending in `*` (`rollout.*`). */
  action?: string;
}

const filterQuery = (filters: AuditFilters): AuditFilters => ({
  ...(filters.kind ? { kind: filters.kind } : {}),
  ...(filters.name ? { name: filters.name } : {}),
  ...(filters.actor ? { actor: filters.actor } : {}),
  ...(filters.action ? { action: filters.action } : {}),
});

export const hasFilters = (filters: AuditFilters): boolean => Boolean(filters.kind || filters.name || filters.actor || filters.action);

/** The highest seq in the whole log, whatever the filters (0: empty). */
export async function findHeadSeq(list: ListAudit): Promise<number> {
  const page = await list({ order: 'desc', limit: 1 });
  return page.items[0]?.seq ?? 0;
}

export interface OlderPage {
  /** Newest first. */
  events: AuditEventWire[];
  /** The `beforeSeq` of the next older page; 0: the start of the log was reached. */
  before: number;
}

/** One page of matching events, newest first: the newest ones, or those with seq < `before`. */
export async function loadOlder(list: ListAudit, options: { before?: number; filters: AuditFilters; pageSize: number }): Promise<OlderPage> {
  const page = await list({ order: 'desc', limit: Math.min(options.pageSize, MAX_LIMIT), ...(options.before ? { beforeSeq: options.before } : {}), ...filterQuery(options.filters) });
  return { events: page.items, before: page.nextCursor === null ? 0 : Number(page.nextCursor) };
}

export interface NewestPage extends OlderPage {
  /** New events are those after this seq (the log's head when it was read). */
  head: number;
}

/**
 * The newest page and the seq new events come after. Unfiltered, that is the page's first event;
 * filtered, the log's head is read first (an event that matched nothing would otherwise be read
 * again and again), so an event appended in between is in the page and, at worst, read twice.
 */
export async function loadNewest(list: ListAudit, options: { filters: AuditFilters; pageSize: number }): Promise<NewestPage> {
  const head = hasFilters(options.filters) ? await findHeadSeq(list) : 0;
  const page = await loadOlder(list, options);
  return { ...page, head: Math.max(head, page.events[0]?.seq ?? 0) };
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
