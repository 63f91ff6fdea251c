/*
 * fuzz_ws_message.c — libFuzzer driver for graphql-api's WebSocket message path (wsproto.c): one
 * input is a conversation, frames separated by the byte 0x1E; a frame's first byte says text
 * (even) or binary (odd), the rest is its payload. Each frame goes through gql_wsproto_step on
 * one connection's state, and what the server would do next is done here without sockets:
 * connection_init acks (or not, by the frame's first byte), subscribe prepares the operation
 * against the product schema (mutations must be refused), the operation ids of subscriptions
 * are remembered for duplicate-id closes, complete forgets them, and every message the server
 * would send is serialized. Invariants checked (abort on violation): a close reason fits a
 * close frame (≤ 123 bytes) and is valid UTF-8, close codes are the protocol's, a mutation never
 * yields a document, a refused operation always says why. Seeds: corpus/ (graphql-ws
 * conversations, 94+ byte and multi-byte ids, bad shapes).
 */
#include "ea_gql.h"
#include "gql_schema_sdl.h"
#include "wsproto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IDS 16

static ea_gql_schema *schema;
static ea_gql_limits limits;

static char *ids[MAX_IDS];
static size_t nids;

static bool has_id(void *ud, const char *id)
{
    for (size_t i = 0; i < nids; i++)
        if (strcmp(ids[i], id) == 0)
            return true;
    return false;
}

static void forget(const char *id)
{
    for (size_t i = 0; i < nids; i++) {
        if (strcmp(ids[i], id) == 0) {
            free(ids[i]);
            ids[i] = ids[--nids];
            return;
        }
    }
}

/* RFC 3629 UTF-8: no overlongs, no surrogates, nothing past U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = c < 0x80           ? 1
                     : (c >> 5) == 0x6  ? 2
                     : (c >> 4) == 0xE  ? 3
                     : (c >> 3) == 0x1E ? 4
                                        : 0;
        if (len == 0 || i + len > n)
            return false;
        unsigned cp = len == 1 ? c : c & (0xFF >> (len + 1));
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

static void serialize(json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    if (text == NULL)
        abort(); /* everything the server sends must serialize */
    free(text);
    json_decref(msg);
}

static void frame(gql_wsproto *st, const uint8_t *data, size_t size)
{
    if (size == 0)
        return;
    bool text = (data[0] & 1) == 0;
    gql_wsmsg m;
    gql_wsact act;
    gql_wsproto_step(st, (const char *)data + 1, size - 1, text, has_id, NULL, &m, &act);
    switch (act.kind) {
    case GQL_WSACT_CLOSE: {
        size_t n = strlen(act.reason);
        if (n > GQL_WS_REASON_MAX || !utf8_valid((const unsigned char *)act.reason, n))
            abort();
        if (act.code != 4400 && act.code != 4401 && act.code != 4409 && act.code != 4429)
            abort();
        break;
    }
    case GQL_WSACT_AUTH:
        st->acked = (data[0] & 2) == 0; /* either outcome of the credential check */
        if (st->acked)
            serialize(json_pack("{s:s}", "type", "connection_ack"));
        break;
    case GQL_WSACT_PONG: {
        json_t *pong = json_pack("{s:s}", "type", "pong");
        if (m.payload != NULL)
            json_object_set(pong, "payload", (json_t *)m.payload);
        serialize(pong);
        break;
    }
    case GQL_WSACT_SUBSCRIBE: {
        if (m.id == NULL || m.query == NULL || !st->acked)
            abort();
        ea_gql_op_type type = EA_GQL_OP_QUERY;
        json_t *errors = NULL;
        ea_gql_document *doc = gql_wsproto_prepare(schema, &limits, &m, &type, &errors);
        if (doc == NULL) {
            if (json_array_size(errors) == 0)
                abort(); /* a refusal always says why */
            serialize(json_pack("{s:s,s:s,s:o}", "type", "error", "id", m.id, "payload", errors));
            break;
        }
        if (type == EA_GQL_OP_MUTATION)
            abort(); /* never over a socket */
        if (type == EA_GQL_OP_SUBSCRIPTION) {
            const char *field = NULL;
            json_t *args = NULL, *suberr = NULL;
            if (ea_gql_subscription_field(schema, doc, m.operation_name, m.variables, &field, &args,
                                          &suberr) == 0) {
                json_decref(args);
                if (nids < MAX_IDS)
                    ids[nids++] = strdup(m.id);
            } else {
                serialize(
                    json_pack("{s:s,s:s,s:o}", "type", "error", "id", m.id, "payload", suberr));
            }
        }
        ea_gql_document_free(doc);
        break;
    }
    case GQL_WSACT_COMPLETE:
        if (m.id == NULL || m.id[0] == '\0')
            abort();
        forget(m.id);
        break;
    case GQL_WSACT_NONE:
        break;
    }
    gql_wsmsg_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (schema == NULL) {
        char err[256];
        schema = ea_gql_schema_parse(gql_schema_sdl, err, sizeof(err));
        if (schema == NULL)
            abort();
        ea_gql_limits_default(&limits);
    }
    gql_wsproto st = {false, false};
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i == size || data[i] == 0x1E) {
            frame(&st, data + start, i - start);
            start = i + 1;
        }
    }
    for (size_t i = 0; i < nids; i++)
        free(ids[i]);
    nids = 0;
    return 0;
}
