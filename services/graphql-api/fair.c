/*
 * fair.c — per-client admission to the worker pool (see fair.h): a chained hash table of the
 * clients and groups that have operations on the pool or waiting. A client has a count and a
 * FIFO line; a group has a count and a ring of its clients whose lines are not empty, served in
 * turn when the group gets a place back. A client or group with nothing on the pool and nothing
 * waiting is freed, so the table holds only what is busy right now.
 */
#include "fair.h"
#include "ea_hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIR_SLOTS 256 /* a power of two */

typedef struct fair_node {
    struct fair_node *hnext;
    size_t on_pool, nwait; /* client: its own; group: its clients' (nwait unused) */
    bool pinned; /* a walk over it is running: a refused() that submits must not free it */
    /* client: its line, its group, its place in the group's ring (NULL: not in it) */
    gql_fair_ticket *head, *tail;
    struct fair_node *group, *rnext, *rprev;
    /* group: the ring of clients that wait */
    struct fair_node *ring;
    char name[96];
} fair_node;

struct gql_fair {
    size_t per_client, per_group, wait_max, nwait;
    fair_node *slots[FAIR_SLOTS];
};

enum { T_NONE = 0, T_WAITING, T_ON_POOL };

gql_fair *gql_fair_new(size_t per_client, size_t per_group, size_t workers, size_t wait_max)
{
    gql_fair *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->per_client = per_client > 0 ? per_client : workers >= 8 ? workers / 4 : 1;
    f->per_group = per_group > 0 ? per_group : workers >= 4 ? workers / 2 : 1;
    if (f->per_client > f->per_group)
        f->per_client = f->per_group;
    f->wait_max = wait_max;
    return f;
}

void gql_fair_owner_of(const gql_principal *p, gql_fair_owner *o)
{
    if (p->kind == GQL_PRINCIPAL_KEY) {
        snprintf(o->client, sizeof(o->client), "c:k:%s", p->key.key_id);
        snprintf(o->group, sizeof(o->group), "g:k:%s", p->key.tenant);
    } else {
        snprintf(o->client, sizeof(o->client), "c:u:%lld", p->user_id);
        snprintf(o->group, sizeof(o->group), "g:u:%lld", p->user_id);
    }
}

static fair_node **slot_of(gql_fair *f, const char *name)
{
    return &f->slots[ea_hash64(name, strlen(name)) & (FAIR_SLOTS - 1)];
}

static fair_node *node_get(gql_fair *f, const char *name)
{
    fair_node **l = slot_of(f, name);
    fair_node *n = *l;
    while (n != NULL && strcmp(n->name, name) != 0)
        n = n->hnext;
    if (n == NULL && (n = calloc(1, sizeof(*n))) != NULL) {
        snprintf(n->name, sizeof(n->name), "%s", name);
        n->hnext = *l;
        *l = n;
    }
    return n;
}

static void node_forget_if_idle(gql_fair *f, fair_node *n)
{
    if (n == NULL || n->on_pool > 0 || n->nwait > 0 || n->ring != NULL || n->pinned)
        return;
    fair_node **l = slot_of(f, n->name);
    while (*l != n)
        l = &(*l)->hnext;
    *l = n->hnext;
    free(n);
}

/* client c (with its group) is idle: forget both when nothing else holds them */
static void forget(gql_fair *f, fair_node *c)
{
    fair_node *g = c->group;
    if (c->on_pool > 0 || c->nwait > 0 || c->pinned)
        return;
    node_forget_if_idle(f, c);
    node_forget_if_idle(f, g);
}

static void ring_add(fair_node *g, fair_node *c)
{
    if (c->rnext != NULL)
        return;
    if (g->ring == NULL) {
        c->rnext = c->rprev = c;
        g->ring = c;
        return;
    }
    c->rnext = g->ring; /* at the end: before the current head */
    c->rprev = g->ring->rprev;
    c->rprev->rnext = c;
    g->ring->rprev = c;
}

static void ring_remove(fair_node *g, fair_node *c)
{
    if (c->rnext == NULL)
        return;
    if (c->rnext == c) {
        g->ring = NULL;
    } else {
        c->rprev->rnext = c->rnext;
        c->rnext->rprev = c->rprev;
        if (g->ring == c)
            g->ring = c->rnext;
    }
    c->rnext = c->rprev = NULL;
}

static bool may_start(const gql_fair *f, const fair_node *c)
{
    return c->on_pool < f->per_client && c->group->on_pool < f->per_group;
}

ea_rc gql_fair_submit(gql_fair *f, gql_fair_ticket *t, const gql_fair_owner *owner)
{
    fair_node *g = node_get(f, owner->group);
    fair_node *c = g != NULL ? node_get(f, owner->client) : NULL;
    if (c == NULL) {
        node_forget_if_idle(f, g);
        return EA_ERR_LIMIT;
    }
    c->group = g;
    t->owner = c;
    t->next = NULL;
    t->state = T_NONE;
    if (c->nwait == 0 && may_start(f, c)) {
        if (t->start(t) != EA_OK) {
            forget(f, c);
            return EA_ERR_LIMIT;
        }
        t->state = T_ON_POOL;
        c->on_pool++;
        g->on_pool++;
        return EA_OK;
    }
    if (f->nwait >= f->wait_max) { /* all lines together: the pool queue's bound, as before */
        forget(f, c);
        return EA_ERR_LIMIT;
    }
    t->state = T_WAITING;
    if (c->tail != NULL)
        c->tail->next = t;
    else
        c->head = t;
    c->tail = t;
    c->nwait++;
    f->nwait++;
    ring_add(g, c);
    return EA_OK;
}

static gql_fair_ticket *pop(gql_fair *f, fair_node *c)
{
    gql_fair_ticket *t = c->head;
    c->head = t->next;
    if (c->head == NULL)
        c->tail = NULL;
    t->next = NULL;
    c->nwait--;
    f->nwait--;
    if (c->nwait == 0)
        ring_remove(c->group, c);
    return t;
}

/* Starts waiting jobs of g's clients in turn while g has places and some client may start. */
static void dispatch(gql_fair *f, fair_node *g)
{
    g->pinned = true;
    size_t tries = 0; /* clients in a row that could not start: all of them ends the walk */
    while (g->ring != NULL && g->on_pool < f->per_group) {
        fair_node *c = g->ring;
        g->ring = c->rnext; /* the next client's turn after this one */
        if (!may_start(f, c)) {
            size_t n = 1;
            for (fair_node *x = c->rnext; x != c; x = x->rnext)
                n++;
            if (++tries >= n)
                break;
            continue;
        }
        tries = 0;
        bool was_pinned = c->pinned; /* the client whose done() runs this stays pinned */
        c->pinned = true;
        gql_fair_ticket *t = pop(f, c);
        if (t->start(t) == EA_OK) {
            t->state = T_ON_POOL;
            c->on_pool++;
            g->on_pool++;
        } else {
            t->state = T_NONE;
            t->refused(t); /* frees t's job; may submit another job of c */
        }
        c->pinned = was_pinned;
        forget(f, c);
    }
    g->pinned = false; /* the caller forgets g (through its client) */
}

void gql_fair_done(gql_fair *f, gql_fair_ticket *t)
{
    if (f == NULL || t->state != T_ON_POOL) /* f NULL: shutting down, the nodes are gone */
        return;
    fair_node *c = t->owner, *g = c->group;
    t->state = T_NONE;
    c->on_pool--;
    g->on_pool--;
    c->pinned = true;
    dispatch(f, g);
    c->pinned = false;
    forget(f, c); /* and g when idle: a busy g has a busy or waiting client */
}

bool gql_fair_cancel(gql_fair *f, gql_fair_ticket *t)
{
    if (f == NULL || t->state != T_WAITING)
        return false;
    fair_node *c = t->owner;
    gql_fair_ticket **l = &c->head, *prev = NULL;
    while (*l != t) {
        prev = *l;
        l = &(*l)->next;
    }
    *l = t->next;
    if (c->tail == t)
        c->tail = prev;
    t->next = NULL;
    t->state = T_NONE;
    c->nwait--;
    f->nwait--;
    if (c->nwait == 0)
        ring_remove(c->group, c);
    forget(f, c);
    return true;
}

size_t gql_fair_waiting(const gql_fair *f)
{
    return f->nwait;
}

void gql_fair_free(gql_fair *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < FAIR_SLOTS; i++) {
        for (fair_node *n = f->slots[i]; n != NULL; n = n->hnext) {
            while (n->head != NULL) {
                gql_fair_ticket *t = n->head;
                n->head = t->next;
                t->next = NULL;
                t->state = T_NONE;
                t->refused(t);
            }
        }
    }
    for (size_t i = 0; i < FAIR_SLOTS; i++) {
        for (fair_node *n = f->slots[i], *next; n != NULL; n = next) {
            next = n->hnext;
            free(n);
        }
    }
    free(f);
}
