/*
 * doccache.h — prepared GraphQL documents by SHA-256 of the query text. A prepared document is
 * read-only (lib/graphql), so one copy serves every request with the same text — on the loop and
 * on pool threads at once; this skips lexing, parsing and validation on repeated queries.
 * Direct-mapped, fixed size: a colliding query replaces the older entry. Entries are counted
 * references, so a document an operation still runs on a pool thread outlives its replacement.
 * The cache and the counts belong to the loop thread. Not for: subscriptions, which keep their
 * own document for their lifetime.
 */
#ifndef GQL_DOCCACHE_H
#define GQL_DOCCACHE_H

#include "ea_gql.h"

typedef struct gql_doccache gql_doccache;

/* A prepared document with its reference count (loop thread only). */
typedef struct gql_doc {
    ea_gql_document *doc;
    int refs;
} gql_doc;

/* A cache of `slots` documents prepared under schema s and limits l (both outlive it). */
gql_doccache *gql_doccache_new(const ea_gql_schema *s, const ea_gql_limits *l, size_t slots);
void gql_doccache_free(gql_doccache *c);

/* The prepared document for query with a reference for the caller (give it back with
 * gql_doc_release), or NULL with *errors set like ea_gql_prepare. Failures are not cached. */
gql_doc *gql_doccache_get(gql_doccache *c, const char *query, size_t len, json_t **errors);

/* Drops one reference; the last frees the document. NULL allowed. Loop thread. */
void gql_doc_release(gql_doc *d);

#endif
