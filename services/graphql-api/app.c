/*
 * app.c — process-wide state helpers of graphql-api: the (re)connecting database handle.
 */
#include "app.h"
#include "ea_log.h"
#include "ea_pg.h"

#include <string.h>

PGconn *gql_app_db(gql_app *app)
{
    if (app->db != NULL && !ea_pg_is_broken(app->db))
        return app->db;
    if (app->db != NULL)
        PQfinish(app->db);
    struct ea_err err;
    app->db = ea_pg_connect(app->database_url, &err);
    if (app->db == NULL) {
        ea_log_warn("db", "%s", err.message);
        return NULL;
    }
    /* bucket times are computed and printed in UTC whatever the server's default */
    if (ea_pg_exec(app->db, "SET TIME ZONE 'UTC'", &err) != EA_OK)
        ea_log_warn("db", "%s", err.message);
    return app->db;
}

bool gql_principal_can(gql_app *app, const gql_principal *p, const char *tenant, unsigned scope)
{
    if (tenant == NULL)
        return false;
    switch (p->kind) {
    case GQL_PRINCIPAL_KEY:
        return strcmp(p->key.tenant, tenant) == 0 && (p->key.scopes & scope) == scope;
    case GQL_PRINCIPAL_USER:
        /* memberships arrive with OIDC login */
        (void)app;
        return false;
    }
    return false;
}
