/*
 * metricdefs.c — loading and indexing metric definitions. A snapshot owns one arena holding
 * every string and def, and two maps: "tenant\0event" -> list of defs, "tenant\0name" -> def.
 */
#include "metricdefs.h"
#include "ea_arena.h"
#include "ea_catalog.h"
#include "ea_pg.h"
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

struct def_list {
    const wk_metric_def **items;
    size_t n, cap;
};

struct wk_defs {
    ea_arena *arena;
    wk_map by_event; /* -> struct def_list* */
    wk_map by_name;  /* -> wk_metric_def* */
    size_t count;
};

/* The aggregations are lib/catalog's one list; the worker's enum is the same sequence. */
_Static_assert(WK_AGG_COUNT == (int)EA_CATALOG_AGG_COUNT && WK_AGG_SUM == (int)EA_CATALOG_AGG_SUM &&
                   WK_AGG_MIN == (int)EA_CATALOG_AGG_MIN && WK_AGG_MAX == (int)EA_CATALOG_AGG_MAX &&
                   WK_AGG_AVG == (int)EA_CATALOG_AGG_AVG &&
                   WK_AGG_UNIQUE == (int)EA_CATALOG_AGG_UNIQUE && EA_CATALOG_AGG_N == 6,
               "wk_aggregation mirrors ea_catalog_agg");

int wk_aggregation_parse(const char *s)
{
    return ea_catalog_agg_parse(s);
}

wk_defs *wk_defs_new(void)
{
    wk_defs *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->arena = ea_arena_new(16384);
    if (s->arena == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

void wk_defs_free(wk_defs *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->by_event.cap; i++)
        if (s->by_event.slots[i].key != NULL)
            free(((struct def_list *)s->by_event.slots[i].value)->items);
    wk_map_free(&s->by_event);
    wk_map_free(&s->by_name);
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

ea_rc wk_defs_add(wk_defs *s, const wk_metric_def *d, struct ea_err *err)
{
    if ((int)d->agg < 0 || d->agg > WK_AGG_UNIQUE)
        return ea_err_set(err, EA_ERR_INVALID, "invalid metric %s: unknown aggregation", d->name);
    if (d->agg != WK_AGG_COUNT && (d->property == NULL || d->property[0] == '\0'))
        return ea_err_set(err, EA_ERR_INVALID, "invalid metric %s: no property", d->name);
    if (d->ndims > WK_MAX_DIMS)
        return ea_err_set(err, EA_ERR_INVALID, "invalid metric %s: more than %d dimensions",
                          d->name, WK_MAX_DIMS);
    wk_metric_def *c = ea_arena_calloc(s->arena, sizeof(*c));
    if (c == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
    c->tenant = ea_arena_strndup(s->arena, d->tenant, strlen(d->tenant));
    c->name = ea_arena_strndup(s->arena, d->name, strlen(d->name));
    c->event_name = ea_arena_strndup(s->arena, d->event_name, strlen(d->event_name));
    c->property = d->property != NULL && d->agg != WK_AGG_COUNT
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
    void **slot = kl > 0 ? wk_map_upsert(&s->by_name, key, kl, s->arena, &ins) : NULL;
    if (slot == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "out of memory or name too long");
    if (!ins)
        return ea_err_set(err, EA_ERR_INVALID, "duplicate metric %s/%s", c->tenant, c->name);
    *slot = c;

    kl = pair_key(key, sizeof(key), c->tenant, c->event_name);
    slot = kl > 0 ? wk_map_upsert(&s->by_event, key, kl, s->arena, &ins) : NULL;
    if (slot == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "out of memory or name too long");
    if (ins) {
        *slot = ea_arena_calloc(s->arena, sizeof(struct def_list));
        if (*slot == NULL)
            return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
    }
    struct def_list *l = *slot;
    if (l->n == l->cap) {
        size_t ncap = l->cap == 0 ? 4 : l->cap * 2;
        const wk_metric_def **ni = realloc(l->items, ncap * sizeof(*ni));
        if (ni == NULL)
            return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
        l->items = ni;
        l->cap = ncap;
    }
    l->items[l->n++] = c;
    s->count++;
    return EA_OK;
}

/* Parses a PostgreSQL text[] output like {a,"b c"} into dims (at most WK_MAX_DIMS). */
static ea_rc parse_text_array(const char *s, char *store, size_t cap, const char **out, size_t *n,
                              struct ea_err *err)
{
    size_t pos = 0;
    *n = 0;
    if (*s != '{')
        return ea_err_set(err, EA_ERR_INVALID, "could not parse dimensions array %s", s);
    s++;
    while (*s != '}' && *s != '\0') {
        if (*n == WK_MAX_DIMS)
            return ea_err_set(err, EA_ERR_INVALID, "more than %d dimensions", WK_MAX_DIMS);
        out[(*n)++] = store + pos;
        if (*s == '"') {
            s++;
            while (*s != '"' && *s != '\0') {
                if (*s == '\\' && s[1] != '\0')
                    s++;
                if (pos + 2 >= cap)
                    return ea_err_set(err, EA_ERR_LIMIT, "dimension names too long");
                store[pos++] = *s++;
            }
            if (*s == '"')
                s++;
        } else {
            while (*s != ',' && *s != '}' && *s != '\0') {
                if (pos + 2 >= cap)
                    return ea_err_set(err, EA_ERR_LIMIT, "dimension names too long");
                store[pos++] = *s++;
            }
        }
        store[pos++] = '\0';
        if (*s == ',')
            s++;
    }
    return EA_OK;
}

wk_defs *wk_defs_load(PGconn *c, struct ea_err *err)
{
    PGresult *res = ea_pg_query(c,
                                "SELECT tenant_id, name, event_name, aggregation, property, "
                                "dimensions, cardinality_cap FROM metric_definitions",
                                0, NULL, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return NULL;
    wk_defs *s = wk_defs_new();
    if (s == NULL) {
        PQclear(res);
        ea_err_set(err, EA_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        wk_metric_def d = {0};
        char store[4096];
        d.tenant = PQgetvalue(res, i, 0);
        d.name = PQgetvalue(res, i, 1);
        d.event_name = PQgetvalue(res, i, 2);
        int agg = wk_aggregation_parse(PQgetvalue(res, i, 3));
        d.agg = agg < 0 ? WK_AGG_COUNT : (wk_aggregation)agg;
        d.property = PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4);
        d.cap = strtol(PQgetvalue(res, i, 6), NULL, 10);
        if (agg < 0 ||
            parse_text_array(PQgetvalue(res, i, 5), store, sizeof(store), d.dims, &d.ndims, err) !=
                EA_OK ||
            wk_defs_add(s, &d, err) != EA_OK) {
            /* one broken definition must not stop counting for everyone: skip it loudly */
            ea_err_clear(err);
            continue;
        }
    }
    PQclear(res);
    return s;
}

const wk_metric_def *const *wk_defs_for_event(const wk_defs *s, const char *tenant,
                                              const char *event, size_t *n)
{
    char key[1024];
    *n = 0;
    size_t kl = pair_key(key, sizeof(key), tenant, event);
    struct def_list *l = kl > 0 ? wk_map_get(&s->by_event, key, kl) : NULL;
    if (l == NULL)
        return NULL;
    *n = l->n;
    return l->items;
}

ea_rc wk_defs_count_name(const wk_defs *s, const char *tenant, const char *event, ea_arena *a,
                         const char **out)
{
    char key[1024];
    size_t len = strlen(event), bl = ea_catalog_event_base_len(event, len), tl = strlen(tenant);
    *out = event;
    if (tl + 1 + bl > sizeof(key))
        return EA_OK; /* longer than any definition's name */
    memcpy(key, tenant, tl + 1);
    memcpy(key + tl + 1, event, bl);
    const wk_metric_def *d = wk_map_get(&s->by_name, key, tl + 1 + bl);
    bool counts_base = d != NULL && d->agg == WK_AGG_COUNT && strlen(d->event_name) == bl &&
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

size_t wk_defs_count(const wk_defs *s)
{
    return s->count;
}
