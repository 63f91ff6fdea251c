/*
 * test_worker_alerts.c — services/worker/alerts.c without PostgreSQL: the comparators at and
 * around the threshold and the ea:alerts message graphql-api's ws.c parses. (The value of a
 * bucket is lib/rollup's: tests/unit/rollup.)
 */
#include "../ea_test.h"
#include "alerts.h"
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

/* The message graphql-api's gql_ws_on_alert reads: tenant, alert {id,name,metric}, value,
 * dims, bucket. */
static void test_format(void)
{
    wk_alert_fired f = {"acme", "too \"many\"",        "page_views",
                        42,     "{\"page\": \"/a\"}",  "HOUR",
                        3,      INT64_C(1705942800000)};
    ea_buf b = EA_BUF_INIT(EA_PG_VALUE_MAX);
    wk_alert_format(&b, &f);
    EA_CHECK_STR(b.p, "{\"tenant\":\"acme\",\"alert\":{\"id\":42,\"name\":\"too \\\"many\\\"\","
                      "\"metric\":\"page_views\"},\"value\":3,\"dims\":{\"page\": \"/a\"},"
                      "\"granularity\":\"HOUR\",\"bucket\":\"2024-01-22T17:00:00.000Z\"}");
    json_error_t e;
    json_t *j = json_loads(b.p, 0, &e);
    EA_CHECK(j != NULL);
    EA_CHECK(json_integer_value(json_object_get(json_object_get(j, "alert"), "id")) == 42);
    json_decref(j);
    ea_buf_reset(&b);
    f.value = 2.5;
    wk_alert_format(&b, &f);
    EA_CHECK(strstr(b.p, "\"value\":2.5,") != NULL);
    ea_buf_free(&b);
}

/* An empty bucket (no matching row) is 0 for count and sum, and has no value for the others;
 * with rows, the value is lib/rollup's. */
static void test_empty_bucket_value(void)
{
    ea_rollup_sums none = {0};
    double v = -1;
    EA_CHECK(wk_alert_value(EA_CATALOG_AGG_COUNT, &none, &v) && v == 0);
    v = -1;
    EA_CHECK(wk_alert_value(EA_CATALOG_AGG_SUM, &none, &v) && v == 0);
    EA_CHECK(!wk_alert_value(EA_CATALOG_AGG_MIN, &none, &v));
    EA_CHECK(!wk_alert_value(EA_CATALOG_AGG_MAX, &none, &v));
    EA_CHECK(!wk_alert_value(EA_CATALOG_AGG_AVG, &none, &v));
    EA_CHECK(!wk_alert_value(EA_CATALOG_AGG_UNIQUE, &none, &v));
    /* "= 0" and "below 1" fire on it; "above 0" does not */
    EA_CHECK(wk_alert_compare(WK_CMP_EQ, 0, 0) && wk_alert_compare(WK_CMP_LT, 0, 1) &&
             !wk_alert_compare(WK_CMP_GT, 0, 0));
    ea_rollup_sums some = {.rows = 2, .cnt = 5, .sum = "12.50", .min = "1", .max = "9"};
    EA_CHECK(wk_alert_value(EA_CATALOG_AGG_COUNT, &some, &v) && v == 5);
    EA_CHECK(wk_alert_value(EA_CATALOG_AGG_SUM, &some, &v) && v == 12.5);
    EA_CHECK(wk_alert_value(EA_CATALOG_AGG_AVG, &some, &v) && v == 2.5);
    EA_CHECK(wk_alert_value(EA_CATALOG_AGG_MAX, &some, &v) && v == 9);
}

EA_TEST_MAIN(EA_TEST(test_cmp_parse), EA_TEST(test_compare_boundaries), EA_TEST(test_format),
             EA_TEST(test_empty_bucket_value))
