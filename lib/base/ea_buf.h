/*
 * ea_buf.h — the one growable byte buffer of the tree, with a size cap (curl's dynbuf idea): the
 * caller gives every buffer the most bytes it may hold, taken from its config (an event's
 * INGEST_MAX_EVENT, a GraphQL answer's max_response_bytes, ...), so text built from hostile
 * input cannot grow without bound. An append that would pass the cap, or that cannot get memory,
 * fails cleanly: nothing of it is written, the buffer keeps what it had, remembers why
 * (`err`) and ignores every later append until ea_buf_reset — encoders stay readable and check
 * once at the end. The text is always NUL-terminated after an append.
 *
 * Memory comes from one of three places, chosen at init: the heap (ea_buf_init), caller storage
 * first and the heap once it is too small (ea_buf_init_storage: a stack array for the common
 * small case), or an arena (ea_buf_init_arena: outgrown blocks stay in the arena until it is
 * reset). Not for: JSON trees (jansson), SQL statements with parameters (lib/pg ea_pg_params.h);
 * PostgreSQL's encodings (COPY, arrays, bytea) append to an ea_buf from lib/pg (ea_pg_buf.h).
 */
#ifndef EA_BUF_H
#define EA_BUF_H

#include "ea_arena.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ea_buf_err {
    EA_BUF_OK = 0,
    EA_BUF_NOMEM,   /* an allocation failed */
    EA_BUF_TOO_BIG, /* an append would have passed the cap */
} ea_buf_err;

typedef struct ea_buf {
    char *p;         /* the bytes; NULL before the first append (ea_buf_str gives "") */
    size_t len;      /* bytes held, NUL excluded */
    size_t cap;      /* bytes p can hold, NUL included */
    size_t max;      /* the most len may reach */
    ea_arena *arena; /* grow in this arena instead of the heap */
    bool heap;       /* p is malloc'd by the buffer (freed by ea_buf_free) */
    ea_buf_err err;  /* the first failure since init or reset */
} ea_buf;

/* A heap buffer that may hold up to max bytes. Nothing is allocated until the first append. */
void ea_buf_init(ea_buf *b, size_t max);
/* The same as a static initializer: ea_buf b = EA_BUF_INIT(max); */
#define EA_BUF_INIT(maxv)                                                                          \
    {                                                                                              \
        .p = NULL, .len = 0, .cap = 0, .max = (maxv), .arena = NULL, .heap = false,                \
        .err = EA_BUF_OK                                                                           \
    }
/* Starts in storage[0..size) (the caller's, never freed here) and moves to the heap when that is
 * too small. storage may be NULL with size 0. */
void ea_buf_init_storage(ea_buf *b, char *storage, size_t size, size_t max);
/* Grows in arena a: the text lives as long as the arena; ea_buf_free is not needed. */
void ea_buf_init_arena(ea_buf *b, ea_arena *a, size_t max);

/* Room for n more bytes (and the NUL). False, with err set, when len + n would pass the cap or
 * memory is short, or when the buffer already failed. */
bool ea_buf_reserve(ea_buf *b, size_t n);
/* Records n bytes the caller wrote at p + len after ea_buf_reserve(b, >= n), and the NUL. */
void ea_buf_advance(ea_buf *b, size_t n);

/* Appends; false when the buffer failed (now or before), in which case nothing is written. */
bool ea_buf_append(ea_buf *b, const void *s, size_t n);
bool ea_buf_puts(ea_buf *b, const char *s);
/* A string literal, its length known at compile time (hot paths). */
#define ea_buf_lit(b, s) ea_buf_append((b), "" s, sizeof(s) - 1)
bool ea_buf_putc(ea_buf *b, char c);
bool ea_buf_printf(ea_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Decimal integer, without printf (hot paths format several per event). */
bool ea_buf_put_i64(ea_buf *b, int64_t v);
/* A JSON string literal with its quotes: " \ escaped, \b \f \n \r \t, \u00xx (lowercase hex) for
 * the other control characters, every other byte (UTF-8 included) as is. This is jansson's
 * escaping and PostgreSQL's jsonb output, so text we write and text read back from a jsonb
 * column compare equal. */
bool ea_buf_json_string(ea_buf *b, const char *s, size_t n);

/* Marks the buffer failed with err (an encoder's own size rule); later appends are ignored. */
void ea_buf_fail(ea_buf *b, ea_buf_err err);
static inline bool ea_buf_ok(const ea_buf *b)
{
    return b->err == EA_BUF_OK;
}

/* The NUL-terminated text ("" when empty). Valid until the next append, reset or free. */
const char *ea_buf_str(const ea_buf *b);
/* Hands the text over as a malloc'd string the caller frees (copied out of storage or an arena
 * when needed); NULL when the buffer failed or memory is short. The buffer is empty afterwards. */
char *ea_buf_take(ea_buf *b);
/* Empties b and clears err, keeping its memory and cap. */
void ea_buf_reset(ea_buf *b);
/* Frees heap memory; b is empty afterwards (same cap; caller storage is no longer used). */
void ea_buf_free(ea_buf *b);

/* v in decimal into out (at least EA_BUF_I64_LEN bytes), NUL-terminated; returns the length. */
#define EA_BUF_I64_LEN 21
size_t ea_buf_fmt_i64(char *out, int64_t v);

#endif
