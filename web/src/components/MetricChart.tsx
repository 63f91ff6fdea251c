// MetricChart.tsx — one chart: runs `metrics` for a ChartConfig (server-side bucketing in the
// chart's time zone), shapes the points (lib/series) and draws stacked bars (days) or lines
// (hours) with Recharts, plus the numbers as a table underneath.
import { useMemo, useState } from 'react';
import { useQuery } from '@apollo/client/react';
import {
  Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis,
} from 'recharts';
import { METRICS, type ChartConfig } from '../lib/queries';
import { formatNumber, shapeChart, type MetricPoint, type ShapedChart } from '../lib/series';
import { formatOffset, localStamp, queryRange } from '../lib/time';
import { Empty, ErrorBox, Loading } from './ui';

export function useMetricPoints(tenant: string, c: ChartConfig, now: number, pollMs = 0) {
  const range = useMemo(() => queryRange(c.range, c.granularity, c.timezone, now), [c.range, c.granularity, c.timezone, now]);
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
  const common = (
    <>
      <CartesianGrid stroke="#eef0f4" vertical={false} />
      <XAxis dataKey="label" tick={{ fontSize: 12, fill: '#57606a' }} tickLine={false} axisLine={{ stroke: '#d0d7de' }}
        minTickGap={16} />
      <YAxis tickFormatter={formatNumber} tick={{ fontSize: 12, fill: '#57606a' }} tickLine={false} axisLine={false}
        width={48} allowDecimals={false} />
      <Tooltip formatter={(v) => formatNumber(Number(v))} contentStyle={{ borderRadius: 8, border: '1px solid #d0d7de' }} />
      {series.length > 1 && <Legend wrapperStyle={{ fontSize: 12 }} iconType="circle" />}
    </>
  );
  return (
    <div className="chart" style={{ height }} data-testid="chart">
      <ResponsiveContainer width="100%" height="100%">
        {config.granularity === 'DAY' ? (
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
            <tr key={r.t} data-testid="bucket-row" data-bucket={localStamp(r.t, config.timezone)} data-total={r.total}>
              <td>{localStamp(r.t, config.timezone)}</td>
              {shaped.series.map((s) => <td key={s.key} className="num">{formatNumber(r[s.key] as number)}</td>)}
              {shaped.series.length > 1 && <td className="num">{formatNumber(r.total)}</td>}
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

export function MetricChart({ tenant, config, now, height, showTable = true }: {
  tenant: string; config: ChartConfig; now: number; height?: number; showTable?: boolean;
}) {
  const { data, loading, error, refetch, range } = useMetricPoints(tenant, config, now);
  const shaped = useMemo(
    () => shapeChart(data?.metrics ?? [], {
      groupBy: config.groupBy, granularity: config.granularity, timezone: config.timezone,
      start: range.start, end: range.end,
    }),
    [data, config.groupBy, config.granularity, config.timezone, range],
  );
  if (!config.metric) return <Empty title="Pick a metric to draw a chart" />;
  if (error) return <ErrorBox error={error.message} onRetry={() => refetch()} />;
  if (loading && !data) return <Loading height={height ?? 300} />;
  return (
    <div>
      <div className="chart-summary">
        <span className="big" data-testid="chart-total">{formatNumber(shaped.total)}</span>
        <span className="muted">{config.metric} · {config.granularity === 'DAY' ? 'daily' : 'hourly'}
          {config.groupBy.length > 0 && <> · by {config.groupBy.join(', ')}</>}</span>
      </div>
      {shaped.total === 0 ? (
        <Empty title="No data in this range" height={height ?? 300}>
          Events sent to <code>{config.metric}</code> will show here once the worker has rolled them up.
        </Empty>
      ) : (
        <ChartView shaped={shaped} config={config} height={height} />
      )}
      {showTable && shaped.total > 0 && <DataTable shaped={shaped} config={config} />}
    </div>
  );
}
