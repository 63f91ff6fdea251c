/*
 * app.h — graphql-api's process state (config, schema, database connection, key verifier)
 * and the per-request context every resolver receives.
 */
#ifndef GQL_APP_H
#define GQL_APP_H

#include "ea_gql.h"
#include "ea_keyauth.h"
#include "gql_config.h"

#include <libpq-fe.h>

typedef struct gql_app {
    const gql_config *cfg;
    ea_gql_schema *schema;
    ea_gql_limits limits;
    ea_keyauth *auth;
    const char *database_url;
    PGconn *db; /* one connection: the process runs one loop thread */
} gql_app;

typedef struct gql_request_ctx {
    gql_app *app;
    ea_principal who; /* the authenticated caller */
} gql_request_ctx;

/* The database connection, reconnecting if it broke. NULL when PostgreSQL is unreachable. */
PGconn *gql_app_db(gql_app *app);

#endif
