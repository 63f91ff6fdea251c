// Charts.tsx — the chart builder: what (the one list of events and metrics), group by (a metric's
// dimensions, over any range, or any other property seen on its event, answered by graphql-api
// from the raw events and so within their retention), granularity, time range (relative or dates), time zone, bars or lines. Everything is in the URL
// (/charts?metric=…&groupBy=…&range=…&tz=…), so a chart can be shared and survives a reload.
// Admins add the chart to a new dashboard or to an existing one; a new dashboard under a name
// that exists asks first (add to it, replace it, or cancel).
import { useEffect, useMemo, useState } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import { useSession } from '../context';
import { MetricChart } from '../components/MetricChart';
import { MetricSelect, TimeRangePicker } from '../components/pickers';
import { ConfirmDialog, Empty, ErrorBox, Loading, TimezoneSelect, ViewOnlyNote, errorInfo } from '../components/ui';
import { useChartables } from '../hooks/useChartables';
import { has } from '../lib/api';
import { chartFromSearch, chartToSearch, toSavedChart, type ChartConfig } from '../lib/chart';
import { addChart, normalizeLayout } from '../lib/layout';
import { DASHBOARDS, SAVE_DASHBOARD, type Dashboard } from '../lib/queries';
import { suggestedGranularity, type TimeRange } from '../lib/range';
import { linkTo, navigate, useLocation } from '../lib/router';

export function ChartsPage() {
  const { tenant, caps, admin, timezone } = useSession();
  const chartables = useChartables();
  const list = chartables.list;
  const { search } = useLocation();
  const defaults: ChartConfig = useMemo(() => ({
    metric: '', groupBy: [], granularity: 'DAY', range: { last: '7d' }, timezone,
  }), [timezone]);
  const cfg = useMemo(() => chartFromSearch(search, defaults), [search, defaults]);
  const set = (patch: Partial<ChartConfig>) => navigate(`/charts${chartToSearch({ ...cfg, ...patch })}`, { replace: true, keepScroll: true });
  useEffect(() => {
    // no metric in the URL yet: the first of the list (page_views when there is one)
    if (!cfg.metric && list.length) {
      const first = list.find((c) => c.name === 'page_views') ?? list.find((c) => c.kind === 'metric') ?? list[0];
      navigate(`/charts${chartToSearch({ ...cfg, metric: first.name })}`, { replace: true, keepScroll: true });
    }
  }, [cfg, list]);
  const item = list.find((c) => c.name === cfg.metric);
  const dims = item?.dimensions ?? [];
  // other properties seen on the event (Query.events' sample), and any in the URL (a shared link)
  const props = useMemo(() => {
    const seen = (chartables.events.find((e) => e.name === item?.eventName)?.properties ?? []).map((p) => p.name);
    return [...new Set([...seen, ...cfg.groupBy])].filter((p) => !dims.includes(p)).sort();
  }, [chartables.events, item, cfg.groupBy, dims]);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => setNow(Date.now()), [search]);
  const toggleDim = (d: string) =>
    set({ groupBy: cfg.groupBy.includes(d) ? cfg.groupBy.filter((x) => x !== d) : [...cfg.groupBy, d] });

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Charts</h1>
          <p className="muted">Any event or metric, grouped, over any range, in any time zone. The address bar keeps the chart: share it.</p>
        </div>
      </header>
      {chartables.error && <ErrorBox error={chartables.error} onRetry={chartables.refetch} />}
      {chartables.loading && <Loading height={120} />}
      {!chartables.loading && !chartables.error && list.length === 0 && (
        <Empty title="Nothing to chart yet">
          Send events to <code>POST /ingest</code>: every event name is chartable by itself. Define metrics (sums, averages,
          unique counts, dimensions to group by) on the <a href="/events" onClick={linkTo('/events')}>Events</a> page.
        </Empty>
      )}
      {list.length > 0 && (
        <div className="builder">
          <section className="card builder-form" aria-label="Chart settings">
            <label>Event or metric
              <MetricSelect list={list} value={cfg.metric} onChange={(metric) => set({ metric, groupBy: [] })} />
            </label>
            <fieldset>
              <legend>Group by</legend>
              {dims.length === 0 && props.length === 0 && (
                <span className="muted small">
                  {item?.kind === 'event' ? 'No properties seen on this event: define a metric with dimensions on the Events page.'
                    : 'This metric has no dimensions.'}
                </span>
              )}
              {dims.map((d) => (
                <label key={d} className="check">
                  <input type="checkbox" checked={cfg.groupBy.includes(d)} onChange={() => toggleDim(d)}
                    data-testid={`groupby-${d}`} /> {d}
                </label>
              ))}
              {props.length > 0 && (
                <div className="groupby-props" data-testid="groupby-properties">
                  <span className="muted small">{dims.length ? 'Other properties' : 'Properties'} (from stored events: the last 30 days)</span>
                  {props.map((d) => (
                    <label key={d} className="check">
                      <input type="checkbox" checked={cfg.groupBy.includes(d)} onChange={() => toggleDim(d)}
                        data-testid={`groupby-${d}`} /> {d}
                    </label>
                  ))}
                </div>
              )}
            </fieldset>
            <label>Granularity
              <div className="segmented" role="group">
                {(['HOUR', 'DAY'] as const).map((g) => (
                  <button key={g} type="button" className={cfg.granularity === g ? 'on' : ''} aria-pressed={cfg.granularity === g}
                    onClick={() => set({ granularity: g })} data-testid={`granularity-${g}`}>{g === 'HOUR' ? 'Hourly' : 'Daily'}</button>
                ))}
              </div>
            </label>
            <label>Chart
              <div className="segmented" role="group">
                {(['bar', 'line'] as const).map((t) => (
                  <button key={t} type="button" className={(cfg.type ?? (cfg.granularity === 'DAY' ? 'bar' : 'line')) === t ? 'on' : ''}
                    onClick={() => set({ type: t })} data-testid={`type-${t}`}>{t === 'bar' ? 'Bars' : 'Lines'}</button>
                ))}
              </div>
            </label>
            <div className="field">
              <span className="field-label">Time range</span>
              <TimeRangePicker value={cfg.range} timezone={cfg.timezone}
                onChange={(range: TimeRange | null) => { if (range) set({ range, granularity: suggestedGranularity(range) }); }} />
            </div>
            <label>Time zone <TimezoneSelect value={cfg.timezone} onChange={(tz) => set({ timezone: tz })} /></label>
            <hr />
            {admin ? <SaveChart config={cfg} canSave={has(caps, 'Mutation', 'saveDashboard')} tenant={tenant} />
              : <ViewOnlyNote what="save charts to dashboards" />}
          </section>
          <section className="card builder-chart">
            <MetricChart tenant={tenant} config={cfg} now={now} height={340} />
          </section>
        </div>
      )}
    </div>
  );
}

const NEW = '__new__';

function SaveChart({ config, canSave, tenant }: { config: ChartConfig; canSave: boolean; tenant: string }) {
  const { caps } = useSession();
  const dashboards = useQuery<{ dashboards: Dashboard[] }>(DASHBOARDS, { variables: { tenant }, skip: !has(caps, 'Query', 'dashboards') });
  const list = dashboards.data?.dashboards ?? [];
  const [target, setTarget] = useState(NEW);
  const [name, setName] = useState('');
  const [title, setTitle] = useState('');
  const [save, saving] = useMutation<{ saveDashboard: Dashboard }>(SAVE_DASHBOARD, {
    refetchQueries: [{ query: DASHBOARDS, variables: { tenant } }],
  });
  const [saved, setSaved] = useState<Dashboard | null>(null);
  const [conflict, setConflict] = useState<Dashboard | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => { setSaved(null); }, [config]);
  const chart = { ...toSavedChart(config), ...(title.trim() ? { title: title.trim() } : {}) };

  const run = async (vars: Record<string, unknown>) => {
    setError(null);
    try {
      const r = await save({ variables: { tenant, ...vars } });
      if (r.data) setSaved(r.data.saveDashboard);
      return true;
    } catch (e) {
      const info = errorInfo(e);
      if (info.code === 'CONFLICT') {
        await dashboards.refetch();
        setConflict(list.find((d) => d.name === vars.name) ?? { id: '', name: String(vars.name), layout: null });
      } else setError(info.message);
      return false;
    }
  };
  const addTo = (d: Dashboard) => run({ id: d.id, name: d.name, layout: addChart(normalizeLayout(d.layout), chart) });
  const submit = async () => {
    if (target !== NEW) {
      const d = list.find((x) => String(x.id) === target);
      if (d) await addTo(d);
      return;
    }
    const n = name.trim();
    const existing = list.find((d) => d.name === n);
    if (existing) { setConflict(existing); return; }
    await run({ name: n, layout: addChart(normalizeLayout({ charts: [] }), chart), overwrite: false });
  };

  return (
    <form className="save-form" onSubmit={(e) => { e.preventDefault(); submit(); }}>
      <label>Chart title (optional)
        <input value={title} onChange={(e) => setTitle(e.target.value)} maxLength={200} placeholder={config.metric}
          data-testid="chart-title" />
      </label>
      <label>Add to
        <select value={target} onChange={(e) => setTarget(e.target.value)} data-testid="dashboard-target" disabled={!canSave}>
          <option value={NEW}>A new dashboard…</option>
          {list.map((d) => <option key={d.id} value={String(d.id)}>{d.name}</option>)}
        </select>
      </label>
      {target === NEW && (
        <label>Dashboard name
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Growth"
            maxLength={200} data-testid="dashboard-name" disabled={!canSave} />
        </label>
      )}
      <button className="btn primary wide" disabled={!canSave || (target === NEW && !name.trim()) || saving.loading || !config.metric}
        data-testid="save-dashboard">{saving.loading ? 'Saving…' : target === NEW ? 'Save as a new dashboard' : 'Add to this dashboard'}</button>
      {!canSave && <p className="muted small">This server cannot save dashboards yet (no <code>saveDashboard</code>).</p>}
      {error && <div className="error-text" role="alert">{error}</div>}
      {saved && (
        <p className="ok-text" data-testid="saved-note">Saved to “{saved.name}”.{' '}
          <a href={`/dashboards/${saved.id}`} onClick={linkTo(`/dashboards/${saved.id}`)}>Open it</a></p>
      )}
      {conflict && (
        <ConfirmDialog title={`A dashboard named “${conflict.name}” already exists`} confirm="Replace it" danger
          busy={saving.loading}
          onCancel={() => setConflict(null)}
          onConfirm={async () => {
            if (await run({ name: conflict.name, layout: addChart(normalizeLayout({ charts: [] }), chart), overwrite: true })) setConflict(null);
          }}
          extra={conflict.id ? (
            <button className="btn" data-testid="confirm-add" onClick={async () => { if (await addTo(conflict)) setConflict(null); }}>
              Add this chart to it
            </button>
          ) : undefined}>
          <p>Replacing it removes its {normalizeLayout(conflict.layout).charts.length || ''} chart(s) and keeps only this one.
            Adding keeps them and puts this chart last.</p>
        </ConfirmDialog>
      )}
    </form>
  );
}
