import { describe, expect, it } from 'vitest';
import { groupLabel, mergePoints, shapeChart, type MetricPoint } from './series';

const P = (timestamp: string, value: number, dimensions: Record<string, unknown> = {}, revision = 0): MetricPoint =>
  ({ timestamp, value, dimensions, revision, final: false });

describe('groupLabel', () => {
  it('joins group-by values and names missing ones', () => {
    expect(groupLabel({ page: '/a', country: 'IN' }, ['page', 'country'])).toBe('/a · IN');
    expect(groupLabel({ page: null }, ['page'])).toBe('(none)');
    expect(groupLabel({ n: 3 }, ['n'])).toBe('3');
    expect(groupLabel({}, [])).toBe('Total');
  });
});

describe('shapeChart', () => {
  const day = (d: number) => `2026-11-${String(d).padStart(2, '0')}T00:00:00Z`;
  const base = { granularity: 'DAY' as const, timezone: 'UTC', start: Date.parse(day(20)), end: Date.parse(day(23)) };

  it('makes one zero-filled row per bucket and one series per group, largest first', () => {
    const c = shapeChart([
      P(day(20), 2, { page: '/a' }), P(day(20), 5, { page: '/b' }), P(day(22), 1, { page: '/a' }),
    ], { ...base, groupBy: ['page'] });
    expect(c.rows.map((r) => r.label)).toEqual(['2026-11-20', '2026-11-21', '2026-11-22']);
    expect(c.series.map((s) => [s.label, s.total])).toEqual([['/b', 5], ['/a', 3]]);
    expect(c.rows[0]).toMatchObject({ s0: 5, s1: 2, total: 7 });
    expect(c.rows[1]).toMatchObject({ s0: 0, s1: 0, total: 0 });
    expect(c.rows[2]).toMatchObject({ s0: 0, s1: 1, total: 1 });
    expect(c.total).toBe(8);
  });

  it('folds groups past maxSeries into Other and keeps totals exact', () => {
    const pts = ['/a', '/b', '/c', '/d'].map((page, i) => P(day(21), 10 - i, { page }));
    const c = shapeChart(pts, { ...base, groupBy: ['page'], maxSeries: 3 });
    expect(c.series.map((s) => s.label)).toEqual(['/a', '/b', 'Other']);
    expect(c.series[2].total).toBe(8 + 7);
    expect(c.rows[1]).toMatchObject({ s0: 10, s1: 9, other: 15, total: 34 });
  });

  it('places Kolkata day buckets on local midnight rows', () => {
    const c = shapeChart([P('2026-11-20T18:30:00Z', 4)], {
      groupBy: [], granularity: 'DAY', timezone: 'Asia/Kolkata',
      start: Date.parse('2026-11-19T18:30:00Z'), end: Date.parse('2026-11-21T18:30:00Z'),
    });
    expect(c.rows.map((r) => [r.label, r.total])).toEqual([['2026-11-20', 0], ['2026-11-21', 4]]);
    expect(c.series).toEqual([expect.objectContaining({ label: 'Total', total: 4 })]);
  });

  it('keeps a point the bucket list did not expect instead of dropping it', () => {
    const c = shapeChart([P('2026-11-20T12:00:00Z', 1)], { ...base, groupBy: [] });
    expect(c.rows).toHaveLength(4);
    expect(c.total).toBe(1);
  });

  it('draws nothing but empty buckets without points', () => {
    const c = shapeChart([], { ...base, groupBy: ['page'] });
    expect(c.series).toEqual([]);
    expect(c.rows).toHaveLength(3);
  });
});

describe('mergePoints', () => {
  it('replaces a bucket by its newer value and adds new buckets in time order', () => {
    const a = [P('2026-11-20T10:00:00Z', 3, { page: '/a' }, 0), P('2026-11-20T11:00:00Z', 1, { page: '/a' })];
    const m = mergePoints(a, [P('2026-11-20T10:00:00Z', 4, { page: '/a' }, 0), P('2026-11-20T09:00:00Z', 2, { page: '/a' })], ['page']);
    expect(m.map((p) => [p.timestamp, p.value])).toEqual([
      ['2026-11-20T09:00:00Z', 2], ['2026-11-20T10:00:00Z', 4], ['2026-11-20T11:00:00Z', 1],
    ]);
  });
  it('ignores a push older than what it has (lower revision)', () => {
    const m = mergePoints([P('2026-11-20T10:00:00Z', 9, {}, 2)], [P('2026-11-20T10:00:00Z', 5, {}, 1)], []);
    expect(m[0].value).toBe(9);
  });
  it('keeps groups apart', () => {
    const m = mergePoints([P('2026-11-20T10:00:00Z', 1, { page: '/a' })], [P('2026-11-20T10:00:00Z', 1, { page: '/b' })], ['page']);
    expect(m).toHaveLength(2);
  });
});
