import { describe, expect, it } from 'vitest';
import { chartFromSearch, chartTitle, chartToSearch, chartType, fromSavedChart, toSavedChart, type ChartConfig } from './chart';
import { addChart, moveChart, normalizeLayout, removeChart, updateChart } from './layout';
import { buildChartables } from './chartables';

const base: ChartConfig = { metric: 'revenue', groupBy: ['currency', 'plan'], granularity: 'DAY', range: { last: '30d' }, timezone: 'Asia/Kolkata' };

describe('a chart in the URL', () => {
  it('round-trips every setting', () => {
    const c: ChartConfig = { ...base, range: { from: '2026-11-01', to: '2026-11-15' }, type: 'line', title: 'Money, money' };
    expect(chartFromSearch(chartToSearch(c), { ...base, metric: '' })).toEqual(c);
    expect(chartFromSearch(chartToSearch(base), { ...base, metric: 'x' })).toEqual(base);
  });
  it('takes the defaults for what is missing or invalid', () => {
    const d: ChartConfig = { metric: 'page_view', groupBy: [], granularity: 'HOUR', range: { last: '24h' }, timezone: 'UTC' };
    expect(chartFromSearch('', d)).toEqual(d);
    expect(chartFromSearch('?granularity=WEEK&range=5y&tz=Mars/Base&type=pie', d)).toEqual(d);
    expect(chartFromSearch('?groupBy=', { ...d, groupBy: ['page'] }).groupBy).toEqual([]);
  });
});

describe('a chart in a saved layout', () => {
  it('round-trips, and reads older layouts', () => {
    expect(fromSavedChart(toSavedChart(base))).toEqual(base);
    expect(fromSavedChart({ metric: 'm', timeRange: { last: '7d' } })).toEqual({ metric: 'm', groupBy: [], granularity: 'DAY', timezone: 'UTC', range: { last: '7d' } });
    expect(fromSavedChart({ metric: 'm', timezone: 'Nowhere/City' }, 'Europe/Berlin').timezone).toBe('Europe/Berlin');
  });
  it('names itself and picks bars for days', () => {
    expect(chartTitle(base)).toBe('revenue by currency, plan');
    expect(chartType(base)).toBe('bar');
    expect(chartType({ ...base, granularity: 'HOUR' })).toBe('line');
  });
});

describe('dashboard layouts', () => {
  it('gives old charts ids and edits without mutating', () => {
    const raw = { charts: [{ metric: 'a' }, { metric: 'b', id: 'c1' }, { bogus: true }], note: 'kept' };
    const l = normalizeLayout(raw);
    expect(l.charts.map((c) => c.id)).toEqual(['c1', 'c1x']);
    expect(l.note).toBe('kept');
    const added = addChart(l, { metric: 'c' });
    expect(added.charts.map((c) => c.metric)).toEqual(['a', 'b', 'c']);
    expect(new Set(added.charts.map((c) => c.id)).size).toBe(3);
    expect(l.charts.length).toBe(2);
    const last = added.charts[2].id!;
    expect(moveChart(added, last, -1).charts.map((c) => c.metric)).toEqual(['a', 'c', 'b']);
    expect(moveChart(added, last, +1)).toBe(added);
    expect(removeChart(added, 'c1').charts.map((c) => c.metric)).toEqual(['b', 'c']);
    expect(updateChart(added, last, { wide: true }).charts[2]).toMatchObject({ metric: 'c', wide: true, id: last });
    expect(normalizeLayout(null).charts).toEqual([]);
  });
  it('refuses a 51st chart', () => {
    let l = normalizeLayout({ charts: [] });
    for (let i = 0; i < 50; i++) l = addChart(l, { metric: 'm' });
    expect(() => addChart(l, { metric: 'm' })).toThrow(/at most 50/);
  });
});

describe('the one list of what can be charted', () => {
  it('has every event and every metric, sorted and labelled', () => {
    const list = buildChartables(
      [{ name: 'signup' }, { name: 'page_view' }, { name: 'Checkout Started' }],
      [
        { name: 'revenue', eventName: 'purchase', aggregation: 'sum', property: 'amount', dimensions: ['currency'] },
        { name: 'page_views', eventName: 'page_view', aggregation: 'count', property: null, dimensions: ['page'] },
      ],
    );
    expect(list.map((c) => c.name)).toEqual(['Checkout Started', 'page_view', 'page_views', 'purchase', 'revenue', 'signup']);
    expect(list.find((c) => c.name === 'revenue')!.label).toBe('revenue — sum of purchase.amount by currency');
    expect(list.find((c) => c.name === 'page_view')!.label).toBe('page_view — event count');
    expect(list.find((c) => c.name === 'purchase')!.kind).toBe('event');
    expect(list.find((c) => c.name === 'page_views')!.dimensions).toEqual(['page']);
  });
});
