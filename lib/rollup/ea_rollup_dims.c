/*
 * ea_rollup_dims.c — canonical dimension keys and the cardinality cap.
 *
 * Why a canonical text: rows are aggregated in memory before one upsert per row, and PostgreSQL
 * refuses an INSERT .. ON CONFLICT DO UPDATE that touches the same row twice. Two events whose
 * dimensions are equal as jsonb must therefore produce byte-equal keys here: keys are sorted
 * (definitions store them sorted), numbers are canonical, strings are escaped one way.
 *
 * Why the cap is per UTC day: the same folding decision then holds for the day's hourly and
 * 15-minute rows, so hourly rows of a day still sum to the daily row, dimension by dimension.
 */
#include "ea_rollup_dims.h"
#include "ea_map.h"

#include <stdlib.h>
#include <string.h>

void ea_rollup_dims_value_json(ea_buf *b, const json_t *v)
{
    switch (v == NULL ? JSON_NULL : json_typeof(v)) {
    case JSON_STRING:
        ea_buf_json_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        ea_buf_printf(b, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        ea_pg_buf_json_number(b, json_real_value(v));
        break;
    case JSON_TRUE:
        ea_buf_puts(b, "true");
        break;
    case JSON_FALSE:
        ea_buf_puts(b, "false");
        break;
    case JSON_OBJECT:
    case JSON_ARRAY: {
        char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        if (s == NULL) {
            ea_buf_fail(b, EA_BUF_NOMEM);
            return;
        }
        ea_buf_json_string(b, s, strlen(s));
        free(s);
        break;
    }
    default:
        ea_buf_puts(b, "null");
    }
}

bool ea_rollup_dims_build(ea_buf *b, const ea_rollup_def *d, const char *const *vals,
                          const uint32_t *lens, ea_rollup_caps *caps, int64_t day_ms)
{
    ea_buf_putc(b, '{');
    for (size_t i = 0; i < d->ndims; i++) {
        if (i > 0)
            ea_buf_putc(b, ',');
        ea_buf_json_string(b, d->dims[i], strlen(d->dims[i]));
        ea_buf_putc(b, ':');
        if (vals[i] == NULL)
            ea_buf_puts(b, "null"); /* missing or null: never capped */
        else if (caps == NULL || ea_rollup_caps_admit(caps, d->tenant, d->name, day_ms, d->dims[i],
                                                      vals[i], lens[i], d->cap))
            ea_buf_append(b, vals[i], lens[i]);
        else
            ea_buf_json_string(b, EA_ROLLUP_DIMS_OTHER, strlen(EA_ROLLUP_DIMS_OTHER));
    }
    ea_buf_putc(b, '}');
    return ea_buf_ok(b);
}

/* ---- cardinality cap ---- */

struct capdim {
    int64_t day;
    const char *tenant, *metric, *dim; /* in a */
    ea_arena *a;                       /* value keys */
    ea_map values;
    size_t staged;
};

struct staged {
    struct capdim *d;
    const char *v;
    size_t len;
};

struct ea_rollup_caps {
    ea_arena *keys;    /* keys of dims */
    ea_map dims;       /* tenant\0metric\0day\0dim -> capdim* */
    ea_arena *batch;   /* staged keys */
    ea_map staged_set; /* capdim ptr + value -> (void *)1 */
    struct staged *st;
    size_t nst, capst;
};

ea_rollup_caps *ea_rollup_caps_new(void)
{
    ea_rollup_caps *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->keys = ea_arena_new(65536);
    c->batch = ea_arena_new(65536);
    if (c->keys == NULL || c->batch == NULL) {
        ea_rollup_caps_free(c);
        return NULL;
    }
    return c;
}

static void capdim_free(struct capdim *d)
{
    ea_map_free(&d->values);
    ea_arena_free(d->a);
    free(d);
}

void ea_rollup_caps_free(ea_rollup_caps *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->dims.cap; i++)
        if (c->dims.slots[i].key != NULL)
            capdim_free(c->dims.slots[i].value);
    ea_map_free(&c->dims);
    ea_map_free(&c->staged_set);
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

static struct capdim *get_dim(ea_rollup_caps *c, const char *tenant, const char *metric,
                              int64_t day, const char *dim)
{
    char key[1024];
    bool ins;
    size_t kl = make_key(key, sizeof(key), tenant, metric, day, dim);
    void **slot = kl > 0 ? ea_map_upsert(&c->dims, key, kl, c->keys, &ins) : NULL;
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

/* The staged-set key of value in dimension d (the capdim's address, then the value): in buf
 * when it fits, else in *heap (malloc'd, the caller frees it). NULL when out of memory. A long
 * value must be staged like any other: admitting it without counting it let every value over
 * ~1 KB past the cap (one rollup row per distinct value, per table). */
static const char *staged_key(const struct capdim *d, const char *value, size_t len, char *buf,
                              size_t cap, char **heap)
{
    *heap = NULL;
    char *k = buf;
    if (len + sizeof(d) > cap && (k = *heap = malloc(len + sizeof(d))) == NULL)
        return NULL;
    memcpy(k, &d, sizeof(d));
    memcpy(k + sizeof(d), value, len);
    return k;
}

bool ea_rollup_caps_admit(ea_rollup_caps *c, const char *tenant, const char *metric, int64_t day_ms,
                          const char *dim, const char *value, size_t len, long cap)
{
    struct capdim *d = get_dim(c, tenant, metric, day_ms, dim);
    if (d == NULL)
        return true; /* out of memory: counting beats capping */
    if (ea_map_get(&d->values, value, len) != NULL)
        return true;
    char buf[1024], *heap;
    const char *key = staged_key(d, value, len, buf, sizeof(buf), &heap);
    if (key == NULL)
        return true;
    bool staged = ea_map_get(&c->staged_set, key, sizeof(d) + len) != NULL;
    if (staged || d->values.n + d->staged >= (size_t)cap) {
        free(heap);
        return staged;
    }
    bool ins;
    void **slot = ea_map_upsert(&c->staged_set, key, sizeof(d) + len, c->batch, &ins);
    free(heap); /* the map keeps its own copy of the key (in c->batch) */
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

bool ea_rollup_caps_seed(ea_rollup_caps *c, const char *tenant, const char *metric, int64_t day_ms,
                         const char *dim, const char *value, size_t len)
{
    struct capdim *d = get_dim(c, tenant, metric, day_ms, dim);
    bool ins;
    void **slot = d != NULL ? ea_map_upsert(&d->values, value, len, d->a, &ins) : NULL;
    if (slot == NULL)
        return false;
    *slot = (void *)1;
    return true;
}

ea_rollup_cap_state ea_rollup_caps_state(ea_rollup_caps *c, const char *tenant, const char *metric,
                                         int64_t day_ms, const char *dim, const char *value,
                                         size_t len, long cap)
{
    struct capdim *d = get_dim(c, tenant, metric, day_ms, dim);
    if (d == NULL)
        return EA_ROLLUP_CAP_KNOWN; /* out of memory: admit_ would admit too */
    if (ea_map_get(&d->values, value, len) != NULL)
        return EA_ROLLUP_CAP_KNOWN;
    char buf[1024], *heap;
    const char *key = staged_key(d, value, len, buf, sizeof(buf), &heap);
    bool staged = key != NULL && ea_map_get(&c->staged_set, key, sizeof(d) + len) != NULL;
    free(heap);
    if (staged)
        return EA_ROLLUP_CAP_KNOWN;
    return d->values.n + d->staged >= (size_t)cap ? EA_ROLLUP_CAP_FULL : EA_ROLLUP_CAP_UNKNOWN;
}

size_t ea_rollup_caps_staged_count(const ea_rollup_caps *c)
{
    return c->nst;
}

void ea_rollup_caps_staged_get(const ea_rollup_caps *c, size_t i, const char **tenant,
                               const char **metric, int64_t *day_ms, const char **dim,
                               const char **value, size_t *len)
{
    const struct staged *s = &c->st[i];
    *tenant = s->d->tenant;
    *metric = s->d->metric;
    *day_ms = s->d->day;
    *dim = s->d->dim;
    *value = s->v;
    *len = s->len;
}

static void staged_clear(ea_rollup_caps *c)
{
    c->nst = 0;
    ea_map_clear(&c->staged_set);
    ea_arena_reset(c->batch);
}

void ea_rollup_caps_commit(ea_rollup_caps *c)
{
    for (size_t i = 0; i < c->nst; i++) {
        struct staged *s = &c->st[i];
        bool ins;
        void **slot = ea_map_upsert(&s->d->values, s->v, s->len, s->d->a, &ins);
        if (slot != NULL)
            *slot = (void *)1;
        s->d->staged = 0;
    }
    staged_clear(c);
}

void ea_rollup_caps_rollback(ea_rollup_caps *c)
{
    for (size_t i = 0; i < c->nst; i++)
        c->st[i].d->staged = 0;
    staged_clear(c);
}

void ea_rollup_caps_expire(ea_rollup_caps *c, int64_t before_ms)
{
    /* only between batches (nothing staged): rebuild both maps without the old days */
    if (c->nst != 0)
        return;
    ea_arena *keys = ea_arena_new(65536);
    if (keys == NULL)
        return;
    ea_map dims = {0};
    bool ok = true, ins;
    for (size_t i = 0; i < c->dims.cap && ok; i++) {
        struct ea_map_slot *s = &c->dims.slots[i];
        if (s->key == NULL || s->value == NULL)
            continue;
        struct capdim *d = s->value;
        if (d->day < before_ms)
            continue;
        void **slot = ea_map_upsert(&dims, s->key, s->klen, keys, &ins);
        ok = slot != NULL;
        if (ok)
            *slot = d;
    }
    if (!ok) {
        ea_map_free(&dims);
        ea_arena_free(keys);
        return;
    }
    for (size_t i = 0; i < c->dims.cap; i++) {
        struct ea_map_slot *s = &c->dims.slots[i];
        if (s->key != NULL && s->value != NULL && ((struct capdim *)s->value)->day < before_ms)
            capdim_free(s->value);
    }
    ea_map_free(&c->dims);
    ea_arena_free(c->keys);
    c->dims = dims;
    c->keys = keys;
}
