/*
 * ea_rollup_defs.c — loading and indexing metric definitions. A snapshot owns one arena holding
 * every string and def, and two maps: "tenant\0event" -> list of defs, "tenant\0name" -> def.
 */
#include "ea_rollup_defs.h"
#include "ea_arena.h"
#include "ea_catalog.h"
#include "ea_log.h"
#include "ea_map.h"
#include "ea_pg.h"
#include "ea_pg_params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct def_list {
    const ea_rollup_def **items;
    size_t n, cap;
};

struct ea_rollup_defs {
    ea_arena *arena;
    ea_map by_event; /* -> struct def_list* */
    ea_map by_name;  /* -> ea_rollup_def* */
    size_t count;
};

ea_rollup_defs *ea_rollup_defs_new(void)
{
    ea_rollup_defs *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->arena = ea_arena_new(16384);
    if (s->arena == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

void ea_rollup_defs_free(ea_rollup_defs *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->by_event.cap; i++)
        if (s->by_event.slots[i].key != NULL)
            free(((struct def_list *)s->by_event.slots[i].value)->items);
    ea_map_free(&s->by_event);
    ea_map_free(&s->by_name);
    ea_arena_free(s->arena);
    free(s);
}

static size_t pair_key(char *buf, size_t cap, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la + lb + 1 > cap)
        return 0;
    memcpy(buf, a, la);
    buf[la] = '\0';
    memcpy(buf + la + 1, b, lb);
    return la + 1 + lb;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

ea_rc ea_rollup_defs_add(ea_rollup_defs *s, const ea_rollup_def *d, struct ea_err *err)
{
    if ((int)d->agg < 0 || d->agg > EA_CATALOG_AGG_UNIQUE)
        return ea_err_set(err, EA_ERR_INVALID, "invalid metric %s: unknown aggregation", d->name);
    if (d->agg != EA_CATALOG_AGG_COUNT && (d->property == NULL || d->property[0] == '\0'))
        return ea_err_set(err, EA_ERR_INVALID, "invalid metric %s: no property", d->name);
    if (d->ndims > EA_ROLLUP_MAX_DIMS)
        return ea_err_set(err, EA_ERR_INVALID, "invalid metric %s: more than %d dimensions",
                          d->name, EA_ROLLUP_MAX_DIMS);
    ea_rollup_def *c = ea_arena_calloc(s->arena, sizeof(*c));
    if (c == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
    c->tenant = ea_arena_strndup(s->arena, d->tenant, strlen(d->tenant));
    c->name = ea_arena_strndup(s->arena, d->name, strlen(d->name));
    c->event_name = ea_arena_strndup(s->arena, d->event_name, strlen(d->event_name));
    c->property = d->property != NULL && d->agg != EA_CATALOG_AGG_COUNT
                      ? ea_arena_strndup(s->arena, d->property, strlen(d->property))
                      : NULL;
    c->agg = d->agg;
    c->cap = d->cap > 0 ? d->cap : 1000;
    for (size_t i = 0; i < d->ndims; i++) {
        c->dims[i] = ea_arena_strndup(s->arena, d->dims[i], strlen(d->dims[i]));
        if (c->dims[i] == NULL)
            return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
    }
    qsort(c->dims, d->ndims, sizeof(c->dims[0]), cmp_str);
    for (size_t i = 0; i < d->ndims; i++)
        if (c->ndims == 0 || strcmp(c->dims[c->ndims - 1], c->dims[i]) != 0)
            c->dims[c->ndims++] = c->dims[i];
    if (c->tenant == NULL || c->name == NULL || c->event_name == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "out of memory");

    char key[1024];
    bool ins;
    size_t kl = pair_key(key, sizeof(key), c->tenant, c->name);
    void **slot = kl > 0 ? ea_map_upsert(&s->by_name, key, kl, s->arena, &ins) : NULL;
    if (slot == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "out of memory or name too long");
    if (!ins)
        return ea_err_set(err, EA_ERR_INVALID, "duplicate metric %s/%s", c->tenant, c->name);
    *slot = c;

    kl = pair_key(key, sizeof(key), c->tenant, c->event_name);
    slot = kl > 0 ? ea_map_upsert(&s->by_event, key, kl, s->arena, &ins) : NULL;
    if (slot == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "out of memory or name too long");
    if (ins) {
        *slot = ea_arena_calloc(s->arena, sizeof(struct def_list));
        if (*slot == NULL)
            return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
    }
    struct def_list *l = *slot;
    const ea_rollup_def **ni = ea_array_grow(l->items, sizeof(*ni), l->n, &l->cap, 4);
    if (ni == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
    l->items = ni;
    l->items[l->n++] = c;
    s->count++;
    return EA_OK;
}

ea_rollup_defs *ea_rollup_defs_load(PGconn *c, const char *tenant, const char *name,
                                    struct ea_err *err)
{
    const char *params[2] = {tenant, name};
    PGresult *res = ea_pg_query(c,
                                "SELECT tenant_id, name, event_name, aggregation, property, "
                                "dimensions, cardinality_cap FROM metric_definitions "
                                "WHERE ($1::text IS NULL OR tenant_id = $1) "
                                "AND ($2::text IS NULL OR name = $2)",
                                2, params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return NULL;
    ea_rollup_defs *s = ea_rollup_defs_new();
    if (s == NULL) {
        PQclear(res);
        ea_err_set(err, EA_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        ea_rollup_def d = {0};
        struct ea_err e = {0};
        d.tenant = PQgetvalue(res, i, 0);
        d.name = PQgetvalue(res, i, 1);
        d.event_name = PQgetvalue(res, i, 2);
        int agg = ea_catalog_agg_parse(PQgetvalue(res, i, 3));
        d.agg = agg < 0 ? EA_CATALOG_AGG_COUNT : (ea_catalog_agg)agg;
        d.property = PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4);
        d.cap = strtol(PQgetvalue(res, i, 6), NULL, 10);
        size_t nd = 0;
        char **dims = ea_pg_array_decode(PQgetvalue(res, i, 5), &nd, &e);
        ea_rc rc = EA_OK;
        if (agg < 0) {
            rc = ea_err_set(&e, EA_ERR_INVALID, "unknown aggregation");
        } else if (dims == NULL) {
            rc = e.code;
        } else if (nd > EA_ROLLUP_MAX_DIMS) {
            rc = ea_err_set(&e, EA_ERR_INVALID, "more than %d dimensions", EA_ROLLUP_MAX_DIMS);
        } else {
            for (size_t k = 0; k < nd && rc == EA_OK; k++) {
                if (dims[k] == NULL)
                    rc = ea_err_set(&e, EA_ERR_INVALID, "a NULL dimension");
                else
                    d.dims[d.ndims++] = dims[k];
            }
        }
        if (rc == EA_OK)
            rc = ea_rollup_defs_add(s, &d, &e);
        free(dims);
        if (rc == EA_OK)
            continue;
        if (rc == EA_ERR_NOMEM) {
            PQclear(res);
            ea_rollup_defs_free(s);
            ea_err_set(err, EA_ERR_NOMEM, "out of memory");
            return NULL;
        }
        /* one broken definition must not stop counting for everyone: skip it loudly */
        char subj[EA_LOG_SUBJECT_MAX];
        snprintf(subj, sizeof(subj), "%s/%s", d.tenant, d.name);
        ea_log_error(subj, "metric %s of tenant %s skipped: %s", d.name, d.tenant, e.message);
    }
    PQclear(res);
    return s;
}

const ea_rollup_def *const *ea_rollup_defs_for_event(const ea_rollup_defs *s, const char *tenant,
                                                     const char *event, size_t *n)
{
    char key[1024];
    *n = 0;
    size_t kl = pair_key(key, sizeof(key), tenant, event);
    struct def_list *l = kl > 0 ? ea_map_get(&s->by_event, key, kl) : NULL;
    if (l == NULL)
        return NULL;
    *n = l->n;
    return l->items;
}

int ea_rollup_defs_has_metric(const ea_rollup_defs *s, const char *tenant, const char *name)
{
    char key[1024];
    size_t kl = pair_key(key, sizeof(key), tenant, name);
    return kl > 0 && ea_map_get(&s->by_name, key, kl) != NULL;
}

ea_rc ea_rollup_defs_count_name(const ea_rollup_defs *s, const char *tenant, const char *event,
                                ea_arena *a, const char **out)
{
    char key[1024];
    size_t len = strlen(event), bl = ea_catalog_event_base_len(event, len), tl = strlen(tenant);
    *out = event;
    if (tl + 1 + bl > sizeof(key))
        return EA_OK; /* longer than any definition's name */
    memcpy(key, tenant, tl + 1);
    memcpy(key + tl + 1, event, bl);
    const ea_rollup_def *d = ea_map_get(&s->by_name, key, tl + 1 + bl);
    bool counts_base = d != NULL && d->agg == EA_CATALOG_AGG_COUNT && strlen(d->event_name) == bl &&
                       memcmp(d->event_name, event, bl) == 0;
    switch (ea_catalog_count_kind_of(len, bl, d != NULL, counts_base)) {
    case EA_CATALOG_COUNT_OWN:
        return EA_OK;
    case EA_CATALOG_COUNT_REPLACED:
        *out = NULL;
        return EA_OK;
    case EA_CATALOG_COUNT_SHADOWED:
        break;
    }
    char *n = ea_arena_alloc(a, len + EA_CATALOG_EVENT_SUFFIX_LEN + 1);
    if (n == NULL)
        return EA_ERR_NOMEM;
    memcpy(n, event, len);
    memcpy(n + len, EA_CATALOG_EVENT_SUFFIX, EA_CATALOG_EVENT_SUFFIX_LEN + 1);
    *out = n;
    return EA_OK;
}

size_t ea_rollup_defs_count(const ea_rollup_defs *s)
{
    return s->count;
}
