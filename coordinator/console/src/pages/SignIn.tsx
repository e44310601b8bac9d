import { useState, type FormEvent } from 'react';
import { post } from '../api';
import type { User } from '../types';

export function SignIn({ onSignedIn }: { onSignedIn: (u: User) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await post<{ user: User }>('/api/auth/sign-in', { username: username.trim(), password });
      onSignedIn(r.user);
    } catch (err) {
      setError((err as Error).message || 'sign-in failed');
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="signin-page">
      <main className="signin-card" id="main">
        <div className="brand brand-large">
          <img src="/favicon.svg" alt="" width="40" height="40" />
          <div>
            <div className="brand-name">fedciss</div>
            <div className="brand-sub">Federated class-incremental segmentation</div>
          </div>
        </div>
        <h1 id="page-title" tabIndex={-1}>Sign in to the federation console</h1>
        <form onSubmit={submit} noValidate aria-describedby={error ? 'signin-error' : undefined}>
          <div className="field">
            <label htmlFor="username">Username</label>
            <input id="username" name="username" autoComplete="username" required autoFocus value={username} onChange={(e) => setUsername(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="password">Password</label>
            <input id="password" name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
          </div>
          {error && (
            <div className="banner banner-error" role="alert" id="signin-error">
              {error}
            </div>
          )}
          <button className="btn btn-primary btn-block" type="submit" disabled={busy || !username || !password}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
        <p className="signin-foot">Administrators manage the roster and sites; viewers see everything read-only.</p>
      </main>
    </div>
  );
}
