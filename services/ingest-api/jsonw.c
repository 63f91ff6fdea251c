/*
 * jsonw.c — the append-only JSON writer of jsonw.h. Growth doubles (starting at 512 bytes) so a
 * message costs one or two allocations; escaping walks the string once.
 */
#include "jsonw.h"

#include <stdlib.h>
#include <string.h>

void ingest_jw_init(ingest_jw *w, char *storage, size_t cap)
{
    w->buf = storage;
    w->len = 0;
    w->cap = storage != NULL ? cap : 0;
    w->heap = false;
    w->ok = true;
}

bool ingest_jw_reserve(ingest_jw *w, size_t n)
{
    if (!w->ok)
        return false;
    if (w->len + n + 1 <= w->cap)
        return true;
    size_t cap = w->cap < 512 ? 512 : w->cap;
    while (cap < w->len + n + 1)
        cap *= 2;
    char *nb = w->heap ? realloc(w->buf, cap) : malloc(cap);
    if (nb == NULL) {
        w->ok = false;
        return false;
    }
    if (!w->heap && w->len > 0)
        memcpy(nb, w->buf, w->len);
    w->buf = nb;
    w->cap = cap;
    w->heap = true;
    return true;
}

void ingest_jw_raw(ingest_jw *w, const char *s, size_t n)
{
    if (!ingest_jw_reserve(w, n))
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

void ingest_jw_str(ingest_jw *w, const char *s, size_t n)
{
    /* worst case: every byte becomes \u00XX */
    if (!ingest_jw_reserve(w, n * 6 + 2))
        return;
    static const char hex[] = "0123456789abcdef";
    char *o = w->buf + w->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        default:
            *o++ = 'u', *o++ = '0', *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o++ = '"';
    w->len = (size_t)(o - w->buf);
    w->buf[w->len] = '\0';
}

size_t ingest_fmt_i64(char *out, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    size_t len = 0;
    if (v < 0)
        out[len++] = '-';
    while (n > 0)
        out[len++] = tmp[--n];
    out[len] = '\0';
    return len;
}

void ingest_jw_i64(ingest_jw *w, int64_t v)
{
    char tmp[24];
    ingest_jw_raw(w, tmp, ingest_fmt_i64(tmp, v));
}

char *ingest_jw_take(ingest_jw *w)
{
    char *out = NULL;
    if (w->ok && ingest_jw_reserve(w, 0)) {
        if (w->heap) {
            out = w->buf;
        } else if ((out = malloc(w->len + 1)) != NULL) {
            memcpy(out, w->buf, w->len);
            out[w->len] = '\0';
        }
    } else if (w->heap) {
        free(w->buf);
    }
    ingest_jw_init(w, NULL, 0);
    return out;
}

void ingest_jw_free(ingest_jw *w)
{
    if (w->heap)
        free(w->buf);
    ingest_jw_init(w, NULL, 0);
}
