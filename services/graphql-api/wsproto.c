/*
 * wsproto.c — graphql-transport-ws message rules (see wsproto.h). Mirrors the graphql-ws
 * library's server: validateMessage for shapes, and its close codes — 4400 invalid message,
 * 4401 subscribe before connection_ack, 4409 duplicate operation id, 4429 a second
 * connection_init. Pure functions of their arguments, so the fuzz driver can run them without
 * sockets or a database.
 */
#include "wsproto.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *gql_ws_reason(char out[GQL_WS_REASON_MAX + 1], const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : strlen(buf);
    if (len > GQL_WS_REASON_MAX) {
        len = GQL_WS_REASON_MAX;
        /* the byte after the cut continues a character: cut before that character */
        while (len > 0 && ((unsigned char)buf[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(out, buf, len);
    out[len] = '\0';
    return out;
}

static void close_with(gql_wsact *act, int code, const char *reason)
{
    act->kind = GQL_WSACT_CLOSE;
    act->code = code;
    gql_ws_reason(act->reason, "%s", reason);
}

/* graphql-ws validateMessage: payload, when present and not null, must be an object. */
static bool payload_field(gql_wsmsg *m)
{
    const json_t *p = json_object_get(m->root, "payload");
    if (p != NULL && !json_is_null(p) && !json_is_object(p))
        return false;
    m->payload = json_is_object(p) ? p : NULL;
    return true;
}

static bool optional(const json_t *v, json_type want)
{
    return v == NULL || json_is_null(v) || json_typeof(v) == want;
}

/* Fills m from its root; false when the shape is not one graphql-transport-ws allows. */
static bool parse_shape(gql_wsmsg *m)
{
    const char *type = json_string_value(json_object_get(m->root, "type"));
    if (type == NULL || !payload_field(m))
        return false;
    const char *id = json_string_value(json_object_get(m->root, "id"));
    if (strcmp(type, "connection_init") == 0) {
        m->type = GQL_WSMSG_INIT;
        m->authorization = json_string_value(json_object_get(m->payload, "authorization"));
    } else if (strcmp(type, "ping") == 0) {
        m->type = GQL_WSMSG_PING;
    } else if (strcmp(type, "pong") == 0) {
        m->type = GQL_WSMSG_PONG;
    } else if (strcmp(type, "complete") == 0) {
        if (id == NULL || id[0] == '\0')
            return false;
        m->type = GQL_WSMSG_COMPLETE;
        m->id = id;
    } else if (strcmp(type, "subscribe") == 0) {
        const json_t *p = m->payload, *q = json_object_get(p, "query"),
                     *v = json_object_get(p, "variables"), *o = json_object_get(p, "operationName");
        if (id == NULL || id[0] == '\0' || p == NULL || !json_is_string(q) ||
            !optional(v, JSON_OBJECT) || !optional(o, JSON_STRING) ||
            !optional(json_object_get(p, "extensions"), JSON_OBJECT))
            return false;
        m->type = GQL_WSMSG_SUBSCRIBE;
        m->id = id;
        m->query = json_string_value(q);
        m->variables = json_is_object(v) ? v : NULL;
        m->operation_name = json_string_value(o);
    } else {
        return false;
    }
    return true;
}

void gql_wsproto_step(gql_wsproto *st, const char *data, size_t len, bool text,
                      bool (*has_id)(void *ud, const char *id), void *ud, gql_wsmsg *m,
                      gql_wsact *act)
{
    memset(m, 0, sizeof(*m));
    memset(act, 0, sizeof(*act));
    json_error_t je;
    m->root = text ? json_loadb(data, len, 0, &je) : NULL;
    if (!json_is_object(m->root) || !parse_shape(m)) {
        m->type = GQL_WSMSG_INVALID;
        close_with(act, 4400, "Invalid message received");
        return;
    }
    switch (m->type) {
    case GQL_WSMSG_INIT:
        if (st->init_received) {
            close_with(act, 4429, "Too many initialisation requests");
            return;
        }
        st->init_received = true;
        act->kind = GQL_WSACT_AUTH;
        return;
    case GQL_WSMSG_PING:
        act->kind = GQL_WSACT_PONG;
        return;
    case GQL_WSMSG_PONG:
        act->kind = GQL_WSACT_NONE;
        return;
    case GQL_WSMSG_SUBSCRIBE:
        if (!st->acked) {
            close_with(act, 4401, "Unauthorized");
            return;
        }
        if (has_id != NULL && has_id(ud, m->id)) {
            act->kind = GQL_WSACT_CLOSE;
            act->code = 4409;
            gql_ws_reason(act->reason, "Subscriber for %s already exists", m->id);
            return;
        }
        act->kind = GQL_WSACT_SUBSCRIBE;
        return;
    case GQL_WSMSG_COMPLETE:
        act->kind = GQL_WSACT_COMPLETE;
        return;
    case GQL_WSMSG_INVALID:
        break;
    }
    close_with(act, 4400, "Invalid message received");
}

void gql_wsmsg_free(gql_wsmsg *m)
{
    json_decref(m->root);
    m->root = NULL;
}

ea_gql_document *gql_wsproto_prepare(const ea_gql_schema *s, const ea_gql_limits *limits,
                                     const gql_wsmsg *m, ea_gql_op_type *type, json_t **errors)
{
    *errors = NULL;
    ea_gql_document *doc = ea_gql_prepare(s, m->query, strlen(m->query), limits, errors);
    if (doc == NULL)
        return NULL;
    if (ea_gql_operation_type(doc, m->operation_name, type, errors) != 0) {
        ea_gql_document_free(doc);
        return NULL;
    }
    if (*type == EA_GQL_OP_MUTATION) {
        ea_gql_document_free(doc);
        *errors = json_pack("[{s:s,s:{s:s}}]", "message",
                            "mutations are not accepted over WebSocket; send them with POST "
                            "/graphql",
                            "extensions", "code", "METHOD_NOT_ALLOWED");
        return NULL;
    }
    return doc;
}
