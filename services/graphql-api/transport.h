/*
 * transport.h — GraphQL over HTTP (GraphQL-over-HTTP draft + SPEC §6 compatibility notes):
 * POST/GET /graphql, media-type negotiation, status codes, GraphiQL for browsers, health routes.
 */
#ifndef GQL_TRANSPORT_H
#define GQL_TRANSPORT_H

#include "app.h"
#include "ea_http.h"

/* Registers /graphql, /healthz, /readyz and /metrics on s. */
void gql_transport_register(ea_http_server *s, gql_app *app);

typedef enum gql_media {
    GQL_MEDIA_NONE = 0,     /* nothing acceptable: 406 */
    GQL_MEDIA_JSON,         /* application/json: every GraphQL result is HTTP 200 */
    GQL_MEDIA_GRAPHQL_JSON, /* application/graphql-response+json: request errors are 400 */
} gql_media;

/* Picks the response media type from an Accept header (NULL, empty or any-type → JSON), honouring
 * q-values; on a tie an explicitly named graphql-response+json wins. Pure, unit-tested. */
gql_media gql_negotiate(const char *accept, size_t len);

#endif
