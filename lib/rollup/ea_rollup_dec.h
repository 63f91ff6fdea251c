/*
 * ea_rollup_dec.h — exact decimal values of metrics (issue 13): a sum, min or max keeps every
 * digit an event sent, up to 18 significant digits (more are rounded half-even), and a bucket's
 * value is rounded only at the end. Rollup rows store them as PostgreSQL numeric (migration
 * 0014); in memory a value is coef × 10^exp and a row's running sum a 128-bit coefficient at
 * the smallest exponent it has seen. Also where a value's digits come from: the number's own
 * text in the event (JSON text scanned, never re-formatted from a double), and the one rule for
 * printing doubles so that a decimal comes back as written (ingest's Kafka message, GraphQL).
 * Not for: money semantics (currencies, rounding rules of a business) or arbitrary precision.
 */
#ifndef EA_ROLLUP_DEC_H
#define EA_ROLLUP_DEC_H

#include "ea_pg_buf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EA_DEC_DIGITS 18 /* significant digits kept from one value */
#define EA_DEC_EXP_MAX 1000

/* coef × 10^exp, |coef| < 10^18. Equal values may have different forms (9.9 = 990E-2: the
 * scale written is kept, as PostgreSQL numeric keeps it). */
typedef struct ea_dec {
    int64_t coef;
    int32_t exp;
} ea_dec;

/* A running sum: coef × 10^exp (exp the smallest of the values added). */
typedef struct ea_dec_sum {
    __int128 coef;
    int32_t exp;
} ea_dec_sum;

/* Parses a decimal number: [+-] digits [. digits] [(e|E) [+-] digits] with at least one digit
 * (so also "5.", ".5", leading zeros; never spaces, hex, inf or nan). More than 18 significant
 * digits are rounded half-even. False when s is not such a number or its exponent is beyond
 * ±EA_DEC_EXP_MAX. */
bool ea_dec_parse(const char *s, size_t n, ea_dec *out);

/* An integer exactly (rounded half-even to 18 digits past ±10^18). */
ea_dec ea_dec_from_i64(int64_t v);

/* A double without its text: the shortest decimal that reads back as the same double (what a
 * JSON number of up to 15 significant digits was written as). False for NaN and infinities. */
bool ea_dec_from_double(double v, ea_dec *out);

/* <0, 0, >0 as a < b, a = b, a > b (exactly, whatever the exponents). */
int ea_dec_cmp(ea_dec a, ea_dec b);

/* Adds v to *s; false (s unchanged) when the result does not fit 128 bits at a common exponent
 * (the caller then leaves that value to PostgreSQL's numeric: nothing is rounded). */
bool ea_dec_sum_add(ea_dec_sum *s, ea_dec v);

/* Appends the value as PostgreSQL numeric input text ("12345E-2", "0E0"). */
void ea_dec_format(ea_buf *b, ea_dec d);
void ea_dec_sum_format(ea_buf *b, const ea_dec_sum *s);

/* num (a decimal text such as PostgreSQL prints numeric) divided by den, rounded half-even to
 * sig significant digits (1..40), as the nearest double. The rounding happens once, at the end
 * (an average: Σsum / Σcnt). NaN when num is not a decimal or den is 0. */
double ea_dec_text_div(const char *num, long long den, int sig);

/* The text of member `key` of the JSON object text obj[0..len) (top level only; the last one
 * when repeated, as jansson keeps it): *val and *vlen point into obj. False when absent, when obj
 * is not an object, or when a member's key uses escapes (the caller then falls back to the parsed
 * value). obj must be valid JSON (it was parsed already). */
bool ea_dec_json_member(const char *obj, size_t len, const char *key, const char **val,
                        size_t *vlen);

/* The JSON_REAL_PRECISION (15..17) that prints every real number in v as the shortest text
 * reading back as the same double — so 9.99 is printed 9.99, not 9.9900000000000002 — for
 * json_dumps of an event (ingest) or an answer (graphql-api). */
int ea_dec_real_precision(const json_t *v);

#endif
