/*
 * ea_pg.h — thin helpers over libpq: connect with a clear error, turn a PGresult into an
 * ea_err (SQLSTATE, message, detail, hint), run a command. Statements are always parameterized
 * (PQexecParams/PQexecPrepared); nothing here builds SQL from values.
 */
#ifndef EA_PG_H
#define EA_PG_H

#include "ea_err.h"

#include <libpq-fe.h>

/* Connects to url (a libpq URI or conninfo). NULL on failure with err filled. The caller owns
 * the connection (PQfinish). */
PGconn *ea_pg_connect(const char *url, struct ea_err *err);

/* Checks that res has status `expect`. On mismatch fills err (code EA_ERR_DB, SQLSTATE,
 * "could not <what>: <primary message>") and returns EA_ERR_DB. Never frees res. */
ea_rc ea_pg_result_check(const PGresult *res, ExecStatusType expect, const char *what,
                         struct ea_err *err) EA_WUR;

/* Runs a parameterless command (BEGIN, COMMIT, SET ...) and checks PGRES_COMMAND_OK or
 * PGRES_TUPLES_OK. */
ea_rc ea_pg_exec(PGconn *c, const char *sql, struct ea_err *err) EA_WUR;

/* Runs a parameterized statement; returns the result (caller PQclear()s) when its status is
 * `expect`, else NULL with err filled. */
PGresult *ea_pg_query(PGconn *c, const char *sql, int nparams, const char *const *params,
                      ExecStatusType expect, struct ea_err *err);

/* True when the connection is broken and must be reset (PQstatus != CONNECTION_OK). */
int ea_pg_is_broken(const PGconn *c);

/* COPY ... FROM STDIN of data[0..len) (already in the statement's format), blocking; `what`
 * names the data in errors ("could not <what>: ..."). */
ea_rc ea_pg_copy_in(PGconn *c, const char *sql, const char *data, size_t len, const char *what,
                    struct ea_err *err) EA_WUR;

/* The same in three steps, so the caller can work while PostgreSQL inserts: ea_pg_copy_start
 * switches the connection to non-blocking mode and queues the n chunks and the end of data;
 * ea_pg_copy_pump sends what the socket takes (call it now and then, errors surface later);
 * ea_pg_copy_finish sends the rest, collects the outcome and restores blocking mode. After a
 * failure in start or finish the connection's state is unknown: the caller drops it. */
ea_rc ea_pg_copy_start(PGconn *c, const char *sql, const char *const *chunks, const size_t *lens,
                       int n, const char *what, struct ea_err *err) EA_WUR;
void ea_pg_copy_pump(PGconn *c);
ea_rc ea_pg_copy_finish(PGconn *c, const char *what, struct ea_err *err) EA_WUR;

/* The DATABASE_URL entry of a config table (lib/config) for a struct `type` whose member `field`
 * is a const char *: one home for its name, default (the local stack) and help; `use` says what
 * the program needs PostgreSQL for. */
/* clang-format off */
#define EA_PG_CONFIG_ENTRY(type, field, use)                                                       \
    {"DATABASE_URL", EA_CFG_STR, "postgresql://analytics@127.0.0.1:55432/analytics", 0, 0,         \
     offsetof(type, field), "PostgreSQL connection URI (" use ")"}
/* clang-format on */

#endif
