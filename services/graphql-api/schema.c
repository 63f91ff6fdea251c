/*
 * schema.c — SDL of the public API (SPEC §6; names fixed, more fields welcome) and the table
 * binding Type.field to resolvers in resolvers.c.
 */
#include "schema.h"
#include "ea_time.h"
#include "resolvers.h"

#include <stdio.h>
#include <string.h>

static const char sdl[] =
    "\"An ISO-8601 date-time in UTC, e.g. 2026-01-31T23:00:00Z\"\n"
    "scalar DateTime\n"
    "\"Any JSON value\"\n"
    "scalar JSON\n"
    "enum Granularity { HOUR DAY }\n"
    "enum Comparator { GT GTE LT LTE EQ NEQ }\n"
    "type MetricPoint {\n"
    "  timestamp: DateTime!\n"
    "  value: Float!\n"
    "  dimensions: JSON!\n"
    "  revision: Int!\n"
    "  final: Boolean!\n"
    "}\n"
    "type MetricDefinition {\n"
    "  name: String!\n"
    "  eventName: String!\n"
    "  aggregation: String!\n"
    "  property: String\n"
    "  dimensions: [String!]!\n"
    "  cardinalityCap: Int!\n"
    "}\n"
    "\"A saved dashboard: layout is {charts: [{metric, groupBy, granularity, timezone, "
    "timeRange}]}\"\n"
    "type Dashboard { id: ID! tenant: String! name: String! layout: JSON! updatedAt: DateTime! }\n"
    "\"A threshold alert; the worker evaluates it when a bucket closes\"\n"
    "type Alert {\n"
    "  id: ID! tenant: String! name: String! metric: String! filter: JSON!\n"
    "  comparator: Comparator! threshold: Float! granularity: Granularity! enabled: Boolean!\n"
    "  createdAt: DateTime!\n"
    "}\n"
    "type AlertFired {\n"
    "  tenant: String! alertId: ID! name: String metric: String timestamp: DateTime\n"
    "  value: Float dimensions: JSON! payload: JSON!\n"
    "}\n"
    "type ApiKey {\n"
    "  keyId: ID! tenant: String! scopes: [String!]! name: String rateLimit: Int\n"
    "  createdAt: DateTime! revokedAt: DateTime\n"
    "}\n"
    "\"The new key is shown only in this answer\"\n"
    "type NewApiKey { key: String! apiKey: ApiKey! }\n"
    "type Tenant { id: String! name: String! \"viewer or admin (signed-in users)\" role: String }\n"
    "type Me { kind: String! keyId: String \"signed-in user's display name\" name: String\n"
    "  tenants: [Tenant!]! scopes: [String!]! }\n"
    "type Query {\n"
    "  metrics(tenant: String!, name: String!, startTime: DateTime!, endTime: DateTime!,\n"
    "          groupBy: [String!], granularity: Granularity = HOUR, timezone: String = \"UTC\",\n"
    "          filter: JSON): [MetricPoint!]!\n"
    "  metricDefinitions(tenant: String!): [MetricDefinition!]!\n"
    "  dashboards(tenant: String!): [Dashboard!]!\n"
    "  alerts(tenant: String!): [Alert!]!\n"
    "  apiKeys(tenant: String!): [ApiKey!]!\n"
    "  me: Me\n"
    "}\n"
    "input MetricInput {\n"
    "  name: String!\n"
    "  eventName: String!\n"
    "  aggregation: String = \"count\"\n"
    "  property: String\n"
    "  dimensions: [String!] = []\n"
    "  cardinalityCap: Int = 1000\n"
    "}\n"
    "input AlertInput {\n"
    "  name: String!\n"
    "  metric: String!\n"
    "  filter: JSON\n"
    "  comparator: Comparator!\n"
    "  threshold: Float!\n"
    "  granularity: Granularity = HOUR\n"
    "}\n"
    "type Mutation {\n"
    "  defineMetric(tenant: String!, input: MetricInput!): MetricDefinition!\n"
    "  saveDashboard(tenant: String!, name: String!, layout: JSON!): Dashboard!\n"
    "  createAlert(tenant: String!, input: AlertInput!): Alert!\n"
    "  createApiKey(tenant: String!, scopes: [String!]!, name: String, rateLimit: Int): "
    "NewApiKey!\n"
    "  revokeApiKey(tenant: String!, keyId: ID!): ApiKey!\n"
    "}\n"
    "type Subscription {\n"
    "  metricUpdated(tenant: String!, name: String!, granularity: Granularity = HOUR,\n"
    "                groupBy: [String!], timezone: String = \"UTC\", filter: JSON): MetricPoint!\n"
    "  alertFired(tenant: String!): AlertFired!\n"
    "}\n";

static const struct {
    const char *type, *field;
    ea_gql_resolver_fn fn;
} bindings[] = {
    {"Query", "metrics", gql_resolve_metrics},
    {"Query", "metricDefinitions", gql_resolve_metric_definitions},
    {"Query", "dashboards", gql_resolve_dashboards},
    {"Query", "alerts", gql_resolve_alerts},
    {"Query", "apiKeys", gql_resolve_api_keys},
    {"Query", "me", gql_resolve_me},
    {"Mutation", "defineMetric", gql_resolve_define_metric},
    {"Mutation", "saveDashboard", gql_resolve_save_dashboard},
    {"Mutation", "createAlert", gql_resolve_create_alert},
    {"Mutation", "createApiKey", gql_resolve_create_api_key},
    {"Mutation", "revokeApiKey", gql_resolve_revoke_api_key},
};

ea_gql_schema *gql_schema_build(char *errbuf, size_t errlen)
{
    ea_gql_schema *s = ea_gql_schema_parse(sdl, errbuf, errlen);
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(bindings) / sizeof(bindings[0]); i++) {
        if (ea_gql_schema_set_resolver(s, bindings[i].type, bindings[i].field, bindings[i].fn) !=
            0) {
            snprintf(errbuf, errlen, "no field %s.%s in the schema", bindings[i].type,
                     bindings[i].field);
            ea_gql_schema_free(s);
            return NULL;
        }
    }
    return s;
}

long gql_schema_cost(const char *parent_type, const char *field, const json_t *args, void *ud)
{
    if (strcmp(field, "metrics") != 0 || strcmp(parent_type, "Query") != 0)
        return 1;
    /* buckets x groups: the number of points the answer can hold at most, estimated from the
     * time range and granularity; each groupBy dimension multiplies by an assumed 5 values. */
    int64_t from, to;
    const json_t *s = json_object_get(args, "startTime"), *e = json_object_get(args, "endTime");
    if (!json_is_string(s) || !json_is_string(e) ||
        !ea_time_parse_iso8601(json_string_value(s), json_string_length(s), &from) ||
        !ea_time_parse_iso8601(json_string_value(e), json_string_length(e), &to) || to < from)
        return 1; /* the resolver reports the bad argument */
    const char *g = json_string_value(json_object_get(args, "granularity"));
    int64_t step = g != NULL && strcmp(g, "DAY") == 0 ? EA_MS_PER_DAY : EA_MS_PER_HOUR;
    long buckets = (long)((to - from) / step) + 1;
    long groups = 1;
    size_t n = json_array_size(json_object_get(args, "groupBy"));
    for (size_t i = 0; i < n && groups < 1000000; i++)
        groups *= 5;
    return buckets * groups;
}
