// App.tsx — session (cookie or dev API key), tenant switcher, the time zone of every page,
// navigation and the page router (history API; graphql-api serves index.html for every unknown
// path). GraphiQL is its own chunk, loaded only when opened.
import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { ApolloProvider } from '@apollo/client/react';
import { SessionContext, type Session } from './context';
import {
  canAdmin, fetchCapabilities, fetchMe, has, makeApolloClient, makeWsClient, storeApiKey, storedApiKey,
  type Capabilities, type MeResult,
} from './lib/api';
import { linkTo, navigate, useLocation } from './lib/router';
import { browserTimezone, isValidTimezone } from './lib/time';
import { Loading, ErrorBox, TimezoneSelect } from './components/ui';
import { LoginPage } from './pages/Login';
import { OverviewPage } from './pages/Overview';
import { ChartsPage } from './pages/Charts';
import { DashboardsPage } from './pages/Dashboards';
import { EventsPage } from './pages/Events';
import { AlertsPage } from './pages/Alerts';
import { SettingsPage } from './pages/Settings';

const GraphiQLPage = lazy(() => import('./pages/GraphiQLPage'));

export function App() {
  const [apiKey, setApiKey] = useState<string | null>(() => storedApiKey());
  const [me, setMe] = useState<MeResult | null>(null);
  const [caps, setCaps] = useState<Capabilities | undefined>(undefined);
  const { path } = useLocation();

  const load = useCallback(async (key: string | null) => {
    const c = await fetchCapabilities(key);
    const r = await fetchMe(key, has(c, 'Me', 'name') && c !== null);
    setCaps(c);
    setMe(r);
    return r;
  }, []);
  useEffect(() => { load(apiKey); }, [apiKey, load]);

  const useKey = useCallback(async (key: string) => {
    const r = await fetchMe(key, false);
    if (r.state !== 'signed-in') return r.state === 'signed-out' ? 'That key was not accepted.' : r.message;
    storeApiKey(key);
    setApiKey(key);
    if (location.pathname === '/login') navigate('/');
    return null;
  }, []);

  if (me === null) return <Loading label="Starting…" height={400} />;
  if (me.state === 'signed-out') return <LoginPage message={me.message} onApiKey={useKey} />;
  if (me.state === 'error') {
    return <div className="page narrow"><ErrorBox error={me.message} onRetry={() => { setMe(null); load(apiKey); }} /></div>;
  }
  return (
    <Shell me={me.me} apiKey={apiKey} caps={caps ?? null} path={path}
      signOut={() => {
        storeApiKey(null);
        if (apiKey) { setApiKey(null); setMe({ state: 'signed-out', message: 'signed out' }); }
        else location.href = '/auth/logout';
      }} />
  );
}

const pendingDispose = new WeakMap<object, ReturnType<typeof setTimeout>>();

const NAV = [
  { path: '/', label: 'Overview' },
  { path: '/charts', label: 'Charts' },
  { path: '/dashboards', label: 'Dashboards' },
  { path: '/events', label: 'Events' },
  { path: '/alerts', label: 'Alerts' },
  { path: '/settings', label: 'Settings' },
  { path: '/graphiql', label: 'GraphiQL' },
];

function Shell({ me, apiKey, caps, path, signOut }: {
  me: NonNullable<Extract<MeResult, { state: 'signed-in' }>['me']>; apiKey: string | null; caps: Capabilities;
  path: string; signOut: () => void;
}) {
  const tenants = me.tenants;
  const [tenant, setTenant] = useState(() => {
    const saved = localStorage.getItem('ea.tenant');
    return tenants.find((t) => t.id === saved)?.id ?? tenants[0]?.id ?? '';
  });
  useEffect(() => { if (tenant) localStorage.setItem('ea.tenant', tenant); }, [tenant]);
  const [timezone, setTimezoneState] = useState(() => {
    const saved = localStorage.getItem('ea.tz');
    return saved && isValidTimezone(saved) ? saved : browserTimezone();
  });
  const setTimezone = useCallback((tz: string) => {
    setTimezoneState(tz);
    localStorage.setItem('ea.tz', tz);
  }, []);
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [path]);
  // one client per credentials and tenant: nothing cached for one tenant is ever shown for another
  const client = useMemo(() => makeApolloClient(apiKey), [apiKey, tenant]);
  const ws = useMemo(() => makeWsClient(apiKey), [apiKey]);
  useEffect(() => {
    clearTimeout(pendingDispose.get(ws));
    // disposed one task after the cleanup unless the same client is mounted again at once: React
    // StrictMode (development) unmounts and remounts, and a client disposed then kept closed its
    // socket right after connection_ack and never retried (Alerts stayed 'Connecting…' in make dev)
    return () => { pendingDispose.set(ws, setTimeout(() => ws.dispose(), 0)); };
  }, [ws]);

  const admin = canAdmin(me, tenant);
  const session: Session = { me, tenant, apiKey, caps, ws, navigate, admin, timezone, setTimezone };
  const dash = path.match(/^\/dashboards\/([^/]+)$/);
  const page = !tenant ? null
    : path === '/' || path === '/login' ? <OverviewPage key={tenant} />
    : path === '/charts' ? <ChartsPage key={tenant} />
    : path === '/dashboards' || dash ? <DashboardsPage key={tenant} id={dash?.[1] ? decodeURIComponent(dash[1]) : undefined} />
    : path === '/events' ? <EventsPage key={tenant} />
    : path === '/alerts' ? <AlertsPage key={tenant} />
    : path === '/settings' || path.startsWith('/settings/') ? <SettingsPage key={tenant} path={path} />
    : path === '/graphiql' ? <Suspense fallback={<Loading label="Loading GraphiQL…" />}><GraphiQLPage key={tenant} /></Suspense>
    : <div className="page"><h1>Not found</h1><p className="muted">No page at {path}.</p></div>;

  return (
    <ApolloProvider client={client}>
      <SessionContext.Provider value={session}>
        <div className={`app${path === '/graphiql' ? ' full' : ''}`}>
          <aside className={`sidebar${menuOpen ? ' open' : ''}`}>
            <div className="sidebar-top">
              <a className="brand" href="/" onClick={linkTo('/')}><span className="logo" aria-hidden="true" />Event Analytics</a>
              <button className="menu-toggle btn" aria-expanded={menuOpen} aria-controls="main-nav"
                onClick={() => setMenuOpen((o) => !o)} data-testid="menu-toggle">{menuOpen ? 'Close' : 'Menu'}</button>
            </div>
            <nav id="main-nav">
              {NAV.map((n) => {
                const active = n.path === '/' ? path === '/' : path.startsWith(n.path);
                return (
                  <a key={n.path} href={n.path} className={active ? 'active' : ''} aria-current={active ? 'page' : undefined}
                    onClick={linkTo(n.path)} data-testid={`nav-${n.label.toLowerCase()}`}>{n.label}</a>
                );
              })}
            </nav>
            <div className="sidebar-foot">
              <label className="small">Tenant
                <select value={tenant} onChange={(e) => setTenant(e.target.value)} data-testid="tenant-switcher"
                  disabled={tenants.length < 2}>
                  {tenants.map((t) => <option key={t.id} value={t.id}>{t.name || t.id}</option>)}
                </select>
              </label>
              <label className="small">Times in
                <TimezoneSelect value={timezone} onChange={setTimezone} testId="app-timezone" />
              </label>
              <div className="who small">
                <span className="muted">{me.name || (me.kind === 'api_key' ? 'API key' : me.kind)}
                  {tenant && <> · <span data-testid="role">{admin ? 'admin' : 'viewer'}</span></>}</span>
                <button className="link" onClick={signOut} data-testid="sign-out">Sign out</button>
              </div>
            </div>
          </aside>
          <main className="main">
            {tenant ? page : (
              <div className="page"><h1>No tenant</h1><p className="muted">This account has no tenant yet. Ask an admin to add you (analytics-admin member add).</p></div>
            )}
          </main>
        </div>
      </SessionContext.Provider>
    </ApolloProvider>
  );
}
