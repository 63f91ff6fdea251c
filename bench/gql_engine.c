/*
 * gql_engine.c — how long our GraphQL engine takes for the dashboard's own documents, with the
 * product schema (services/graphql-api/schema.graphql, compiled in): "cold" = lex + parse +
 * validate + execute + serialize every time; "cached" = execute + serialize a document prepared
 * once (what graphql-api does after its document cache has seen the query). Resolvers return fixed
 * JSON of a realistic size (24 hourly points x 5 pages), so this measures the engine, not
 * PostgreSQL. Prints the median over rounds of the mean time per operation. Usage: gql-engine-bench
 * [ROUNDS]
 */
#include "ea_gql.h"
#include "ea_time.h"
#include "gql_schema_sdl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *points;

static int r_metrics(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    *out = json_incref(points);
    return 0;
}

static int r_defs(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    json_t *a = json_array();
    for (int i = 0; i < 5; i++)
        json_array_append_new(a,
                              json_pack("{s:s,s:s,s:s,s:n,s:[s],s:i}", "name", "page_views",
                                        "eventName", "page_view", "aggregation", "count",
                                        "property", "dimensions", "page", "cardinalityCap", 1000));
    *out = a;
    return 0;
}

static int r_empty_list(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    *out = json_array();
    return 0;
}

static const char *const docs[][2] = {
    {"metrics (24 h x 5 pages)",
     "query Metrics($tenant: String!, $name: String!, $start: DateTime!, $end: DateTime!, "
     "$groupBy: [String!], $granularity: Granularity, $timezone: String, $filter: JSON) {\n"
     "  metrics(tenant: $tenant, name: $name, startTime: $start, endTime: $end, groupBy: "
     "$groupBy, granularity: $granularity, timezone: $timezone, filter: $filter) {\n"
     "    timestamp value dimensions revision final __typename\n  }\n}"},
    {"metricDefinitions",
     "query MetricDefinitions($tenant: String!) {\n  metricDefinitions(tenant: $tenant) { name "
     "eventName aggregation property dimensions __typename }\n}"},
    {"dashboards",
     "query Dashboards($tenant: String!) {\n  dashboards(tenant: $tenant) { id name layout "
     "updatedAt __typename }\n}"},
    {"alerts",
     "query Alerts($tenant: String!) {\n  alerts(tenant: $tenant) { id name metric filter "
     "comparator threshold granularity enabled __typename }\n}"},
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 7;
    if (rounds < 1 || rounds > 101)
        rounds = 7;
    char errbuf[256];
    ea_gql_schema *s = ea_gql_schema_parse(gql_schema_sdl, errbuf, sizeof(errbuf));
    if (s == NULL) {
        fprintf(stderr, "gql-engine-bench: could not parse the schema: %s\n", errbuf);
        return 1;
    }
    ea_gql_schema_set_resolver(s, "Query", "metrics", r_metrics);
    ea_gql_schema_set_resolver(s, "Query", "metricDefinitions", r_defs);
    ea_gql_schema_set_resolver(s, "Query", "dashboards", r_empty_list);
    ea_gql_schema_set_resolver(s, "Query", "alerts", r_empty_list);
    points = json_array();
    for (int h = 0; h < 24; h++) {
        char ts[48];
        ea_time_format_iso8601(INT64_C(1764115200000) + h * EA_MS_PER_HOUR, ts);
        for (int p = 0; p < 5; p++) {
            char page[16];
            snprintf(page, sizeof(page), "/p%d", p);
            json_array_append_new(points, json_pack("{s:s,s:f,s:{s:s},s:i,s:b}", "timestamp", ts,
                                                    "value", 17.0 + h + p, "dimensions", "page",
                                                    page, "revision", 0, "final", h < 23));
        }
    }
    json_t *vars =
        json_pack("{s:s,s:s,s:s,s:s,s:[s],s:s,s:s}", "tenant", "acme-corp", "name", "page_views",
                  "start", "2026-11-26T00:00:00Z", "end", "2026-11-26T23:59:59Z", "groupBy", "page",
                  "granularity", "HOUR", "timezone", "UTC");
    ea_gql_limits lim;
    ea_gql_limits_default(&lim);

    printf("%-26s %12s %12s %8s\n", "document", "cold us/op", "cached us/op", "bytes");
    for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
        const char *q = docs[d][1];
        double cold[101], cached[101];
        size_t bytes = 0;
        const int iters = 2000;
        for (int r = 0; r < rounds; r++) {
            int64_t t0 = ea_time_mono_ns();
            for (int i = 0; i < iters; i++) {
                json_t *errors = NULL;
                ea_gql_document *doc = ea_gql_prepare(s, q, strlen(q), &lim, &errors);
                if (doc == NULL) {
                    fprintf(stderr, "gql-engine-bench: %s does not validate\n", docs[d][0]);
                    return 1;
                }
                bool reqerr;
                json_t *res = ea_gql_execute(s, doc, NULL, vars, NULL, NULL, &lim, &reqerr);
                char *txt = json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER);
                bytes = strlen(txt);
                free(txt);
                json_decref(res);
                ea_gql_document_free(doc);
            }
            cold[r] = (double)(ea_time_mono_ns() - t0) / iters / 1000.0;
            json_t *errors = NULL;
            ea_gql_document *doc = ea_gql_prepare(s, q, strlen(q), &lim, &errors);
            t0 = ea_time_mono_ns();
            for (int i = 0; i < iters; i++) {
                bool reqerr;
                json_t *res = ea_gql_execute(s, doc, NULL, vars, NULL, NULL, &lim, &reqerr);
                char *txt = json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER);
                free(txt);
                json_decref(res);
            }
            cached[r] = (double)(ea_time_mono_ns() - t0) / iters / 1000.0;
            ea_gql_document_free(doc);
        }
        qsort(cold, (size_t)rounds, sizeof(double), cmp_double);
        qsort(cached, (size_t)rounds, sizeof(double), cmp_double);
        printf("%-26s %12.1f %12.1f %8zu\n", docs[d][0], cold[rounds / 2], cached[rounds / 2],
               bytes);
    }
    json_decref(vars);
    json_decref(points);
    ea_gql_schema_free(s);
    return 0;
}
