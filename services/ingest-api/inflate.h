/*
 * inflate.h — gzip request bodies (Content-Encoding: gzip, as posthog-node sends them), inflated
 * with zlib under a hard output cap: a gzip bomb (a few KiB that inflate to gigabytes) stops at
 * the body limit after writing at most that many bytes, never at the machine's memory. Pure (no
 * I/O): unit-tested and fuzzed (tests/fuzz/ingest_gzip).
 */
#ifndef INGEST_INFLATE_H
#define INGEST_INFLATE_H

#include <stddef.h>

typedef enum ingest_inflate_status {
    INGEST_INFLATE_OK = 0,
    INGEST_INFLATE_TOO_LARGE, /* more than max_out bytes once inflated: 413 */
    INGEST_INFLATE_INVALID,   /* not a single well-formed gzip member (trailing bytes included) */
    INGEST_INFLATE_NOMEM,
} ingest_inflate_status;

/* Inflates one gzip member of len bytes into a malloc'd buffer (*out, *out_len; caller frees;
 * NUL-terminated for convenience). At most max_out bytes are ever written. On any status other
 * than OK, *out is NULL. */
ingest_inflate_status ingest_gunzip(const void *in, size_t len, size_t max_out, char **out,
                                    size_t *out_len);

#endif
