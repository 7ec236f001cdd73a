/**
 * Live updates: one Server-Sent Events stream per signed-in tab (the client's `events()`, which
 * uses fetch so the token goes in the Authorization header; EventSource cannot send one). Pages
 * subscribe by kind (`useLiveEvents`, or `useApi`'s `refreshOn`) and refetch what they show.
 *
 * The stream reconnects with exponential backoff (1 s doubling to 30 s, jittered). After a
 * reconnect every subscriber is told to resync (`event === null`): events that happened while
 * disconnected are not replayed to pages, they reload instead.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiError, type ChangeEvent } from '../../src/client/index.js';
import { useSession } from './session.js';

export type LiveState =
  | { status: 'connecting' }
  | { status: 'live'; since: number }
  | { status: 'reconnecting'; attempt: number; retryAt: number; reason: string }
  /** The server refused the stream (token revoked, role too low): no retries. */
  | { status: 'stopped'; reason: string };

/** `event` is null after a reconnect: reload everything shown. */
export type LiveListener = (event: ChangeEvent | null) => void;

interface Live {
  state: LiveState;
  subscribe(kinds: readonly string[] | null, listener: LiveListener): () => void;
}

const LiveContext = createContext<Live | null>(null);

const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.5 + random() / 2));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

export function LiveProvider({ children }: { children: ReactNode }) {
  const session = useSession();
  const [state, setState] = useState<LiveState>({ status: 'connecting' });
  const listeners = useRef(new Set<{ kinds: ReadonlySet<string> | null; listener: LiveListener }>());

  useEffect(() => {
    const abort = new AbortController();
    const { signal } = abort;
    const notify = (event: ChangeEvent | null) => {
      for (const entry of [...listeners.current]) {
        if (event === null || entry.kinds === null || entry.kinds.has(event.kind)) entry.listener(event);
      }
    };

    void (async () => {
      let attempt = 0;
      let everOpen = false;
      while (!signal.aborted) {
        let opened = false;
        // The response to the stream request tells us the connection is up, before any event.
        const client = session.withFetch((base) => async (input, init) => {
          const response = await base(input, init);
          if (response.ok && !signal.aborted) {
            opened = true;
            attempt = 0;
            setState({ status: 'live', since: Date.now() });
            if (everOpen) notify(null);
            everOpen = true;
          }
          return response;
        });
        let reason = 'the server ended the stream';
        try {
          for await (const event of client.events({ signal })) notify(event);
        } catch (error) {
          if (signal.aborted) return;
          if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
            setState({ status: 'stopped', reason: `live updates refused: ${error.status} ${error.problem.title}` });
            if (error.status === 401) session.signOut('Your token is no longer accepted; sign in again.');
            return;
          }
          reason = error instanceof Error ? error.message : String(error);
        }
        if (signal.aborted) return;
        attempt = opened ? 1 : attempt + 1;
        const delay = backoffMs(attempt);
        setState({ status: 'reconnecting', attempt, retryAt: Date.now() + delay, reason });
        await sleep(delay, signal);
      }
    })();
    return () => abort.abort();
  }, [session]);

  // Stable, so subscribers do not resubscribe whenever the state changes.
  const subscribe = useCallback<Live['subscribe']>((kinds, listener) => {
    const entry = { kinds: kinds === null ? null : new Set(kinds), listener };
    listeners.current.add(entry);
    return () => void listeners.current.delete(entry);
  }, []);
  const live = useMemo<Live>(() => ({ state, subscribe }), [state, subscribe]);
  return <LiveContext.Provider value={live}>{children}</LiveContext.Provider>;
}

function useLive(): Live {
  const live = useContext(LiveContext);
  if (!live) throw new Error('live updates used outside <LiveProvider>');
  return live;
}

/** The stream's state, for the indicator in the header. */
export function useLiveState(): LiveState {
  return useLive().state;
}

/**
 * Calls `listener` for each change to an object of one of `kinds` (every kind when null), and with
 * null after a reconnect. The latest `listener` is used; it need not be memoized.
 */
export function useLiveEvents(kinds: readonly string[] | null, listener: LiveListener): void {
  const { subscribe } = useLive();
  const latest = useRef(listener);
  latest.current = listener;
  const key = kinds === null ? '*' : [...kinds].sort().join(',');
  useEffect(() => subscribe(key === '*' ? null : key.split(','), (event) => latest.current(event)), [subscribe, key]);
}
