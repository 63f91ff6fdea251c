/*
 * batch.c — a batch's life: decode + COPY rows per message (consumer thread), seal (dedup key
 * order), the rows handed to PostgreSQL (committer thread), reset (consumer thread). The two
 * threads never hold the same batch at once (committer.c hands it over under a mutex).
 */
#include "batch.h"
#include "ea_arena.h"
#include "ea_catalog.h"
#include "ea_map.h"
#include "ea_log.h"
#include "ea_pg.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ea_rc wk_batch_init(wk_batch *b)
{
    memset(b, 0, sizeof(*b));
    ea_buf_init(&b->raw_rows, EA_PG_VALUE_MAX); /* each is one COPY (ea_pg_copy) */
    ea_buf_init(&b->key_rows, EA_PG_VALUE_MAX);
    b->arena = ea_arena_new(1 << 20);
    return b->arena != NULL ? EA_OK : EA_ERR_NOMEM;
}

static void reset_rows(wk_batch *b)
{
    ea_buf_reset(&b->raw_rows);
    ea_buf_reset(&b->key_rows);
    b->key_order = NULL; /* was in the arena */
    b->nkey_order = 0;
}

void wk_batch_reset(wk_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        wk_event_release(&b->ev[i]);
    b->n = 0;
    if (b->arena != NULL)
        ea_arena_reset(b->arena);
    reset_rows(b);
}

void wk_batch_destroy(wk_batch *b)
{
    wk_batch_reset(b);
    free(b->ev);
    ea_buf_free(&b->raw_rows);
    ea_buf_free(&b->key_rows);
    ea_arena_free(b->arena);
    memset(b, 0, sizeof(*b));
}

bool wk_batch_add(wk_batch *b, int32_t partition, int64_t offset, const void *payload, size_t len,
                  bool store_raw)
{
    wk_event *ne = ea_array_grow(b->ev, sizeof(*ne), b->n, &b->cap, 1024);
    if (ne == NULL)
        return false;
    b->ev = ne;
    wk_event *ev = &b->ev[b->n];
    memset(ev, 0, sizeof(*ev));
    ev->partition = partition;
    ev->offset = offset;
    if (!wk_message_decode(ev, payload, len, b->arena)) {
        wk_event_release(ev);
        return false;
    }
    wk_batch_prepare(b, ev, store_raw); /* its COPY rows, while the committer works */
    b->n++;
    return true;
}

void wk_batch_key_row(ea_buf *o, const wk_event *ev)
{
    ea_pg_buf_copy_field(o, ev->tenant, strlen(ev->tenant));
    ea_buf_putc(o, '\t');
    ea_pg_buf_copy_field(o, ev->event_id, strlen(ev->event_id));
    ea_buf_putc(o, '\n');
}

/* One raw_events row in COPY binary format (the stream's header and trailer are added by the
 * sender). */
static void raw_row(ea_buf *o, const wk_event *ev)
{
    ea_pg_copybin_tuple(o, 8);
    ea_pg_copybin_text(o, ev->tenant, strlen(ev->tenant));
    ea_pg_copybin_text(o, ev->event_id, strlen(ev->event_id));
    ea_pg_copybin_text(o, ev->name, strlen(ev->name));
    ea_pg_copybin_timestamptz(o, ev->ts_ms);
    ea_pg_copybin_timestamptz(o, ev->received_ms);
    if (ev->props_text != NULL) {
        /* the message's own text: jansson already validated it (no re-serialization) */
        ea_pg_copybin_jsonb(o, ev->props_text, ev->props_len);
    } else {
        char *props = json_dumps(ev->properties, JSON_COMPACT);
        if (props == NULL) {
            ea_buf_fail(o, EA_BUF_NOMEM);
            return;
        }
        ea_pg_copybin_jsonb(o, props, strlen(props));
        free(props);
    }
    ea_pg_copybin_i32(o, ev->partition);
    ea_pg_copybin_i64(o, ev->offset);
}

void wk_batch_prepare(wk_batch *b, wk_event *ev, bool store_raw)
{
    ev->key_len = ev->raw_len = 0;
    if (ev->state != WK_EV_PARSED)
        return;
    ev->key_off = b->key_rows.len;
    wk_batch_key_row(&b->key_rows, ev);
    if (ea_buf_ok(&b->key_rows))
        ev->key_len = b->key_rows.len - ev->key_off;
    if (store_raw) {
        ev->raw_off = b->raw_rows.len;
        raw_row(&b->raw_rows, ev);
        if (ea_buf_ok(&b->raw_rows))
            ev->raw_len = b->raw_rows.len - ev->raw_off;
    }
}

struct key_ref {
    const char *p;
    size_t len;
    uint32_t idx;
};

static int key_ref_cmp(const void *a, const void *b)
{
    const struct key_ref *x = a, *y = b;
    int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);
    if (c == 0)
        c = (x->len > y->len) - (x->len < y->len);
    return c != 0 ? c : (x->idx > y->idx) - (x->idx < y->idx); /* equal keys: poll order */
}

void wk_batch_seal(wk_batch *b)
{
    b->key_order = NULL;
    b->nkey_order = 0;
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++)
        n += b->ev[i].key_len > 0;
    if (n < 2 || b->n > UINT32_MAX)
        return;
    struct key_ref *refs = malloc(n * sizeof(*refs));
    uint32_t *order = ea_arena_alloc(b->arena, n * sizeof(*order));
    if (refs == NULL || order == NULL) { /* unsorted is only slower */
        free(refs);
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++) {
        b->ev[i].repeat = false;
        if (b->ev[i].key_len > 0)
            refs[k++] =
                (struct key_ref){b->key_rows.p + b->ev[i].key_off, b->ev[i].key_len, (uint32_t)i};
    }
    qsort(refs, n, sizeof(*refs), key_ref_cmp);
    for (size_t i = 0; i < n; i++) {
        order[i] = refs[i].idx;
        /* equal keys are adjacent, the first polled first: the others are repeats */
        b->ev[refs[i].idx].repeat = i > 0 && refs[i].len == refs[i - 1].len &&
                                    memcmp(refs[i].p, refs[i - 1].p, refs[i].len) == 0;
    }
    free(refs);
    b->key_order = order;
    b->nkey_order = n;
}

const char *wk_batch_rows(wk_batch *b, size_t lo, size_t hi, wk_event_state want, bool raw,
                          ea_buf *out, size_t *len)
{
    const ea_buf *src = raw ? &b->raw_rows : &b->key_rows;
    size_t run_off = 0, run_len = 0;
    bool copied = false;
    ea_buf_reset(out);
    for (size_t i = lo; i < hi; i++) {
        const wk_event *ev = &b->ev[i];
        if (ev->state != want)
            continue;
        size_t off = raw ? ev->raw_off : ev->key_off, n = raw ? ev->raw_len : ev->key_len;
        if (n > 0 && run_len > 0 && run_off + run_len == off) {
            run_len += n;
            continue;
        }
        if (run_len > 0) {
            ea_buf_append(out, src->p + run_off, run_len);
            copied = true;
        }
        run_off = off;
        run_len = n;
        if (n == 0) {
            if (raw)
                raw_row(out, ev);
            else
                wk_batch_key_row(out, ev);
            copied = true;
        }
    }
    if (!copied) {
        *len = run_len;
        return run_len > 0 ? src->p + run_off : "";
    }
    if (run_len > 0)
        ea_buf_append(out, src->p + run_off, run_len);
    *len = out->len;
    return !ea_buf_ok(out) ? NULL : out->p;
}

void wk_batch_dead_payload(ea_buf *b, const wk_event *ev)
{
    if (ev->payload != NULL) {
        ea_pg_buf_utf8_sanitize(b, ev->payload, ev->payload_len);
        return;
    }
    char *txt = ev->root != NULL ? json_dumps(ev->root, JSON_COMPACT) : NULL;
    if (txt != NULL) {
        ea_pg_buf_utf8_sanitize(b, txt, strlen(txt));
        free(txt);
    }
}

ea_rc wk_batch_store_dead(wk_batch *b, size_t lo, size_t hi, PGconn *c, ea_pg_params *pp,
                          wk_batch_report *rep, struct ea_err *err)
{
    ea_pg_params_reset(pp);
    int pt = ea_pg_params_array(pp), pe = ea_pg_params_array(pp), pr = ea_pg_params_array(pp);
    int pp_ = ea_pg_params_array(pp), po = ea_pg_params_array(pp), pl = ea_pg_params_array(pp);
    ea_buf tmp = EA_BUF_INIT(EA_PG_VALUE_MAX);
    for (size_t i = lo; i < hi; i++) {
        wk_event *ev = &b->ev[i];
        if (ev->state != WK_EV_DEAD || ev->dropped)
            continue;
        wk_report_dead(rep, ev->dead_reason);
        ea_pg_array_cstr(pp, pt, ev->tenant);
        ea_pg_array_cstr(pp, pe, ev->event_id);
        ea_pg_array_cstr(pp, pr, ev->dead_reason);
        ea_pg_array_i64(pp, pp_, ev->partition);
        ea_pg_array_i64(pp, po, ev->offset);
        ea_buf_reset(&tmp);
        wk_batch_dead_payload(&tmp, ev);
        ea_pg_array_text(pp, pl, tmp.p != NULL ? tmp.p : "", tmp.len);
        char subj[EA_LOG_SUBJECT_MAX];
        ea_log_info(ea_log_subject_part(subj, ev->partition, ev->offset),
                    "partition %d offset %lld dead-lettered: %s", ev->partition,
                    (long long)ev->offset, ev->dead_reason);
    }
    ea_buf_free(&tmp);
    if (ea_pg_array_len(pp, pt) == 0)
        return EA_OK;
    PGresult *res =
        ea_pg_params_exec(c,
                          "INSERT INTO dead_letters (tenant_id, event_id, reason, kafka_partition, "
                          "kafka_offset, payload) SELECT * FROM unnest($1::text[], $2::text[], "
                          "$3::text[], $4::int4[], $5::int8[], $6::text[])",
                          pp, PGRES_COMMAND_OK, err);
    if (res == NULL)
        return err->code;
    PQclear(res);
    return EA_OK;
}

ea_rc wk_batch_store_names(wk_batch *b, size_t lo, size_t hi, PGconn *c, ea_pg_params *pp,
                           ea_arena *a, struct ea_err *err)
{
    ea_map seen = {0};
    ea_buf k = EA_BUF_INIT(EA_PG_VALUE_MAX);
    ea_rc rc = EA_OK;
    ea_pg_params_reset(pp);
    int pt = ea_pg_params_array(pp), pn = ea_pg_params_array(pp);
    for (size_t i = lo; i < hi && rc == EA_OK; i++) {
        const wk_event *ev = &b->ev[i];
        if (ev->dropped || ev->state != WK_EV_COUNTED)
            continue;
        ea_buf_reset(&k);
        ea_buf_append(&k, ev->tenant, strlen(ev->tenant) + 1);
        ea_buf_puts(&k, ev->name);
        bool ins;
        if (!ea_buf_ok(&k) || ea_map_upsert(&seen, k.p, k.len, a, &ins) == NULL)
            rc = ea_err_set(err, EA_ERR_NOMEM, "out of memory recording event names");
        else if (ins) {
            ea_pg_array_cstr(pp, pt, ev->tenant);
            ea_pg_array_cstr(pp, pn, ev->name);
        }
    }
    ea_map_free(&seen);
    ea_buf_free(&k);
    if (rc != EA_OK || ea_pg_array_len(pp, pt) == 0)
        return rc;
    PGresult *res = ea_pg_params_exec(c, EA_CATALOG_SQL_EVENTS_SEEN, pp, PGRES_COMMAND_OK, err);
    if (res == NULL)
        return err->code;
    PQclear(res);
    return EA_OK;
}

const char *wk_batch_subject(const wk_batch *b, size_t lo, size_t hi, char *buf)
{
    struct {
        int32_t partition;
        int64_t first, last;
    } r[16];
    size_t nr = 0;
    bool more = false;
    for (size_t i = lo; i < hi && i < b->n; i++) {
        const wk_event *ev = &b->ev[i];
        size_t k = 0;
        while (k < nr && r[k].partition != ev->partition)
            k++;
        if (k == nr) {
            if (nr == sizeof(r) / sizeof(r[0])) {
                more = true;
                continue;
            }
            r[nr].partition = ev->partition;
            r[nr++].first = ev->offset;
        }
        r[k].last = ev->offset;
    }
    size_t pos = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < nr; k++) {
        char one[48];
        int n = r[k].first == r[k].last
                    ? snprintf(one, sizeof(one), "%sp%d@%lld", k ? "," : "", (int)r[k].partition,
                               (long long)r[k].first)
                    : snprintf(one, sizeof(one), "%sp%d@%lld-%lld", k ? "," : "",
                               (int)r[k].partition, (long long)r[k].first, (long long)r[k].last);
        if (n < 0 || pos + (size_t)n + 5 > EA_LOG_SUBJECT_MAX) {
            more = true;
            break;
        }
        memcpy(buf + pos, one, (size_t)n + 1);
        pos += (size_t)n;
    }
    if (more)
        snprintf(buf + pos, EA_LOG_SUBJECT_MAX - pos, ",...");
    if (pos == 0 && !more)
        snprintf(buf, EA_LOG_SUBJECT_MAX, "empty batch");
    return buf;
}
