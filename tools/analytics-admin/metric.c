/*
 * metric.c — `analytics-admin metric define|list`: metric definitions the worker rolls up
 * (SPEC §5). `define` is an upsert on (tenant, name): redefining a metric changes how new events
 * are counted, not rows already rolled up. Every event name also gets an automatic count metric
 * in the worker; those are not stored here.
 */
#include "admin.h"

#include <string.h>

static const char usage[] =
    "usage: analytics-admin metric define --tenant T --name N --event E\n"
    "                [--aggregation count|sum|min|max|avg|unique] [--property P]\n"
    "                [--dimensions a,b] [--cardinality-cap N]\n"
    "       analytics-admin metric list --tenant T\n"
    "\n"
    "define  creates or replaces metric N of tenant T over events named E. The aggregation\n"
    "        defaults to count; the others read the numeric (unique: any) property P, which they\n"
    "        require. Up to 8 dimension properties; each keeps at most N distinct values per\n"
    "        bucket (default 1000), the rest fold into \"__other__\".\n"
    "list    shows the tenant's metric definitions.\n";

static int metric_define(const struct adm_cfg *cfg, int argc, char **argv)
{
    const char *tenant, *name, *event, *agg, *prop, *dims, *cap;
    size_t npos;
    struct adm_opt opts[] = {{"tenant", &tenant},      {"name", &name},     {"event", &event},
                             {"aggregation", &agg},    {"property", &prop}, {"dimensions", &dims},
                             {"cardinality-cap", &cap}};
    int prc =
        adm_opts_parse(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), NULL, 0, &npos, usage);
    if (prc != ADM_EXIT_OK)
        return prc == ADM_HELP_SHOWN ? ADM_EXIT_OK : prc;
    if (tenant == NULL || name == NULL || event == NULL)
        return adm_usage_error(usage, "metric define needs --tenant, --name and --event");
    if (!adm_tenant_id_valid(tenant))
        return adm_usage_error(usage, "invalid tenant id \"%s\"", tenant);
    if (!adm_text_valid(name, ADM_NAME_MAX))
        return adm_usage_error(
            usage, "invalid metric name: 1 to %d bytes without control characters", ADM_NAME_MAX);
    if (!adm_text_valid(event, ADM_EVENT_MAX))
        return adm_usage_error(
            usage, "invalid event name: 1 to %d bytes without control characters", ADM_EVENT_MAX);
    if (agg == NULL)
        agg = "count";
    if (!adm_aggregation_valid(agg))
        return adm_usage_error(usage,
                               "invalid aggregation \"%s\": expected count, sum, min, max, avg or "
                               "unique",
                               agg);
    bool is_count = strcmp(agg, "count") == 0;
    if (!is_count && prop == NULL)
        return adm_usage_error(usage, "aggregation %s needs --property", agg);
    if (is_count && prop != NULL)
        return adm_usage_error(usage, "aggregation count takes no --property (it counts events)");
    if (prop != NULL && !adm_text_valid(prop, ADM_NAME_MAX))
        return adm_usage_error(
            usage, "invalid property name: 1 to %d bytes without control characters", ADM_NAME_MAX);
    struct ea_err err = {0};
    char dims_array[ADM_ARRAY_MAX];
    int ndims = 0;
    if (adm_parse_dimensions(dims != NULL ? dims : "", dims_array, &ndims, &err) != EA_OK)
        return adm_usage_error(usage, "%s", err.message);
    long capv = 1000;
    if (cap != NULL && !adm_parse_long(cap, 1, 1000000, &capv))
        return adm_usage_error(usage, "invalid --cardinality-cap \"%s\": expected 1 to 1000000",
                               cap);
    char capbuf[24];
    snprintf(capbuf, sizeof(capbuf), "%ld", capv);

    PGconn *c = adm_connect(cfg);
    if (c == NULL)
        return ADM_EXIT_FAIL;
    int rc = ADM_EXIT_OK;
    PGresult *res = NULL;
    if (adm_tenant_require(c, tenant, "define metric", &err) != EA_OK) {
        rc = adm_fail(&err);
        goto out;
    }
    const char *params[] = {tenant, name, event, agg, prop, dims_array, capbuf};
    /* xmax = 0 only on a freshly inserted row: tells "created" from "updated". */
    res = adm_query(c, "define metric",
                    "INSERT INTO metric_definitions (tenant_id, name, event_name, aggregation,"
                    " property, dimensions, cardinality_cap)"
                    " VALUES ($1, $2, $3, $4, $5, $6::text[], $7::integer)"
                    " ON CONFLICT (tenant_id, name) DO UPDATE SET event_name = EXCLUDED.event_name,"
                    " aggregation = EXCLUDED.aggregation, property = EXCLUDED.property,"
                    " dimensions = EXCLUDED.dimensions, cardinality_cap = EXCLUDED.cardinality_cap"
                    " RETURNING (xmax = 0) AS created",
                    7, params, PGRES_TUPLES_OK, &err);
    if (res == NULL) {
        if (strcmp(err.sqlstate, "23503") == 0)
            ea_err_set(&err, EA_ERR_NOTFOUND,
                       "could not define metric: tenant \"%s\" does not exist", tenant);
        rc = adm_fail(&err);
        goto out;
    }
    printf("%s metric %s of tenant %s: %s of event %s%s%s, %d dimension%s%s%s, cardinality cap "
           "%ld\n",
           strcmp(PQgetvalue(res, 0, 0), "t") == 0 ? "created" : "updated", name, tenant, agg,
           event, prop != NULL ? ", property " : "", prop != NULL ? prop : "", ndims,
           ndims == 1 ? "" : "s", ndims > 0 ? " " : "", ndims > 0 ? dims : "", capv);
out:
    PQclear(res);
    PQfinish(c);
    return rc;
}

static int metric_list(const struct adm_cfg *cfg, int argc, char **argv)
{
    const char *tenant;
    size_t npos;
    struct adm_opt opts[] = {{"tenant", &tenant}};
    int prc = adm_opts_parse(argc, argv, opts, 1, NULL, 0, &npos, usage);
    if (prc != ADM_EXIT_OK)
        return prc == ADM_HELP_SHOWN ? ADM_EXIT_OK : prc;
    if (tenant == NULL)
        return adm_usage_error(usage, "metric list needs --tenant");
    if (!adm_tenant_id_valid(tenant))
        return adm_usage_error(usage, "invalid tenant id \"%s\"", tenant);
    PGconn *c = adm_connect(cfg);
    if (c == NULL)
        return ADM_EXIT_FAIL;
    struct ea_err err = {0};
    const char *params[] = {tenant};
    int rc = ADM_EXIT_OK;
    PGresult *res = NULL;
    if (adm_tenant_require(c, tenant, "list metrics", &err) != EA_OK) {
        rc = adm_fail(&err);
        goto out;
    }
    res = adm_query(c, "list metrics",
                    "SELECT name, event_name AS event, aggregation, property,"
                    " array_to_string(dimensions, ',') AS dimensions, cardinality_cap"
                    " FROM metric_definitions WHERE tenant_id = $1 ORDER BY name",
                    1, params, PGRES_TUPLES_OK, &err);
    if (res == NULL)
        rc = adm_fail(&err);
    else
        adm_print_table(res, stdout);
out:
    PQclear(res);
    PQfinish(c);
    return rc;
}

int adm_cmd_metric(const struct adm_cfg *cfg, int argc, char **argv)
{
    if (argc < 2)
        return adm_usage_error(usage, "metric needs a subcommand: define or list");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return ADM_EXIT_OK;
    }
    if (strcmp(argv[1], "define") == 0)
        return metric_define(cfg, argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0)
        return metric_list(cfg, argc - 1, argv + 1);
    return adm_usage_error(usage, "unknown metric subcommand \"%s\"", argv[1]);
}
