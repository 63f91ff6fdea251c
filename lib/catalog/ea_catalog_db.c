/*
 * ea_catalog_db.c — how the catalog talks to PostgreSQL: transactions that join a caller's,
 * the metric-names lock, and the translation of database failures into messages a user may see
 * ("could not X: database error", the database's own text kept in err->detail for logs and
 * operators). Every statement is parameterized; results come back as JSON built by PostgreSQL
 * (jsonb_build_object), so each shape is written once, next to its SQL.
 */
#include "ea_catalog_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void copy_field(char *dst, size_t cap, const PGresult *res, int field)
{
    const char *v = res != NULL ? PQresultErrorField(res, field) : NULL;
    snprintf(dst, cap, "%s", v != NULL ? v : "");
}

/* Fills err from a failed result: retryable states are UNAVAILABLE, the rest EA_ERR_DB. */
static ea_rc db_fail(PGconn *c, const PGresult *res, const char *what, struct ea_err *err)
{
    char state[6], primary[256];
    copy_field(state, sizeof(state), res, PG_DIAG_SQLSTATE);
    copy_field(primary, sizeof(primary), res, PG_DIAG_MESSAGE_PRIMARY);
    if (primary[0] == '\0')
        snprintf(primary, sizeof(primary), "%s", c != NULL ? PQerrorMessage(c) : "no connection");
    primary[strcspn(primary, "\n")] = '\0';
    ea_rc rc;
    if (res == NULL || c == NULL || PQstatus(c) != CONNECTION_OK)
        rc = ea_err_set(err, EA_ERR_UNAVAILABLE, "could not %s: database unavailable", what);
    else if (strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0)
        rc = ea_err_set(err, EA_ERR_UNAVAILABLE,
                        "could not %s: metric names are busy (a worker batch or another change "
                        "holds them); try again",
                        what);
    else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
        rc = ea_err_set(err, EA_ERR_UNAVAILABLE, "could not %s: a concurrent change; try again",
                        what);
    else
        rc = ea_err_set(err, EA_ERR_DB, "could not %s: database error", what);
    if (err != NULL) {
        snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state);
        snprintf(err->detail, sizeof(err->detail), "%s", primary);
    }
    return rc;
}

PGresult *cat_query(PGconn *c, const char *what, const char *sql, int n, const char *const *params,
                    ExecStatusType expect, struct ea_err *err)
{
    PGresult *res = c != NULL ? PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0) : NULL;
    if (res != NULL && PQresultStatus(res) == expect)
        return res;
    db_fail(c, res, what, err);
    PQclear(res);
    return NULL;
}

ea_rc cat_json_parse(const char *text, const char *what, json_t **out, struct ea_err *err)
{
    json_error_t je;
    *out = json_loads(text, JSON_DECODE_ANY, &je);
    if (*out == NULL) {
        ea_err_set(err, EA_ERR_DB, "could not %s: database error", what);
        if (err != NULL)
            snprintf(err->detail, sizeof(err->detail), "unreadable JSON from the database: %s",
                     je.text);
        return EA_ERR_DB;
    }
    return EA_OK;
}

ea_rc cat_query_json(PGconn *c, const char *what, const char *sql, int n, const char *const *params,
                     json_t **out, struct ea_err *err)
{
    *out = NULL;
    PGresult *res = cat_query(c, what, sql, n, params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err != NULL ? err->code : EA_ERR_DB;
    ea_rc rc = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)
                   ? cat_json_parse(PQgetvalue(res, 0, 0), what, out, err)
                   : ea_err_set(err, EA_ERR_DB, "could not %s: database error", what);
    PQclear(res);
    return rc;
}

ea_rc cat_tx_begin(cat_tx *tx, PGconn *c, const char *what, struct ea_err *err)
{
    tx->c = c;
    tx->own = false;
    PGTransactionStatusType st = c != NULL ? PQtransactionStatus(c) : PQTRANS_UNKNOWN;
    if (st == PQTRANS_INTRANS)
        return EA_OK; /* the caller's transaction (seed): it commits or rolls back */
    if (st != PQTRANS_IDLE)
        return ea_err_set(err, st == PQTRANS_INERROR ? EA_ERR_DB : EA_ERR_UNAVAILABLE,
                          "could not %s: %s", what,
                          st == PQTRANS_INERROR ? "database error" : "database unavailable");
    PGresult *res = cat_query(c, what, "BEGIN", 0, NULL, PGRES_COMMAND_OK, err);
    if (res == NULL)
        return err != NULL ? err->code : EA_ERR_DB;
    PQclear(res);
    tx->own = true;
    return EA_OK;
}

ea_rc cat_tx_end(cat_tx *tx, ea_rc rc, const char *what, struct ea_err *err)
{
    if (!tx->own)
        return rc;
    tx->own = false;
    if (rc != EA_OK) {
        PGresult *res = PQexec(tx->c, "ROLLBACK");
        PQclear(res); /* its own failure does not matter: the first error does */
        return rc;
    }
    PGresult *res = cat_query(tx->c, what, "COMMIT", 0, NULL, PGRES_COMMAND_OK, err);
    if (res == NULL)
        return err != NULL ? err->code : EA_ERR_DB;
    PQclear(res);
    return EA_OK;
}

ea_rc cat_names_lock(PGconn *c, const char *what, struct ea_err *err)
{
    /* A worker batch holds the lock shared for its whole transaction (tens to hundreds of ms);
     * past 5 s something is wrong, and the caller (maybe an event loop) should not wait on. */
    PGresult *res = cat_query(c, what,
                              "SELECT set_config('lock_timeout', '5s', true), "
                              "pg_advisory_xact_lock(" EA_CATALOG_NAMES_LOCK_KEY ")",
                              0, NULL, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err != NULL ? err->code : EA_ERR_DB;
    PQclear(res);
    return EA_OK;
}

char *ea_catalog_changes_message(const char *tenant, const json_t *changed)
{
    if (json_array_size(changed) == 0)
        return NULL;
    json_t *list = json_array();
    size_t i;
    const json_t *v;
    json_array_foreach(changed, i, v) json_array_append_new(list, json_pack("{s:O}", "metric", v));
    json_t *m = json_pack("{s:s,s:o}", "tenant", tenant, "changes", list);
    char *s = m != NULL ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    return s;
}
