/*
 * ea_pg.c — libpq helpers shared by the worker, graphql-api, ingest-api (key lookups) and the
 * admin CLI. Keeps error extraction in one place so every SQL failure is reported the same way.
 */
#include "ea_pg.h"

#include <stdio.h>
#include <string.h>

/* What to change for the connection failures a deployment meets (TLS to a managed server,
 * passwords); libpq's own text names the cause, this says where the fix goes. Never quotes the
 * URL: it may hold the password. */
static const char *connect_hint(const char *msg)
{
    if (strstr(msg, "password authentication failed") != NULL)
        return " (check the user and password in DATABASE_URL)";
    if (strstr(msg, "no password supplied") != NULL)
        return " (the server wants a password: put it in DATABASE_URL)";
    if (strstr(msg, "does not match host name") != NULL)
        return " (TLS: connect by a host name the server's certificate lists)";
    if (strstr(msg, "certificate verify failed") != NULL)
        return " (TLS: sslrootcert in DATABASE_URL must be the CA that signed the server's "
               "certificate)";
    if (strstr(msg, "root certificate file") != NULL)
        return " (TLS: sslmode=verify-full needs sslrootcert=<CA file>; for a public CA "
               "sslrootcert=/etc/ssl/certs/ca-certificates.crt)";
    if (strstr(msg, "no encryption") != NULL)
        return " (the server accepts TLS connections only: add sslmode=verify-full to "
               "DATABASE_URL)";
    if (strstr(msg, "server does not support SSL") != NULL)
        return " (the server has no TLS: remove sslmode or set it to disable)";
    return "";
}

PGconn *ea_pg_connect(const char *url, struct ea_err *err)
{
    PGconn *c = PQconnectdb(url);
    if (c == NULL) {
        ea_err_set(err, EA_ERR_NOMEM, "could not connect to postgresql: out of memory");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(c);
        size_t len = strcspn(msg, "\n");
        ea_err_set(err, EA_ERR_UNAVAILABLE, "could not connect to postgresql: %.*s%s", (int)len,
                   msg, connect_hint(msg));
        PQfinish(c);
        return NULL;
    }
    return c;
}

static void copy_field(char *dst, size_t cap, const PGresult *res, int field)
{
    const char *v = PQresultErrorField(res, field);
    snprintf(dst, cap, "%s", v != NULL ? v : "");
}

ea_rc ea_pg_result_check(const PGresult *res, ExecStatusType expect, const char *what,
                         struct ea_err *err)
{
    if (res != NULL && PQresultStatus(res) == expect)
        return EA_OK;
    if (err == NULL)
        return EA_ERR_DB;
    if (res == NULL)
        return ea_err_set(err, EA_ERR_UNAVAILABLE, "could not %s: no result (connection lost)",
                          what);
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    if (primary == NULL)
        primary = PQresultErrorMessage(res);
    ea_err_set(err, EA_ERR_DB, "could not %s: %s", what,
               primary != NULL && primary[0] != '\0' ? primary : PQresStatus(PQresultStatus(res)));
    copy_field(err->sqlstate, sizeof(err->sqlstate), res, PG_DIAG_SQLSTATE);
    copy_field(err->detail, sizeof(err->detail), res, PG_DIAG_MESSAGE_DETAIL);
    copy_field(err->hint, sizeof(err->hint), res, PG_DIAG_MESSAGE_HINT);
    return EA_ERR_DB;
}

ea_rc ea_pg_exec(PGconn *c, const char *sql, struct ea_err *err)
{
    PGresult *res = PQexec(c, sql);
    ea_rc rc = EA_OK;
    ExecStatusType st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = ea_pg_result_check(res, PGRES_COMMAND_OK, "run statement", err);
    PQclear(res);
    return rc;
}

PGresult *ea_pg_query(PGconn *c, const char *sql, int nparams, const char *const *params,
                      ExecStatusType expect, struct ea_err *err)
{
    PGresult *res = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
    if (ea_pg_result_check(res, expect, "run query", err) != EA_OK) {
        PQclear(res);
        return NULL;
    }
    return res;
}

int ea_pg_is_broken(const PGconn *c)
{
    return c == NULL || PQstatus(c) != CONNECTION_OK;
}
