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

/** MetricDefinition.backfill: the recount of stored (raw) events after a definition changed. */
export interface MetricBackfill {
  state: string;
  progress: number;
  daysDone: number;
  daysTotal: number;
  events: number;
  error?: string | null;
}

/** What the Events page says about a definition's recount (the raw events read, not the metric's
 *  total: events counted live are not in it); active: still moving (poll). */
export function describeBackfill(b: MetricBackfill | null | undefined): { text: string; active: boolean } {
  if (!b) return { text: '—', active: false };
  const events = `${Math.round(b.events).toLocaleString('en-US')} event${b.events === 1 ? '' : 's'} read`;
  switch (b.state) {
    case 'pending': return { text: 'waiting to start', active: true };
    case 'running': return { text: `recounting: ${b.daysDone} of ${b.daysTotal} days (${Math.floor(b.progress * 100)}%), ${events}`, active: true };
    case 'done': return { text: `done: ${b.daysTotal} days, ${events}`, active: false };
    case 'failed': return { text: `failed: ${b.error || 'no reason given'}`, active: false };
    case 'superseded': return { text: 'replaced by a newer change', active: false };
    default: return { text: b.state, active: false };
  }
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
