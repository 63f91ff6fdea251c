/*
 * inflate.c — bounded gunzip on zlib (Debian's zlib1g). The output is an ea_buf capped at
 * max_out + 1 bytes: it starts at four times the input (typical JSON ratios), grows by doubling,
 * and one byte past max_out is how "too large" is detected without inflating further. Exactly one
 * gzip member is accepted; bytes after it are refused rather than silently ignored, so what is
 * parsed is exactly what was sent.
 */
#include "inflate.h"
#include "ea_buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

ingest_inflate_status ingest_gunzip(const void *in, size_t len, size_t max_out, char **out,
                                    size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (len == 0 || len > UINT32_MAX || max_out >= SIZE_MAX - 1)
        return INGEST_INFLATE_INVALID;
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) /* 16: gzip wrapper only */
        return INGEST_INFLATE_NOMEM;
    /* the cap is one byte past max_out: inflating that probe byte is how "too large" is seen */
    ea_buf b;
    ea_buf_init(&b, max_out + 1);
    size_t first = len < max_out / 4 ? len * 4 : max_out;
    ingest_inflate_status st = INGEST_INFLATE_NOMEM;
    if (!ea_buf_reserve(&b, first < 256 ? (256 < max_out ? 256 : max_out) : first))
        goto out;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    for (;;) {
        /* room for this round: what the buffer holds beyond the text and its NUL, within the cap */
        size_t room = b.cap - 1 - b.len;
        if (room > b.max - b.len)
            room = b.max - b.len;
        z.next_out = (Bytef *)b.p + b.len;
        z.avail_out = (uInt)(room > UINT32_MAX ? UINT32_MAX : room);
        size_t before = z.avail_out;
        int rc = inflate(&z, Z_NO_FLUSH);
        ea_buf_advance(&b, before - z.avail_out);
        if (b.len > max_out) {
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
        /* full: twice the room, up to the probe byte (a full buffer at the cap has len > max_out,
         * refused above) */
        size_t more = b.len < b.max - b.len ? b.len : b.max - b.len;
        if (!ea_buf_reserve(&b, more > 0 ? more : 1)) {
            st = b.err == EA_BUF_TOO_BIG ? INGEST_INFLATE_TOO_LARGE : INGEST_INFLATE_NOMEM;
            goto out;
        }
    }
out:
    inflateEnd(&z);
    if (st != INGEST_INFLATE_OK) {
        ea_buf_free(&b);
        return st;
    }
    *out_len = b.len;
    *out = ea_buf_take(&b); /* the heap buffer itself: no copy */
    return *out != NULL ? INGEST_INFLATE_OK : INGEST_INFLATE_NOMEM;
}
