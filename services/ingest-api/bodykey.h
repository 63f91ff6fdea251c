/*
 * bodykey.h — the API key a body carries (browser keys as "api_key" in /ingest bodies, Segment's
 * "writeKey", PostHog's "api_key"/"token"), found by scanning the body's text instead of parsing
 * it. Why: without an Authorization header the key is in the body, and the body used to be
 * parsed whole (jansson: one allocation per value) before the key was even looked at — an
 * unauthenticated 1 KB gzip request that inflates to 1 MiB of `{},{},...` cost ~35 ms of the
 * event loop, and 16 connections sending it took a valid key's p50 from 6.5 ms to 1.4 s (red-team
 * pass). The scan walks only the top-level object's members (and, for PostHog, the members of
 * "properties"), skipping every other value by its brackets and strings without building
 * anything: a few milliseconds for a MiB. The full parse happens once the key is verified.
 *
 * The scan does not validate what it skips; the parse after authentication does (invalid JSON
 * is then answered 400 as before). Member names are compared as written: a name spelled with
 * \u escapes is not found (no client does that).
 */
#ifndef INGEST_BODYKEY_H
#define INGEST_BODYKEY_H

#include <stddef.h>

typedef enum {
    INGEST_BODYKEY_INGEST,  /* "api_key" at the top level */
    INGEST_BODYKEY_SEGMENT, /* "writeKey" at the top level */
    INGEST_BODYKEY_POSTHOG, /* "api_key", else "token", else without "batch": properties.token */
} ingest_bodykey_form;

typedef enum {
    INGEST_BODYKEY_FOUND,     /* *key and *klen: the string's bytes as sent, or "" and 0 when the
                               * member's value is not a string */
    INGEST_BODYKEY_NONE,      /* well-formed as far as scanned, no such member (or the body is
                               * not a JSON object) */
    INGEST_BODYKEY_MALFORMED, /* the top-level structure is broken at byte *offset */
    INGEST_BODYKEY_TOO_DEEP,  /* nesting beyond INGEST_BODYKEY_MAX_DEPTH, at byte *offset */
} ingest_bodykey_status;

/* jansson's own parsing-depth guard: a body deeper than this was refused as too_deep before */
#define INGEST_BODYKEY_MAX_DEPTH 2048

ingest_bodykey_status ingest_bodykey_scan(const char *body, size_t len, ingest_bodykey_form form,
                                          const char **key, size_t *klen, size_t *offset);

#endif
