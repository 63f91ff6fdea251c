/*
 * test_worker.c — services/worker without PostgreSQL or Kafka: canonical
 * dimension keys, the cardinality cap, message decoding, metric-definition indexing, in-memory
 * aggregation (one row per bucket and dims, every aggregation, closed buckets, lock order),
 * watermark rules and the change-feed message format.
 */
#include "../ea_test.h"
#include "changefeed.h"
#include "dims.h"
#include "ea_time.h"
#include "jalloc.h"
#include "message.h"
#include "metricdefs.h"
#include "processor.h"
#include "sink.h"
#include "ea_pg_buf.h"
#include "watermark.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define H EA_MS_PER_HOUR
static const int64_t T0 = INT64_C(1705945000000); /* 2024-01-22T17:36:40Z */

static const char *buf_str(ea_pg_buf *b)
{
    return b->p != NULL ? b->p : "";
}

/* ---- message decoding ---- */

static wk_event decode(const char *s, ea_arena *a)
{
    wk_event ev;
    memset(&ev, 0, sizeof(ev));
    EA_CHECK(wk_message_decode(&ev, s, strlen(s), a));
    return ev;
}

static void test_message_decode(void)
{
    ea_arena *a = ea_arena_new(4096);
    wk_event ev = decode("{\"v\":1,\"tenant\":\"acme\",\"event_id\":\"e1\",\"event\":\"page_view\","
                         "\"ts\":1705945000000,\"received_at\":1705945000123,"
                         "\"properties\":{\"page\":\"/a\"}}",
                         a);
    EA_CHECK(ev.state == WK_EV_PARSED);
    EA_CHECK_STR(ev.tenant, "acme");
    EA_CHECK_STR(ev.event_id, "e1");
    EA_CHECK_STR(ev.name, "page_view");
    EA_CHECK(ev.ts_ms == INT64_C(1705945000000) && ev.received_ms == INT64_C(1705945000123));
    EA_CHECK_STR(json_string_value(json_object_get(ev.properties, "page")), "/a");
    wk_event_release(&ev);

    static const struct {
        const char *msg, *reason;
    } bad[] = {
        {"not json", "invalid_json"},
        {"[1]", "invalid_json"},
        {"{\"v\":2,\"tenant\":\"a\"}", "unsupported_version"},
        {"{\"tenant\":\"a\"}", "missing_field:v"},
        {"{\"v\":1,\"event_id\":\"e\",\"event\":\"x\",\"ts\":1}", "missing_field:tenant"},
        {"{\"v\":1,\"tenant\":\"\",\"event_id\":\"e\",\"event\":\"x\",\"ts\":1}",
         "invalid_field:tenant"},
        {"{\"v\":1,\"tenant\":\"a\",\"event\":\"x\",\"ts\":1}", "missing_field:event_id"},
        {"{\"v\":1,\"tenant\":\"a\",\"event_id\":7,\"event\":\"x\",\"ts\":1}",
         "invalid_field:event_id"},
        {"{\"v\":1,\"tenant\":\"a\",\"event_id\":\"e\",\"ts\":1}", "missing_field:event"},
        {"{\"v\":1,\"tenant\":\"a\",\"event_id\":\"e\",\"event\":\"x\",\"ts\":\"now\"}",
         "invalid_field:ts"},
        {"{\"v\":1,\"tenant\":\"a\",\"event_id\":\"e\",\"event\":\"x\",\"ts\":-5}",
         "invalid_field:ts"},
        {"{\"v\":1,\"tenant\":\"a\",\"event_id\":\"e\",\"event\":\"x\",\"ts\":1,"
         "\"properties\":[]}",
         "invalid_field:properties"},
        {"{\"v\":1,\"tenant\":\"a\",\"event_id\":\"e\",\"event\":\"x\",\"ts\":1,"
         "\"properties\":{\"k\":\"\\u0000\"}}",
         "invalid_json"},
        {"{\"v\":1,\"tenant\":\"a\",\"tenant\":\"b\"}", "invalid_json"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ev = decode(bad[i].msg, a);
        EA_CHECK(ev.state == WK_EV_DEAD);
        EA_CHECK_STR(ev.dead_reason, bad[i].reason);
        EA_CHECK(ev.payload != NULL && ev.payload_len == strlen(bad[i].msg));
        wk_event_release(&ev);
    }
    /* properties may be absent: an empty object */
    ev = decode("{\"v\":1,\"tenant\":\"a\",\"event_id\":\"e\",\"event\":\"x\",\"ts\":1.0}", a);
    EA_CHECK(ev.state == WK_EV_PARSED && json_object_size(ev.properties) == 0);
    EA_CHECK(ev.received_ms == ev.ts_ms);
    wk_event_release(&ev);
    ea_arena_free(a);
}

/* ---- definitions ---- */

static wk_defs *test_defs(void)
{
    wk_defs *d = wk_defs_new();
    struct ea_err err = {0};
    wk_metric_def views = {.tenant = "acme",
                           .name = "page_views",
                           .event_name = "page_view",
                           .agg = WK_AGG_COUNT,
                           .dims = {"page", "country", "page"},
                           .ndims = 3};
    wk_metric_def revenue = {.tenant = "acme",
                             .name = "revenue",
                             .event_name = "purchase",
                             .agg = WK_AGG_SUM,
                             .property = "amount",
                             .dims = {"country"},
                             .ndims = 1};
    wk_metric_def avg = {.tenant = "acme",
                         .name = "avg_amount",
                         .event_name = "purchase",
                         .agg = WK_AGG_AVG,
                         .property = "amount"};
    wk_metric_def users = {.tenant = "acme",
                           .name = "users",
                           .event_name = "page_view",
                           .agg = WK_AGG_UNIQUE,
                           .property = "user_id"};
    /* a definition named like its event that counts something else (the max of a property)
     * holds the name: the automatic count moves to "signup (event)" (lib/catalog's rule) */
    wk_metric_def signup = {.tenant = "acme",
                            .name = "signup",
                            .event_name = "signup",
                            .agg = WK_AGG_MAX,
                            .property = "age"};
    /* the count of the event named like it replaces the automatic count */
    wk_metric_def click = {.tenant = "acme",
                           .name = "click",
                           .event_name = "click",
                           .agg = WK_AGG_COUNT,
                           .dims = {"button"},
                           .ndims = 1};
    EA_CHECK(wk_defs_add(d, &views, &err) == EA_OK);
    EA_CHECK(wk_defs_add(d, &revenue, &err) == EA_OK);
    EA_CHECK(wk_defs_add(d, &avg, &err) == EA_OK);
    EA_CHECK(wk_defs_add(d, &users, &err) == EA_OK);
    EA_CHECK(wk_defs_add(d, &signup, &err) == EA_OK);
    EA_CHECK(wk_defs_add(d, &click, &err) == EA_OK);
    return d;
}

static void test_defs_index(void)
{
    wk_defs *d = test_defs();
    size_t n;
    const wk_metric_def *const *l = wk_defs_for_event(d, "acme", "page_view", &n);
    EA_CHECK(n == 2);
    EA_CHECK(l != NULL && l[0]->ndims == 2); /* sorted and de-duplicated */
    EA_CHECK(l != NULL && strcmp(l[0]->dims[0], "country") == 0 &&
             strcmp(l[0]->dims[1], "page") == 0);
    EA_CHECK(wk_defs_for_event(d, "other", "page_view", &n) == NULL && n == 0);

    struct ea_err err = {0};
    wk_metric_def dup = {.tenant = "acme", .name = "revenue", .event_name = "x"};
    EA_CHECK(wk_defs_add(d, &dup, &err) == EA_ERR_INVALID);
    wk_metric_def noprop = {.tenant = "acme", .name = "s", .event_name = "x", .agg = WK_AGG_SUM};
    EA_CHECK(wk_defs_add(d, &noprop, &err) == EA_ERR_INVALID);
    EA_CHECK(wk_aggregation_parse("unique") == WK_AGG_UNIQUE && wk_aggregation_parse("x") < 0);
    wk_defs_free(d);
}

static void test_count_names(void)
{
    wk_defs *d = test_defs();
    ea_arena *a = ea_arena_new(4096);
    const char *n = "?";
    EA_CHECK(wk_defs_count_name(d, "acme", "page_view", a, &n) == EA_OK);
    EA_CHECK_STR(n, "page_view");
    EA_CHECK(wk_defs_count_name(d, "acme", "Order Completed", a, &n) == EA_OK);
    EA_CHECK_STR(n, "Order Completed"); /* exactly as sent */
    /* "revenue" is sum(amount) of purchase: events named revenue never merge into it */
    EA_CHECK(wk_defs_count_name(d, "acme", "revenue", a, &n) == EA_OK);
    EA_CHECK_STR(n, "revenue (event)");
    EA_CHECK(wk_defs_count_name(d, "acme", "revenue (event)", a, &n) == EA_OK);
    EA_CHECK_STR(n, "revenue (event) (event)");
    EA_CHECK(wk_defs_count_name(d, "beta", "revenue", a, &n) == EA_OK);
    EA_CHECK_STR(n, "revenue"); /* another tenant's definition changes nothing */
    EA_CHECK(wk_defs_count_name(d, "acme", "click", a, &n) == EA_OK);
    EA_CHECK(n == NULL); /* replaced by the definition "click" = count of click */
    EA_CHECK(wk_defs_count_name(d, "acme", "click (event)", a, &n) == EA_OK);
    EA_CHECK_STR(n, "click (event)");
    ea_arena_free(a);
    wk_defs_free(d);
}

/* ---- dims ---- */

static void test_dims_canonical(void)
{
    wk_defs *d = test_defs();
    size_t n;
    const wk_metric_def *views = wk_defs_for_event(d, "acme", "page_view", &n)[0];
    ea_pg_buf a = {0}, b = {0};
    json_t *p1 = json_loads("{\"page\":\"/a\",\"country\":1.0,\"x\":2}", 0, NULL);
    json_t *p2 = json_loads("{\"country\":1,\"page\":\"/a\"}", 0, NULL);
    EA_CHECK(wk_dims_build(&a, views, p1, NULL, 0));
    EA_CHECK(wk_dims_build(&b, views, p2, NULL, 0));
    EA_CHECK_STR(buf_str(&a), "{\"country\":1,\"page\":\"/a\"}");
    EA_CHECK_STR(buf_str(&a), buf_str(&b)); /* equal jsonb, equal key */
    json_t *p3 = json_loads("{\"page\":{\"b\":1,\"a\":[true,null]}}", 0, NULL);
    ea_pg_buf_reset(&a);
    EA_CHECK(wk_dims_build(&a, views, p3, NULL, 0));
    EA_CHECK_STR(buf_str(&a),
                 "{\"country\":null,\"page\":\"{\\\"a\\\":[true,null],\\\"b\\\":1}\"}");
    json_decref(p1);
    json_decref(p2);
    json_decref(p3);
    ea_pg_buf_free(&a);
    ea_pg_buf_free(&b);
    wk_defs_free(d);
}

static void test_cardinality_cap(void)
{
    wk_capset *c = wk_capset_new();
    const int64_t day = 19744 * EA_MS_PER_DAY;
    EA_CHECK(wk_capset_admit(c, "t", "m", day, "page", "\"/a\"", 4, 2));
    EA_CHECK(wk_capset_admit(c, "t", "m", day, "page", "\"/b\"", 4, 2));
    EA_CHECK(!wk_capset_admit(c, "t", "m", day, "page", "\"/c\"", 4, 2));   /* full */
    EA_CHECK(wk_capset_admit(c, "t", "m", day, "page", "\"/a\"", 4, 2));    /* known stays */
    EA_CHECK(wk_capset_admit(c, "t", "m", day, "country", "\"de\"", 4, 2)); /* per dimension */
    EA_CHECK(wk_capset_admit(c, "t", "m", day + EA_MS_PER_DAY, "page", "\"/c\"", 4, 2));
    wk_capset_rollback(c); /* a rolled-back batch leaves nothing behind */
    EA_CHECK(wk_capset_admit(c, "t", "m", day, "page", "\"/c\"", 4, 2));
    EA_CHECK(wk_capset_admit(c, "t", "m", day, "page", "\"/d\"", 4, 2));
    wk_capset_commit(c);
    EA_CHECK(!wk_capset_admit(c, "t", "m", day, "page", "\"/a\"", 4, 2));
    EA_CHECK(wk_capset_admit(c, "t", "m", day, "page", "\"/d\"", 4, 2));
    /* seeded values (read back from PostgreSQL) count towards the cap */
    EA_CHECK(wk_capset_seed(c, "t", "m2", day, "page", "\"/x\"", 4));
    EA_CHECK(wk_capset_admit(c, "t", "m2", day, "page", "\"/y\"", 4, 2));
    EA_CHECK(!wk_capset_admit(c, "t", "m2", day, "page", "\"/z\"", 4, 2));
    EA_CHECK(wk_capset_state(c, "t", "m2", day, "page", "\"/x\"", 4, 2) == WK_CAP_KNOWN);
    EA_CHECK(wk_capset_state(c, "t", "m2", day, "page", "\"/y\"", 4, 2) == WK_CAP_KNOWN);
    EA_CHECK(wk_capset_state(c, "t", "m2", day, "page", "\"/z\"", 4, 2) == WK_CAP_FULL);
    EA_CHECK(wk_capset_state(c, "t", "m3", day, "page", "\"/z\"", 4, 2) == WK_CAP_UNKNOWN);
    /* the staged value is listed for the registry, with its key */
    EA_CHECK(wk_capset_staged_count(c) == 1);
    const char *t, *m, *dim, *v;
    int64_t dd;
    size_t len;
    wk_capset_staged_get(c, 0, &t, &m, &dd, &dim, &v, &len);
    EA_CHECK_STR(t, "t");
    EA_CHECK_STR(m, "m2");
    EA_CHECK_STR(dim, "page");
    EA_CHECK(dd == day && len == 4 && memcmp(v, "\"/y\"", 4) == 0);
    wk_capset_commit(c);
    EA_CHECK(wk_capset_staged_count(c) == 0);
    wk_capset_expire(c, day + EA_MS_PER_DAY); /* forget `day` */
    EA_CHECK(wk_capset_admit(c, "t", "m", day, "page", "\"/a\"", 4, 2));
    EA_CHECK(wk_capset_state(c, "t", "m2", day, "page", "\"/x\"", 4, 2) == WK_CAP_UNKNOWN);
    wk_capset_free(c);
}

static void test_dims_cap_folds_to_other(void)
{
    wk_defs *d = wk_defs_new();
    struct ea_err err = {0};
    wk_metric_def m = {.tenant = "t",
                       .name = "p",
                       .event_name = "pv",
                       .agg = WK_AGG_COUNT,
                       .dims = {"page"},
                       .ndims = 1,
                       .cap = 1};
    EA_CHECK(wk_defs_add(d, &m, &err) == EA_OK);
    size_t n;
    const wk_metric_def *def = wk_defs_for_event(d, "t", "pv", &n)[0];
    wk_capset *c = wk_capset_new();
    ea_pg_buf b = {0};
    json_t *a = json_loads("{\"page\":\"/a\"}", 0, NULL),
           *x = json_loads("{\"page\":\"/x\"}", 0, NULL);
    json_t *none = json_object();
    EA_CHECK(wk_dims_build(&b, def, a, c, 0));
    EA_CHECK_STR(buf_str(&b), "{\"page\":\"/a\"}");
    ea_pg_buf_reset(&b);
    EA_CHECK(wk_dims_build(&b, def, x, c, 0));
    EA_CHECK_STR(buf_str(&b), "{\"page\":\"__other__\"}");
    ea_pg_buf_reset(&b);
    EA_CHECK(wk_dims_build(&b, def, none, c, 0)); /* null is never capped */
    EA_CHECK_STR(buf_str(&b), "{\"page\":null}");
    json_decref(a);
    json_decref(x);
    json_decref(none);
    ea_pg_buf_free(&b);
    wk_capset_free(c);
    wk_defs_free(d);
}

/* ---- aggregation ---- */

static wk_event make_event(ea_arena *a, const char *tenant, const char *name, int64_t ts,
                           const char *props)
{
    wk_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.tenant = ea_arena_strndup(a, tenant, strlen(tenant));
    ev.name = ea_arena_strndup(a, name, strlen(name));
    ev.event_id = "x";
    ev.ts_ms = ts;
    ev.root = json_loads(props, 0, NULL);
    ev.properties = ev.root;
    ev.state = WK_EV_PARSED;
    return ev;
}

static const wk_row *find_row(wk_agg *g, wk_gran gran, const char *metric, int64_t bucket,
                              const char *dims)
{
    size_t n;
    wk_row **rows = wk_agg_rows(g, &n);
    for (size_t i = 0; i < n; i++)
        if (rows[i]->gran == gran && strcmp(rows[i]->metric, metric) == 0 &&
            rows[i]->bucket_ms == bucket && strcmp(rows[i]->dims, dims) == 0)
            return rows[i];
    return NULL;
}

static void test_aggregation(void)
{
    ea_arena *a = ea_arena_new(1 << 16);
    wk_defs *d = test_defs();
    wk_agg *g = wk_agg_new();
    const char *pv[] = {
        "{\"page\":\"/a\",\"country\":\"de\",\"user_id\":\"u1\"}",
        "{\"page\":\"/a\",\"country\":\"de\",\"user_id\":\"u2\"}",
        "{\"page\":\"/b\",\"user_id\":\"u1\"}",
        "{\"page\":\"/a\",\"country\":\"de\",\"user_id\":\"u1\"}",
    };
    wk_event evs[16];
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
        EA_CHECK(wk_agg_add(g, d, NULL, &evs[i], INT64_MIN, a, &restated) == EA_OK);
    EA_CHECK(!restated);
    int64_t hour = ea_time_floor_hour(T0), day = ea_time_floor_day(T0);

    const wk_row *r = find_row(g, WK_GRAN_HOUR, "page_view", hour, "{}");
    EA_CHECK(r != NULL && r->cnt == 4 && !r->has_value);
    r = find_row(g, WK_GRAN_HOUR, "page_views", hour, "{\"country\":\"de\",\"page\":\"/a\"}");
    EA_CHECK(r != NULL && r->cnt == 3);
    r = find_row(g, WK_GRAN_HOUR, "page_views", hour, "{\"country\":null,\"page\":\"/b\"}");
    EA_CHECK(r != NULL && r->cnt == 1);
    r = find_row(g, WK_GRAN_HOUR, "users", hour, "{}");
    EA_CHECK(r != NULL && r->cnt == 4 && r->hll != NULL);
    EA_CHECK(r != NULL && r->hll != NULL && ea_hll_estimate(r->hll) > 1.9 &&
             ea_hll_estimate(r->hll) < 2.1);
    /* sum: numbers and numeric strings; "n/a" does not contribute */
    r = find_row(g, WK_GRAN_HOUR, "revenue", hour, "{\"country\":\"de\"}");
    EA_CHECK(r != NULL && r->cnt == 2 && r->sum == 12.5 && r->min == 2.5 && r->max == 10);
    r = find_row(g, WK_GRAN_HOUR, "avg_amount", hour, "{}");
    EA_CHECK(r != NULL && r->cnt == 2 && r->sum == 12.5);
    r = find_row(g, WK_GRAN_HOUR, "revenue", hour + H, "{\"country\":null}");
    EA_CHECK(r != NULL && r->cnt == 1 && r->sum == -4 && r->min == -4);
    r = find_row(g, WK_GRAN_HOUR, "purchase", hour, "{}");
    EA_CHECK(r != NULL && r->cnt == 3); /* the automatic count counts every event */
    /* the definition "signup" (max of age) holds its name: the automatic count of the events
     * named signup is "signup (event)", never merged into it */
    r = find_row(g, WK_GRAN_HOUR, "signup", hour, "{}");
    EA_CHECK(r != NULL && r->cnt == 2 && r->has_value && r->max == 41 && r->min == 30);
    r = find_row(g, WK_GRAN_HOUR, "signup (event)", hour, "{}");
    EA_CHECK(r != NULL && r->cnt == 2 && !r->has_value);
    /* "click" = count of click by button replaces the automatic count: no "{}" row */
    EA_CHECK(find_row(g, WK_GRAN_HOUR, "click", hour, "{}") == NULL);
    r = find_row(g, WK_GRAN_HOUR, "click", hour, "{\"button\":\"buy\"}");
    EA_CHECK(r != NULL && r->cnt == 1);
    /* daily and 15-minute rows carry the same totals */
    r = find_row(g, WK_GRAN_DAY, "page_view", day, "{}");
    EA_CHECK(r != NULL && r->cnt == 4);
    r = find_row(g, WK_GRAN_DAY, "purchase", day, "{}");
    EA_CHECK(r != NULL && r->cnt == 4);
    r = find_row(g, WK_GRAN_15M, "page_view", wk_gran_floor(WK_GRAN_15M, T0), "{}");
    EA_CHECK(r != NULL && r->cnt == 4);

    /* one row per distinct key, sorted by (gran, tenant, metric, bucket, dims) */
    size_t n;
    wk_row **rows = wk_agg_rows(g, &n);
    for (size_t i = 1; i < n; i++) {
        const wk_row *p = rows[i - 1], *q = rows[i];
        int c = p->gran != q->gran             ? (p->gran < q->gran ? -1 : 1)
                : strcmp(p->tenant, q->tenant) ? strcmp(p->tenant, q->tenant)
                : strcmp(p->metric, q->metric) ? strcmp(p->metric, q->metric)
                : p->bucket_ms != q->bucket_ms ? (p->bucket_ms < q->bucket_ms ? -1 : 1)
                                               : strcmp(p->dims, q->dims);
        EA_CHECK(c < 0);
    }
    EA_CHECK(find_row(g, WK_GRAN_HOUR, "page_view", hour, "{}") != NULL);
    for (size_t i = 0; i < ne; i++)
        wk_event_release(&evs[i]);
    wk_agg_free(g);
    wk_defs_free(d);
    ea_arena_free(a);
}

static void test_aggregation_closed_buckets(void)
{
    ea_arena *a = ea_arena_new(1 << 16);
    wk_defs *d = wk_defs_new();
    wk_agg *g = wk_agg_new();
    int64_t hour = ea_time_floor_hour(T0);
    /* group watermark just past the end of this hour: 15m and hour closed, day open */
    int64_t gwm = hour + H;
    wk_event ev = make_event(a, "acme", "click", hour + 1000, "{}");
    bool restated = false;
    EA_CHECK(wk_agg_add(g, d, NULL, &ev, gwm, a, &restated) == EA_OK);
    EA_CHECK(restated);
    EA_CHECK(find_row(g, WK_GRAN_15M, "click", hour, "{}")->closed);
    EA_CHECK(find_row(g, WK_GRAN_HOUR, "click", hour, "{}")->closed);
    EA_CHECK(!find_row(g, WK_GRAN_DAY, "click", ea_time_floor_day(hour), "{}")->closed);
    wk_agg_reset(g);
    size_t n;
    wk_agg_rows(g, &n);
    EA_CHECK(n == 0);
    wk_event_release(&ev);
    wk_agg_free(g);
    wk_defs_free(d);
    ea_arena_free(a);
}

static void test_gran_floor(void)
{
    EA_CHECK(wk_gran_floor(WK_GRAN_15M, 15 * 60000 + 1) == 15 * 60000);
    EA_CHECK(wk_gran_floor(WK_GRAN_15M, -1) == -15 * 60000);
    EA_CHECK(wk_gran_floor(WK_GRAN_HOUR, T0) == ea_time_floor_hour(T0));
    EA_CHECK(wk_gran_floor(WK_GRAN_DAY, T0) == ea_time_floor_day(T0));
    EA_CHECK_STR(wk_gran_table(WK_GRAN_15M), "rollups_15m");
    EA_CHECK_STR(wk_gran_name(WK_GRAN_DAY), "DAY");
}

static void test_property_number(void)
{
    double v;
    json_t *j = json_loads("[1, 2.5, \"3e2\", \"x\", \"\", true, null, \"1 \"]", 0, NULL);
    EA_CHECK(wk_property_number(json_array_get(j, 0), &v) && v == 1);
    EA_CHECK(wk_property_number(json_array_get(j, 1), &v) && v == 2.5);
    EA_CHECK(wk_property_number(json_array_get(j, 2), &v) && v == 300);
    for (int i = 3; i < 8; i++)
        EA_CHECK(!wk_property_number(json_array_get(j, (size_t)i), &v));
    EA_CHECK(!wk_property_number(NULL, &v));
    json_decref(j);
}

/* ---- watermark ---- */

static void test_watermark(void)
{
    const int64_t allowed = 10 * 60000, maxl = 7 * EA_MS_PER_DAY;
    int64_t high = INT64_MIN;
    EA_CHECK(!wk_watermark_too_late(high, 0, maxl)); /* nothing seen: nothing is too late */
    EA_CHECK(!wk_watermark_advance(&high, T0, allowed) && high == T0);
    EA_CHECK(!wk_watermark_advance(&high, T0 - allowed, allowed)); /* exactly on the watermark */
    EA_CHECK(wk_watermark_advance(&high, T0 - allowed - 1, allowed) && high == T0);
    EA_CHECK(!wk_watermark_advance(&high, T0 + H, allowed) && high == T0 + H);
    EA_CHECK(wk_watermark_of(high, allowed) == T0 + H - allowed);
    EA_CHECK(wk_watermark_of(INT64_MIN, allowed) == INT64_MIN);
    EA_CHECK(!wk_watermark_too_late(high, high - maxl, maxl));
    EA_CHECK(wk_watermark_too_late(high, high - maxl - 1, maxl));
    EA_CHECK(wk_bucket_closed(0, H, H));
    EA_CHECK(!wk_bucket_closed(0, H, H - 1));
    EA_CHECK(!wk_bucket_closed(0, H, INT64_MIN));
}

/* ---- change feed ---- */

static void test_feed_format(void)
{
    wk_change ch[2] = {
        {"acme", "page_views", WK_GRAN_HOUR, ea_time_floor_hour(T0), "{\"page\": \"/a\"}", 0, false,
         false},
        {"acme", "page_views", WK_GRAN_DAY, ea_time_floor_day(T0), "{}", 2, false, false},
    };
    ea_pg_buf b = {0};
    wk_feed_format(&b, "acme", ch, 2);
    json_error_t e;
    json_t *j = json_loads(buf_str(&b), 0, &e);
    EA_CHECK(j != NULL);
    EA_CHECK_STR(buf_str(&b),
                 "{\"tenant\":\"acme\",\"changes\":[{\"metric\":\"page_views\",\"granularity\":"
                 "\"HOUR\",\"bucket\":\"2024-01-22T17:00:00.000Z\",\"dims\":{\"page\": \"/a\"},"
                 "\"revision\":0},{\"metric\":\"page_views\",\"granularity\":\"DAY\",\"bucket\":"
                 "\"2024-01-22T00:00:00.000Z\",\"dims\":{},\"revision\":2}]}");
    json_decref(j);
    ea_pg_buf_free(&b);
}

/* raw_events gets the properties' own text; escapes, nesting and odd spacing do not fool the
 * scanner, and an escaped key falls back to serializing (props_text NULL). */
static void test_message_properties_text(void)
{
    ea_arena *a = ea_arena_new(4096);
    wk_event ev = decode("{ \"v\" : 1, \"x\": {\"properties\": 1, \"s\": \"}\\\"{\"}, "
                         "\"tenant\":\"acme\",\"event_id\":\"e1\",\"event\":\"p\",\"ts\":1,"
                         "\"properties\" :\t{\"a\":[1,{\"b\":\"]}\"}],\"c\":\"\\\"\"} ,\"z\":null}",
                         a);
    EA_CHECK(ev.state == WK_EV_PARSED);
    EA_CHECK(ev.props_text != NULL);
    if (ev.props_text != NULL) {
        char got[128];
        snprintf(got, sizeof(got), "%.*s", (int)ev.props_len, ev.props_text);
        EA_CHECK_STR(got, "{\"a\":[1,{\"b\":\"]}\"}],\"c\":\"\\\"\"}");
        json_error_t e;
        json_t *j = json_loadb(ev.props_text, ev.props_len, 0, &e);
        EA_CHECK(j != NULL && json_equal(j, ev.properties));
        json_decref(j);
    }
    wk_event_release(&ev);
    ev = decode("{\"v\":1,\"tenant\":\"acme\",\"event_id\":\"e1\",\"event\":\"p\",\"ts\":1,"
                "\"propert\\u0069es\":{\"a\":1}}",
                a);
    EA_CHECK(ev.state == WK_EV_PARSED && ev.props_text == NULL); /* serialized instead */
    EA_CHECK(json_integer_value(json_object_get(ev.properties, "a")) == 1);
    wk_event_release(&ev);
    ev = decode("{\"v\":1,\"tenant\":\"acme\",\"event_id\":\"e1\",\"event\":\"p\",\"ts\":1}", a);
    EA_CHECK(ev.state == WK_EV_PARSED && ev.props_len == 2 && memcmp(ev.props_text, "{}", 2) == 0);
    wk_event_release(&ev);
    ea_arena_free(a);
}

/* Close notices (alerts): "changes" stays present for older readers, "closed" lists buckets. */
static void test_feed_format_closed(void)
{
    wk_change ch[3] = {
        {"acme", "page_views", WK_GRAN_HOUR, ea_time_floor_hour(T0), NULL, 0, true, false},
        {"acme", "signups", WK_GRAN_DAY, ea_time_floor_day(T0), NULL, 0, true, false},
        {"acme", "page_views", WK_GRAN_HOUR, ea_time_floor_hour(T0), "{}", 1, false, false},
    };
    ea_pg_buf b = {0};
    wk_feed_format(&b, "acme", ch, 2);
    EA_CHECK_STR(buf_str(&b),
                 "{\"tenant\":\"acme\",\"changes\":[],\"closed\":[{\"metric\":\"page_views\","
                 "\"granularity\":\"HOUR\",\"bucket\":\"2024-01-22T17:00:00.000Z\"},{\"metric\":"
                 "\"signups\",\"granularity\":\"DAY\",\"bucket\":\"2024-01-22T00:00:00.000Z\"}]}");
    ea_pg_buf_reset(&b);
    wk_feed_format(&b, "acme", ch + 1, 2); /* both kinds in one message */
    json_error_t e;
    json_t *j = json_loads(buf_str(&b), 0, &e);
    EA_CHECK(j != NULL);
    EA_CHECK(json_array_size(json_object_get(j, "changes")) == 1);
    EA_CHECK(json_array_size(json_object_get(j, "closed")) == 1);
    EA_CHECK_STR(json_string_value(
                     json_object_get(json_array_get(json_object_get(j, "closed"), 0), "metric")),
                 "signups");
    json_decref(j);
    ea_pg_buf_free(&b);
}

/* With the hooks installed, a decoded tree lives in the batch arena (released with it, never
 * decref'd), while JSON made outside a decode scope is malloc'd and freed as usual (ASan checks
 * both: an arena node handed to free() or a leaked malloc'd one would fail this test). */
static void test_jalloc_scope(void)
{
    wk_jalloc_install();
    ea_arena *a = ea_arena_new(4096);
    size_t before = ea_arena_used(a);
    wk_event ev = decode("{\"v\":1,\"tenant\":\"acme\",\"event_id\":\"e1\",\"event\":\"p\","
                         "\"ts\":1,\"properties\":{\"page\":\"/a\",\"n\":[1,2,3]}}",
                         a);
    EA_CHECK(ev.state == WK_EV_PARSED && ev.root_in_arena);
    EA_CHECK(ea_arena_used(a) > before + 200); /* the nodes, not only the copied strings */
    EA_CHECK_STR(json_string_value(json_object_get(ev.properties, "page")), "/a");
    json_t *outside = json_pack("{s:[i,s]}", "k", 1, "v"); /* malloc'd: no scope now */
    char *txt = json_dumps(ev.properties, JSON_COMPACT | JSON_SORT_KEYS);
    EA_CHECK_STR(txt, "{\"n\":[1,2,3],\"page\":\"/a\"}");
    free(txt);
    json_decref(outside);
    wk_event_release(&ev); /* drops the pointer only */
    EA_CHECK(ev.root == NULL && !ev.root_in_arena);
    ev = decode("{\"v\":2}", a); /* dead inside the scope: its tree went with it */
    EA_CHECK(ev.state == WK_EV_DEAD && ev.root == NULL);
    ea_arena_free(a);
}

/* A COPY binary tuple as text: field count, then each field ("|"-separated): the 8 fields of a
 * raw_events row decoded by type (text, text, text, timestamptz, timestamptz, jsonb, int4,
 * int8), jsonb's version byte shown as \x01. */
static void binrow_str(const char *p, size_t n, char *out, size_t cap)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t i = 0, o = 0;
    out[0] = '\0';
    if (n < 2)
        return;
    int nf = u[0] << 8 | u[1];
    o += (size_t)snprintf(out + o, cap - o, "%d|", nf);
    i = 2;
    for (int f = 0; f < nf && i + 4 <= n && o < cap; f++) {
        uint32_t len =
            (uint32_t)u[i] << 24 | (uint32_t)u[i + 1] << 16 | (uint32_t)u[i + 2] << 8 | u[i + 3];
        i += 4;
        if (i + len > n)
            break;
        if (f == 3 || f == 4 || f == 6 || f == 7) { /* big-endian integers */
            int64_t v = 0;
            for (uint32_t k = 0; k < len; k++)
                v = (int64_t)((uint64_t)v << 8 | u[i + k]);
            if (len == 4)
                v = (int32_t)v;
            o += (size_t)snprintf(out + o, cap - o, "%lld|", (long long)v);
        } else if (f == 5) {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x%.*s|", u[i], (int)len - 1, p + i + 1);
        } else {
            o += (size_t)snprintf(out + o, cap - o, "%.*s|", (int)len, p + i);
        }
        i += len;
    }
}

/* The batch's COPY rows are built as events are decoded; sealing orders the dedup keys and
 * marks later events with an earlier event's key as repeats (the first polled wins). */
static void test_batch_prepare_seal(void)
{
    wk_batch b;
    memset(&b, 0, sizeof(b));
    b.arena = ea_arena_new(4096);
    const char *ids[] = {"e2", "e1", "e2", "e1", "e3"};
    const char *tenants[] = {"acme", "acme", "acme", "beta", "acme"};
    wk_event evs[5];
    b.ev = evs;
    b.cap = 5;
    for (int i = 0; i < 5; i++) {
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "{\"v\":1,\"tenant\":\"%s\",\"event_id\":\"%s\",\"event\":\"p\",\"ts\":%d,"
                 "\"received_at\":%d,\"properties\":{\"a\":\"x\\ty\"}}",
                 tenants[i], ids[i], 1000 + i, 2000 + i);
        evs[i] = decode(msg, b.arena);
        evs[i].partition = 1;
        evs[i].offset = 40 + i;
        wk_batch_prepare(&b, &evs[i], true);
        b.n++;
    }
    char row[256];
    snprintf(row, sizeof(row), "%.*s", (int)evs[0].key_len, b.key_rows.p + evs[0].key_off);
    EA_CHECK_STR(row, "acme\te2\n");
    binrow_str(b.raw_rows.p + evs[4].raw_off, evs[4].raw_len, row, sizeof(row));
    /* timestamps: microseconds since 2000-01-01 (1.004 s and 2.004 s after 1970) */
    EA_CHECK_STR(row, "8|acme|e3|p|-946684798996000|-946684797996000|\\x01{\"a\":\"x\\ty\"}|1|44|");
    wk_batch_seal(&b);
    EA_CHECK(b.nkey_order == 5);
    if (b.nkey_order == 5) { /* acme/e1, acme/e2 (idx 0 before its repeat 2), acme/e3, beta/e1 */
        uint32_t want[5] = {1, 0, 2, 4, 3};
        for (int i = 0; i < 5; i++)
            EA_CHECK(b.key_order[i] == want[i]);
    }
    EA_CHECK(!evs[0].repeat && !evs[1].repeat && evs[2].repeat && !evs[3].repeat && !evs[4].repeat);
    for (int i = 0; i < 5; i++)
        wk_event_release(&evs[i]);
    wk_batch_reset_rows(&b);
    EA_CHECK(b.key_rows.len == 0 && b.key_order == NULL);
    ea_pg_buf_free(&b.raw_rows);
    ea_pg_buf_free(&b.key_rows);
    ea_arena_free(b.arena);
}

EA_TEST_MAIN(EA_TEST(test_message_decode), EA_TEST(test_defs_index), EA_TEST(test_count_names),
             EA_TEST(test_dims_canonical), EA_TEST(test_cardinality_cap),
             EA_TEST(test_dims_cap_folds_to_other), EA_TEST(test_aggregation),
             EA_TEST(test_aggregation_closed_buckets), EA_TEST(test_gran_floor),
             EA_TEST(test_property_number), EA_TEST(test_watermark), EA_TEST(test_feed_format),
             EA_TEST(test_feed_format_closed), EA_TEST(test_message_properties_text),
             EA_TEST(test_batch_prepare_seal), EA_TEST(test_jalloc_scope))
