/**
 * The audit log newest first for the given server-side filters: the first page, older pages on
 * demand, and new events as the live stream reports them (every kind).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { AuditEventWire } from '../../../../src/client/index.js';
import { ApiError } from '../../../../src/client/index.js';
import { describeError } from '../../format.js';
import { useLiveEvents } from '../../live.js';
import { useSession } from '../../session.js';
import { loadNewer, loadNewest, loadOlder, mergeEvents, type AuditFilters, type ListAudit } from './derive.js';

export const PAGE_SIZE = 50;

export interface AuditLog {
  events: AuditEventWire[] | undefined;
  /** Seqs below this are not loaded yet (the next page's `beforeSeq`); 0: everything is. */
  before: number;
  loading: boolean;
  loadingMore: boolean;
  error: string | null;
  loadMore(): void;
  reload(): void;
  /** The highest seq the live stream reported (0: none yet). */
  latestLiveSeq: number;
}

export function useAuditLog(filters: AuditFilters): AuditLog {
  const session = useSession();
  const list = useCallback<ListAudit>((query) => session.client.audit.list(query), [session]);
  const [events, setEvents] = useState<AuditEventWire[] | undefined>(undefined);
  const [before, setBefore] = useState(0);
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);
  const [latestLiveSeq, setLatestLiveSeq] = useState(0);
  const current = useRef(0);
  const head = useRef(0);
  const liveSeq = useRef(0);
  const key = `${filters.kind ?? ''}\u0000${filters.name ?? ''}\u0000${filters.actor ?? ''}\u0000${filters.action ?? ''}`;
  const filtersRef = useRef(filters);
  filtersRef.current = filters;

  const fail = useCallback(
    (cause: unknown, what: string) => {
      if (cause instanceof ApiError && cause.status === 401) session.signOut('Your token is no longer accepted; sign in again.');
      setError(`Could not load ${what}: ${describeError(cause)}`);
    },
    [session],
  );

  useEffect(() => {
    const id = ++current.current;
    setLoading(true);
    setError(null);
    void (async () => {
      try {
        const page = await loadNewest(list, { filters: filtersRef.current, pageSize: PAGE_SIZE });
        if (id !== current.current) return;
        head.current = page.head;
        setEvents(page.events);
        setBefore(page.before);
      } catch (cause) {
        if (id === current.current) fail(cause, 'the audit log');
      } finally {
        if (id === current.current) setLoading(false);
      }
    })();
  }, [list, key, generation, fail]);

  const loadMore = useCallback(() => {
    if (before === 0) return;
    const id = current.current;
    setLoadingMore(true);
    void loadOlder(list, { before, filters: filtersRef.current, pageSize: PAGE_SIZE }).then(
      (page) => {
        if (id !== current.current) return;
        setEvents((previous) => mergeEvents(previous ?? [], page.events));
        setBefore(page.before);
        setLoadingMore(false);
      },
      (cause: unknown) => {
        if (id !== current.current) return;
        fail(cause, 'older audit events');
        setLoadingMore(false);
      },
    );
  }, [list, before, fail]);

  // New events: read everything after the head, at most once a second.
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => void (pending.current && clearTimeout(pending.current)), []);
  useLiveEvents(null, (event) => {
    if (event) {
      liveSeq.current = Math.max(liveSeq.current, event.seq);
      setLatestLiveSeq(liveSeq.current);
    }
    if (pending.current) return;
    pending.current = setTimeout(() => {
      pending.current = null;
      const id = current.current;
      if (head.current === 0 && events === undefined) return;
      const target = liveSeq.current;
      loadNewer(list, { afterSeq: head.current, filters: filtersRef.current }).then(
        (incoming) => {
          if (id !== current.current) return;
          head.current = Math.max(head.current, target, incoming[0]?.seq ?? 0);
          if (incoming.length > 0) setEvents((previous) => mergeEvents(previous ?? [], incoming));
        },
        (cause: unknown) => id === current.current && fail(cause, 'new audit events'),
      );
    }, 1000);
  });

  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  return { events, before, loading, loadingMore, error, loadMore, reload, latestLiveSeq };
}
