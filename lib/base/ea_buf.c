/*
 * ea_buf.c — the capped buffer of ea_buf.h. Growth doubles from 256 bytes (one or two
 * allocations for a typical message) and never asks for more than the cap needs; a failure is
 * sticky so an encoder that ignores one append's result cannot leave a hole in the middle of the
 * text: the buffer stops at the last whole append.
 */
#include "ea_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void init(ea_buf *b, char *storage, size_t size, ea_arena *a, size_t max)
{
    b->p = storage;
    b->len = 0;
    b->cap = storage != NULL ? size : 0;
    b->max = max;
    b->arena = a;
    b->heap = false;
    b->err = EA_BUF_OK;
    if (b->cap > 0)
        b->p[0] = '\0';
}

void ea_buf_init(ea_buf *b, size_t max)
{
    init(b, NULL, 0, NULL, max);
}

void ea_buf_init_storage(ea_buf *b, char *storage, size_t size, size_t max)
{
    init(b, storage, size, NULL, max);
}

void ea_buf_init_arena(ea_buf *b, ea_arena *a, size_t max)
{
    init(b, NULL, 0, a, max);
}

void ea_buf_fail(ea_buf *b, ea_buf_err err)
{
    if (b->err == EA_BUF_OK)
        b->err = err;
}

bool ea_buf_reserve(ea_buf *b, size_t n)
{
    if (b->err != EA_BUF_OK)
        return false;
    if (n > b->max || b->len > b->max - n) {
        b->err = EA_BUF_TOO_BIG;
        return false;
    }
    size_t need = b->len + n + 1; /* cannot overflow: len + n <= max < SIZE_MAX */
    if (need <= b->cap)
        return true;
    size_t cap = b->cap < 256 ? 256 : b->cap;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max + 1 && b->max < SIZE_MAX)
        cap = b->max + 1 > need ? b->max + 1 : need; /* no room the cap can never use */
    char *np;
    if (b->arena != NULL) {
        np = ea_arena_alloc(b->arena, cap);
        if (np != NULL && b->len > 0)
            memcpy(np, b->p, b->len);
    } else if (b->heap) {
        np = realloc(b->p, cap);
    } else {
        np = malloc(cap);
        if (np != NULL && b->len > 0)
            memcpy(np, b->p, b->len);
    }
    if (np == NULL) {
        b->err = EA_BUF_NOMEM;
        return false;
    }
    b->p = np;
    b->cap = cap;
    b->heap = b->arena == NULL;
    return true;
}

void ea_buf_advance(ea_buf *b, size_t n)
{
    b->len += n;
    b->p[b->len] = '\0';
}

bool ea_buf_append(ea_buf *b, const void *s, size_t n)
{
    if (!ea_buf_reserve(b, n))
        return false;
    if (n > 0)
        memcpy(b->p + b->len, s, n);
    ea_buf_advance(b, n);
    return true;
}

bool ea_buf_puts(ea_buf *b, const char *s)
{
    return ea_buf_append(b, s, strlen(s));
}

bool ea_buf_putc(ea_buf *b, char c)
{
    return ea_buf_append(b, &c, 1);
}

bool ea_buf_printf(ea_buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) {
        ea_buf_fail(b, EA_BUF_NOMEM);
        return false;
    }
    if ((size_t)n < sizeof(tmp))
        return ea_buf_append(b, tmp, (size_t)n);
    if (!ea_buf_reserve(b, (size_t)n))
        return false;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return true;
}

size_t ea_buf_fmt_i64(char *out, int64_t v)
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

bool ea_buf_put_i64(ea_buf *b, int64_t v)
{
    char tmp[EA_BUF_I64_LEN];
    return ea_buf_append(b, tmp, ea_buf_fmt_i64(tmp, v));
}

/* The escape of byte c (a control character, '"' or '\\') into o; returns its length. */
static size_t json_escape(unsigned char c, char *o)
{
    static const char hex[] = "0123456789abcdef";
    o[0] = '\\';
    switch (c) {
    case '"':
        o[1] = '"';
        return 2;
    case '\\':
        o[1] = '\\';
        return 2;
    case '\b':
        o[1] = 'b';
        return 2;
    case '\f':
        o[1] = 'f';
        return 2;
    case '\n':
        o[1] = 'n';
        return 2;
    case '\r':
        o[1] = 'r';
        return 2;
    case '\t':
        o[1] = 't';
        return 2;
    default:
        o[1] = 'u', o[2] = '0', o[3] = '0';
        o[4] = hex[c >> 4];
        o[5] = hex[c & 15];
        return 6;
    }
}

bool ea_buf_json_string(ea_buf *b, const char *s, size_t n)
{
    if (b->err != EA_BUF_OK)
        return false;
    /* Fast path (the hot one: ingest's Kafka message): room for the worst case, every byte as
     * \u00XX, then one pass writing in place. Taken only when the worst case fits the cap, so a
     * string near the cap is not refused for escapes it does not need. */
    if (n <= (SIZE_MAX - 2) / 6 && b->len <= b->max && n * 6 + 2 <= b->max - b->len) {
        if (!ea_buf_reserve(b, n * 6 + 2))
            return false;
        char *o = b->p + b->len;
        *o++ = '"';
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c >= 0x20 && c != '"' && c != '\\')
                *o++ = (char)c;
            else
                o += json_escape(c, o);
        }
        *o++ = '"';
        ea_buf_advance(b, (size_t)(o - (b->p + b->len)));
        return true;
    }
    /* Near the cap: unescaped runs and escapes appended one by one, so the cap is exact. */
    size_t start = 0, len0 = b->len;
    ea_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        char esc[6];
        ea_buf_append(b, s + start, i - start);
        ea_buf_append(b, esc, json_escape(c, esc));
        start = i + 1;
    }
    ea_buf_append(b, s + start, n - start);
    if (!ea_buf_putc(b, '"')) {
        b->len = len0; /* no half string: the buffer ends at the last whole append */
        if (b->p != NULL && b->cap > 0)
            b->p[len0] = '\0';
        return false;
    }
    return true;
}

const char *ea_buf_str(const ea_buf *b)
{
    return b->p != NULL && b->cap > 0 ? b->p : "";
}

char *ea_buf_take(ea_buf *b)
{
    char *out = NULL;
    if (b->err == EA_BUF_OK) {
        if (b->heap) {
            out = b->p;
            b->heap = false;
        } else if ((out = malloc(b->len + 1)) != NULL) {
            if (b->len > 0)
                memcpy(out, b->p, b->len);
            out[b->len] = '\0';
        }
    }
    ea_buf_free(b);
    return out;
}

void ea_buf_reset(ea_buf *b)
{
    b->len = 0;
    b->err = EA_BUF_OK;
    if (b->p != NULL && b->cap > 0)
        b->p[0] = '\0';
}

void ea_buf_free(ea_buf *b)
{
    if (b->heap)
        free(b->p);
    init(b, NULL, 0, b->arena, b->max);
}
