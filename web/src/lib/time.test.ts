import { describe, expect, it } from 'vitest';
import {
  addLocalDays, bucketLabel, bucketStarts, formatOffset, localStamp, startOfLocalDay,
  startOfLocalHour, tzOffsetMinutes, zonedTimeToUtc,
} from './time';
import { resolveRange } from './range';

const iso = (ms: number) => new Date(ms).toISOString();

describe('offsets', () => {
  it('knows :30 and :45 zones and DST', () => {
    const jan = Date.parse('2026-01-15T12:00:00Z');
    const jul = Date.parse('2026-07-15T12:00:00Z');
    expect(tzOffsetMinutes(jan, 'Asia/Kolkata')).toBe(330);
    expect(tzOffsetMinutes(jan, 'Asia/Kathmandu')).toBe(345);
    expect(tzOffsetMinutes(jan, 'America/New_York')).toBe(-300);
    expect(tzOffsetMinutes(jul, 'America/New_York')).toBe(-240);
    expect(formatOffset(jan, 'Asia/Kolkata')).toBe('UTC+05:30');
    expect(formatOffset(jul, 'America/New_York')).toBe('UTC−04:00');
    expect(formatOffset(jan, 'UTC')).toBe('UTC');
  });
});

describe('local midnight', () => {
  it('is 18:30 UTC the day before in Asia/Kolkata', () => {
    const ms = Date.parse('2026-11-25T02:00:00Z'); // 07:30 IST on the 25th
    expect(iso(startOfLocalDay(ms, 'Asia/Kolkata'))).toBe('2026-11-24T18:30:00.000Z');
    expect(iso(startOfLocalDay(ms, 'UTC'))).toBe('2026-11-25T00:00:00.000Z');
  });
  it('an instant before 18:30 UTC is still the previous Kolkata day', () => {
    const ms = Date.parse('2026-11-24T18:29:59Z');
    expect(iso(startOfLocalDay(ms, 'Asia/Kolkata'))).toBe('2026-11-23T18:30:00.000Z');
  });
  it('handles days of 23 and 25 hours across DST in New York', () => {
    const spring = zonedTimeToUtc(2026, 3, 8, 0, 0, 'America/New_York'); // DST starts 8 March 2026
    expect(iso(spring)).toBe('2026-03-08T05:00:00.000Z');
    expect(addLocalDays(spring, 1, 'America/New_York') - spring).toBe(23 * 3600_000);
    const fall = zonedTimeToUtc(2026, 11, 1, 0, 0, 'America/New_York'); // DST ends 1 November 2026
    expect(iso(fall)).toBe('2026-11-01T04:00:00.000Z');
    expect(addLocalDays(fall, 1, 'America/New_York') - fall).toBe(25 * 3600_000);
  });
  it('a wall time inside the spring gap maps to the instant after it', () => {
    const t = zonedTimeToUtc(2026, 3, 8, 2, 30, 'America/New_York');
    expect(iso(t)).toBe('2026-03-08T07:30:00.000Z'); // 03:30 EDT
  });
});

describe('local hours', () => {
  it('start at :15 UTC in Kathmandu and :30 in Kolkata', () => {
    const ms = Date.parse('2026-11-25T10:20:00Z');
    expect(iso(startOfLocalHour(ms, 'Asia/Kathmandu'))).toBe('2026-11-25T10:15:00.000Z');
    expect(iso(startOfLocalHour(ms, 'Asia/Kolkata'))).toBe('2026-11-25T09:30:00.000Z');
    expect(iso(startOfLocalHour(ms, 'UTC'))).toBe('2026-11-25T10:00:00.000Z');
  });
});

describe('buckets and ranges', () => {
  it('lists Kolkata days at local midnight', () => {
    const start = Date.parse('2026-11-20T00:00:00Z');
    const end = Date.parse('2026-11-23T00:00:00Z');
    const b = bucketStarts(start, end, 'DAY', 'Asia/Kolkata').map(iso);
    expect(b).toEqual([
      '2026-11-19T18:30:00.000Z', '2026-11-20T18:30:00.000Z', '2026-11-21T18:30:00.000Z', '2026-11-22T18:30:00.000Z',
    ]);
    expect(b.map((x) => localStamp(Date.parse(x), 'Asia/Kolkata'))).toEqual([
      '2026-11-20 00:00', '2026-11-21 00:00', '2026-11-22 00:00', '2026-11-23 00:00',
    ]);
  });
  it('a 7-day DAY range starts at local midnight six days before today', () => {
    const now = Date.parse('2026-11-25T20:00:00Z'); // 01:30 on the 26th in Kolkata
    const r = resolveRange({ last: '7d' }, 'DAY', 'Asia/Kolkata', now);
    expect(iso(r.start)).toBe('2026-11-19T18:30:00.000Z');
    expect(r.end).toBe(now);
    expect(bucketStarts(r.start, r.end, 'DAY', 'Asia/Kolkata')).toHaveLength(7);
    const u = resolveRange({ last: '7d' }, 'DAY', 'UTC', now);
    expect(iso(u.start)).toBe('2026-11-19T00:00:00.000Z');
  });
  it('a 24-hour HOUR range has 24 or 25 local hours', () => {
    const now = Date.parse('2026-11-25T10:20:00Z');
    const r = resolveRange({ last: '24h' }, 'HOUR', 'UTC', now);
    expect(iso(r.start)).toBe('2026-11-24T11:00:00.000Z');
    expect(bucketStarts(r.start, r.end, 'HOUR', 'UTC')).toHaveLength(24);
  });
});

describe('labels', () => {
  it('formats the same instant as different days per zone', () => {
    const ms = Date.parse('2026-11-24T18:30:00Z');
    expect(bucketLabel(ms, 'DAY', 'Asia/Kolkata')).toBe('2026-11-25');
    expect(bucketLabel(ms, 'DAY', 'UTC')).toBe('2026-11-24');
    expect(bucketLabel(ms, 'HOUR', 'Asia/Kolkata')).toBe('2026-11-25 00:00');
    expect(localStamp(ms, 'America/New_York')).toBe('2026-11-24 13:30');
  });
});
