// series.ts — turns the API's MetricPoint lists into what the charts draw: one row per bucket
// (every bucket of the range, zero-filled), one series per combination of group-by values, the
// largest `maxSeries - 1` kept and the rest folded into "Other". Also merges live points pushed by
// metricUpdated into a list. Pure functions, unit-tested in series.test.ts.
import { bucketLabel, bucketStarts, type Granularity } from './time';

export interface MetricPoint {
  timestamp: string;
  value: number;
  dimensions: Record<string, unknown> | null;
  revision?: number;
  final?: boolean;
}

export interface Series {
  key: string; // the data key in each row
  label: string; // what the legend shows
  total: number;
  color: string;
}

export interface ChartRow {
  t: number; // bucket start, UTC ms
  label: string; // bucket label in the chart's time zone
  total: number;
  [series: string]: number | string;
}

export interface ShapedChart {
  rows: ChartRow[];
  series: Series[];
  total: number;
}

export const PALETTE = [
  '#4f6bed', '#f0883e', '#2da44e', '#d4418e', '#8250df', '#1b9aaa', '#bf8700', '#cf222e', '#57606a',
];
export const OTHER_LABEL = 'Other';
export const NONE_LABEL = '(none)';

/** How a dimension value reads in a legend: null/missing → "(none)", strings as they are. */
export function dimValueLabel(v: unknown): string {
  if (v === null || v === undefined) return NONE_LABEL;
  if (typeof v === 'string') return v === '' ? '""' : v;
  return JSON.stringify(v);
}

/** The legend label of one group: the group-by values in order, joined by " · ". */
export function groupLabel(dims: Record<string, unknown> | null, groupBy: string[]): string {
  if (groupBy.length === 0) return 'Total';
  return groupBy.map((g) => dimValueLabel(dims?.[g])).join(' · ');
}

/** A stable identity of a point: bucket + its dimension values in group-by order. */
export function pointKey(p: MetricPoint, groupBy: string[]): string {
  return `${Date.parse(p.timestamp)}|${groupBy.map((g) => JSON.stringify(p.dimensions?.[g] ?? null)).join('|')}`;
}

/** Merges pushed points into a list: a point for the same bucket and group replaces the old one
 *  (the API pushes the bucket's new value, not a delta) unless the old one has a higher revision. */
export function mergePoints(points: MetricPoint[], pushed: MetricPoint[], groupBy: string[]): MetricPoint[] {
  const byKey = new Map(points.map((p) => [pointKey(p, groupBy), p]));
  for (const p of pushed) {
    const k = pointKey(p, groupBy);
    const old = byKey.get(k);
    if (old && (old.revision ?? 0) > (p.revision ?? 0)) continue;
    byKey.set(k, p);
  }
  return [...byKey.values()].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
}

export interface ShapeOptions {
  groupBy: string[];
  granularity: Granularity;
  timezone: string;
  start: number; // UTC ms, inclusive
  end: number; // UTC ms, exclusive
  maxSeries?: number; // default 8, "Other" included
}

/** Builds chart rows and series from points (see the file comment). */
export function shapeChart(points: MetricPoint[], o: ShapeOptions): ShapedChart {
  const maxSeries = Math.max(1, o.maxSeries ?? 8);
  // 1. total per group, to rank the groups
  const totals = new Map<string, number>();
  for (const p of points) {
    const label = groupLabel(p.dimensions, o.groupBy);
    totals.set(label, (totals.get(label) ?? 0) + p.value);
  }
  const ranked = [...totals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const fold = ranked.length > maxSeries;
  const kept = fold ? ranked.slice(0, maxSeries - 1) : ranked;
  const series: Series[] = kept.map(([label, total], i) => ({
    key: `s${i}`, label, total, color: PALETTE[i % PALETTE.length],
  }));
  if (fold) {
    const rest = ranked.slice(maxSeries - 1).reduce((s, [, v]) => s + v, 0);
    series.push({ key: 'other', label: OTHER_LABEL, total: rest, color: PALETTE[PALETTE.length - 1] });
  }
  const keyOf = new Map(series.map((s) => [s.label, s.key]));

  // 2. one row per bucket of the range, zero-filled; points outside the listed buckets (a
  //    server that buckets differently) still get a row of their own rather than vanish
  const rows = new Map<number, ChartRow>();
  const emptyRow = (t: number): ChartRow => {
    const r: ChartRow = { t, label: bucketLabel(t, o.granularity, o.timezone), total: 0 };
    for (const s of series) r[s.key] = 0;
    return r;
  };
  for (const t of bucketStarts(o.start, o.end, o.granularity, o.timezone)) rows.set(t, emptyRow(t));
  for (const p of points) {
    const t = Date.parse(p.timestamp);
    if (Number.isNaN(t)) continue;
    const row = rows.get(t) ?? rows.set(t, emptyRow(t)).get(t)!;
    const key = keyOf.get(groupLabel(p.dimensions, o.groupBy)) ?? 'other';
    row[key] = (row[key] as number) + p.value;
    row.total += p.value;
  }
  const sorted = [...rows.values()].sort((a, b) => a.t - b.t);
  return { rows: sorted, series, total: ranked.reduce((s, [, v]) => s + v, 0) };
}
