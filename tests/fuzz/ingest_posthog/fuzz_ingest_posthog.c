/*
 * fuzz_ingest_posthog.c — libFuzzer driver for the PostHog front door's body, gzip included:
 * the input is gunzipped under a 64 KiB cap (inflate.c) when it is a gzip member, else taken as
 * is, then parsed (posthog.c over body.c). Any bytes must yield a status (never a crash, leak,
 * UB or more than the cap inflated); every accepted event must carry a key and a payload that is
 * valid JSON within the size limit, without the project key in its properties.
 */
#include "bodykey.h"
#include "inflate.h"
#include "posthog.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CAP (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *plain = NULL;
    size_t plen = 0;
    const char *body = (const char *)data;
    size_t blen = size;
    ingest_inflate_status zs = ingest_gunzip(data, size, CAP, &plain, &plen);
    if (zs == INGEST_INFLATE_OK) {
        if (plen > CAP)
            abort();
        body = plain, blen = plen;
    } else if (plain != NULL) {
        abort();
    }
    ingest_limits lim = {.max_event = 4096,
                         .max_batch = 50,
                         .max_depth = 8,
                         .max_future_ms = 3600 * 1000,
                         .retention_days = 30};
    const char *key;
    size_t klen = 0, at;
    ingest_bodykey_status ks =
        ingest_bodykey_scan(body, blen, INGEST_BODYKEY_POSTHOG, &key, &klen, &at);
    if ((ks == INGEST_BODYKEY_FOUND) != (key != NULL) || at > blen ||
        (key != NULL && klen > 0 && (key < body || key + klen > body + blen)))
        abort(); /* the key, when found, lies inside the body */
    json_t *root;
    ingest_body_error e;
    if (ingest_body_load(body, blen, &root, &e) != INGEST_BODY_OK) {
        free(plain);
        return 0;
    }
    free(plain);
    ingest_batch b;
    ingest_body_status st =
        ingest_posthog_events(root, 0, "fuzz", INT64_C(1764151200000), &lim, &b, &e);
    json_decref(root);
    if (st != INGEST_BODY_OK)
        return 0;
    for (size_t i = 0; i < b.n; i++) {
        const ingest_event *ev = &b.events[i];
        if (!ev->accepted)
            continue;
        if (ev->key == NULL || ev->payload == NULL || ev->payload_len > lim.max_event)
            abort();
        json_error_t je;
        json_t *m = json_loads(ev->payload, 0, &je);
        json_t *p = m != NULL ? json_object_get(m, "properties") : NULL;
        if (m == NULL || json_object_get(p, "token") != NULL ||
            json_object_get(p, "api_key") != NULL)
            abort();
        json_decref(m);
    }
    ingest_batch_free(&b);
    return 0;
}
