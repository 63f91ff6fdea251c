/*
 * common.c — what every analytics-admin command shares: connecting, reporting errors the same
 * way, printing result tables and the partition maintenance pass.
 */
#include "admin.h"

#include "ea_pg.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

PGconn *adm_connect(const struct adm_cfg *cfg)
{
    struct ea_err err = {0};
    PGconn *c = ea_pg_connect(cfg->database_url, &err);
    if (c == NULL) {
        adm_fail(&err);
        return NULL;
    }
    /* NOTICEs ("relation already exists, skipping") are noise for an operator; times are
     * printed in UTC whatever the server's TimeZone. */
    if (ea_pg_exec(c, "SET client_min_messages = warning; SET TimeZone = 'UTC'", &err) != EA_OK) {
        adm_fail(&err);
        PQfinish(c);
        return NULL;
    }
    return c;
}

int adm_fail(const struct ea_err *err)
{
    fprintf(stderr, "%s\n", err->message[0] != '\0' ? err->message : "could not complete");
    if (err->detail[0] != '\0')
        fprintf(stderr, "detail: %s\n", err->detail);
    if (err->hint[0] != '\0')
        fprintf(stderr, "hint: %s\n", err->hint);
    return ADM_EXIT_FAIL;
}

/* Replaces ea_pg's generic "could not run query" with what the command was doing. */
static void reword(struct ea_err *err, const char *what)
{
    const char *generic = "could not run query: ";
    const char *generic2 = "could not run statement: ";
    const char *reason = NULL;
    if (strncmp(err->message, generic, strlen(generic)) == 0)
        reason = err->message + strlen(generic);
    else if (strncmp(err->message, generic2, strlen(generic2)) == 0)
        reason = err->message + strlen(generic2);
    if (reason == NULL || what == NULL)
        return;
    char buf[sizeof(err->message)];
    snprintf(buf, sizeof(buf), "could not %s: %s", what, reason);
    memcpy(err->message, buf, sizeof(buf));
}

PGresult *adm_query(PGconn *c, const char *what, const char *sql, int nparams,
                    const char *const *params, ExecStatusType expect, struct ea_err *err)
{
    PGresult *res = ea_pg_query(c, sql, nparams, params, expect, err);
    if (res == NULL)
        reword(err, what);
    return res;
}

ea_rc adm_exec(PGconn *c, const char *sql, struct ea_err *err)
{
    return ea_pg_exec(c, sql, err);
}

void adm_rollback(PGconn *c)
{
    PGresult *res = PQexec(c, "ROLLBACK");
    PQclear(res);
}

void adm_print_table(const PGresult *res, FILE *out)
{
    int nf = PQnfields(res), nt = PQntuples(res);
    size_t *w = calloc((size_t)(nf > 0 ? nf : 1), sizeof(*w));
    if (w == NULL)
        return;
    for (int f = 0; f < nf; f++) {
        w[f] = strlen(PQfname(res, f));
        for (int t = 0; t < nt; t++) {
            size_t l = PQgetisnull(res, t, f) ? 1 : (size_t)PQgetlength(res, t, f);
            if (l > w[f])
                w[f] = l;
        }
    }
    for (int f = 0; f < nf; f++)
        fprintf(out, "%-*s%s", f + 1 < nf ? (int)w[f] : 0, PQfname(res, f),
                f + 1 < nf ? "  " : "\n");
    for (int t = 0; t < nt; t++)
        for (int f = 0; f < nf; f++)
            fprintf(out, "%-*s%s", f + 1 < nf ? (int)w[f] : 0,
                    PQgetisnull(res, t, f) ? "-" : PQgetvalue(res, t, f), f + 1 < nf ? "  " : "\n");
    free(w);
}

ea_rc adm_partitions_maintain(PGconn *c, long *created, struct ea_err *err)
{
    const char *params[] = {ADM_LOCK_PARTITIONS};
    PGresult *res = NULL;
    ea_rc rc = adm_exec(c, "BEGIN", err);
    if (rc != EA_OK)
        return rc;
    res = adm_query(c, "lock partition maintenance", "SELECT pg_advisory_xact_lock($1::bigint)", 1,
                    params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        goto fail;
    PQclear(res);
    res = adm_query(c, "maintain partitions", "SELECT ea_partitions_maintain()", 0, NULL,
                    PGRES_TUPLES_OK, err);
    if (res == NULL)
        goto fail;
    *created = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return adm_exec(c, "COMMIT", err);
fail:
    rc = err->code;
    adm_rollback(c);
    return rc;
}
