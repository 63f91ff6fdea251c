/*
 * dedup.c — deduplication by COPY into event_dedup (see dedup.h and sink.c invariant 4).
 *
 * The primary key of event_dedup is what decides: a batch's keys are COPYed in, and a key
 * already stored fails the COPY (unique_violation). Most batches hold no replayed event, so the
 * keys are first COPYed optimistically under a savepoint; only when that fails (or a recent
 * batch held a replay) are the stored keys looked up first and only the new ones COPYed.
 * Either way an event counts only if this transaction inserted its key. (One INSERT .. ON
 * CONFLICT DO NOTHING RETURNING does the same at twice the cost: speculative insertion is row
 * by row, COPY inserts in bulk.) A key stored by another transaction between the lookup and the
 * COPY (possible only while a partition changes owner, or after the topic's partition count
 * changed) still fails the COPY, or makes it wait for that transaction and then fail: the batch
 * is retried, and its lookup sees the key.
 */
#include "dedup.h"
#include "ea_map.h"
#include "ea_pg.h"

#include <stdlib.h>
#include <string.h>

/* After a batch held a replayed event, this many batches look their dedup keys up before
 * COPYing them (replays come in bursts: a client retrying, a producer re-sending). */
#define DEDUP_LOOKUP_BATCHES 16

struct wk_dedup {
    wk_stats *stats;
    ea_map keys; /* tenant\0event_id -> wk_event* (per attempt) */
    ea_buf key;  /* scratch */
    ea_buf rows;
    int lookups; /* batches left that look their keys up first */
};

wk_dedup *wk_dedup_new(wk_stats *stats)
{
    wk_dedup *d = calloc(1, sizeof(*d));
    if (d != NULL) {
        d->stats = stats;
        ea_buf_init(&d->key, EA_PG_VALUE_MAX);
        ea_buf_init(&d->rows, EA_PG_VALUE_MAX);
    }
    return d;
}

void wk_dedup_free(wk_dedup *d)
{
    if (d == NULL)
        return;
    ea_map_free(&d->keys);
    ea_buf_free(&d->key);
    ea_buf_free(&d->rows);
    free(d);
}

static const ea_buf *event_key(wk_dedup *d, const char *tenant, size_t tl, const char *id,
                               size_t il)
{
    ea_buf_reset(&d->key);
    ea_buf_append(&d->key, tenant, tl);
    ea_buf_putc(&d->key, '\0');
    ea_buf_append(&d->key, id, il);
    return !ea_buf_ok(&d->key) ? NULL : &d->key;
}

/* Indexes the PARSED events of [lo, hi) by dedup key; an event whose key an earlier one has is
 * marked DUPLICATE (first one wins). With pp, also lists the keys as $1/$2 for the lookup. */
static ea_rc index_keys(wk_dedup *d, wk_batch *b, size_t lo, size_t hi, ea_pg_params *pp,
                        ea_arena *attempt, struct ea_err *err)
{
    ea_map_clear(&d->keys);
    int pt = 0, pe = 0;
    if (pp != NULL) {
        ea_pg_params_reset(pp);
        pt = ea_pg_params_array(pp);
        pe = ea_pg_params_array(pp);
    }
    for (size_t i = lo; i < hi; i++) {
        wk_event *ev = &b->ev[i];
        if (ev->state != WK_EV_PARSED)
            continue;
        const ea_buf *k =
            event_key(d, ev->tenant, strlen(ev->tenant), ev->event_id, strlen(ev->event_id));
        bool ins;
        void **slot = k == NULL ? NULL : ea_map_upsert(&d->keys, k->p, k->len, attempt, &ins);
        if (slot == NULL)
            return ea_err_set(err, EA_ERR_NOMEM, "out of memory in dedup");
        if (!ins) {
            ev->state = WK_EV_DUPLICATE; /* repeated inside the batch: first one wins */
            continue;
        }
        *slot = ev;
        if (pp != NULL) {
            ea_pg_array_cstr(pp, pt, ev->tenant);
            ea_pg_array_cstr(pp, pe, ev->event_id);
        }
    }
    return EA_OK;
}

/* Marks the events of [lo, hi) whose keys are already stored as duplicates. */
static ea_rc lookup(wk_dedup *d, PGconn *c, ea_pg_params *pp, wk_batch *b, size_t lo, size_t hi,
                    ea_arena *attempt, struct ea_err *err)
{
    ea_rc rc = index_keys(d, b, lo, hi, pp, attempt, err);
    if (rc != EA_OK)
        return rc;
    PGresult *res =
        ea_pg_params_exec(c,
                          "SELECT d.tenant_id, d.event_id "
                          "FROM unnest($1::text[], $2::text[]) AS u(t, e) "
                          "JOIN event_dedup d ON d.tenant_id = u.t AND d.event_id = u.e",
                          pp, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    for (int r = 0; r < PQntuples(res); r++) {
        const ea_buf *k = event_key(d, PQgetvalue(res, r, 0), (size_t)PQgetlength(res, r, 0),
                                    PQgetvalue(res, r, 1), (size_t)PQgetlength(res, r, 1));
        if (k == NULL) {
            PQclear(res);
            return ea_err_set(err, EA_ERR_NOMEM, "out of memory in dedup");
        }
        wk_event *ev = ea_map_get(&d->keys, k->p, k->len);
        if (ev != NULL)
            ev->state = WK_EV_DUPLICATE; /* counted by an earlier batch */
    }
    PQclear(res);
    return EA_OK;
}

/* COPYs the keys of the events of [lo, hi) still PARSED (new) into event_dedup, in key order
 * when the batch was sealed. */
static ea_rc copy_keys(wk_dedup *d, PGconn *c, wk_batch *b, size_t lo, size_t hi,
                       struct ea_err *err)
{
    size_t len;
    const char *rows;
    if (b->key_order != NULL) {
        ea_buf *o = &d->rows;
        ea_buf_reset(o);
        for (size_t k = 0; k < b->nkey_order; k++) {
            const wk_event *ev = &b->ev[b->key_order[k]];
            if (b->key_order[k] >= lo && b->key_order[k] < hi && ev->state == WK_EV_PARSED)
                ea_buf_append(o, b->key_rows.p + ev->key_off, ev->key_len);
        }
        for (size_t i = lo; i < hi; i++) /* keys that were not prepared (out of memory then) */
            if (b->ev[i].state == WK_EV_PARSED && b->ev[i].key_len == 0)
                wk_batch_key_row(o, &b->ev[i]);
        rows = !ea_buf_ok(o) ? NULL : o->p;
        len = o->len;
    } else {
        rows = wk_batch_rows(b, lo, hi, WK_EV_PARSED, false, &d->rows, &len);
    }
    if (rows == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "out of memory building the dedup keys");
    if (len == 0)
        return EA_OK;
    return ea_pg_copy_in(c, "COPY event_dedup (tenant_id, event_id) FROM STDIN", rows, len,
                         "copy the dedup keys", err);
}

ea_rc wk_dedup_run(wk_dedup *d, PGconn *c, ea_pg_params *pp, wk_batch *b, size_t lo, size_t hi,
                   ea_arena *attempt, size_t *duplicates, struct ea_err *err)
{
    ea_rc rc;
    size_t n = 0;
    if (lo == 0 && hi == b->n && b->key_order != NULL) {
        /* the whole sealed batch: its repeats are known already */
        for (size_t i = lo; i < hi; i++) {
            wk_event *ev = &b->ev[i];
            if (ev->state == WK_EV_PARSED && ev->repeat)
                ev->state = WK_EV_DUPLICATE;
            n += ev->state == WK_EV_PARSED;
        }
    } else {
        if ((rc = index_keys(d, b, lo, hi, NULL, attempt, err)) != EA_OK)
            return rc;
        for (size_t i = lo; i < hi; i++)
            n += b->ev[i].state == WK_EV_PARSED;
    }
    if (n > 0 && d->lookups == 0) {
        if ((rc = ea_pg_exec(c, "SAVEPOINT dedup", err)) != EA_OK)
            return rc;
        rc = copy_keys(d, c, b, lo, hi, err);
        if (rc == EA_OK) {
            rc = ea_pg_exec(c, "RELEASE SAVEPOINT dedup", err);
            n = 0; /* done */
        } else if (strcmp(err->sqlstate, "23505") == 0) {
            /* a replayed event: look the keys up, for this and the next batches */
            ea_err_clear(err);
            rc = ea_pg_exec(c, "ROLLBACK TO SAVEPOINT dedup", err);
            d->lookups = DEDUP_LOOKUP_BATCHES;
        }
        if (rc != EA_OK)
            return rc;
    }
    if (n > 0) {
        if ((rc = lookup(d, c, pp, b, lo, hi, attempt, err)) != EA_OK)
            return rc;
        bool any = false;
        for (size_t i = lo; i < hi && !any; i++)
            any = b->ev[i].state == WK_EV_DUPLICATE && !b->ev[i].repeat;
        if (any)
            d->lookups = DEDUP_LOOKUP_BATCHES;
        else if (d->lookups > 0)
            d->lookups--;
        rc = copy_keys(d, c, b, lo, hi, err);
        if (rc != EA_OK && strcmp(err->sqlstate, "23505") == 0) {
            err->code = EA_ERR_UNAVAILABLE; /* not the data's fault: retry, the lookup decides */
            wk_stats_inc_dedup_race(d->stats);
        }
        if (rc != EA_OK)
            return rc;
    }
    for (size_t i = lo; i < hi; i++)
        if (b->ev[i].state == WK_EV_DUPLICATE)
            (*duplicates)++;
    return EA_OK;
}
