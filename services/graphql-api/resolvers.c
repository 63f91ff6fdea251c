/*
 * resolvers.c — Query/Mutation resolvers over PostgreSQL. Every resolver starts with
 * check_tenant() (gql_principal_can: the caller's key or session must reach the tenant with the
 * scope the field needs: read for queries, admin for mutations); every statement is
 * PQexecParams with tenant_id = $1, so ids of another tenant's rows find nothing. The metric
 * series itself is series.c; answers of Query.metrics go through the Redis cache (cache.c).
 */
#include "resolvers.h"
#include "app.h"
#include "cache.h"
#include "ea_apikey.h"
#include "ea_log.h"
#include "ea_pg.h"
#include "ea_time.h"
#include "series.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define fail gql_fail

static const char *arg_str(const ea_gql_field_ctx *ctx, const char *name)
{
    return json_string_value(json_object_get(ctx->args, name));
}

static gql_app *app_of(const ea_gql_field_ctx *ctx)
{
    return ((gql_request_ctx *)ctx->request_ctx)->app;
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

/* Every root field except metrics: the whole response is not cacheable (transport.c). */
static void not_cacheable(const ea_gql_field_ctx *ctx)
{
    ((gql_request_ctx *)ctx->request_ctx)->other_fields++;
}

/* Records a metrics field's dependency for the response cache: its tenant, metric and the
 * "<epoch>.<gen>" part of its cache slot (ea:qc:<tenant>:<epoch>.<gen>:<hash>). */
static void record_dep(gql_request_ctx *rc, const char *tenant, const char *metric,
                       const char *slot, long ttl_s)
{
    size_t pre = strlen("ea:qc:") + strlen(tenant) + 1;
    const char *g = strlen(slot) > pre ? slot + pre : NULL, *end = g ? strchr(g, ':') : NULL;
    if (end == NULL || rc->ndeps >= 16 || strlen(tenant) >= sizeof(rc->deps[0].tenant) ||
        strlen(metric) >= sizeof(rc->deps[0].metric) ||
        (size_t)(end - g) >= sizeof(rc->deps[0].gen)) {
        rc->other_fields++; /* cannot be validated later: do not cache the whole response */
        return;
    }
    struct gql_dep *d = &rc->deps[rc->ndeps++];
    snprintf(d->tenant, sizeof(d->tenant), "%s", tenant);
    snprintf(d->metric, sizeof(d->metric), "%s", metric);
    snprintf(d->gen, sizeof(d->gen), "%.*s", (int)(end - g), g);
    if (rc->ttl_s == 0 || ttl_s < rc->ttl_s)
        rc->ttl_s = ttl_s;
}

static PGconn *db_or_fail(const ea_gql_field_ctx *ctx, ea_gql_error *err)
{
    PGconn *c = gql_app_db(app_of(ctx));
    if (c == NULL)
        fail(err, "SERVICE_UNAVAILABLE", "%s", "database unavailable");
    return c;
}

static int db_fail(ea_gql_error *err, const struct ea_err *e)
{
    ea_log_error("graphql", "%s", e->message);
    return fail(err, "INTERNAL_SERVER_ERROR", "%s", "could not read from the database");
}

/* A JSON list of strings as a PostgreSQL text[] literal ({"a","b"}, quotes escaped). */
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

static int cmp_str(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* The cache key's argument part: every argument that changes the answer, in one canonical
 * form (times as epoch ms, groupBy sorted, keys sorted), so equal questions share an entry. */
static char *normalized_args(const gql_series_req *q)
{
    size_t n = json_array_size(q->group_by);
    json_t **g = calloc(n + 1, sizeof(*g));
    if (g == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        g[i] = json_array_get(q->group_by, i);
    qsort(g, n, sizeof(*g), cmp_str);
    json_t *ga = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(ga, g[i]);
    free(g);
    json_t *o = json_pack("{s:I,s:I,s:b,s:s,s:o,s:O}", "from", (json_int_t)q->from, "to",
                          (json_int_t)q->to, "day", q->day, "tz", q->tz, "groupBy", ga, "filter",
                          q->filter != NULL ? q->filter : json_null());
    char *s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return s;
}

int gql_resolve_metrics(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    gql_request_ctx *rc = ctx->request_ctx;
    const char *tenant = arg_str(ctx, "tenant");
    if (check_tenant(ctx, tenant, EA_SCOPE_READ, err) != 0)
        return -1;
    gql_series_req q;
    if (gql_series_req_from_args(ctx->args, &q, err) != 0)
        return -1;
    char *norm = normalized_args(&q);
    char slot[256] = "";
    char *cached = NULL;
    long ttl_s = q.day ? rc->app->cfg->cache_ttl_day_s : rc->app->cfg->cache_ttl_hour_s;
    /* TTL 0 turns the cache off for that granularity: neither read nor written */
    bool hit = norm != NULL && rc->app->cache != NULL && ttl_s > 0 &&
               gql_cache_get(rc->app->cache, tenant, q.name, norm, &cached, slot);
    record_dep(rc, tenant, q.name, slot, ttl_s);
    if (hit) {
        json_error_t je;
        json_t *v = json_loads(cached, 0, &je);
        free(cached);
        if (json_is_array(v)) {
            rc->cache_hits++;
            free(norm);
            *out = v;
            return 0;
        }
        json_decref(v); /* unreadable entry: answer from the database and overwrite it */
    }
    free(norm);
    rc->cache_misses++;
    PGconn *c = db_or_fail(ctx, err);
    if (c == NULL)
        return -1;
    json_t *list;
    if (gql_series_fetch(c, &q, &list, err) != 0)
        return -1;
    if (slot[0] != '\0') {
        char *s = json_dumps(list, JSON_COMPACT);
        if (s != NULL)
            gql_cache_put(rc->app->cache, slot, s, strlen(s), ttl_s);
        free(s);
    }
    *out = list;
    return 0;
}

static json_t *definition_json(PGresult *r, int i)
{
    return json_pack("{s:s,s:s,s:s,s:s?,s:o,s:i}", "name", PQgetvalue(r, i, 0), "eventName",
                     PQgetvalue(r, i, 1), "aggregation", PQgetvalue(r, i, 2), "property",
                     PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3), "dimensions",
                     text_array_json(PQgetvalue(r, i, 4)), "cardinalityCap",
                     (int)strtol(PQgetvalue(r, i, 5), NULL, 10));
}

/* Runs a tenant-filtered statement ($1 = tenant) and maps each row with fn into a list. */
static int list_rows(const ea_gql_field_ctx *ctx, const char *sql, int nparams,
                     const char *const *params, json_t *(*fn)(PGresult *, int), json_t **out,
                     ea_gql_error *err)
{
    PGconn *c = db_or_fail(ctx, err);
    if (c == NULL)
        return -1;
    struct ea_err e;
    PGresult *r = ea_pg_query(c, sql, nparams, params, PGRES_TUPLES_OK, &e);
    if (r == NULL)
        return db_fail(err, &e);
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(list, fn(r, i));
    PQclear(r);
    *out = list;
    return 0;
}

#define DEF_COLUMNS "name, event_name, aggregation, property, dimensions::text, cardinality_cap"

int gql_resolve_metric_definitions(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    not_cacheable(ctx);
    const char *tenant = arg_str(ctx, "tenant");
    if (check_tenant(ctx, tenant, EA_SCOPE_READ, err) != 0)
        return -1;
    const char *params[1] = {tenant};
    return list_rows(ctx,
                     "SELECT " DEF_COLUMNS " FROM metric_definitions WHERE tenant_id = $1 "
                     "ORDER BY name",
                     1, params, definition_json, out, err);
}

/* ---- dashboards ---- */

#define DASH_COLUMNS                                                                               \
    "id::text, tenant_id, name, layout::text, "                                                    \
    "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static json_t *dashboard_json(PGresult *r, int i)
{
    json_error_t je;
    json_t *layout = json_loads(PQgetvalue(r, i, 3), 0, &je);
    return json_pack("{s:s,s:s,s:s,s:o,s:s}", "id", PQgetvalue(r, i, 0), "tenant",
                     PQgetvalue(r, i, 1), "name", PQgetvalue(r, i, 2), "layout",
                     layout != NULL ? layout : json_object(), "updatedAt", PQgetvalue(r, i, 4));
}

int gql_resolve_dashboards(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    not_cacheable(ctx);
    const char *tenant = arg_str(ctx, "tenant");
    if (check_tenant(ctx, tenant, EA_SCOPE_READ, err) != 0)
        return -1;
    const char *params[1] = {tenant};
    return list_rows(ctx,
                     "SELECT " DASH_COLUMNS " FROM dashboards WHERE tenant_id = $1 ORDER BY name",
                     1, params, dashboard_json, out, err);
}

/* A chart of a dashboard layout: what the dashboard needs to draw it again. */
static int check_chart(const json_t *ch, size_t i, ea_gql_error *err)
{
    char where[32];
    snprintf(where, sizeof(where), "%zu", i);
    if (!json_is_object(ch))
        return fail(err, "BAD_USER_INPUT", "layout.charts[%s] must be an object", where);
    if (!json_is_string(json_object_get(ch, "metric")) ||
        json_string_length(json_object_get(ch, "metric")) == 0)
        return fail(err, "BAD_USER_INPUT", "layout.charts[%s].metric must be a metric name", where);
    const json_t *g = json_object_get(ch, "groupBy");
    if (g != NULL && !json_is_null(g)) {
        size_t k;
        const json_t *v;
        if (!json_is_array(g) || json_array_size(g) > 8)
            return fail(err, "BAD_USER_INPUT",
                        "layout.charts[%s].groupBy must be a list of at most 8 dimension names",
                        where);
        json_array_foreach(g, k, v) if (!json_is_string(v)) return fail(
            err, "BAD_USER_INPUT", "layout.charts[%s].groupBy must hold strings", where);
    }
    const json_t *gr = json_object_get(ch, "granularity");
    if (gr != NULL && !json_is_null(gr) &&
        !(json_is_string(gr) && (strcmp(json_string_value(gr), "HOUR") == 0 ||
                                 strcmp(json_string_value(gr), "DAY") == 0)))
        return fail(err, "BAD_USER_INPUT", "layout.charts[%s].granularity must be HOUR or DAY",
                    where);
    const json_t *tz = json_object_get(ch, "timezone");
    if (tz != NULL && !json_is_null(tz) && !json_is_string(tz))
        return fail(err, "BAD_USER_INPUT", "layout.charts[%s].timezone must be a string", where);
    const json_t *tr = json_object_get(ch, "timeRange");
    if (tr != NULL && !json_is_null(tr) && !json_is_object(tr))
        return fail(err, "BAD_USER_INPUT",
                    "layout.charts[%s].timeRange must be an object (e.g. {\"last\": \"24h\"} or "
                    "{\"start\": ..., \"end\": ...})",
                    where);
    return 0;
}

int gql_resolve_save_dashboard(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    not_cacheable(ctx);
    const char *tenant = arg_str(ctx, "tenant");
    if (check_tenant(ctx, tenant, EA_SCOPE_ADMIN, err) != 0)
        return -1;
    const char *name = arg_str(ctx, "name");
    const json_t *layout = json_object_get(ctx->args, "layout");
    if (name == NULL || name[0] == '\0' || strlen(name) > 200)
        return fail(err, "BAD_USER_INPUT", "%s", "name must be 1 to 200 characters");
    if (!json_is_object(layout))
        return fail(err, "BAD_USER_INPUT", "%s",
                    "layout must be a JSON object {\"charts\": [...]}");
    const json_t *charts = json_object_get(layout, "charts");
    if (!json_is_array(charts) || json_array_size(charts) > 50)
        return fail(err, "BAD_USER_INPUT", "%s",
                    "layout.charts must be a list of at most 50 charts");
    size_t i;
    const json_t *ch;
    json_array_foreach(charts, i, ch) if (check_chart(ch, i, err) != 0) return -1;
    PGconn *c = db_or_fail(ctx, err);
    if (c == NULL)
        return -1;
    char *layout_s = json_dumps(layout, JSON_COMPACT);
    const char *params[3] = {tenant, name, layout_s};
    struct ea_err e;
    PGresult *r = ea_pg_query(c,
                              "INSERT INTO dashboards (tenant_id, name, layout) "
                              "VALUES ($1, $2, $3::jsonb) ON CONFLICT (tenant_id, name) DO UPDATE "
                              "SET layout = EXCLUDED.layout, updated_at = now() "
                              "RETURNING " DASH_COLUMNS,
                              3, params, PGRES_TUPLES_OK, &e);
    free(layout_s);
    if (r == NULL)
        return db_fail(err, &e);
    *out = dashboard_json(r, 0);
    PQclear(r);
    return 0;
}

/* ---- alerts ---- */

#define ALERT_COLUMNS                                                                              \
    "id::text, tenant_id, name, metric, filter::text, comparator, threshold, granularity, "        \
    "enabled, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static json_t *alert_json(PGresult *r, int i)
{
    json_error_t je;
    json_t *filter = json_loads(PQgetvalue(r, i, 4), 0, &je);
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:o,s:s,s:f,s:s,s:b,s:s}", "id", PQgetvalue(r, i, 0), "tenant",
        PQgetvalue(r, i, 1), "name", PQgetvalue(r, i, 2), "metric", PQgetvalue(r, i, 3), "filter",
        filter != NULL ? filter : json_object(), "comparator", PQgetvalue(r, i, 5), "threshold",
        strtod(PQgetvalue(r, i, 6), NULL), "granularity", PQgetvalue(r, i, 7), "enabled",
        strcmp(PQgetvalue(r, i, 8), "t") == 0, "createdAt", PQgetvalue(r, i, 9));
}

int gql_resolve_alerts(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    not_cacheable(ctx);
    const char *tenant = arg_str(ctx, "tenant");
    if (check_tenant(ctx, tenant, EA_SCOPE_READ, err) != 0)
        return -1;
    const char *params[1] = {tenant};
    return list_rows(ctx, "SELECT " ALERT_COLUMNS " FROM alerts WHERE tenant_id = $1 ORDER BY id",
                     1, params, alert_json, out, err);
}

int gql_resolve_create_alert(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    not_cacheable(ctx);
    const char *tenant = arg_str(ctx, "tenant");
    if (check_tenant(ctx, tenant, EA_SCOPE_ADMIN, err) != 0)
        return -1;
    const json_t *in = json_object_get(ctx->args, "input");
    const char *name = json_string_value(json_object_get(in, "name"));
    const char *metric = json_string_value(json_object_get(in, "metric"));
    const char *cmp = json_string_value(json_object_get(in, "comparator"));
    const char *gran = json_string_value(json_object_get(in, "granularity"));
    const json_t *filter = json_object_get(in, "filter");
    double threshold = json_number_value(json_object_get(in, "threshold"));
    if (name == NULL || name[0] == '\0' || strlen(name) > 200)
        return fail(err, "BAD_USER_INPUT", "%s", "name must be 1 to 200 characters");
    if (filter != NULL && !json_is_null(filter) && !json_is_object(filter))
        return fail(err, "BAD_USER_INPUT", "%s",
                    "filter must be a JSON object of dimension values");
    PGconn *c = db_or_fail(ctx, err);
    if (c == NULL)
        return -1;
    /* the metric must exist for this tenant (a definition, or rows of an automatic count) and
     * the filter keys must be its dimensions */
    struct ea_err e;
    const char *p1[2] = {tenant, metric};
    PGresult *d = ea_pg_query(c,
                              "SELECT dimensions::text FROM metric_definitions WHERE tenant_id = "
                              "$1 AND name = $2 UNION ALL SELECT '{}' WHERE EXISTS (SELECT 1 FROM "
                              "rollups_daily WHERE tenant_id = $1 AND metric = $2) LIMIT 1",
                              2, p1, PGRES_TUPLES_OK, &e);
    if (d == NULL)
        return db_fail(err, &e);
    if (PQntuples(d) == 0) {
        PQclear(d);
        return fail(err, "BAD_USER_INPUT", "no metric \"%s\" in this tenant", metric);
    }
    json_t *dims = text_array_json(PQgetvalue(d, 0, 0));
    PQclear(d);
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)filter, k, v)
    {
        size_t i;
        const json_t *dn;
        bool found = false;
        json_array_foreach(dims, i, dn) found |= strcmp(json_string_value(dn), k) == 0;
        if (!found || json_is_object(v) || json_is_array(v)) {
            json_decref(dims);
            return fail(err, "BAD_USER_INPUT",
                        "filter key \"%s\" is not a dimension of the metric with a scalar value",
                        k);
        }
    }
    json_decref(dims);
    char *filter_s = json_is_object(filter) ? json_dumps(filter, JSON_COMPACT) : strdup("{}");
    char th[64];
    snprintf(th, sizeof(th), "%.17g", threshold);
    const char *params[6] = {tenant, name, metric, filter_s, cmp, th};
    const char *p7[7] = {params[0], params[1], params[2], params[3], params[4], params[5], gran};
    PGresult *r = ea_pg_query(c,
                              "INSERT INTO alerts (tenant_id, name, metric, filter, comparator, "
                              "threshold, granularity) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7) "
                              "RETURNING " ALERT_COLUMNS,
                              7, p7, PGRES_TUPLES_OK, &e);
    free(filter_s);
    if (r == NULL)
        return db_fail(err, &e);
    *out = alert_json(r, 0);
    PQclear(r);
    return 0;
}

/* ---- API keys ---- */

#define KEY_COLUMNS                                                                                \
    "key_id, tenant_id, scopes::text, name, rate_limit, "                                          \
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "                \
    "to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static json_t *key_json(PGresult *r, int i)
{
    return json_pack("{s:s,s:s,s:o,s:s?,s:o,s:s,s:s?}", "keyId", PQgetvalue(r, i, 0), "tenant",
                     PQgetvalue(r, i, 1), "scopes", text_array_json(PQgetvalue(r, i, 2)), "name",
                     PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3), "rateLimit",
                     PQgetisnull(r, i, 4)
                         ? json_null()
                         : json_integer((int)strtol(PQgetvalue(r, i, 4), NULL, 10)),
                     "createdAt", PQgetvalue(r, i, 5), "revokedAt",
                     PQgetisnull(r, i, 6) ? NULL : PQgetvalue(r, i, 6));
}

int gql_resolve_api_keys(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    not_cacheable(ctx);
    const char *tenant = arg_str(ctx, "tenant");
    if (check_tenant(ctx, tenant, EA_SCOPE_ADMIN, err) != 0)
        return -1;
    const char *params[1] = {tenant};
    return list_rows(ctx,
                     "SELECT " KEY_COLUMNS " FROM api_keys WHERE tenant_id = $1 ORDER BY "
                     "created_at, key_id",
                     1, params, key_json, out, err);
}

int gql_resolve_create_api_key(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    not_cacheable(ctx);
    const char *tenant = arg_str(ctx, "tenant");
    if (check_tenant(ctx, tenant, EA_SCOPE_ADMIN, err) != 0)
        return -1;
    const json_t *scopes = json_object_get(ctx->args, "scopes");
    const json_t *rl = json_object_get(ctx->args, "rateLimit");
    const char *name = arg_str(ctx, "name");
    size_t i;
    const json_t *v;
    if (json_array_size(scopes) == 0)
        return fail(err, "BAD_USER_INPUT", "%s",
                    "scopes must list at least one of ingest, read, admin");
    json_array_foreach(scopes, i, v)
    {
        const char *s = json_string_value(v);
        if (strcmp(s, "ingest") != 0 && strcmp(s, "read") != 0 && strcmp(s, "admin") != 0)
            return fail(err, "BAD_USER_INPUT", "scope \"%s\" is not one of ingest, read, admin", s);
    }
    if (json_is_integer(rl) && json_integer_value(rl) < 1)
        return fail(err, "BAD_USER_INPUT", "%s", "rateLimit must be at least 1 request/minute");
    if (name != NULL && strlen(name) > 200)
        return fail(err, "BAD_USER_INPUT", "%s", "name must be at most 200 characters");
    PGconn *c = db_or_fail(ctx, err);
    if (c == NULL)
        return -1;
    char key[EA_APIKEY_MAX_LEN + 1], id[EA_APIKEY_ID_LEN + 1], hash[EA_APIKEY_HASH_MAX];
    struct ea_err e;
    /* bcrypt (~70 ms) on the loop: acceptable for a rare admin mutation */
    if (ea_apikey_generate(EA_APIKEY_DEFAULT_COST, key, id, hash, &e) != EA_OK) {
        ea_log_error("graphql", "%s", e.message);
        return fail(err, "INTERNAL_SERVER_ERROR", "%s", "could not generate a key");
    }
    char *scopes_s = text_array(scopes);
    char rl_s[32];
    snprintf(rl_s, sizeof(rl_s), "%lld", (long long)json_integer_value(rl));
    const char *params[6] = {id, tenant, hash, scopes_s, json_is_integer(rl) ? rl_s : NULL, name};
    PGresult *r = ea_pg_query(c,
                              "INSERT INTO api_keys (key_id, tenant_id, secret_hash, scopes, "
                              "rate_limit, name) VALUES ($1, $2, $3, $4::text[], $5, $6) "
                              "RETURNING " KEY_COLUMNS,
                              6, params, PGRES_TUPLES_OK, &e);
    free(scopes_s);
    if (r == NULL)
        return db_fail(err, &e);
    *out = json_pack("{s:s,s:o}", "key", key, "apiKey", key_json(r, 0));
    PQclear(r);
    memset(key, 0, sizeof(key)); /* shown once: no copy outlives the response */
    return 0;
}

int gql_resolve_revoke_api_key(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    not_cacheable(ctx);
    const char *tenant = arg_str(ctx, "tenant");
    if (check_tenant(ctx, tenant, EA_SCOPE_ADMIN, err) != 0)
        return -1;
    const char *key_id = arg_str(ctx, "keyId");
    PGconn *c = db_or_fail(ctx, err);
    if (c == NULL)
        return -1;
    struct ea_err e;
    const char *params[2] = {tenant, key_id};
    PGresult *r = ea_pg_query(c,
                              "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) "
                              "WHERE tenant_id = $1 AND key_id = $2 RETURNING " KEY_COLUMNS,
                              2, params, PGRES_TUPLES_OK, &e);
    if (r == NULL)
        return db_fail(err, &e);
    if (PQntuples(r) == 0) {
        PQclear(r);
        return fail(err, "NOT_FOUND", "no API key \"%s\" in this tenant", key_id);
    }
    *out = key_json(r, 0);
    PQclear(r);
    return 0;
}

/* ---- me, defineMetric ---- */

int gql_resolve_me(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    not_cacheable(ctx);
    const gql_request_ctx *rc = ctx->request_ctx;
    if (rc->who.kind == GQL_PRINCIPAL_USER) { /* memberships (app.c, OIDC login) */
        if (gql_principal_user_me(rc->app, &rc->who, out) != 0)
            return fail(err, "SERVICE_UNAVAILABLE", "%s", "database unavailable");
        return 0;
    }
    json_t *scopes = json_array();
    if (rc->who.key.scopes & EA_SCOPE_INGEST)
        json_array_append_new(scopes, json_string("ingest"));
    if (rc->who.key.scopes & EA_SCOPE_READ)
        json_array_append_new(scopes, json_string("read"));
    if (rc->who.key.scopes & EA_SCOPE_ADMIN)
        json_array_append_new(scopes, json_string("admin"));
    PGconn *c = db_or_fail(ctx, err);
    if (c == NULL) {
        json_decref(scopes);
        return -1;
    }
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
    *out = json_pack("{s:s,s:s?,s:o,s:o}", "kind", "api_key", "keyId",
                     rc->who.key.key_id[0] ? rc->who.key.key_id : NULL, "tenants", tenants,
                     "scopes", scopes);
    return 0;
}

int gql_resolve_define_metric(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    not_cacheable(ctx);
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
        return fail(err, "BAD_USER_INPUT",
                    "aggregation \"%s\" is not one of count, sum, min, "
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
