/*
 * ea_pg_params.h — the parameters of one statement, built by name instead of by position in
 * shared buffers: each ea_pg_params_* call appends parameter $n and returns n, so a statement's
 * text and its values are written side by side. Arrays (for unnest()) are parameters too; their
 * elements are appended with ea_pg_array_* in any order across the open arrays. Also the one
 * encoder and decoder of PostgreSQL's one-dimensional array text ({a,"b c",NULL}).
 *
 * Allocation failure is recorded, not returned per call: ea_pg_params_exec refuses to run a
 * statement with an incomplete parameter (EA_ERR_NOMEM). Not thread-safe; reuse one builder per
 * connection (ea_pg_params_reset keeps its memory).
 */
#ifndef EA_PG_PARAMS_H
#define EA_PG_PARAMS_H

#include "ea_err.h"
#include "ea_pg_buf.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most parameters of one statement (the widest today is the rollup row writer's 12). */
#define EA_PG_PARAMS_MAX 24

typedef struct ea_pg_params ea_pg_params;

/* A new, empty builder; NULL on out of memory. Free with ea_pg_params_free. */
ea_pg_params *ea_pg_params_new(void);
void ea_pg_params_free(ea_pg_params *p);

/* Forgets every parameter (keeps the memory for the next statement). */
void ea_pg_params_reset(ea_pg_params *p);

/* Number of parameters so far. */
int ea_pg_params_count(const ea_pg_params *p);

/* Scalars: each appends parameter $n and returns n (1-based). A NULL s is SQL NULL. */
int ea_pg_params_text(ea_pg_params *p, const char *s);
int ea_pg_params_textn(ea_pg_params *p, const char *s, size_t n);
int ea_pg_params_i64(ea_pg_params *p, int64_t v);
/* A timestamptz from Unix milliseconds ("YYYY-MM-DDTHH:MM:SS.mmmZ"). */
int ea_pg_params_ts(ea_pg_params *p, int64_t unix_ms);

/* Appends an empty array parameter ({}) and returns its n. */
int ea_pg_params_array(ea_pg_params *p);

/* Elements of array parameter n (as returned by ea_pg_params_array). Text elements are always
 * quoted, so any bytes but NUL are safe; cstr with NULL appends a NULL element. */
void ea_pg_array_text(ea_pg_params *p, int n, const char *s, size_t len);
void ea_pg_array_cstr(ea_pg_params *p, int n, const char *s);
void ea_pg_array_null(ea_pg_params *p, int n);
void ea_pg_array_i64(ea_pg_params *p, int n, int64_t v);
/* %.17g: a double round-trips exactly. */
void ea_pg_array_f64(ea_pg_params *p, int n, double v);
void ea_pg_array_ts(ea_pg_params *p, int n, int64_t unix_ms);
void ea_pg_array_bool(ea_pg_params *p, int n, bool v);
/* bytea as "\x<hex>"; NULL bytes append a NULL element. */
void ea_pg_array_bytea(ea_pg_params *p, int n, const uint8_t *bytes, size_t len);

/* Elements in array parameter n so far. */
size_t ea_pg_array_len(const ea_pg_params *p, int n);

/* True when an append failed (out of memory, or more than EA_PG_PARAMS_MAX parameters). */
bool ea_pg_params_failed(const ea_pg_params *p);

/* The values as PQexecParams wants them (valid until the next change to p); NULL when
 * ea_pg_params_failed. */
const char *const *ea_pg_params_values(ea_pg_params *p);

/* Runs sql with the parameters (text results, or binary with ea_pg_params_exec_binary).
 * Returns the result when its status is `expect` (caller PQclear()s), else NULL with err filled
 * (EA_ERR_NOMEM when the parameters are incomplete). */
PGresult *ea_pg_params_exec(PGconn *c, const char *sql, ea_pg_params *p, ExecStatusType expect,
                            struct ea_err *err);
PGresult *ea_pg_params_exec_binary(PGconn *c, const char *sql, ea_pg_params *p,
                                   ExecStatusType expect, struct ea_err *err);

/* Appends the whole array literal of items[0..n) ({"a","b"}; NULL items are NULL elements) to
 * b, for callers that hold a list and need one text[] value. */
void ea_pg_buf_array(ea_buf *b, const char *const *items, size_t n);

/* Decodes the text form of a one-dimensional array as PostgreSQL prints it ({a,"b c",NULL},
 * {} for empty; quoted elements with \-escapes; unquoted NULL is SQL NULL). Returns one malloc'd
 * block holding *n element pointers (NULL for SQL NULL) and their strings; free() it. NULL with
 * err (EA_ERR_INVALID) for anything else, EA_ERR_NOMEM on allocation failure. */
char **ea_pg_array_decode(const char *text, size_t *n, struct ea_err *err);

#endif
