// Overview.tsx — the live event-count trend: hourly counts of one event over the last 24 hours in
// the chosen time zone, updated by the metricUpdated subscription (polling when the server has no
// subscriptions), with headline numbers.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useQuery } from '@apollo/client/react';
import { Area, AreaChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useSession } from '../context';
import { useMetricPoints } from '../components/MetricChart';
import { Empty, ErrorBox, LiveBadge, Loading, TimezoneSelect } from '../components/ui';
import { useLiveSubscription } from '../lib/live';
import { METRIC_DEFINITIONS, METRIC_UPDATED, type ChartConfig, type MetricDefinition } from '../lib/queries';
import { formatNumber, mergePoints, shapeChart, type MetricPoint } from '../lib/series';
import { browserTimezone, localStamp } from '../lib/time';

export function OverviewPage() {
  const { tenant, ws } = useSession();
  const defs = useQuery<{ metricDefinitions: MetricDefinition[] }>(METRIC_DEFINITIONS, { variables: { tenant } });
  // Every event name has an automatic count metric named after it: offer those first.
  const events = useMemo(() => {
    const s = new Set<string>();
    for (const d of defs.data?.metricDefinitions ?? []) s.add(d.eventName);
    return [...s].sort();
  }, [defs.data]);
  const [event, setEvent] = useState<string>(() => localStorage.getItem(`ea.overview.${tenant}`) ?? '');
  const [tz, setTz] = useState<string>(() => localStorage.getItem('ea.tz') ?? browserTimezone());
  useEffect(() => {
    if (!event && events.length) setEvent(events.includes('page_view') ? 'page_view' : events[0]);
  }, [event, events]);
  useEffect(() => { if (event) localStorage.setItem(`ea.overview.${tenant}`, event); }, [event, tenant]);
  useEffect(() => { localStorage.setItem('ea.tz', tz); }, [tz]);

  const config: ChartConfig = { metric: event, groupBy: [], granularity: 'HOUR', range: '24h', timezone: tz };
  const [now, setNow] = useState(() => Date.now());
  // A new hour starts a new bucket: move the window along.
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 60_000);
    return () => clearInterval(id);
  }, []);

  const [pushed, setPushed] = useState<MetricPoint[]>([]);
  const [lastPush, setLastPush] = useState<number | null>(null);
  useEffect(() => setPushed([]), [event, tz, tenant]);
  const onData = useCallback((d: { metricUpdated: MetricPoint }) => {
    setPushed((p) => [...p, d.metricUpdated]);
    setLastPush(Date.now());
  }, []);
  const live = useLiveSubscription(ws, METRIC_UPDATED,
    event ? { tenant, name: event, granularity: 'HOUR', groupBy: [], timezone: tz } : null, onData);
  const { data, loading, error, refetch, range } = useMetricPoints(tenant, config, now,
    live.status === 'live' ? 0 : 5000);
  // a fresh query result already holds every change committed before it: drop older pushes
  useEffect(() => setPushed([]), [data]);
  const points = useMemo(() => mergePoints(data?.metrics ?? [], pushed.filter((p) => Date.parse(p.timestamp) >= range.start), []),
    [data, pushed, range.start]);
  const shaped = useMemo(() => shapeChart(points, { groupBy: [], granularity: 'HOUR', timezone: tz, start: range.start, end: range.end }),
    [points, tz, range]);
  const thisHour = shaped.rows.length ? shaped.rows[shaped.rows.length - 1].total : 0;
  const peak = shaped.rows.reduce((m, r) => (r.total > m.total ? r : m), { total: 0, t: 0 } as { total: number; t: number });

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Overview</h1>
          <p className="muted">Events per hour over the last 24 hours.</p>
        </div>
        <div className="controls">
          <label>Event
            <select value={event} onChange={(e) => setEvent(e.target.value)} data-testid="overview-event"
              disabled={!events.length}>
              {!events.length && <option value="">—</option>}
              {event && !events.includes(event) && <option value={event}>{event}</option>}
              {events.map((e) => <option key={e} value={e}>{e}</option>)}
            </select>
          </label>
          <label>Time zone <TimezoneSelect value={tz} onChange={setTz} /></label>
        </div>
      </header>

      {defs.error && <ErrorBox error={defs.error.message} onRetry={() => defs.refetch()} />}
      {!defs.loading && !defs.error && !events.length && !event && (
        <Empty title="No metrics defined yet">
          Define a metric (GraphQL <code>defineMetric</code> or <code>analytics-admin metric define</code>), send events
          to <code>POST /ingest</code>, and they appear here.
        </Empty>
      )}
      {event && (
        <>
          <section className="tiles">
            <div className="tile"><div className="tile-label">Last 24 hours</div>
              <div className="tile-value" data-testid="trend-total">{formatNumber(shaped.total)}</div></div>
            <div className="tile"><div className="tile-label">This hour</div>
              <div className="tile-value" data-testid="trend-this-hour">{formatNumber(thisHour)}</div></div>
            <div className="tile"><div className="tile-label">Busiest hour</div>
              <div className="tile-value">{peak.total ? formatNumber(peak.total) : '—'}</div>
              <div className="tile-sub muted">{peak.total ? localStamp(peak.t, tz) : 'no events yet'}</div></div>
          </section>
          <section className="card">
            <div className="card-head">
              <h2>{event} <span className="muted">· count per hour</span></h2>
              <div className="row-gap">
                {lastPush && <span className="muted small">updated {new Date(lastPush).toLocaleTimeString()}</span>}
                <LiveBadge status={live.status} error={live.error} />
              </div>
            </div>
            {error ? <ErrorBox error={error.message} onRetry={() => refetch()} />
              : loading && !data ? <Loading height={320} />
              : (
                <div className="chart" style={{ height: 320 }} data-testid="trend-chart">
                  <ResponsiveContainer width="100%" height="100%">
                    <AreaChart data={shaped.rows} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
                      <defs>
                        <linearGradient id="trendFill" x1="0" y1="0" x2="0" y2="1">
                          <stop offset="0%" stopColor="#4f6bed" stopOpacity={0.35} />
                          <stop offset="100%" stopColor="#4f6bed" stopOpacity={0.02} />
                        </linearGradient>
                      </defs>
                      <CartesianGrid stroke="#eef0f4" vertical={false} />
                      <XAxis dataKey="label" tick={{ fontSize: 12, fill: '#57606a' }} tickLine={false}
                        axisLine={{ stroke: '#d0d7de' }} minTickGap={24} />
                      <YAxis tickFormatter={formatNumber} allowDecimals={false} width={48} tickLine={false}
                        axisLine={false} tick={{ fontSize: 12, fill: '#57606a' }} />
                      <Tooltip formatter={(v) => [formatNumber(Number(v)), 'events']}
                        contentStyle={{ borderRadius: 8, border: '1px solid #d0d7de' }} />
                      <Area dataKey="total" type="monotone" stroke="#4f6bed" strokeWidth={2} fill="url(#trendFill)"
                        isAnimationActive={false} />
                    </AreaChart>
                  </ResponsiveContainer>
                </div>
              )}
          </section>
        </>
      )}
    </div>
  );
}
