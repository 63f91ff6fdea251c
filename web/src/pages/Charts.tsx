// Charts.tsx — the chart builder (metric, group-by dimensions, granularity, time range, time
// zone) and saving the chart as a dashboard (saveDashboard). The time zone goes to the server
// (metrics(timezone:)), so daily bars start at local midnight.
import { useEffect, useMemo, useState } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import { useSession } from '../context';
import { MetricChart } from '../components/MetricChart';
import { Empty, ErrorBox, Loading, TimezoneSelect } from '../components/ui';
import { has } from '../lib/api';
import {
  DASHBOARDS, METRIC_DEFINITIONS, SAVE_DASHBOARD, toSavedChart, type ChartConfig, type Dashboard, type MetricDefinition,
} from '../lib/queries';
import { browserTimezone, RANGES, type RangeKey } from '../lib/time';

export function ChartsPage() {
  const { tenant, caps, navigate } = useSession();
  const defs = useQuery<{ metricDefinitions: MetricDefinition[] }>(METRIC_DEFINITIONS, { variables: { tenant } });
  const list = defs.data?.metricDefinitions ?? [];
  const [cfg, setCfg] = useState<ChartConfig>({
    metric: '', groupBy: [], granularity: 'DAY', range: '7d', timezone: localStorage.getItem('ea.tz') ?? browserTimezone(),
  });
  useEffect(() => {
    if (!cfg.metric && list.length) setCfg((c) => ({ ...c, metric: list[0].name }));
  }, [cfg.metric, list]);
  const def = list.find((d) => d.name === cfg.metric);
  const dims = def?.dimensions ?? [];
  const [now] = useState(() => Date.now());
  const [name, setName] = useState('');
  const canSave = has(caps, 'Mutation', 'saveDashboard');
  const [save, saving] = useMutation<{ saveDashboard: Dashboard }>(SAVE_DASHBOARD, {
    refetchQueries: has(caps, 'Query', 'dashboards') ? [{ query: DASHBOARDS, variables: { tenant } }] : [],
  });
  const [saved, setSaved] = useState<Dashboard | null>(null);

  const set = (patch: Partial<ChartConfig>) => { setSaved(null); setCfg((c) => ({ ...c, ...patch })); };
  const toggleDim = (d: string) =>
    set({ groupBy: cfg.groupBy.includes(d) ? cfg.groupBy.filter((x) => x !== d) : [...cfg.groupBy, d] });

  const chartConfig = useMemo(() => cfg, [cfg]);

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Charts</h1>
          <p className="muted">Build a chart from any metric and save it as a dashboard.</p>
        </div>
      </header>
      {defs.error && <ErrorBox error={defs.error.message} onRetry={() => defs.refetch()} />}
      {defs.loading && !defs.data && <Loading height={120} />}
      {defs.data && list.length === 0 && (
        <Empty title="No metrics defined yet">Define one with <code>defineMetric</code> or <code>analytics-admin metric define</code>.</Empty>
      )}
      {list.length > 0 && (
        <div className="builder">
          <section className="card builder-form" aria-label="Chart settings">
            <label>Metric
              <select value={cfg.metric} onChange={(e) => set({ metric: e.target.value, groupBy: [] })} data-testid="metric-select">
                {list.map((d) => <option key={d.name} value={d.name}>{d.name} ({d.aggregation}{d.property ? ` of ${d.property}` : ''})</option>)}
              </select>
            </label>
            <fieldset>
              <legend>Group by</legend>
              {dims.length === 0 && <span className="muted small">This metric has no dimensions.</span>}
              {dims.map((d) => (
                <label key={d} className="check">
                  <input type="checkbox" checked={cfg.groupBy.includes(d)} onChange={() => toggleDim(d)}
                    data-testid={`groupby-${d}`} /> {d}
                </label>
              ))}
            </fieldset>
            <label>Granularity
              <div className="segmented" role="group">
                {(['HOUR', 'DAY'] as const).map((g) => (
                  <button key={g} type="button" className={cfg.granularity === g ? 'on' : ''} aria-pressed={cfg.granularity === g}
                    onClick={() => set({ granularity: g })} data-testid={`granularity-${g}`}>{g === 'HOUR' ? 'Hourly' : 'Daily'}</button>
                ))}
              </div>
            </label>
            <label>Time range
              <select value={cfg.range} onChange={(e) => set({ range: e.target.value as RangeKey })} data-testid="range-select">
                {RANGES.map((r) => <option key={r.key} value={r.key}>{r.label}</option>)}
              </select>
            </label>
            <label>Time zone <TimezoneSelect value={cfg.timezone} onChange={(timezone) => set({ timezone })} /></label>
            <hr />
            <form onSubmit={async (e) => {
              e.preventDefault();
              try {
                const r = await save({ variables: { tenant, name: name.trim(), layout: { charts: [toSavedChart({ ...cfg, title: name.trim() })] } } });
                if (r.data) setSaved(r.data.saveDashboard);
              } catch { /* shown from saving.error */ }
            }}>
              <label>Dashboard name
                <input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Page views by page"
                  maxLength={200} data-testid="dashboard-name" disabled={!canSave} />
              </label>
              <button className="btn primary wide" disabled={!canSave || !name.trim() || saving.loading || !cfg.metric}
                data-testid="save-dashboard">{saving.loading ? 'Saving…' : 'Save as dashboard'}</button>
              {!canSave && <p className="muted small">This server cannot save dashboards yet (no <code>saveDashboard</code>).</p>}
              {saving.error && <div className="error-text" role="alert">{saving.error.message}</div>}
              {saved && (
                <p className="ok-text" data-testid="saved-note">Saved “{saved.name}”.{' '}
                  <a href={`/dashboards/${saved.id}`} onClick={(e) => { e.preventDefault(); navigate(`/dashboards/${saved.id}`); }}>Open it</a></p>
              )}
            </form>
          </section>
          <section className="card builder-chart">
            <MetricChart tenant={tenant} config={chartConfig} now={now} height={340} />
          </section>
        </div>
      )}
    </div>
  );
}
