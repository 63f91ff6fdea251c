/*
 * static.h — serves the dashboard's production build (web/dist) from graphql-api at `/`, so the
 * browser talks to /graphql and /auth on the same origin (the session cookie needs no CORS).
 * Unknown paths without a file extension get index.html (the dashboard routes in the browser).
 * Not for: anything under /graphql or /auth (their routes are registered first and win).
 */
#ifndef GQL_STATIC_H
#define GQL_STATIC_H

#include "ea_http.h"

/* Registers `/` on s, serving files below dist_dir (WEB_DIST_DIR). dist_dir is kept, not copied:
 * it must outlive the server. NULL or "" registers nothing. When dist_dir holds no index.html at
 * request time, `/` answers 404 with a hint to run `npm --prefix web run build`. */
void gql_static_register(ea_http_server *s, const char *dist_dir);

#endif
