/*
 * fuzz_ingest_body.c — libFuzzer driver for ingest-api body parsing and validation: any bytes
 * must yield a status (never a crash, leak or UB) and every accepted event must carry a key and
 * a payload that is itself valid JSON within the size limit.
 */
#include "body.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ingest_limits lim = {.max_event = 4096,
                         .max_batch = 50,
                         .max_depth = 8,
                         .max_future_ms = 3600 * 1000,
                         .retention_days = 30};
    ingest_batch b;
    ingest_body_error e;
    ingest_body_status st =
        ingest_body_parse((const char *)data, size, "fuzz", INT64_C(1764151200000), &lim, &b, &e);
    if (st != INGEST_BODY_OK)
        return 0;
    for (size_t i = 0; i < b.n; i++) {
        if (!b.events[i].accepted)
            continue;
        if (b.events[i].key == NULL || b.events[i].payload == NULL ||
            b.events[i].payload_len > lim.max_event)
            abort();
        json_error_t je;
        json_t *m = json_loads(b.events[i].payload, 0, &je);
        if (m == NULL)
            abort();
        json_decref(m);
    }
    ingest_batch_free(&b);
    return 0;
}
