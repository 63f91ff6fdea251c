/*
 * ea_http_conns.h — how many TCP connections an ea_http server holds, in all and per client
 * address (docs/SECURITY.md, "HTTP"). Without a cap one client opening ~20,000 idle connections
 * (each lives until h2o's 10 s request timeout, and it simply opens them again) took every file
 * descriptor of ingest-api: nobody else could connect, and the loop spun on accept(2) failing
 * with EMFILE. ea_http.c asks ea_http_conns_admit() for every accepted socket and releases it
 * when h2o closes the socket; this file is the bookkeeping only (no I/O), so it is unit-tested.
 */
#ifndef EA_HTTP_CONNS_H
#define EA_HTTP_CONNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* The connection caps' settings in a service's config struct (lib/config table entries below). */
typedef struct ea_http_conn_limits {
    long total;       /* <PREFIX>_MAX_CONNECTIONS; 0: the open-file limit minus a reserve */
    long per_address; /* <PREFIX>_MAX_CONNECTIONS_PER_ADDRESS; 0: no limit */
} ea_http_conn_limits;

/* Config-table entries (lib/config) for <prefix>_MAX_CONNECTIONS and
 * <prefix>_MAX_CONNECTIONS_PER_ADDRESS (prefix: a string literal, "INGEST"), for a config struct
 * `type` whose member `field` is an ea_http_conn_limits: one home for their defaults and help. */
/* `type, field.x` is an offsetof member designator, which cannot be parenthesized */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
/* clang-format off */
#define EA_HTTP_CONN_CONFIG_ENTRIES(prefix, type, field)                                           \
    {prefix "_MAX_CONNECTIONS", EA_CFG_INT, "0", 0, 10000000, offsetof(type, field.total),         \
     "TCP connections held at once (WebSockets included); more are answered 503 and closed "       \
     "(0: the open-file limit minus 256)"},                                                        \
    {prefix "_MAX_CONNECTIONS_PER_ADDRESS", EA_CFG_INT, "256", 0, 10000000,                        \
     offsetof(type, field.per_address),                                                            \
     "TCP connections per client address; more are answered 429 and closed (0: no limit; "         \
     "behind a reverse proxy every client has the proxy's address)"}

/* The listening settings of a front door (ingest-api, graphql-api) in its config struct, and
 * their entries: <prefix>_PORT (default `def_port`, a string literal), <prefix>_HOST,
 * <prefix>_MAX_BODY (default `def_body`, at most `body_max`), <prefix>_REUSEPORT and the connection
 * caps above. ea_http_server_for (ea_http.h) starts a server from them. */
#define EA_HTTP_LISTEN_CONFIG_ENTRIES(prefix, type, field, def_port, def_body, body_max)           \
    {prefix "_PORT", EA_CFG_INT, def_port, 1, 65535, offsetof(type, field.port), "HTTP port"},     \
    {prefix "_HOST", EA_CFG_STR, "127.0.0.1", 0, 0, offsetof(type, field.host), "listen address"}, \
    {prefix "_MAX_BODY", EA_CFG_INT, def_body, 1024, body_max, offsetof(type, field.max_body),     \
     "max request body bytes"},                                                                    \
    {prefix "_REUSEPORT", EA_CFG_BOOL, "true", 0, 0, offsetof(type, field.reuseport),              \
     "SO_REUSEPORT so several processes share the port"},                                          \
    EA_HTTP_CONN_CONFIG_ENTRIES(prefix, type, field.conns)
/* clang-format on */
/* NOLINTEND(bugprone-macro-parentheses) */

typedef struct ea_http_settings {
    long port;
    const char *host;
    long max_body; /* bytes; h2o refuses a larger body before buffering it */
    bool reuseport;
    ea_http_conn_limits conns;
} ea_http_settings;

typedef struct ea_http_conns ea_http_conns;

/* A held connection: give it back with ea_http_conns_release exactly once. */
typedef struct ea_http_conn_slot ea_http_conn_slot;

typedef enum {
    EA_HTTP_CONN_ADMITTED,
    EA_HTTP_CONN_FULL,         /* the server holds max_total connections */
    EA_HTTP_CONN_ADDRESS_FULL, /* this address holds max_per_address connections */
} ea_http_conn_verdict;

/* max_total: connections in all (> 0); max_per_address: per client address, 0 = no limit.
 * NULL when out of memory. */
ea_http_conns *ea_http_conns_new(size_t max_total, size_t max_per_address);
void ea_http_conns_free(ea_http_conns *c);

/* Counts a connection from sa (IPv4 or IPv6; an IPv4-mapped IPv6 address counts as its IPv4
 * address; NULL or another family counts under one shared "unknown" address). *slot is set
 * when admitted. Out of memory admits without a per-address count (never refuses for it). */
ea_http_conn_verdict ea_http_conns_admit(ea_http_conns *c, const struct sockaddr *sa,
                                         ea_http_conn_slot **slot);
void ea_http_conns_release(ea_http_conn_slot *slot);

/* Connections held now, in all and from sa's address. */
size_t ea_http_conns_open(const ea_http_conns *c);
size_t ea_http_conns_open_from(const ea_http_conns *c, const struct sockaddr *sa);

/* The default total for a process: its open-file limit minus a reserve for the database, Redis,
 * Kafka, pipes and log files, so reaching the cap never starves those (at least 16). */
size_t ea_http_conns_default_total(void);

#endif
