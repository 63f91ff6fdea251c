// range.ts — the time range of a chart or dashboard: relative ("last 7 days", ending now) or
// absolute (whole local days, from and to inclusive, in the chart's time zone). Written as text in
// URLs and saved layouts ("7d", "2026-11-01..2026-11-15"), resolved to a query window that
// starts on a bucket boundary in the zone. Pure functions, unit-tested in range.test.ts.
import { addLocalDays, DAY_MS, HOUR_MS, startOfLocalDay, startOfLocalHour, zonedTimeToUtc, type Granularity } from './time';

export type RelativeKey = '1h' | '24h' | '7d' | '30d' | '90d';
export type TimeRange = { last: RelativeKey } | { from: string; to: string };

export const RELATIVE: { key: RelativeKey; label: string; hours: number }[] = [
  { key: '1h', label: 'Last hour', hours: 1 },
  { key: '24h', label: 'Last 24 hours', hours: 24 },
  { key: '7d', label: 'Last 7 days', hours: 7 * 24 },
  { key: '30d', label: 'Last 30 days', hours: 30 * 24 },
  { key: '90d', label: 'Last 90 days', hours: 90 * 24 },
];

/** Longest absolute range, in days (a year of daily bars is still readable). */
export const MAX_RANGE_DAYS = 400;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date written YYYY-MM-DD. */
export function isDate(s: string): boolean {
  const m = DATE_RE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

/** Days from `from` to `to` inclusive (1 for a single day). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS) + 1;
}

/** Why an absolute range cannot be used, or null when it can. */
export function rangeError(r: TimeRange): string | null {
  if ('last' in r) return RELATIVE.some((x) => x.key === r.last) ? null : `unknown range "${r.last}"`;
  if (!isDate(r.from)) return 'the start is not a date (YYYY-MM-DD)';
  if (!isDate(r.to)) return 'the end is not a date (YYYY-MM-DD)';
  if (r.to < r.from) return 'the end is before the start';
  if (daysBetween(r.from, r.to) > MAX_RANGE_DAYS) return `at most ${MAX_RANGE_DAYS} days`;
  return null;
}

/** "7d" or "2026-11-01..2026-11-15". */
export function serializeRange(r: TimeRange): string {
  return 'last' in r ? r.last : `${r.from}..${r.to}`;
}

/** The inverse of serializeRange; null for anything invalid. */
export function parseRange(s: string | null | undefined): TimeRange | null {
  if (!s) return null;
  const parts = s.split('..');
  const r: TimeRange = parts.length === 2 ? { from: parts[0], to: parts[1] } : { last: s as RelativeKey };
  return rangeError(r) ? null : r;
}

/** "Last 7 days" or "2026-11-01 – 2026-11-15". */
export function rangeLabel(r: TimeRange): string {
  if ('last' in r) return RELATIVE.find((x) => x.key === r.last)?.label ?? r.last;
  return r.from === r.to ? r.from : `${r.from} – ${r.to}`;
}

/** A saved layout's timeRange ({last} or {from, to}; older layouts: {start, end} ISO instants). */
export function rangeFromSaved(v: unknown, fallback: TimeRange = { last: '7d' }): TimeRange {
  if (!v || typeof v !== 'object') return fallback;
  const o = v as Record<string, unknown>;
  if (typeof o.last === 'string') return parseRange(o.last) ?? fallback;
  if (typeof o.from === 'string' && typeof o.to === 'string') return parseRange(`${o.from}..${o.to}`) ?? fallback;
  if (typeof o.start === 'string' && typeof o.end === 'string') {
    const r = parseRange(`${o.start.slice(0, 10)}..${o.end.slice(0, 10)}`);
    return r ?? fallback;
  }
  return fallback;
}

/** The query window [start, end) in UTC ms for a range, granularity and zone at `now`. Relative
 *  ranges start on a bucket boundary (local midnight for DAY, local hour for HOUR) so the first
 *  bar is whole and end at now; absolute ranges are whole local days, ending at now at most. */
export function resolveRange(r: TimeRange, granularity: Granularity, tz: string, now: number): { start: number; end: number } {
  if ('last' in r) {
    const hours = RELATIVE.find((x) => x.key === r.last)?.hours ?? 24;
    if (granularity === 'DAY') {
      const days = Math.max(1, Math.round(hours / 24));
      return { start: addLocalDays(startOfLocalDay(now, tz), -(days - 1), tz), end: now };
    }
    return { start: startOfLocalHour(now - hours * HOUR_MS, tz) + HOUR_MS, end: now };
  }
  const [fy, fm, fd] = r.from.split('-').map(Number);
  const start = zonedTimeToUtc(fy, fm, fd, 0, 0, tz);
  const [ty, tm, td] = r.to.split('-').map(Number);
  const end = addLocalDays(zonedTimeToUtc(ty, tm, td, 0, 0, tz), 1, tz);
  return { start, end: Math.max(start, Math.min(end, now)) };
}

/** The granularity that suits a range when the user has not chosen one: hours up to two days. */
export function suggestedGranularity(r: TimeRange): Granularity {
  if ('last' in r) return r.last === '1h' || r.last === '24h' ? 'HOUR' : 'DAY';
  return daysBetween(r.from, r.to) <= 2 ? 'HOUR' : 'DAY';
}
