/*
 * test_pg.c — lib/pg without a server: the buffer's encodings (jsonb-style JSON strings,
 * canonical numbers, COPY text and array escapes, bytea hex, UTF-8 sanitizing, the fast
 * timestamp and integer formatters), the parameter builder and the array literal decoder.
 * Statements are run against a real PostgreSQL by the integration tests.
 */
#include "../ea_test.h"
#include "ea_pg_buf.h"
#include "ea_pg_params.h"
#include "ea_time.h"

#include <stdlib.h>
#include <string.h>

static const int64_t T0 = INT64_C(1705945000000); /* 2024-01-22T17:36:40Z */

static const char *buf_str(ea_buf *b)
{
    return b->p != NULL ? b->p : "";
}

static void test_json_string_escapes(void)
{
    ea_buf b = EA_BUF_INIT(EA_PG_VALUE_MAX);
    ea_buf_json_string(&b, "a\"b\\c\nd\te\x01\b\f", 12);
    EA_CHECK_STR(buf_str(&b), "\"a\\\"b\\\\c\\nd\\te\\u0001\\b\\f\"");
    ea_buf_reset(&b);
    ea_buf_json_string(&b, "h\xc3\xa9", 3); /* UTF-8 stays raw, as jsonb prints it */
    EA_CHECK_STR(buf_str(&b), "\"h\xc3\xa9\"");
    ea_buf_free(&b);
}

static void test_json_number_canonical(void)
{
    ea_buf b = EA_BUF_INIT(EA_PG_VALUE_MAX);
    ea_pg_buf_json_number(&b, 1.0);
    ea_buf_putc(&b, ' ');
    ea_pg_buf_json_number(&b, -0.5);
    ea_buf_putc(&b, ' ');
    ea_pg_buf_json_number(&b, 1e300);
    ea_buf_putc(&b, ' ');
    ea_pg_buf_json_number(&b, 9007199254740992.0);
    EA_CHECK_STR(buf_str(&b), "1 -0.5 1.0000000000000001e+300 9007199254740992");
    ea_buf_free(&b);
}

static void test_copy_and_array_escapes(void)
{
    ea_buf b = EA_BUF_INIT(EA_PG_VALUE_MAX);
    ea_pg_buf_copy_field(&b, "a\tb\nc\\d\re", 9);
    EA_CHECK_STR(buf_str(&b), "a\\tb\\nc\\\\d\\re");
    ea_buf_reset(&b);
    ea_pg_buf_array_elem(&b, "x\"y\\z", 5);
    EA_CHECK_STR(buf_str(&b), "\"x\\\"y\\\\z\"");
    ea_buf_reset(&b);
    static const uint8_t bytes[] = {0x01, 0xab, 0xff};
    ea_pg_buf_bytea_hex(&b, bytes, 3);
    EA_CHECK_STR(buf_str(&b), "\\x01abff");
    ea_buf_free(&b);
}

static void test_utf8_sanitize(void)
{
    ea_buf b = EA_BUF_INIT(EA_PG_VALUE_MAX);
    ea_pg_buf_utf8_sanitize(&b, "ok\xc3\xa9\xff\x00z\xed\xa0\x80", 10);
    EA_CHECK_STR(buf_str(&b), "ok\xc3\xa9\\xff\\x00z\\xed\\xa0\\x80");
    ea_buf_free(&b);
}

/* The fast formatters write exactly what printf / ea_time_format_iso8601 write. */
static void test_fast_formatters(void)
{
    const int64_t ms[] = {
        0, 1, 999, T0, T0 + 86399999, -1, -86400001, 253402300799999, 1700000000123, T0 + 3600000};
    ea_buf b = EA_BUF_INIT(EA_PG_VALUE_MAX);
    for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
        char want[48];
        ea_time_format_iso8601(ms[i], want);
        ea_buf_reset(&b);
        ea_pg_buf_put_ts(&b, ms[i]);
        ea_pg_buf_put_ts(&b, ms[i]); /* second call uses the cached day */
        char want2[100];
        snprintf(want2, sizeof(want2), "%s%s", want, want);
        EA_CHECK_STR(buf_str(&b), want2);
    }
    const int64_t iv[] = {0, 7, -7, 1234567890123LL, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof(iv) / sizeof(iv[0]); i++) {
        char want[32];
        snprintf(want, sizeof(want), "%lld", (long long)iv[i]);
        ea_buf_reset(&b);
        ea_buf_put_i64(&b, iv[i]);
        EA_CHECK_STR(buf_str(&b), want);
    }
    ea_buf_free(&b);
}

/* Parameters are numbered in the order they are added; arrays stay valid literals throughout. */
static void test_params_builder(void)
{
    ea_pg_params *p = ea_pg_params_new();
    EA_CHECK(p != NULL);
    EA_CHECK(ea_pg_params_text(p, "acme") == 1);
    int a = ea_pg_params_array(p), b = ea_pg_params_array(p);
    EA_CHECK(a == 2 && b == 3);
    EA_CHECK(ea_pg_params_i64(p, -42) == 4);
    EA_CHECK(ea_pg_params_text(p, NULL) == 5);
    EA_CHECK(ea_pg_params_ts(p, T0) == 6);
    EA_CHECK(ea_pg_params_text(p, "") == 7);
    const char *const *v = ea_pg_params_values(p);
    EA_CHECK(v != NULL);
    if (v != NULL) {
        EA_CHECK_STR(v[1], "{}");
        EA_CHECK(v[4] == NULL);
        EA_CHECK_STR(v[6], "");
    }
    ea_pg_array_cstr(p, a, "x\"y");
    ea_pg_array_i64(p, b, 7);
    ea_pg_array_cstr(p, a, NULL);
    ea_pg_array_bool(p, b, true);
    ea_pg_array_ts(p, b, 0);
    static const uint8_t bytes[] = {0x0a, 0xff};
    ea_pg_array_bytea(p, a, bytes, 2);
    ea_pg_array_f64(p, b, 0.1);
    ea_pg_array_text(p, a, "", 0);
    EA_CHECK(ea_pg_array_len(p, a) == 4 && ea_pg_array_len(p, b) == 4);
    v = ea_pg_params_values(p);
    EA_CHECK(v != NULL && !ea_pg_params_failed(p));
    if (v != NULL) {
        EA_CHECK_STR(v[0], "acme");
        EA_CHECK_STR(v[1], "{\"x\\\"y\",NULL,\"\\\\x0aff\",\"\"}");
        EA_CHECK_STR(v[2], "{7,t,1970-01-01T00:00:00.000Z,0.10000000000000001}");
        EA_CHECK_STR(v[3], "-42");
        EA_CHECK_STR(v[5], "2024-01-22T17:36:40.000Z");
    }
    EA_CHECK(ea_pg_params_count(p) == 7);
    /* reset keeps nothing of the old statement */
    ea_pg_params_reset(p);
    EA_CHECK(ea_pg_params_count(p) == 0);
    int c = ea_pg_params_array(p);
    EA_CHECK(c == 1);
    v = ea_pg_params_values(p);
    EA_CHECK(v != NULL && strcmp(v[0], "{}") == 0);
    /* an element for a parameter that is not an array, and too many parameters, are failures */
    ea_pg_params_reset(p);
    int t = ea_pg_params_text(p, "x");
    ea_pg_array_i64(p, t, 1);
    EA_CHECK(ea_pg_params_failed(p) && ea_pg_params_values(p) == NULL);
    ea_pg_params_reset(p);
    for (int i = 0; i < EA_PG_PARAMS_MAX; i++)
        ea_pg_params_i64(p, i);
    EA_CHECK(!ea_pg_params_failed(p));
    ea_pg_params_i64(p, 99);
    EA_CHECK(ea_pg_params_failed(p));
    struct ea_err err = {0};
    EA_CHECK(ea_pg_params_exec(NULL, "SELECT 1", p, PGRES_TUPLES_OK, &err) == NULL &&
             err.code == EA_ERR_NOMEM);
    ea_pg_params_free(p);
}

static void check_decode(const char *text, size_t want_n, const char *const *want)
{
    size_t n = 99;
    struct ea_err err = {0};
    char **v = ea_pg_array_decode(text, &n, &err);
    EA_CHECK(v != NULL);
    if (v == NULL) {
        fprintf(stderr, "  decoding %s: %s\n", text, err.message);
        return;
    }
    EA_CHECK(n == want_n);
    for (size_t i = 0; i < n && i < want_n; i++) {
        if (want[i] == NULL)
            EA_CHECK(v[i] == NULL);
        else
            EA_CHECK_STR(v[i], want[i]);
    }
    free(v);
}

/* The forms PostgreSQL prints (and accepts) for text[]. */
static void test_array_decode(void)
{
    check_decode("{}", 0, NULL);
    check_decode(" { } ", 0, NULL);
    const char *const a[] = {"a", "b c", NULL, "", "x\"y\\z", "null"};
    check_decode("{a,\"b c\",NULL,\"\",\"x\\\"y\\\\z\",\"null\"}", 6, a);
    const char *const b[] = {"country", "plan"};
    check_decode("{country,plan}", 2, b);
    check_decode("{ country , plan }", 2, b);
    const char *const c[] = {"h\xc3\xa9", "a,b", "{x}"};
    check_decode("{h\xc3\xa9,\"a,b\",\"{x}\"}", 3, c);
    const char *const bad[] = {"",     "{",         "{a",          "{a,}",
                               "{,a}", "{{a},{b}}", "[1:2]={a,b}", "{\"a}",
                               "{a}x", "{\"a\"b}",  "a,b",         "{a\"b}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n;
        struct ea_err err = {0};
        char **v = ea_pg_array_decode(bad[i], &n, &err);
        EA_CHECK(v == NULL && err.code == EA_ERR_INVALID);
        if (v != NULL)
            fprintf(stderr, "  accepted %s\n", bad[i]);
        free(v);
    }
}

/* What the encoder writes, the decoder reads back: any bytes but NUL. */
static void test_array_roundtrip(void)
{
    const char *const items[] = {"plain",  "with space", "q\"uote", "back\\slash", "{brace}",
                                 "comma,", "NULL",       "",        NULL,          " lead"};
    size_t ni = sizeof(items) / sizeof(items[0]);
    ea_buf b = EA_BUF_INIT(EA_PG_VALUE_MAX);
    ea_pg_buf_array(&b, items, ni);
    EA_CHECK(ea_buf_ok(&b));
    size_t n;
    struct ea_err err = {0};
    char **v = ea_pg_array_decode(buf_str(&b), &n, &err);
    EA_CHECK(v != NULL && n == ni);
    for (size_t i = 0; v != NULL && i < n && i < ni; i++) {
        if (items[i] == NULL)
            EA_CHECK(v[i] == NULL);
        else
            EA_CHECK_STR(v[i], items[i]);
    }
    free(v);
    ea_buf_free(&b);
}

/* The encoders honour the buffer's cap: a COPY field or an array that would pass it is refused
 * whole (no half-escaped value), and the failure stays until the buffer is reset. */
static void test_encoders_respect_the_cap(void)
{
    ea_buf b = EA_BUF_INIT(16);
    ea_pg_copybin_text(&b, "0123456789", 10); /* 4-byte length + 10 bytes = 14: fits */
    EA_CHECK(ea_buf_ok(&b) && b.len == 14);
    ea_pg_copybin_text(&b, "abc", 3); /* the length fits, the bytes would not */
    EA_CHECK(!ea_buf_ok(&b) && b.err == EA_BUF_TOO_BIG);
    EA_CHECK(b.len <= 16);
    ea_buf_reset(&b);
    ea_pg_buf_bytea_hex(&b, (const uint8_t *)"\x01\x02\x03\x04\x05\x06\x07", 7); /* 16 bytes */
    EA_CHECK(ea_buf_ok(&b) && b.len == 16);
    EA_CHECK_STR(b.p, "\\x01020304050607");
    ea_buf_reset(&b);
    ea_pg_buf_bytea_hex(&b, (const uint8_t *)"\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    EA_CHECK(!ea_buf_ok(&b) && b.len == 0); /* 18 bytes: nothing written */
    ea_buf_free(&b);
    const char *const items[] = {"a", "b", "c"};
    ea_buf small = EA_BUF_INIT(6);
    ea_pg_buf_array(&small, items, 2); /* {"a","b"} is 9 bytes */
    EA_CHECK(!ea_buf_ok(&small) && small.len <= 6);
    ea_buf_free(&small);
}

EA_TEST_MAIN(EA_TEST(test_json_string_escapes), EA_TEST(test_json_number_canonical),
             EA_TEST(test_copy_and_array_escapes), EA_TEST(test_utf8_sanitize),
             EA_TEST(test_fast_formatters), EA_TEST(test_params_builder),
             EA_TEST(test_array_decode), EA_TEST(test_array_roundtrip),
             EA_TEST(test_encoders_respect_the_cap))
