import { describe, expect, it } from 'vitest';
import { csvField, csvFileName, toCsv } from './csv';

describe('CSV export', () => {
  it('quotes what needs quoting and defuses formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField(9.99)).toBe('9.99');
    expect(csvField(-3)).toBe('-3');
  });
  it('one row per bucket in the zone, one exact column per group, a total', () => {
    const start = Date.parse('2026-11-23T18:30:00Z');
    const end = Date.parse('2026-11-25T18:30:00Z');
    const points = [
      { timestamp: '2026-11-23T18:30:00Z', value: 1234.5, dimensions: { currency: 'EUR' } },
      { timestamp: '2026-11-24T18:30:00Z', value: 0.1, dimensions: { currency: 'USD' } },
      { timestamp: '2026-11-24T18:30:00Z', value: 2, dimensions: { currency: 'a,b' } },
    ];
    const csv = toCsv(points, { groupBy: ['currency'], granularity: 'DAY', timezone: 'Asia/Kolkata', start, end });
    expect(csv.split('\r\n')).toEqual([
      'bucket_start (Asia/Kolkata),bucket_start_utc,EUR,"a,b",USD,total',
      '2026-11-24 00:00,2026-11-23T18:30:00.000Z,1234.5,0,0,1234.5',
      '2026-11-25 00:00,2026-11-24T18:30:00.000Z,0,2,0.1,2.1',
      '',
    ]);
    expect(csvFileName('page views/x', start, end, 'Asia/Kolkata')).toBe('page_views_x_2026-11-24_2026-11-25.csv');
  });
  it('a single series has no total column', () => {
    const csv = toCsv([{ timestamp: '2026-11-24T00:00:00Z', value: 3, dimensions: {} }],
      { groupBy: [], granularity: 'DAY', timezone: 'UTC', start: Date.parse('2026-11-24T00:00:00Z'), end: Date.parse('2026-11-25T00:00:00Z') });
    expect(csv).toBe('bucket_start (UTC),bucket_start_utc,Total\r\n2026-11-24 00:00,2026-11-24T00:00:00.000Z,3\r\n');
  });
});
