// queries.ts — every GraphQL document the dashboard sends (SPEC §6 names). Kept in one file so
// a schema change touches one place.
import { gql } from '@apollo/client';

export const METRIC_DEFINITIONS = gql`
  query MetricDefinitions($tenant: String!) {
    metricDefinitions(tenant: $tenant) { name eventName aggregation property dimensions }
  }
`;

export const METRICS = gql`
  query Metrics($tenant: String!, $name: String!, $start: DateTime!, $end: DateTime!, $groupBy: [String!],
                $granularity: Granularity, $timezone: String, $filter: JSON) {
    metrics(tenant: $tenant, name: $name, startTime: $start, endTime: $end, groupBy: $groupBy,
            granularity: $granularity, timezone: $timezone, filter: $filter) {
      timestamp value dimensions revision final
    }
  }
`;

export const METRIC_UPDATED = `
  subscription MetricUpdated($tenant: String!, $name: String!, $granularity: Granularity, $groupBy: [String!],
                             $timezone: String) {
    metricUpdated(tenant: $tenant, name: $name, granularity: $granularity, groupBy: $groupBy, timezone: $timezone) {
      timestamp value dimensions revision final
    }
  }
`;

export const DASHBOARDS = gql`
  query Dashboards($tenant: String!) {
    dashboards(tenant: $tenant) { id name layout updatedAt }
  }
`;

export const SAVE_DASHBOARD = gql`
  mutation SaveDashboard($tenant: String!, $name: String!, $layout: JSON!) {
    saveDashboard(tenant: $tenant, name: $name, layout: $layout) { id name layout updatedAt }
  }
`;

export const ALERTS = gql`
  query Alerts($tenant: String!) {
    alerts(tenant: $tenant) {
      id name metric filter comparator threshold granularity enabled
    }
  }
`;

export const ALERT_HISTORY = gql`
  query AlertHistory($tenant: String!) {
    alerts(tenant: $tenant) {
      id name history { timestamp value dimensions firedAt }
    }
  }
`;

export const CREATE_ALERT = gql`
  mutation CreateAlert($tenant: String!, $input: AlertInput!) {
    createAlert(tenant: $tenant, input: $input) {
      id name metric filter comparator threshold granularity enabled
    }
  }
`;

export const ALERT_FIRED = `
  subscription AlertFired($tenant: String!) {
    alertFired(tenant: $tenant) { alertId name metric timestamp value dimensions }
  }
`;

export interface MetricDefinition {
  name: string;
  eventName: string;
  aggregation: string;
  property: string | null;
  dimensions: string[];
}

export interface ChartConfig {
  title?: string;
  metric: string;
  groupBy: string[];
  granularity: 'HOUR' | 'DAY';
  range: '24h' | '7d' | '30d' | '90d';
  timezone: string;
}

/** A chart as a dashboard layout stores it (graphql-api checks these fields). */
export interface SavedChart {
  title?: string;
  metric: string;
  groupBy?: string[];
  granularity?: 'HOUR' | 'DAY';
  timezone?: string;
  timeRange?: { last?: string } | null;
}

export function toSavedChart(c: ChartConfig): SavedChart {
  return { title: c.title, metric: c.metric, groupBy: c.groupBy, granularity: c.granularity, timezone: c.timezone,
    timeRange: { last: c.range } };
}

const RANGE_KEYS = ['24h', '7d', '30d', '90d'];
export function fromSavedChart(s: SavedChart): ChartConfig {
  const last = s.timeRange?.last ?? '7d';
  return {
    title: s.title, metric: s.metric, groupBy: s.groupBy ?? [], granularity: s.granularity === 'HOUR' ? 'HOUR' : 'DAY',
    timezone: s.timezone || 'UTC', range: (RANGE_KEYS.includes(last) ? last : '7d') as ChartConfig['range'],
  };
}

export interface Dashboard {
  id: string;
  name: string;
  layout: { charts?: SavedChart[] } | null;
  updatedAt?: string;
}

export type Comparator = 'GT' | 'GTE' | 'LT' | 'LTE' | 'EQ' | 'NEQ';
export const COMPARATORS: { value: Comparator; label: string }[] = [
  { value: 'GT', label: '>' }, { value: 'GTE', label: '≥' }, { value: 'LT', label: '<' },
  { value: 'LTE', label: '≤' }, { value: 'EQ', label: '=' }, { value: 'NEQ', label: '≠' },
];

export interface Alert {
  id: string;
  name: string;
  metric: string;
  filter: Record<string, unknown> | null;
  comparator: Comparator;
  threshold: number;
  granularity: 'HOUR' | 'DAY';
  enabled: boolean;
}

export interface AlertFiring {
  alertId: string;
  name?: string | null;
  metric?: string | null;
  timestamp?: string | null; // the bucket that crossed the threshold
  dimensions?: Record<string, unknown> | null;
  value?: number | null;
  firedAt?: string | null;
}
