// Dashboards.tsx — saved dashboards: the list (admins create one by name), and one dashboard as a
// grid of charts. On a dashboard: a time-range picker (relative or dates) and a time zone that
// apply to every chart (or "as saved": each chart's own), both in the URL; admins rename or delete
// it (asked first), and move, widen or remove charts (saved at once); a chart is added from the
// Charts page ("Add a chart" goes there with this dashboard picked).
import { useMemo, useState } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import { useSession } from '../context';
import { MetricChart } from '../components/MetricChart';
import { TimeRangePicker } from '../components/pickers';
import { ConfirmDialog, Empty, ErrorBox, Loading, Unsupported, ViewOnlyNote, errorInfo } from '../components/ui';
import { has } from '../lib/api';
import { chartTitle, chartToSearch, fromSavedChart, type ChartConfig } from '../lib/chart';
import { moveChart, normalizeLayout, removeChart, updateChart, type Layout } from '../lib/layout';
import { formatIso } from '../lib/format';
import { parseRange, serializeRange } from '../lib/range';
import { browserTimezone, formatOffset, isValidTimezone, timezoneChoices } from '../lib/time';
import { DASHBOARDS, DELETE_DASHBOARD, RENAME_DASHBOARD, SAVE_DASHBOARD, type Dashboard } from '../lib/queries';
import { linkTo, navigate, useSearchParams } from '../lib/router';

export function DashboardsPage({ id }: { id?: string }) {
  const { tenant, caps } = useSession();
  const supported = has(caps, 'Query', 'dashboards');
  const q = useQuery<{ dashboards: Dashboard[] }>(DASHBOARDS, { variables: { tenant }, skip: !supported });
  const list = q.data?.dashboards ?? [];
  const current = id ? list.find((d) => String(d.id) === id) : undefined;

  if (!supported) return <div className="page"><h1>Dashboards</h1><Unsupported what="Dashboards" /></div>;
  if (q.error) return <div className="page"><h1>Dashboards</h1><ErrorBox error={q.error.message} onRetry={() => q.refetch()} /></div>;
  if (q.loading && !q.data) return <div className="page"><h1>Dashboards</h1><Loading height={160} /></div>;
  if (id && !current) {
    return (
      <div className="page"><h1>Dashboard not found</h1>
        <Empty title="No such dashboard">It may have been deleted, or belongs to another tenant.{' '}
          <a href="/dashboards" onClick={linkTo('/dashboards')}>All dashboards</a></Empty></div>
    );
  }
  return current ? <DashboardView dashboard={current} all={list} /> : <DashboardList list={list} />;
}

function DashboardList({ list }: { list: Dashboard[] }) {
  const { tenant, admin, timezone } = useSession();
  const [name, setName] = useState('');
  const [save, saving] = useMutation<{ saveDashboard: Dashboard }>(SAVE_DASHBOARD, {
    refetchQueries: [{ query: DASHBOARDS, variables: { tenant } }],
  });
  const [error, setError] = useState<string | null>(null);
  const sorted = useMemo(() => [...list].sort((a, b) => a.name.localeCompare(b.name)), [list]);
  const exists = list.some((d) => d.name === name.trim());
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Dashboards</h1>
          <p className="muted">Grids of charts, with one time range for all of them.</p>
        </div>
        <a className="btn" href="/charts" onClick={linkTo('/charts')}>Build a chart</a>
      </header>
      {!admin && <ViewOnlyNote what="create, change or delete dashboards" />}
      {admin && (
        <form className="inline-form card" onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          try {
            const r = await save({ variables: { tenant, name: name.trim(), layout: { charts: [] }, overwrite: false } });
            if (r.data) navigate(`/dashboards/${r.data.saveDashboard.id}`);
          } catch (err) { setError(errorInfo(err).message); }
        }}>
          <label>New dashboard
            <input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} placeholder="e.g. Growth"
              data-testid="new-dashboard-name" />
          </label>
          <button className="btn primary" disabled={!name.trim() || exists || saving.loading} data-testid="create-dashboard">Create</button>
          {exists && <span className="error-text small">A dashboard named “{name.trim()}” exists: pick another name.</span>}
          {error && <span className="error-text small" role="alert">{error}</span>}
        </form>
      )}
      {sorted.length === 0 ? <Empty title="No dashboards yet">Build a chart and add it to a new dashboard: it will be listed here.</Empty> : (
        <ul className="dash-list" data-testid="dashboard-list">
          {sorted.map((d) => {
            const charts = normalizeLayout(d.layout).charts;
            return (
              <li key={d.id}>
                <a href={`/dashboards/${d.id}`} onClick={linkTo(`/dashboards/${d.id}`)} data-testid="dashboard-link">
                  <strong>{d.name}</strong>
                  <span className="muted small">{charts.length} chart{charts.length === 1 ? '' : 's'}
                    {charts.length > 0 && `: ${charts.slice(0, 4).map((c) => chartTitle({ title: c.title, metric: c.metric, groupBy: c.groupBy ?? [] })).join(' · ')}${charts.length > 4 ? ' …' : ''}`}</span>
                  {d.updatedAt && <span className="muted small">updated {formatIso(d.updatedAt, timezone)}</span>}
                </a>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}

function DashboardView({ dashboard, all }: { dashboard: Dashboard; all: Dashboard[] }) {
  const { tenant, admin } = useSession();
  const layout = useMemo(() => normalizeLayout(dashboard.layout), [dashboard.layout]);
  const [params, setParams] = useSearchParams();
  const range = parseRange(params.get('range'));
  const tzParam = params.get('tz');
  const tz = tzParam && isValidTimezone(tzParam) ? tzParam : null;
  const [now, setNow] = useState(() => Date.now());
  const refetch = { refetchQueries: [{ query: DASHBOARDS, variables: { tenant } }] };
  const [save, saving] = useMutation<{ saveDashboard: Dashboard }>(SAVE_DASHBOARD, refetch);
  const [rename, renaming] = useMutation<{ renameDashboard: Dashboard }>(RENAME_DASHBOARD, refetch);
  const [del, deleting] = useMutation<{ deleteDashboard: boolean }>(DELETE_DASHBOARD, refetch);
  const [error, setError] = useState<string | null>(null);
  const [editingName, setEditingName] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [confirmRemove, setConfirmRemove] = useState<string | null>(null);

  const saveLayout = async (next: Layout) => {
    setError(null);
    try {
      await save({ variables: { tenant, id: dashboard.id, name: dashboard.name, layout: next } });
    } catch (e) { setError(errorInfo(e).message); }
  };
  const nameTaken = editingName !== null && all.some((d) => d.name === editingName.trim() && d.id !== dashboard.id);

  return (
    <div className="page">
      <header className="page-head">
        <div className="grow">
          {editingName === null ? <h1 data-testid="dashboard-title">{dashboard.name}</h1> : (
            <form className="inline-form" onSubmit={async (e) => {
              e.preventDefault();
              setError(null);
              try {
                await rename({ variables: { tenant, id: dashboard.id, name: editingName.trim() } });
                setEditingName(null);
              } catch (err) { setError(errorInfo(err).message); }
            }}>
              <input value={editingName} onChange={(e) => setEditingName(e.target.value)} maxLength={200} aria-label="Dashboard name"
                data-testid="rename-input" autoFocus />
              <button className="btn primary" disabled={!editingName.trim() || nameTaken || renaming.loading} data-testid="rename-save">Save</button>
              <button type="button" className="btn" onClick={() => setEditingName(null)}>Cancel</button>
              {nameTaken && <span className="error-text small">That name is taken.</span>}
            </form>
          )}
          <p className="muted"><a href="/dashboards" onClick={linkTo('/dashboards')}>← All dashboards</a></p>
        </div>
        {admin && editingName === null && (
          <div className="row-gap wrap">
            <a className="btn" href={`/charts?dashboard=${dashboard.id}`} onClick={linkTo(`/charts?dashboard=${dashboard.id}`)}
              data-testid="add-chart">Add a chart</a>
            <button className="btn" onClick={() => setEditingName(dashboard.name)} data-testid="rename-dashboard">Rename</button>
            <button className="btn danger-outline" onClick={() => setConfirmDelete(true)} data-testid="delete-dashboard">Delete</button>
          </div>
        )}
      </header>
      {!admin && <ViewOnlyNote what="change this dashboard" />}
      <div className="controls dash-controls card">
        <div className="field">
          <span className="field-label">Time range</span>
          <TimeRangePicker value={range} savedLabel="As saved (each chart)" timezone={tz ?? 'UTC'} testId="dash-range"
            onChange={(r) => { setNow(Date.now()); setParams({ range: r ? serializeRange(r) : null }); }} />
        </div>
        <label>Time zone
          <select value={tz ?? ''} onChange={(e) => setParams({ tz: e.target.value || null })} data-testid="dash-tz">
            <option value="">As saved (each chart)</option>
            {[...new Set([...layout.charts.map((c) => c.timezone ?? 'UTC'), ...timezoneChoices(browserTimezone())])]
              .map((z) => <option key={z} value={z}>{z.replace(/_/g, ' ')} ({formatOffset(now, z)})</option>)}
          </select>
        </label>
        <button className="btn" onClick={() => setNow(Date.now())} data-testid="dash-refresh">Refresh</button>
      </div>
      {error && <div className="error-text" role="alert">{error}</div>}
      {layout.charts.length === 0 ? (
        <Empty title="This dashboard has no charts">
          {admin ? <>Build one on <a href={`/charts?dashboard=${dashboard.id}`} onClick={linkTo(`/charts?dashboard=${dashboard.id}`)}>Charts</a> and add it here.</> : 'An admin can add some.'}
        </Empty>
      ) : (
        <div className="dash-grid" data-testid="dashboard-view">
          {layout.charts.map((saved, i) => {
            const base = fromSavedChart(saved);
            const config: ChartConfig = { ...base, ...(range ? { range } : {}), ...(tz ? { timezone: tz } : {}) };
            const cid = saved.id!;
            return (
              <section key={cid} className={`card dash-chart${saved.wide ? ' wide' : ''}`} data-testid="dashboard-chart" data-chart-id={cid}>
                <div className="card-head">
                  <h2 data-testid="chart-title">{chartTitle(base)}</h2>
                  <div className="chart-tools">
                    <a className="btn small-btn" href={`/charts${chartToSearch(config)}`} onClick={linkTo(`/charts${chartToSearch(config)}`)}
                      title="Open in the chart builder">Edit</a>
                    {admin && <>
                      <button className="btn small-btn" aria-label="Move earlier" title="Move earlier" disabled={i === 0 || saving.loading}
                        onClick={() => saveLayout(moveChart(layout, cid, -1))} data-testid="chart-up">←</button>
                      <button className="btn small-btn" aria-label="Move later" title="Move later" disabled={i === layout.charts.length - 1 || saving.loading}
                        onClick={() => saveLayout(moveChart(layout, cid, +1))} data-testid="chart-down">→</button>
                      <button className="btn small-btn" title={saved.wide ? 'Half width' : 'Full width'} disabled={saving.loading}
                        onClick={() => saveLayout(updateChart(layout, cid, { wide: !saved.wide }))} data-testid="chart-wide">{saved.wide ? 'Narrow' : 'Wide'}</button>
                      <button className="btn small-btn danger-outline" aria-label="Remove chart" title="Remove from this dashboard"
                        onClick={() => setConfirmRemove(cid)} data-testid="chart-remove">Remove</button>
                    </>}
                  </div>
                </div>
                <p className="muted small chart-sub">{config.granularity === 'DAY' ? 'daily' : 'hourly'} · {'last' in config.range ? `last ${config.range.last}` : `${config.range.from} – ${config.range.to}`} · {config.timezone}</p>
                <MetricChart tenant={tenant} config={config} now={now} height={260} showTable={false} />
              </section>
            );
          })}
        </div>
      )}
      {confirmDelete && (
        <ConfirmDialog title={`Delete “${dashboard.name}”?`} confirm="Delete dashboard" danger busy={deleting.loading}
          onCancel={() => setConfirmDelete(false)}
          onConfirm={async () => {
            try {
              await del({ variables: { tenant, id: dashboard.id } });
              navigate('/dashboards');
            } catch (e) { setError(errorInfo(e).message); setConfirmDelete(false); }
          }}>
          <p>Its {layout.charts.length} chart(s) go with it. The data stays: charts can be built again.</p>
        </ConfirmDialog>
      )}
      {confirmRemove && (
        <ConfirmDialog title="Remove this chart from the dashboard?" confirm="Remove" danger busy={saving.loading}
          onCancel={() => setConfirmRemove(null)}
          onConfirm={async () => { await saveLayout(removeChart(layout, confirmRemove)); setConfirmRemove(null); }} />
      )}
    </div>
  );
}
