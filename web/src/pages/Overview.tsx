// Overview.tsx — the live trend of one event or metric: hourly over the last 24 hours, updated by
// the metricUpdated subscription (polling when the server has no subscriptions), headline numbers,
// and the last 30 days by day underneath. Times in the app's time zone.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Area, AreaChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useSession } from '../context';
import { MetricChart, useMetricPoints } from '../components/MetricChart';
import { MetricSelect } from '../components/pickers';
import { Empty, ErrorBox, LiveBadge, Loading, TimezoneSelect } from '../components/ui';
import { useChartables } from '../hooks/useChartables';
import { useLiveSubscription } from '../lib/live';
import { METRIC_UPDATED } from '../lib/queries';
import type { ChartConfig } from '../lib/chart';
import { mergePoints, shapeChart, type MetricPoint } from '../lib/series';
import { formatCompact, formatExact, formatStamp } from '../lib/format';
import { linkTo } from '../lib/router';

export function OverviewPage() {
  const { tenant, ws, timezone: tz, setTimezone: setTz } = useSession();
  const chartables = useChartables();
  const list = chartables.list;
  const [event, setEvent] = useState<string>(() => localStorage.getItem(`ea.overview.${tenant}`) ?? '');
  useEffect(() => {
    if (!list.length || list.some((c) => c.name === event)) return;
    const events = list.filter((c) => c.kind === 'event');
    setEvent(events.find((c) => c.name === 'page_view')?.name ?? events[0]?.name ?? list[0].name);
  }, [event, list]);
  useEffect(() => { if (event) localStorage.setItem(`ea.overview.${tenant}`, event); }, [event, tenant]);

  const config: ChartConfig = { metric: event, groupBy: [], granularity: 'HOUR', range: { last: '24h' }, timezone: tz };
  const month: ChartConfig = { metric: event, groupBy: [], granularity: 'DAY', range: { last: '30d' }, timezone: tz, type: 'bar' };
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
  const rows = useMemo(() => shaped.rows.map((r) => ({ ...r, label: formatStamp(r.t, tz) })), [shaped, tz]);
  const thisHour = shaped.rows.length ? shaped.rows[shaped.rows.length - 1].total : 0;
  const peak = shaped.rows.reduce((m, r) => (r.total > m.total ? r : m), { total: 0, t: 0 } as { total: number; t: number });

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Overview</h1>
          <p className="muted">Per hour over the last 24 hours and per day over the last 30 days, both live.</p>
        </div>
        <div className="controls">
          <label>Event or metric
            <MetricSelect list={list} value={event} onChange={setEvent} testId="overview-event" />
          </label>
          <label>Time zone <TimezoneSelect value={tz} onChange={setTz} /></label>
        </div>
      </header>

      {chartables.error && <ErrorBox error={chartables.error} onRetry={chartables.refetch} />}
      {chartables.loading && <Loading height={200} />}
      {!chartables.loading && !chartables.error && !list.length && (
        <Empty title="No events yet">
          Send one to <code>POST /ingest</code> (the demo key is in <code>.data/demo-key</code>) or load the sample:
          {' '}<code>analytics-admin seed --sample-days 30</code>. Every event name appears here by itself; see{' '}
          <a href="/events" onClick={linkTo('/events')}>Events</a>.
        </Empty>
      )}
      {event && (
        <>
          <section className="tiles">
            <div className="tile"><div className="tile-label">Last 24 hours</div>
              <div className="tile-value" data-testid="trend-total">{formatExact(shaped.total)}</div></div>
            <div className="tile"><div className="tile-label">This hour</div>
              <div className="tile-value" data-testid="trend-this-hour">{formatExact(thisHour)}</div></div>
            <div className="tile"><div className="tile-label">Busiest hour</div>
              <div className="tile-value">{peak.total ? formatExact(peak.total) : '—'}</div>
              <div className="tile-sub muted">{peak.total ? formatStamp(peak.t, tz) : 'no events yet'}</div></div>
          </section>
          <section className="card">
            <div className="card-head">
              <h2>{event} <span className="muted">· per hour</span></h2>
              <div className="row-gap">
                {lastPush && <span className="muted small">updated {formatStamp(lastPush, tz)}</span>}
                <LiveBadge status={live.status} error={live.error} />
              </div>
            </div>
            {error ? <ErrorBox error={error.message} onRetry={() => refetch()} />
              : loading && !data ? <Loading height={300} />
              : (
                <div className="chart" style={{ height: 300 }} data-testid="trend-chart">
                  <ResponsiveContainer width="100%" height="100%">
                    <AreaChart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
                      <defs>
                        <linearGradient id="trendFill" x1="0" y1="0" x2="0" y2="1">
                          <stop offset="0%" stopColor="#4f6bed" stopOpacity={0.35} />
                          <stop offset="100%" stopColor="#4f6bed" stopOpacity={0.02} />
                        </linearGradient>
                      </defs>
                      <CartesianGrid stroke="#eef0f4" vertical={false} />
                      <XAxis dataKey="label" tick={{ fontSize: 12, fill: '#57606a' }} tickLine={false}
                        axisLine={{ stroke: '#d0d7de' }} minTickGap={32} tickFormatter={(l: string) => l.slice(11)} />
                      <YAxis tickFormatter={formatCompact} allowDecimals={false} width={44} tickLine={false}
                        axisLine={false} tick={{ fontSize: 12, fill: '#57606a' }} />
                      <Tooltip formatter={(v) => [formatExact(Number(v)), event]} labelFormatter={(l) => `${l} (${tz})`}
                        contentStyle={{ borderRadius: 8, border: '1px solid #d0d7de' }} />
                      <Area dataKey="total" type="linear" stroke="#4f6bed" strokeWidth={2} fill="url(#trendFill)"
                        isAnimationActive={false} />
                    </AreaChart>
                  </ResponsiveContainer>
                </div>
              )}
          </section>
          <section className="card" data-testid="overview-month">
            <div className="card-head">
              <h2>{event} <span className="muted">· per day, last 30 days</span></h2>
              <a className="small" href={`/charts?metric=${encodeURIComponent(event)}&granularity=DAY&range=30d&tz=${encodeURIComponent(tz)}`}
                onClick={linkTo(`/charts?metric=${encodeURIComponent(event)}&granularity=DAY&range=30d&tz=${encodeURIComponent(tz)}`)}>Open in Charts</a>
            </div>
            <MetricChart tenant={tenant} config={month} now={now} height={240} showTable={false}
              refreshKey={lastPush} />
          </section>
        </>
      )}
    </div>
  );
}
