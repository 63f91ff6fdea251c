import { describe, expect, it } from 'vitest';
import { formatCompact, formatDate, formatExact, formatIso, formatStamp, formatStampSeconds } from './format';

describe('one time format', () => {
  const ms = Date.parse('2026-11-24T18:30:07Z');
  it('is the wall clock of the zone, YYYY-MM-DD HH:mm', () => {
    expect(formatStamp(ms, 'UTC')).toBe('2026-11-24 18:30');
    expect(formatStamp(ms, 'Asia/Kolkata')).toBe('2026-11-25 00:00');
    expect(formatStamp(ms, 'America/New_York')).toBe('2026-11-24 13:30');
    expect(formatStampSeconds(ms, 'UTC')).toBe('2026-11-24 18:30:07');
    expect(formatDate(ms, 'Asia/Kolkata')).toBe('2026-11-25');
  });
  it('reads API timestamps and ignores nonsense', () => {
    expect(formatIso('2026-11-24T18:30:07.000Z', 'UTC')).toBe('2026-11-24 18:30');
    expect(formatIso('2026-11-24T18:30:07.000Z', 'UTC', true)).toBe('2026-11-24 18:30:07');
    expect(formatIso(null, 'UTC')).toBe('');
    expect(formatIso('yesterday', 'UTC')).toBe('');
  });
});

describe('numbers', () => {
  it('exact: separators and every significant decimal, never k/M', () => {
    expect(formatExact(12345)).toBe('12,345');
    expect(formatExact(3_400_000)).toBe('3,400,000');
    expect(formatExact(9.99)).toBe('9.99');
    expect(formatExact(1234.5678)).toBe('1,234.5678');
    expect(formatExact(0.1 + 0.2)).toBe('0.3');
    expect(formatExact(-2.5)).toBe('-2.5');
    expect(formatExact(-12345.25)).toBe('-12,345.25');
    expect(formatExact(0)).toBe('0');
    expect(formatExact(null)).toBe('');
  });
  it('compact only for axes', () => {
    expect(formatCompact(950)).toBe('950');
    expect(formatCompact(1234)).toBe('1,234');
    expect(formatCompact(12345)).toBe('12.3k');
    expect(formatCompact(3_400_000)).toBe('3.4M');
    expect(formatCompact(2.5)).toBe('2.5');
  });
});
