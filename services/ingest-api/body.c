/*
 * body.c — request body → validated Kafka messages, for every front door. Validation order per
 * event (ingest_event_build): object? → event_id → event name → timestamp (and sent_at skew
 * correction) → nesting depth → size. The first failure decides the event's error; other
 * events of the batch are unaffected. Every error is a fixed code (docs/ERRORS.md) plus a
 * message naming the field.
 */
#include "body.h"
#include "ea_rollup_dec.h"
#include "ea_rollup_watermark.h"
#include "ea_time.h"
#include "ea_buf.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EVENT_NAME 256
#define MAX_EVENT_ID 128

/* Random bytes for ids, drawn from OpenSSL 4 KiB at a time: one RAND_bytes call per event was
 * most of libcrypto's share of a request in perf. Single-threaded use only (the event loop). */
static void id_random(unsigned char *out, size_t n)
{
    static unsigned char pool[4096];
    static size_t left;
    if (left < n) {
        if (RAND_bytes(pool, sizeof(pool)) != 1) {
            /* RAND_bytes failing means the CSPRNG is broken; fall back to rand() rather than
             * refusing the event: the id only has to be unique, not secret. */
            for (size_t i = 0; i < sizeof(pool); i++)
                pool[i] = (unsigned char)rand();
        }
        left = sizeof(pool);
    }
    memcpy(out, pool + sizeof(pool) - left, n);
    left -= n;
}

void ingest_uuid7(int64_t ms, char out[37])
{
    unsigned char b[16];
    id_random(b + 6, 10);
    uint64_t t = (uint64_t)ms;
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(t >> (40 - 8 * i));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x70);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    int p = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[p++] = '-';
        out[p++] = hex[b[i] >> 4];
        out[p++] = hex[b[i] & 15];
    }
    out[p] = '\0';
}

static size_t json_depth(const json_t *v, size_t limit)
{
    size_t max = 0, d;
    if (limit == 0)
        return 1; /* already past any limit: stop descending */
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach((json_t *)v, k, c)
        {
            d = json_depth(c, limit - 1);
            if (d > max)
                max = d;
        }
        return max + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
        {
            d = json_depth(c, limit - 1);
            if (d > max)
                max = d;
        }
        return max + 1;
    }
    return 0;
}

/* Reads a timestamp field (ISO-8601 string or epoch number). */
static bool read_time(const json_t *v, int64_t *ms)
{
    if (json_is_string(v))
        return ea_time_parse_iso8601(json_string_value(v), json_string_length(v), ms);
    if (json_is_integer(v))
        return ea_time_from_epoch_number((double)json_integer_value(v), ms);
    if (json_is_real(v))
        return ea_time_from_epoch_number(json_real_value(v), ms);
    return false;
}

static void reject(ingest_event *e, const char *code, const char *fmt, const char *arg)
{
    e->accepted = false;
    e->error_code = code;
    snprintf(e->error, sizeof(e->error), fmt, arg);
}

void ingest_event_reject(ingest_event *e, const char *code, const char *message)
{
    reject(e, code, "%s", message);
}

static const char *const reserved[] = {"event", "timestamp", "event_id", "sent_at", "api_key"};

bool ingest_field_reserved(const char *name)
{
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (strcmp(name, reserved[i]) == 0)
            return true;
    return false;
}

bool ingest_event_put_props(json_t *ev, const json_t *props)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)props, k, v)
    {
        if (!ingest_field_reserved(k)) {
            if (json_object_set(ev, k, v) != 0)
                return false;
            continue;
        }
        char renamed[32];
        snprintf(renamed, sizeof(renamed), "property_%s", k);
        if (json_object_set(ev, renamed, v) != 0)
            return false;
    }
    return true;
}

void ingest_event_build(json_t *ev, const json_t *batch_sent_at, const char *tenant,
                        int64_t received_ms, const ingest_limits *lim, ingest_event *e)
{
    e->accepted = false;
    if (!json_is_object(ev)) {
        reject(e, "invalid_event", "%s", "event must be a JSON object");
        return;
    }
    const json_t *idv = json_object_get(ev, "event_id");
    char idbuf[37];
    const char *id;
    if (idv == NULL) {
        ingest_uuid7(received_ms, idbuf);
        id = idbuf;
    } else if (!json_is_string(idv) || json_string_length(idv) == 0 ||
               json_string_length(idv) > MAX_EVENT_ID) {
        reject(e, "invalid_event_id", "%s", "event_id must be a string of 1 to 128 bytes");
        return;
    } else {
        id = json_string_value(idv);
    }
    /* one allocation holds the Kafka key "<tenant>/<event_id>"; event_id points into it */
    size_t tl = strlen(tenant), il = strlen(id);
    e->key = malloc(tl + 1 + il + 1);
    if (e->key == NULL) {
        reject(e, "internal", "%s", "out of memory");
        return;
    }
    memcpy(e->key, tenant, tl);
    e->key[tl] = '/';
    memcpy(e->key + tl + 1, id, il + 1);
    e->event_id = e->key + tl + 1;

    const json_t *name = json_object_get(ev, "event");
    if (name == NULL) {
        reject(e, "missing_event", "%s", "field \"event\" (the event name) is required");
        return;
    }
    if (!json_is_string(name) || json_string_length(name) == 0 ||
        json_string_length(name) > MAX_EVENT_NAME) {
        reject(e, "invalid_event", "%s", "field \"event\" must be a string of 1 to 256 bytes");
        return;
    }

    int64_t ts = received_ms;
    const json_t *tsv = json_object_get(ev, "timestamp");
    if (tsv != NULL && !read_time(tsv, &ts)) {
        reject(e, "invalid_timestamp", "%s",
               "timestamp must be ISO-8601 or epoch seconds/milliseconds");
        return;
    }
    const json_t *sent = json_object_get(ev, "sent_at");
    if (sent == NULL)
        sent = batch_sent_at;
    if (sent != NULL) {
        int64_t sent_ms;
        if (!read_time(sent, &sent_ms)) {
            reject(e, "invalid_timestamp", "%s",
                   "sent_at must be ISO-8601 or epoch seconds/milliseconds");
            return;
        }
        ts += received_ms - sent_ms;
    }
    if (ts > received_ms + lim->max_future_ms) {
        reject(e, "timestamp_in_future", "%s",
               "timestamp is too far in the future (after clock-skew correction)");
        return;
    }
    if (ea_rollup_too_old(ts, received_ms, lim->retention_days)) { /* the worker's rule too */
        char msg[160];
        ea_rollup_too_old_message(msg, sizeof(msg), lim->retention_days);
        reject(e, "too_old", "%s", msg);
        return;
    }
    if (json_depth(ev, lim->max_depth + 1) > lim->max_depth) {
        reject(e, "too_deep", "%s", "event nesting is deeper than the limit");
        return;
    }

    /* The message is written by hand around one jansson dump of the properties: building a
     * second object tree and dumping it was a fifth of the request's CPU (perf, bench/README.md).
     * The reserved fields are removed from the parsed event (the tree is ours and discarded after
     * this) so what remains, in its original order, is exactly the properties. */
    char first[1024]; /* most messages fit: one exactly sized allocation in ea_buf_take */
    ea_buf w;
    ea_buf_init_storage(&w, first, sizeof(first), lim->max_event);
    ea_buf_lit(&w, "{\"v\":1,\"tenant\":");
    ea_buf_json_string(&w, tenant, tl);
    ea_buf_lit(&w, ",\"event_id\":");
    ea_buf_json_string(&w, e->event_id, il);
    ea_buf_lit(&w, ",\"event\":");
    ea_buf_json_string(&w, json_string_value(name), json_string_length(name));
    ea_buf_lit(&w, ",\"ts\":");
    ea_buf_put_i64(&w, ts);
    ea_buf_lit(&w, ",\"received_at\":");
    ea_buf_put_i64(&w, received_ms);
    ea_buf_lit(&w, ",\"properties\":");
    json_t *evm = (json_t *)ev;
    json_object_del(evm, "event"); /* `name` is dead from here on */
    json_object_del(evm, "timestamp");
    json_object_del(evm, "event_id");
    json_object_del(evm, "sent_at");
    json_object_del(evm, "api_key"); /* a key never becomes a stored property */
    /* dumped in place when it fits the room left (the NUL's byte kept), else once more after
     * growing to the exact size; the cap (INGEST_MAX_EVENT) refuses a larger event here.
     * Numbers keep the digits they were sent with: a real prints as the shortest text that reads
     * back as the same double (9.99, not 9.9900000000000002; lib/rollup's rule) */
    const size_t flags =
        JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(ea_dec_real_precision(evm));
    size_t room = 0, need = 0;
    if (ea_buf_ok(&w)) {
        room = w.cap - w.len - 1;
        if (room > w.max - w.len)
            room = w.max - w.len;
        need = json_dumpb(evm, w.p + w.len, room, flags);
    }
    if (need > room && ea_buf_reserve(&w, need))
        need = json_dumpb(evm, w.p + w.len, need, flags);
    if (ea_buf_ok(&w) && need > 0) {
        ea_buf_advance(&w, need);
        ea_buf_putc(&w, '}');
    } else if (ea_buf_ok(&w)) {
        ea_buf_fail(&w, EA_BUF_NOMEM); /* jansson could not dump the properties */
    }
    if (w.err == EA_BUF_TOO_BIG) {
        ea_buf_free(&w);
        reject(e, "event_too_large", "%s", "event is larger than the limit");
        return;
    }
    e->payload_len = w.len;
    e->payload = ea_buf_take(&w); /* NUL-terminated; NULL when the buffer failed */
    if (e->payload == NULL) {
        reject(e, "internal", "%s", "could not encode event");
        return;
    }
    e->accepted = true;
}

ingest_body_status ingest_body_load(const char *body, size_t len, json_t **root,
                                    ingest_body_error *err)
{
    memset(err, 0, sizeof(*err));
    /* A raw NUL byte is never JSON (RFC 8259 allows no control character outside an escape),
     * but jansson's buffer reader skips one after a number: refuse it here, so the parse agrees
     * with the key scan that ran before it (bodykey.c) and with every other JSON reader. */
    const char *nul = memchr(body, '\0', len);
    if (nul != NULL) {
        *root = NULL;
        err->offset = (size_t)(nul - body);
        snprintf(err->message, sizeof(err->message), "NUL byte at offset %zu is not JSON",
                 err->offset);
        return INGEST_BODY_INVALID_JSON;
    }
    json_error_t jerr;
    *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (*root != NULL)
        return INGEST_BODY_OK;
    err->offset = (size_t)jerr.position;
    snprintf(err->message, sizeof(err->message), "%s", jerr.text);
    return strstr(jerr.text, "maximum parsing depth") != NULL ? INGEST_BODY_TOO_DEEP
                                                              : INGEST_BODY_INVALID_JSON;
}

ingest_body_status ingest_batch_alloc(ingest_batch *out, size_t n, const ingest_limits *limits,
                                      ingest_body_error *err)
{
    memset(out, 0, sizeof(*out));
    if (n == 0) {
        snprintf(err->message, sizeof(err->message), "no events in the body");
        return INGEST_BODY_EMPTY;
    }
    if (n > limits->max_batch) {
        snprintf(err->message, sizeof(err->message), "%zu events is more than the limit of %zu", n,
                 limits->max_batch);
        return INGEST_BODY_TOO_MANY;
    }
    out->events = calloc(n, sizeof(*out->events));
    if (out->events == NULL)
        return INGEST_BODY_NOMEM;
    out->n = n;
    return INGEST_BODY_OK;
}

ingest_body_status ingest_body_events(json_t *root, int call, const char *tenant,
                                      int64_t received_ms, const ingest_limits *limits,
                                      ingest_batch *out, ingest_body_error *err)
{
    (void)call;
    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    const json_t *list = NULL, *sent_at = NULL;
    size_t n = 1;
    if (json_is_array(root)) {
        list = root;
        n = json_array_size(root);
    } else if (json_is_object(root) && json_object_get(root, "event") == NULL &&
               json_is_array(json_object_get(root, "batch"))) {
        list = json_object_get(root, "batch");
        sent_at = json_object_get(root, "sent_at");
        n = json_array_size(list);
    } else if (!json_is_object(root)) {
        snprintf(err->message, sizeof(err->message),
                 "body must be an event object, an array of events or {\"batch\": [...]}");
        return INGEST_BODY_BAD_SHAPE;
    }
    ingest_body_status st = ingest_batch_alloc(out, n, limits, err);
    if (st != INGEST_BODY_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        json_t *ev = list != NULL ? json_array_get(list, i) : root;
        ingest_event_build(ev, sent_at, tenant, received_ms, limits, &out->events[i]);
    }
    return INGEST_BODY_OK;
}

ingest_body_status ingest_body_parse(const char *body, size_t len, const char *tenant,
                                     int64_t received_ms, const ingest_limits *limits,
                                     ingest_batch *out, ingest_body_error *err)
{
    memset(out, 0, sizeof(*out));
    json_t *root;
    ingest_body_status st = ingest_body_load(body, len, &root, err);
    if (st != INGEST_BODY_OK)
        return st;
    st = ingest_body_events(root, 0, tenant, received_ms, limits, out, err);
    json_decref(root);
    return st;
}

void ingest_batch_free(ingest_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->events[i].key);
        free(b->events[i].payload);
    }
    free(b->events);
    memset(b, 0, sizeof(*b));
}
