/*
 * test_buf.c — lib/base's ea_buf and ea_arena_grow: the cap is exact (len may reach it, one byte
 * more fails and changes nothing, later appends are ignored until a reset), growth out of caller
 * storage and inside an arena keeps the text, take hands over a string the caller frees, JSON
 * strings read back (jansson) as the bytes written whichever path wrote them, integers at the
 * int64 limits, and arrays (arena or heap) keep their elements as they double.
 */
#include "../ea_test.h"
#include "ea_arena.h"
#include "ea_buf.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_heap_growth(void)
{
    ea_buf b;
    ea_buf_init(&b, 1 << 20);
    EA_CHECK_STR(ea_buf_str(&b), "");
    for (int i = 0; i < 1000; i++)
        EA_CHECK(ea_buf_puts(&b, "0123456789"));
    EA_CHECK(ea_buf_ok(&b) && b.len == 10000 && b.heap);
    EA_CHECK(b.p[9999] == '9' && b.p[10000] == '\0');
    EA_CHECK(memcmp(b.p + 5000, "0123456789", 10) == 0);
    ea_buf_free(&b);
    EA_CHECK(b.p == NULL && b.len == 0 && b.max == 1 << 20);
}

static void test_cap_is_exact(void)
{
    ea_buf b;
    ea_buf_init(&b, 10);
    EA_CHECK(ea_buf_append(&b, "0123456789", 10));
    EA_CHECK(b.len == 10 && ea_buf_ok(&b));
    EA_CHECK(b.cap <= 11); /* never more memory than the cap can use */
    EA_CHECK(!ea_buf_putc(&b, 'x'));
    EA_CHECK(b.err == EA_BUF_TOO_BIG);
    EA_CHECK_STR(ea_buf_str(&b), "0123456789"); /* the failed append wrote nothing */
    ea_buf_reset(&b);
    EA_CHECK(ea_buf_ok(&b) && b.len == 0);
    EA_CHECK(ea_buf_puts(&b, "abc"));
    EA_CHECK(!ea_buf_append(&b, "12345678", 8)); /* 3 + 8 > 10: all or nothing */
    EA_CHECK(!ea_buf_puts(&b, "d"));             /* sticky: ignored after a failure */
    EA_CHECK_STR(ea_buf_str(&b), "abc");
    EA_CHECK(ea_buf_take(&b) == NULL); /* a failed buffer hands nothing over */
    EA_CHECK(b.len == 0);

    ea_buf_init(&b, 0);
    EA_CHECK(ea_buf_append(&b, "", 0)); /* a zero cap still holds "" */
    EA_CHECK(!ea_buf_putc(&b, 'a') && b.err == EA_BUF_TOO_BIG);
    ea_buf_free(&b);

    ea_buf_init(&b, SIZE_MAX);
    EA_CHECK(ea_buf_puts(&b, "x"));
    EA_CHECK(!ea_buf_reserve(&b, SIZE_MAX)); /* len + n overflows: refused, not wrapped */
    EA_CHECK(b.err == EA_BUF_TOO_BIG);
    ea_buf_free(&b);
}

static void test_printf(void)
{
    ea_buf b;
    ea_buf_init(&b, 1000);
    EA_CHECK(ea_buf_printf(&b, "%s=%d", "n", 42));
    EA_CHECK_STR(ea_buf_str(&b), "n=42");
    char big[600];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    EA_CHECK(ea_buf_printf(&b, "[%s]", big)); /* past the 256-byte stack copy */
    EA_CHECK(b.len == 4 + 601 && b.p[4] == '[' && b.p[b.len - 1] == ']');
    EA_CHECK(!ea_buf_printf(&b, "%s", big)); /* 605 + 599 > 1000 */
    EA_CHECK(b.len == 605 && b.err == EA_BUF_TOO_BIG);
    ea_buf_free(&b);
}

static void test_storage_then_heap(void)
{
    char small[8];
    ea_buf b;
    ea_buf_init_storage(&b, small, sizeof(small), 100);
    EA_CHECK(ea_buf_puts(&b, "abcdefg")); /* 7 + NUL fits the storage */
    EA_CHECK(b.p == small && !b.heap);
    EA_CHECK(ea_buf_puts(&b, "hij")); /* moves to the heap, keeping the text */
    EA_CHECK(b.p != small && b.heap);
    EA_CHECK_STR(ea_buf_str(&b), "abcdefghij");
    char *t = ea_buf_take(&b);
    EA_CHECK_STR(t, "abcdefghij");
    free(t);
    EA_CHECK(b.len == 0 && b.p == NULL);

    ea_buf_init_storage(&b, small, sizeof(small), 100);
    EA_CHECK(ea_buf_puts(&b, "stack"));
    t = ea_buf_take(&b); /* copied out of the caller's storage */
    EA_CHECK(t != NULL && t != small);
    EA_CHECK_STR(t, "stack");
    free(t);
}

static void test_arena(void)
{
    ea_arena *a = ea_arena_new(4096);
    ea_buf b;
    ea_buf_init_arena(&b, a, 1 << 20);
    for (int i = 0; i < 500; i++)
        EA_CHECK(ea_buf_put_i64(&b, i % 10));
    EA_CHECK(b.len == 500 && !b.heap && ea_buf_ok(&b));
    EA_CHECK(strncmp(ea_buf_str(&b), "0123456789", 10) == 0);
    char *t = ea_buf_take(&b);
    EA_CHECK(t != NULL && strlen(t) == 500);
    free(t);
    ea_arena_free(a);
}

static void test_json_strings(void)
{
    const char *cases[] = {
        "",           "plain",        "quote \" backslash \\ slash /",
        "\b\f\n\r\t", "\x01\x1f\x7f", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = strlen(cases[i]);
        ea_buf fast, exact;
        ea_buf_init(&fast, 1000);
        EA_CHECK(ea_buf_json_string(&fast, cases[i], n));
        json_error_t je;
        json_t *v = json_loadb(fast.p, fast.len, JSON_DECODE_ANY, &je);
        EA_CHECK(v != NULL && json_is_string(v));
        if (v != NULL)
            EA_CHECK_STR(json_string_value(v), cases[i]);
        json_decref(v);
        /* a cap exactly the escaped length takes the run-by-run path: same bytes */
        ea_buf_init(&exact, fast.len);
        EA_CHECK(ea_buf_json_string(&exact, cases[i], n));
        EA_CHECK(exact.len == fast.len && memcmp(exact.p, fast.p, fast.len) == 0);
        /* one byte less: refused whole, nothing of it written */
        ea_buf_reset(&exact);
        exact.max = fast.len - 1;
        EA_CHECK(!ea_buf_json_string(&exact, cases[i], n));
        EA_CHECK(exact.len == 0 && exact.err == EA_BUF_TOO_BIG);
        ea_buf_free(&fast);
        ea_buf_free(&exact);
    }
    ea_buf b;
    ea_buf_init(&b, 100);
    ea_buf_json_string(&b, "\x01\"", 2);
    EA_CHECK_STR(ea_buf_str(&b), "\"\\u0001\\\"\""); /* lowercase hex, as jsonb prints */
    ea_buf_free(&b);
}

static void test_integers(void)
{
    char out[EA_BUF_I64_LEN];
    EA_CHECK(ea_buf_fmt_i64(out, 0) == 1);
    EA_CHECK_STR(out, "0");
    ea_buf_fmt_i64(out, -42);
    EA_CHECK_STR(out, "-42");
    EA_CHECK(ea_buf_fmt_i64(out, INT64_MAX) == 19);
    EA_CHECK_STR(out, "9223372036854775807");
    EA_CHECK(ea_buf_fmt_i64(out, INT64_MIN) == 20);
    EA_CHECK_STR(out, "-9223372036854775808");
}

static void test_arena_grow(void)
{
    ea_arena *a = ea_arena_new(1024);
    int *v = NULL;
    size_t n = 0, cap = 0;
    for (int i = 0; i < 1000; i++) {
        int *nv = ea_arena_grow(a, v, sizeof(int), n, &cap);
        EA_CHECK(nv != NULL);
        if (nv == NULL)
            break;
        v = nv;
        v[n++] = i * 3;
    }
    EA_CHECK(n == 1000 && cap == 1024);
    int ok = 1;
    for (size_t i = 0; i < n; i++)
        ok &= v[i] == (int)i * 3;
    EA_CHECK(ok);
    EA_CHECK(ea_arena_grow(a, v, sizeof(int), 10, &cap) == v); /* room left: the same array */
    size_t big = SIZE_MAX / 4;
    EA_CHECK(ea_arena_grow(a, v, 8, big, &big) == NULL); /* size overflows */
    EA_CHECK(big == SIZE_MAX / 4);                       /* cap unchanged on failure */
    ea_arena_free(a);
}

static void test_array_grow(void)
{
    long *v = NULL;
    size_t n = 0, cap = 0;
    for (long i = 0; i < 5000; i++) {
        long *nv = ea_array_grow(v, sizeof(*v), n, &cap, 16);
        EA_CHECK(nv != NULL);
        if (nv == NULL)
            break;
        v = nv;
        v[n++] = i * 7;
    }
    EA_CHECK(n == 5000 && cap == 8192); /* 16, 32, ... doubling */
    int ok = 1;
    for (size_t i = 0; i < n; i++)
        ok &= v[i] == (long)i * 7;
    EA_CHECK(ok);
    EA_CHECK(ea_array_grow(v, sizeof(*v), 10, &cap, 16) == v); /* room: the same array */
    size_t big = SIZE_MAX / 4;
    EA_CHECK(ea_array_grow(v, 8, big, &big, 16) == NULL); /* overflow: refused, v still ours */
    EA_CHECK(big == SIZE_MAX / 4 && v[4999] == 4999 * 7);
    free(v);
}

EA_TEST_MAIN({"heap growth", test_heap_growth}, {"ea_array_grow", test_array_grow},
             {"the cap is exact", test_cap_is_exact}, {"printf", test_printf},
             {"storage then heap", test_storage_then_heap}, {"arena buffer", test_arena},
             {"JSON strings", test_json_strings}, {"integers", test_integers},
             {"ea_arena_grow", test_arena_grow})
