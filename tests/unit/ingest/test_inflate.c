/*
 * test_inflate.c — bounded gunzip (services/ingest-api/inflate.c): round trips, the cap exactly
 * at and one byte past the limit, a gzip bomb stopped at the cap, truncated, trailing and
 * non-gzip input refused.
 */
#include "../ea_test.h"
#include "inflate.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* gzips n bytes of `in` into a malloc'd buffer */
static unsigned char *gz(const void *in, size_t n, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
    size_t cap = deflateBound(&z, (uLong)n) + 64;
    unsigned char *out = malloc(cap);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    *outlen = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

static void test_round_trip(void)
{
    const char *json = "{\"api_key\":\"k\",\"batch\":[{\"event\":\"a\"}]}";
    size_t zl;
    unsigned char *z = gz(json, strlen(json), &zl);
    char *out;
    size_t ol;
    EA_CHECK(ingest_gunzip(z, zl, 1 << 20, &out, &ol) == INGEST_INFLATE_OK);
    EA_CHECK(ol == strlen(json) && memcmp(out, json, ol) == 0 && out[ol] == '\0');
    free(out);
    /* growth path: 300 KiB of JSON-like text from a small input */
    size_t big = 300 * 1024;
    char *text = malloc(big);
    for (size_t i = 0; i < big; i++)
        text[i] = "{\"event\":\"x\"},"[i % 14];
    free(z);
    z = gz(text, big, &zl);
    EA_CHECK(ingest_gunzip(z, zl, 1 << 20, &out, &ol) == INGEST_INFLATE_OK);
    EA_CHECK(ol == big && memcmp(out, text, big) == 0);
    free(out);
    /* exactly at the cap is fine, one byte over is too large */
    EA_CHECK(ingest_gunzip(z, zl, big, &out, &ol) == INGEST_INFLATE_OK);
    free(out);
    EA_CHECK(ingest_gunzip(z, zl, big - 1, &out, &ol) == INGEST_INFLATE_TOO_LARGE);
    EA_CHECK(out == NULL && ol == 0);
    free(z);
    free(text);
}

static void test_bomb(void)
{
    /* 1 GiB of zeros compresses to about 1 MiB; 64 MiB to ~64 KiB: inflating must stop at 1 MiB */
    size_t n = 64u << 20;
    char *zeros = calloc(1, n);
    size_t zl;
    unsigned char *z = gz(zeros, n, &zl);
    free(zeros);
    EA_CHECK(zl < 100 * 1024);
    char *out;
    size_t ol;
    EA_CHECK(ingest_gunzip(z, zl, 1 << 20, &out, &ol) == INGEST_INFLATE_TOO_LARGE);
    EA_CHECK(out == NULL);
    free(z);
}

static void test_invalid(void)
{
    const char *json = "{\"event\":\"a\"}";
    size_t zl;
    unsigned char *z = gz(json, strlen(json), &zl);
    char *out;
    size_t ol;
    EA_CHECK(ingest_gunzip(z, zl - 4, 1 << 20, &out, &ol) == INGEST_INFLATE_INVALID);
    EA_CHECK(ingest_gunzip(json, strlen(json), 1 << 20, &out, &ol) == INGEST_INFLATE_INVALID);
    EA_CHECK(ingest_gunzip("", 0, 1 << 20, &out, &ol) == INGEST_INFLATE_INVALID);
    /* a second member or any byte after the first is refused */
    unsigned char *two = malloc(zl * 2);
    memcpy(two, z, zl);
    memcpy(two + zl, z, zl);
    EA_CHECK(ingest_gunzip(two, zl * 2, 1 << 20, &out, &ol) == INGEST_INFLATE_INVALID);
    two[zl] = 'x';
    EA_CHECK(ingest_gunzip(two, zl + 1, 1 << 20, &out, &ol) == INGEST_INFLATE_INVALID);
    /* a corrupted CRC */
    memcpy(two, z, zl);
    two[zl - 6] ^= 0xff;
    EA_CHECK(ingest_gunzip(two, zl, 1 << 20, &out, &ol) == INGEST_INFLATE_INVALID);
    EA_CHECK(out == NULL);
    free(two);
    free(z);
}

EA_TEST_MAIN(EA_TEST(test_round_trip), EA_TEST(test_bomb), EA_TEST(test_invalid))
