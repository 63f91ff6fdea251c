/*
 * doccache.c — direct-mapped cache of prepared documents (see doccache.h). The slot is chosen
 * by the first bytes of the SHA-256 and the full digest is compared, so a hit is never a
 * different query. A slot holds one reference; every request that uses the document holds one
 * more until it is answered.
 */
#include "doccache.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    unsigned char md[SHA256_DIGEST_LENGTH];
    gql_doc *d;
} slot;

struct gql_doccache {
    const ea_gql_schema *schema;
    const ea_gql_limits *limits;
    size_t n;
    slot *slots;
};

gql_doccache *gql_doccache_new(const ea_gql_schema *s, const ea_gql_limits *l, size_t slots)
{
    gql_doccache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->schema = s;
    c->limits = l;
    c->n = slots > 0 ? slots : 1;
    c->slots = calloc(c->n, sizeof(slot));
    if (c->slots == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

void gql_doc_release(gql_doc *d)
{
    if (d == NULL || --d->refs > 0)
        return;
    ea_gql_document_free(d->doc);
    free(d);
}

void gql_doccache_free(gql_doccache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        gql_doc_release(c->slots[i].d);
    free(c->slots);
    free(c);
}

gql_doc *gql_doccache_get(gql_doccache *c, const char *query, size_t len, json_t **errors)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)query, len, md);
    size_t h;
    memcpy(&h, md, sizeof(h));
    slot *s = &c->slots[h % c->n];
    if (s->d != NULL && memcmp(s->md, md, sizeof(md)) == 0) {
        s->d->refs++;
        return s->d;
    }
    ea_gql_document *doc = ea_gql_prepare(c->schema, query, len, c->limits, errors);
    if (doc == NULL)
        return NULL;
    gql_doc *d = malloc(sizeof(*d));
    if (d == NULL) {
        ea_gql_document_free(doc);
        *errors = json_pack("[{s:s,s:{s:s}}]", "message", "out of memory", "extensions", "code",
                            "INTERNAL_SERVER_ERROR");
        return NULL;
    }
    d->doc = doc;
    d->refs = 2; /* the slot's and the caller's */
    gql_doc_release(s->d);
    memcpy(s->md, md, sizeof(md));
    s->d = d;
    return d;
}
