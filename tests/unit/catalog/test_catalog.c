/*
 * test_catalog.c — unit tests of lib/catalog's pure rules (ea_catalog_rules.c): tenant ids and
 * slugs, metric names, the aggregation list, what a valid definition is (with the exact messages
 * both front doors show), scopes, automatic count names and close-name suggestions. The
 * database operations are covered by tests/integration/catalog.test.mjs on the real stack.
 */
#include "../ea_test.h"
#include "ea_catalog.h"
#include "ea_catalog_int.h"

#include <string.h>

static void test_tenant_id(void)
{
    EA_CHECK(ea_catalog_tenant_id_valid("acme-corp"));
    EA_CHECK(ea_catalog_tenant_id_valid("a"));
    EA_CHECK(ea_catalog_tenant_id_valid("0-"));
    EA_CHECK(!ea_catalog_tenant_id_valid(""));
    EA_CHECK(!ea_catalog_tenant_id_valid(NULL));
    EA_CHECK(!ea_catalog_tenant_id_valid("-acme"));
    EA_CHECK(!ea_catalog_tenant_id_valid("Acme"));
    EA_CHECK(!ea_catalog_tenant_id_valid("acme_corp"));
    char id[70];
    memset(id, 'a', 63);
    id[63] = '\0';
    EA_CHECK(ea_catalog_tenant_id_valid(id));
    id[63] = 'a';
    id[64] = '\0';
    EA_CHECK(!ea_catalog_tenant_id_valid(id));
    struct ea_err err = {0};
    EA_CHECK(ea_catalog_tenant_id_check("Nope", &err) == EA_ERR_INVALID);
    EA_CHECK_STR(err.message, "invalid tenant id \"Nope\": must match ^[a-z0-9][a-z0-9-]{0,62}$");
}

static void test_text(void)
{
    EA_CHECK(ea_catalog_text_valid("Acme Corp", 200));
    EA_CHECK(!ea_catalog_text_valid("", 200));
    EA_CHECK(!ea_catalog_text_valid(NULL, 200));
    EA_CHECK(!ea_catalog_text_valid("a\nb", 200));
    EA_CHECK(!ea_catalog_text_valid("a\x7f", 200));
    EA_CHECK(!ea_catalog_text_valid("abc", 2));
    EA_CHECK(ea_catalog_text_valid("Zürich", 200)); /* UTF-8 is text */
}

static void test_slug(void)
{
    char out[EA_CATALOG_TENANT_ID_MAX + 1];
    EA_CHECK(ea_catalog_tenant_slug("Acme Corp", out) && strcmp(out, "acme-corp") == 0);
    EA_CHECK(ea_catalog_tenant_slug("  --Hello,  World!! 42 ", out) &&
             strcmp(out, "hello-world-42") == 0);
    EA_CHECK(!ea_catalog_tenant_slug("!!! ---", out) && out[0] == '\0');
    char longname[200];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    longname[62] = ' ';
    EA_CHECK(ea_catalog_tenant_slug(longname, out) && strlen(out) <= 63 &&
             out[strlen(out) - 1] != '-');
}

static void test_metric_name(void)
{
    EA_CHECK(ea_catalog_metric_name_valid("page_views"));
    EA_CHECK(ea_catalog_metric_name_valid("a"));
    EA_CHECK(ea_catalog_metric_name_valid("checkout.revenue-eur_2"));
    EA_CHECK(!ea_catalog_metric_name_valid(""));
    EA_CHECK(!ea_catalog_metric_name_valid(NULL));
    EA_CHECK(!ea_catalog_metric_name_valid("bad name!"));
    EA_CHECK(!ea_catalog_metric_name_valid("Order Completed"));
    EA_CHECK(!ea_catalog_metric_name_valid("1st"));
    EA_CHECK(!ea_catalog_metric_name_valid("_x"));
    EA_CHECK(!ea_catalog_metric_name_valid("Revenue"));
    EA_CHECK(!ea_catalog_metric_name_valid("x (event)"));
    char n[70];
    memset(n, 'a', 64);
    n[64] = '\0';
    EA_CHECK(ea_catalog_metric_name_valid(n));
    n[64] = 'a';
    n[65] = '\0';
    EA_CHECK(!ea_catalog_metric_name_valid(n));
    struct ea_err err = {0};
    EA_CHECK(ea_catalog_metric_name_check("", &err) == EA_ERR_INVALID);
    EA_CHECK_STR(err.message, "invalid metric name \"\": use a lowercase letter, then up to 63 "
                              "lowercase letters, digits, '_', '.' or '-'");
    /* user text in messages: control characters and quotes replaced, long names cut */
    EA_CHECK(ea_catalog_metric_name_check("a\"b\nc", &err) == EA_ERR_INVALID);
    EA_CHECK(strstr(err.message, "\"a?b?c\"") != NULL);
    char longname[300];
    memset(longname, 'z', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    EA_CHECK(ea_catalog_metric_name_check(longname, &err) == EA_ERR_INVALID);
    EA_CHECK(strstr(err.message, "zzz...\"") != NULL);
    /* a cut never splits a UTF-8 character: 63 ASCII bytes then a 2-byte "é" */
    char utf[80];
    memset(utf, 'e', 63);
    memcpy(utf + 63, "\xc3\xa9\xc3\xa9", 5);
    char q[CAT_QBUF];
    cat_quote(utf, q, sizeof(q));
    EA_CHECK(strlen(q) == 63 + 3 && strcmp(q + 63, "...") == 0);
}

static void test_aggregations(void)
{
    EA_CHECK(ea_catalog_agg_parse("count") == EA_CATALOG_AGG_COUNT);
    EA_CHECK(ea_catalog_agg_parse("unique") == EA_CATALOG_AGG_UNIQUE);
    EA_CHECK(ea_catalog_agg_parse("median") == -1);
    EA_CHECK(ea_catalog_agg_parse(NULL) == -1);
    for (int a = 0; a < EA_CATALOG_AGG_N; a++)
        EA_CHECK(ea_catalog_agg_parse(ea_catalog_agg_name((ea_catalog_agg)a)) == a);
}

static ea_rc check_def(const char *name, const char *event, const char *agg, const char *prop,
                       const char *const *dims, size_t ndims, long long cap, bool cap_set,
                       struct ea_err *err)
{
    ea_catalog_metric m = {name, event, agg, prop, dims, ndims, cap, cap_set};
    return ea_catalog_metric_check(&m, err);
}

static void test_metric_check(void)
{
    struct ea_err err = {0};
    const char *dims9[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
    const char *dup[] = {"plan", "plan"};
    const char *ctl[] = {"pl\tan"};
    EA_CHECK(check_def("revenue", "purchase", "sum", "amount", dims9, 8, 50, true, &err) == EA_OK);
    EA_CHECK(check_def("views", "page_view", NULL, NULL, NULL, 0, 0, false, &err) == EA_OK);
    EA_CHECK(check_def("Bad Name", "e", NULL, NULL, NULL, 0, 0, false, &err) == EA_ERR_INVALID);
    EA_CHECK(strncmp(err.message, "invalid metric name \"Bad Name\"", 30) == 0);
    EA_CHECK(check_def("m", "", NULL, NULL, NULL, 0, 0, false, &err) == EA_ERR_INVALID);
    EA_CHECK_STR(err.message, "invalid event name: 1 to 256 bytes");
    EA_CHECK(check_def("m", "e", "median", NULL, NULL, 0, 0, false, &err) == EA_ERR_INVALID);
    EA_CHECK_STR(err.message,
                 "invalid aggregation \"median\": expected count, sum, min, max, avg or unique");
    EA_CHECK(check_def("m", "e", "count", "amount", NULL, 0, 0, false, &err) == EA_ERR_INVALID);
    EA_CHECK_STR(err.message, "aggregation count takes no property (it counts events)");
    EA_CHECK(check_def("m", "e", "sum", NULL, NULL, 0, 0, false, &err) == EA_ERR_INVALID);
    EA_CHECK_STR(err.message, "aggregation sum needs a property (the event property it reads)");
    EA_CHECK(check_def("m", "e", "unique", "", NULL, 0, 0, false, &err) == EA_ERR_INVALID);
    EA_CHECK_STR(err.message, "invalid property name: 1 to 128 bytes without control characters");
    EA_CHECK(check_def("m", "e", NULL, NULL, dims9, 9, 0, false, &err) == EA_ERR_INVALID);
    EA_CHECK_STR(err.message, "invalid dimensions: at most 8 allowed");
    EA_CHECK(check_def("m", "e", NULL, NULL, dup, 2, 0, false, &err) == EA_ERR_INVALID);
    EA_CHECK_STR(err.message, "invalid dimensions: \"plan\" given twice");
    EA_CHECK(check_def("m", "e", NULL, NULL, ctl, 1, 0, false, &err) == EA_ERR_INVALID);
    EA_CHECK(strncmp(err.message, "invalid dimension \"pl?an\"", 25) == 0);
    EA_CHECK(check_def("m", "e", NULL, NULL, NULL, 0, 0, true, &err) == EA_ERR_INVALID);
    EA_CHECK_STR(err.message, "invalid cardinality cap 0: expected 1 to 1000000");
    EA_CHECK(check_def("m", "e", NULL, NULL, NULL, 0, 1000001, true, &err) == EA_ERR_INVALID);
    EA_CHECK(check_def("m", "e", NULL, NULL, NULL, 0, 1000000, true, &err) == EA_OK);
    /* Segment-style event names are fine as events, never as defined names */
    EA_CHECK(check_def("orders", "Order Completed", NULL, NULL, NULL, 0, 0, false, &err) == EA_OK);
}

static void test_scopes(void)
{
    struct ea_err err = {0};
    const char *ok[] = {"read", "ingest"}, *bad[] = {"root"}, *twice[] = {"read", "read"},
               *empty[] = {""};
    EA_CHECK(ea_catalog_scopes_check(ok, 2, &err) == EA_OK);
    EA_CHECK(ea_catalog_scopes_check(ok, 0, &err) == EA_ERR_INVALID);
    EA_CHECK_STR(err.message, "invalid scopes: at least one of ingest, read or admin");
    EA_CHECK(ea_catalog_scopes_check(bad, 1, &err) == EA_ERR_INVALID);
    EA_CHECK_STR(err.message, "invalid scope \"root\": expected ingest, read or admin");
    EA_CHECK(ea_catalog_scopes_check(twice, 2, &err) == EA_ERR_INVALID);
    EA_CHECK_STR(err.message, "invalid scopes: \"read\" given twice");
    EA_CHECK(ea_catalog_scopes_check(empty, 1, &err) == EA_ERR_INVALID);
}

static void test_count_names(void)
{
    const char *e = "page_view";
    EA_CHECK(ea_catalog_event_base_len(e, strlen(e)) == strlen(e));
    const char *s2 = "x (event) (event)";
    EA_CHECK(ea_catalog_event_base_len(s2, strlen(s2)) == 1);
    const char *odd = "(event)";
    EA_CHECK(ea_catalog_event_base_len(odd, strlen(odd)) == strlen(odd));
    const char *only = " (event)";
    EA_CHECK(ea_catalog_event_base_len(only, strlen(only)) == 0);
    /* no definition of the base: the count keeps the event's name */
    EA_CHECK(ea_catalog_count_kind_of(9, 9, false, false) == EA_CATALOG_COUNT_OWN);
    /* the count of the event named like it replaces the automatic count */
    EA_CHECK(ea_catalog_count_kind_of(9, 9, true, true) == EA_CATALOG_COUNT_REPLACED);
    /* ... but "x (event)" stays itself */
    EA_CHECK(ea_catalog_count_kind_of(17, 9, true, true) == EA_CATALOG_COUNT_OWN);
    /* a definition holding the name for something else: one suffix out, for all of them */
    EA_CHECK(ea_catalog_count_kind_of(9, 9, true, false) == EA_CATALOG_COUNT_SHADOWED);
    EA_CHECK(ea_catalog_count_kind_of(17, 9, true, false) == EA_CATALOG_COUNT_SHADOWED);
    EA_CHECK(ea_catalog_def_counts_own_name("signup", "count", "signup"));
    EA_CHECK(!ea_catalog_def_counts_own_name("signup", "sum", "signup"));
    EA_CHECK(!ea_catalog_def_counts_own_name("signup", "count", "purchase"));
}

/* The full OSA matrix, to check the banded one against. */
static size_t osa_reference(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), d[16][16];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < v)
                v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

static void test_distance_band(void)
{
    unsigned seed = 7;
    int mismatches = 0;
    for (int t = 0; t < 50000; t++) {
        char a[16], b[16];
        seed = seed * 1103515245u + 12345u;
        size_t la = (seed >> 16) % 12, lb = (seed >> 8) % 12, limit = (seed >> 24) % 5;
        for (size_t i = 0; i < la; i++)
            a[i] = "abc"[(seed = seed * 1103515245u + 12345u) >> 16 & 3 ? (seed >> 16) % 3 : 0];
        for (size_t i = 0; i < lb; i++)
            b[i] = "abc"[(seed = seed * 1103515245u + 12345u) >> 16 & 3 ? (seed >> 16) % 3 : 0];
        a[la] = b[lb] = '\0';
        size_t r = osa_reference(a, b), want = r > limit ? limit + 1 : r;
        mismatches += ea_catalog_name_distance(a, b, limit) != want;
    }
    EA_CHECK(mismatches == 0);
}

static void test_suggestions(void)
{
    EA_CHECK(ea_catalog_name_distance("page_veiws", "page_views", 3) == 1); /* a swap */
    EA_CHECK(ea_catalog_name_distance("page_view", "page_views", 3) == 1);
    EA_CHECK(ea_catalog_name_distance("Page_Views", "page_views", 3) == 0);
    EA_CHECK(ea_catalog_name_distance("abc", "xyz", 1) == 2);
    EA_CHECK(ea_catalog_name_distance("", "ab", 5) == 2);
    const char *cands[] = {"page_views", "page_view", "purchase", "revenue", "page_views"};
    const char *out[3];
    size_t n = ea_catalog_suggest("page_veiws", cands, 5, out, 3);
    EA_CHECK(n == 2);
    EA_CHECK(n == 2 && strcmp(out[0], "page_views") == 0 && strcmp(out[1], "page_view") == 0);
    EA_CHECK(ea_catalog_suggest("zzzzzzzz", cands, 5, out, 3) == 0);
    EA_CHECK(ea_catalog_suggest("revenu", cands, 5, out, 3) == 1 && strcmp(out[0], "revenue") == 0);
    struct ea_err err = {0};
    ea_err_set(&err, EA_ERR_NOTFOUND, "unknown metric \"page_veiws\"");
    cat_add_suggestions(&err, "page_veiws", cands, 5);
    EA_CHECK_STR(err.message,
                 "unknown metric \"page_veiws\"; did you mean \"page_views\" or \"page_view\"?");
    ea_err_set(&err, EA_ERR_NOTFOUND, "x");
    cat_add_suggestions(&err, "nothing-close", cands, 5);
    EA_CHECK_STR(err.message, "x");
}

EA_TEST_MAIN({"tenant_id", test_tenant_id}, {"text", test_text}, {"slug", test_slug},
             {"metric_name", test_metric_name}, {"aggregations", test_aggregations},
             {"metric_check", test_metric_check}, {"scopes", test_scopes},
             {"count_names", test_count_names}, {"distance_band", test_distance_band},
             {"suggestions", test_suggestions})
