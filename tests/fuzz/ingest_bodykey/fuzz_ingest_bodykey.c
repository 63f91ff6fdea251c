/*
 * fuzz_ingest_bodykey.c — libFuzzer driver for bodykey.c, the scan that finds a body's API key
 * before authentication without parsing the body. The first byte picks the front door's form
 * (/ingest, Segment, PostHog), the rest is the body. Invariants: never a crash, leak or UB, and
 * the offset and key lie inside the body; and differentially, for every body jansson accepts
 * (the parse that follows authentication), the scan agrees with the JSON lookup the front
 * doors did before (written out below as the reference): the same key, or none — never
 * MALFORMED or TOO_DEEP for valid JSON. (A member name or key written with \ escapes is the
 * documented exception: the scan compares raw bytes.)
 */
#include "body.h"
#include "bodykey.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The lookups the front doors ran on the parsed body before the scan replaced them. */
static const json_t *reference(const json_t *root, ingest_bodykey_form form)
{
    if (!json_is_object(root))
        return NULL;
    if (form == INGEST_BODYKEY_SEGMENT)
        return json_object_get(root, "writeKey");
    const json_t *k = json_object_get(root, "api_key");
    if (form == INGEST_BODYKEY_INGEST || k != NULL)
        return k;
    k = json_object_get(root, "token");
    if (k == NULL && json_object_get(root, "batch") == NULL) {
        const json_t *props = json_object_get(root, "properties");
        k = json_is_object(props) ? json_object_get(props, "token") : NULL;
    }
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    ingest_bodykey_form form = (ingest_bodykey_form)(data[0] % 3);
    const char *body = (const char *)data + 1;
    size_t blen = size - 1;
    const char *key;
    size_t klen, at;
    ingest_bodykey_status st = ingest_bodykey_scan(body, blen, form, &key, &klen, &at);
    if (at > blen || (st == INGEST_BODYKEY_FOUND) != (key != NULL))
        abort();
    if (key != NULL && klen > 0 && (key < body || key + klen > body + blen))
        abort();
    json_t *root;
    ingest_body_error e;
    if (ingest_body_load(body, blen, &root, &e) != INGEST_BODY_OK)
        return 0;
    if (memchr(body, '\\', blen) == NULL) { /* no escapes: names and keys compare as written */
        const json_t *want = reference(root, form);
        if (want == NULL) {
            if (st != INGEST_BODYKEY_NONE)
                abort();
        } else {
            const char *ws = json_is_string(want) ? json_string_value(want) : "";
            size_t wl = json_is_string(want) ? json_string_length(want) : 0;
            if (st != INGEST_BODYKEY_FOUND || klen != wl || memcmp(key, ws, wl) != 0)
                abort();
        }
    } else if (st == INGEST_BODYKEY_MALFORMED || st == INGEST_BODYKEY_TOO_DEEP) {
        abort(); /* valid JSON is never refused by the scan */
    }
    json_decref(root);
    return 0;
}
