/*
 * ea_arena.c — chunked bump allocator. Invariants: chunks form a singly linked list with the
 * newest first; the first chunk created is kept across resets so a steady workload does not
 * hit malloc; allocations larger than the chunk size get a chunk of their own.
 */
#include "ea_arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ea_chunk {
    struct ea_chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

struct ea_arena {
    struct ea_chunk *head;
    size_t chunk_size, total;
};

static struct ea_chunk *chunk_new(size_t size)
{
    struct ea_chunk *c = malloc(sizeof(*c) + size);
    if (c == NULL)
        return NULL;
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

ea_arena *ea_arena_new(size_t chunk_size)
{
    ea_arena *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->chunk_size = chunk_size < 256 ? 256 : chunk_size;
    return a;
}

void ea_arena_free(ea_arena *a)
{
    if (a == NULL)
        return;
    struct ea_chunk *c = a->head;
    while (c != NULL) {
        struct ea_chunk *n = c->next;
        free(c);
        c = n;
    }
    free(a);
}

void ea_arena_reset(ea_arena *a)
{
    struct ea_chunk *c = a->head, *keep = NULL;
    while (c != NULL) {
        struct ea_chunk *n = c->next;
        if (n == NULL && c->size == a->chunk_size) {
            keep = c; /* the oldest, standard-size chunk */
        } else {
            free(c);
        }
        c = n;
    }
    if (keep != NULL)
        keep->used = 0;
    a->head = keep;
    a->total = 0;
}

void *ea_arena_alloc(ea_arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n)
        return NULL; /* overflow */
    struct ea_chunk *c = a->head;
    if (c == NULL || c->size - c->used < need) {
        size_t size = need > a->chunk_size ? need : a->chunk_size;
        struct ea_chunk *nc = chunk_new(size);
        if (nc == NULL)
            return NULL;
        if (size > a->chunk_size && c != NULL) {
            /* oversized: link behind the head so the head keeps serving small requests */
            nc->next = c->next;
            c->next = nc;
            nc->used = need;
            a->total += need;
            return nc->data;
        }
        nc->next = c;
        a->head = c = nc;
    }
    void *p = c->data + c->used;
    c->used += need;
    a->total += need;
    return p;
}

void *ea_arena_calloc(ea_arena *a, size_t n)
{
    void *p = ea_arena_alloc(a, n);
    if (p != NULL)
        memset(p, 0, n);
    return p;
}

char *ea_arena_strndup(ea_arena *a, const char *s, size_t len)
{
    char *p = ea_arena_alloc(a, len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* The slots an array with cap slots needs for element n: cap when n < cap, else cap doubled (first
 * when empty) until n fits; 0 when the byte size would overflow. */
static size_t grown_cap(size_t cap, size_t n, size_t elem, size_t first)
{
    size_t nc = cap ? cap : (first ? first : 1);
    while (nc <= n) {
        if (nc > SIZE_MAX / 2)
            return 0;
        nc *= 2;
    }
    return elem != 0 && nc > SIZE_MAX / elem ? 0 : nc;
}

void *ea_arena_grow(ea_arena *a, void *old, size_t elem, size_t n, size_t *cap)
{
    if (n < *cap)
        return old;
    size_t nc = grown_cap(*cap, n, elem, 8);
    void *p = nc != 0 ? ea_arena_alloc(a, elem * nc) : NULL;
    if (p == NULL)
        return NULL;
    if (*cap > 0)
        memcpy(p, old, elem * *cap); /* old holds *cap elements (n >= *cap here) */
    *cap = nc;
    return p;
}

void *ea_array_grow(void *old, size_t elem, size_t n, size_t *cap, size_t first)
{
    if (n < *cap)
        return old;
    size_t nc = grown_cap(*cap, n, elem, first);
    void *p = nc != 0 ? realloc(old, elem * nc) : NULL;
    if (p != NULL)
        *cap = nc;
    return p;
}

size_t ea_arena_used(const ea_arena *a)
{
    return a->total;
}
