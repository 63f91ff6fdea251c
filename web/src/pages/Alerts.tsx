// Alerts.tsx — threshold alerts (SPEC §8): create and edit (metric, filter, comparator, threshold,
// hourly or daily in a time zone, webhook), pause/resume, delete (asked first); the signing secret
// of a new alert's webhook is shown once with a copy button; past firings with their delivery
// state (Alert.history); firings pushed live by alertFired. Viewers see everything, change nothing.
import { useCallback, useMemo, useState } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import { useSession } from '../context';
import { MetricSelect } from '../components/pickers';
import {
  ConfirmDialog, CopyButton, Empty, ErrorBox, LiveBadge, Loading, TimezoneSelect, Unsupported, ViewOnlyNote, errorInfo,
} from '../components/ui';
import { useChartables } from '../hooks/useChartables';
import { has } from '../lib/api';
import { formatExact, formatIso } from '../lib/format';
import { useLiveSubscription } from '../lib/live';
import {
  ALERT_FIRED, ALERT_HISTORY, ALERTS, ALERTS_BASIC, COMPARATORS, CREATE_ALERT, CREATE_ALERT_BASIC, DELETE_ALERT,
  SET_ALERT_ENABLED, UPDATE_ALERT, type Alert, type AlertFiredPush, type AlertFiring, type Comparator,
} from '../lib/queries';

const cmp = (c: Comparator) => COMPARATORS.find((x) => x.value === c)?.label ?? c;
export const dimsText = (d: Record<string, unknown> | null | undefined) =>
  d && Object.keys(d).length ? Object.entries(d).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') : 'all';

function DeliveryBadge({ h }: { h: AlertFiring }) {
  const d = h.delivery;
  const cls = d === 'delivered' ? 'ok' : d === 'failed' ? 'bad' : d === 'pending' ? 'warn' : '';
  const text = d === 'none' ? 'no webhook' : d;
  const tries = h.attempts && h.attempts > 1 ? ` after ${h.attempts} attempts` : '';
  return (
    <span className="delivery">
      <span className={`badge ${cls}`} data-testid="delivery" data-delivery={d} title={h.deliveryError ?? undefined}>{text}{tries}</span>
      {h.deliveryError && d !== 'delivered' && <span className="muted small delivery-error">{h.deliveryError}</span>}
    </span>
  );
}

export function AlertsPage() {
  const { tenant, caps, ws, admin, timezone } = useSession();
  const supported = has(caps, 'Query', 'alerts');
  const full = has(caps, 'Alert', 'webhookUrl');
  const withHistory = has(caps, 'Alert', 'history');
  const canEdit = has(caps, 'Mutation', 'updateAlert');
  const alerts = useQuery<{ alerts: Alert[] }>(full ? ALERTS : ALERTS_BASIC, { variables: { tenant }, skip: !supported });
  const history = useQuery<{ alerts: { id: string; name: string; history: AlertFiring[] }[] }>(ALERT_HISTORY,
    { variables: { tenant, limit: 50 }, skip: !supported || !withHistory });
  const [fired, setFired] = useState<AlertFiredPush[]>([]);
  const onFired = useCallback((d: { alertFired: AlertFiredPush }) => {
    setFired((f) => [d.alertFired, ...f].slice(0, 20));
    history.refetch?.().catch(() => undefined);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  const live = useLiveSubscription(ws, ALERT_FIRED,
    has(caps, 'Subscription', 'alertFired') ? { tenant } : null, onFired);
  const names = useMemo(() => new Map((alerts.data?.alerts ?? []).map((a) => [String(a.id), a.name])), [alerts.data]);
  const past = useMemo(() => (history.data?.alerts ?? []).flatMap((a) => (a.history ?? []).map((h) => ({ ...h, alertId: a.id, name: a.name })))
    .sort((a, b) => Date.parse(b.firedAt) - Date.parse(a.firedAt)).slice(0, 100), [history.data]);
  const [editing, setEditing] = useState<Alert | null>(null);
  const [deleting, setDeleting] = useState<Alert | null>(null);
  const [setEnabled, toggling] = useMutation(SET_ALERT_ENABLED);
  const [del, delState] = useMutation(DELETE_ALERT, { refetchQueries: [{ query: full ? ALERTS : ALERTS_BASIC, variables: { tenant } }] });
  const [rowError, setRowError] = useState<string | null>(null);

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Alerts</h1>
          <p className="muted">Checked by the worker each time a bucket closes (an empty bucket counts as 0); each firing is kept,
            and posted to the alert's webhook when it has one.</p>
        </div>
        {has(caps, 'Subscription', 'alertFired') && <LiveBadge status={live.status} error={live.error} />}
      </header>
      {!admin && <ViewOnlyNote what="create, change or delete alerts" />}
      {!supported ? <Unsupported what="Alerts" /> : (
        <div className={admin ? 'alerts-layout' : ''}>
          {admin && (
            <section className="card">
              <h2>{editing ? `Edit “${editing.name}”` : 'New alert'}</h2>
              <AlertForm key={editing?.id ?? 'new'} alert={editing} full={full} canEdit={canEdit}
                onDone={() => { setEditing(null); alerts.refetch(); }} onCancel={editing ? () => setEditing(null) : undefined} />
            </section>
          )}
          <div className="stack">
            {fired.length > 0 && (
              <section className="card fired" data-testid="fired-live">
                <h2>Just fired</h2>
                <ul className="fired-list">
                  {fired.map((f, i) => (
                    <li key={i} data-testid="fired-item">
                      <strong>{f.name ?? names.get(String(f.alertId)) ?? `alert ${f.alertId}`}</strong>
                      <span> {f.metric ? `${f.metric} ` : ''}was {f.value != null ? formatExact(f.value) : '?'}
                        {f.timestamp ? ` in the bucket of ${formatIso(f.timestamp, timezone)}` : ''}</span>
                      <span className="muted small"> · {dimsText(f.dimensions)}</span>
                    </li>
                  ))}
                </ul>
              </section>
            )}
            <section className="card">
              <h2>Alerts</h2>
              {rowError && <div className="error-text" role="alert">{rowError}</div>}
              {alerts.error ? <ErrorBox error={alerts.error.message} onRetry={() => alerts.refetch()} />
                : alerts.loading && !alerts.data ? <Loading height={100} />
                : !alerts.data?.alerts.length ? <Empty title="No alerts yet" height={100}>{admin ? 'Create one with the form.' : 'An admin can create some.'}</Empty>
                : (
                  <div className="table-wrap flat">
                    <table className="data responsive" data-testid="alert-table">
                      <thead><tr><th>Name</th><th>Condition</th><th>Filter</th><th>Checked</th><th>Webhook</th><th>State</th>{admin && <th />}</tr></thead>
                      <tbody>
                        {alerts.data.alerts.map((a) => (
                          <tr key={a.id} data-testid="alert-row" data-alert-id={a.id}>
                            <td data-label="Name">{a.name}</td>
                            <td data-label="Condition"><code>{a.metric}</code> {cmp(a.comparator)} {formatExact(a.threshold)}</td>
                            <td data-label="Filter">{dimsText(a.filter)}</td>
                            <td data-label="Checked">{a.granularity === 'DAY' ? `daily (${a.timezone ?? 'UTC'})` : 'hourly'}</td>
                            <td data-label="Webhook" className="wrap-cell">{a.webhookUrl ? <span title={a.webhookUrl}>{hostOf(a.webhookUrl)}</span> : <span className="muted">—</span>}</td>
                            <td data-label="State">{a.enabled ? <span className="badge ok">enabled</span> : <span className="badge" data-testid="paused">paused</span>}</td>
                            {admin && (
                              <td data-label="" className="actions">
                                {canEdit && <button className="btn small-btn" onClick={() => { setEditing(a); scrollTo(0, 0); }} data-testid="alert-edit">Edit</button>}
                                {has(caps, 'Mutation', 'setAlertEnabled') && (
                                  <button className="btn small-btn" disabled={toggling.loading} data-testid="alert-toggle" onClick={async () => {
                                    setRowError(null);
                                    try { await setEnabled({ variables: { tenant, id: a.id, enabled: !a.enabled } }); } catch (e) { setRowError(errorInfo(e).message); }
                                  }}>{a.enabled ? 'Pause' : 'Resume'}</button>
                                )}
                                {has(caps, 'Mutation', 'deleteAlert') && (
                                  <button className="btn small-btn danger-outline" onClick={() => setDeleting(a)} data-testid="alert-delete">Delete</button>
                                )}
                              </td>
                            )}
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                )}
            </section>
            <section className="card">
              <h2>History <span className="muted small">(times in {timezone})</span></h2>
              {!withHistory ? <p className="muted">This server does not list past firings yet (no <code>Alert.history</code>).</p>
                : history.error ? <ErrorBox error={history.error.message} />
                : past.length === 0 ? <Empty title="Nothing has fired yet" height={80} />
                : (
                  <div className="table-wrap flat">
                    <table className="data responsive" data-testid="history-table">
                      <thead><tr><th>Fired</th><th>Alert</th><th>Bucket</th><th>Where</th><th className="num">Value</th><th>Delivery</th></tr></thead>
                      <tbody>
                        {past.map((h, i) => (
                          <tr key={i} data-testid="history-row">
                            <td data-label="Fired">{formatIso(h.firedAt, timezone, true)}</td><td data-label="Alert">{h.name}</td><td data-label="Bucket">{formatIso(h.bucket, timezone)}</td>
                            <td data-label="Where">{dimsText(h.dimensions)}</td><td data-label="Value" className="num">{formatExact(h.value)}</td>
                            <td data-label="Delivery" className="wrap-cell"><DeliveryBadge h={h} /></td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                )}
            </section>
          </div>
        </div>
      )}
      {deleting && (
        <ConfirmDialog title={`Delete the alert “${deleting.name}”?`} confirm="Delete alert" danger busy={delState.loading}
          onCancel={() => setDeleting(null)}
          onConfirm={async () => {
            setRowError(null);
            try { await del({ variables: { tenant, id: deleting.id } }); } catch (e) { setRowError(errorInfo(e).message); }
            setDeleting(null);
            if (editing?.id === deleting.id) setEditing(null);
          }}>
          <p>Its history of firings goes with it. Pausing keeps both.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

function hostOf(url: string): string {
  try { return new URL(url).host; } catch { return url; }
}

function AlertForm({ alert, full, canEdit, onDone, onCancel }: {
  alert: Alert | null; full: boolean; canEdit: boolean; onDone: () => void; onCancel?: () => void;
}) {
  const { tenant, timezone } = useSession();
  const { list, events } = useChartables();
  const filterEntry = alert?.filter ? Object.entries(alert.filter)[0] : undefined;
  const [f, setF] = useState({
    name: alert?.name ?? '', metric: alert?.metric ?? '', dim: filterEntry?.[0] ?? '', dimValue: filterEntry ? String(filterEntry[1]) : '',
    comparator: (alert?.comparator ?? 'GT') as Comparator, threshold: alert ? String(alert.threshold) : '100',
    granularity: (alert?.granularity ?? 'HOUR') as 'HOUR' | 'DAY', timezone: alert?.timezone ?? timezone,
    webhookUrl: alert?.webhookUrl ?? '',
  });
  const [create, cst] = useMutation<{ createAlert: Alert }>(full ? CREATE_ALERT : CREATE_ALERT_BASIC);
  const [update, ust] = useMutation<{ updateAlert: Alert }>(UPDATE_ALERT);
  const [ok, setOk] = useState<string | null>(null);
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const metric = f.metric || list.find((c) => c.name === 'page_view')?.name || list[0]?.name || '';
  const item = list.find((c) => c.name === metric);
  const dims = item?.dimensions ?? [];
  // values seen for the filter's property on the metric's event: suggestions for "equals"
  const suggestions = events.find((e) => e.name === item?.eventName)?.properties?.find((p) => p.name === f.dim)?.topValues ?? [];
  const threshold = Number(f.threshold);
  const urlOk = !f.webhookUrl.trim() || /^https?:\/\/[^\s]+$/i.test(f.webhookUrl.trim());
  const valid = f.name.trim() && metric && f.threshold.trim() !== '' && Number.isFinite(threshold) && (!f.dim || f.dimValue !== '') && urlOk;
  const busy = cst.loading || ust.loading;
  const cmpWords = COMPARATORS.find((c) => c.value === f.comparator)?.words ?? '';
  return (
    <form className="form" onSubmit={async (e) => {
      e.preventDefault();
      setOk(null);
      setError(null);
      const input: Record<string, unknown> = {
        name: f.name.trim(), metric, comparator: f.comparator, threshold, granularity: f.granularity,
        filter: f.dim ? { [f.dim]: f.dimValue } : {},
      };
      if (full) {
        input.timezone = f.granularity === 'DAY' ? f.timezone : 'UTC';
        input.webhookUrl = f.webhookUrl.trim() || null;
      }
      try {
        if (alert) {
          await update({ variables: { tenant, id: alert.id, input } });
          onDone();
          return;
        }
        const r = await create({ variables: { tenant, input } });
        setOk(`Created “${f.name.trim()}”.`);
        if (r.data?.createAlert.webhookSecret) setSecret({ name: f.name.trim(), secret: r.data.createAlert.webhookSecret });
        setF((x) => ({ ...x, name: '' }));
        onDone();
      } catch (err) { setError(errorInfo(err).message); }
    }}>
      <label>Name<input value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} maxLength={200}
        placeholder="e.g. Traffic dropped to zero" data-testid="alert-name" /></label>
      <label>Event or metric
        <MetricSelect list={list} value={metric} onChange={(m) => setF({ ...f, metric: m, dim: '' })} testId="alert-metric" />
      </label>
      <div className="row">
        <label>Condition
          <select value={f.comparator} onChange={(e) => setF({ ...f, comparator: e.target.value as Comparator })} data-testid="alert-comparator">
            {COMPARATORS.map((c) => <option key={c.value} value={c.value}>{c.label} ({c.words})</option>)}
          </select>
        </label>
        <label>Threshold<input type="number" step="any" value={f.threshold}
          onChange={(e) => setF({ ...f, threshold: e.target.value })} data-testid="alert-threshold" /></label>
      </div>
      <div className="row">
        <label>Per
          <select value={f.granularity} onChange={(e) => setF({ ...f, granularity: e.target.value as 'HOUR' | 'DAY' })} data-testid="alert-granularity">
            <option value="HOUR">hour</option><option value="DAY">day</option>
          </select>
        </label>
        {f.granularity === 'DAY' && full && (
          <label>Days in<TimezoneSelect value={f.timezone} onChange={(tz) => setF({ ...f, timezone: tz })} testId="alert-timezone" /></label>
        )}
      </div>
      <div className="row">
        <label>Only where
          <select value={f.dim} onChange={(e) => setF({ ...f, dim: e.target.value })} disabled={!dims.length} data-testid="alert-dim">
            <option value="">(anything)</option>
            {dims.map((d) => <option key={d} value={d}>{d}</option>)}
          </select>
        </label>
        <label>equals<input value={f.dimValue} disabled={!f.dim} list="alert-dim-values" onChange={(e) => setF({ ...f, dimValue: e.target.value })}
          data-testid="alert-dim-value" /></label>
        <datalist id="alert-dim-values">{suggestions.map((v) => <option key={v} value={v} />)}</datalist>
      </div>
      {full && (
        <label>Webhook URL (optional)
          <input type="url" value={f.webhookUrl} onChange={(e) => setF({ ...f, webhookUrl: e.target.value })} placeholder="https://example.com/hooks/analytics"
            data-testid="alert-webhook" />
          {!urlOk && <span className="error-text small">An http(s) URL.</span>}
        </label>
      )}
      <p className="muted small" data-testid="alert-summary">
        Fires when {metric || 'the metric'}{f.dim ? ` (${f.dim} = ${f.dimValue || '…'})` : ''} is {cmpWords} {f.threshold || '…'} in
        {f.granularity === 'DAY' ? ` a day (${f.timezone})` : ' an hour'}; a bucket without events counts as 0.
      </p>
      <div className="row-gap">
        <button className="btn primary grow" disabled={!valid || busy || (!!alert && !canEdit)} data-testid="create-alert">
          {busy ? 'Saving…' : alert ? 'Save changes' : 'Create alert'}
        </button>
        {onCancel && <button type="button" className="btn" onClick={onCancel}>Cancel</button>}
      </div>
      {error && <div className="error-text" role="alert">{error}</div>}
      {ok && <div className="ok-text">{ok}</div>}
      {secret && (
        <div className="secret" data-testid="webhook-secret">
          <p><strong>Webhook signing secret of “{secret.name}”</strong> — shown only now. Each delivery carries
            {' '}<code>X-Signature-256: sha256=HMAC-SHA256(secret, body)</code>.</p>
          <div className="row-gap"><code className="secret-value" data-testid="webhook-secret-value">{secret.secret}</code>
            <CopyButton text={secret.secret} testId="copy-secret" /></div>
          <button type="button" className="link" onClick={() => setSecret(null)}>I have stored it</button>
        </div>
      )}
    </form>
  );
}
