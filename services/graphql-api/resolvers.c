/*
 * resolvers.c — Query/Mutation resolvers. Every resolver starts with check_tenant()
 * (gql_principal_may: the caller's key or session must reach the tenant with the scope the field
 * needs: read for queries, admin for mutations). Tenants, keys, metric definitions, dashboards
 * and alerts are lib/catalog's: these resolvers only turn arguments into its calls and its
 * ea_err into GraphQL errors (catalog_fail), so they give the CLI's rules and messages. The
 * metric series itself is series.c, read bucket by bucket through bcache.c; a name that is no
 * metric of the tenant is NOT_FOUND with suggestions.
 *
 * Where they run: an operation first runs on the loop thread (rc->thread NULL). A resolver that
 * can answer from memory does (a key's tenant check, a series whose buckets are all cached);
 * one that needs PostgreSQL calls need_db(), which marks the operation deferred — transport.c
 * then runs the whole operation again on a pool thread (exec.h), where need_db() returns that
 * thread's connection. Nothing here blocks the loop.
 */
#include "resolvers.h"
#include "app.h"
#include "bcache.h"
#include "ea_apikey.h"
#include "ea_catalog.h"
#include "ea_log.h"
#include "ea_pg.h"
#include "ea_time.h"
#include "exec.h"
#include "pubsub.h"
#include "series.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define fail gql_fail

static const char *arg_str(const ea_gql_field_ctx *ctx, const char *name)
{
    return json_string_value(json_object_get(ctx->args, name));
}

/* On the loop: marks the operation for a pool thread and fails this field (the result is
 * thrown away). On a pool thread: its PostgreSQL connection, or SERVICE_UNAVAILABLE. */
static PGconn *need_db(const ea_gql_field_ctx *ctx, ea_gql_error *err)
{
    gql_request_ctx *rc = ctx->request_ctx;
    if (rc->thread == NULL) {
        rc->deferred = true;
        fail(err, "DEFERRED", "%s", "needs the database: runs on a worker thread");
        return NULL;
    }
    PGconn *c = gql_thread_db(rc->thread);
    if (c == NULL)
        fail(err, "SERVICE_UNAVAILABLE", "%s", "database unavailable");
    return c;
}

/* Tenant access on entry of every resolver (gql_principal_may); a signed-in user's membership is
 * read from the database, so on the loop that defers. */
static int check_tenant(const ea_gql_field_ctx *ctx, const char *tenant, unsigned scope,
                        ea_gql_error *err)
{
    gql_request_ctx *rc = ctx->request_ctx;
    int may = gql_principal_may(NULL, &rc->who, tenant, scope);
    if (may < 0) {
        PGconn *c = need_db(ctx, err);
        if (c == NULL)
            return -1;
        may = gql_principal_may(c, &rc->who, tenant, scope);
    }
    if (may != 1)
        return fail(err, "FORBIDDEN", "not allowed to access tenant \"%s\" with this scope",
                    tenant != NULL ? tenant : "");
    return 0;
}

/* Every root field except metrics: the whole response is not cacheable (transport.c). */
static void not_cacheable(const ea_gql_field_ctx *ctx)
{
    ((gql_request_ctx *)ctx->request_ctx)->other_fields++;
}

/* Records a metrics field's dependency for the response cache: its tenant and metric, and
 * lowers the operation's generation to the one read before this field's data. */
static void record_dep(gql_request_ctx *rc, const char *tenant, const char *metric, uint64_t gen)
{
    if (rc->ndeps >= 16 || strlen(tenant) >= sizeof(rc->deps[0].tenant) ||
        strlen(metric) >= sizeof(rc->deps[0].metric)) {
        rc->other_fields++; /* cannot be checked later: do not reuse the whole response */
        return;
    }
    struct gql_dep *d = &rc->deps[rc->ndeps++];
    snprintf(d->tenant, sizeof(d->tenant), "%s", tenant);
    snprintf(d->metric, sizeof(d->metric), "%s", metric);
    if (rc->gen == 0 || gen < rc->gen)
        rc->gen = gen;
}

static PGconn *db_or_fail(const ea_gql_field_ctx *ctx, ea_gql_error *err)
{
    return need_db(ctx, err);
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
    case EA_ERR_LIMIT:
        code = "LIMIT_EXCEEDED";
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

/* Metrics whose rows a catalog change moved or removed: this process's cached buckets of them go
 * before the mutation answers, and the change feed tells every other graphql-api (the same
 * message analytics-admin publishes). A publish failure is logged: other instances then keep
 * those answers until their TTL. */
static void forget(const ea_gql_field_ctx *ctx, const char *tenant, json_t *changed)
{
    gql_request_ctx *rc = ctx->request_ctx;
    gql_app *app = rc->app;
    size_t i;
    json_t *m;
    json_array_foreach(changed, i, m)
        gql_bcache_invalidate(app->bcache, tenant, json_string_value(m), true, false, 0, 0);
    char *msg = json_array_size(changed) > 0 ? ea_catalog_changes_message(tenant, changed) : NULL;
    struct ea_err e = {0};
    if (msg != NULL && rc->thread != NULL &&
        gql_thread_publish(rc->thread, app->cfg->changes_channel, msg, strlen(msg), &e) != EA_OK)
        ea_log_warn("redis", "could not announce changed metrics to other instances: %s",
                    e.message);
    free(msg);
    json_decref(changed);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* The series key (bcache.h): every argument that changes the answer, in one canonical form
 * (groupBy sorted, filter keys sorted), with tenant and metric; equal questions share buckets.
 * The time range is not part of it: any range reads the same buckets. */
static char *series_key(const gql_series_req *q)
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
    json_t *o = json_pack("[s,s,s,s,o,O]", q->tenant, q->name, q->day ? "DAY" : "HOUR", q->tz, ga,
                          q->filter != NULL ? q->filter : json_null());
    char *s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return s;
}

/* Above this many points a series answered from the cache still goes to a pool thread: building
 * and serializing it takes milliseconds the loop owes its other clients. */
#define LOOP_MAX_POINTS 4000

static void field_stat(gql_request_ctx *rc, const ea_gql_field_ctx *ctx, const char *cache,
                       const char *source, int buckets, int cached)
{
    if (rc->nfields >= GQL_MAX_FIELD_STATS)
        return;
    gql_field_stat *f = &rc->fields[rc->nfields++];
    snprintf(f->path, sizeof(f->path), "%s", ctx->alias != NULL ? ctx->alias : ctx->field_name);
    f->cache = cache;
    f->source = source;
    f->buckets = buckets;
    f->cached = cached;
}

/* Appends the points of parts a[0..na) and b[0..nb) (each sorted by bucket) in bucket order. */
static void merge_points(json_t *list, const gql_bc_part *a, size_t na, const gql_bc_part *b,
                         size_t nb)
{
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        const gql_bc_part *p = j >= nb || (i < na && a[i].start <= b[j].start) ? &a[i++] : &b[j++];
        json_array_extend(list, p->points);
    }
}

/* Gaps this small are read without asking the planner first (an open bucket's refresh): at the
 * metric's cardinality caps they cannot reach the row limits. */
#define ESTIMATE_MIN_SPAN_MS (48 * EA_MS_PER_HOUR)

/* The cost model's refusal: a series that would read more rows than the limit (GRAPHQL_MAX_ROWS
 * for rollups, GRAPHQL_MAX_RAW_ROWS for raw events) is COST_LIMIT with what to change, in words
 * (extensions.suggestion) and as the metrics arguments to send instead (extensions.retryWith),
 * which the dashboard offers: DAY buckets when the planner says they read few enough rows, else
 * the latest startTime it says does (the range halved until it fits, at most a few planner
 * calls; a refusal is rare). */
static int refuse_rows(PGconn *c, ea_gql_error *err, const gql_series_req *q,
                       const gql_series_def *d, double rows, long max)
{
    char sug[256];
    json_t *retry = json_object();
    gql_series_req alt = *q;
    alt.day = true;
    double day_rows = !d->raw && !q->day ? gql_series_estimate(c, &alt, d, q->from, q->to) : -1;
    if (day_rows >= 0 && day_rows <= (double)max * 0.9) {
        snprintf(sug, sizeof(sug), "use granularity: DAY");
        json_object_set_new(retry, "granularity", json_string("DAY"));
    } else {
        int64_t step = q->day ? EA_MS_PER_DAY : EA_MS_PER_HOUR;
        int64_t span = q->to - q->from;
        int64_t keep = (int64_t)((double)span * ((double)max * 0.8 / rows)) / step * step;
        for (int i = 0; i < 6 && keep > step; i++, keep = keep / 2 / step * step) {
            double r = gql_series_estimate(c, q, d, q->to - keep, q->to);
            if (r >= 0 && r <= (double)max * 0.9)
                break;
        }
        if (keep < step)
            keep = step;
        char iso[48];
        ea_time_format_iso8601(q->to - keep, iso);
        snprintf(sug, sizeof(sug), "narrow the range: startTime %s or later%s", iso,
                 d->raw ? ", or group and filter by declared dimensions (read from rollups)" : "");
        json_object_set_new(retry, "startTime", json_string(iso));
    }
    char msg[512];
    snprintf(msg, sizeof(msg),
             "metric \"%.100s\": this series would read about %.0f %s (at most %ld); %s", q->name,
             rows, d->raw ? "raw events" : "rollup rows", max, sug);
    gql_fail(err, "COST_LIMIT", "%s", msg);
    err->extensions = json_pack("{s:I,s:I,s:s,s:s,s:o}", "rows", (json_int_t)rows, "maxRows",
                                (json_int_t)max, "source", d->raw ? "raw_events" : "rollups",
                                "suggestion", sug, "retryWith", retry);
    return -1;
}

int gql_resolve_metrics(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    gql_request_ctx *rc = ctx->request_ctx;
    gql_app *app = rc->app;
    const char *tenant = arg_str(ctx, "tenant");
    if (check_tenant(ctx, tenant, EA_SCOPE_READ, err) != 0)
        return -1;
    gql_series_req q;
    if (gql_series_req_from_args(ctx->args, &q, err) != 0)
        return -1;
    int64_t now = ea_time_now_ms();
    /* buckets starting past the horizon hold nothing (series.h): neither read nor cached */
    int64_t to = q.to, horizon = now + GQL_SERIES_FUTURE_MS;
    if (to > horizon)
        to = horizon > q.from ? horizon : q.from;
    long ttl_s = q.day ? app->cfg->cache_ttl_day_s : app->cfg->cache_ttl_hour_s;
    /* TTL 0 turns the cache off for that granularity: neither read nor written */
    char *key = ttl_s > 0 ? series_key(&q) : NULL;
    gql_bc_key k = {.tenant = tenant,
                    .metric = q.name,
                    .key = key,
                    .klen = key != NULL ? strlen(key) : 0,
                    .utc_day = q.day && gql_series_is_utc(q.tz)};
    gql_bc_view v = {0};
    if (key != NULL)
        gql_bcache_lookup(app->bcache, &k, q.from, to, now, &v);
    else
        v.ngaps = 1, v.gaps[0] = (gql_bc_gap){q.from, to}, v.ticket = 0;
    int rcode = -1;
    json_t *list = NULL;
    if (v.ngaps == 0) { /* every bucket from memory */
        size_t points = 0;
        for (size_t i = 0; i < v.nparts; i++)
            points += json_array_size(v.parts[i].points);
        if (rc->thread == NULL && points > LOOP_MAX_POINTS) {
            rc->deferred = true;
            fail(err, "DEFERRED", "%s", "a large answer: built on a worker thread");
            goto out;
        }
        list = json_array();
        merge_points(list, v.parts, v.nparts, NULL, 0);
        record_dep(rc, tenant, q.name, v.ticket);
        field_stat(rc, ctx, "HIT", v.raw ? "raw_events" : "rollups", (int)v.nparts, (int)v.nparts);
        *out = list;
        rcode = 0;
        goto out;
    }
    PGconn *c = need_db(ctx, err);
    if (c == NULL)
        goto out;
    gql_series_def d;
    if (gql_series_def_load(c, &q, app->cfg->raw_group_cap, &d, err) != 0)
        goto out;
    /* the cost model: what the reads would scan, from the planner, before reading */
    double rows = 0;
    int64_t span = 0;
    for (size_t i = 0; i < v.ngaps; i++)
        span += v.gaps[i].to - v.gaps[i].from;
    long max_rows = d.raw ? app->cfg->max_raw_rows : app->cfg->max_rows;
    for (size_t i = 0; max_rows > 0 && span >= ESTIMATE_MIN_SPAN_MS && i < v.ngaps; i++) {
        double r = gql_series_estimate(c, &q, &d, v.gaps[i].from, v.gaps[i].to);
        rows += r > 0 ? r : 0;
    }
    if (max_rows > 0 && rows > (double)max_rows) {
        refuse_rows(c, err, &q, &d, rows, max_rows);
        gql_series_def_free(&d);
        goto out;
    }
    gql_bc_fill fills[GQL_BC_MAX_GAPS];
    size_t nf = 0;
    bool fetched_closed = false;
    int fetched = 0;
    for (size_t i = 0; i < v.ngaps; i++) {
        if (gql_series_fetch_range(c, &q, &d, v.gaps[i].from, v.gaps[i].to, &fills[nf], err) != 0)
            break;
        fetched_closed |= fills[nf].closed_until > fills[nf].lo;
        fetched += (int)fills[nf].nparts;
        nf++;
    }
    if (nf == v.ngaps) {
        list = json_array();
        /* the fills are in gap order, so their parts are sorted as one list */
        size_t total = 0;
        for (size_t i = 0; i < nf; i++)
            total += fills[i].nparts;
        gql_bc_part *all = total > 0 ? malloc(total * sizeof(*all)) : NULL;
        size_t n = 0;
        for (size_t i = 0; all != NULL && i < nf; i++) {
            memcpy(all + n, fills[i].parts, fills[i].nparts * sizeof(*all));
            n += fills[i].nparts;
        }
        if (total > 0 && all == NULL) {
            json_decref(list);
            list = NULL;
            fail(err, "INTERNAL_SERVER_ERROR", "%s", "out of memory");
        } else {
            merge_points(list, v.parts, v.nparts, all, n);
            free(all);
            for (size_t i = 0; key != NULL && i < nf; i++)
                gql_bcache_insert(app->bcache, &k, v.ticket, &fills[i], ttl_s, now);
            if (key != NULL)
                record_dep(rc, tenant, q.name, v.ticket);
            else
                rc->other_fields++;
            /* HIT: no closed bucket read from PostgreSQL; MISS: nothing from the cache */
            const char *cache = key == NULL      ? "OFF"
                                : !v.any_cached  ? "MISS"
                                : fetched_closed ? "PARTIAL"
                                                 : "HIT";
            field_stat(rc, ctx, cache, d.raw ? "raw_events" : "rollups", (int)v.nparts + fetched,
                       (int)v.nparts);
            *out = list;
            rcode = 0;
        }
    }
    for (size_t i = 0; i < nf; i++)
        gql_bc_fill_free(&fills[i]);
    gql_series_def_free(&d);
out:
    gql_bc_view_free(&v);
    free(key);
    return rcode;
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

/* A mutation: the tenant it changes, the database, and the error of its lib/catalog call. */
typedef struct mutation {
    const char *tenant;
    PGconn *c;
    struct ea_err e;
} mutation;

/* A mutation's start: not cacheable, admin on the tenant, a database. false: err is set. */
static bool mutation_start(const ea_gql_field_ctx *ctx, mutation *m, ea_gql_error *err)
{
    not_cacheable(ctx);
    m->tenant = arg_str(ctx, "tenant");
    m->c = NULL;
    m->e = (struct ea_err){0};
    if (check_tenant(ctx, m->tenant, EA_SCOPE_ADMIN, err) != 0)
        return false;
    m->c = db_or_fail(ctx, err);
    return m->c != NULL;
}

/* A mutation's end: its lib/catalog call's result as the resolver's (0, or the catalog's error
 * for the client). */
static int mutation_end(mutation *m, ea_rc rc, ea_gql_error *err)
{
    return rc == EA_OK ? 0 : catalog_fail(err, &m->e);
}

int gql_resolve_save_dashboard(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    mutation mu;
    if (!mutation_start(ctx, &mu, err))
        return -1;
    return mutation_end(&mu,
                        ea_catalog_dashboard_save(
                            mu.c, mu.tenant, arg_str(ctx, "id"), arg_str(ctx, "name"),
                            json_object_get(ctx->args, "layout"),
                            json_is_true(json_object_get(ctx->args, "overwrite")), out, &mu.e),
                        err);
}

int gql_resolve_rename_dashboard(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    mutation mu;
    if (!mutation_start(ctx, &mu, err))
        return -1;
    return mutation_end(&mu,
                        ea_catalog_dashboard_rename(mu.c, mu.tenant, arg_str(ctx, "id"),
                                                    arg_str(ctx, "name"), out, &mu.e),
                        err);
}

/* A mutation that deletes the tenant's object named by the argument id: true, or the catalog's
 * NOT_FOUND. */
typedef ea_rc (*catalog_delete_fn)(PGconn *, const char *, const char *, struct ea_err *);

static int delete_by_id(const ea_gql_field_ctx *ctx, catalog_delete_fn fn, json_t **out,
                        ea_gql_error *err)
{
    mutation mu;
    if (!mutation_start(ctx, &mu, err))
        return -1;
    ea_rc rc = fn(mu.c, mu.tenant, arg_str(ctx, "id"), &mu.e);
    if (rc != EA_OK)
        return mutation_end(&mu, rc, err);
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
    mutation mu;
    if (!mutation_start(ctx, &mu, err))
        return -1;
    ea_catalog_alert a = alert_input(ctx);
    return mutation_end(&mu, ea_catalog_alert_create(mu.c, mu.tenant, &a, out, &mu.e), err);
}

int gql_resolve_update_alert(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    mutation mu;
    if (!mutation_start(ctx, &mu, err))
        return -1;
    ea_catalog_alert a = alert_input(ctx);
    return mutation_end(
        &mu, ea_catalog_alert_update(mu.c, mu.tenant, arg_str(ctx, "id"), &a, out, &mu.e), err);
}

int gql_resolve_set_alert_enabled(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    mutation mu;
    if (!mutation_start(ctx, &mu, err))
        return -1;
    return mutation_end(&mu,
                        ea_catalog_alert_set_enabled(
                            mu.c, mu.tenant, arg_str(ctx, "id"),
                            json_is_true(json_object_get(ctx->args, "enabled")), out, &mu.e),
                        err);
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
    mutation mu;
    if (!mutation_start(ctx, &mu, err))
        return -1;
    const json_t *rl = json_object_get(ctx->args, "rateLimit");
    ea_catalog_key_spec k = {.tenant = mu.tenant,
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
    /* bcrypt (~70 ms): on a pool thread, like every mutation (exec.h) */
    ea_rc rc = ea_catalog_key_create(mu.c, &k, EA_APIKEY_DEFAULT_COST, key, &apikey, &mu.e);
    free(scopes);
    free(origins);
    if (rc != EA_OK)
        return mutation_end(&mu, rc, err);
    *out = json_pack("{s:s,s:o}", "key", key, "apiKey", apikey);
    memset(key, 0, sizeof(key)); /* shown once: no copy outlives the response */
    return 0;
}

int gql_resolve_revoke_api_key(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    mutation mu;
    if (!mutation_start(ctx, &mu, err))
        return -1;
    bool already;
    return mutation_end(
        &mu, ea_catalog_key_revoke(mu.c, mu.tenant, arg_str(ctx, "keyId"), out, &already, &mu.e),
        err);
}

/* ---- me ---- */

int gql_resolve_me(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    not_cacheable(ctx);
    const gql_request_ctx *rc = ctx->request_ctx;
    if (rc->who.kind == GQL_PRINCIPAL_USER) { /* memberships (app.c, OIDC login) */
        PGconn *c = need_db(ctx, err);
        if (c == NULL)
            return -1;
        if (gql_principal_user_me(c, &rc->who, out) != 0)
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
    mutation mu;
    if (!mutation_start(ctx, &mu, err))
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
    json_t *changed = NULL;
    bool created;
    ea_rc rc = ea_catalog_metric_define(mu.c, mu.tenant, &m, out, &created, &changed, &mu.e);
    free(dims);
    if (rc != EA_OK)
        return mutation_end(&mu, rc, err);
    forget(ctx, mu.tenant, changed);
    return 0;
}

/* deleteMetric and renameMetric: lib/catalog moves or removes the rows, the caches forget them. */
static int metric_change(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err, bool rename)
{
    mutation mu;
    if (!mutation_start(ctx, &mu, err))
        return -1;
    json_t *changed = NULL;
    const char *name = arg_str(ctx, "name");
    ea_rc rc = rename ? ea_catalog_metric_rename(mu.c, mu.tenant, name, arg_str(ctx, "newName"),
                                                 out, &changed, &mu.e)
                      : ea_catalog_metric_delete(mu.c, mu.tenant, name, out, &changed, &mu.e);
    if (rc != EA_OK)
        return mutation_end(&mu, rc, err);
    forget(ctx, mu.tenant, changed);
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
