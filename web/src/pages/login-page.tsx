/**
 * Sign-in, and the first start: `rostersync serve` on an empty store prints a one-time setup token
 * (unless ROSTERSYNC_ADMIN_PASSWORD created the `admin` account); POST /api/v1/setup exchanges it
 * for the first installation admin, then the console signs in with it.
 */
import { useState, type FormEvent } from 'react';
import { ApiError, errorText, post } from '../api.ts';
import { ErrorBox, useAction } from '../components/ui.tsx';
import { useTitle } from '../router.tsx';
import type { Me } from '../types.ts';

export function LoginPage({ onLogin }: { onLogin: (me: Me) => void }) {
  const [mode, setMode] = useState<'login' | 'setup'>('login');
  useTitle(mode === 'login' ? 'Sign in' : 'First start');
  return (
    <main id="main" className="login">
      <div className="login-card">
        <p className="brand-big" aria-hidden="true">
          Rostersync
        </p>
        {mode === 'login' ? <LoginForm onLogin={onLogin} /> : <SetupForm onLogin={onLogin} />}
        <p className="muted small">
          {mode === 'login' ? (
            <>
              First start with no account yet?{' '}
              <button type="button" className="link-button" onClick={() => setMode('setup')}>
                Set up with the setup token
              </button>
            </>
          ) : (
            <button type="button" className="link-button" onClick={() => setMode('login')}>
              Back to sign in
            </button>
          )}
        </p>
      </div>
    </main>
  );
}

async function signIn(username: string, password: string): Promise<Me> {
  return post<Me>('/login', { username, password });
}

function LoginForm({ onLogin }: { onLogin: (me: Me) => void }) {
  const [username, setUsername] = useState('admin');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onLogin(await signIn(username.trim(), password));
    } catch (err) {
      setError(err instanceof ApiError && err.code === 'invalid_credentials' ? 'Wrong username or password.' : errorText(err));
      setBusy(false);
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
      <h1 id="login-title">Sign in</h1>
      <ErrorBox error={error} />
      <div className="field">
        <label htmlFor="username">Username</label>
        <input id="username" name="username" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="password">Password</label>
        <input id="password" name="password" type="password" autoComplete="current-password" required autoFocus value={password} onChange={(e) => setPassword(e.target.value)} />
      </div>
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}

function SetupForm({ onLogin }: { onLogin: (me: Me) => void }) {
  const [token, setToken] = useState('');
  const [username, setUsername] = useState('admin');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const action = useAction();
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (password !== confirm) {
      action.setError('The two passwords differ.');
      return;
    }
    await action.run(async () => {
      await post('/setup', { token: token.trim(), password, username: username.trim() });
      onLogin(await signIn(username.trim(), password));
    });
  };
  return (
    <form onSubmit={(e) => void submit(e)} aria-labelledby="setup-title">
      <h1 id="setup-title">First start</h1>
      <p className="muted">
        <code>rostersync serve</code> printed a one-time setup token (<code>rss_…</code>) when it started on an empty database. Enter it to create the
        first installation admin.
      </p>
      <ErrorBox error={action.error} />
      <div className="field">
        <label htmlFor="setup-token">Setup token</label>
        <input id="setup-token" className="mono" autoComplete="off" required value={token} onChange={(e) => setToken(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="setup-username">Username</label>
        <input id="setup-username" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="setup-password">Password</label>
        <input id="setup-password" type="password" autoComplete="new-password" minLength={12} required aria-describedby="setup-password-hint" value={password} onChange={(e) => setPassword(e.target.value)} />
        <p id="setup-password-hint" className="hint">
          At least 12 characters.
        </p>
      </div>
      <div className="field">
        <label htmlFor="setup-confirm">Password again</label>
        <input id="setup-confirm" type="password" autoComplete="new-password" required value={confirm} onChange={(e) => setConfirm(e.target.value)} />
      </div>
      <button type="submit" className="primary" disabled={action.busy}>
        {action.busy ? 'Creating…' : 'Create the admin and sign in'}
      </button>
    </form>
  );
}
