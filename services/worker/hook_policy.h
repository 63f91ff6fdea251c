/*
 * hook_policy.h — the pure rules of alert webhook delivery (SPEC §8), unit-tested without a
 * network: the signature header, which addresses a delivery may not reach, the retry schedule and
 * the JSON body. Not for sending (hook_sender.c does that on its own thread).
 */
#ifndef WK_HOOK_POLICY_H
#define WK_HOOK_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* "sha256=" + 64 hex digits + NUL */
#define WK_HOOK_SIG_LEN 72

/* X-Signature-256 value: "sha256=<hex HMAC-SHA256(secret, body)>". False only when OpenSSL
 * fails (out is then ""). */
bool wk_hook_signature(const char *secret, const char *body, size_t len, char out[WK_HOOK_SIG_LEN]);

/* True when a delivery must not connect to this address unless private targets are allowed:
 * unspecified, loopback, RFC 1918 private, carrier-grade NAT, link-local (cloud metadata at
 * 169.254.169.254), multicast, reserved and broadcast IPv4; ::, ::1, unique-local fc00::/7,
 * link-local fe80::/10, multicast ff00::/8, and IPv4 addresses inside IPv6 (::ffff:a.b.c.d,
 * ::a.b.c.d, 64:ff9b::/96 NAT64) judged as the IPv4 address they carry. Anything but AF_INET and
 * AF_INET6 is refused too. */
bool wk_hook_addr_private(const struct sockaddr *sa);

/* The wait before attempt `attempt` (2, 3, ...; the first is immediate): base_ms doubling per
 * attempt, at most max_ms. */
int64_t wk_hook_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms);

/* One firing as delivered. Strings are owned by the caller. */
typedef struct wk_hook_firing {
    long long alert_id;
    const char *alert_name, *metric;
    int64_t bucket_ms, fired_ms;
    double value, threshold;
    const char *comparator;
    const char *dims_json; /* the firing's dimensions as JSON text (jsonb from PostgreSQL) */
} wk_hook_firing;

/* The POST body: {"alert": {"id", "name", "metric"}, "bucket", "value", "threshold",
 * "comparator", "dimensions", "firedAt"} (ids as strings, like the GraphQL ID). Returns a
 * malloc'ed compact JSON string, or NULL when out of memory. */
char *wk_hook_body(const wk_hook_firing *f);

#endif
