/*
 * doccache.h — prepared GraphQL documents by SHA-256 of the query text. A prepared document is
 * read-only (lib/graphql), so one copy serves every request with the same text; this skips
 * lexing, parsing and validation on repeated queries. Direct-mapped, fixed size: a colliding
 * query replaces the older entry. Loop thread only. Not for: subscriptions, which keep their
 * own document for their lifetime.
 */
#ifndef GQL_DOCCACHE_H
#define GQL_DOCCACHE_H

#include "ea_gql.h"

typedef struct gql_doccache gql_doccache;

/* A cache of `slots` documents prepared under schema s and limits l (both outlive it). */
gql_doccache *gql_doccache_new(const ea_gql_schema *s, const ea_gql_limits *l, size_t slots);
void gql_doccache_free(gql_doccache *c);

/* The prepared document for query (borrowed: valid until the next call), or NULL with *errors
 * set like ea_gql_prepare. Failures are not cached. */
const ea_gql_document *gql_doccache_get(gql_doccache *c, const char *query, size_t len,
                                        json_t **errors);

#endif
