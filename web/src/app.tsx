/**
 * The console shell: who is signed in (GET /api/v1/me), the login and first-run setup pages, the
 * navigation, and the page for the current path.
 */
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactElement } from 'react';
import { fetchMe, get, onSessionEnd, post, setCsrf } from './api.ts';
import { Link, match, navigate, useLocation } from './router.tsx';
import type { Me } from './types.ts';
import { LoginPage } from './pages/login-page.tsx';
import { DashboardPage } from './pages/dashboard-page.tsx';
import { WizardPage } from './pages/wizard-page.tsx';
import { ConnectionPage } from './pages/connection-page.tsx';
import { RunPage } from './pages/run-page.tsx';
import { HoldsPage } from './pages/holds-page.tsx';
import { DataPage } from './pages/data-page.tsx';
import { UserPage } from './pages/user-page.tsx';
import { ClassPage } from './pages/class-page.tsx';
import { IntegrationsPage } from './pages/integrations-page.tsx';
import { AccountsPage } from './pages/accounts-page.tsx';
import { ErrorBox, Loading } from './components/ui.tsx';

interface Session {
  me: Me;
  /** Read-only account (viewer): write actions are hidden. */
  readOnly: boolean;
  /** Pending holds, for the navigation badge; refresh after deciding one. */
  holds: number;
  refreshHolds: () => void;
}

const SessionContext = createContext<Session | undefined>(undefined);

/** The signed-in session (pages render only inside it). */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside the signed-in app');
  return s;
}

const ROUTES: Array<{ pattern: string; nav?: string; render: (p: Record<string, string>) => ReactElement }> = [
  { pattern: '/', nav: '/', render: () => <DashboardPage /> },
  { pattern: '/connections/new', nav: '/connections/new', render: () => <WizardPage /> },
  { pattern: '/connections/:id', nav: '/', render: (p) => <ConnectionPage id={p.id!} /> },
  { pattern: '/runs/:id', nav: '/', render: (p) => <RunPage id={Number(p.id)} /> },
  { pattern: '/holds', nav: '/holds', render: () => <HoldsPage /> },
  { pattern: '/data', nav: '/data', render: () => <DataPage /> },
  { pattern: '/data/:conn/users/:sourcedId', nav: '/data', render: (p) => <UserPage conn={p.conn!} sourcedId={p.sourcedId!} /> },
  { pattern: '/data/:conn/classes/:sourcedId', nav: '/data', render: (p) => <ClassPage conn={p.conn!} sourcedId={p.sourcedId!} /> },
  { pattern: '/integrations', nav: '/integrations', render: () => <IntegrationsPage /> },
  { pattern: '/accounts', nav: '/accounts', render: () => <AccountsPage /> },
];

const NAV = [
  { to: '/', label: 'Dashboard' },
  { to: '/connections/new', label: 'Add connection' },
  { to: '/holds', label: 'Holds' },
  { to: '/data', label: 'Data browser' },
  { to: '/integrations', label: 'API clients & webhooks' },
  { to: '/accounts', label: 'Accounts & audit' },
];

const ROLE_LABEL = { installation_admin: 'installation admin', tenant_admin: 'tenant admin', viewer: 'viewer' } as const;

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [bootError, setBootError] = useState<string>();
  const [holds, setHolds] = useState(0);

  useEffect(() => {
    onSessionEnd(() => {
      setCsrf(undefined);
      setMe(null);
    });
    fetchMe().then(
      (m) => setMe(m ?? null),
      (err: unknown) => setBootError(err instanceof Error ? err.message : String(err)),
    );
  }, []);

  const refreshHolds = useCallback(() => {
    get<{ holds: unknown[] }>('/holds', { rows: 0 }).then(
      (r) => setHolds(r.holds.length),
      () => undefined,
    );
  }, []);
  useEffect(() => {
    if (!me) return undefined;
    const t = setInterval(refreshHolds, 30_000);
    return () => clearInterval(t);
  }, [me, refreshHolds]);

  if (bootError) return <ErrorBox error={bootError} />;
  if (me === undefined) return <Loading what="Starting" />;
  if (me === null) {
    return (
      <LoginPage
        onLogin={(m) => {
          setCsrf(m.csrfToken);
          setMe(m);
        }}
      />
    );
  }
  const session: Session = { me, readOnly: me.user.role === 'viewer', holds, refreshHolds };
  return (
    <SessionContext.Provider value={session}>
      <Shell
        onLogout={async () => {
          await post('/logout').catch(() => undefined);
          setCsrf(undefined);
          setMe(null);
          navigate('/', { replace: true });
        }}
      />
    </SessionContext.Provider>
  );
}

function Shell({ onLogout }: { onLogout: () => Promise<void> }) {
  const { me, holds, refreshHolds } = useSession();
  const { path } = useLocation();
  // A sync may have been held since the last look: recount on every page change.
  useEffect(() => refreshHolds(), [path, refreshHolds]);
  const mainRef = useRef<HTMLElement>(null);
  let page: ReactElement | undefined;
  let nav = '';
  for (const r of ROUTES) {
    const params = match(r.pattern, path);
    if (params) {
      page = r.render(params);
      nav = r.nav ?? '';
      break;
    }
  }
  // After a navigation, move focus to the page's heading so keyboard and screen-reader users start there.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const h = mainRef.current?.querySelector('h1');
    if (h) {
      h.setAttribute('tabindex', '-1');
      h.focus();
    }
  }, [path]);
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          Rostersync
        </Link>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.to}>
                <Link to={n.to} {...(nav === n.to ? { 'aria-current': 'page' as const } : {})}>
                  {n.label}
                  {n.to === '/holds' && holds > 0 ? (
                    <span className="count" aria-label={`${holds} pending`}>
                      {holds}
                    </span>
                  ) : null}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="account">
          <span>
            {me.user.username} <span className="muted">({ROLE_LABEL[me.user.role]}{me.user.tenantId ? `, ${me.user.tenantId}` : ''})</span>
          </span>
          <button type="button" className="link-button" onClick={() => void onLogout()}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" ref={mainRef}>
        {page ?? (
          <>
            <h1>Page not found</h1>
            <p>
              There is no console page at <code>{path}</code>. <Link to="/">Go to the dashboard</Link>.
            </p>
          </>
        )}
      </main>
    </div>
  );
}
