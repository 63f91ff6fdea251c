// chartables.ts — the one list of what can be charted, the same on every page: every event name
// seen for the tenant (its automatic count) and every defined metric, sorted by name, each with a
// label saying what it counts and what it can be grouped by. Pure, unit-tested.

export interface EventInfo {
  name: string;
  count?: number | null;
  lastSeen?: string | null;
  properties?: { name: string; seen: number; sampled?: number | null; types?: string[]; distinctValues?: number | null; topValues?: string[] }[];
}

export interface MetricDefinition {
  name: string;
  eventName: string;
  aggregation: string;
  property: string | null;
  dimensions: string[];
}

export interface Chartable {
  name: string; // what metrics(name:) takes
  kind: 'event' | 'metric';
  label: string; // "revenue — sum of purchase.amount by currency, plan"
  description: string; // "sum of purchase.amount"
  dimensions: string[]; // what it can be grouped and filtered by
  eventName: string;
  aggregation: string;
}

export function describeDefinition(d: MetricDefinition): string {
  const of = d.aggregation === 'count' ? `count of ${d.eventName}` : `${d.aggregation} of ${d.eventName}.${d.property}`;
  return of;
}

export function buildChartables(events: EventInfo[], defs: MetricDefinition[]): Chartable[] {
  const out = new Map<string, Chartable>();
  for (const e of events) {
    out.set(e.name, {
      name: e.name, kind: 'event', description: 'count of events', label: '', dimensions: [], eventName: e.name, aggregation: 'count',
    });
  }
  for (const d of defs) {
    // an event named like a defined metric (not allowed for new names): the definition wins
    out.set(d.name, {
      name: d.name, kind: 'metric', description: describeDefinition(d), label: '', dimensions: [...d.dimensions],
      eventName: d.eventName, aggregation: d.aggregation,
    });
    // a definition's event is chartable too, even before events of it were seen
    if (!out.has(d.eventName)) {
      out.set(d.eventName, {
        name: d.eventName, kind: 'event', description: 'count of events', label: '', dimensions: [], eventName: d.eventName, aggregation: 'count',
      });
    }
  }
  const list = [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const c of list) {
    c.label = `${c.name} — ${c.kind === 'event' ? 'event count' : c.description}${c.dimensions.length ? ` by ${c.dimensions.join(', ')}` : ''}`;
  }
  return list;
}
