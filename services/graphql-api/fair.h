/*
 * fair.h — who may use the worker pool (exec.h) at once: each client's and each tenant's share of
 * its threads.
 *
 * Why: the pool has GRAPHQL_WORKERS threads and one FIFO queue. A client whose every operation
 * is slow (a 30-day breakdown by a property of millions of raw events runs until the statement
 * timeout, 30 s) took every thread with 4 requests in flight, well inside its query rate limit,
 * and every other tenant's cache miss waited behind them (red-team pass: a live 24-hour chart of
 * another tenant took 55 s to answer). So operations are admitted by owner, at two levels:
 *   - client: one API key, or one signed-in user — at most `per_client` of its operations on the
 *     pool (queued or running) at once;
 *   - group: every key of one tenant (a tenant admin can mint keys: per key alone would not
 *     bound it), or the user — at most `per_group` at once.
 * The rest wait in their client's own line, on the loop, in order (at most `wait_max` in all
 * lines together — GRAPHQL_QUEUE_MAX, the bound the pool's queue had; past it the caller answers
 * 503: many minted keys cannot park unbounded requests); when a place of the group frees, its
 * waiting clients take turns. Defaults (GRAPHQL_WORKERS = 4): per_client 1, per_group 2, so an
 * attacker's own tenant (2) plus one stolen key of another tenant (1) leave a thread for everyone
 * else, and the stolen key's tenant keeps a place of its own next to it.
 *
 * Loop thread only. The caller embeds a ticket in its job; the ticket's start() submits the job
 * to the pool, refused() answers "busy" for a job that waited and could not be submitted (and
 * frees it). Not for: key verification, session rows, /readyz, lease refills (own threads).
 */
#ifndef GQL_FAIR_H
#define GQL_FAIR_H

#include "app.h"
#include "ea_err.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct gql_fair gql_fair;

typedef struct gql_fair_ticket {
    struct gql_fair_ticket *next; /* private: the client's line */
    struct fair_node *owner;      /* private: the client */
    int state;                    /* private: 0 none, 1 waiting, 2 on the pool */
    /* submits the job to the pool: EA_OK, or the pool's refusal (queue full) */
    ea_rc (*start)(struct gql_fair_ticket *t);
    /* a waiting job could not be submitted (pool full, or shutting down): answer busy, free */
    void (*refused)(struct gql_fair_ticket *t);
} gql_fair_ticket;

/* The owner of an operation: its client and its group (gql_fair_owner_of). */
typedef struct gql_fair_owner {
    char client[96];
    char group[96];
} gql_fair_owner;

/* per_client 0: GRAPHQL_WORKERS / 4 (at least 1); per_group 0: GRAPHQL_WORKERS / 2 (at least
 * 1); per_client is at most per_group. NULL when out of memory. */
gql_fair *gql_fair_new(size_t per_client, size_t per_group, size_t workers, size_t wait_max);

/* Refuses every waiting job (refused()), then frees. NULL allowed. Before the pool is freed; the
 * pool's last done() calls then pass f NULL (gql_fair_done and gql_fair_cancel accept it). */
void gql_fair_free(gql_fair *f);

/* p's client (the key, or the user) and group (the key's tenant, or the user). */
void gql_fair_owner_of(const gql_principal *p, gql_fair_owner *o);

/* Starts t now (t->start) when its client and group are under their shares and the client has
 * nothing waiting, else queues it. EA_OK: started or waiting; EA_ERR_LIMIT: wait_max jobs wait
 * already or the pool refused (t is untouched: the caller answers 503 and frees its job). */
ea_rc gql_fair_submit(gql_fair *f, gql_fair_ticket *t, const gql_fair_owner *owner) EA_WUR;

/* From the job's done(): frees its place and starts waiting jobs of its group's clients, in turn.
 * A ticket that never reached the pool (refused, cancelled) is ignored. */
void gql_fair_done(gql_fair *f, gql_fair_ticket *t);

/* The job's client left: true when t was waiting (removed now; the caller frees the job), false
 * when it is on the pool (its done() comes) or was never submitted. */
bool gql_fair_cancel(gql_fair *f, gql_fair_ticket *t);

/* Jobs waiting in clients' lines (for /metrics and tests). */
size_t gql_fair_waiting(const gql_fair *f);

#endif
