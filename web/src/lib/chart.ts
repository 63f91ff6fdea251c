// chart.ts — what one chart is (metric, group-by, granularity, range, zone, type), how a
// dashboard layout stores it (graphql-api checks metric/groupBy/granularity/timezone/timeRange
// and keeps the rest), and how the chart builder writes it into its URL so a chart can be shared
// and survives a reload. Pure functions, unit-tested in chart.test.ts.
import { parseRange, rangeFromSaved, serializeRange, type TimeRange } from './range';
import { isValidTimezone, type Granularity } from './time';

export type ChartType = 'bar' | 'line';

export interface ChartConfig {
  id?: string; // stable within a dashboard (reorder, remove)
  title?: string;
  metric: string;
  groupBy: string[];
  granularity: Granularity;
  range: TimeRange;
  timezone: string;
  type?: ChartType; // default: bars for days, lines for hours
  wide?: boolean; // on a dashboard: the whole row
}

/** A chart as a dashboard layout stores it. */
export interface SavedChart {
  id?: string;
  title?: string;
  metric: string;
  groupBy?: string[];
  granularity?: Granularity;
  timezone?: string;
  timeRange?: { last: string } | { from: string; to: string } | null;
  type?: ChartType;
  wide?: boolean;
}

export function chartType(c: ChartConfig): ChartType {
  return c.type ?? (c.granularity === 'DAY' ? 'bar' : 'line');
}

export function toSavedChart(c: ChartConfig): SavedChart {
  const s: SavedChart = {
    metric: c.metric, groupBy: c.groupBy, granularity: c.granularity, timezone: c.timezone,
    timeRange: 'last' in c.range ? { last: c.range.last } : { from: c.range.from, to: c.range.to },
  };
  if (c.id) s.id = c.id;
  if (c.title) s.title = c.title;
  if (c.type) s.type = c.type;
  if (c.wide) s.wide = true;
  return s;
}

export function fromSavedChart(s: SavedChart, fallbackTz = 'UTC'): ChartConfig {
  const c: ChartConfig = {
    metric: s.metric, groupBy: Array.isArray(s.groupBy) ? s.groupBy.filter((g) => typeof g === 'string') : [],
    granularity: s.granularity === 'HOUR' ? 'HOUR' : 'DAY',
    timezone: s.timezone && isValidTimezone(s.timezone) ? s.timezone : fallbackTz,
    range: rangeFromSaved(s.timeRange),
  };
  if (s.id) c.id = String(s.id);
  if (s.title) c.title = s.title;
  if (s.type === 'bar' || s.type === 'line') c.type = s.type;
  if (s.wide) c.wide = true;
  return c;
}

/** A chart's title when it has none: "revenue by currency". */
export function chartTitle(c: Pick<ChartConfig, 'title' | 'metric' | 'groupBy'>): string {
  return c.title || `${c.metric}${c.groupBy.length ? ` by ${c.groupBy.join(', ')}` : ''}`;
}

/** The builder's URL query: ?metric=revenue&groupBy=currency,plan&granularity=DAY&range=30d&tz=UTC&type=bar */
export function chartToSearch(c: ChartConfig): string {
  const p = new URLSearchParams();
  if (c.metric) p.set('metric', c.metric);
  if (c.groupBy.length) p.set('groupBy', c.groupBy.join(','));
  p.set('granularity', c.granularity);
  p.set('range', serializeRange(c.range));
  p.set('tz', c.timezone);
  if (c.type) p.set('type', c.type);
  if (c.title) p.set('title', c.title);
  return `?${p.toString()}`;
}

/** Reads chartToSearch's query; what is missing or invalid comes from `defaults`. */
export function chartFromSearch(search: string, defaults: ChartConfig): ChartConfig {
  const p = new URLSearchParams(search);
  const g = p.get('granularity');
  const tz = p.get('tz');
  const type = p.get('type');
  const groupBy = (p.get('groupBy') ?? '').split(',').map((s) => s.trim()).filter(Boolean).slice(0, 8);
  const c: ChartConfig = {
    metric: p.get('metric') ?? defaults.metric,
    groupBy: p.has('groupBy') ? groupBy : defaults.groupBy,
    granularity: g === 'HOUR' || g === 'DAY' ? g : defaults.granularity,
    range: parseRange(p.get('range')) ?? defaults.range,
    timezone: tz && isValidTimezone(tz) ? tz : defaults.timezone,
  };
  if (type === 'bar' || type === 'line') c.type = type;
  const title = p.get('title');
  if (title) c.title = title.slice(0, 200);
  return c;
}
