// csv.ts — a chart's points as CSV (RFC 4180): one row per bucket, the bucket's start in the
// chart's zone and in UTC, one column per group with the exact values, and the total. Every group
// gets its own column (no "Other" folding). Pure, unit-tested in csv.test.ts.
import { shapeChart, type MetricPoint } from './series';
import { formatStamp } from './format';
import type { Granularity } from './time';

export function csvField(v: string | number): string {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : v;
  // a leading = + - @ would be a formula in a spreadsheet: quote and prefix it
  const safe = /^[=+\-@\t\r]/.test(s) && typeof v === 'string' ? `'${s}` : s;
  return /[",\r\n]/.test(safe) || safe !== s ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(points: MetricPoint[], o: { groupBy: string[]; granularity: Granularity; timezone: string; start: number; end: number }): string {
  const shaped = shapeChart(points, { ...o, maxSeries: Number.MAX_SAFE_INTEGER });
  const head = [`bucket_start (${o.timezone})`, 'bucket_start_utc', ...shaped.series.map((s) => s.label)];
  if (shaped.series.length !== 1) head.push('total');
  const lines = [head.map(csvField).join(',')];
  for (const r of shaped.rows) {
    const cells: (string | number)[] = [formatStamp(r.t, o.timezone), new Date(r.t).toISOString(), ...shaped.series.map((s) => r[s.key] as number)];
    if (shaped.series.length !== 1) cells.push(r.total);
    lines.push(cells.map(csvField).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

export function csvFileName(metric: string, start: number, end: number, timezone: string): string {
  const safe = metric.replace(/[^A-Za-z0-9_.-]+/g, '_');
  return `${safe}_${formatStamp(start, timezone).slice(0, 10)}_${formatStamp(end - 1, timezone).slice(0, 10)}.csv`;
}

/** Starts a download of `text` as a file (browser only). */
export function downloadText(name: string, text: string, type = 'text/csv;charset=utf-8') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
