/*
 * app.h — graphql-api's process state (config, schema, database connection, key verifier)
 * and the per-request context every resolver receives.
 */
#ifndef GQL_APP_H
#define GQL_APP_H

#include "ea_gql.h"
#include "ea_keyauth.h"
#include "gql_config.h"

#include <libpq-fe.h>

typedef struct gql_app {
    const gql_config *cfg;
    ea_gql_schema *schema;
    ea_gql_limits limits;
    ea_keyauth *auth;
    const char *database_url;
    struct gql_doccache *docs;      /* prepared documents by query hash (doccache.c) */
    struct gql_ws_server *ws;       /* WebSocket subscriptions (ws.c) */
    struct gql_login *login;        /* /auth/ routes and their OIDC worker thread (login.c) */
    struct ea_http_delayer *tarpit; /* late 429s for failed key attempts (auth.c) */
    struct gql_exec *exec;          /* the worker pool: everything that needs PostgreSQL (exec.c) */
    struct gql_fair *fair;          /* each client's share of exec's threads (fair.c) */
    struct gql_exec *fast;          /* one thread for short work no query may hold up: session
                                     * rows, logout, /readyz (exec.c) */
    struct gql_bcache *bcache;      /* series by bucket, kept coherent by the change feed */
    struct gql_respcache *resp;     /* whole answers of repeated queries (respcache.c) */
    struct ea_ratelimit *limiter;   /* the query rate limit (lib/ratelimit: leases, refills) */
} gql_app;

/* Who is calling: an API key (one tenant, its scopes) or a signed-in user (tenants through
 * memberships). Resolvers never look inside: they ask gql_principal_may(). */
typedef enum gql_principal_kind { GQL_PRINCIPAL_KEY = 0, GQL_PRINCIPAL_USER } gql_principal_kind;

typedef struct gql_principal {
    gql_principal_kind kind;
    ea_principal key;  /* KEY: the key's tenant, scopes, rate limit */
    long long user_id; /* USER: users.id */
    /* USER: who, as the issuer knows them; memberships are keyed by this pair, never by e-mail */
    char issuer[512];
    char subject[256];
    char name[128];   /* USER: display name (from the ID token) */
    char session[65]; /* USER: SHA-256 (hex) of the session id, as `sessions` stores it */
} gql_principal;

/* What one `metrics` field of an operation did, for X-Cache and `extensions.metrics`. */
typedef struct gql_field_stat {
    char path[64];      /* the response key */
    const char *cache;  /* "HIT", "PARTIAL", "MISS" (bcache.h's definitions) or "OFF" */
    const char *source; /* "rollups" or "raw_events" */
    int buckets;        /* non-empty buckets in the answer */
    int cached;         /* of which from the cache */
} gql_field_stat;

#define GQL_MAX_FIELD_STATS 32

typedef struct gql_request_ctx {
    gql_app *app;
    gql_principal who; /* the authenticated caller */
    /* The pool thread running the operation; NULL while it runs on the loop, where a resolver
     * that needs PostgreSQL sets deferred and fails: the whole operation then goes to the pool
     * (exec.h). */
    struct gql_thread *thread;
    bool deferred;
    /* whole-response reuse (respcache.c): only when every root field is `metrics`; each one
     * records its tenant and metric, and gen is the cache generation before anything was read */
    int other_fields;
    int ndeps;
    uint64_t gen;
    struct gql_dep {
        char tenant[64];
        char metric[320];
    } deps[16];
    int nfields;
    gql_field_stat fields[GQL_MAX_FIELD_STATS];
} gql_request_ctx;

/* Tenant access on entry of every resolver: 1 when p may act on tenant with scope
 * (EA_SCOPE_READ / EA_SCOPE_ADMIN / EA_SCOPE_INGEST), 0 when not (also when the database cannot
 * answer: fail closed), -1 when it cannot be told without the database and db is NULL (a
 * signed-in user on the loop thread: the caller defers to a pool thread). Keys are decided from
 * the key alone; users get scopes from their membership role, read on every call so a removed
 * membership takes effect on the next request. */
int gql_principal_may(PGconn *db, const gql_principal *p, const char *tenant, unsigned scope);

/* Who p is for limits shared by every entry point (the query rate limit, WebSocket caps):
 * "k:<key id>" or "u:<user id>" into subject. Returns p's queries per minute: the key's own
 * rate_limit, else GRAPHQL_RATE_LIMIT_PER_MIN (0: unlimited). */
long gql_principal_rate(const gql_app *app, const gql_principal *p, char *subject, size_t len);

/* The `me` object of a signed-in user: {kind: "user", name, tenants: [{id, name, role}],
 * scopes: []} from memberships. 0 with *out set, -1 when the database could not answer. */
int gql_principal_user_me(PGconn *db, const gql_principal *p, json_t **out);

/* After a large operation (its result over GQL_RELEASE_BYTES, or stopped by the work budget or
 * the response cap) gives the heap's free pages back to the system: glibc keeps freed small
 * blocks, so without it one large answer would leave the process at its peak size for good. */
#define GQL_RELEASE_BYTES (4u << 20)
void gql_app_memory_release(const ea_gql_exec_stats *st);

#endif
