// format.ts — how numbers and times read everywhere in the dashboard. One time format:
// "2026-11-25 14:00" (local wall clock in the selected zone; "2026-11-25" for whole days), and
// exact numbers in tables, tiles and tooltips; the compact form (12.3k) only on chart axes,
// where space is short. Pure functions, unit-tested in format.test.ts.
import { localStamp, wallClock } from './time';

const p2 = (n: number) => String(n).padStart(2, '0');

/** "2026-11-25 14:00" — instant `ms` on the wall clock of zone tz. */
export function formatStamp(ms: number, tz: string): string {
  return localStamp(ms, tz);
}

/** "2026-11-25 14:00:07" — with seconds, for events such as alert firings. */
export function formatStampSeconds(ms: number, tz: string): string {
  const w = wallClock(ms, tz);
  return `${formatStamp(ms, tz)}:${p2(w.second)}`;
}

/** "2026-11-25" — the local date of instant ms in tz. */
export function formatDate(ms: number, tz: string): string {
  return localStamp(ms, tz).slice(0, 10);
}

/** An ISO string from the API, formatted like formatStamp; '' for null/invalid. */
export function formatIso(iso: string | null | undefined, tz: string, seconds = false): string {
  if (!iso) return '';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return '';
  return seconds ? formatStampSeconds(ms, tz) : formatStamp(ms, tz);
}

/** The exact value: 12,345 / 9.99 / -0.5 (thousands separators, every significant decimal). */
export function formatExact(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  // 15 significant digits are what a double holds exactly as a decimal: 0.1 + 0.2 reads 0.3
  const s = String(Number(v.toPrecision(15)));
  if (/e/i.test(s)) return s;
  const [int, frac] = s.split('.');
  const sign = int.startsWith('-') ? '-' : '';
  const digits = sign ? int.slice(1) : int;
  return `${sign}${Number(digits).toLocaleString('en-US')}${frac ? `.${frac}` : ''}`;
}

/** Compact, for axis ticks only: 950, 1.2k, 3.4M, 2B. */
export function formatCompact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toFixed(1)}B`;
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return (+v.toFixed(2)).toLocaleString('en-US');
}
