/*
 * fuzz_ingest_segment.c — libFuzzer driver for the Segment front door's body (segment.c over
 * body.c): the first byte picks the call (/v1/batch, track, page, ...), the rest is the body.
 * Any bytes must yield a status (never a crash, leak or UB); every accepted event must carry a
 * key and a payload that is valid JSON within the size limit, and the write key is never copied
 * into properties (a property named "writeKey" appears only when the client's own properties
 * or traits had one: that is its data).
 */
#include "bodykey.h"
#include "segment.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* True when a message's own properties or traits hold a member named "writeKey". */
static bool user_write_key(const json_t *msg)
{
    return json_object_get(json_object_get(msg, "properties"), "writeKey") != NULL ||
           json_object_get(json_object_get(msg, "traits"), "writeKey") != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int call = data[0] % 7;
    ingest_limits lim = {.max_event = 4096,
                         .max_batch = 50,
                         .max_depth = 8,
                         .max_future_ms = 3600 * 1000,
                         .retention_days = 30};
    const char *key;
    size_t klen = 0, at;
    ingest_bodykey_status ks = ingest_bodykey_scan((const char *)data + 1, size - 1,
                                                   INGEST_BODYKEY_SEGMENT, &key, &klen, &at);
    if ((ks == INGEST_BODYKEY_FOUND) != (key != NULL) || at > size - 1 ||
        (key != NULL && klen > 0 &&
         (key < (const char *)data + 1 || key + klen > (const char *)data + size)))
        abort(); /* the key, when found, lies inside the body */
    json_t *root;
    ingest_body_error e;
    if (ingest_body_load((const char *)data + 1, size - 1, &root, &e) != INGEST_BODY_OK)
        return 0;
    bool user_wk = user_write_key(root);
    const json_t *list = json_object_get(root, "batch");
    for (size_t i = 0; json_is_array(list) && i < json_array_size(list); i++)
        user_wk = user_wk || user_write_key(json_array_get(list, i));
    ingest_batch b;
    ingest_body_status st =
        ingest_segment_events(root, call, "fuzz", INT64_C(1764151200000), &lim, &b, &e);
    json_decref(root);
    if (st != INGEST_BODY_OK) {
        if (b.n != 0 || b.events != NULL || e.message[0] == '\0')
            abort();
        return 0;
    }
    for (size_t i = 0; i < b.n; i++) {
        const ingest_event *ev = &b.events[i];
        if (!ev->accepted) {
            if (ev->error_code == NULL || ev->error[0] == '\0')
                abort();
            continue;
        }
        if (ev->key == NULL || ev->payload == NULL || ev->payload_len > lim.max_event)
            abort();
        json_error_t je;
        json_t *m = json_loads(ev->payload, 0, &je);
        if (m == NULL ||
            (!user_wk && json_object_get(json_object_get(m, "properties"), "writeKey") != NULL))
            abort();
        json_decref(m);
    }
    ingest_batch_free(&b);
    return 0;
}
