/*
 * ea_pg_buf.c — text and binary encodings for PostgreSQL, appended to an ea_buf. The buffer
 * records a failure (memory, its cap) instead of returning a code from every append, so encoders
 * stay readable; callers check ea_buf_ok once before using the content.
 */
#include "ea_pg_buf.h"
#include "ea_time.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ea_pg_buf_put_ts(ea_buf *b, int64_t ms)
{
    /* one cached day per thread: a batch's events are mostly within a day or two */
    static _Thread_local int64_t cached_day = INT64_MIN;
    static _Thread_local char prefix[48];
    static _Thread_local size_t prefix_len;
    int64_t day = ea_time_floor_day(ms);
    if (day != cached_day) {
        ea_time_format_iso8601(day, prefix);
        char *t = strchr(prefix, 'T');
        if (t == NULL) { /* cannot happen with ea_time's format; stay correct anyway */
            char full[48];
            ea_buf_puts(b, ea_time_format_iso8601(ms, full));
            return;
        }
        prefix_len = (size_t)(t - prefix) + 1;
        cached_day = day;
    }
    int64_t rem = ms - day;
    int h = (int)(rem / 3600000), mi = (int)(rem / 60000 % 60), sec = (int)(rem / 1000 % 60),
        milli = (int)(rem % 1000);
    char t[13] = {(char)('0' + h / 10),
                  (char)('0' + h % 10),
                  ':',
                  (char)('0' + mi / 10),
                  (char)('0' + mi % 10),
                  ':',
                  (char)('0' + sec / 10),
                  (char)('0' + sec % 10),
                  '.',
                  (char)('0' + milli / 100),
                  (char)('0' + milli / 10 % 10),
                  (char)('0' + milli % 10),
                  'Z'};
    ea_buf_append(b, prefix, prefix_len);
    ea_buf_append(b, t, sizeof(t));
}

void ea_pg_buf_json_number(ea_buf *b, double v)
{
    if (!isfinite(v)) {
        ea_buf_puts(b, "null");
        return;
    }
    if (v == floor(v) && fabs(v) <= 9007199254740992.0) {
        ea_buf_printf(b, "%lld", (long long)v);
        return;
    }
    ea_buf_printf(b, "%.17g", v);
}

void ea_pg_buf_copy_field(ea_buf *b, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i], e;
        switch (c) {
        case '\\':
            e = '\\';
            break;
        case '\t':
            e = 't';
            break;
        case '\n':
            e = 'n';
            break;
        case '\r':
            e = 'r';
            break;
        default:
            continue;
        }
        ea_buf_append(b, s + start, i - start);
        char esc[2] = {'\\', e};
        ea_buf_append(b, esc, 2);
        start = i + 1;
    }
    ea_buf_append(b, s + start, n - start);
}

/* ---- COPY binary format ---- */

const char ea_pg_copybin_header[19] = {'P',  'G',  'C',  'O', 'P', 'Y', '\n', '\377',
                                       '\r', '\n', '\0', 0,   0,   0,   0, /* flags */
                                       0,    0,    0,    0}; /* header extension length */
const char ea_pg_copybin_trailer[2] = {'\377', '\377'};      /* field count -1 */

static void put_be(ea_buf *b, uint64_t v, int bytes)
{
    char t[8];
    for (int i = bytes - 1; i >= 0; i--) {
        t[i] = (char)(v & 0xff);
        v >>= 8;
    }
    ea_buf_append(b, t, (size_t)bytes);
}

void ea_pg_copybin_tuple(ea_buf *b, int16_t nfields)
{
    put_be(b, (uint16_t)nfields, 2);
}

void ea_pg_copybin_text(ea_buf *b, const char *s, size_t n)
{
    if (n > INT32_MAX) {
        ea_buf_fail(b, EA_BUF_TOO_BIG);
        return;
    }
    put_be(b, (uint32_t)n, 4);
    ea_buf_append(b, s, n);
}

void ea_pg_copybin_i32(ea_buf *b, int32_t v)
{
    put_be(b, 4, 4);
    put_be(b, (uint32_t)v, 4);
}

void ea_pg_copybin_i64(ea_buf *b, int64_t v)
{
    put_be(b, 8, 4);
    put_be(b, (uint64_t)v, 8);
}

void ea_pg_copybin_timestamptz(ea_buf *b, int64_t unix_ms)
{
    /* microseconds since 2000-01-01T00:00:00Z, PostgreSQL's epoch */
    ea_pg_copybin_i64(b, (unix_ms - INT64_C(946684800000)) * 1000);
}

void ea_pg_copybin_jsonb(ea_buf *b, const char *json, size_t n)
{
    if (n >= INT32_MAX) {
        ea_buf_fail(b, EA_BUF_TOO_BIG);
        return;
    }
    put_be(b, (uint32_t)n + 1, 4);
    ea_buf_putc(b, 1); /* jsonb binary format version */
    ea_buf_append(b, json, n);
}

void ea_pg_buf_array_elem(ea_buf *b, const char *s, size_t n)
{
    ea_buf_putc(b, '"');
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '"' && s[i] != '\\')
            continue;
        ea_buf_append(b, s + start, i - start);
        ea_buf_putc(b, '\\');
        start = i; /* the character itself follows its backslash */
    }
    ea_buf_append(b, s + start, n - start);
    ea_buf_putc(b, '"');
}

void ea_pg_buf_bytea_hex(ea_buf *b, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (n > (SIZE_MAX - 2) / 2 || !ea_buf_reserve(b, 2 + n * 2))
        return;
    char *o = b->p + b->len;
    *o++ = '\\';
    *o++ = 'x';
    for (size_t i = 0; i < n; i++) {
        *o++ = hex[s[i] >> 4];
        *o++ = hex[s[i] & 15];
    }
    ea_buf_advance(b, 2 + n * 2);
}

/* Length of the valid UTF-8 sequence starting at s[0] (1..4), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c >= 0x01 && c < 0x80)
        return 1;
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void ea_pg_buf_utf8_sanitize(ea_buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t l = utf8_len(u + i, n - i);
        if (l == 0) {
            ea_buf_printf(b, "\\x%02x", u[i]);
            i++;
        } else {
            ea_buf_append(b, s + i, l);
            i += l;
        }
    }
}
