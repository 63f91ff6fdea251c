/*
 * login.h — the browser sign-in routes of graphql-api: GET /auth/login, GET /auth/callback and
 * GET|POST /auth/logout (SPEC §6), the OIDC authorization code flow with PKCE, state and nonce.
 * Calls to the issuer run on one worker thread of this module (login.c explains why); everything
 * else runs on the event loop. Not for: authenticating API requests (auth.c, session.c).
 */
#ifndef GQL_LOGIN_H
#define GQL_LOGIN_H

#include "app.h"
#include "ea_http.h"

/* Registers the /auth/ routes on s and, when OIDC_CLIENT_ID is set, starts the worker thread.
 * EA_ERR_INVALID with a message when the login settings cannot work (SESSION_SECRET shorter
 * than 32 bytes, an issuer that is neither https nor loopback http). Sets app->login. */
ea_rc gql_login_start(ea_http_server *s, gql_app *app, struct ea_err *err) EA_WUR;

/* Stops the worker thread and frees the module; call once the loop no longer runs requests,
 * before ea_http_server_free. Safe when gql_login_start was not called or failed. */
void gql_login_stop(ea_http_server *s, gql_app *app);

#endif
