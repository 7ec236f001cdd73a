/**
 * The whole UI: the session gate (sign-in until a token is accepted), then live updates, the
 * layout and the page the route table picks.
 */
import { Suspense } from 'react';
import { Route, Router, Switch, type BaseLocationHook, type BaseSearchHook } from 'wouter';
import { Layout } from './components/Layout.js';
import { LiveProvider } from './live.js';
import NotFoundPage from './pages/not-found/NotFoundPage.js';
import SignInPage from './pages/sign-in/SignInPage.js';
import { ROUTES } from './routes.js';
import { SessionProvider, useAuth } from './session.js';

export interface AppProps {
  /** The API's origin (default: the page's). */
  server?: string;
  /** Tests pass a fake fetch and an in-memory location. */
  fetch?: typeof fetch;
  storage?: Storage;
  location?: { hook: BaseLocationHook; searchHook?: BaseSearchHook };
}

export function App({ server, fetch, storage, location }: AppProps) {
  return (
    <SessionProvider {...(server ? { server } : {})} {...(fetch ? { fetch } : {})} {...(storage ? { storage } : {})}>
      <Router {...(location ? { hook: location.hook, ...(location.searchHook ? { searchHook: location.searchHook } : {}) } : {})}>
        <Gate />
      </Router>
    </SessionProvider>
  );
}

function Gate() {
  const { state } = useAuth();
  if (state.status === 'checking') {
    return (
      <p className="centered" role="status">
        Checking your session…
      </p>
    );
  }
  if (state.status === 'signed-out') return <SignInPage {...(state.notice ? { notice: state.notice } : {})} />;
  return (
    <LiveProvider>
      <Layout>
        <Suspense fallback={<p role="status">Loading…</p>}>
          <Switch>
            {ROUTES.map(({ path, component }) => (
              <Route key={path} path={path} component={component} />
            ))}
            <Route component={NotFoundPage} />
          </Switch>
        </Suspense>
      </Layout>
    </LiveProvider>
  );
}
