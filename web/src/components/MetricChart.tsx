// MetricChart.tsx — one chart: runs `metrics` for a ChartConfig (server-side bucketing in the
// chart's time zone), shapes the points (lib/series) and draws bars or lines with Recharts, the
// numbers as a table underneath, and a CSV export of the points. Axis ticks are compact (12.3k);
// tooltips, totals and the table show exact values; every time reads "YYYY-MM-DD HH:mm".
import { useEffect, useMemo, useRef, useState } from 'react';
import { useQuery } from '@apollo/client/react';
import {
  Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis,
} from 'recharts';
import { METRICS } from '../lib/queries';
import { chartType, type ChartConfig } from '../lib/chart';
import { shapeChart, type MetricPoint, type ShapedChart } from '../lib/series';
import { csvFileName, downloadText, toCsv } from '../lib/csv';
import { formatCompact, formatExact, formatStamp } from '../lib/format';
import { resolveRange } from '../lib/range';
import { formatOffset } from '../lib/time';
import { Empty, ErrorBox, Loading, NOT_RETRYABLE, errorInfo } from './ui';

export function useMetricPoints(tenant: string, c: ChartConfig, now: number, pollMs = 0) {
  const range = useMemo(() => resolveRange(c.range, c.granularity, c.timezone, now), [c.range, c.granularity, c.timezone, now]);
  const q = useQuery<{ metrics: MetricPoint[] }>(METRICS, {
    variables: {
      tenant, name: c.metric, start: new Date(range.start).toISOString(), end: new Date(range.end).toISOString(),
      groupBy: c.groupBy, granularity: c.granularity, timezone: c.timezone,
    },
    fetchPolicy: 'network-only',
    pollInterval: pollMs || undefined,
    skip: !c.metric,
    notifyOnNetworkStatusChange: false,
  });
  return { ...q, range };
}

export function ChartView({ shaped, config, height = 300 }: { shaped: ShapedChart; config: ChartConfig; height?: number }) {
  const { rows, series } = shaped;
  // counts (and any series of whole numbers) get whole-number ticks: "0.75 page views" is noise
  const whole = useMemo(() => rows.every((r) => series.every((s) => Number.isInteger(Number(r[s.key] ?? 0)))),
    [rows, series]);
  const common = (
    <>
      <CartesianGrid stroke="#eef0f4" vertical={false} />
      <XAxis dataKey="label" tick={{ fontSize: 12, fill: '#57606a' }} tickLine={false} axisLine={{ stroke: '#d0d7de' }}
        minTickGap={24} />
      <YAxis tickFormatter={formatCompact} tick={{ fontSize: 12, fill: '#57606a' }} tickLine={false} axisLine={false}
        width={44} allowDecimals={!whole} />
      <Tooltip formatter={(v) => formatExact(Number(v))} labelFormatter={(l) => `${l} (${config.timezone})`}
        contentStyle={{ borderRadius: 8, border: '1px solid #d0d7de' }} />
      {series.length > 1 && <Legend wrapperStyle={{ fontSize: 12 }} iconType="circle" />}
    </>
  );
  return (
    <div className="chart" style={{ height }} data-testid="chart">
      <ResponsiveContainer width="100%" height="100%">
        {chartType(config) === 'bar' ? (
          <BarChart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
            {common}
            {series.map((s) => (
              <Bar key={s.key} dataKey={s.key} name={s.label} stackId="a" fill={s.color} isAnimationActive={false}
                maxBarSize={48} />
            ))}
          </BarChart>
        ) : (
          <LineChart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
            {common}
            {series.map((s) => (
              <Line key={s.key} dataKey={s.key} name={s.label} stroke={s.color} strokeWidth={2} dot={false}
                type="linear" isAnimationActive={false} />
            ))}
          </LineChart>
        )}
      </ResponsiveContainer>
    </div>
  );
}

export function DataTable({ shaped, config }: { shaped: ShapedChart; config: ChartConfig }) {
  const [all, setAll] = useState(false);
  const rows = shaped.rows.filter((r) => all || r.total !== 0);
  return (
    <div className="table-wrap">
      <table className="data" data-testid="bucket-table">
        <thead>
          <tr>
            <th>Bucket start ({config.timezone === 'UTC' ? 'UTC' : `${config.timezone}, ${formatOffset(Date.now(), config.timezone)}`})</th>
            {shaped.series.map((s) => (
              <th key={s.key} className="num"><span className="swatch" style={{ background: s.color }} />{s.label}</th>
            ))}
            {shaped.series.length > 1 && <th className="num">Total</th>}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.t} data-testid="bucket-row" data-bucket={formatStamp(r.t, config.timezone)} data-total={r.total}>
              <td>{formatStamp(r.t, config.timezone)}</td>
              {shaped.series.map((s) => <td key={s.key} className="num">{formatExact(r[s.key] as number)}</td>)}
              {shaped.series.length > 1 && <td className="num">{formatExact(r.total)}</td>}
            </tr>
          ))}
          {rows.length === 0 && (
            <tr><td colSpan={shaped.series.length + 2} className="muted">No events in this range.</td></tr>
          )}
        </tbody>
      </table>
      {shaped.rows.length !== rows.length && (
        <button className="link" onClick={() => setAll(true)}>Show empty buckets too</button>
      )}
    </div>
  );
}

/** refreshKey: when it changes (e.g. a live push of the same metric arrived), the chart asks
 * again — at most every REFRESH_MIN_MS, so a busy metric's pushes do not become a query each. */
const REFRESH_MIN_MS = 10_000;

export function MetricChart({ tenant, config, now, height, showTable = true, refreshKey }: {
  tenant: string; config: ChartConfig; now: number; height?: number; showTable?: boolean; refreshKey?: unknown;
}) {
  const { data, loading, error, refetch, range } = useMetricPoints(tenant, config, now);
  const lastRefresh = useRef(0);
  // the latest refetch, read when the timer fires: only a new refreshKey (re)arms the timer
  const refetchRef = useRef(refetch);
  refetchRef.current = refetch;
  useEffect(() => {
    if (refreshKey === undefined || refreshKey === null) return;
    const id = setTimeout(() => { lastRefresh.current = Date.now(); void refetchRef.current(); },
      Math.max(0, lastRefresh.current + REFRESH_MIN_MS - Date.now()));
    return () => clearTimeout(id);
  }, [refreshKey]);
  const points = data?.metrics;
  const shaped = useMemo(
    () => shapeChart(points ?? [], {
      groupBy: config.groupBy, granularity: config.granularity, timezone: config.timezone,
      start: range.start, end: range.end,
    }),
    [points, config.groupBy, config.granularity, config.timezone, range],
  );
  const [tableOpen, setTableOpen] = useState(showTable);
  if (!config.metric) return <Empty title="Pick a metric to draw a chart" />;
  if (error) {
    // a refused question (a range too long for a property, a misspelt name, too many points) is
    // answered the same way again: say what to change instead of offering "Try again"
    const info = errorInfo(error);
    return NOT_RETRYABLE.has(info.code ?? '')
      ? <ErrorBox title="This chart cannot be drawn as it is set" error={info.message} />
      : <ErrorBox error={error.message} onRetry={() => refetch()} />;
  }
  if (loading && !data) return <Loading height={height ?? 300} />;
  const exportCsv = () => downloadText(csvFileName(config.metric, range.start, range.end, config.timezone),
    toCsv(points ?? [], { groupBy: config.groupBy, granularity: config.granularity, timezone: config.timezone, start: range.start, end: range.end }));
  return (
    <div>
      <div className="chart-summary">
        <span className="big" data-testid="chart-total">{formatExact(shaped.total)}</span>
        <span className="muted">{config.metric} · {config.granularity === 'DAY' ? 'daily' : 'hourly'}
          {config.groupBy.length > 0 && <> · by {config.groupBy.join(', ')}</>}</span>
        <span className="spacer" />
        <button className="btn small-btn" onClick={exportCsv} data-testid="export-csv" disabled={!points}>CSV</button>
        {!showTable && shaped.total > 0 && (
          <button className="btn small-btn" onClick={() => setTableOpen((o) => !o)} data-testid="toggle-table"
            aria-expanded={tableOpen}>{tableOpen ? 'Hide numbers' : 'Numbers'}</button>
        )}
      </div>
      {shaped.total === 0 ? (
        <Empty title="No data in this range" height={height ?? 300}>
          Events counted by <code>{config.metric}</code> will show here once the worker has rolled them up.
        </Empty>
      ) : (
        <ChartView shaped={shaped} config={config} height={height} />
      )}
      {tableOpen && shaped.total > 0 && <DataTable shaped={shaped} config={config} />}
    </div>
  );
}
