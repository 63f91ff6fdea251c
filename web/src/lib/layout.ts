// layout.ts — editing a dashboard's layout ({charts: [...]}) without mutating it: add (with a
// fresh id), remove, move, widen. Pure functions, unit-tested in layout.test.ts.
import type { SavedChart } from './chart';

export interface Layout {
  charts: SavedChart[];
  [other: string]: unknown;
}

export const MAX_CHARTS = 50; // graphql-api refuses more

/** The layout as stored, with an id on every chart (older layouts have none: ids by position). */
export function normalizeLayout(raw: unknown): Layout {
  const o = raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const list = Array.isArray(o.charts) ? (o.charts as unknown[]) : [];
  const charts = list.filter((c): c is SavedChart => !!c && typeof c === 'object' && typeof (c as SavedChart).metric === 'string');
  const seen = new Set<string>();
  return {
    ...o,
    charts: charts.map((c, i) => {
      let id = c.id ? String(c.id) : `c${i + 1}`;
      while (seen.has(id)) id = `${id}x`;
      seen.add(id);
      return { ...c, id };
    }),
  };
}

export function newChartId(layout: Layout): string {
  const ids = new Set(layout.charts.map((c) => c.id));
  for (let n = layout.charts.length + 1; ; n++) if (!ids.has(`c${n}`)) return `c${n}`;
}

export function addChart(layout: Layout, chart: SavedChart): Layout {
  if (layout.charts.length >= MAX_CHARTS) throw new Error(`a dashboard holds at most ${MAX_CHARTS} charts`);
  return { ...layout, charts: [...layout.charts, { ...chart, id: newChartId(layout) }] };
}

export function removeChart(layout: Layout, id: string): Layout {
  return { ...layout, charts: layout.charts.filter((c) => c.id !== id) };
}

/** Moves a chart by `delta` places (−1 earlier, +1 later), clamped to the list. */
export function moveChart(layout: Layout, id: string, delta: number): Layout {
  const i = layout.charts.findIndex((c) => c.id === id);
  if (i < 0) return layout;
  const j = Math.max(0, Math.min(layout.charts.length - 1, i + delta));
  if (i === j) return layout;
  const charts = [...layout.charts];
  const [c] = charts.splice(i, 1);
  charts.splice(j, 0, c);
  return { ...layout, charts };
}

export function updateChart(layout: Layout, id: string, patch: Partial<SavedChart>): Layout {
  return { ...layout, charts: layout.charts.map((c) => (c.id === id ? { ...c, ...patch, id } : c)) };
}
