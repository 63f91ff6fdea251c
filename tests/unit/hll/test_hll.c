/*
 * test_hll.c — lib/hll: accuracy within 2 % at 100k (and across the sparse/dense range), merge
 * equals the sketch of the union byte for byte, serialization round trips, bad input refused,
 * the hash and the byte format pinned against independently computed vectors.
 */
#include "../ea_test.h"
#include "ea_hll.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ea_hll *sketch(unsigned from, unsigned to)
{
    ea_hll *h = ea_hll_new();
    char buf[32];
    for (unsigned i = from; i < to; i++) {
        int n = snprintf(buf, sizeof(buf), "user-%u", i);
        if (ea_hll_add(h, buf, (size_t)n) != EA_OK)
            return NULL;
    }
    return h;
}

static double rel_err(const ea_hll *h, double truth)
{
    return fabs(ea_hll_estimate(h) - truth) / truth;
}

static void test_empty(void)
{
    ea_hll *h = ea_hll_new();
    EA_CHECK(ea_hll_estimate(h) == 0.0);
    EA_CHECK(ea_hll_serialized_size(h) == 3);
    ea_hll_free(h);
}

static void test_accuracy_100k(void)
{
    ea_hll *h = sketch(0, 100000);
    EA_CHECK(h != NULL);
    double e = rel_err(h, 100000);
    printf("100k distinct: estimate %.0f, error %.3f %%\n", ea_hll_estimate(h), e * 100);
    EA_CHECK(e <= 0.02);
    ea_hll_free(h);
}

static void test_accuracy_range(void)
{
    static const unsigned ns[] = {1, 10, 100, 1000, 3000, 5000, 20000, 50000, 300000};
    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        ea_hll *h = sketch(1000000, 1000000 + ns[i]);
        double e = rel_err(h, ns[i]);
        if (e > 0.02)
            fprintf(stderr, "n=%u estimate %.1f error %.3f\n", ns[i], ea_hll_estimate(h), e);
        EA_CHECK(e <= 0.02);
        ea_hll_free(h);
    }
}

static void test_duplicates_do_not_count(void)
{
    ea_hll *h = sketch(0, 1000);
    double before = ea_hll_estimate(h);
    for (int r = 0; r < 5; r++) {
        ea_hll *again = sketch(0, 1000);
        EA_CHECK(ea_hll_merge(h, again) == EA_OK);
        ea_hll_free(again);
    }
    EA_CHECK(ea_hll_estimate(h) == before);
    ea_hll_free(h);
}

static int same_bytes(const ea_hll *a, const ea_hll *b)
{
    size_t na = ea_hll_serialized_size(a), nb = ea_hll_serialized_size(b);
    if (na != nb)
        return 0;
    uint8_t *x = malloc(na), *y = malloc(nb);
    ea_hll_serialize(a, x, na);
    ea_hll_serialize(b, y, nb);
    int same = memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

static void test_merge_equals_union(void)
{
    /* hours 0..23 of overlapping users, merged, equal the sketch of all users at once */
    ea_hll *all = sketch(0, 60000), *merged = ea_hll_new();
    for (unsigned hour = 0; hour < 24; hour++) {
        unsigned from = hour * 2500, to = from + 4000 > 60000 ? 60000 : from + 4000;
        ea_hll *h = sketch(from, to);
        /* through the byte format, as the worker and graphql-api do */
        size_t n = ea_hll_serialized_size(h);
        uint8_t *b = malloc(n);
        EA_CHECK(ea_hll_serialize(h, b, n) == n);
        EA_CHECK(ea_hll_merge_bytes(merged, b, n) == EA_OK);
        free(b);
        ea_hll_free(h);
    }
    EA_CHECK(same_bytes(all, merged));
    EA_CHECK(ea_hll_estimate(all) == ea_hll_estimate(merged));
    EA_CHECK(rel_err(merged, 60000) <= 0.02);
    ea_hll_free(all);
    ea_hll_free(merged);
}

static void test_sparse_and_dense_formats(void)
{
    ea_hll *small = sketch(0, 50), *big = sketch(0, 20000);
    EA_CHECK(ea_hll_serialized_size(small) == 3 + 3 * ea_hll_nonzero(small));
    EA_CHECK(ea_hll_serialized_size(big) == 3 + EA_HLL_M);
    /* sparse merged into dense and the other way round agree */
    ea_hll *a = sketch(0, 20000), *b = sketch(0, 50);
    EA_CHECK(ea_hll_merge(a, small) == EA_OK);
    EA_CHECK(ea_hll_merge(b, big) == EA_OK);
    EA_CHECK(same_bytes(a, b));
    EA_CHECK(same_bytes(a, big)); /* small is a subset of big */
    ea_hll_free(small);
    ea_hll_free(big);
    ea_hll_free(a);
    ea_hll_free(b);
}

static void test_bad_bytes_refused(void)
{
    ea_hll *h = sketch(0, 10);
    double before = ea_hll_estimate(h);
    static const uint8_t wrong_version[] = {2, 14, 0};
    static const uint8_t wrong_p[] = {1, 12, 0};
    static const uint8_t unsorted[] = {1, 14, 0, 0, 5, 1, 0, 4, 1};
    static const uint8_t rho_too_big[] = {1, 14, 0, 0, 5, 60};
    static const uint8_t truncated[] = {1, 14, 0, 0, 5};
    static const uint8_t short_dense[] = {1, 14, 1, 0, 0};
    EA_CHECK(ea_hll_merge_bytes(h, wrong_version, sizeof(wrong_version)) == EA_ERR_INVALID);
    EA_CHECK(ea_hll_merge_bytes(h, wrong_p, sizeof(wrong_p)) == EA_ERR_INVALID);
    EA_CHECK(ea_hll_merge_bytes(h, unsorted, sizeof(unsorted)) == EA_ERR_INVALID);
    EA_CHECK(ea_hll_merge_bytes(h, rho_too_big, sizeof(rho_too_big)) == EA_ERR_INVALID);
    EA_CHECK(ea_hll_merge_bytes(h, truncated, sizeof(truncated)) == EA_ERR_INVALID);
    EA_CHECK(ea_hll_merge_bytes(h, short_dense, sizeof(short_dense)) == EA_ERR_INVALID);
    EA_CHECK(ea_hll_merge_bytes(h, NULL, 0) == EA_ERR_INVALID);
    EA_CHECK(ea_hll_estimate(h) == before);
    ea_hll_free(h);
}

/*
 * Pinned vectors. Stored sketches from every writer and every version must agree, so the hash and
 * the byte format may never change. These constants were computed once by an independent
 * implementation of MurmurHash64A (Python, written from Appleby's algorithm and checked against
 * smhasher's verification value 0x1F0D3804 for MurmurHash64A) with our seed 0x5eed0fea11c0ffee —
 * not by running this code. tests/integration/lib/hll.mjs is a third, JavaScript implementation
 * that reproduces them and checks the sketches the worker stores.
 */
static void test_hash_is_pinned(void)
{
    static const struct {
        const char *in;
        size_t len;
        uint64_t hash;
    } v[] = {
        {"", 0, UINT64_C(0x73c412bed99b3bcc)},
        {"a", 1, UINT64_C(0x533a08fe0ff4f021)},
        {"user-1", 6, UINT64_C(0x55692567ad4abbb0)},
        {"abcdefgh", 8, UINT64_C(0xbcbf0b41e6052558)},  /* one whole block, no tail */
        {"abcdefghi", 9, UINT64_C(0x840390370006db57)}, /* a block and a 1-byte tail */
        {"\"/pricing\"", 10,
         UINT64_C(0x25f2621597e36d44)}, /* a JSON string, as the worker hashes it */
        {"\xc3\xa9\xe2\x9c\x93", 5, UINT64_C(0x075d6751fdeb2ec4)}, /* UTF-8 bytes, high bit set */
        {"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15"
         "\x16",
         23, UINT64_C(0xc84dd85a08265035)}, /* NULs inside, a 7-byte tail */
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint64_t h = ea_hll_hash(v[i].in, v[i].len);
        if (h != v[i].hash)
            fprintf(stderr, "hash of vector %zu: %016llx, pinned %016llx\n", i,
                    (unsigned long long)h, (unsigned long long)v[i].hash);
        EA_CHECK(h == v[i].hash);
    }
}

/* The serialized sketch of {"user-1", "user-2", "user-3"}: version 1, p 14, sparse, then
 * {idx_hi, idx_lo, rho} ascending — computed independently with the hash above. */
static void test_format_is_pinned(void)
{
    static const uint8_t want[] = {0x01, 0x0e, 0x00, 0x15, 0x5a, 0x02,
                                   0x2c, 0xfd, 0x02, 0x33, 0x4b, 0x03};
    ea_hll *h = sketch(1, 4);
    EA_CHECK(h != NULL);
    uint8_t got[sizeof(want)] = {0};
    EA_CHECK(ea_hll_serialized_size(h) == sizeof(want));
    EA_CHECK(ea_hll_serialize(h, got, sizeof(got)) == sizeof(want));
    EA_CHECK(memcmp(got, want, sizeof(want)) == 0);
    /* and a reader of that stored form sees the same sketch */
    ea_hll *back = ea_hll_new();
    EA_CHECK(ea_hll_merge_bytes(back, want, sizeof(want)) == EA_OK);
    EA_CHECK(same_bytes(h, back));
    ea_hll_free(back);
    ea_hll_free(h);
}

/* Hex text of a serialized sketch, as PostgreSQL's encode(hll, 'hex') prints it. */
static char *to_hex(const ea_hll *h)
{
    size_t n = ea_hll_serialized_size(h);
    uint8_t *b = malloc(n);
    char *out = malloc(n * 2 + 1);
    if (b == NULL || out == NULL || ea_hll_serialize(h, b, n) != n) {
        free(b);
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    free(b);
    return out;
}

/* The reader graphql-api and the worker's alerts share: "a,b" hex sketches estimate their union
 * (rounded), garbage is -1, never a number. */
static void test_estimate_hex_list(void)
{
    ea_hll *a = ea_hll_new(), *b = ea_hll_new(), *u = ea_hll_new();
    for (int i = 0; i < 3000; i++) {
        char v[16];
        int n = snprintf(v, sizeof(v), "v%d", i);
        EA_CHECK(ea_hll_add(i < 2000 ? a : b, v, (size_t)n) == EA_OK);
        EA_CHECK(ea_hll_add(u, v, (size_t)n) == EA_OK);
    }
    char *ha = to_hex(a), *hb = to_hex(b);
    EA_CHECK(ha != NULL && hb != NULL);
    if (ha != NULL && hb != NULL) {
        char *list = malloc(strlen(ha) + strlen(hb) + 2);
        snprintf(list, strlen(ha) + strlen(hb) + 2, "%s,%s", ha, hb);
        double est = ea_hll_estimate_hex_list(list);
        EA_CHECK(est == (double)llround(ea_hll_estimate(u)));
        EA_CHECK(est == (double)llround(est) && est > 2900 && est < 3100);
        EA_CHECK(ea_hll_estimate_hex_list(ha) == (double)llround(ea_hll_estimate(a)));
        list[1] = 'g'; /* not hex */
        EA_CHECK(ea_hll_estimate_hex_list(list) == -1);
        free(list);
        size_t n = strlen(ha);
        ha[n - 1] = '\0'; /* odd length */
        EA_CHECK(ea_hll_estimate_hex_list(ha) == -1);
    }
    EA_CHECK(ea_hll_estimate_hex_list("") == 0);
    EA_CHECK(ea_hll_estimate_hex_list("00ff") == -1); /* hex, but not a sketch */
    free(ha);
    free(hb);
    ea_hll_free(a);
    ea_hll_free(b);
    ea_hll_free(u);
}

EA_TEST_MAIN(EA_TEST(test_empty), EA_TEST(test_accuracy_100k), EA_TEST(test_accuracy_range),
             EA_TEST(test_duplicates_do_not_count), EA_TEST(test_merge_equals_union),
             EA_TEST(test_sparse_and_dense_formats), EA_TEST(test_bad_bytes_refused),
             EA_TEST(test_hash_is_pinned), EA_TEST(test_format_is_pinned),
             EA_TEST(test_estimate_hex_list))
