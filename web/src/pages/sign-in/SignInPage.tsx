/**
 * Sign-in with an API token (`rollgate serve` prints the admin one; `rollgate token create` makes
 * others). The token is checked with whoami before it is kept, in this tab's sessionStorage only.
 */
import { useState, type FormEvent } from 'react';
import { usePageTitle } from '../../hooks/usePageTitle.js';
import { signInFailure, useAuth } from '../../session.js';

export default function SignInPage({ notice }: { notice?: string }) {
  usePageTitle('Sign in');
  const { signIn } = useAuth();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!token.trim()) {
      setError('Enter a token.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await signIn(token);
    } catch (failure) {
      setError(signInFailure(failure));
      setBusy(false);
    }
  }

  return (
    <main id="main" className="sign-in">
      <form className="card" onSubmit={submit} aria-labelledby="sign-in-title" noValidate>
        <h1 id="sign-in-title">Sign in to Rollgate</h1>
        {notice && !error && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <label htmlFor="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={token}
          onChange={(event) => setToken(event.target.value)}
          aria-describedby="token-help"
          aria-invalid={error ? true : undefined}
          aria-errormessage={error ? 'token-error' : undefined}
          required
        />
        <p id="token-help" className="muted">
          A token starting with <code>rg_</code>. <code>rollgate serve</code> prints the admin token on its first start;{' '}
          <code>rollgate token create</code> makes others. It is kept in this tab only.
        </p>
        {error && (
          <p id="token-error" className="notice notice-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
