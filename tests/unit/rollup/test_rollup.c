/*
 * test_rollup.c — lib/rollup without PostgreSQL: metric-definition indexing, canonical
 * dimension keys, the cardinality cap, preparing an event once (encoded values, which metrics),
 * the locks a prepared event needs, in-memory aggregation (one row per bucket and dims, every
 * aggregation, closed buckets, lock order), the value of a bucket per aggregation, watermark
 * rules and the change-feed message format and splitting.
 */
#include "../ea_test.h"
#include "ea_hll.h"
#include "ea_pg_buf.h"
#include "ea_rollup.h"
#include "ea_rollup_agg.h"
#include "ea_rollup_defs.h"
#include "ea_rollup_dims.h"
#include "ea_rollup_feed.h"
#include "ea_rollup_watermark.h"
#include "ea_rollup_write.h"
#include "ea_time.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define H EA_MS_PER_HOUR
static const int64_t T0 = INT64_C(1705945000000); /* 2024-01-22T17:36:40Z */

static const char *buf_str(ea_buf *b)
{
    return b->p != NULL ? b->p : "";
}

static bool dec_is(ea_dec d, const char *want)
{
    ea_buf b = EA_BUF_INIT(EA_PG_VALUE_MAX);
    ea_dec_format(&b, d);
    bool ok = b.p != NULL && strcmp(b.p, want) == 0;
    if (!ok)
        fprintf(stderr, "  %s != %s\n", b.p != NULL ? b.p : "(null)", want);
    ea_buf_free(&b);
    return ok;
}

static bool sum_is(const ea_rollup_row *r, const char *want)
{
    ea_buf b = EA_BUF_INIT(EA_PG_VALUE_MAX);
    ea_dec_sum_format(&b, &r->sum);
    bool ok = b.p != NULL && strcmp(b.p, want) == 0;
    if (!ok)
        fprintf(stderr, "  sum %s != %s\n", b.p != NULL ? b.p : "(null)", want);
    ea_buf_free(&b);
    return ok;
}

/* The dimension object of props for d, values encoded as the aggregation encodes them. */
static bool build_dims(ea_buf *b, const ea_rollup_def *d, const json_t *props, ea_rollup_caps *caps)
{
    ea_buf vb[EA_ROLLUP_MAX_DIMS];
    for (size_t i = 0; i < EA_ROLLUP_MAX_DIMS; i++)
        ea_buf_init(&vb[i], EA_PG_VALUE_MAX);
    const char *vals[EA_ROLLUP_MAX_DIMS] = {0};
    uint32_t lens[EA_ROLLUP_MAX_DIMS] = {0};
    for (size_t i = 0; i < d->ndims; i++) {
        const json_t *v = json_object_get(props, d->dims[i]);
        if (v == NULL || json_is_null(v))
            continue;
        ea_rollup_dims_value_json(&vb[i], v);
        vals[i] = vb[i].p;
        lens[i] = (uint32_t)vb[i].len;
    }
    bool ok = ea_rollup_dims_build(b, d, vals, lens, caps, 0);
    for (size_t i = 0; i < d->ndims; i++)
        ea_buf_free(&vb[i]);
    return ok;
}

static ea_rollup_defs *test_defs(void)
{
    ea_rollup_defs *d = ea_rollup_defs_new();
    struct ea_err err = {0};
    ea_rollup_def views = {.tenant = "acme",
                           .name = "page_views",
                           .event_name = "page_view",
                           .agg = EA_CATALOG_AGG_COUNT,
                           .dims = {"page", "country", "page"},
                           .ndims = 3};
    ea_rollup_def revenue = {.tenant = "acme",
                             .name = "revenue",
                             .event_name = "purchase",
                             .agg = EA_CATALOG_AGG_SUM,
                             .property = "amount",
                             .dims = {"country"},
                             .ndims = 1};
    ea_rollup_def avg = {.tenant = "acme",
                         .name = "avg_amount",
                         .event_name = "purchase",
                         .agg = EA_CATALOG_AGG_AVG,
                         .property = "amount"};
    ea_rollup_def users = {.tenant = "acme",
                           .name = "users",
                           .event_name = "page_view",
                           .agg = EA_CATALOG_AGG_UNIQUE,
                           .property = "user_id"};
    /* a definition named like its event that counts something else (the max of a property)
     * holds the name: the automatic count moves to "signup (event)" (lib/catalog's rule) */
    ea_rollup_def signup = {.tenant = "acme",
                            .name = "signup",
                            .event_name = "signup",
                            .agg = EA_CATALOG_AGG_MAX,
                            .property = "age"};
    EA_CHECK(ea_rollup_defs_add(d, &views, &err) == EA_OK);
    EA_CHECK(ea_rollup_defs_add(d, &revenue, &err) == EA_OK);
    EA_CHECK(ea_rollup_defs_add(d, &avg, &err) == EA_OK);
    EA_CHECK(ea_rollup_defs_add(d, &users, &err) == EA_OK);
    /* the count of the event named like it replaces the automatic count */
    ea_rollup_def click = {.tenant = "acme",
                           .name = "click",
                           .event_name = "click",
                           .agg = EA_CATALOG_AGG_COUNT,
                           .dims = {"button"},
                           .ndims = 1};
    EA_CHECK(ea_rollup_defs_add(d, &signup, &err) == EA_OK);
    EA_CHECK(ea_rollup_defs_add(d, &click, &err) == EA_OK);
    return d;
}

static void test_defs_index(void)
{
    ea_rollup_defs *d = test_defs();
    size_t n;
    const ea_rollup_def *const *l = ea_rollup_defs_for_event(d, "acme", "page_view", &n);
    EA_CHECK(n == 2);
    EA_CHECK(l != NULL && l[0]->ndims == 2); /* sorted and de-duplicated */
    EA_CHECK(l != NULL && strcmp(l[0]->dims[0], "country") == 0 &&
             strcmp(l[0]->dims[1], "page") == 0);
    EA_CHECK(ea_rollup_defs_for_event(d, "other", "page_view", &n) == NULL && n == 0);
    EA_CHECK(ea_rollup_defs_has_metric(d, "acme", "revenue"));
    EA_CHECK(!ea_rollup_defs_has_metric(d, "acme", "page_view"));
    struct ea_err err = {0};
    ea_rollup_def dup = {.tenant = "acme", .name = "revenue", .event_name = "x"};
    EA_CHECK(ea_rollup_defs_add(d, &dup, &err) == EA_ERR_INVALID);
    ea_rollup_def noprop = {
        .tenant = "acme", .name = "s", .event_name = "x", .agg = EA_CATALOG_AGG_SUM};
    EA_CHECK(ea_rollup_defs_add(d, &noprop, &err) == EA_ERR_INVALID);
    EA_CHECK(ea_catalog_agg_parse("unique") == EA_CATALOG_AGG_UNIQUE &&
             ea_catalog_agg_parse("x") < 0);
    ea_rollup_defs_free(d);
}

static void test_count_names(void)
{
    ea_rollup_defs *d = test_defs();
    ea_arena *a = ea_arena_new(4096);
    const char *n = "?";
    EA_CHECK(ea_rollup_defs_count_name(d, "acme", "page_view", a, &n) == EA_OK);
    EA_CHECK_STR(n, "page_view");
    EA_CHECK(ea_rollup_defs_count_name(d, "acme", "Order Completed", a, &n) == EA_OK);
    EA_CHECK_STR(n, "Order Completed"); /* exactly as sent */
    /* "revenue" is sum(amount) of purchase: events named revenue never merge into it */
    EA_CHECK(ea_rollup_defs_count_name(d, "acme", "revenue", a, &n) == EA_OK);
    EA_CHECK_STR(n, "revenue (event)");
    EA_CHECK(ea_rollup_defs_count_name(d, "acme", "revenue (event)", a, &n) == EA_OK);
    EA_CHECK_STR(n, "revenue (event) (event)");
    EA_CHECK(ea_rollup_defs_count_name(d, "beta", "revenue", a, &n) == EA_OK);
    EA_CHECK_STR(n, "revenue"); /* another tenant's definition changes nothing */
    EA_CHECK(ea_rollup_defs_count_name(d, "acme", "click", a, &n) == EA_OK);
    EA_CHECK(n == NULL); /* replaced by the definition "click" = count of click */
    EA_CHECK(ea_rollup_defs_count_name(d, "acme", "click (event)", a, &n) == EA_OK);
    EA_CHECK_STR(n, "click (event)");
    ea_arena_free(a);
    ea_rollup_defs_free(d);
}

static void test_dims_canonical(void)
{
    ea_rollup_defs *d = test_defs();
    size_t n;
    const ea_rollup_def *views = ea_rollup_defs_for_event(d, "acme", "page_view", &n)[0];
    ea_buf a = EA_BUF_INIT(EA_PG_VALUE_MAX), b = EA_BUF_INIT(EA_PG_VALUE_MAX);
    json_t *p1 = json_loads("{\"page\":\"/a\",\"country\":1.0,\"x\":2}", 0, NULL);
    json_t *p2 = json_loads("{\"country\":1,\"page\":\"/a\"}", 0, NULL);
    EA_CHECK(build_dims(&a, views, p1, NULL));
    EA_CHECK(build_dims(&b, views, p2, NULL));
    EA_CHECK_STR(buf_str(&a), "{\"country\":1,\"page\":\"/a\"}");
    EA_CHECK_STR(buf_str(&a), buf_str(&b)); /* equal jsonb, equal key */
    json_t *p3 = json_loads("{\"page\":{\"b\":1,\"a\":[true,null]}}", 0, NULL);
    ea_buf_reset(&a);
    EA_CHECK(build_dims(&a, views, p3, NULL));
    EA_CHECK_STR(buf_str(&a),
                 "{\"country\":null,\"page\":\"{\\\"a\\\":[true,null],\\\"b\\\":1}\"}");
    json_decref(p1);
    json_decref(p2);
    json_decref(p3);
    ea_buf_free(&a);
    ea_buf_free(&b);
    ea_rollup_defs_free(d);
}

static void test_cardinality_cap(void)
{
    ea_rollup_caps *c = ea_rollup_caps_new();
    const int64_t day = 19744 * EA_MS_PER_DAY;
    EA_CHECK(ea_rollup_caps_admit(c, "t", "m", day, "page", "\"/a\"", 4, 2));
    EA_CHECK(ea_rollup_caps_admit(c, "t", "m", day, "page", "\"/b\"", 4, 2));
    EA_CHECK(!ea_rollup_caps_admit(c, "t", "m", day, "page", "\"/c\"", 4, 2));   /* full */
    EA_CHECK(ea_rollup_caps_admit(c, "t", "m", day, "page", "\"/a\"", 4, 2));    /* known stays */
    EA_CHECK(ea_rollup_caps_admit(c, "t", "m", day, "country", "\"de\"", 4, 2)); /* per dimension */
    EA_CHECK(ea_rollup_caps_admit(c, "t", "m", day + EA_MS_PER_DAY, "page", "\"/c\"", 4, 2));
    ea_rollup_caps_rollback(c); /* a rolled-back batch leaves nothing behind */
    EA_CHECK(ea_rollup_caps_admit(c, "t", "m", day, "page", "\"/c\"", 4, 2));
    EA_CHECK(ea_rollup_caps_admit(c, "t", "m", day, "page", "\"/d\"", 4, 2));
    ea_rollup_caps_commit(c);
    EA_CHECK(!ea_rollup_caps_admit(c, "t", "m", day, "page", "\"/a\"", 4, 2));
    EA_CHECK(ea_rollup_caps_admit(c, "t", "m", day, "page", "\"/d\"", 4, 2));
    /* seeded values (read back from PostgreSQL) count towards the cap */
    EA_CHECK(ea_rollup_caps_seed(c, "t", "m2", day, "page", "\"/x\"", 4));
    EA_CHECK(ea_rollup_caps_admit(c, "t", "m2", day, "page", "\"/y\"", 4, 2));
    EA_CHECK(!ea_rollup_caps_admit(c, "t", "m2", day, "page", "\"/z\"", 4, 2));
    EA_CHECK(ea_rollup_caps_state(c, "t", "m2", day, "page", "\"/x\"", 4, 2) ==
             EA_ROLLUP_CAP_KNOWN);
    EA_CHECK(ea_rollup_caps_state(c, "t", "m2", day, "page", "\"/y\"", 4, 2) ==
             EA_ROLLUP_CAP_KNOWN);
    EA_CHECK(ea_rollup_caps_state(c, "t", "m2", day, "page", "\"/z\"", 4, 2) == EA_ROLLUP_CAP_FULL);
    EA_CHECK(ea_rollup_caps_state(c, "t", "m3", day, "page", "\"/z\"", 4, 2) ==
             EA_ROLLUP_CAP_UNKNOWN);
    /* the staged value is listed for the registry, with its key */
    EA_CHECK(ea_rollup_caps_staged_count(c) == 1);
    const char *t, *m, *dim, *v;
    int64_t dd;
    size_t len;
    ea_rollup_caps_staged_get(c, 0, &t, &m, &dd, &dim, &v, &len);
    EA_CHECK_STR(t, "t");
    EA_CHECK_STR(m, "m2");
    EA_CHECK_STR(dim, "page");
    EA_CHECK(dd == day && len == 4 && memcmp(v, "\"/y\"", 4) == 0);
    ea_rollup_caps_commit(c);
    EA_CHECK(ea_rollup_caps_staged_count(c) == 0);
    ea_rollup_caps_expire(c, day + EA_MS_PER_DAY); /* forget `day` */
    EA_CHECK(ea_rollup_caps_admit(c, "t", "m", day, "page", "\"/a\"", 4, 2));
    EA_CHECK(ea_rollup_caps_state(c, "t", "m2", day, "page", "\"/x\"", 4, 2) ==
             EA_ROLLUP_CAP_UNKNOWN);
    ea_rollup_caps_free(c);
}

/* Values longer than the staging buffer (over ~1 KB) count towards the cap like any other: they
 * were admitted without being counted, so every long distinct value got rows of its own. */
static void test_cardinality_cap_long_values(void)
{
    ea_rollup_caps *c = ea_rollup_caps_new();
    const int64_t day = 19744 * EA_MS_PER_DAY;
    char v[3][2000];
    for (int i = 0; i < 3; i++) {
        memset(v[i], 'a' + i, sizeof(v[i]));
        v[i][0] = v[i][sizeof(v[i]) - 1] = '"';
    }
    EA_CHECK(ea_rollup_caps_admit(c, "t", "m", day, "page", v[0], sizeof(v[0]), 2));
    EA_CHECK(ea_rollup_caps_admit(c, "t", "m", day, "page", v[1], sizeof(v[1]), 2));
    EA_CHECK(!ea_rollup_caps_admit(c, "t", "m", day, "page", v[2], sizeof(v[2]), 2)); /* full */
    EA_CHECK(ea_rollup_caps_admit(c, "t", "m", day, "page", v[0], sizeof(v[0]), 2));  /* staged */
    EA_CHECK(ea_rollup_caps_state(c, "t", "m", day, "page", v[1], sizeof(v[1]), 2) ==
             EA_ROLLUP_CAP_KNOWN);
    EA_CHECK(ea_rollup_caps_state(c, "t", "m", day, "page", v[2], sizeof(v[2]), 2) ==
             EA_ROLLUP_CAP_FULL);
    EA_CHECK(ea_rollup_caps_staged_count(c) == 2);
    ea_rollup_caps_commit(c);
    EA_CHECK(!ea_rollup_caps_admit(c, "t", "m", day, "page", v[2], sizeof(v[2]), 2));
    EA_CHECK(ea_rollup_caps_admit(c, "t", "m", day, "page", v[1], sizeof(v[1]), 2));
    ea_rollup_caps_free(c);
}

static void test_dims_cap_folds_to_other(void)
{
    ea_rollup_defs *d = ea_rollup_defs_new();
    struct ea_err err = {0};
    ea_rollup_def m = {.tenant = "t",
                       .name = "p",
                       .event_name = "pv",
                       .agg = EA_CATALOG_AGG_COUNT,
                       .dims = {"page"},
                       .ndims = 1,
                       .cap = 1};
    EA_CHECK(ea_rollup_defs_add(d, &m, &err) == EA_OK);
    size_t n;
    const ea_rollup_def *def = ea_rollup_defs_for_event(d, "t", "pv", &n)[0];
    ea_rollup_caps *c = ea_rollup_caps_new();
    ea_buf b = EA_BUF_INIT(EA_PG_VALUE_MAX);
    json_t *a = json_loads("{\"page\":\"/a\"}", 0, NULL),
           *x = json_loads("{\"page\":\"/x\"}", 0, NULL);
    json_t *none = json_object();
    EA_CHECK(build_dims(&b, def, a, c));
    EA_CHECK_STR(buf_str(&b), "{\"page\":\"/a\"}");
    ea_buf_reset(&b);
    EA_CHECK(build_dims(&b, def, x, c));
    EA_CHECK_STR(buf_str(&b), "{\"page\":\"__other__\"}");
    ea_buf_reset(&b);
    EA_CHECK(build_dims(&b, def, none, c)); /* null is never capped */
    EA_CHECK_STR(buf_str(&b), "{\"page\":null}");
    json_decref(a);
    json_decref(x);
    json_decref(none);
    ea_buf_free(&b);
    ea_rollup_caps_free(c);
    ea_rollup_defs_free(d);
}

static ea_rollup_event make_event(ea_arena *a, const char *tenant, const char *name, int64_t ts,
                                  const char *props)
{
    ea_rollup_event ev = {.tenant = ea_arena_strndup(a, tenant, strlen(tenant)),
                          .name = ea_arena_strndup(a, name, strlen(name)),
                          .ts_ms = ts,
                          .properties = json_loads(props, 0, NULL)};
    return ev;
}

static void release(ea_rollup_event *ev)
{
    json_decref((json_t *)ev->properties);
    ev->properties = NULL;
}

static const ea_rollup_row *find_row(ea_rollup_agg *g, ea_rollup_gran gran, const char *metric,
                                     int64_t bucket, const char *dims)
{
    size_t n;
    ea_rollup_row **rows = ea_rollup_agg_rows(g, &n);
    for (size_t i = 0; i < n; i++)
        if (rows[i]->gran == gran && strcmp(rows[i]->metric, metric) == 0 &&
            rows[i]->bucket_ms == bucket && strcmp(rows[i]->dims, dims) == 0)
            return rows[i];
    return NULL;
}

static void test_aggregation(void)
{
    ea_arena *a = ea_arena_new(1 << 16);
    ea_rollup_defs *d = test_defs();
    ea_rollup_agg *g = ea_rollup_agg_new();
    const char *pv[] = {
        "{\"page\":\"/a\",\"country\":\"de\",\"user_id\":\"u1\"}",
        "{\"page\":\"/a\",\"country\":\"de\",\"user_id\":\"u2\"}",
        "{\"page\":\"/b\",\"user_id\":\"u1\"}",
        "{\"page\":\"/a\",\"country\":\"de\",\"user_id\":\"u1\"}",
    };
    ea_rollup_event evs[16];
    size_t ne = 0;
    for (int i = 0; i < 4; i++)
        evs[ne++] = make_event(a, "acme", "page_view", T0 + i * 1000, pv[i]);
    evs[ne++] = make_event(a, "acme", "purchase", T0, "{\"amount\":10,\"country\":\"de\"}");
    evs[ne++] = make_event(a, "acme", "purchase", T0, "{\"amount\":\"2.5\",\"country\":\"de\"}");
    evs[ne++] = make_event(a, "acme", "purchase", T0, "{\"amount\":\"n/a\",\"country\":\"de\"}");
    evs[ne++] = make_event(a, "acme", "purchase", T0 + H, "{\"amount\":-4}");
    evs[ne++] = make_event(a, "acme", "signup", T0, "{\"age\":30}");
    evs[ne++] = make_event(a, "acme", "signup", T0, "{\"age\":41}");
    evs[ne++] = make_event(a, "beta", "page_view", T0, "{\"page\":\"/a\"}");
    evs[ne++] = make_event(a, "acme", "click", T0, "{\"button\":\"buy\"}");
    bool restated = false;
    for (size_t i = 0; i < ne; i++)
        EA_CHECK(ea_rollup_agg_add_event(g, d, NULL, &evs[i], INT64_MIN, a, &restated) == EA_OK);
    EA_CHECK(!restated);
    int64_t hour = ea_time_floor_hour(T0), day = ea_time_floor_day(T0);

    const ea_rollup_row *r = find_row(g, EA_ROLLUP_HOUR, "page_view", hour, "{}");
    EA_CHECK(r != NULL && r->cnt == 4 && !r->has_value);
    r = find_row(g, EA_ROLLUP_HOUR, "page_views", hour, "{\"country\":\"de\",\"page\":\"/a\"}");
    EA_CHECK(r != NULL && r->cnt == 3);
    r = find_row(g, EA_ROLLUP_HOUR, "page_views", hour, "{\"country\":null,\"page\":\"/b\"}");
    EA_CHECK(r != NULL && r->cnt == 1);
    r = find_row(g, EA_ROLLUP_HOUR, "users", hour, "{}");
    EA_CHECK(r != NULL && r->cnt == 4 && r->hll != NULL);
    EA_CHECK(r != NULL && r->hll != NULL && ea_hll_estimate(r->hll) > 1.9 &&
             ea_hll_estimate(r->hll) < 2.1);
    /* sum: numbers and numeric strings; "n/a" does not contribute */
    r = find_row(g, EA_ROLLUP_HOUR, "revenue", hour, "{\"country\":\"de\"}");
    EA_CHECK(r != NULL && r->cnt == 2 && sum_is(r, "125E-1") && dec_is(r->min, "25E-1") &&
             dec_is(r->max, "10E0"));
    r = find_row(g, EA_ROLLUP_HOUR, "avg_amount", hour, "{}");
    EA_CHECK(r != NULL && r->cnt == 2 && sum_is(r, "125E-1"));
    r = find_row(g, EA_ROLLUP_HOUR, "revenue", hour + H, "{\"country\":null}");
    EA_CHECK(r != NULL && r->cnt == 1 && sum_is(r, "-4E0") && dec_is(r->min, "-4E0"));
    r = find_row(g, EA_ROLLUP_HOUR, "purchase", hour, "{}");
    EA_CHECK(r != NULL && r->cnt == 3); /* the automatic count counts every event */
    /* the definition "signup" (max of age) holds its name: the automatic count of the events
     * named signup is "signup (event)", never merged into it */
    r = find_row(g, EA_ROLLUP_HOUR, "signup", hour, "{}");
    EA_CHECK(r != NULL && r->cnt == 2 && r->has_value && dec_is(r->max, "41E0") &&
             dec_is(r->min, "30E0"));
    r = find_row(g, EA_ROLLUP_HOUR, "signup (event)", hour, "{}");
    EA_CHECK(r != NULL && r->cnt == 2 && !r->has_value);
    /* "click" = count of click by button replaces the automatic count: no "{}" row */
    EA_CHECK(find_row(g, EA_ROLLUP_HOUR, "click", hour, "{}") == NULL);
    r = find_row(g, EA_ROLLUP_HOUR, "click", hour, "{\"button\":\"buy\"}");
    EA_CHECK(r != NULL && r->cnt == 1);
    /* daily and 15-minute rows carry the same totals */
    r = find_row(g, EA_ROLLUP_DAY, "page_view", day, "{}");
    EA_CHECK(r != NULL && r->cnt == 4);
    r = find_row(g, EA_ROLLUP_DAY, "purchase", day, "{}");
    EA_CHECK(r != NULL && r->cnt == 4);
    r = find_row(g, EA_ROLLUP_15M, "page_view", ea_rollup_gran_floor(EA_ROLLUP_15M, T0), "{}");
    EA_CHECK(r != NULL && r->cnt == 4);

    /* one row per distinct key, sorted by (gran, tenant, metric, bucket, dims) */
    size_t n;
    ea_rollup_row **rows = ea_rollup_agg_rows(g, &n);
    for (size_t i = 1; i < n; i++) {
        const ea_rollup_row *p = rows[i - 1], *q = rows[i];
        int c = p->gran != q->gran             ? (p->gran < q->gran ? -1 : 1)
                : strcmp(p->tenant, q->tenant) ? strcmp(p->tenant, q->tenant)
                : strcmp(p->metric, q->metric) ? strcmp(p->metric, q->metric)
                : p->bucket_ms != q->bucket_ms ? (p->bucket_ms < q->bucket_ms ? -1 : 1)
                                               : strcmp(p->dims, q->dims);
        EA_CHECK(c < 0);
    }
    EA_CHECK(find_row(g, EA_ROLLUP_HOUR, "page_view", hour, "{}") != NULL);
    for (size_t i = 0; i < ne; i++)
        release(&evs[i]);
    ea_rollup_agg_free(g);
    ea_rollup_defs_free(d);
    ea_arena_free(a);
}

static void test_aggregation_closed_buckets(void)
{
    ea_arena *a = ea_arena_new(1 << 16);
    ea_rollup_defs *d = ea_rollup_defs_new();
    ea_rollup_agg *g = ea_rollup_agg_new();
    int64_t hour = ea_time_floor_hour(T0);
    /* group watermark just past the end of this hour: 15m and hour closed, day open */
    int64_t gwm = hour + H;
    ea_rollup_event ev = make_event(a, "acme", "click", hour + 1000, "{}");
    bool restated = false;
    EA_CHECK(ea_rollup_agg_add_event(g, d, NULL, &ev, gwm, a, &restated) == EA_OK);
    EA_CHECK(restated);
    EA_CHECK(find_row(g, EA_ROLLUP_15M, "click", hour, "{}")->closed);
    EA_CHECK(find_row(g, EA_ROLLUP_HOUR, "click", hour, "{}")->closed);
    EA_CHECK(!find_row(g, EA_ROLLUP_DAY, "click", ea_time_floor_day(hour), "{}")->closed);
    ea_rollup_agg_reset(g);
    size_t n;
    ea_rollup_agg_rows(g, &n);
    EA_CHECK(n == 0);
    release(&ev);
    ea_rollup_agg_free(g);
    ea_rollup_defs_free(d);
    ea_arena_free(a);
}

static void test_gran_floor(void)
{
    EA_CHECK(ea_rollup_gran_floor(EA_ROLLUP_15M, 15 * 60000 + 1) == 15 * 60000);
    EA_CHECK(ea_rollup_gran_floor(EA_ROLLUP_15M, -1) == -15 * 60000);
    EA_CHECK(ea_rollup_gran_floor(EA_ROLLUP_HOUR, T0) == ea_time_floor_hour(T0));
    EA_CHECK(ea_rollup_gran_floor(EA_ROLLUP_DAY, T0) == ea_time_floor_day(T0));
    EA_CHECK_STR(ea_rollup_gran_table(EA_ROLLUP_15M), "rollups_15m");
    EA_CHECK_STR(ea_rollup_gran_name(EA_ROLLUP_DAY), "DAY");
    /* bucket totals (migration 0016): hourly and daily only */
    EA_CHECK(ea_rollup_gran_totals(EA_ROLLUP_15M) == NULL);
    EA_CHECK_STR(ea_rollup_gran_totals(EA_ROLLUP_HOUR), "rollup_totals_hourly");
    EA_CHECK_STR(ea_rollup_gran_totals(EA_ROLLUP_DAY), "rollup_totals_daily");
}

/* Numbers exactly as sent: integers, reals from their own text in the event, numeric strings;
 * anything else is not a number (the event does not feed that metric). */
static void test_property_number(void)
{
    const char *text = "{\"i\":1,\"r\":9.99,\"e\":\"3e2\",\"x\":\"x\",\"z\":\"\",\"t\":true,"
                       "\"n\":null,\"sp\":\"1 \",\"long\":123456789.123456789,"
                       "\"hex\":\"0x10\",\"s\":\"0.1\"}";
    json_t *j = json_loads(text, 0, NULL);
    ea_rollup_event ev = {.properties = j, .props_text = text, .props_len = strlen(text)};
    ea_dec v;
    EA_CHECK(ea_rollup_property_number(&ev, "i", &v) && v.coef == 1 && v.exp == 0);
    EA_CHECK(ea_rollup_property_number(&ev, "r", &v) && v.coef == 999 && v.exp == -2);
    EA_CHECK(ea_rollup_property_number(&ev, "e", &v) && v.coef == 3 && v.exp == 2);
    EA_CHECK(ea_rollup_property_number(&ev, "s", &v) && v.coef == 1 && v.exp == -1);
    /* 18 digits: every one kept from the text (a double holds about 16) */
    EA_CHECK(ea_rollup_property_number(&ev, "long", &v) && v.coef == INT64_C(123456789123456789) &&
             v.exp == -9);
    const char *no[] = {"x", "z", "t", "n", "sp", "hex", "missing"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        EA_CHECK(!ea_rollup_property_number(&ev, no[i], &v));
    /* without the text (it could not be located): the shortest decimal of the double */
    ev.props_text = NULL;
    EA_CHECK(ea_rollup_property_number(&ev, "r", &v) && v.coef == 999 && v.exp == -2);
    json_decref(j);
}

/* THE age rule: relative to when the event was received, the same for ingest and worker. */
static void test_too_old(void)
{
    const int64_t d = EA_MS_PER_DAY;
    EA_CHECK(!ea_rollup_too_old(T0 - 30 * d, T0, 30)); /* exactly at the limit: counted */
    EA_CHECK(ea_rollup_too_old(T0 - 30 * d - 1, T0, 30));
    EA_CHECK(!ea_rollup_too_old(T0 - 20 * d, T0, 30));
    EA_CHECK(!ea_rollup_too_old(T0 + 3600000, T0, 30)); /* the future is ingest's other rule */
    /* a replay decides alike whenever it runs: only received_at matters */
    EA_CHECK(!ea_rollup_too_old(T0 - 29 * d, T0, 30) && ea_rollup_too_old(T0 - 29 * d, T0, 28));
    char msg[128];
    ea_rollup_too_old_message(msg, sizeof(msg), 30);
    EA_CHECK(strstr(msg, "30 days") != NULL);
    /* dedup keeps keys as long as ingest may accept a re-send, plus a day */
    EA_CHECK(ea_rollup_dedup_window_ms(30) == 31 * d);
}

static void test_watermark(void)
{
    const int64_t allowed = 10 * 60000;
    int64_t high = INT64_MIN;
    EA_CHECK(!ea_rollup_watermark_advance(&high, T0, allowed) && high == T0);
    EA_CHECK(
        !ea_rollup_watermark_advance(&high, T0 - allowed, allowed)); /* exactly on the watermark */
    EA_CHECK(ea_rollup_watermark_advance(&high, T0 - allowed - 1, allowed) && high == T0);
    EA_CHECK(!ea_rollup_watermark_advance(&high, T0 + H, allowed) && high == T0 + H);
    EA_CHECK(ea_rollup_watermark_of(high, allowed) == T0 + H - allowed);
    EA_CHECK(ea_rollup_watermark_of(INT64_MIN, allowed) == INT64_MIN);
    EA_CHECK(ea_rollup_bucket_closed(0, H, H));
    EA_CHECK(!ea_rollup_bucket_closed(0, H, H - 1));
    EA_CHECK(!ea_rollup_bucket_closed(0, H, INT64_MIN));
}

/* The change feed and fired alerts cannot share a channel (graphql-api would read every change as
 * an alert); different names, and a NULL one, pass. */
static void test_channels_check(void)
{
    struct ea_err e = {0};
    EA_CHECK(ea_rollup_channels_check("ea:changes", "ea:alerts", &e) == EA_OK);
    EA_CHECK(ea_rollup_channels_check("ea:changes", NULL, &e) == EA_OK);
    EA_CHECK(ea_rollup_channels_check("ea:x", "ea:x", &e) == EA_ERR_INVALID);
    EA_CHECK(strstr(e.message, "ALERTS_CHANNEL: \"ea:x\" is CHANGES_CHANNEL too") != NULL);
}

static void test_feed_format(void)
{
    ea_rollup_change ch[2] = {
        {"acme", "page_views", EA_ROLLUP_HOUR, ea_time_floor_hour(T0), "{\"page\": \"/a\"}", 0,
         false, false},
        {"acme", "page_views", EA_ROLLUP_DAY, ea_time_floor_day(T0), "{}", 2, false, false},
    };
    ea_buf b = EA_BUF_INIT(EA_PG_VALUE_MAX);
    ea_rollup_feed_format(&b, "acme", ch, 2);
    json_error_t e;
    json_t *j = json_loads(buf_str(&b), 0, &e);
    EA_CHECK(j != NULL);
    EA_CHECK_STR(buf_str(&b),
                 "{\"tenant\":\"acme\",\"changes\":[{\"metric\":\"page_views\",\"granularity\":"
                 "\"HOUR\",\"bucket\":\"2024-01-22T17:00:00.000Z\",\"dims\":{\"page\": \"/a\"},"
                 "\"revision\":0},{\"metric\":\"page_views\",\"granularity\":\"DAY\",\"bucket\":"
                 "\"2024-01-22T00:00:00.000Z\",\"dims\":{},\"revision\":2}]}");
    json_decref(j);
    ea_buf_free(&b);
}

/* Close notices (alerts): "changes" stays present for older readers, "closed" lists buckets. */
static void test_feed_format_closed(void)
{
    ea_rollup_change ch[3] = {
        {"acme", "page_views", EA_ROLLUP_HOUR, ea_time_floor_hour(T0), NULL, 0, true, false},
        {"acme", "signups", EA_ROLLUP_DAY, ea_time_floor_day(T0), NULL, 0, true, false},
        {"acme", "page_views", EA_ROLLUP_HOUR, ea_time_floor_hour(T0), "{}", 1, false, false},
    };
    ea_buf b = EA_BUF_INIT(EA_PG_VALUE_MAX);
    ea_rollup_feed_format(&b, "acme", ch, 2);
    EA_CHECK_STR(buf_str(&b),
                 "{\"tenant\":\"acme\",\"changes\":[],\"closed\":[{\"metric\":\"page_views\","
                 "\"granularity\":\"HOUR\",\"bucket\":\"2024-01-22T17:00:00.000Z\"},{\"metric\":"
                 "\"signups\",\"granularity\":\"DAY\",\"bucket\":\"2024-01-22T00:00:00.000Z\"}]}");
    ea_buf_reset(&b);
    ea_rollup_feed_format(&b, "acme", ch + 1, 2); /* both kinds in one message */
    json_error_t e;
    json_t *j = json_loads(buf_str(&b), 0, &e);
    EA_CHECK(j != NULL);
    EA_CHECK(json_array_size(json_object_get(j, "changes")) == 1);
    EA_CHECK(json_array_size(json_object_get(j, "closed")) == 1);
    EA_CHECK_STR(json_string_value(
                     json_object_get(json_array_get(json_object_get(j, "closed"), 0), "metric")),
                 "signups");
    json_decref(j);
    ea_buf_free(&b);
}

/* An event is prepared once: its dimension values encoded, the metrics it feeds listed (the
 * automatic count first unless a definition takes the event's name). */
static void test_prepare(void)
{
    ea_arena *a = ea_arena_new(1 << 16);
    ea_rollup_defs *d = test_defs();
    ea_rollup_event ev = make_event(a, "acme", "page_view", T0,
                                    "{\"page\":\"/a\",\"country\":1.0,\"user_id\":\"u1\"}");
    ea_rollup_prep *p = ea_rollup_prepare(d, &ev, a);
    EA_CHECK(p != NULL && p->n == 3); /* automatic count, page_views, users */
    if (p != NULL && p->n == 3) {
        EA_CHECK(p->c[0].def == NULL);
        EA_CHECK(p->day_ms == ea_time_floor_day(T0));
        const ea_rollup_contrib *views = &p->c[1], *users = &p->c[2];
        EA_CHECK_STR(views->def->name, "page_views");
        /* dims sorted: country, page; values canonical JSON */
        EA_CHECK(views->lens[0] == 1 && memcmp(views->vals[0], "1", 1) == 0);
        EA_CHECK(views->lens[1] == 4 && memcmp(views->vals[1], "\"/a\"", 4) == 0);
        EA_CHECK(users->has_hash && users->hash == ea_hll_hash("\"u1\"", 4));
    }
    release(&ev);
    /* a definition named like the event that counts something else holds the name: the
     * automatic count is "signup (event)"; no property: no contribution to the definition */
    ev = make_event(a, "acme", "signup", T0, "{}");
    p = ea_rollup_prepare(d, &ev, a);
    EA_CHECK(p != NULL && p->n == 1 && p->c[0].def == NULL &&
             strcmp(p->name, "signup (event)") == 0);
    release(&ev);
    ev = make_event(a, "acme", "signup", T0, "{\"age\":\"7\"}");
    p = ea_rollup_prepare(d, &ev, a);
    EA_CHECK(p != NULL && p->n == 2 && p->c[1].has_value && p->c[1].value.coef == 7);
    release(&ev);
    /* the count of the event named like it replaces the automatic count */
    ev = make_event(a, "acme", "click", T0, "{\"button\":\"buy\"}");
    p = ea_rollup_prepare(d, &ev, a);
    EA_CHECK(p != NULL && p->name == NULL && p->n == 1 && p->c[0].def != NULL);
    release(&ev);
    ea_rollup_defs_free(d);
    ea_arena_free(a);
}

/* What a prepared event needs before it may be added: the (tenant, metric) lock of every metric
 * it feeds, shared — exclusive for unique metrics and for values a cap has not decided yet (then
 * the registry of the day too), not for known values or a full cap. */
static void test_locks_note(void)
{
    ea_arena *a = ea_arena_new(1 << 16);
    ea_rollup_defs *d = ea_rollup_defs_new();
    struct ea_err err = {0};
    ea_rollup_def m = {
        .tenant = "t", .name = "p", .event_name = "pv", .dims = {"page"}, .ndims = 1, .cap = 1};
    ea_rollup_def u = {.tenant = "t",
                       .name = "users",
                       .event_name = "login",
                       .agg = EA_CATALOG_AGG_UNIQUE,
                       .property = "user"};
    EA_CHECK(ea_rollup_defs_add(d, &m, &err) == EA_OK);
    EA_CHECK(ea_rollup_defs_add(d, &u, &err) == EA_OK);
    ea_rollup_caps *caps = ea_rollup_caps_new();
    ea_rollup_locks *l = ea_rollup_locks_new();
    ea_pg_params *pp = ea_pg_params_new();
    size_t shared, excl, days;
    ea_rollup_event ev = make_event(a, "t", "pv", T0, "{\"page\":\"/a\"}");
    ea_rollup_prep *p = ea_rollup_prepare(d, &ev, a);
    EA_CHECK(p != NULL && ea_rollup_locks_note(l, caps, p) == EA_OK);
    /* an unknown value under the cap: p exclusive + its registry day; pv (count) shared */
    ea_rollup_locks_counts(l, &shared, &excl, &days);
    EA_CHECK(shared == 1 && excl == 1 && days == 1);
    /* the statement would run (a NULL connection fails it) */
    EA_CHECK(ea_rollup_locks_take(l, NULL, pp, caps, &err) != EA_OK);
    ea_rollup_locks_reset(l);
    /* once admitted and committed, the value needs a shared lock only */
    bool touched;
    ea_rollup_agg *g = ea_rollup_agg_new();
    EA_CHECK(ea_rollup_agg_add(g, caps, p, INT64_MIN, a, &touched) == EA_OK);
    ea_rollup_caps_commit(caps);
    EA_CHECK(ea_rollup_locks_note(l, caps, p) == EA_OK);
    ea_rollup_locks_counts(l, &shared, &excl, &days);
    EA_CHECK(shared == 2 && excl == 0 && days == 0);
    /* the cap (1) is full: a new value folds, shared */
    release(&ev);
    ea_rollup_locks_reset(l);
    ev = make_event(a, "t", "pv", T0, "{\"page\":\"/b\"}");
    p = ea_rollup_prepare(d, &ev, a);
    EA_CHECK(p != NULL && ea_rollup_locks_note(l, caps, p) == EA_OK);
    ea_rollup_locks_counts(l, &shared, &excl, &days);
    EA_CHECK(shared == 2 && excl == 0 && days == 0);
    release(&ev);
    /* a unique metric: exclusive (its sketch is read, merged, written); a second event of the
     * same metrics adds no lock */
    ev = make_event(a, "t", "login", T0, "{\"user\":\"u1\"}");
    p = ea_rollup_prepare(d, &ev, a);
    EA_CHECK(p != NULL && ea_rollup_locks_note(l, caps, p) == EA_OK);
    EA_CHECK(ea_rollup_locks_note(l, caps, p) == EA_OK);
    ea_rollup_locks_counts(l, &shared, &excl, &days);
    EA_CHECK(shared == 3 && excl == 1 && days == 0); /* + login (shared), users (exclusive) */
    release(&ev);
    ea_rollup_agg_free(g);
    ea_pg_params_free(pp);
    ea_rollup_locks_free(l);
    ea_rollup_caps_free(caps);
    ea_rollup_defs_free(d);
    ea_arena_free(a);
}

/* THE value of a bucket (graphql-api's series and the worker's alerts both use it). */
static void test_values(void)
{
    ea_rollup_sums s = {.rows = 3, .cnt = 4, .sum = "10", .min = "-2", .max = "7"};
    double v = -1;
    EA_CHECK(ea_rollup_value(EA_CATALOG_AGG_COUNT, &s, &v) && v == 4);
    EA_CHECK(ea_rollup_value(EA_CATALOG_AGG_SUM, &s, &v) && v == 10);
    EA_CHECK(ea_rollup_value(EA_CATALOG_AGG_MIN, &s, &v) && v == -2);
    EA_CHECK(ea_rollup_value(EA_CATALOG_AGG_MAX, &s, &v) && v == 7);
    EA_CHECK(ea_rollup_value(EA_CATALOG_AGG_AVG, &s, &v) && v == 2.5);
    /* no value: never compared, so "LT" cannot fire on an absent number */
    ea_rollup_sums none = {0};
    EA_CHECK(!ea_rollup_value(EA_CATALOG_AGG_COUNT, &none, &v));
    EA_CHECK(!ea_rollup_value(EA_CATALOG_AGG_SUM, &none, &v));
    ea_rollup_sums noprop = {.rows = 1, .cnt = 0};
    EA_CHECK(!ea_rollup_value(EA_CATALOG_AGG_AVG, &noprop, &v)); /* Σsum/nullif(Σcnt,0) */
    EA_CHECK(!ea_rollup_value(EA_CATALOG_AGG_MIN, &noprop, &v));
    EA_CHECK(!ea_rollup_value(EA_CATALOG_AGG_MAX, &noprop, &v));
    EA_CHECK(ea_rollup_value(EA_CATALOG_AGG_COUNT, &noprop, &v) && v == 0);
    EA_CHECK(!ea_rollup_value(EA_CATALOG_AGG_UNIQUE, &noprop, &v)); /* no sketch */
    /* exact decimals: 9.99 is 9.99; an average is rounded once, to 15 significant digits */
    ea_rollup_sums p = {.rows = 2, .cnt = 3, .sum = "29.97", .min = "9.99", .max = "9.990"};
    EA_CHECK(ea_rollup_value(EA_CATALOG_AGG_SUM, &p, &v) && v == 29.97);
    EA_CHECK(ea_rollup_value(EA_CATALOG_AGG_MIN, &p, &v) && v == 9.99);
    EA_CHECK(ea_rollup_value(EA_CATALOG_AGG_AVG, &p, &v) && v == 9.99);
    ea_rollup_sums third = {.rows = 1, .cnt = 3, .sum = "1"};
    EA_CHECK(ea_rollup_value(EA_CATALOG_AGG_AVG, &third, &v) && v == 0.333333333333333);
}

static void hex_sketch(char *out, size_t cap, unsigned from, unsigned to)
{
    ea_hll *h = ea_hll_new();
    for (unsigned i = from; i < to; i++) {
        char k[16];
        int n = snprintf(k, sizeof(k), "u%u", i);
        EA_CHECK(ea_hll_add(h, k, (size_t)n) == EA_OK);
    }
    uint8_t buf[20000];
    size_t n = ea_hll_serialize(h, buf, sizeof(buf));
    EA_CHECK(n > 0 && n * 2 < cap);
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", buf[i]);
    ea_hll_free(h);
}

static void test_value_unique(void)
{
    static char hex[100000];
    hex_sketch(hex, sizeof(hex) / 2, 0, 30);
    size_t len = strlen(hex);
    hex[len] = ',';
    hex_sketch(hex + len + 1, sizeof(hex) / 2, 20, 50); /* 10 users in both rows */
    ea_rollup_sums s = {.rows = 2, .cnt = 60, .hll_hex = hex};
    double v = -1;
    EA_CHECK(ea_rollup_value(EA_CATALOG_AGG_UNIQUE, &s, &v));
    EA_CHECK(v == 50); /* small sets are exact in the sparse representation */
    ea_rollup_sums bad = {.rows = 1, .cnt = 1, .hll_hex = "zz"};
    EA_CHECK(!ea_rollup_value(EA_CATALOG_AGG_UNIQUE, &bad, &v));
}

struct feed_log {
    int n;
    char tenants[8][16];
    size_t counts[8];
    int stop_after;
};

static bool collect(void *ctx, const char *tenant, const char *msg, size_t len)
{
    struct feed_log *l = ctx;
    json_error_t e;
    json_t *j = json_loadb(msg, len, 0, &e);
    EA_CHECK(j != NULL && strcmp(json_string_value(json_object_get(j, "tenant")), tenant) == 0);
    if (l->n < 8) {
        snprintf(l->tenants[l->n], sizeof(l->tenants[0]), "%s", tenant);
        l->counts[l->n] = json_array_size(json_object_get(j, "changes")) +
                          json_array_size(json_object_get(j, "closed"));
    }
    json_decref(j);
    return ++l->n != l->stop_after;
}

/* One message per tenant, at most max changes each; a false return stops the sequence. */
static void test_feed_each(void)
{
    ea_rollup_change ch[5];
    const char *tenants[5] = {"b", "a", "b", "b", "a"};
    for (int i = 0; i < 5; i++)
        ch[i] = (ea_rollup_change){tenants[i], "m", EA_ROLLUP_HOUR, T0, "{}", i, false, false};
    struct feed_log l = {0};
    EA_CHECK(ea_rollup_feed_each(ch, 5, 2, collect, &l) == 0);
    EA_CHECK(l.n == 3);
    EA_CHECK_STR(l.tenants[0], "a");
    EA_CHECK(l.counts[0] == 2);
    EA_CHECK_STR(l.tenants[1], "b");
    EA_CHECK(l.counts[1] == 2);
    EA_CHECK_STR(l.tenants[2], "b");
    EA_CHECK(l.counts[2] == 1);
    struct feed_log stop = {.stop_after = 1};
    EA_CHECK(ea_rollup_feed_each(ch, 5, 2, collect, &stop) == 0);
    EA_CHECK(stop.n == 1);
    EA_CHECK(ea_rollup_feed_each(ch, 0, 2, collect, &stop) == 0 && stop.n == 1);
}

EA_TEST_MAIN(EA_TEST(test_defs_index), EA_TEST(test_count_names), EA_TEST(test_dims_canonical),
             EA_TEST(test_cardinality_cap), EA_TEST(test_cardinality_cap_long_values),
             EA_TEST(test_dims_cap_folds_to_other), EA_TEST(test_prepare), EA_TEST(test_locks_note),
             EA_TEST(test_aggregation), EA_TEST(test_aggregation_closed_buckets),
             EA_TEST(test_gran_floor), EA_TEST(test_property_number), EA_TEST(test_values),
             EA_TEST(test_value_unique), EA_TEST(test_too_old), EA_TEST(test_watermark),
             EA_TEST(test_channels_check), EA_TEST(test_feed_format),
             EA_TEST(test_feed_format_closed), EA_TEST(test_feed_each))
