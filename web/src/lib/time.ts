// time.ts — time-zone arithmetic and formatting for the dashboard, on the browser's Intl only
// (no time-zone library). Pure functions, unit-tested in time.test.ts. The server does the real
// bucketing (metrics(timezone:)); these functions pick query ranges that start at a local
// midnight / hour, list the buckets a range should have, and label them in the chosen zone.

export type Granularity = 'HOUR' | 'DAY';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

const partsCache = new Map<string, Intl.DateTimeFormat>();
function partsFormatter(tz: string): Intl.DateTimeFormat {
  let f = partsCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    partsCache.set(tz, f);
  }
  return f;
}

/** Wall-clock fields of instant `ms` in zone `tz`. */
export function wallClock(ms: number, tz: string) {
  const p: Record<string, number> = {};
  for (const part of partsFormatter(tz).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  return { year: p.year, month: p.month, day: p.day, hour: p.hour % 24, minute: p.minute, second: p.second };
}

/** Offset of `tz` from UTC at instant `ms`, in minutes (Asia/Kolkata: 330). */
export function tzOffsetMinutes(ms: number, tz: string): number {
  const w = wallClock(ms, tz);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
}

/** "UTC+05:30", "UTC−04:00", "UTC" for the zone's offset at instant `ms`. */
export function formatOffset(ms: number, tz: string): string {
  const m = tzOffsetMinutes(ms, tz);
  if (m === 0) return 'UTC';
  const a = Math.abs(m);
  return `UTC${m < 0 ? '−' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/** The UTC instant at which wall-clock time y-m-d h:mi occurs in tz (the earlier one when it
 *  occurs twice; the instant after the gap when it does not occur). */
export function zonedTimeToUtc(y: number, mo: number, d: number, h: number, mi: number, tz: string): number {
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  let guess = wall - tzOffsetMinutes(wall, tz) * 60000;
  // Two corrections settle every transition (the offset at the guess may differ from the answer's).
  for (let i = 0; i < 2; i++) {
    const next = wall - tzOffsetMinutes(guess, tz) * 60000;
    if (next === guess) break;
    guess = next;
  }
  // In a DST overlap prefer the earlier instant, as the server's day boundaries do.
  const earlier = guess - HOUR_MS;
  const we = wallClock(earlier, tz);
  if (Date.UTC(we.year, we.month - 1, we.day, we.hour, we.minute) === wall) return earlier;
  return guess;
}

/** Start (UTC ms) of the local day containing instant `ms` in tz. */
export function startOfLocalDay(ms: number, tz: string): number {
  const w = wallClock(ms, tz);
  return zonedTimeToUtc(w.year, w.month, w.day, 0, 0, tz);
}

/** Start (UTC ms) of the local hour containing instant `ms` in tz (:30/:45 zones included). */
export function startOfLocalHour(ms: number, tz: string): number {
  const w = wallClock(ms, tz);
  return Math.floor(ms / 60000) * 60000 - w.minute * 60000;
}

/** Start of the local day `n` days after the one starting at `dayStart` (23/25-hour days). */
export function addLocalDays(dayStart: number, n: number, tz: string): number {
  const w = wallClock(dayStart + 12 * HOUR_MS, tz); // noon is never in a transition
  const noon = Date.UTC(w.year, w.month - 1, w.day + n, 12);
  const d = new Date(noon);
  return zonedTimeToUtc(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), 0, 0, tz);
}

/** Every bucket start in [start, end): local days or hours in tz. Capped at `max` buckets. */
export function bucketStarts(start: number, end: number, granularity: Granularity, tz: string, max = 5000): number[] {
  const out: number[] = [];
  if (granularity === 'DAY') {
    for (let t = startOfLocalDay(start, tz); t < end && out.length < max; t = addLocalDays(t, 1, tz)) out.push(t);
  } else {
    for (let t = startOfLocalHour(start, tz); t < end && out.length < max; t += HOUR_MS) out.push(t);
  }
  return out;
}

/** Axis label of a bucket, in the one time format of the dashboard: "2026-11-25" for days,
 *  "2026-11-25 14:00" for hours, on the wall clock of tz. */
export function bucketLabel(ms: number, granularity: Granularity, tz: string): string {
  const s = localStamp(ms, tz);
  return granularity === 'DAY' ? s.slice(0, 10) : s;
}

/** "2026-11-25 00:00" — the wall-clock time of instant ms in tz (lib/format.ts formatStamp). */
export function localStamp(ms: number, tz: string): string {
  const w = wallClock(ms, tz);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${w.year}-${p(w.month)}-${p(w.day)} ${p(w.hour)}:${p(w.minute)}`;
}

/** The time zones offered in selectors: the browser's own, UTC, and well-known ones covering
 *  :30 and :45 offsets and both hemispheres' DST. */
export function timezoneChoices(browserTz: string): string[] {
  const base = [
    'UTC', 'America/Los_Angeles', 'America/New_York', 'America/Sao_Paulo', 'Europe/London', 'Europe/Berlin',
    'Africa/Johannesburg', 'Asia/Dubai', 'Asia/Kolkata', 'Asia/Kathmandu', 'Asia/Shanghai', 'Asia/Tokyo',
    'Australia/Adelaide', 'Australia/Sydney', 'Pacific/Auckland',
  ];
  return base.includes(browserTz) ? base : [browserTz, ...base];
}

/** True when tz is an IANA zone this browser knows. */
export function isValidTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function browserTimezone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}
