/*
 * body.h — turns request bodies into Kafka messages. The one pipeline every front door shares:
 * JSON parse (jansson, `ingest_body_load`), the batch bounds (`ingest_batch_alloc`) and, per
 * event, validation of the reserved fields, timestamp normalisation and clock-skew correction,
 * event_id generation (UUIDv7) and the Kafka message (`ingest_event_build`). The /ingest body
 * forms (object, array, {"batch":[...],"sent_at":...}) are here too; the Segment and PostHog
 * forms are thin adapters over the same functions (segment.c, posthog.c). Pure: no I/O, so it is
 * unit-tested and fuzzed directly (tests/unit/ingest, tests/fuzz/ingest_body).
 */
#ifndef INGEST_BODY_H
#define INGEST_BODY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ingest_limits {
    size_t max_event; /* bytes of one serialized Kafka message value */
    size_t max_batch; /* events per body */
    size_t max_depth; /* JSON nesting depth of one event (the event object is depth 1) */
    int64_t max_future_ms;
    long retention_days; /* RAW_RETENTION_DAYS: older events are too_old (lib/rollup's rule) */
} ingest_limits;

typedef struct ingest_event {
    bool accepted;          /* valid and to be produced (until Kafka says otherwise) */
    const char *error_code; /* static string when rejected: "invalid_event", "event_too_large"... */
    char error[160];        /* human message when rejected */
    char *event_id;         /* points into key; NULL when the event had no usable id */
    char *key;              /* malloc'd "<tenant>/<event_id>" (owns event_id's bytes) */
    char *payload;          /* malloc'd Kafka value (docs/event-format.md) */
    size_t payload_len;
} ingest_event;

typedef struct ingest_batch {
    size_t n;
    ingest_event *events; /* n entries, malloc'd */
} ingest_batch;

typedef enum ingest_body_status {
    INGEST_BODY_OK = 0,       /* batch filled; individual events may still be rejected */
    INGEST_BODY_INVALID_JSON, /* 400, offset set */
    INGEST_BODY_TOO_DEEP,     /* 400: nesting beyond what the parser allows */
    INGEST_BODY_BAD_SHAPE,    /* 400: not an object, array or batch envelope */
    INGEST_BODY_TOO_MANY,     /* 413: more than max_batch events */
    INGEST_BODY_EMPTY,        /* 400: no events */
    INGEST_BODY_NOMEM,
} ingest_body_status;

typedef struct ingest_body_error {
    size_t offset; /* byte offset of invalid JSON */
    char message[200];
} ingest_body_error;

/* A front door's body → events step (ingest_body_events, ingest_segment_events,
 * ingest_posthog_events): `call` says which endpoint of the door was called (0 for doors with
 * one form). May modify root. On INGEST_BODY_OK the caller owns *out (ingest_batch_free). */
typedef ingest_body_status (*ingest_adapt_fn)(json_t *root, int call, const char *tenant,
                                              int64_t received_ms, const ingest_limits *limits,
                                              ingest_batch *out, ingest_body_error *err);

/* Parses body as JSON (duplicate keys refused). On INGEST_BODY_OK *root is a new reference; else
 * INGEST_BODY_INVALID_JSON or INGEST_BODY_TOO_DEEP with err->offset and err->message. */
ingest_body_status ingest_body_load(const char *body, size_t len, json_t **root,
                                    ingest_body_error *err);

/* Checks 1 <= n <= limits->max_batch and allocates n events in out (INGEST_BODY_EMPTY,
 * INGEST_BODY_TOO_MANY or INGEST_BODY_NOMEM with err filled otherwise). */
ingest_body_status ingest_batch_alloc(ingest_batch *out, size_t n, const ingest_limits *limits,
                                      ingest_body_error *err);

/* Validates one event in /ingest form and writes its Kafka message into e (accepted, or rejected
 * with a code and message). sent_at (may be NULL) is the batch's client clock, used when the
 * event has no sent_at of its own. Removes the reserved fields from ev. */
void ingest_event_build(json_t *ev, const json_t *sent_at, const char *tenant, int64_t received_ms,
                        const ingest_limits *limits, ingest_event *e);

/* Marks e rejected with a static code and a message (for adapters refusing an event before it
 * reaches ingest_event_build). */
void ingest_event_reject(ingest_event *e, const char *code, const char *message);

/* True for the names /ingest reserves (event, timestamp, event_id, sent_at, api_key). */
bool ingest_field_reserved(const char *name);

/* Copies every member of props into ev as a property; a member named like a reserved field is
 * kept as "property_<name>" so it can never set the event's name, time or id. Values are shared
 * (json_object_set). false on allocation failure. */
bool ingest_event_put_props(json_t *ev, const json_t *props);

/* The /ingest body forms → events (an ingest_adapt_fn; call is unused). "api_key" is removed from
 * every event and from the batch envelope, so a key never becomes a stored property. */
ingest_body_status ingest_body_events(json_t *root, int call, const char *tenant,
                                      int64_t received_ms, const ingest_limits *limits,
                                      ingest_batch *out, ingest_body_error *err);

/* ingest_body_load + ingest_body_events, for tests and the fuzzer. */
ingest_body_status ingest_body_parse(const char *body, size_t len, const char *tenant,
                                     int64_t received_ms, const ingest_limits *limits,
                                     ingest_batch *out, ingest_body_error *err);

void ingest_batch_free(ingest_batch *b);

/* Writes a UUIDv7 (RFC 9562: 48-bit ms timestamp, version 7, random) as 36 chars + NUL. */
void ingest_uuid7(int64_t ms, char out[37]);

#endif
