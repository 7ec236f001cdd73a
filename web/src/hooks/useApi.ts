/**
 * Loads data through the typed client with loading and error states, and reloads it when the
 * server says objects of the given kinds changed (live updates). Errors name what failed, e.g.
 * "Could not load services: GET /api/v1/services answered 403 Forbidden: ...".
 */
import { useCallback, useEffect, useRef, useState, type DependencyList } from 'react';
import { ApiError, type RollgateClient } from '../../../src/client/index.js';
import type { KindName } from '../../../src/core/resources/kind-names.js';
import { describeError } from '../format.js';
import { useLiveEvents } from '../live.js';
import { useSession } from '../session.js';

export interface ApiState<T> {
  /** The last value loaded; kept while a reload runs or after a reload failed. */
  data: T | undefined;
  /** The last load's failure, or null. */
  error: LoadError | null;
  /** True while a load runs (the first one, or a reload). */
  loading: boolean;
  reload(): void;
}

export interface UseApiOptions {
  /** Reload when an object of one of these kinds changes (and after the live stream reconnects). */
  refreshOn?: readonly KindName[];
  /** Reloads are at most this often, the last change always included (default 1000 ms). */
  minIntervalMs?: number;
}

export class LoadError extends Error {
  override readonly name = 'LoadError';
  constructor(
    readonly what: string,
    override readonly cause: unknown,
  ) {
    super(`Could not load ${what}: ${describeError(cause)}`);
  }
}

/**
 * `what` names the data in error messages ("services and deployments"). `load` runs again when
 * `deps` change; only the newest load's result is kept.
 */
export function useApi<T>(what: string, load: (client: RollgateClient) => Promise<T>, deps: DependencyList, options: UseApiOptions = {}): ApiState<T> {
  const session = useSession();
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<LoadError | null>(null);
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  const latest = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const id = ++latest.current;
    setLoading(true);
    loadRef.current(session.client).then(
      (value) => {
        if (id !== latest.current) return;
        setData(value);
        setError(null);
        setLoading(false);
      },
      (cause: unknown) => {
        if (id !== latest.current) return;
        if (cause instanceof ApiError && cause.status === 401) session.signOut('Your token is no longer accepted; sign in again.');
        setError(new LoadError(what, cause));
        setLoading(false);
      },
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `deps` are the caller's
  }, [session, generation, ...deps]);

  const reload = useCallback(() => setGeneration((n) => n + 1), []);

  // Bursts of changes (the engine writes a rollout's status every pass) become one reload per interval.
  const minInterval = options.minIntervalMs ?? 1000;
  const lastReload = useRef(0);
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => void (pending.current && clearTimeout(pending.current)), []);
  useLiveEvents(options.refreshOn ?? [], () => {
    if (!options.refreshOn || options.refreshOn.length === 0 || pending.current) return;
    const wait = Math.max(0, lastReload.current + minInterval - Date.now());
    pending.current = setTimeout(() => {
      pending.current = null;
      lastReload.current = Date.now();
      reload();
    }, wait);
  });

  return { data, error, loading, reload };
}
