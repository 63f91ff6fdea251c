import { describe, expect, it } from 'vitest';
import { daysBetween, isDate, parseRange, rangeError, rangeFromSaved, rangeLabel, resolveRange, serializeRange, suggestedGranularity } from './range';

const iso = (ms: number) => new Date(ms).toISOString();

describe('time ranges as text', () => {
  it('round-trips relative and absolute ranges', () => {
    for (const s of ['1h', '24h', '7d', '30d', '90d', '2026-11-01..2026-11-15', '2026-02-28..2026-02-28']) {
      expect(serializeRange(parseRange(s)!)).toBe(s);
    }
  });
  it('refuses what is not a range', () => {
    for (const s of ['', '8d', '2026-11-15..2026-11-01', '2026-02-30..2026-03-01', '2026-1-1..2026-01-02', 'a..b', '2020-01-01..2026-01-01']) {
      expect(parseRange(s)).toBeNull();
    }
    expect(rangeError({ from: '2026-11-15', to: '2026-11-01' })).toMatch(/before/);
    expect(isDate('2024-02-29')).toBe(true);
    expect(isDate('2025-02-29')).toBe(false);
    expect(daysBetween('2026-03-28', '2026-03-30')).toBe(3);
  });
  it('labels', () => {
    expect(rangeLabel({ last: '30d' })).toBe('Last 30 days');
    expect(rangeLabel({ from: '2026-11-01', to: '2026-11-15' })).toBe('2026-11-01 – 2026-11-15');
  });
  it('reads saved layouts, old and new', () => {
    expect(rangeFromSaved({ last: '30d' })).toEqual({ last: '30d' });
    expect(rangeFromSaved({ from: '2026-11-01', to: '2026-11-02' })).toEqual({ from: '2026-11-01', to: '2026-11-02' });
    expect(rangeFromSaved({ start: '2026-11-01T00:00:00Z', end: '2026-11-02T00:00:00Z' })).toEqual({ from: '2026-11-01', to: '2026-11-02' });
    expect(rangeFromSaved({ last: 'forever' })).toEqual({ last: '7d' });
    expect(rangeFromSaved(null)).toEqual({ last: '7d' });
  });
});

describe('resolving a range to a query window', () => {
  const now = Date.parse('2026-11-25T10:17:00Z');
  it('relative DAY ranges start at local midnight, days - 1 days ago', () => {
    expect(iso(resolveRange({ last: '7d' }, 'DAY', 'UTC', now).start)).toBe('2026-11-19T00:00:00.000Z');
    expect(iso(resolveRange({ last: '7d' }, 'DAY', 'Asia/Kolkata', now).start)).toBe('2026-11-18T18:30:00.000Z');
    expect(resolveRange({ last: '7d' }, 'DAY', 'UTC', now).end).toBe(now);
  });
  it('relative HOUR ranges start on the hour after now - range', () => {
    expect(iso(resolveRange({ last: '24h' }, 'HOUR', 'UTC', now).start)).toBe('2026-11-24T11:00:00.000Z');
    expect(iso(resolveRange({ last: '1h' }, 'HOUR', 'Asia/Kolkata', now).start)).toBe('2026-11-25T09:30:00.000Z');
  });
  it('absolute ranges are whole local days, inclusive, capped at now', () => {
    const r = resolveRange({ from: '2026-11-01', to: '2026-11-15' }, 'DAY', 'UTC', now);
    expect([iso(r.start), iso(r.end)]).toEqual(['2026-11-01T00:00:00.000Z', '2026-11-16T00:00:00.000Z']);
    const k = resolveRange({ from: '2026-11-01', to: '2026-11-01' }, 'HOUR', 'Asia/Kolkata', now);
    expect([iso(k.start), iso(k.end)]).toEqual(['2026-10-31T18:30:00.000Z', '2026-11-01T18:30:00.000Z']);
    const today = resolveRange({ from: '2026-11-24', to: '2026-11-30' }, 'DAY', 'UTC', now);
    expect(today.end).toBe(now);
    // a 25-hour day in New York (DST ends 2026-11-01)
    const ny = resolveRange({ from: '2026-11-01', to: '2026-11-01' }, 'HOUR', 'America/New_York', now);
    expect((ny.end - ny.start) / 3_600_000).toBe(25);
  });
  it('suggests hours for short ranges', () => {
    expect(suggestedGranularity({ last: '24h' })).toBe('HOUR');
    expect(suggestedGranularity({ last: '30d' })).toBe('DAY');
    expect(suggestedGranularity({ from: '2026-11-01', to: '2026-11-02' })).toBe('HOUR');
  });
});
