// queries.ts — every GraphQL document the dashboard sends (SPEC §6 names) and the shapes of their
// answers. Kept in one file so a schema change touches one place. Fields a server may not have
// yet are asked for only when introspection says they exist (see the *Doc builders and api.ts).
import { gql } from '@apollo/client';
import type { EventInfo, MetricDefinition } from './chartables';

export type { EventInfo, MetricDefinition };

export const METRIC_DEFINITIONS = gql`
  query MetricDefinitions($tenant: String!) {
    metricDefinitions(tenant: $tenant) { name eventName aggregation property dimensions }
  }
`;

// The recount of stored events after a definition changed (MetricDefinition.backfill). Kept out of
// Apollo's cache (fetchPolicy no-cache where used): the same field with another selection would
// replace METRIC_DEFINITIONS' cached list.
export const METRIC_BACKFILLS = gql`
  query MetricBackfills($tenant: String!) {
    metricDefinitions(tenant: $tenant) { name backfill { state progress daysDone daysTotal events error } }
  }
`;

export const EVENTS = gql`
  query Events($tenant: String!) {
    events(tenant: $tenant) {
      name count lastSeen
      properties { name seen sampled types distinctValues topValues }
    }
  }
`;

export const DEFINE_METRIC = gql`
  mutation DefineMetric($tenant: String!, $input: MetricInput!) {
    defineMetric(tenant: $tenant, input: $input) { name eventName aggregation property dimensions }
  }
`;

// Renaming moves the rows, alerts and saved charts with it; deleting refuses a metric an alert
// uses (lib/catalog's rules, the same as the CLI's; the messages say what to do).
export const RENAME_METRIC = gql`
  mutation RenameMetric($tenant: String!, $name: String!, $newName: String!) {
    renameMetric(tenant: $tenant, name: $name, newName: $newName) { name eventName aggregation property dimensions }
  }
`;

export const DELETE_METRIC = gql`
  mutation DeleteMetric($tenant: String!, $name: String!) {
    deleteMetric(tenant: $tenant, name: $name) { name }
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

// ---- dashboards ----------------------------------------------------------------------------

export const DASHBOARDS = gql`
  query Dashboards($tenant: String!) {
    dashboards(tenant: $tenant) { id name layout updatedAt }
  }
`;

/** saveDashboard: with an id it replaces that dashboard; without one it creates, and an existing
 *  name is a CONFLICT error unless overwrite is true (the UI asks first). */
export const SAVE_DASHBOARD = gql`
  mutation SaveDashboard($tenant: String!, $name: String!, $layout: JSON!, $id: ID, $overwrite: Boolean) {
    saveDashboard(tenant: $tenant, name: $name, layout: $layout, id: $id, overwrite: $overwrite) { id name layout updatedAt }
  }
`;

export const RENAME_DASHBOARD = gql`
  mutation RenameDashboard($tenant: String!, $id: ID!, $name: String!) {
    renameDashboard(tenant: $tenant, id: $id, name: $name) { id name layout updatedAt }
  }
`;

export const DELETE_DASHBOARD = gql`
  mutation DeleteDashboard($tenant: String!, $id: ID!) {
    deleteDashboard(tenant: $tenant, id: $id)
  }
`;

export interface Dashboard {
  id: string;
  name: string;
  layout: unknown;
  updatedAt?: string;
}

// ---- alerts --------------------------------------------------------------------------------

const ALERT_FIELDS = 'id name metric filter comparator threshold granularity enabled createdAt timezone webhookUrl';

export const ALERTS = gql`
  query Alerts($tenant: String!) {
    alerts(tenant: $tenant) { ${ALERT_FIELDS} }
  }
`;

/** The older server's alert fields (no zone, no webhook). */
export const ALERTS_BASIC = gql`
  query AlertsBasic($tenant: String!) {
    alerts(tenant: $tenant) { id name metric filter comparator threshold granularity enabled }
  }
`;

export const ALERT_HISTORY = gql`
  query AlertHistory($tenant: String!, $limit: Int) {
    alerts(tenant: $tenant) {
      id name metric comparator threshold
      history(limit: $limit) { firedAt bucket value dimensions delivery attempts deliveryError }
    }
  }
`;

export const CREATE_ALERT = gql`
  mutation CreateAlert($tenant: String!, $input: AlertInput!) {
    createAlert(tenant: $tenant, input: $input) { ${ALERT_FIELDS} webhookSecret }
  }
`;

export const CREATE_ALERT_BASIC = gql`
  mutation CreateAlertBasic($tenant: String!, $input: AlertInput!) {
    createAlert(tenant: $tenant, input: $input) { id name metric filter comparator threshold granularity enabled }
  }
`;

export const UPDATE_ALERT = gql`
  mutation UpdateAlert($tenant: String!, $id: ID!, $input: AlertInput!) {
    updateAlert(tenant: $tenant, id: $id, input: $input) { ${ALERT_FIELDS} }
  }
`;

export const SET_ALERT_ENABLED = gql`
  mutation SetAlertEnabled($tenant: String!, $id: ID!, $enabled: Boolean!) {
    setAlertEnabled(tenant: $tenant, id: $id, enabled: $enabled) { ${ALERT_FIELDS} }
  }
`;

export const DELETE_ALERT = gql`
  mutation DeleteAlert($tenant: String!, $id: ID!) {
    deleteAlert(tenant: $tenant, id: $id)
  }
`;

export const ALERT_FIRED = `
  subscription AlertFired($tenant: String!) {
    alertFired(tenant: $tenant) { alertId name metric timestamp value dimensions }
  }
`;

export type Comparator = 'GT' | 'GTE' | 'LT' | 'LTE' | 'EQ' | 'NEQ';
export const COMPARATORS: { value: Comparator; label: string; words: string }[] = [
  { value: 'GT', label: '>', words: 'above' }, { value: 'GTE', label: '≥', words: 'at least' },
  { value: 'LT', label: '<', words: 'below' }, { value: 'LTE', label: '≤', words: 'at most' },
  { value: 'EQ', label: '=', words: 'equal to' }, { value: 'NEQ', label: '≠', words: 'not equal to' },
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
  createdAt?: string;
  timezone?: string | null;
  webhookUrl?: string | null;
  webhookSecret?: string | null;
}

export type Delivery = 'none' | 'pending' | 'delivered' | 'failed';

export interface AlertFiring {
  firedAt: string;
  bucket: string;
  value: number;
  dimensions: Record<string, unknown> | null;
  delivery: Delivery | string;
  attempts?: number;
  deliveryError?: string | null;
}

/** A firing pushed by alertFired (older fields). */
export interface AlertFiredPush {
  alertId: string;
  name?: string | null;
  metric?: string | null;
  timestamp?: string | null; // the bucket that crossed the threshold
  dimensions?: Record<string, unknown> | null;
  value?: number | null;
}

// ---- keys and members ----------------------------------------------------------------------

export const API_KEYS = gql`
  query ApiKeys($tenant: String!) {
    apiKeys(tenant: $tenant) { keyId name scopes rateLimit createdAt revokedAt lastUsedAt }
  }
`;

export const API_KEYS_BASIC = gql`
  query ApiKeysBasic($tenant: String!) {
    apiKeys(tenant: $tenant) { keyId name scopes rateLimit createdAt revokedAt }
  }
`;

export const CREATE_API_KEY = gql`
  mutation CreateApiKey($tenant: String!, $scopes: [String!]!, $name: String, $rateLimit: Int) {
    createApiKey(tenant: $tenant, scopes: $scopes, name: $name, rateLimit: $rateLimit) {
      key apiKey { keyId name scopes rateLimit createdAt revokedAt }
    }
  }
`;

export const REVOKE_API_KEY = gql`
  mutation RevokeApiKey($tenant: String!, $keyId: ID!) {
    revokeApiKey(tenant: $tenant, keyId: $keyId) { keyId revokedAt }
  }
`;

export interface ApiKey {
  keyId: string;
  name?: string | null;
  scopes: string[];
  rateLimit?: number | null;
  createdAt: string;
  revokedAt?: string | null;
  lastUsedAt?: string | null;
}

export const MEMBERS = gql`
  query Members($tenant: String!) {
    members(tenant: $tenant) { issuer subject name email role createdAt lastLoginAt }
  }
`;

export interface Member {
  issuer: string;
  subject: string;
  name?: string | null;
  email?: string | null;
  role: string;
  createdAt?: string | null;
  lastLoginAt?: string | null;
}
