/*
 * schema.c — the table binding Type.field of the public API (SDL in schema.graphql) to the
 * resolvers in resolvers.c, and the cost function (the buckets a metrics field can touch).
 */
#include "schema.h"
#include "gql_schema_sdl.h"
#include "ea_time.h"
#include "events.h"
#include "resolvers.h"
#include "series.h"

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
    /* the buckets the field can touch: its range clipped to what a rollup table can hold — no
     * bucket starts later than now + GQL_SERIES_FUTURE_MS holds events, none older than the
     * table's default retention holds rows (hourly 90 days, daily 730) — so a chart "to 2030"
     * costs what its past costs. What the field really reads (rows) is measured by PostgreSQL's
     * planner before the read (resolvers.c, GRAPHQL_MAX_ROWS); this bound only stops operations
     * of very many fields. */
    int64_t from, to;
    const json_t *s = json_object_get(args, "startTime"), *e = json_object_get(args, "endTime");
    if (!json_is_string(s) || !json_is_string(e) ||
        !ea_time_parse_iso8601(json_string_value(s), json_string_length(s), &from) ||
        !ea_time_parse_iso8601(json_string_value(e), json_string_length(e), &to) || to < from)
        return 1; /* the resolver reports the bad argument */
    const char *g = json_string_value(json_object_get(args, "granularity"));
    bool day = g != NULL && strcmp(g, "DAY") == 0;
    int64_t step = day ? EA_MS_PER_DAY : EA_MS_PER_HOUR;
    int64_t now = ea_time_now_ms(), keep = (day ? 731 : 91) * EA_MS_PER_DAY;
    if (to > now + GQL_SERIES_FUTURE_MS)
        to = now + GQL_SERIES_FUTURE_MS;
    if (from < now - keep)
        from = now - keep;
    return to < from ? 1 : (long)((to - from) / step) + 1;
}
