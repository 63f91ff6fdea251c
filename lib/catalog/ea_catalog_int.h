/*
 * ea_catalog_int.h — internals shared by the lib/catalog source files: transactions that join a
 * caller's, statements whose failures become user-facing messages without the database's text,
 * JSON results and safe quoting of user input in messages. Not part of the API.
 */
#ifndef EA_CATALOG_INT_H
#define EA_CATALOG_INT_H

#include "ea_catalog.h"

/* A transaction: own = this call began it (and ends it). Joins the caller's open transaction;
 * refuses a connection inside a failed one. */
typedef struct cat_tx {
    PGconn *c;
    bool own;
} cat_tx;

ea_rc cat_tx_begin(cat_tx *tx, PGconn *c, const char *what, struct ea_err *err) EA_WUR;

/* rc == EA_OK: COMMIT (when own); else ROLLBACK (when own). Returns rc, or the COMMIT's error. */
ea_rc cat_tx_end(cat_tx *tx, ea_rc rc, const char *what, struct ea_err *err);

/* Takes the metric-names lock exclusively (EA_CATALOG_NAMES_LOCK_KEY) for the rest of the
 * transaction, waiting at most 5 s (then EA_ERR_UNAVAILABLE, "try again"). */
ea_rc cat_names_lock(PGconn *c, const char *what, struct ea_err *err) EA_WUR;

/* Runs a parameterized statement; NULL on failure with err filled as the header says:
 * UNAVAILABLE (connection lost, lock/statement timeout, serialization), else EA_ERR_DB with
 * "could not <what>: database error", SQLSTATE kept, the database's message in detail. */
PGresult *cat_query(PGconn *c, const char *what, const char *sql, int n, const char *const *params,
                    ExecStatusType expect, struct ea_err *err);

/* Runs a statement that returns one row whose first column is JSON text; *out = its value. */
ea_rc cat_query_json(PGconn *c, const char *what, const char *sql, int n, const char *const *params,
                     json_t **out, struct ea_err *err) EA_WUR;

/* Parses JSON text from the database (EA_ERR_DB when it is not JSON). */
ea_rc cat_json_parse(const char *text, const char *what, json_t **out, struct ea_err *err) EA_WUR;

/* Writes s into buf (cap >= 80) as a message may show it: control characters as '?', at most
 * 64 bytes then "...". */
const char *cat_quote(const char *s, char *buf, size_t cap);

/* Appends "; did you mean "a" or "b"?" for the suggestions among cands (nothing when none). */
void cat_add_suggestions(struct ea_err *err, const char *name, const char *const *cands, size_t n);

#define CAT_QBUF 96

/* A timestamp column as the API shows it: ISO-8601 UTC with milliseconds (NULL stays NULL). */
#define CAT_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

#endif
