// Alerts.tsx — threshold alerts (SPEC §8): create (createAlert), list (alerts), history, and
// firings pushed live by the alertFired subscription.
import { useCallback, useMemo, useState } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import { useSession } from '../context';
import { Empty, ErrorBox, LiveBadge, Loading, Unsupported } from '../components/ui';
import { has } from '../lib/api';
import { useLiveSubscription } from '../lib/live';
import {
  ALERT_FIRED, ALERT_HISTORY, ALERTS, COMPARATORS, CREATE_ALERT, METRIC_DEFINITIONS,
  type Alert, type AlertFiring, type Comparator, type MetricDefinition,
} from '../lib/queries';
import { formatNumber } from '../lib/series';

const cmp = (c: Comparator) => COMPARATORS.find((x) => x.value === c)?.label ?? c;
const dimsText = (d: Record<string, unknown> | null | undefined) =>
  d && Object.keys(d).length ? Object.entries(d).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') : 'all';

export function AlertsPage() {
  const { tenant, caps, ws } = useSession();
  const supported = has(caps, 'Query', 'alerts');
  const canCreate = has(caps, 'Mutation', 'createAlert');
  const withHistory = has(caps, 'Alert', 'history');
  const alerts = useQuery<{ alerts: Alert[] }>(ALERTS, { variables: { tenant }, skip: !supported });
  const history = useQuery<{ alerts: { id: string; name: string; history: AlertFiring[] }[] }>(ALERT_HISTORY,
    { variables: { tenant }, skip: !supported || !withHistory || caps === null });
  const [fired, setFired] = useState<AlertFiring[]>([]);
  const onFired = useCallback((d: { alertFired: AlertFiring }) => {
    setFired((f) => [d.alertFired, ...f].slice(0, 50));
    history.refetch?.().catch(() => undefined);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  const live = useLiveSubscription(ws, ALERT_FIRED,
    has(caps, 'Subscription', 'alertFired') ? { tenant } : null, onFired);
  const names = useMemo(() => new Map((alerts.data?.alerts ?? []).map((a) => [String(a.id), a.name])), [alerts.data]);
  const past = useMemo(() => (history.data?.alerts ?? []).flatMap((a) => (a.history ?? []).map((h) => ({ ...h, alertId: a.id, name: a.name })))
    .sort((a, b) => Date.parse(b.firedAt ?? b.timestamp ?? '') - Date.parse(a.firedAt ?? a.timestamp ?? '')), [history.data]);

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Alerts</h1>
          <p className="muted">Checked by the worker each time a bucket closes; firings show here as they happen.</p>
        </div>
        {has(caps, 'Subscription', 'alertFired') && <LiveBadge status={live.status === 'unavailable' ? 'unavailable' : live.status} error={live.error} />}
      </header>
      {!supported ? <Unsupported what="Alerts" /> : (
        <div className="alerts-layout">
          <section className="card">
            <h2>New alert</h2>
            {canCreate ? <AlertForm tenant={tenant} onCreated={() => alerts.refetch()} />
              : <p className="muted">This server cannot create alerts yet (no <code>createAlert</code>).</p>}
          </section>
          <div className="stack">
            {fired.length > 0 && (
              <section className="card fired" data-testid="fired-live">
                <h2>Just fired</h2>
                <ul className="fired-list">
                  {fired.map((f, i) => (
                    <li key={i} data-testid="fired-item">
                      <strong>{f.name ?? names.get(String(f.alertId)) ?? `alert ${f.alertId}`}</strong>
                      <span> {f.metric ? `${f.metric} ` : ''}was {f.value != null ? formatNumber(f.value) : '?'}
                        {f.timestamp ? ` in the bucket of ${new Date(f.timestamp).toLocaleString()}` : ''}</span>
                      <span className="muted small"> · {dimsText(f.dimensions)}</span>
                    </li>
                  ))}
                </ul>
              </section>
            )}
            <section className="card">
              <h2>Alerts</h2>
              {alerts.error ? <ErrorBox error={alerts.error.message} onRetry={() => alerts.refetch()} />
                : alerts.loading && !alerts.data ? <Loading height={100} />
                : !alerts.data?.alerts.length ? <Empty title="No alerts yet" height={100}>Create one on the left.</Empty>
                : (
                  <table className="data" data-testid="alert-table">
                    <thead><tr><th>Name</th><th>Condition</th><th>Filter</th><th>Checked</th><th>State</th></tr></thead>
                    <tbody>
                      {alerts.data.alerts.map((a) => (
                        <tr key={a.id} data-testid="alert-row">
                          <td>{a.name}</td>
                          <td><code>{a.metric}</code> {cmp(a.comparator)} {formatNumber(a.threshold)}</td>
                          <td>{dimsText(a.filter)}</td>
                          <td>{a.granularity === 'DAY' ? 'daily' : 'hourly'}</td>
                          <td>{a.enabled ? <span className="badge ok">enabled</span> : <span className="badge">paused</span>}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
            </section>
            <section className="card">
              <h2>History</h2>
              {!withHistory ? <p className="muted">This server does not list past firings yet (no <code>Alert.history</code>).</p>
                : history.error ? <ErrorBox error={history.error.message} />
                : past.length === 0 ? <Empty title="Nothing has fired yet" height={80} />
                : (
                  <table className="data" data-testid="history-table">
                    <thead><tr><th>Alert</th><th>Bucket</th><th>Dimensions</th><th className="num">Value</th><th>Fired</th></tr></thead>
                    <tbody>
                      {past.map((h, i) => (
                        <tr key={i}><td>{h.name}</td><td>{h.timestamp ? new Date(h.timestamp).toLocaleString() : ''}</td><td>{dimsText(h.dimensions)}</td>
                          <td className="num">{h.value != null ? formatNumber(h.value) : ''}</td><td>{h.firedAt ? new Date(h.firedAt).toLocaleString() : ''}</td></tr>
                      ))}
                    </tbody>
                  </table>
                )}
            </section>
          </div>
        </div>
      )}
    </div>
  );
}

function AlertForm({ tenant, onCreated }: { tenant: string; onCreated: () => void }) {
  const defs = useQuery<{ metricDefinitions: MetricDefinition[] }>(METRIC_DEFINITIONS, { variables: { tenant } });
  const metrics = useMemo(() => {
    const m = new Map<string, string[]>();
    for (const d of defs.data?.metricDefinitions ?? []) {
      m.set(d.name, d.dimensions);
      if (!m.has(d.eventName)) m.set(d.eventName, []); // the automatic count metric of the event
    }
    return m;
  }, [defs.data]);
  const [f, setF] = useState({ name: '', metric: '', dim: '', dimValue: '', comparator: 'GT' as Comparator, threshold: '100', granularity: 'HOUR' as 'HOUR' | 'DAY' });
  const [create, st] = useMutation<{ createAlert: Alert }>(CREATE_ALERT);
  const [ok, setOk] = useState<string | null>(null);
  const metric = f.metric || [...metrics.keys()][0] || '';
  const dims = metrics.get(metric) ?? [];
  const threshold = Number(f.threshold);
  const valid = f.name.trim() && metric && f.threshold.trim() !== '' && Number.isFinite(threshold) && (!f.dim || f.dimValue !== '');
  return (
    <form className="form" onSubmit={async (e) => {
      e.preventDefault();
      setOk(null);
      try {
        await create({ variables: { tenant, input: {
          name: f.name.trim(), metric, comparator: f.comparator, threshold, granularity: f.granularity,
          filter: f.dim ? { [f.dim]: f.dimValue } : {},
        } } });
        setOk(`Created “${f.name.trim()}”.`);
        setF((x) => ({ ...x, name: '' }));
        onCreated();
      } catch { /* st.error */ }
    }}>
      <label>Name<input value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} maxLength={200}
        placeholder="e.g. Traffic spike" data-testid="alert-name" /></label>
      <label>Metric
        <select value={metric} onChange={(e) => setF({ ...f, metric: e.target.value, dim: '' })} data-testid="alert-metric">
          {[...metrics.keys()].map((m) => <option key={m} value={m}>{m}</option>)}
        </select>
      </label>
      <div className="row">
        <label>Condition
          <select value={f.comparator} onChange={(e) => setF({ ...f, comparator: e.target.value as Comparator })} data-testid="alert-comparator">
            {COMPARATORS.map((c) => <option key={c.value} value={c.value}>{c.label}</option>)}
          </select>
        </label>
        <label>Threshold<input type="number" step="any" value={f.threshold}
          onChange={(e) => setF({ ...f, threshold: e.target.value })} data-testid="alert-threshold" /></label>
      </div>
      <label>Per
        <select value={f.granularity} onChange={(e) => setF({ ...f, granularity: e.target.value as 'HOUR' | 'DAY' })} data-testid="alert-granularity">
          <option value="HOUR">hour</option><option value="DAY">day (UTC)</option>
        </select>
      </label>
      <div className="row">
        <label>Only where
          <select value={f.dim} onChange={(e) => setF({ ...f, dim: e.target.value })} disabled={!dims.length} data-testid="alert-dim">
            <option value="">(any)</option>
            {dims.map((d) => <option key={d} value={d}>{d}</option>)}
          </select>
        </label>
        <label>equals<input value={f.dimValue} disabled={!f.dim} onChange={(e) => setF({ ...f, dimValue: e.target.value })}
          data-testid="alert-dim-value" /></label>
      </div>
      <button className="btn primary wide" disabled={!valid || st.loading} data-testid="create-alert">
        {st.loading ? 'Creating…' : 'Create alert'}
      </button>
      {st.error && <div className="error-text" role="alert">{st.error.message}</div>}
      {ok && <div className="ok-text">{ok}</div>}
    </form>
  );
}
