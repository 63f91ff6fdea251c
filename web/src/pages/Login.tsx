// Login.tsx — sign in through graphql-api's OIDC flow (/auth/login → issuer → /auth/callback sets
// the session cookie and returns here). For local development an API key with `read` scope can be
// pasted instead; it stays in this tab's sessionStorage only.
import { useState } from 'react';

export function LoginPage({ message, onApiKey }: { message?: string; onApiKey: (key: string) => Promise<string | null> }) {
  const devKeys = import.meta.env.DEV || new URLSearchParams(location.search).has('dev');
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const returnTo = location.pathname === '/login' ? '/' : location.pathname + location.search;

  return (
    <div className="login-page">
      <div className="login-card">
        <div className="brand large"><span className="logo" aria-hidden="true" />Event Analytics</div>
        <p className="muted">Exact hourly and daily metrics from your events, live.</p>
        <a className="btn primary wide" href={`/auth/login?return_to=${encodeURIComponent(returnTo)}`} data-testid="sign-in">
          Sign in
        </a>
        {message === 'signed out' && <p className="muted small" role="status">You are signed out.</p>}
        {devKeys && (
          <form className="dev-key" onSubmit={async (e) => {
            e.preventDefault();
            setBusy(true);
            setError(await onApiKey(key.trim()));
            setBusy(false);
          }}>
            <label htmlFor="api-key">Development: use an API key</label>
            <input id="api-key" type="password" autoComplete="off" placeholder="ak_…" value={key}
              onChange={(e) => setKey(e.target.value)} data-testid="api-key-input" />
            <button className="btn" disabled={!key.trim() || busy} data-testid="api-key-submit">
              {busy ? 'Checking…' : 'Use key'}
            </button>
            {error && <div className="error-text" role="alert">{error}</div>}
          </form>
        )}
      </div>
    </div>
  );
}
