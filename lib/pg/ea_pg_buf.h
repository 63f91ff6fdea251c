/*
 * ea_pg_buf.h — a growable byte buffer and the encodings sent to PostgreSQL (and Redis, as
 * jsonb prints them): COPY text and binary fields, array elements, bytea hex, JSON strings and
 * canonical JSON numbers, UTF-8 sanitizing. Values never become SQL: they travel as parameters
 * (ea_pg_params.h) or COPY data. Not for: building statements. (Moved from the worker's
 * sqltext.h so lib/rollup and the parameter builder can use it; the project-wide capped buffer
 * is a later change.)
 */
#ifndef EA_PG_BUF_H
#define EA_PG_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ea_pg_buf {
    char *p; /* always NUL-terminated when cap > 0 */
    size_t len, cap;
    bool oom; /* an append failed; the content is then incomplete */
} ea_pg_buf;

/* Empties b, keeping its memory. */
void ea_pg_buf_reset(ea_pg_buf *b);
/* Frees b's memory. */
void ea_pg_buf_free(ea_pg_buf *b);

void ea_pg_buf_append(ea_pg_buf *b, const void *s, size_t n);
void ea_pg_buf_puts(ea_pg_buf *b, const char *s);
void ea_pg_buf_putc(ea_pg_buf *b, char c);
void ea_pg_buf_printf(ea_pg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Decimal integer (no printf: the batch hot path formats several per event). */
void ea_pg_buf_put_i64(ea_pg_buf *b, int64_t v);

/* Timestamp as "YYYY-MM-DDTHH:MM:SS.mmmZ" (ea_time_format_iso8601's text, byte for byte); the
 * date part is cached per UTC day, the time of day is formatted without printf. */
void ea_pg_buf_put_ts(ea_pg_buf *b, int64_t ms);

/* A JSON string literal with quotes, escaped exactly as PostgreSQL prints jsonb strings
 * (\" \\ \b \f \n \r \t, \u00XX for other control characters), so a value we format and one
 * read back from a jsonb column compare equal as text. */
void ea_pg_buf_json_string(ea_pg_buf *b, const char *s, size_t n);

/* The canonical JSON form of a number: integral values within ±2^53 print as integers (so 1.0
 * and 1 are one dimension value, as they are one jsonb value), others with %.17g. */
void ea_pg_buf_json_number(ea_pg_buf *b, double v);

/* One COPY text-format field: backslash, tab, newline and carriage return escaped. */
void ea_pg_buf_copy_field(ea_pg_buf *b, const char *s, size_t n);

/* COPY binary format (PostgreSQL "COPY ... WITH (FORMAT binary)"): the stream's header and
 * trailer, a tuple's field count, and one field each of text, int4, int8, timestamptz (from
 * Unix milliseconds) and jsonb (version 1 + JSON text). Binary saves the server parsing
 * timestamps and integers and de-escaping text for every row; the bytes must be valid UTF-8
 * without NUL for text and jsonb (the server still checks). */
extern const char ea_pg_copybin_header[19];
extern const char ea_pg_copybin_trailer[2];
void ea_pg_copybin_tuple(ea_pg_buf *b, int16_t nfields);
void ea_pg_copybin_text(ea_pg_buf *b, const char *s, size_t n);
void ea_pg_copybin_i32(ea_pg_buf *b, int32_t v);
void ea_pg_copybin_i64(ea_pg_buf *b, int64_t v);
void ea_pg_copybin_timestamptz(ea_pg_buf *b, int64_t unix_ms);
void ea_pg_copybin_jsonb(ea_pg_buf *b, const char *json, size_t n);

/* One element of an array literal ("..." with " and \ escaped); the caller adds { , }. */
void ea_pg_buf_array_elem(ea_pg_buf *b, const char *s, size_t n);

/* Bytes as bytea hex text, "\x0a1b..." (no quoting). */
void ea_pg_buf_bytea_hex(ea_pg_buf *b, const uint8_t *s, size_t n);

/* Appends s as valid UTF-8 with no NUL: invalid bytes and NUL become "\xNN" text. Used for
 * payloads of dead letters, which may be any bytes. */
void ea_pg_buf_utf8_sanitize(ea_pg_buf *b, const char *s, size_t n);

#endif
