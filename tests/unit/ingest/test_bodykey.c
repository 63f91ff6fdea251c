/*
 * test_bodykey.c — the key a body carries, found by scanning its text (bodykey.c): the member
 * each front door reads (the cases the JSON lookups of segment.c and posthog.c were tested
 * with), values skipped whatever they hold, broken structure and nesting depth reported with a
 * byte offset, and the scan's cost bounded by the body (a MiB of nested values, no key).
 */
#include "../ea_test.h"
#include "bodykey.h"

#include <stdlib.h>
#include <string.h>

static ingest_bodykey_status scan(const char *body, ingest_bodykey_form form, char *out)
{
    const char *k;
    size_t kl, at;
    ingest_bodykey_status st = ingest_bodykey_scan(body, strlen(body), form, &k, &kl, &at);
    out[0] = '\0';
    if (st == INGEST_BODYKEY_FOUND) {
        memcpy(out, k, kl);
        out[kl] = '\0';
    }
    return st;
}

static void test_forms(void)
{
    char k[256];
    const ingest_bodykey_form I = INGEST_BODYKEY_INGEST, S = INGEST_BODYKEY_SEGMENT,
                              P = INGEST_BODYKEY_POSTHOG;
    EA_CHECK(scan("{\"event\":\"x\",\"api_key\":\"ak_1\"}", I, k) == INGEST_BODYKEY_FOUND);
    EA_CHECK_STR(k, "ak_1");
    EA_CHECK(scan("{\"batch\":[{\"event\":\"x\",\"api_key\":\"no\"}],\"api_key\":\"ak_2\"}", I,
                  k) == INGEST_BODYKEY_FOUND);
    EA_CHECK_STR(k, "ak_2"); /* only the top level counts */
    EA_CHECK(scan("[{\"api_key\":\"ak_1\"}]", I, k) == INGEST_BODYKEY_NONE);
    EA_CHECK(scan("{\"event\":\"x\"}", I, k) == INGEST_BODYKEY_NONE);
    EA_CHECK(scan("{\"writeKey\":\"ak_1\",\"batch\":[]}", S, k) == INGEST_BODYKEY_FOUND);
    EA_CHECK_STR(k, "ak_1");
    EA_CHECK(scan("{\"writeKey\":5}", S, k) == INGEST_BODYKEY_FOUND);
    EA_CHECK_STR(k, ""); /* present, not a string: no key matches "" */
    EA_CHECK(scan("{\"api_key\":\"a\"}", S, k) == INGEST_BODYKEY_NONE);
    /* PostHog: api_key, else token, else (no batch) properties.token */
    EA_CHECK(scan("{\"api_key\":\"a\",\"token\":\"b\"}", P, k) == INGEST_BODYKEY_FOUND);
    EA_CHECK_STR(k, "a");
    EA_CHECK(scan("{\"token\":\"b\",\"batch\":[]}", P, k) == INGEST_BODYKEY_FOUND);
    EA_CHECK_STR(k, "b");
    EA_CHECK(scan("{\"event\":\"e\",\"properties\":{\"x\":{\"token\":\"no\"},\"token\":\"c\"}}", P,
                  k) == INGEST_BODYKEY_FOUND);
    EA_CHECK_STR(k, "c");
    EA_CHECK(scan("{\"properties\":{\"token\":\"c\"},\"batch\":[]}", P, k) == INGEST_BODYKEY_NONE);
    EA_CHECK(scan("{\"batch\":[{\"properties\":{\"token\":\"c\"}}]}", P, k) == INGEST_BODYKEY_NONE);
    EA_CHECK(scan("{\"api_key\":[1]}", P, k) == INGEST_BODYKEY_FOUND);
    EA_CHECK_STR(k, "");
    /* strings that look like structure are skipped as strings */
    EA_CHECK(scan("{\"p\":\"}{\\\"api_key\\\":\\\"x\\\"\",\"q\":[\"]\"],\"api_key\":\"k\"}", I,
                  k) == INGEST_BODYKEY_FOUND);
    EA_CHECK_STR(k, "k");
    EA_CHECK(scan(" \r\n\t{ \"api_key\" : \"k\" , \"n\" : -1.5e3 , \"t\":true } \n", I, k) ==
             INGEST_BODYKEY_FOUND);
    EA_CHECK_STR(k, "k");
}

static void test_malformed(void)
{
    char k[64];
    const char *bad[] = {"",
                         "   ",
                         "{",
                         "{\"api_key\"",
                         "{\"a\":}",
                         "{\"a\":1,}",
                         "{\"a\" 1}",
                         "{\"a\":[1,2}",
                         "{\"a\":\"",
                         "{\"a\":1} junk",
                         "{\"a\":1 \"b\":2}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        EA_CHECK(scan(bad[i], INGEST_BODYKEY_INGEST, k) == INGEST_BODYKEY_MALFORMED);
    const char *kk;
    size_t kl, at = 99;
    EA_CHECK(ingest_bodykey_scan("{\"a\":1 x", 8, INGEST_BODYKEY_INGEST, &kk, &kl, &at) ==
             INGEST_BODYKEY_MALFORMED);
    EA_CHECK(at == 7);
    /* a raw NUL byte, also where jansson's buffer reader would skip it (after a number) */
    EA_CHECK(ingest_bodykey_scan("{\"api_key\":5\0}", 14, INGEST_BODYKEY_POSTHOG, &kk, &kl, &at) ==
             INGEST_BODYKEY_MALFORMED);
    EA_CHECK(at == 12 && kk == NULL);
    EA_CHECK(ingest_bodykey_scan("{\"api_key\":\"a\0b\"}", 17, INGEST_BODYKEY_INGEST, &kk, &kl,
                                 &at) == INGEST_BODYKEY_MALFORMED);
}

static void test_depth(void)
{
    char *b = malloc(3 * 3000 + 64);
    for (int depth = 2048; depth <= 2049; depth++) {
        /* {"p": + (depth - 1) arrays: the top object is depth 1 */
        size_t n = (size_t)sprintf(b, "{\"p\":");
        memset(b + n, '[', (size_t)depth - 1);
        n += (size_t)depth - 1;
        memset(b + n, ']', (size_t)depth - 1);
        n += (size_t)depth - 1;
        b[n++] = '}';
        const char *k;
        size_t kl, at;
        ingest_bodykey_status st = ingest_bodykey_scan(b, n, INGEST_BODYKEY_INGEST, &k, &kl, &at);
        EA_CHECK(st == (depth <= INGEST_BODYKEY_MAX_DEPTH ? INGEST_BODYKEY_NONE
                                                          : INGEST_BODYKEY_TOO_DEEP));
    }
    free(b);
}

static void test_large_keyless_body(void)
{
    /* the unauthenticated body of the red-team finding: 1 MiB of {},{},... and no key */
    size_t n = 1024 * 1024;
    char *b = malloc(n + 16);
    size_t p = (size_t)sprintf(b, "{\"batch\":[");
    while (p + 8 < n) {
        memcpy(b + p, "{},", 3);
        p += 3;
    }
    memcpy(b + p, "{}]}", 4);
    p += 4;
    const char *k;
    size_t kl, at;
    EA_CHECK(ingest_bodykey_scan(b, p, INGEST_BODYKEY_POSTHOG, &k, &kl, &at) ==
             INGEST_BODYKEY_NONE);
    free(b);
}

EA_TEST_MAIN(EA_TEST(test_forms), EA_TEST(test_malformed), EA_TEST(test_depth),
             EA_TEST(test_large_keyless_body))
