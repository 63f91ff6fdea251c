/*
 * test_dec.c — lib/rollup's exact decimals without a database: parsing (grammar, 18 significant
 * digits half-even, exponents), exact comparison across exponents, 128-bit sums and when they
 * must be left to PostgreSQL, the numeric text, the one rounding of an average, the number's own
 * text located in the event's JSON, and the printing precision that gives 9.99 back as 9.99.
 */
#include "../ea_test.h"
#include "ea_pg_buf.h"
#include "ea_rollup_dec.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool parse(const char *s, ea_dec *d)
{
    return ea_dec_parse(s, strlen(s), d);
}

static const char *fmt(ea_dec d, ea_buf *b)
{
    ea_buf_reset(b);
    ea_dec_format(b, d);
    return b->p;
}

static void test_parse(void)
{
    ea_dec d;
    ea_buf b = EA_BUF_INIT(EA_PG_VALUE_MAX);
    EA_CHECK(parse("9.99", &d) && d.coef == 999 && d.exp == -2);
    EA_CHECK(parse("-0.05", &d) && d.coef == -5 && d.exp == -2);
    EA_CHECK(parse("1e2", &d) && d.coef == 1 && d.exp == 2);
    EA_CHECK(parse("1.50E-3", &d) && d.coef == 150 && d.exp == -5);
    EA_CHECK(parse("+7", &d) && d.coef == 7 && d.exp == 0);
    EA_CHECK(parse("5.", &d) && d.coef == 5 && d.exp == 0);
    EA_CHECK(parse(".5", &d) && d.coef == 5 && d.exp == -1);
    EA_CHECK(parse("0.00", &d) && d.coef == 0 && d.exp == -2); /* the scale is kept */
    EA_CHECK(parse("007", &d) && d.coef == 7);
    /* 18 significant digits kept exactly */
    EA_CHECK(parse("123456789.123456789", &d) && d.coef == INT64_C(123456789123456789) &&
             d.exp == -9);
    EA_CHECK_STR(fmt(d, &b), "123456789123456789E-9");
    /* more are rounded half-even */
    EA_CHECK(parse("1234567890123456785", &d) && d.coef == INT64_C(123456789012345678) &&
             d.exp == 1);
    EA_CHECK(parse("1234567890123456775", &d) && d.coef == INT64_C(123456789012345678) &&
             d.exp == 1);
    EA_CHECK(parse("12345678901234567851", &d) && d.coef == INT64_C(123456789012345679) &&
             d.exp == 2);
    EA_CHECK(parse("0.9999999999999999999", &d) && d.coef == INT64_C(100000000000000000) &&
             d.exp == -17); /* rounds up to 1, one digit less */
    const char *bad[] = {"",   "-",   ".",   "e5",    "1e",  "1e+",     "0x10", " 1",
                         "1 ", "nan", "inf", "1.2.3", "--1", "1e99999", "1,5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        EA_CHECK(!parse(bad[i], &d));
        if (parse(bad[i], &d))
            fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
    }
    EA_CHECK(parse("0e99999", &d) && d.coef == 0); /* zero at any exponent is zero */
    d = ea_dec_from_i64(INT64_MAX);                /* 9223372036854775807: 19 digits, rounded */
    EA_CHECK(d.coef == INT64_C(922337203685477581) && d.exp == 1);
    d = ea_dec_from_i64(INT64_MIN);
    EA_CHECK(d.coef == INT64_C(-922337203685477581) && d.exp == 1);
    d = ea_dec_from_i64(-42);
    EA_CHECK(d.coef == -42 && d.exp == 0);
    /* a double without its text: the shortest decimal that reads back */
    EA_CHECK(ea_dec_from_double(9.99, &d) && d.coef == 999 && d.exp == -2);
    EA_CHECK(ea_dec_from_double(0.1 + 0.2, &d) && d.coef == INT64_C(30000000000000004) &&
             d.exp == -17);
    EA_CHECK(!ea_dec_from_double(NAN, &d) && !ea_dec_from_double(INFINITY, &d));
    ea_buf_free(&b);
}

static void test_cmp(void)
{
    ea_dec a, b;
    EA_CHECK(parse("9.99", &a) && parse("9.990", &b) && ea_dec_cmp(a, b) == 0);
    EA_CHECK(parse("10", &a) && parse("9.99", &b) && ea_dec_cmp(a, b) > 0);
    EA_CHECK(parse("-10", &a) && parse("-9.99", &b) && ea_dec_cmp(a, b) < 0);
    EA_CHECK(parse("1e300", &a) && parse("123456789012345678", &b) && ea_dec_cmp(a, b) > 0);
    EA_CHECK(parse("1e-300", &a) && parse("0", &b) && ea_dec_cmp(a, b) > 0);
    EA_CHECK(parse("-1e-300", &a) && ea_dec_cmp(a, b) < 0);
    EA_CHECK(parse("0.1", &a) && parse("0.099999999999999999", &b) && ea_dec_cmp(a, b) > 0);
    EA_CHECK(parse("123456789012345678", &a) && parse("12345678901234567.9", &b) &&
             ea_dec_cmp(a, b) > 0);
}

static void test_sum(void)
{
    ea_dec_sum s = {0};
    ea_dec v;
    ea_buf b = EA_BUF_INIT(EA_PG_VALUE_MAX);
    /* 10,000 prices with two decimals: exact, as in the integration test */
    srand(7);
    long long cents = 0;
    for (int i = 0; i < 10000; i++) {
        int c = rand() % 100000;
        char t[32];
        snprintf(t, sizeof(t), "%d.%02d", c / 100, c % 100);
        cents += c;
        EA_CHECK(parse(t, &v) && ea_dec_sum_add(&s, v));
    }
    char want[48];
    snprintf(want, sizeof(want), "%lldE-2", cents);
    ea_dec_sum_format(&b, &s);
    EA_CHECK_STR(b.p, want);
    /* mixed exponents align to the smallest */
    ea_dec_sum t = {0};
    EA_CHECK(parse("1e3", &v) && ea_dec_sum_add(&t, v));
    EA_CHECK(parse("0.001", &v) && ea_dec_sum_add(&t, v));
    EA_CHECK(parse("-2", &v) && ea_dec_sum_add(&t, v));
    ea_buf_reset(&b);
    ea_dec_sum_format(&b, &t);
    EA_CHECK_STR(b.p, "998001E-3");
    /* a span of more than 38 digits does not fit: left to PostgreSQL, the sum unchanged */
    EA_CHECK(parse("1e40", &v) && ea_dec_sum_add(&t, v) == false);
    ea_buf_reset(&b);
    ea_dec_sum_format(&b, &t);
    EA_CHECK_STR(b.p, "998001E-3");
    /* an empty sum takes any value as it is */
    ea_dec_sum z = {0};
    EA_CHECK(parse("1e300", &v) && ea_dec_sum_add(&z, v));
    ea_buf_reset(&b);
    ea_dec_sum_format(&b, &z);
    EA_CHECK_STR(b.p, "1E300");
    ea_buf_free(&b);
}

/* avg = Σsum / Σcnt, rounded once (half-even) to the digits asked. */
static void test_div(void)
{
    EA_CHECK(ea_dec_text_div("9.99", 1, 15) == 9.99);
    EA_CHECK(ea_dec_text_div("10", 4, 15) == 2.5);
    EA_CHECK(ea_dec_text_div("10.00", 3, 15) == 3.33333333333333);
    EA_CHECK(ea_dec_text_div("-20", 3, 15) == -6.66666666666667);
    EA_CHECK(ea_dec_text_div("0.0000012", 4, 15) == 3e-7);
    EA_CHECK(ea_dec_text_div("123456789012345678901234567890.5", 1, 15) == 1.23456789012346e29);
    EA_CHECK(ea_dec_text_div("1E3", 8, 15) == 125);
    EA_CHECK(ea_dec_text_div("0", 7, 15) == 0);
    EA_CHECK(ea_dec_text_div("2.5", 1, 1) == 2); /* half-even: 2.5 -> 2 */
    EA_CHECK(ea_dec_text_div("3.5", 1, 1) == 4);
    EA_CHECK(ea_dec_text_div("9.96", 1, 2) == 10);
    EA_CHECK(isnan(ea_dec_text_div("x", 1, 15)));
    EA_CHECK(isnan(ea_dec_text_div("1", 0, 15)));
    EA_CHECK(isnan(ea_dec_text_div("1.2.3", 1, 15)));
}

static void check_member(const char *obj, const char *key, const char *want)
{
    const char *v;
    size_t n;
    bool found = ea_dec_json_member(obj, strlen(obj), key, &v, &n);
    if (want == NULL) {
        EA_CHECK(!found);
        return;
    }
    EA_CHECK(found);
    if (found) {
        char got[128];
        snprintf(got, sizeof(got), "%.*s", (int)n, v);
        EA_CHECK_STR(got, want);
    }
}

static void test_member(void)
{
    check_member("{\"amount\":9.99}", "amount", "9.99");
    check_member(" { \"a\" : [1,{\"amount\":2}] , \"amount\" : 1.50e2 } ", "amount", "1.50e2");
    check_member("{\"x\":\"amount\",\"amount\":-0.5,\"y\":{}}", "amount", "-0.5");
    check_member("{\"amount\":1,\"amount\":2}", "amount", "2"); /* the last, as jansson */
    check_member("{\"amounts\":1}", "amount", NULL);
    check_member("{}", "amount", NULL);
    check_member("[1]", "amount", NULL);
    check_member("{\"am\\u006funt\":3}", "amount", NULL); /* escaped keys: the caller falls back */
    check_member("{\"s\":\"}\\\"{\",\"amount\":4}", "amount", "4");
    check_member("{\"amount\":\"9.99\"}", "amount", "\"9.99\"");
}

static void test_real_precision(void)
{
    json_t *v = json_pack("{s:f,s:[f,i]}", "a", 9.99, "b", 1234.5, 3);
    EA_CHECK(ea_dec_real_precision(v) == 15);
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    EA_CHECK_STR(s, "{\"a\":9.99,\"b\":[1234.5,3]}");
    free(s);
    json_array_append_new(json_object_get(v, "b"), json_real(0.1 + 0.2));
    EA_CHECK(ea_dec_real_precision(v) == 17); /* a double that needs all its digits keeps them */
    json_decref(v);
    json_t *x = json_real(1.0 / 3.0);
    EA_CHECK(ea_dec_real_precision(x) == 16);
    json_decref(x);
}

EA_TEST_MAIN(EA_TEST(test_parse), EA_TEST(test_cmp), EA_TEST(test_sum), EA_TEST(test_div),
             EA_TEST(test_member), EA_TEST(test_real_precision))
