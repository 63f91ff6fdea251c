/*
 * respcache.h — whole answers of repeated metrics queries, in process memory: the bytes sent,
 * keyed by SHA-256 of (query text, operation name, variables, media type), next to the tenant and
 * metric of every field and the bcache generation read before any of them was. A repeat is
 * answered on the loop with no parsing, execution or serialization, only while bcache says none
 * of those metrics changed since (gql_bcache_unchanged: the change feed) and the caller may still
 * read every tenant in it — checked on each hit. Size-bounded (least recently used first).
 * Loop thread only. Not for: answers with errors, or with any field that is not `metrics`.
 */
#ifndef GQL_RESPCACHE_H
#define GQL_RESPCACHE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GQL_RESP_KEY_LEN 32

typedef struct gql_respcache gql_respcache;

gql_respcache *gql_respcache_new(size_t max_bytes);
void gql_respcache_free(gql_respcache *c);

/* The key of a request. vars may be NULL. */
void gql_respcache_key(const char *query, const char *op_name, const json_t *vars, int media,
                       unsigned char key[GQL_RESP_KEY_LEN]);

typedef struct gql_resp_dep {
    char tenant[64];
    char metric[320];
} gql_resp_dep;

typedef struct gql_resp_entry {
    const char *body; /* the answer without its closing '}' (extensions are added when sent) */
    size_t len;
    const char *ext; /* the extensions object of a hit */
    size_t ext_len;
    const gql_resp_dep *deps;
    int ndeps;
    uint64_t gen;
} gql_resp_entry;

/* The entry for key (valid until the next call into the cache), or NULL. */
const gql_resp_entry *gql_respcache_get(gql_respcache *c,
                                        const unsigned char key[GQL_RESP_KEY_LEN]);

/* Forgets key (a hit that failed its checks). */
void gql_respcache_drop(gql_respcache *c, const unsigned char key[GQL_RESP_KEY_LEN]);

/* Stores an answer (body: a JSON object's text without extensions), copied. */
void gql_respcache_put(gql_respcache *c, const unsigned char key[GQL_RESP_KEY_LEN],
                       const char *body, size_t len, const char *ext, const gql_resp_dep *deps,
                       int ndeps, uint64_t gen);

#endif
