/*
 * schema.c — the table binding Type.field of the public API (SDL in schema.graphql) to the
 * resolvers in resolvers.c, and the cost function.
 */
#include "schema.h"
#include "gql_schema_sdl.h"
#include "ea_time.h"
#include "events.h"
#include "resolvers.h"

#include <stdio.h>
#include <string.h>

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
    {"Query", "events", gql_resolve_events},
    {"Mutation", "defineMetric", gql_resolve_define_metric},
    {"Mutation", "saveDashboard", gql_resolve_save_dashboard},
    {"Mutation", "createAlert", gql_resolve_create_alert},
    {"Mutation", "renameDashboard", gql_resolve_rename_dashboard},
    {"Mutation", "deleteDashboard", gql_resolve_delete_dashboard},
    {"Mutation", "updateAlert", gql_resolve_update_alert},
    {"Mutation", "setAlertEnabled", gql_resolve_set_alert_enabled},
    {"Mutation", "deleteAlert", gql_resolve_delete_alert},
    {"Alert", "history", gql_resolve_alert_history},
    {"Query", "members", gql_resolve_members},
    {"Mutation", "createApiKey", gql_resolve_create_api_key},
    {"Mutation", "revokeApiKey", gql_resolve_revoke_api_key},
    {"Mutation", "deleteMetric", gql_resolve_delete_metric},
    {"Mutation", "renameMetric", gql_resolve_rename_metric},
};

ea_gql_schema *gql_schema_build(char *errbuf, size_t errlen)
{
    ea_gql_schema *s = ea_gql_schema_parse(gql_schema_sdl, errbuf, errlen);
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
