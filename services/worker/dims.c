/*
 * dims.c — canonical dimension keys and the cardinality cap.
 *
 * Why a canonical text: rows are aggregated in memory before one upsert per row, and PostgreSQL
 * refuses an INSERT .. ON CONFLICT DO UPDATE that touches the same row twice. Two events whose
 * dimensions are equal as jsonb must therefore produce byte-equal keys here: keys are sorted
 * (definitions store them sorted), numbers are canonical, strings are escaped one way.
 *
 * Why the cap is per UTC day: the same folding decision then holds for the day's hourly and
 * 15-minute rows, so hourly rows of a day still sum to the daily row, dimension by dimension.
 */
#include "dims.h"
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

void wk_dims_value_json(ea_pg_buf *b, const json_t *v)
{
    switch (v == NULL ? JSON_NULL : json_typeof(v)) {
    case JSON_STRING:
        ea_pg_buf_json_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        ea_pg_buf_printf(b, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        ea_pg_buf_json_number(b, json_real_value(v));
        break;
    case JSON_TRUE:
        ea_pg_buf_puts(b, "true");
        break;
    case JSON_FALSE:
        ea_pg_buf_puts(b, "false");
        break;
    case JSON_OBJECT:
    case JSON_ARRAY: {
        char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        if (s == NULL) {
            b->oom = true;
            return;
        }
        ea_pg_buf_json_string(b, s, strlen(s));
        free(s);
        break;
    }
    default:
        ea_pg_buf_puts(b, "null");
    }
}

bool wk_dims_build(ea_pg_buf *b, const wk_metric_def *d, const json_t *props, wk_capset *caps,
                   int64_t day_ms)
{
    ea_pg_buf_putc(b, '{');
    for (size_t i = 0; i < d->ndims; i++) {
        if (i > 0)
            ea_pg_buf_putc(b, ',');
        ea_pg_buf_json_string(b, d->dims[i], strlen(d->dims[i]));
        ea_pg_buf_putc(b, ':');
        size_t start = b->len;
        const json_t *v = json_object_get(props, d->dims[i]);
        wk_dims_value_json(b, v);
        if (caps != NULL && !b->oom && v != NULL && !json_is_null(v) &&
            !wk_capset_admit(caps, d->tenant, d->name, day_ms, d->dims[i], b->p + start,
                             b->len - start, d->cap)) {
            b->len = start;
            ea_pg_buf_json_string(b, WK_DIMS_OTHER, strlen(WK_DIMS_OTHER));
        }
    }
    ea_pg_buf_putc(b, '}');
    return !b->oom;
}

/* ---- cardinality cap ---- */

struct capdim {
    int64_t day;
    const char *tenant, *metric, *dim; /* in a */
    ea_arena *a;                       /* value keys */
    wk_map values;
    size_t staged;
};

struct staged {
    struct capdim *d;
    const char *v;
    size_t len;
};

struct wk_capset {
    ea_arena *keys;    /* keys of dims */
    wk_map dims;       /* tenant\0metric\0day\0dim -> capdim* */
    ea_arena *batch;   /* staged keys */
    wk_map staged_set; /* capdim ptr + value -> (void *)1 */
    struct staged *st;
    size_t nst, capst;
};

wk_capset *wk_capset_new(void)
{
    wk_capset *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->keys = ea_arena_new(65536);
    c->batch = ea_arena_new(65536);
    if (c->keys == NULL || c->batch == NULL) {
        wk_capset_free(c);
        return NULL;
    }
    return c;
}

static void capdim_free(struct capdim *d)
{
    wk_map_free(&d->values);
    ea_arena_free(d->a);
    free(d);
}

void wk_capset_free(wk_capset *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->dims.cap; i++)
        if (c->dims.slots[i].key != NULL)
            capdim_free(c->dims.slots[i].value);
    wk_map_free(&c->dims);
    wk_map_free(&c->staged_set);
    ea_arena_free(c->keys);
    ea_arena_free(c->batch);
    free(c->st);
    free(c);
}

/* tenant\0metric\0<8 bytes day>\0dim into buf; 0 when it does not fit. */
static size_t make_key(char *buf, size_t cap, const char *tenant, const char *metric, int64_t day,
                       const char *dim)
{
    size_t lt = strlen(tenant), lm = strlen(metric), ld = dim != NULL ? strlen(dim) + 1 : 0;
    size_t n = lt + 1 + lm + 1 + 8 + ld;
    if (n > cap)
        return 0;
    memcpy(buf, tenant, lt + 1);
    memcpy(buf + lt + 1, metric, lm + 1);
    memcpy(buf + lt + lm + 2, &day, 8);
    if (dim != NULL) {
        buf[lt + lm + 10] = '\0';
        memcpy(buf + lt + lm + 11, dim, ld - 1);
    }
    return n;
}

static struct capdim *get_dim(wk_capset *c, const char *tenant, const char *metric, int64_t day,
                              const char *dim)
{
    char key[1024];
    bool ins;
    size_t kl = make_key(key, sizeof(key), tenant, metric, day, dim);
    void **slot = kl > 0 ? wk_map_upsert(&c->dims, key, kl, c->keys, &ins) : NULL;
    if (slot == NULL)
        return NULL;
    if (*slot == NULL) {
        struct capdim *d = calloc(1, sizeof(*d));
        if (d == NULL || (d->a = ea_arena_new(4096)) == NULL) {
            free(d); /* the entry stays NULL; the next call retries */
            return NULL;
        }
        d->day = day;
        d->tenant = ea_arena_strndup(d->a, tenant, strlen(tenant));
        d->metric = ea_arena_strndup(d->a, metric, strlen(metric));
        d->dim = ea_arena_strndup(d->a, dim, strlen(dim));
        if (d->tenant == NULL || d->metric == NULL || d->dim == NULL) {
            ea_arena_free(d->a);
            free(d);
            return NULL;
        }
        *slot = d;
    }
    (void)ins;
    return *slot;
}

bool wk_capset_admit(wk_capset *c, const char *tenant, const char *metric, int64_t day_ms,
                     const char *dim, const char *value, size_t len, long cap)
{
    struct capdim *d = get_dim(c, tenant, metric, day_ms, dim);
    if (d == NULL)
        return true; /* out of memory: counting beats capping */
    if (wk_map_get(&d->values, value, len) != NULL)
        return true;
    char key[1024];
    if (len + sizeof(d) > sizeof(key))
        return d->values.n + d->staged < (size_t)cap; /* absurdly long value: no staging */
    memcpy(key, &d, sizeof(d));
    memcpy(key + sizeof(d), value, len);
    if (wk_map_get(&c->staged_set, key, sizeof(d) + len) != NULL)
        return true;
    if (d->values.n + d->staged >= (size_t)cap)
        return false;
    bool ins;
    void **slot = wk_map_upsert(&c->staged_set, key, sizeof(d) + len, c->batch, &ins);
    if (slot == NULL)
        return true;
    *slot = (void *)1;
    if (c->nst == c->capst) {
        size_t ncap = c->capst == 0 ? 64 : c->capst * 2;
        struct staged *ns = realloc(c->st, ncap * sizeof(*ns));
        if (ns == NULL)
            return true;
        c->st = ns;
        c->capst = ncap;
    }
    const char *v = ea_arena_strndup(c->batch, value, len);
    if (v == NULL)
        return true;
    c->st[c->nst++] = (struct staged){d, v, len};
    d->staged++;
    return true;
}

bool wk_capset_seed(wk_capset *c, const char *tenant, const char *metric, int64_t day_ms,
                    const char *dim, const char *value, size_t len)
{
    struct capdim *d = get_dim(c, tenant, metric, day_ms, dim);
    bool ins;
    void **slot = d != NULL ? wk_map_upsert(&d->values, value, len, d->a, &ins) : NULL;
    if (slot == NULL)
        return false;
    *slot = (void *)1;
    return true;
}

wk_cap_state wk_capset_state(wk_capset *c, const char *tenant, const char *metric, int64_t day_ms,
                             const char *dim, const char *value, size_t len, long cap)
{
    struct capdim *d = get_dim(c, tenant, metric, day_ms, dim);
    if (d == NULL)
        return WK_CAP_KNOWN; /* out of memory: admit_ would admit too */
    if (wk_map_get(&d->values, value, len) != NULL)
        return WK_CAP_KNOWN;
    char key[1024];
    if (len + sizeof(d) <= sizeof(key)) {
        memcpy(key, &d, sizeof(d));
        memcpy(key + sizeof(d), value, len);
        if (wk_map_get(&c->staged_set, key, sizeof(d) + len) != NULL)
            return WK_CAP_KNOWN;
    }
    return d->values.n + d->staged >= (size_t)cap ? WK_CAP_FULL : WK_CAP_UNKNOWN;
}

size_t wk_capset_staged_count(const wk_capset *c)
{
    return c->nst;
}

void wk_capset_staged_get(const wk_capset *c, size_t i, const char **tenant, const char **metric,
                          int64_t *day_ms, const char **dim, const char **value, size_t *len)
{
    const struct staged *s = &c->st[i];
    *tenant = s->d->tenant;
    *metric = s->d->metric;
    *day_ms = s->d->day;
    *dim = s->d->dim;
    *value = s->v;
    *len = s->len;
}

static void staged_clear(wk_capset *c)
{
    c->nst = 0;
    wk_map_clear(&c->staged_set);
    ea_arena_reset(c->batch);
}

void wk_capset_commit(wk_capset *c)
{
    for (size_t i = 0; i < c->nst; i++) {
        struct staged *s = &c->st[i];
        bool ins;
        void **slot = wk_map_upsert(&s->d->values, s->v, s->len, s->d->a, &ins);
        if (slot != NULL)
            *slot = (void *)1;
        s->d->staged = 0;
    }
    staged_clear(c);
}

void wk_capset_rollback(wk_capset *c)
{
    for (size_t i = 0; i < c->nst; i++)
        c->st[i].d->staged = 0;
    staged_clear(c);
}

void wk_capset_expire(wk_capset *c, int64_t before_ms)
{
    /* only between batches (nothing staged): rebuild both maps without the old days */
    if (c->nst != 0)
        return;
    ea_arena *keys = ea_arena_new(65536);
    if (keys == NULL)
        return;
    wk_map dims = {0};
    bool ok = true, ins;
    for (size_t i = 0; i < c->dims.cap && ok; i++) {
        struct wk_map_slot *s = &c->dims.slots[i];
        if (s->key == NULL || s->value == NULL)
            continue;
        struct capdim *d = s->value;
        if (d->day < before_ms)
            continue;
        void **slot = wk_map_upsert(&dims, s->key, s->klen, keys, &ins);
        ok = slot != NULL;
        if (ok)
            *slot = d;
    }
    if (!ok) {
        wk_map_free(&dims);
        ea_arena_free(keys);
        return;
    }
    for (size_t i = 0; i < c->dims.cap; i++) {
        struct wk_map_slot *s = &c->dims.slots[i];
        if (s->key != NULL && s->value != NULL && ((struct capdim *)s->value)->day < before_ms)
            capdim_free(s->value);
    }
    wk_map_free(&c->dims);
    ea_arena_free(c->keys);
    c->dims = dims;
    c->keys = keys;
}
