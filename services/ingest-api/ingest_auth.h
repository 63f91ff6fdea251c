/*
 * ingest_auth.h — the stage every ingest front door passes before its own work: API key
 * (lib/apikey/ea_keyauth, verified off the loop), `ingest` scope, the key's token bucket. A
 * front door hands over the presented key and a continuation; this stage answers every refusal
 * itself (401, 403, 429 with Retry-After, 503) and calls the continuation — at once when the key
 * is cached, later on the loop when a pool thread had to verify it.
 */
#ifndef INGEST_AUTH_H
#define INGEST_AUTH_H

#include "handler.h"

struct ingest_door;

/* What a front door does once the caller may ingest. ctx is the front door's own state. */
typedef void (*ingest_auth_next_fn)(ingest_app *app, h2o_req_t *req, const ea_principal *who,
                                    void *ctx);

/* Authenticates key (klen bytes; NULL when the request carried none) for req. Refusals are
 * answered in door's shape (frontdoor.h: ingest_door_error), a missing key with the door's
 * missing_msg (it names where this front door expects the key). ctx must stay valid until next
 * runs or the request is gone (e.g. allocate it in req->pool). */
void ingest_auth_run(ingest_app *app, h2o_req_t *req, const char *key, size_t klen,
                     const struct ingest_door *door, ingest_auth_next_fn next, void *ctx);

/* Answers req for a refused verification (any status but OK/PENDING) with the right code and
 * headers. For front doors that refuse before calling ingest_auth_run (e.g. two keys sent). */
void ingest_auth_refuse(h2o_req_t *req, const ea_keyauth_result *r, const struct ingest_door *door);

/* The loop-side callback for ea_http_watch_new() on ea_keyauth_fd(): runs finished checks. */
void ingest_auth_on_ready(void *app);

#endif
