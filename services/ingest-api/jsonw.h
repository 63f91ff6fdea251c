/*
 * jsonw.h — a small append-only JSON text writer for the two hot outputs of ingest (the Kafka
 * message and the 202 reply), where building a jansson tree only to dump it cost more than the
 * parse. Strings are escaped like jansson's default dump (", \, control characters; UTF-8
 * passed through, so callers hand it strings jansson has already validated). Not a general
 * serializer: no floats, no nesting bookkeeping — callers write the punctuation.
 *
 * Memory: the buffer starts in caller storage (may be NULL/0) and moves to malloc when it grows;
 * ingest_jw_take hands the malloc'd text to the caller, ingest_jw_free releases it. After an
 * allocation failure every call is a no-op and `ok` stays false.
 */
#ifndef INGEST_JSONW_H
#define INGEST_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ingest_jw {
    char *buf;
    size_t len, cap;
    bool heap; /* buf is malloc'd (owned) */
    bool ok;
} ingest_jw;

/* Starts writing into storage[0..cap) (storage may be NULL with cap 0). */
void ingest_jw_init(ingest_jw *w, char *storage, size_t cap);

/* Ensures room for n more bytes (plus a NUL); false (and ok = false) when out of memory. */
bool ingest_jw_reserve(ingest_jw *w, size_t n);

void ingest_jw_raw(ingest_jw *w, const char *s, size_t n);
#define ingest_jw_lit(w, s) ingest_jw_raw((w), (s), sizeof(s) - 1)
/* Writes s[0..n) as a quoted, escaped JSON string. */
void ingest_jw_str(ingest_jw *w, const char *s, size_t n);
void ingest_jw_i64(ingest_jw *w, int64_t v);

/* Returns the NUL-terminated text as a malloc'd string the caller frees (copying it out of
 * caller storage if needed); NULL on allocation failure. The writer is empty afterwards. */
char *ingest_jw_take(ingest_jw *w);

/* Frees the writer's heap buffer, if any. */
void ingest_jw_free(ingest_jw *w);

/* Formats v in decimal into out (at least 21 bytes); returns the length. No locale, no printf. */
size_t ingest_fmt_i64(char *out, int64_t v);

#endif
