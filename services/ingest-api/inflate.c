/*
 * inflate.c — bounded gunzip on zlib (Debian's zlib1g). The output buffer starts at four times
 * the input (typical JSON ratios), grows by doubling and never beyond max_out + 1 bytes: one byte
 * past the cap is how "too large" is detected without inflating further. Exactly one gzip member
 * is accepted; bytes after it are refused rather than silently ignored, so what is parsed is
 * exactly what was sent.
 */
#include "inflate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

ingest_inflate_status ingest_gunzip(const void *in, size_t len, size_t max_out, char **out,
                                    size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (len == 0 || len > UINT32_MAX)
        return INGEST_INFLATE_INVALID;
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) /* 16: gzip wrapper only */
        return INGEST_INFLATE_NOMEM;
    size_t cap = len < max_out / 4 ? len * 4 : max_out;
    if (cap < 256)
        cap = 256 < max_out ? 256 : max_out;
    char *buf = malloc(cap + 2); /* +1: the probe byte past max_out; +1: NUL */
    ingest_inflate_status st = INGEST_INFLATE_NOMEM;
    if (buf == NULL)
        goto out;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    size_t used = 0;
    for (;;) {
        /* room for this round: up to cap, plus the probe byte when cap is max_out */
        size_t room = cap + (cap == max_out ? 1 : 0) - used;
        z.next_out = (Bytef *)buf + used;
        z.avail_out = (uInt)(room > UINT32_MAX ? UINT32_MAX : room);
        size_t before = z.avail_out;
        int rc = inflate(&z, Z_NO_FLUSH);
        used += before - z.avail_out;
        if (used > max_out) {
            st = INGEST_INFLATE_TOO_LARGE;
            goto out;
        }
        if (rc == Z_STREAM_END) {
            st = z.avail_in == 0 ? INGEST_INFLATE_OK : INGEST_INFLATE_INVALID;
            break;
        }
        if (rc == Z_MEM_ERROR) {
            st = INGEST_INFLATE_NOMEM;
            goto out;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            st = INGEST_INFLATE_INVALID;
            goto out;
        }
        if (z.avail_out != 0) {
            /* inflate stopped with room left: the input ended before the stream did */
            st = INGEST_INFLATE_INVALID;
            goto out;
        }
        if (cap == max_out) {
            /* unreachable: with the probe byte, a full buffer means used > max_out above */
            st = INGEST_INFLATE_TOO_LARGE;
            goto out;
        }
        size_t ncap = cap * 2 < max_out ? cap * 2 : max_out;
        char *nb = realloc(buf, ncap + 2);
        if (nb == NULL) {
            st = INGEST_INFLATE_NOMEM;
            goto out;
        }
        buf = nb;
        cap = ncap;
    }
out:
    inflateEnd(&z);
    if (st != INGEST_INFLATE_OK) {
        free(buf);
        return st;
    }
    buf[used] = '\0';
    *out = buf;
    *out_len = used;
    return INGEST_INFLATE_OK;
}
