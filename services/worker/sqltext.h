/*
 * sqltext.h — a growable byte buffer and the text encodings the worker sends to PostgreSQL and
 * Redis: COPY text-format fields, array literals for unnest() parameters, JSON strings and
 * canonical JSON numbers. Values never become SQL: they travel as parameters or COPY data.
 * Not for: building statements.
 */
#ifndef WK_SQLTEXT_H
#define WK_SQLTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wk_buf {
    char *p; /* always NUL-terminated when cap > 0 */
    size_t len, cap;
    bool oom; /* an append failed; the content is then incomplete */
} wk_buf;

/* Empties b, keeping its memory. */
void wk_buf_reset(wk_buf *b);
/* Frees b's memory. */
void wk_buf_free(wk_buf *b);

void wk_buf_append(wk_buf *b, const void *s, size_t n);
void wk_buf_puts(wk_buf *b, const char *s);
void wk_buf_putc(wk_buf *b, char c);
void wk_buf_printf(wk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Decimal integer (no printf: the batch hot path formats several per event). */
void wk_buf_put_i64(wk_buf *b, int64_t v);

/* Timestamp as "YYYY-MM-DDTHH:MM:SS.mmmZ" (ea_time_format_iso8601's text, byte for byte); the
 * date part is cached per UTC day, the time of day is formatted without printf. */
void wk_buf_put_ts(wk_buf *b, int64_t ms);

/* A JSON string literal with quotes, escaped exactly as PostgreSQL prints jsonb strings
 * (\" \\ \b \f \n \r \t, \u00XX for other control characters), so a value we format and one
 * read back from a jsonb column compare equal as text. */
void wk_buf_json_string(wk_buf *b, const char *s, size_t n);

/* The canonical JSON form of a number: integral values within ±2^53 print as integers (so 1.0
 * and 1 are one dimension value, as they are one jsonb value), others with %.17g. */
void wk_buf_json_number(wk_buf *b, double v);

/* One COPY text-format field: backslash, tab, newline and carriage return escaped. */
void wk_buf_copy_field(wk_buf *b, const char *s, size_t n);

/* COPY binary format (PostgreSQL "COPY ... WITH (FORMAT binary)"): the stream's header and
 * trailer, a tuple's field count, and one field each of text, int4, int8, timestamptz (from
 * Unix milliseconds) and jsonb (version 1 + JSON text). Binary saves the server parsing
 * timestamps and integers and de-escaping text for every row; the bytes must be valid UTF-8
 * without NUL for text and jsonb (the server still checks). */
extern const char wk_copybin_header[19];
extern const char wk_copybin_trailer[2];
void wk_copybin_tuple(wk_buf *b, int16_t nfields);
void wk_copybin_text(wk_buf *b, const char *s, size_t n);
void wk_copybin_i32(wk_buf *b, int32_t v);
void wk_copybin_i64(wk_buf *b, int64_t v);
void wk_copybin_timestamptz(wk_buf *b, int64_t unix_ms);
void wk_copybin_jsonb(wk_buf *b, const char *json, size_t n);

/* One element of an array literal ("..." with " and \ escaped); the caller adds { , }. */
void wk_buf_array_elem(wk_buf *b, const char *s, size_t n);

/* Bytes as bytea hex text, "\x0a1b..." (no quoting). */
void wk_buf_bytea_hex(wk_buf *b, const uint8_t *s, size_t n);

/* Appends s as valid UTF-8 with no NUL: invalid bytes and NUL become "\xNN" text. Used for
 * payloads of dead letters, which may be any bytes. */
void wk_buf_utf8_sanitize(wk_buf *b, const char *s, size_t n);

#endif
