/**
 * Who is signed in. The token lives in sessionStorage only (gone when the tab closes, never in
 * localStorage or a cookie) and is checked with GET /api/v1/whoami before the UI trusts it. Pages
 * read the session with `useSession()`: the typed client, the user and `can(role)`.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { ApiError, createClient, type RollgateClient } from '../../src/client/index.js';
import type { Whoami } from '../../src/client/users.js';
import { roleAtLeast, type Role } from '../../src/core/resources/kind-names.js';

export type { Role, Whoami };

export const TOKEN_KEY = 'rollgate.token';

export interface Session {
  client: RollgateClient;
  user: Whoami;
  /** True when the signed-in role is `role` or above (viewer < deployer < approver < admin). */
  can(role: Role): boolean;
  /** Forgets the token; `notice` is shown on the sign-in page (e.g. why the session ended). */
  signOut(notice?: string): void;
  /** The same server and token with another fetch (the live-update stream wraps it to see the connection open). */
  withFetch(wrap: (base: typeof fetch) => typeof fetch): RollgateClient;
}

export type AuthState = { status: 'checking' } | { status: 'signed-out'; notice?: string } | { status: 'signed-in'; session: Session };

interface Auth {
  state: AuthState;
  /** Resolves once signed in; rejects with the reason the token was refused. */
  signIn(token: string): Promise<void>;
}

const AuthContext = createContext<Auth | null>(null);
const SessionContext = createContext<Session | null>(null);

export interface SessionProviderProps {
  /** The API's origin; the page's own by default (the server serves the UI). */
  server?: string;
  /** Tests pass a fake; the browser's fetch otherwise. */
  fetch?: typeof fetch;
  storage?: Storage;
  children: ReactNode;
}

/** The message the sign-in page shows for a refused token. */
export function signInFailure(error: unknown): string {
  if (error instanceof ApiError && error.status === 401) return 'That token was not accepted: it is unknown, revoked or mistyped.';
  if (error instanceof ApiError) return `Sign-in failed: the server answered ${error.status} ${error.problem.title}.`;
  return `Sign-in failed: ${error instanceof Error ? error.message : String(error)}`;
}

export function SessionProvider({ server, fetch: fetchImpl, storage, children }: SessionProviderProps) {
  const origin = server ?? window.location.origin;
  const store = storage ?? window.sessionStorage;
  const baseFetch = useMemo<typeof fetch>(() => fetchImpl ?? ((input, init) => window.fetch(input, init)), [fetchImpl]);
  const [state, setState] = useState<AuthState>(() => (store.getItem(TOKEN_KEY) ? { status: 'checking' } : { status: 'signed-out' }));

  const open = useCallback(
    async (token: string): Promise<Session> => {
      const client = createClient({ server: origin, token, fetch: baseFetch });
      const user = await client.users.whoami();
      const session: Session = {
        client,
        user,
        can: (role) => roleAtLeast(user.role, role),
        signOut: (notice) => {
          store.removeItem(TOKEN_KEY);
          setState({ status: 'signed-out', ...(notice ? { notice } : {}) });
        },
        withFetch: (wrap) => createClient({ server: origin, token, fetch: wrap(baseFetch) }),
      };
      return session;
    },
    [origin, baseFetch, store],
  );

  // A token kept from earlier in this tab is checked again before it is used.
  useEffect(() => {
    const token = store.getItem(TOKEN_KEY);
    if (!token) return;
    let current = true;
    open(token).then(
      (session) => current && setState({ status: 'signed-in', session }),
      (error: unknown) => {
        if (!current) return;
        store.removeItem(TOKEN_KEY);
        setState({ status: 'signed-out', notice: signInFailure(error) });
      },
    );
    return () => {
      current = false;
    };
  }, [open, store]);

  const signIn = useCallback(
    async (token: string) => {
      const session = await open(token.trim());
      store.setItem(TOKEN_KEY, token.trim());
      setState({ status: 'signed-in', session });
    },
    [open, store],
  );

  const auth = useMemo(() => ({ state, signIn }), [state, signIn]);
  const session = state.status === 'signed-in' ? state.session : null;
  return (
    <AuthContext.Provider value={auth}>
      <SessionContext.Provider value={session}>{children}</SessionContext.Provider>
    </AuthContext.Provider>
  );
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth outside <SessionProvider>');
  return auth;
}

/** The signed-in session; only pages behind the sign-in (every route in routes.tsx) may call it. */
export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in <SessionProvider>');
  return session;
}
