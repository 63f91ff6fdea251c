/*
 * message.h — decoding one Kafka message of topic `events` (docs/event-format.md, version 1)
 * into a wk_event. A message that does not decode is not an error of the worker: it gets a
 * dead-letter reason and travels with the batch to the dead_letters table.
 */
#ifndef WK_MESSAGE_H
#define WK_MESSAGE_H

#include "ea_arena.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WK_TENANT_MAX 63
#define WK_EVENT_ID_MAX 128
#define WK_EVENT_NAME_MAX 256

typedef enum wk_event_state {
    WK_EV_DEAD = 0, /* dead_reason says why */
    WK_EV_PARSED,   /* well-formed; dedup not decided yet */
    WK_EV_DUPLICATE,
    WK_EV_COUNTED,
} wk_event_state;

typedef struct wk_event {
    int32_t partition;
    int64_t offset;
    wk_event_state state;
    const char *dead_reason; /* static string or arena, when state == WK_EV_DEAD */
    /* valid when the message decoded (tenant may be set even for DEAD, when known): */
    const char *tenant, *event_id, *name; /* arena copies, NUL-terminated */
    int64_t ts_ms, received_ms;
    json_t *root;       /* the decoded message (owns properties); released by wk_event_release */
    json_t *properties; /* borrowed from root; an object */
    bool root_in_arena; /* root's nodes live in the batch arena (jalloc.h): never decref'd */
    bool json_scope;    /* inside wk_message_decode's arena scope (release may decref there) */
    /* the properties' JSON text exactly as in the message (arena), so raw_events needs no
     * re-serialization; NULL when it could not be located (then serialize `properties`) */
    const char *props_text;
    size_t props_len;
    /* its COPY rows in the batch's row buffers (wk_batch_prepare), length 0 when not built */
    size_t raw_off, raw_len, key_off, key_len;
    bool repeat;         /* same dedup key as an earlier event of its batch (wk_batch_seal) */
    const char *payload; /* arena copy of the raw message, only for DEAD events */
    size_t payload_len;
    bool late;                         /* behind the partition watermark when processed */
    bool dropped;                      /* its partition was fenced: not ours to commit */
    const char *forced_reason;         /* dead-lettered after PostgreSQL rejected it alone */
    const struct ea_rollup_prep *prep; /* COUNTED: prepared for aggregation (attempt arena) */
} wk_event;

/* Decodes payload into ev (partition and offset are set by the caller). Allocates strings in a.
 * Never fails as a function: on a bad message ev->state = WK_EV_DEAD with a reason such as
 * "invalid_json", "unsupported_version", "missing_field:tenant", "invalid_field:ts". Returns
 * false only when the arena is out of memory. */
bool wk_message_decode(wk_event *ev, const void *payload, size_t len, ea_arena *a);

/* Drops the JSON tree of ev (idempotent). */
void wk_event_release(wk_event *ev);

#endif
