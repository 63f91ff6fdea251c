/*
 * body.h — turns an /ingest request body into Kafka messages: JSON parse (jansson), body forms
 * (object, array, {"batch":[...],"sent_at":...}), per-event validation of the reserved fields,
 * timestamp normalisation and clock-skew correction, event_id generation (UUIDv7). Pure: no I/O,
 * so it is unit-tested and fuzzed directly (tests/unit/ingest, tests/fuzz/ingest_body).
 */
#ifndef INGEST_BODY_H
#define INGEST_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ingest_limits {
    size_t max_event; /* bytes of one serialized Kafka message value */
    size_t max_batch; /* events per body */
    size_t max_depth; /* JSON nesting depth of one event (the event object is depth 1) */
    int64_t max_future_ms;
    int64_t max_age_ms;
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

/* Parses body for tenant at received_ms. On INGEST_BODY_OK the caller owns *out and frees it
 * with ingest_batch_free. On any other status *out is empty and err explains. */
ingest_body_status ingest_body_parse(const char *body, size_t len, const char *tenant,
                                     int64_t received_ms, const ingest_limits *limits,
                                     ingest_batch *out, ingest_body_error *err);

void ingest_batch_free(ingest_batch *b);

/* Writes a UUIDv7 (RFC 9562: 48-bit ms timestamp, version 7, random) as 36 chars + NUL. */
void ingest_uuid7(int64_t ms, char out[37]);

#endif
