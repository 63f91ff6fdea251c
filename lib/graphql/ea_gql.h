/*
 * ea_gql.h — our GraphQL engine (October 2021 spec; behaves like graphql-js for the documents it
 * accepts or rejects). Pipeline: schema from SDL → ea_gql_prepare (lex, parse, validate under
 * limits; the result is read-only and may be cached by query hash and shared) → ea_gql_execute
 * (coerce variables, check cost, run resolvers, build {"data","errors"}). Values are jansson
 * json_t: resolvers return JSON, object types are JSON objects whose fields the default resolver
 * reads. Not for: HTTP or WebSocket transport (services/graphql-api owns those).
 */
#ifndef EA_GQL_H
#define EA_GQL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct ea_gql_schema ea_gql_schema;
typedef struct ea_gql_document ea_gql_document;

typedef enum ea_gql_op_type {
    EA_GQL_OP_QUERY = 0,
    EA_GQL_OP_MUTATION,
    EA_GQL_OP_SUBSCRIPTION,
} ea_gql_op_type;

/* Error filled by a resolver. code goes to extensions.code (e.g. "FORBIDDEN", "BAD_USER_INPUT",
 * "INTERNAL_SERVER_ERROR"); extensions (NULL, or an object the engine takes over) adds more keys
 * there — what the caller could change, say. */
typedef struct ea_gql_error {
    char message[256];
    char code[48];
    json_t *extensions;
} ea_gql_error;

typedef struct ea_gql_field_ctx {
    void *request_ctx;       /* the pointer given to ea_gql_execute */
    const json_t *parent;    /* parent object value; the root value for root fields */
    const json_t *args;      /* coerced arguments, defaults applied, as a JSON object */
    const char *parent_type; /* e.g. "Query" */
    const char *field_name;  /* e.g. "metrics" */
    const char *alias;       /* response key */
    const json_t *path;      /* response path so far (JSON array), for logs */
} ea_gql_field_ctx;

/* A resolver sets *out to a new reference (json_null() allowed) and returns 0, or fills err and
 * returns -1 (the field becomes null with an error; null propagation applies). */
typedef int (*ea_gql_resolver_fn)(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);

/* Cost of one field given its coerced args; returns >= 0. Introspection fields are never
 * charged. The document's cost is the sum over every selected field (fragments expanded). */
typedef long (*ea_gql_cost_fn)(const char *parent_type, const char *field_name, const json_t *args,
                               void *ud);

typedef struct ea_gql_limits {
    size_t max_bytes;      /* query text length; default 100000 */
    size_t max_tokens;     /* default 2000 */
    size_t max_depth;      /* selection depth, introspection fields exempt; default 8 */
    size_t max_aliases;    /* default 15 */
    size_t max_directives; /* default 50 */
    long max_cost;         /* default 10000; 0 disables */
    /* Work budget of one execution: every field resolved costs 1 unit, a field of an
     * introspection type (and __schema/__type) introspection_work units. Past max_work the
     * execution stops at once with WORK_LIMIT. Default 1000000; 0 disables. */
    size_t max_work;
    size_t introspection_work; /* default 50 */
    /* The result's compact JSON size, counted while it is built (errors included). Past it the
     * execution stops at once with RESPONSE_TOO_LARGE. Default 32 MiB; 0 disables. */
    size_t max_response_bytes;
    bool introspection;     /* __schema/__type allowed; default true (__typename always allowed) */
    ea_gql_cost_fn cost_fn; /* NULL: every field costs 1 */
    void *cost_ud;
} ea_gql_limits;

/* Fills the defaults listed above. */
void ea_gql_limits_default(ea_gql_limits *l);

/* Builds a schema from SDL (type, input, enum, scalar, interface, union, schema definitions,
 * descriptions, default values, @deprecated). Built-in scalars are implicit; custom scalars such
 * as DateTime and JSON pass values through. On error returns NULL and writes a message into
 * errbuf. The schema is immutable once resolvers are set and may be shared across threads. */
ea_gql_schema *ea_gql_schema_parse(const char *sdl, char *errbuf, size_t errlen);
void ea_gql_schema_free(ea_gql_schema *s);

/* Attaches a resolver to Type.field. Returns 0, or -1 if the type or field does not exist. */
int ea_gql_schema_set_resolver(ea_gql_schema *s, const char *type, const char *field,
                               ea_gql_resolver_fn fn);

/* Lexes, parses and validates query under limits. On success returns a read-only document
 * (caller frees). On failure returns NULL and sets *errors to a new JSON array of GraphQL error
 * objects ({message, locations, extensions:{code}}) with code GRAPHQL_PARSE_FAILED,
 * GRAPHQL_VALIDATION_FAILED, or a limit code: QUERY_TOO_LARGE, TOKEN_LIMIT, DEPTH_LIMIT,
 * ALIAS_LIMIT, DIRECTIVE_LIMIT, INTROSPECTION_DISABLED. */
ea_gql_document *ea_gql_prepare(const ea_gql_schema *s, const char *query, size_t len,
                                const ea_gql_limits *limits, json_t **errors);
void ea_gql_document_free(ea_gql_document *d);

/* Finds the operation to run (operation_name may be NULL when the document has exactly one).
 * Returns 0 and sets *type, or -1 and sets *errors (code BAD_REQUEST-like: "OPERATION_NOT_FOUND").
 */
int ea_gql_operation_type(const ea_gql_document *d, const char *operation_name,
                          ea_gql_op_type *type, json_t **errors);

/* For a subscription: the root field's name and coerced arguments (new reference in *args).
 * Returns 0, or -1 with *errors set (bad variables, not a subscription). */
int ea_gql_subscription_field(const ea_gql_schema *s, const ea_gql_document *d,
                              const char *operation_name, const json_t *variables,
                              const char **field_name, json_t **args, json_t **errors);

/* Executes the selected operation. variables may be NULL. root_value (may be NULL) is the
 * parent of root fields: for a subscription event pass {"<field>": payload}. Returns a new
 * response object: {"data": ...} plus "errors" when any. *request_error is set true when
 * execution never started (bad variables, operation not found, cost over limits->max_cost) or
 * was stopped by the work budget or the response cap (WORK_LIMIT, RESPONSE_TOO_LARGE: nothing
 * of the partial result is kept, though root mutation fields already run stay done); then the
 * response has "errors" and no "data" key. limits may be NULL (no cost check, budget or cap). */
json_t *ea_gql_execute(const ea_gql_schema *s, const ea_gql_document *d, const char *operation_name,
                       const json_t *variables, const json_t *root_value, void *request_ctx,
                       const ea_gql_limits *limits, bool *request_error);

/* What one execution spent: work units charged and the result's compact JSON bytes counted
 * while it was built (both 0 when limits was NULL); stopped: WORK_LIMIT or RESPONSE_TOO_LARGE. */
typedef struct ea_gql_exec_stats {
    size_t work;
    size_t bytes;
    bool stopped;
} ea_gql_exec_stats;

/* ea_gql_execute, and fills *stats (may be NULL) — for callers that act on an operation's size
 * (graphql-api gives a large answer's memory back to the system after sending it). */
json_t *ea_gql_execute_counted(const ea_gql_schema *s, const ea_gql_document *d,
                               const char *operation_name, const json_t *variables,
                               const json_t *root_value, void *request_ctx,
                               const ea_gql_limits *limits, bool *request_error,
                               ea_gql_exec_stats *stats);

#endif
