/*
 * ea_pg.c — libpq helpers shared by the worker, graphql-api, ingest-api (key lookups) and the
 * admin CLI. Keeps error extraction in one place so every SQL failure is reported the same way.
 */
#include "ea_pg.h"

#include <limits.h>
#include <stdbool.h>
#include <poll.h>
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

ea_rc ea_pg_copy_in(PGconn *c, const char *sql, const char *data, size_t len, const char *what,
                    struct ea_err *err)
{
    if (len > INT_MAX)
        return ea_err_set(err, EA_ERR_LIMIT, "could not %s: %zu bytes in one COPY", what, len);
    PGresult *res = PQexec(c, sql);
    ea_rc rc = ea_pg_result_check(res, PGRES_COPY_IN, what, err);
    PQclear(res);
    if (rc != EA_OK)
        return rc;
    if (PQputCopyData(c, data, (int)len) != 1 || PQputCopyEnd(c, NULL) != 1)
        return ea_err_set(err, EA_ERR_UNAVAILABLE, "could not %s: %s", what, PQerrorMessage(c));
    while ((res = PQgetResult(c)) != NULL) {
        if (rc == EA_OK)
            rc = ea_pg_result_check(res, PGRES_COMMAND_OK, what, err);
        PQclear(res);
    }
    return rc;
}

ea_rc ea_pg_copy_start(PGconn *c, const char *sql, const char *const *chunks, const size_t *lens,
                       int n, const char *what, struct ea_err *err)
{
    for (int i = 0; i < n; i++)
        if (lens[i] > INT_MAX)
            return ea_err_set(err, EA_ERR_LIMIT, "could not %s: %zu bytes in one COPY", what,
                              lens[i]);
    PGresult *res = PQexec(c, sql);
    ea_rc rc = ea_pg_result_check(res, PGRES_COPY_IN, what, err);
    PQclear(res);
    if (rc != EA_OK)
        return rc;
    bool ok = PQsetnonblocking(c, 1) == 0;
    for (int i = 0; ok && i < n; i++)
        ok = PQputCopyData(c, chunks[i], (int)lens[i]) == 1;
    if (!ok || PQputCopyEnd(c, NULL) != 1)
        return ea_err_set(err, EA_ERR_UNAVAILABLE, "could not %s: %s", what, PQerrorMessage(c));
    return EA_OK;
}

void ea_pg_copy_pump(PGconn *c)
{
    (void)PQflush(c); /* non-blocking: errors surface in ea_pg_copy_finish */
}

ea_rc ea_pg_copy_finish(PGconn *c, const char *what, struct ea_err *err)
{
    int r;
    while ((r = PQflush(c)) == 1) {
        struct pollfd p = {.fd = PQsocket(c), .events = POLLOUT | POLLIN};
        if (poll(&p, 1, 1000) > 0 && (p.revents & POLLIN) && PQconsumeInput(c) != 1)
            break;
    }
    if (r != 0 || PQsetnonblocking(c, 0) != 0)
        return ea_err_set(err, EA_ERR_UNAVAILABLE, "could not %s: %s", what, PQerrorMessage(c));
    ea_rc rc = EA_OK;
    PGresult *res;
    while ((res = PQgetResult(c)) != NULL) {
        if (rc == EA_OK)
            rc = ea_pg_result_check(res, PGRES_COMMAND_OK, what, err);
        PQclear(res);
    }
    return rc;
}
