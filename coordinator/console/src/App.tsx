import { useEffect, useState, type ReactNode } from 'react';
import { ApiError, get, post, setUnauthenticatedHandler } from './api';
import { connectEvents, disconnectEvents, Link, navigate, useLiveState, usePath } from './lib';
import type { User } from './types';
import { UserContext } from './user';
import { SignIn } from './pages/SignIn';
import { OverviewPage } from './pages/Overview';
import { ClassesPage } from './pages/Classes';
import { SitesPage } from './pages/Sites';
import { ModelsPage } from './pages/Models';
import { ReportsPage } from './pages/Reports';
import { AuditPage } from './pages/Audit';
import { UsersPage } from './pages/Users';

const PAGES: { path: string; label: string; icon: ReactNode; render: () => ReactNode; adminOnly?: boolean }[] = [
  { path: '/', label: 'Overview', icon: <path d="M3 13h8V3H3v10Zm0 8h8v-6H3v6Zm10 0h8V11h-8v10Zm0-18v6h8V3h-8Z" />, render: () => <OverviewPage /> },
  { path: '/classes', label: 'Classes', icon: <path d="M12 2 2 7l10 5 10-5-10-5Zm-8.2 9.1L2 12l10 5 10-5-1.8-.9L12 15l-8.2-3.9Zm0 5L2 17l10 5 10-5-1.8-.9L12 20l-8.2-3.9Z" />, render: () => <ClassesPage /> },
  { path: '/sites', label: 'Sites', icon: <path d="M19 3H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V5a2 2 0 0 0-2-2Zm-2 10h-4v4h-2v-4H7v-2h4V7h2v4h4v2Z" />, render: () => <SitesPage /> },
  { path: '/models', label: 'Models', icon: <path d="M12 2a3 3 0 0 0-1 5.83V11H6a2 2 0 0 0-2 2v3.17a3 3 0 1 0 2 0V13h5v3.17a3 3 0 1 0 2 0V13h5v3.17a3 3 0 1 0 2 0V13a2 2 0 0 0-2-2h-5V7.83A3 3 0 0 0 12 2Z" />, render: () => <ModelsPage /> },
  { path: '/reports', label: 'Reports', icon: <path d="M3 3h2v16h16v2H3V3Zm4 10h3v5H7v-5Zm5-6h3v11h-3V7Zm5 3h3v8h-3v-8Z" />, render: () => <ReportsPage /> },
  { path: '/audit', label: 'Audit log', adminOnly: true, icon: <path d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8l-6-6Zm-1 7V3.5L18.5 9H13ZM8 13h8v2H8v-2Zm0 4h8v2H8v-2Z" />, render: () => <AuditPage /> },
  { path: '/users', label: 'Users', adminOnly: true, icon: <path d="M16 11a4 4 0 1 0-4-4 4 4 0 0 0 4 4Zm-8 0a3 3 0 1 0-3-3 3 3 0 0 0 3 3Zm0 2c-2.3 0-7 1.2-7 3.5V19h7v-2.5c0-.9.4-1.8 1.1-2.5A10 10 0 0 0 8 13Zm8 0c-2.7 0-8 1.3-8 4v2h16v-2c0-2.7-5.3-4-8-4Z" />, render: () => <UsersPage /> },
];

export function App() {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const path = usePath();

  useEffect(() => {
    get<User>('/api/auth/me').then(setUser, (e) => setUser(e instanceof ApiError && e.status === 401 ? null : null));
    setUnauthenticatedHandler(() => setUser(null));
    return () => setUnauthenticatedHandler(null);
  }, []);

  useEffect(() => {
    if (user) connectEvents();
    else disconnectEvents();
  }, [user]);

  // Pages only administrators may use are not offered to viewers (the API refuses them anyway).
  const pages = PAGES.filter((p) => !p.adminOnly || user?.role === 'admin');
  const page = pages.find((p) => p.path === path);
  useEffect(() => {
    const label = path === '/sign-in' ? 'Sign in' : page?.label ?? 'Not found';
    document.title = `${label} · fedciss console`;
    // Move focus to the new page's heading so screen-reader and keyboard users land on it.
    if (user) requestAnimationFrame(() => document.getElementById('page-title')?.focus({ preventScroll: true }));
  }, [path, user, page]);

  if (user === undefined) return <div className="boot" role="status">Loading console…</div>;
  if (user === null)
    return (
      <SignIn
        onSignedIn={(u) => {
          setUser(u);
          if (path === '/sign-in') navigate('/');
        }}
      />
    );

  const signOut = async () => {
    try {
      await post('/api/auth/sign-out');
    } finally {
      setUser(null);
    }
  };

  return (
    <UserContext.Provider value={user}>
      <a className="skip-link" href="#main">Skip to content</a>
      <div className="shell">
        <nav className="sidebar" aria-label="Main">
          <div className="brand">
            <img src="/favicon.svg" alt="" width="28" height="28" />
            <div>
              <div className="brand-name">fedciss</div>
              <div className="brand-sub">Federation console</div>
            </div>
          </div>
          <ul>
            {pages.map((p) => (
              <li key={p.path}>
                <Link href={p.path} aria-current={p.path === path ? 'page' : undefined}>
                  <svg aria-hidden="true" width="18" height="18" viewBox="0 0 24 24" fill="currentColor">{p.icon}</svg>
                  {p.label}
                </Link>
              </li>
            ))}
          </ul>
          <div className="sidebar-foot">
            <LiveIndicator />
            <a className="api-link" href="/api/docs">REST API docs</a>
          </div>
        </nav>
        <div className="content">
          <header className="topbar">
            <span className="topbar-note">Patient images never leave the hospitals: only weights and aggregate metrics are shown here.</span>
            <div className="user" aria-label="Signed-in user">
              <span className="user-name">{user.username}</span>
              <span className={`role role-${user.role}`} data-testid="role">{user.role === 'admin' ? 'Administrator' : 'Viewer · read-only'}</span>
              <button type="button" className="btn btn-small" onClick={signOut}>Sign out</button>
            </div>
          </header>
          <main id="main" tabIndex={-1}>
            {page ? page.render() : <NotFound />}
          </main>
        </div>
      </div>
    </UserContext.Provider>
  );
}

function LiveIndicator() {
  const s = useLiveState();
  const text = s === 'live' ? 'Live updates on' : s === 'connecting' ? 'Connecting to live updates…' : 'Live updates off';
  return (
    <div className={`live live-${s}`} role="status" aria-live="polite" data-testid="live-state" data-state={s}>
      <span className="live-dot" aria-hidden="true" />
      {text}
    </div>
  );
}

function NotFound() {
  return (
    <div>
      <h1 tabIndex={-1} id="page-title">Page not found</h1>
      <p>
        There is no page at <code>{location.pathname}</code>. <Link href="/">Go to the overview</Link>.
      </p>
    </div>
  );
}
