/*
 * test_series.c — graphql-api pure logic: Query.metrics argument checks (series.c), the
 * group match that decides which subscriptions a changed row pushes to, and the prepared
 * document cache (doccache.c).
 */
#include "../ea_test.h"
#include "doccache.h"
#include "series.h"

static json_t *args(const char *json)
{
    json_error_t je;
    json_t *a = json_loads(json, 0, &je);
    EA_CHECK(a != NULL);
    return a;
}

static void test_req_from_args(void)
{
    gql_series_req q;
    ea_gql_error err;
    json_t *a = args("{\"tenant\":\"t\",\"name\":\"m\",\"startTime\":\"2026-01-01T10:30:00Z\","
                     "\"endTime\":\"2026-01-02T00:00:00Z\",\"granularity\":\"DAY\","
                     "\"timezone\":\"Asia/Kolkata\",\"groupBy\":[\"page\"],"
                     "\"filter\":{\"country\":\"de\",\"code\":[200,404]}}");
    EA_CHECK(gql_series_req_from_args(a, &q, &err) == 0);
    EA_CHECK_STR(q.tenant, "t");
    EA_CHECK(q.day);
    EA_CHECK_STR(q.tz, "Asia/Kolkata");
    EA_CHECK(q.from == 1767263400000LL);
    EA_CHECK(q.to == 1767312000000LL);
    EA_CHECK(json_array_size(q.group_by) == 1);
    EA_CHECK(json_object_size(q.filter) == 2);
    json_decref(a);

    /* defaults: HOUR, UTC, no groups, no filter */
    a = args("{\"tenant\":\"t\",\"name\":\"m\",\"startTime\":\"2026-01-01T00:00:00Z\","
             "\"endTime\":\"2026-01-01T00:00:00Z\",\"filter\":null}");
    EA_CHECK(gql_series_req_from_args(a, &q, &err) == 0);
    EA_CHECK(!q.day);
    EA_CHECK_STR(q.tz, "UTC");
    EA_CHECK(q.group_by == NULL && q.filter == NULL);
    json_decref(a);

    static const char *const bad[] = {
        "{\"startTime\":\"yesterday\",\"endTime\":\"2026-01-01T00:00:00Z\"}",
        "{\"startTime\":\"2026-01-01T00:00:00Z\",\"endTime\":\"2026-13-01T00:00:00Z\"}",
        "{\"startTime\":\"2026-01-02T00:00:00Z\",\"endTime\":\"2026-01-01T00:00:00Z\"}",
        "{\"startTime\":\"2026-01-01T00:00:00Z\",\"endTime\":\"2026-01-01T00:00:00Z\","
        "\"filter\":[1]}",
        "{\"startTime\":\"2026-01-01T00:00:00Z\",\"endTime\":\"2026-01-01T00:00:00Z\","
        "\"filter\":{\"a\":{\"b\":1}}}",
        "{\"startTime\":\"2026-01-01T00:00:00Z\",\"endTime\":\"2026-01-01T00:00:00Z\","
        "\"filter\":{\"a\":[[1]]}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        a = args(bad[i]);
        memset(&err, 0, sizeof(err));
        EA_CHECK(gql_series_req_from_args(a, &q, &err) == -1);
        EA_CHECK_STR(err.code, "BAD_USER_INPUT");
        EA_CHECK(strlen(err.message) > 10);
        json_decref(a);
    }
}

static void test_dims_match(void)
{
    json_t *row = args("{\"page\":\"/a\",\"country\":\"de\",\"n\":1}");
    json_t *by_page = args("[\"page\"]"), *by_both = args("[\"page\",\"country\"]");
    json_t *none = args("[]"), *by_missing = args("[\"plan\"]");
    json_t *g_a = args("{\"page\":\"/a\"}"), *g_b = args("{\"page\":\"/b\"}");
    json_t *g_ade = args("{\"page\":\"/a\",\"country\":\"de\"}");
    json_t *g_afr = args("{\"page\":\"/a\",\"country\":\"fr\"}");
    json_t *g_null = args("{\"plan\":null}"), *empty = args("{}");
    EA_CHECK(gql_series_dims_match(row, g_a, by_page));
    EA_CHECK(!gql_series_dims_match(row, g_b, by_page));
    EA_CHECK(gql_series_dims_match(row, g_ade, by_both));
    EA_CHECK(!gql_series_dims_match(row, g_afr, by_both));
    EA_CHECK(gql_series_dims_match(row, empty, none)); /* no groupBy: every row is the total */
    EA_CHECK(gql_series_dims_match(row, g_null, by_missing)); /* missing dimension = null */
    json_t *objs[] = {row, by_page, by_both, none,   by_missing, g_a,
                      g_b, g_ade,   g_afr,   g_null, empty};
    for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
        json_decref(objs[i]);
}

static void test_doccache(void)
{
    char errbuf[128];
    ea_gql_schema *s =
        ea_gql_schema_parse("type Query { a: Int b: String }", errbuf, sizeof(errbuf));
    EA_CHECK(s != NULL);
    ea_gql_limits l;
    ea_gql_limits_default(&l);
    gql_doccache *c = gql_doccache_new(s, &l, 1); /* one slot: every new query replaces */
    json_t *errors = NULL;
    gql_doc *d1 = gql_doccache_get(c, "{ a }", 5, &errors);
    EA_CHECK(d1 != NULL);
    gql_doc *again = gql_doccache_get(c, "{ a }", 5, &errors);
    EA_CHECK(again == d1);   /* cached: same document */
    EA_CHECK(d1->refs == 3); /* the slot's and two requests' */
    gql_doc_release(again);
    gql_doc *bad = gql_doccache_get(c, "{ nope }", 8, &errors);
    EA_CHECK(bad == NULL);
    EA_CHECK(json_array_size(errors) == 1);
    json_decref(errors);
    errors = NULL;
    gql_doc *d1b = gql_doccache_get(c, "{ a }", 5, &errors);
    EA_CHECK(d1b == d1); /* failures are not cached */
    gql_doc_release(d1b);
    /* a new query takes the only slot: d1 lives on while a request still holds it */
    gql_doc *d2 = gql_doccache_get(c, "{ b }", 5, &errors);
    EA_CHECK(d2 != NULL && d2 != d1);
    EA_CHECK(d1->refs == 1);
    bool executed = false;
    json_t *r = ea_gql_execute(s, d1->doc, NULL, NULL, NULL, NULL, NULL, &executed);
    EA_CHECK(json_is_object(json_object_get(r, "data")));
    json_decref(r);
    gql_doc_release(d1); /* the last reference: freed (ASan checks) */
    r = ea_gql_execute(s, d2->doc, NULL, NULL, NULL, NULL, NULL, &executed);
    EA_CHECK(json_is_object(json_object_get(r, "data")));
    json_decref(r);
    gql_doc_release(d2);
    gql_doccache_free(c);
    ea_gql_schema_free(s);
}

EA_TEST_MAIN(EA_TEST(test_req_from_args), EA_TEST(test_dims_match), EA_TEST(test_doccache))
