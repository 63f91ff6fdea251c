/*
 * ea_pg_buf.h — the encodings sent to PostgreSQL (and Redis, as jsonb prints them), appended to
 * an ea_buf (lib/base): COPY text and binary fields, array elements, bytea hex, canonical JSON
 * numbers, timestamps, UTF-8 sanitizing; EA_PG_VALUE_MAX, the cap of such buffers. Values never
 * become SQL: they travel as parameters (ea_pg_params.h) or COPY data. Not for: building
 * statements, the buffer itself (ea_buf.h).
 */
#ifndef EA_PG_BUF_H
#define EA_PG_BUF_H

#include "ea_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The cap of every buffer filled for PostgreSQL (COPY data, a parameter, an array literal):
 * PostgreSQL refuses a value over 1 GB (MaxAllocSize) and PQputCopyData takes an int, so a
 * longer one could never be sent; an append past it fails like one out of memory. */
#define EA_PG_VALUE_MAX ((size_t)0x3fffffff)

/* Decimal integers and JSON strings: ea_buf_put_i64 and ea_buf_json_string (lib/base; the
 * latter escapes exactly as PostgreSQL prints jsonb strings). */

/* Timestamp as "YYYY-MM-DDTHH:MM:SS.mmmZ" (ea_time_format_iso8601's text, byte for byte); the
 * date part is cached per UTC day, the time of day is formatted without printf. */
void ea_pg_buf_put_ts(ea_buf *b, int64_t ms);

/* The canonical JSON form of a number: integral values within ±2^53 print as integers (so 1.0
 * and 1 are one dimension value, as they are one jsonb value), others with %.17g. */
void ea_pg_buf_json_number(ea_buf *b, double v);

/* One COPY text-format field: backslash, tab, newline and carriage return escaped. */
void ea_pg_buf_copy_field(ea_buf *b, const char *s, size_t n);

/* COPY binary format (PostgreSQL "COPY ... WITH (FORMAT binary)"): the stream's header and
 * trailer, a tuple's field count, and one field each of text, int4, int8, timestamptz (from
 * Unix milliseconds) and jsonb (version 1 + JSON text). Binary saves the server parsing
 * timestamps and integers and de-escaping text for every row; the bytes must be valid UTF-8
 * without NUL for text and jsonb (the server still checks). */
extern const char ea_pg_copybin_header[19];
extern const char ea_pg_copybin_trailer[2];
void ea_pg_copybin_tuple(ea_buf *b, int16_t nfields);
void ea_pg_copybin_text(ea_buf *b, const char *s, size_t n);
void ea_pg_copybin_i32(ea_buf *b, int32_t v);
void ea_pg_copybin_i64(ea_buf *b, int64_t v);
void ea_pg_copybin_timestamptz(ea_buf *b, int64_t unix_ms);
void ea_pg_copybin_jsonb(ea_buf *b, const char *json, size_t n);

/* One element of an array literal ("..." with " and \ escaped); the caller adds { , }. */
void ea_pg_buf_array_elem(ea_buf *b, const char *s, size_t n);

/* Bytes as bytea hex text, "\x0a1b..." (no quoting). */
void ea_pg_buf_bytea_hex(ea_buf *b, const uint8_t *s, size_t n);

/* Appends s as valid UTF-8 with no NUL: invalid bytes and NUL become "\xNN" text. Used for
 * payloads of dead letters, which may be any bytes. */
void ea_pg_buf_utf8_sanitize(ea_buf *b, const char *s, size_t n);

#endif
