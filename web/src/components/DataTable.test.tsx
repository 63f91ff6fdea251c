// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import { DataTable } from './MetricChart';
import { shapeChart } from '../lib/series';
import type { ChartConfig } from '../lib/chart';

afterEach(cleanup);

describe('DataTable', () => {
  const points = [
    { timestamp: '2026-11-23T18:30:00Z', value: 2, dimensions: { page: '/a' } },
    { timestamp: '2026-11-24T18:30:00Z', value: 3, dimensions: { page: '/b' } },
  ];
  const config: ChartConfig = { metric: 'm', groupBy: ['page'], granularity: 'DAY', range: { last: '7d' }, timezone: 'Asia/Kolkata' };
  const shaped = shapeChart(points, { ...config, start: Date.parse('2026-11-22T18:30:00Z'), end: Date.parse('2026-11-25T18:30:00Z') });

  it('labels buckets with their local midnight and the zone, one column per group', () => {
    render(<DataTable shaped={shaped} config={config} />);
    expect(screen.getByText('Bucket start (Asia/Kolkata, UTC+05:30)')).toBeTruthy();
    const rows = screen.getAllByTestId('bucket-row');
    expect(rows.map((r) => r.getAttribute('data-bucket'))).toEqual(['2026-11-24 00:00', '2026-11-25 00:00']);
    expect(rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent))).toEqual([
      ['2026-11-24 00:00', '0', '2', '2'],
      ['2026-11-25 00:00', '3', '0', '3'],
    ]);
    // the empty first day is hidden until asked for
    expect(screen.getByText('Show empty buckets too')).toBeTruthy();
  });
});
