/*
 * cors.h — CORS for browser keys (SPEC §4). A preflight (OPTIONS) carries no key, so whether an
 * origin may send is answered from the set of origins listed on live browser keys, which a
 * background thread reloads from PostgreSQL every INGEST_ORIGINS_REFRESH_S seconds (the event
 * loop never waits for the database; a newly created browser key's origins are answered within
 * that delay). The actual POST is decided by the key: a browser key's own origins (ea_principal).
 * Not for: which key may be used from where (frontdoor.c holds those rules).
 */
#ifndef INGEST_CORS_H
#define INGEST_CORS_H

#include "ea_err.h"
#include "ea_http.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct ingest_cors ingest_cors;

/* Starts the refresher thread (it connects lazily and retries). NULL with err filled when the
 * thread cannot be started. */
ingest_cors *ingest_cors_new(const char *database_url, long refresh_s, struct ea_err *err);

/* Stops the thread and frees the set. NULL is allowed. */
void ingest_cors_free(ingest_cors *c);

/* True when origin (len bytes, as sent in the Origin header) is listed on a live browser key, as
 * of the last refresh. */
bool ingest_cors_listed(ingest_cors *c, const char *origin, size_t len);

/* Answers an OPTIONS request: 204 with Access-Control-Allow-Origin (and the methods, headers and
 * max-age a POST needs) for a listed origin, 204 without any CORS header otherwise. */
void ingest_cors_preflight(ingest_cors *c, h2o_req_t *req);

/* Adds Access-Control-Allow-Origin: origin and Vary: Origin to req's response (so the page can
 * read the answer). */
void ingest_cors_allow(h2o_req_t *req, const char *origin, size_t len);

/* The request's Origin header (exactly one), or NULL. */
const h2o_iovec_t *ingest_cors_origin(const h2o_req_t *req);

#endif
