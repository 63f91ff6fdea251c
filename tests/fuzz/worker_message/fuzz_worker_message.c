/*
 * fuzz_worker_message.c — libFuzzer driver for the worker's input: a Kafka message (any bytes,
 * as anyone able to produce to the topic could send) decoded with jansson's nodes in the batch
 * arena (jalloc.c), then its COPY rows built (wk_batch_add). Never a crash, leak or UB; a
 * decoded event has bounded identifiers, properties that are an object (and whose located text
 * parses back to the same object), and a raw_events row that is a well-formed COPY binary tuple
 * of 8 fields filling exactly its length.
 */
#include "jalloc.h"
#include "message.h"
#include "batch.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void check_binary_row(const char *row, size_t len)
{
    const unsigned char *u = (const unsigned char *)row;
    if (len < 2 || (u[0] << 8 | u[1]) != 8)
        abort();
    size_t i = 2;
    for (int f = 0; f < 8; f++) {
        if (i + 4 > len)
            abort();
        uint32_t n = be32(u + i);
        i += 4;
        if (n > len - i)
            abort();
        if (memchr(row + i, '\0', f < 3 ? n : 0) != NULL) /* text fields: no NUL */
            abort();
        i += n;
    }
    if (i != len)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int installed;
    if (!installed) {
        wk_jalloc_install();
        installed = 1;
    }
    wk_batch b;
    if (wk_batch_init(&b) != EA_OK || !wk_batch_add(&b, 2, 7, data, size, true) || b.n != 1)
        abort(); /* only out of memory may fail */
    wk_event *ev = &b.ev[0];
    if (ev->state == WK_EV_PARSED) {
        if (ev->tenant == NULL || ev->event_id == NULL || ev->name == NULL ||
            strlen(ev->tenant) > WK_TENANT_MAX || strlen(ev->event_id) > WK_EVENT_ID_MAX ||
            strlen(ev->name) > WK_EVENT_NAME_MAX || !json_is_object(ev->properties))
            abort();
        if (ev->props_text != NULL) {
            json_error_t je;
            json_t *p = json_loadb(ev->props_text, ev->props_len, 0, &je);
            if (p == NULL || !json_equal(p, ev->properties))
                abort();
            json_decref(p);
        }
        if (ev->raw_len == 0 || ev->key_len == 0)
            abort();
        check_binary_row(b.raw_rows.p + ev->raw_off, ev->raw_len);
    } else if (ev->state != WK_EV_DEAD || ev->dead_reason == NULL) {
        abort();
    }
    wk_batch_destroy(&b);
    return 0;
}
