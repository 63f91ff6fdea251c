// useChartables.ts — the one list of what can be charted (lib/chartables.ts) for the current
// tenant: events seen (Query.events) and metric definitions. On a server without Query.events
// the events are those the definitions count (it cannot list the others).
import { useMemo } from 'react';
import { useQuery } from '@apollo/client/react';
import { useSession } from '../context';
import { has } from '../lib/api';
import { buildChartables, type Chartable } from '../lib/chartables';
import { EVENTS, METRIC_DEFINITIONS, type EventInfo, type MetricDefinition } from '../lib/queries';

export function useChartables(): {
  list: Chartable[]; events: EventInfo[]; defs: MetricDefinition[]; loading: boolean; error: string | null;
  refetch: () => void; eventsKnown: boolean;
} {
  const { tenant, caps } = useSession();
  const eventsKnown = has(caps, 'Query', 'events');
  const defs = useQuery<{ metricDefinitions: MetricDefinition[] }>(METRIC_DEFINITIONS, { variables: { tenant } });
  const ev = useQuery<{ events: EventInfo[] }>(EVENTS, { variables: { tenant }, skip: !eventsKnown });
  const loading = (defs.loading && !defs.data) || (eventsKnown && ev.loading && !ev.data);
  // the list appears whole or not at all: a partial one (definitions before the events came)
  // would offer a different list for a moment and pick a different default
  const list = useMemo(
    () => (loading ? [] : buildChartables(ev.data?.events ?? [], defs.data?.metricDefinitions ?? [])),
    [loading, ev.data, defs.data],
  );
  return {
    list,
    events: ev.data?.events ?? [],
    defs: defs.data?.metricDefinitions ?? [],
    loading,
    error: defs.error?.message ?? ev.error?.message ?? null,
    refetch: () => { defs.refetch(); if (eventsKnown) ev.refetch(); },
    eventsKnown,
  };
}
