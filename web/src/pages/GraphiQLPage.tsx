// GraphiQLPage.tsx — GraphiQL from the project's own bundle (npm graphiql 4 on React 18, code
// split: only this page loads it), same origin, no CDN: it works offline. Queries and mutations
// go over HTTP with the session cookie (or the dev API key); subscriptions over the dashboard's
// graphql-ws client. graphql-api sends browsers that open GET /graphql here.
import { useMemo } from 'react';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import 'graphiql/style.css';
import { useSession } from '../context';
import { authHeaders } from '../lib/api';
import { useChartables } from '../hooks/useChartables';
import { Loading } from '../components/ui';

export default function GraphiQLPage() {
  const { apiKey, ws, tenant } = useSession();
  const fetcher = useMemo(() => createGraphiQLFetcher({
    url: '/graphql',
    headers: { accept: 'application/json', ...authHeaders(apiKey) },
    fetch: (input, init) => fetch(input, { ...init, credentials: 'same-origin' }),
    enableIncrementalDelivery: false,
    wsClient: ws as never,
  }), [apiKey, ws]);
  // the example asks for something this tenant has: page_view when it was seen, else the first
  // of the list of what can be charted (grouped by its first dimension when it has one)
  const { list, loading } = useChartables();
  const pick = list.find((c) => c.name === 'page_views') ?? list.find((c) => c.name === 'page_view') ?? list[0];
  const name = pick?.name ?? 'page_view';
  const group = pick?.dimensions[0];
  const example = `# ${name} per day${group ? ` by ${group}` : ''}, last 7 days (tenant ${tenant})
query Example($start: DateTime!, $end: DateTime!) {
  metrics(tenant: ${JSON.stringify(tenant)}, name: ${JSON.stringify(name)}, startTime: $start, endTime: $end,
          granularity: DAY${group ? `, groupBy: [${JSON.stringify(group)}]` : ''}) {
    timestamp value dimensions
  }
}
`;
  const variables = useMemo(() => {
    const now = new Date();
    return JSON.stringify({
      start: `${new Date(now.getTime() - 7 * 86_400_000).toISOString().slice(0, 10)}T00:00:00Z`, end: now.toISOString(),
    }, null, 2);
  }, []);
  if (loading) return <Loading label="Loading GraphiQL…" />;
  return (
    <div className="graphiql-page" data-testid="graphiql">
      <GraphiQL fetcher={fetcher} defaultQuery={example} variables={variables} />
    </div>
  );
}
