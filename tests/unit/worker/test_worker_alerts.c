/*
 * test_worker_alerts.c — services/worker/alerts.c without PostgreSQL: the comparators at and
 * around the threshold, the value of a bucket per aggregation (as graphql-api computes it,
 * including "no value" cases that must never fire), unique from merged sketches, and the
 * ea:alerts message graphql-api's ws.c parses.
 */
#include "../ea_test.h"
#include "alerts.h"
#include "ea_hll.h"
#include "ea_pg_buf.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_cmp_parse(void)
{
    static const char *const names[] = {"GT", "GTE", "LT", "LTE", "EQ", "NEQ"};
    for (int i = 0; i < 6; i++) {
        wk_cmp c = WK_CMP_NEQ;
        EA_CHECK(wk_alert_cmp_parse(names[i], &c));
        EA_CHECK((int)c == i);
    }
    wk_cmp c;
    EA_CHECK(!wk_alert_cmp_parse("gt", &c));
    EA_CHECK(!wk_alert_cmp_parse("", &c));
    EA_CHECK(!wk_alert_cmp_parse("GTX", &c));
}

static void test_compare_boundaries(void)
{
    /* value below, at, above the threshold 5: the expected outcome per comparator */
    static const struct {
        wk_cmp c;
        bool below, at, above;
    } t[] = {
        {WK_CMP_GT, false, false, true}, {WK_CMP_GTE, false, true, true},
        {WK_CMP_LT, true, false, false}, {WK_CMP_LTE, true, true, false},
        {WK_CMP_EQ, false, true, false}, {WK_CMP_NEQ, true, false, true},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        EA_CHECK(wk_alert_compare(t[i].c, 4.999, 5) == t[i].below);
        EA_CHECK(wk_alert_compare(t[i].c, 5, 5) == t[i].at);
        EA_CHECK(wk_alert_compare(t[i].c, 5.001, 5) == t[i].above);
        EA_CHECK(!wk_alert_compare(t[i].c, NAN, 5)); /* never fire on a non-number */
    }
}

static void test_values(void)
{
    wk_alert_agg a = {
        .rows = 3, .cnt = 4, .sum = 10, .has_min = true, .min = -2, .has_max = true, .max = 7};
    double v = -1;
    EA_CHECK(wk_alert_value("count", &a, &v) && v == 4);
    EA_CHECK(wk_alert_value("sum", &a, &v) && v == 10);
    EA_CHECK(wk_alert_value("min", &a, &v) && v == -2);
    EA_CHECK(wk_alert_value("max", &a, &v) && v == 7);
    EA_CHECK(wk_alert_value("avg", &a, &v) && v == 2.5);
    /* no value: never compared, so "LT" cannot fire on an absent number */
    wk_alert_agg none = {0};
    EA_CHECK(!wk_alert_value("count", &none, &v));
    EA_CHECK(!wk_alert_value("sum", &none, &v));
    wk_alert_agg noprop = {.rows = 1, .cnt = 0, .sum = 0};
    EA_CHECK(!wk_alert_value("avg", &noprop, &v)); /* Σsum/nullif(Σcnt,0) */
    EA_CHECK(!wk_alert_value("min", &noprop, &v));
    EA_CHECK(!wk_alert_value("max", &noprop, &v));
    EA_CHECK(wk_alert_value("count", &noprop, &v) && v == 0);
    EA_CHECK(!wk_alert_value("unique", &noprop, &v)); /* no sketch */
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

static void test_unique_merges_sketches(void)
{
    static char hex[100000];
    hex_sketch(hex, sizeof(hex) / 2, 0, 30);
    size_t len = strlen(hex);
    hex[len] = ',';
    hex_sketch(hex + len + 1, sizeof(hex) / 2, 20, 50); /* 10 users in both rows */
    wk_alert_agg a = {.rows = 2, .cnt = 60, .hll_hex = hex};
    double v = -1;
    EA_CHECK(wk_alert_value("unique", &a, &v));
    EA_CHECK(v == 50); /* small sets are exact in the sparse representation */
    wk_alert_agg bad = {.rows = 1, .cnt = 1, .hll_hex = "zz"};
    EA_CHECK(!wk_alert_value("unique", &bad, &v));
}

/* The message graphql-api's gql_ws_on_alert reads: tenant, alert {id,name,metric}, value,
 * dims, bucket. */
static void test_format(void)
{
    wk_alert_fired f = {"acme", "too \"many\"",        "page_views",
                        42,     "{\"page\": \"/a\"}",  "HOUR",
                        3,      INT64_C(1705942800000)};
    ea_pg_buf b = {0};
    wk_alert_format(&b, &f);
    EA_CHECK_STR(b.p, "{\"tenant\":\"acme\",\"alert\":{\"id\":42,\"name\":\"too \\\"many\\\"\","
                      "\"metric\":\"page_views\"},\"value\":3,\"dims\":{\"page\": \"/a\"},"
                      "\"granularity\":\"HOUR\",\"bucket\":\"2024-01-22T17:00:00.000Z\"}");
    json_error_t e;
    json_t *j = json_loads(b.p, 0, &e);
    EA_CHECK(j != NULL);
    EA_CHECK(json_integer_value(json_object_get(json_object_get(j, "alert"), "id")) == 42);
    json_decref(j);
    ea_pg_buf_reset(&b);
    f.value = 2.5;
    wk_alert_format(&b, &f);
    EA_CHECK(strstr(b.p, "\"value\":2.5,") != NULL);
    ea_pg_buf_free(&b);
}

EA_TEST_MAIN(EA_TEST(test_cmp_parse), EA_TEST(test_compare_boundaries), EA_TEST(test_values),
             EA_TEST(test_unique_merges_sketches), EA_TEST(test_format))
