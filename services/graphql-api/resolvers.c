/*
 * resolvers.c — Query/Mutation resolvers. Every resolver starts with check_tenant()
 * (gql_principal_can: the caller's key or session must reach the tenant with the scope the field
 * needs: read for queries, admin for mutations). Tenants, keys, metric definitions, dashboards
 * and alerts are lib/catalog's: these resolvers only turn arguments into its calls and its
 * ea_err into GraphQL errors (catalog_fail), so they give the CLI's rules and messages. The
 * metric series itself is series.c; answers of Query.metrics go through the Redis cache
 * (cache.c); a name that is no metric of the tenant is NOT_FOUND with suggestions.
 */
#include "resolvers.h"
#include "app.h"
#include "cache.h"
#include "ea_apikey.h"
#include "ea_catalog.h"
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
    ea_log_error("postgresql", "%s", e->message);
    return fail(err, "INTERNAL_SERVER_ERROR", "%s", "could not read from the database");
}

/* A lib/catalog error as a GraphQL error: its message as is (never the database's text, which
 * is only logged), its code mapped (docs/ERRORS.md). */
static int catalog_fail(ea_gql_error *err, const struct ea_err *e)
{
    const char *code = "INTERNAL_SERVER_ERROR";
    switch (e->code) {
    case EA_ERR_INVALID:
        code = "BAD_USER_INPUT";
        break;
    case EA_ERR_NOTFOUND:
        code = "NOT_FOUND";
        break;
    case EA_ERR_CONFLICT:
        code = "CONFLICT";
        break;
    case EA_ERR_UNAVAILABLE:
        code = "SERVICE_UNAVAILABLE";
        break;
    default:
        ea_log_error("postgresql", "%s (%s)", e->message, e->detail);
        break;
    }
    return fail(err, code, "%s", e->message);
}

/* Strings of a JSON list as a C array (the list keeps them); NULL list = none. */
static const char **string_list(const json_t *list, size_t *n)
{
    *n = json_array_size(list);
    const char **v = calloc(*n + 1, sizeof(*v));
    for (size_t i = 0; v != NULL && i < *n; i++)
        v[i] = json_string_value(json_array_get(list, i));
    return v;
}

/* Metrics whose rows a catalog change moved or removed: their cached answers go before the
 * mutation answers (every graphql-api shares the generations in Redis). */
static void forget(const ea_gql_field_ctx *ctx, const char *tenant, json_t *changed)
{
    gql_app *app = app_of(ctx);
    if (app->cache != NULL)
        gql_cache_forget(app->cache, tenant, changed);
    json_decref(changed);
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
    /* rows exist only under names that are metrics: only an empty answer needs the check */
    struct ea_err e = {0};
    if (json_array_size(list) == 0 &&
        ea_catalog_metric_resolve(c, tenant, q.name, NULL, &e) != EA_OK) {
        json_decref(list);
        return catalog_fail(err, &e);
    }
    if (slot[0] != '\0') {
        char *s = json_dumps(list, JSON_COMPACT);
        if (s != NULL)
            gql_cache_put(rc->app->cache, slot, s, strlen(s), ttl_s);
        free(s);
    }
    *out = list;
    return 0;
}

/* The tenant's rows as a list, from lib/catalog. */
typedef ea_rc (*catalog_list_fn)(PGconn *, const char *, json_t **, struct ea_err *);

static int list_of(const ea_gql_field_ctx *ctx, unsigned scope, catalog_list_fn fn, json_t **out,
                   ea_gql_error *err)
{
    not_cacheable(ctx);
    const char *tenant = arg_str(ctx, "tenant");
    if (check_tenant(ctx, tenant, scope, err) != 0)
        return -1;
    PGconn *c = db_or_fail(ctx, err);
    if (c == NULL)
        return -1;
    struct ea_err e = {0};
    if (fn(c, tenant, out, &e) != EA_OK)
        return catalog_fail(err, &e);
    return 0;
}

int gql_resolve_metric_definitions(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    return list_of(ctx, EA_SCOPE_READ, ea_catalog_metric_list, out, err);
}

int gql_resolve_dashboards(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    return list_of(ctx, EA_SCOPE_READ, ea_catalog_dashboard_list, out, err);
}

int gql_resolve_alerts(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    return list_of(ctx, EA_SCOPE_READ, ea_catalog_alert_list, out, err);
}

int gql_resolve_api_keys(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    return list_of(ctx, EA_SCOPE_ADMIN, ea_catalog_key_list, out, err);
}

/* A mutation's start: not cacheable, admin on the tenant, a database. */
static PGconn *mutation_start(const ea_gql_field_ctx *ctx, const char **tenant, ea_gql_error *err)
{
    not_cacheable(ctx);
    *tenant = arg_str(ctx, "tenant");
    if (check_tenant(ctx, *tenant, EA_SCOPE_ADMIN, err) != 0)
        return NULL;
    return db_or_fail(ctx, err);
}

int gql_resolve_save_dashboard(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    const char *tenant;
    PGconn *c = mutation_start(ctx, &tenant, err);
    if (c == NULL)
        return -1;
    struct ea_err e = {0};
    if (ea_catalog_dashboard_save(c, tenant, arg_str(ctx, "id"), arg_str(ctx, "name"),
                                  json_object_get(ctx->args, "layout"),
                                  json_is_true(json_object_get(ctx->args, "overwrite")), out,
                                  &e) != EA_OK)
        return catalog_fail(err, &e);
    return 0;
}

int gql_resolve_rename_dashboard(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    const char *tenant;
    PGconn *c = mutation_start(ctx, &tenant, err);
    if (c == NULL)
        return -1;
    struct ea_err e = {0};
    if (ea_catalog_dashboard_rename(c, tenant, arg_str(ctx, "id"), arg_str(ctx, "name"), out, &e) !=
        EA_OK)
        return catalog_fail(err, &e);
    return 0;
}

/* A mutation that deletes the tenant's object named by the argument id: true, or the catalog's
 * NOT_FOUND. */
typedef ea_rc (*catalog_delete_fn)(PGconn *, const char *, const char *, struct ea_err *);

static int delete_by_id(const ea_gql_field_ctx *ctx, catalog_delete_fn fn, json_t **out,
                        ea_gql_error *err)
{
    const char *tenant;
    PGconn *c = mutation_start(ctx, &tenant, err);
    if (c == NULL)
        return -1;
    struct ea_err e = {0};
    if (fn(c, tenant, arg_str(ctx, "id"), &e) != EA_OK)
        return catalog_fail(err, &e);
    *out = json_true();
    return 0;
}

int gql_resolve_delete_dashboard(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    return delete_by_id(ctx, ea_catalog_dashboard_delete, out, err);
}

/* AlertInput as lib/catalog's alert (strings owned by ctx->args). */
static ea_catalog_alert alert_input(const ea_gql_field_ctx *ctx)
{
    const json_t *in = json_object_get(ctx->args, "input");
    ea_catalog_alert a = {
        .name = json_string_value(json_object_get(in, "name")),
        .metric = json_string_value(json_object_get(in, "metric")),
        .filter = json_object_get(in, "filter"),
        .comparator = json_string_value(json_object_get(in, "comparator")),
        .threshold = json_number_value(json_object_get(in, "threshold")),
        .granularity = json_string_value(json_object_get(in, "granularity")),
        .timezone = json_string_value(json_object_get(in, "timezone")),
        .webhook_url = json_string_value(json_object_get(in, "webhookUrl")),
    };
    return a;
}

int gql_resolve_create_alert(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    const char *tenant;
    PGconn *c = mutation_start(ctx, &tenant, err);
    if (c == NULL)
        return -1;
    ea_catalog_alert a = alert_input(ctx);
    struct ea_err e = {0};
    if (ea_catalog_alert_create(c, tenant, &a, out, &e) != EA_OK)
        return catalog_fail(err, &e);
    return 0;
}

int gql_resolve_update_alert(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    const char *tenant;
    PGconn *c = mutation_start(ctx, &tenant, err);
    if (c == NULL)
        return -1;
    ea_catalog_alert a = alert_input(ctx);
    struct ea_err e = {0};
    if (ea_catalog_alert_update(c, tenant, arg_str(ctx, "id"), &a, out, &e) != EA_OK)
        return catalog_fail(err, &e);
    return 0;
}

int gql_resolve_set_alert_enabled(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    const char *tenant;
    PGconn *c = mutation_start(ctx, &tenant, err);
    if (c == NULL)
        return -1;
    struct ea_err e = {0};
    if (ea_catalog_alert_set_enabled(c, tenant, arg_str(ctx, "id"),
                                     json_is_true(json_object_get(ctx->args, "enabled")), out,
                                     &e) != EA_OK)
        return catalog_fail(err, &e);
    return 0;
}

int gql_resolve_delete_alert(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    return delete_by_id(ctx, ea_catalog_alert_delete, out, err);
}

/* Alert.history: read through an alert the caller already sees (its tenant and id come from
 * the parent object, which a resolver of this tenant produced); access checked again anyway. */
int gql_resolve_alert_history(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    not_cacheable(ctx);
    const char *tenant = json_string_value(json_object_get(ctx->parent, "tenant"));
    if (check_tenant(ctx, tenant, EA_SCOPE_READ, err) != 0)
        return -1;
    PGconn *c = db_or_fail(ctx, err);
    if (c == NULL)
        return -1;
    struct ea_err e = {0};
    if (ea_catalog_alert_history(c, tenant, json_string_value(json_object_get(ctx->parent, "id")),
                                 (long)json_integer_value(json_object_get(ctx->args, "limit")), out,
                                 &e) != EA_OK)
        return catalog_fail(err, &e);
    return 0;
}

int gql_resolve_members(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    return list_of(ctx, EA_SCOPE_ADMIN, ea_catalog_member_list, out, err);
}

int gql_resolve_create_api_key(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    const char *tenant;
    PGconn *c = mutation_start(ctx, &tenant, err);
    if (c == NULL)
        return -1;
    const json_t *rl = json_object_get(ctx->args, "rateLimit");
    ea_catalog_key_spec k = {.tenant = tenant,
                             .has_rate_limit = json_is_integer(rl),
                             .rate_limit = json_integer_value(rl),
                             .name = arg_str(ctx, "name")};
    const char **scopes = string_list(json_object_get(ctx->args, "scopes"), &k.nscopes);
    if (scopes == NULL)
        return fail(err, "INTERNAL_SERVER_ERROR", "%s", "out of memory");
    k.scopes = scopes;
    const json_t *ol = json_object_get(ctx->args, "origins");
    const char **origins = json_is_array(ol) ? string_list(ol, &k.norigins) : NULL;
    if (json_is_array(ol) && origins == NULL) {
        free(scopes);
        return fail(err, "INTERNAL_SERVER_ERROR", "%s", "out of memory");
    }
    k.origins = origins; /* present, even empty: a browser key is asked for */
    char key[EA_APIKEY_MAX_LEN + 1];
    json_t *apikey = NULL;
    struct ea_err e = {0};
    /* bcrypt (~70 ms) on the loop: acceptable for a rare admin mutation */
    ea_rc rc = ea_catalog_key_create(c, &k, EA_APIKEY_DEFAULT_COST, key, &apikey, &e);
    free(scopes);
    free(origins);
    if (rc != EA_OK)
        return catalog_fail(err, &e);
    *out = json_pack("{s:s,s:o}", "key", key, "apiKey", apikey);
    memset(key, 0, sizeof(key)); /* shown once: no copy outlives the response */
    return 0;
}

int gql_resolve_revoke_api_key(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    const char *tenant;
    PGconn *c = mutation_start(ctx, &tenant, err);
    if (c == NULL)
        return -1;
    struct ea_err e = {0};
    bool already;
    if (ea_catalog_key_revoke(c, tenant, arg_str(ctx, "keyId"), out, &already, &e) != EA_OK)
        return catalog_fail(err, &e);
    return 0;
}

/* ---- me ---- */

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

/* ---- metric definitions: define, delete, rename ---- */

int gql_resolve_define_metric(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    const char *tenant;
    PGconn *c = mutation_start(ctx, &tenant, err);
    if (c == NULL)
        return -1;
    const json_t *in = json_object_get(ctx->args, "input");
    const json_t *cap = json_object_get(in, "cardinalityCap");
    ea_catalog_metric m = {.name = json_string_value(json_object_get(in, "name")),
                           .event = json_string_value(json_object_get(in, "eventName")),
                           .aggregation = json_string_value(json_object_get(in, "aggregation")),
                           .property = json_string_value(json_object_get(in, "property")),
                           .cap = json_integer_value(cap),
                           .cap_set = json_is_integer(cap)};
    const char **dims = string_list(json_object_get(in, "dimensions"), &m.ndims);
    if (dims == NULL)
        return fail(err, "INTERNAL_SERVER_ERROR", "%s", "out of memory");
    m.dims = dims;
    struct ea_err e = {0};
    json_t *changed = NULL;
    bool created;
    ea_rc rc = ea_catalog_metric_define(c, tenant, &m, out, &created, &changed, &e);
    free(dims);
    if (rc != EA_OK)
        return catalog_fail(err, &e);
    forget(ctx, tenant, changed);
    return 0;
}

/* deleteMetric and renameMetric: lib/catalog moves or removes the rows, the caches forget them. */
static int metric_change(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err, bool rename)
{
    const char *tenant;
    PGconn *c = mutation_start(ctx, &tenant, err);
    if (c == NULL)
        return -1;
    struct ea_err e = {0};
    json_t *changed = NULL;
    const char *name = arg_str(ctx, "name");
    ea_rc rc = rename ? ea_catalog_metric_rename(c, tenant, name, arg_str(ctx, "newName"), out,
                                                 &changed, &e)
                      : ea_catalog_metric_delete(c, tenant, name, out, &changed, &e);
    if (rc != EA_OK)
        return catalog_fail(err, &e);
    forget(ctx, tenant, changed);
    return 0;
}

int gql_resolve_delete_metric(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    return metric_change(ctx, out, err, false);
}

int gql_resolve_rename_metric(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    return metric_change(ctx, out, err, true);
}
