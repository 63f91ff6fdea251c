/*
 * resolvers.c — Query/Mutation resolvers over PostgreSQL. Every resolver starts with
 * check_tenant(); every statement is PQexecParams with tenant_id = $1. Metric values come from
 * the rollup tables: count → Σcnt, sum → Σsum, min/max → min/max, avg → Σsum/Σcnt.
 */
#include "resolvers.h"
#include "app.h"
#include "ea_log.h"
#include "ea_pg.h"
#include "ea_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(ea_gql_error *err, const char *code, const char *fmt, const char *arg)
{
    snprintf(err->code, sizeof(err->code), "%s", code);
    if (snprintf(err->message, sizeof(err->message), fmt, arg) >= (int)sizeof(err->message))
        err->message[sizeof(err->message) - 2] = '.'; /* truncated: long names are cut */
    return -1;
}

static const char *arg_str(const ea_gql_field_ctx *ctx, const char *name)
{
    return json_string_value(json_object_get(ctx->args, name));
}

/* Tenant access on entry of every resolver (gql_principal_can). */
static int check_tenant(const ea_gql_field_ctx *ctx, const char *tenant, unsigned scope,
                        ea_gql_error *err)
{
    gql_request_ctx *rc = ctx->request_ctx;
    if (!gql_principal_can(rc->app, &rc->who, tenant, scope))
        return fail(err, "FORBIDDEN", "not allowed to access tenant \"%s\" with this scope",
                    tenant != NULL ? tenant : "");
    return 0;
}

static PGconn *db_or_fail(const ea_gql_field_ctx *ctx, ea_gql_error *err)
{
    PGconn *c = gql_app_db(((gql_request_ctx *)ctx->request_ctx)->app);
    if (c == NULL)
        fail(err, "SERVICE_UNAVAILABLE", "%s", "database unavailable");
    return c;
}

static int db_fail(ea_gql_error *err, const struct ea_err *e)
{
    ea_log_error("graphql", "%s", e->message);
    return fail(err, "INTERNAL_SERVER_ERROR", "%s", "could not read from the database");
}

/* groupBy as a PostgreSQL text[] literal parameter: {"a","b"} with quotes escaped. */
static char *text_array(const json_t *list)
{
    size_t n = json_array_size(list), cap = 3;
    for (size_t i = 0; i < n; i++)
        cap += 2 * json_string_length(json_array_get(list, i)) + 4;
    char *s = malloc(cap), *p = s;
    if (s == NULL)
        return NULL;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        const char *v = json_string_value(json_array_get(list, i));
        if (i > 0)
            *p++ = ',';
        *p++ = '"';
        for (; v != NULL && *v; v++) {
            if (*v == '"' || *v == '\\')
                *p++ = '\\';
            *p++ = *v;
        }
        *p++ = '"';
    }
    *p++ = '}';
    *p = '\0';
    return s;
}

static const char *value_expr(const char *aggregation)
{
    if (strcmp(aggregation, "sum") == 0)
        return "sum(r.sum)";
    if (strcmp(aggregation, "min") == 0)
        return "min(r.min)";
    if (strcmp(aggregation, "max") == 0)
        return "max(r.max)";
    if (strcmp(aggregation, "avg") == 0)
        return "sum(r.sum) / nullif(sum(r.cnt), 0)";
    return "sum(r.cnt)"; /* count; unique reads cnt until HLL merge lands */
}

int gql_resolve_metrics(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    const char *tenant = arg_str(ctx, "tenant"), *name = arg_str(ctx, "name");
    if (check_tenant(ctx, tenant, EA_SCOPE_READ, err) != 0)
        return -1;
    const char *start = arg_str(ctx, "startTime"), *end = arg_str(ctx, "endTime");
    int64_t from, to;
    if (!ea_time_parse_iso8601(start, strlen(start), &from))
        return fail(err, "BAD_USER_INPUT", "startTime \"%s\" is not an ISO-8601 date-time", start);
    if (!ea_time_parse_iso8601(end, strlen(end), &to))
        return fail(err, "BAD_USER_INPUT", "endTime \"%s\" is not an ISO-8601 date-time", end);
    if (to < from)
        return fail(err, "BAD_USER_INPUT", "%s", "endTime is before startTime");
    const char *gran = arg_str(ctx, "granularity");
    bool day = gran != NULL && strcmp(gran, "DAY") == 0;
    const char *tz = arg_str(ctx, "timezone");
    if (tz == NULL)
        tz = "UTC";
    const json_t *filter = json_object_get(ctx->args, "filter");
    if (filter != NULL && !json_is_null(filter) && !json_is_object(filter))
        return fail(err, "BAD_USER_INPUT", "%s", "filter must be a JSON object of dimension values");

    PGconn *c = db_or_fail(ctx, err);
    if (c == NULL)
        return -1;
    struct ea_err e;
    const char *p1[2] = {tenant, name};
    PGresult *def = ea_pg_query(c,
                                "SELECT aggregation, dimensions::text FROM metric_definitions "
                                "WHERE tenant_id = $1 AND name = $2",
                                2, p1, PGRES_TUPLES_OK, &e);
    if (def == NULL)
        return db_fail(err, &e);
    char aggregation[16] = "count";
    if (PQntuples(def) == 1)
        snprintf(aggregation, sizeof(aggregation), "%s", PQgetvalue(def, 0, 0));
    PQclear(def);

    const json_t *group_by = json_object_get(ctx->args, "groupBy");
    char *groups = text_array(json_is_array(group_by) ? group_by : NULL);
    char *filter_text = filter != NULL && json_is_object(filter)
                            ? json_dumps(filter, JSON_COMPACT)
                            : strdup("{}");
    char from_s[48], to_s[48];
    ea_time_format_iso8601(from, from_s);
    ea_time_format_iso8601(to, to_s);
    if (groups == NULL || filter_text == NULL) {
        free(groups);
        free(filter_text);
        return fail(err, "INTERNAL_SERVER_ERROR", "%s", "out of memory");
    }

    /* UTC days come from the daily rollups; other zones re-bucket the hourly rollups at the
     * zone's local midnight (exact for zones with whole-hour offsets; see ARCHITECTURE.md). */
    char sql[2048];
    const char *table = day && strcmp(tz, "UTC") == 0 ? "rollups_daily" : "rollups_hourly";
    const char *bucket_expr = day && strcmp(tz, "UTC") != 0
                                  ? "(date_trunc('day', r.bucket AT TIME ZONE $7::text) AT TIME ZONE $7::text)"
                                  : "r.bucket";
    snprintf(sql, sizeof(sql),
             "SELECT (extract(epoch FROM %s) * 1000)::bigint AS b, coalesce((SELECT jsonb_object_agg(k, r.dims -> k) FROM "
             "unnest($5::text[]) k), '{}'::jsonb) AS g, %s AS v, max(r.revision), "
             "bool_and(r.closed) "
             "FROM %s r WHERE r.tenant_id = $1 AND r.metric = $2 AND r.bucket >= $3 AND "
             "r.bucket <= $4 AND r.dims @> $6::jsonb AND $7::text IS NOT NULL "
             "GROUP BY 1, 2 ORDER BY 1, 2::text",
             bucket_expr, value_expr(aggregation), table);
    /* the range is widened to whole buckets: a query from 10:30 includes the 10:00 bucket */
    int64_t lo = day ? ea_time_floor_day(from) - (strcmp(tz, "UTC") != 0 ? EA_MS_PER_DAY : 0)
                     : ea_time_floor_hour(from);
    ea_time_format_iso8601(lo, from_s);
    const char *params[7] = {tenant, name, from_s, to_s, groups, filter_text, tz};
    PGresult *r = ea_pg_query(c, sql, 7, params, PGRES_TUPLES_OK, &e);
    free(groups);
    free(filter_text);
    if (r == NULL) {
        if (strcmp(e.sqlstate, "22023") == 0) /* invalid_parameter_value: unknown time zone */
            return fail(err, "BAD_USER_INPUT", "unknown time zone \"%s\"", tz);
        return db_fail(err, &e);
    }
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        int64_t bms = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        char iso[48];
        if (day && strcmp(tz, "UTC") != 0 && bms + EA_MS_PER_DAY <= from)
            continue; /* widened range: drop local days that end before startTime */
        ea_time_format_iso8601(bms, iso);
        json_error_t je;
        json_t *dims = json_loads(PQgetvalue(r, i, 1), 0, &je);
        json_array_append_new(list,
                              json_pack("{s:s,s:f,s:o,s:i,s:b}", "timestamp", iso, "value",
                                        PQgetisnull(r, i, 2) ? 0.0 : strtod(PQgetvalue(r, i, 2), NULL),
                                        "dimensions", dims != NULL ? dims : json_object(),
                                        "revision", atoi(PQgetvalue(r, i, 3)), "final",
                                        strcmp(PQgetvalue(r, i, 4), "t") == 0));
    }
    PQclear(r);
    *out = list;
    return 0;
}

static json_t *text_array_json(const char *pg)
{
    /* text[] output of simple identifiers: {a,b} */
    json_t *a = json_array();
    if (pg == NULL || pg[0] != '{')
        return a;
    const char *p = pg + 1;
    while (*p && *p != '}') {
        size_t n = strcspn(p, ",}");
        const char *v = p;
        size_t vl = n;
        if (vl >= 2 && v[0] == '"') {
            v++;
            vl -= 2;
        }
        json_array_append_new(a, json_stringn(v, vl));
        p += n;
        if (*p == ',')
            p++;
    }
    return a;
}

static json_t *definition_json(PGresult *r, int i)
{
    return json_pack("{s:s,s:s,s:s,s:s?,s:o,s:i}", "name", PQgetvalue(r, i, 0), "eventName",
                     PQgetvalue(r, i, 1), "aggregation", PQgetvalue(r, i, 2), "property",
                     PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3), "dimensions",
                     text_array_json(PQgetvalue(r, i, 4)), "cardinalityCap",
                     atoi(PQgetvalue(r, i, 5)));
}

#define DEF_COLUMNS "name, event_name, aggregation, property, dimensions::text, cardinality_cap"

int gql_resolve_metric_definitions(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    const char *tenant = arg_str(ctx, "tenant");
    if (check_tenant(ctx, tenant, EA_SCOPE_READ, err) != 0)
        return -1;
    PGconn *c = db_or_fail(ctx, err);
    if (c == NULL)
        return -1;
    struct ea_err e;
    const char *params[1] = {tenant};
    PGresult *r = ea_pg_query(c,
                              "SELECT " DEF_COLUMNS " FROM metric_definitions "
                              "WHERE tenant_id = $1 ORDER BY name",
                              1, params, PGRES_TUPLES_OK, &e);
    if (r == NULL)
        return db_fail(err, &e);
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(list, definition_json(r, i));
    PQclear(r);
    *out = list;
    return 0;
}

int gql_resolve_me(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    const gql_request_ctx *rc = ctx->request_ctx;
    json_t *scopes = json_array();
    if (rc->who.key.scopes & EA_SCOPE_INGEST)
        json_array_append_new(scopes, json_string("ingest"));
    if (rc->who.key.scopes & EA_SCOPE_READ)
        json_array_append_new(scopes, json_string("read"));
    if (rc->who.key.scopes & EA_SCOPE_ADMIN)
        json_array_append_new(scopes, json_string("admin"));
    PGconn *c = db_or_fail(ctx, err);
    if (c == NULL)
        return -1;
    struct ea_err e;
    const char *params[1] = {rc->who.key.tenant};
    PGresult *r = ea_pg_query(c, "SELECT id, name FROM tenants WHERE id = $1", 1, params,
                              PGRES_TUPLES_OK, &e);
    if (r == NULL) {
        json_decref(scopes);
        return db_fail(err, &e);
    }
    json_t *tenants = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(tenants, json_pack("{s:s,s:s}", "id", PQgetvalue(r, i, 0), "name",
                                                 PQgetvalue(r, i, 1)));
    PQclear(r);
    *out = json_pack("{s:s,s:o,s:o}", "kind", "api_key", "tenants", tenants, "scopes", scopes);
    return 0;
}

int gql_resolve_define_metric(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    const char *tenant = arg_str(ctx, "tenant");
    if (check_tenant(ctx, tenant, EA_SCOPE_ADMIN, err) != 0)
        return -1;
    const json_t *in = json_object_get(ctx->args, "input");
    const char *name = json_string_value(json_object_get(in, "name"));
    const char *event = json_string_value(json_object_get(in, "eventName"));
    const char *agg = json_string_value(json_object_get(in, "aggregation"));
    const char *prop = json_string_value(json_object_get(in, "property"));
    const json_t *dims = json_object_get(in, "dimensions");
    json_int_t cap = json_integer_value(json_object_get(in, "cardinalityCap"));
    static const char *const aggs[] = {"count", "sum", "min", "max", "avg", "unique"};
    bool agg_ok = false;
    for (size_t i = 0; i < 6 && agg != NULL; i++)
        agg_ok |= strcmp(agg, aggs[i]) == 0;
    if (!agg_ok)
        return fail(err, "BAD_USER_INPUT", "aggregation \"%s\" is not one of count, sum, min, "
                                           "max, avg, unique",
                    agg != NULL ? agg : "");
    if (strcmp(agg, "count") != 0 && prop == NULL)
        return fail(err, "BAD_USER_INPUT", "aggregation %s needs a property", agg);
    if (json_array_size(dims) > 8)
        return fail(err, "BAD_USER_INPUT", "%s", "at most 8 dimensions");
    if (cap < 1)
        return fail(err, "BAD_USER_INPUT", "%s", "cardinalityCap must be at least 1");
    PGconn *c = db_or_fail(ctx, err);
    if (c == NULL)
        return -1;
    char *dims_s = text_array(json_is_array(dims) ? dims : NULL);
    char cap_s[32];
    snprintf(cap_s, sizeof(cap_s), "%lld", (long long)cap);
    const char *params[7] = {tenant, name, event, agg, prop, dims_s, cap_s};
    struct ea_err e;
    PGresult *r = ea_pg_query(
        c,
        "INSERT INTO metric_definitions (tenant_id, name, event_name, aggregation, property, "
        "dimensions, cardinality_cap) VALUES ($1, $2, $3, $4, $5, $6::text[], $7) "
        "ON CONFLICT (tenant_id, name) DO UPDATE SET event_name = EXCLUDED.event_name, "
        "aggregation = EXCLUDED.aggregation, property = EXCLUDED.property, "
        "dimensions = EXCLUDED.dimensions, cardinality_cap = EXCLUDED.cardinality_cap "
        "RETURNING " DEF_COLUMNS,
        7, params, PGRES_TUPLES_OK, &e);
    free(dims_s);
    if (r == NULL) {
        if (e.sqlstate[0] == '2' && e.sqlstate[1] == '3') /* integrity constraint */
            return fail(err, "BAD_USER_INPUT", "invalid metric definition: %s", e.message);
        return db_fail(err, &e);
    }
    *out = definition_json(r, 0);
    PQclear(r);
    return 0;
}
