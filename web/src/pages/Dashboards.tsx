// Dashboards.tsx — saved dashboards (dashboards query): a list, and one dashboard's charts, each
// drawn in its saved time zone (changeable in place without saving).
import { useState } from 'react';
import { useQuery } from '@apollo/client/react';
import { useSession } from '../context';
import { MetricChart } from '../components/MetricChart';
import { Empty, ErrorBox, Loading, TimezoneSelect, Unsupported } from '../components/ui';
import { has } from '../lib/api';
import { DASHBOARDS, fromSavedChart, type Dashboard, type SavedChart } from '../lib/queries';

export function DashboardsPage({ id }: { id?: string }) {
  const { tenant, caps, navigate } = useSession();
  const supported = has(caps, 'Query', 'dashboards');
  const q = useQuery<{ dashboards: Dashboard[] }>(DASHBOARDS, { variables: { tenant }, skip: !supported });
  const list = q.data?.dashboards ?? [];
  const current = id ? list.find((d) => String(d.id) === id) : undefined;
  const go = (path: string) => (e: React.MouseEvent) => { e.preventDefault(); navigate(path); };

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>{current ? current.name : 'Dashboards'}</h1>
          <p className="muted">{current ? <a href="/dashboards" onClick={go('/dashboards')}>← All dashboards</a> : 'Charts you saved.'}</p>
        </div>
        <a className="btn" href="/charts" onClick={go('/charts')}>New chart</a>
      </header>
      {!supported ? <Unsupported what="Dashboards" />
        : q.error ? <ErrorBox error={q.error.message} onRetry={() => q.refetch()} />
        : q.loading && !q.data ? <Loading height={160} />
        : id && !current ? <Empty title="Dashboard not found">It may have been deleted, or belongs to another tenant.</Empty>
        : current ? <DashboardView dashboard={current} />
        : list.length === 0 ? <Empty title="No dashboards yet">Build a chart and save it: it will be listed here.</Empty>
        : (
          <ul className="dash-list" data-testid="dashboard-list">
            {list.map((d) => (
              <li key={d.id}>
                <a href={`/dashboards/${d.id}`} onClick={go(`/dashboards/${d.id}`)} data-testid="dashboard-link">
                  <strong>{d.name}</strong>
                  <span className="muted small">
                    {(d.layout?.charts ?? []).map((c) => `${c.metric}${c.groupBy?.length ? ` by ${c.groupBy.join(', ')}` : ''}`).join(' · ') || 'empty'}
                  </span>
                </a>
              </li>
            ))}
          </ul>
        )}
    </div>
  );
}

function DashboardView({ dashboard }: { dashboard: Dashboard }) {
  const { tenant } = useSession();
  const charts = dashboard.layout?.charts ?? [];
  const [now] = useState(() => Date.now());
  if (charts.length === 0) return <Empty title="This dashboard has no charts" />;
  return (
    <div className="dash-grid" data-testid="dashboard-view">
      {charts.map((c, i) => <DashboardChart key={i} chart={c} tenant={tenant} now={now}
        title={c.title && c.title !== dashboard.name ? c.title : `${c.metric}${c.groupBy?.length ? ` by ${c.groupBy.join(', ')}` : ''}`} />)}
    </div>
  );
}

function DashboardChart({ chart, tenant, now, title }: { chart: SavedChart; tenant: string; now: number; title: string }) {
  const saved = fromSavedChart(chart);
  const [tz, setTz] = useState(saved.timezone);
  const config = { ...saved, timezone: tz };
  return (
    <section className="card">
      <div className="card-head">
        <h2>{title}</h2>
        <label className="small">Time zone <TimezoneSelect value={tz} onChange={setTz} /></label>
      </div>
      <MetricChart tenant={tenant} config={config} now={now} height={300} />
    </section>
  );
}
