/*
 * hook_sender.c — alert webhook delivery on its own thread (see hook_sender.h).
 *
 * Invariants:
 *   1. At least once: a firing and its pending delivery are one row, committed by the closer's
 *      transaction (migration 0010). A delivery is marked delivered only after a 2xx answer; a
 *      crash between the POST and that UPDATE sends it again after the lease (receivers dedup by
 *      the X-Delivery-Id header).
 *   2. One sender at a time per firing, across worker processes: a claim moves next_attempt_at
 *      one lease ahead (WEBHOOK_TIMEOUT_MS + 60 s) in the statement that picks due rows (FOR
 *      UPDATE SKIP LOCKED), so another sender skips it until the lease runs out.
 *   3. No private targets unless WEBHOOK_ALLOW_PRIVATE=true: the host is resolved here, every
 *      address checked (hook_policy.c), and curl pinned to the checked address
 *      (CURLOPT_RESOLVE), so a second lookup cannot answer differently (DNS rebinding);
 *      redirects are not followed (a 3xx is a failed attempt); only http and https.
 *   4. Retries: attempt n+1 waits WEBHOOK_RETRY_BASE_MS * 2^(n-1), at most
 *      WEBHOOK_RETRY_MAX_MS; a delivery whose next attempt would start later than
 *      WEBHOOK_RETRY_FOR_S after the firing is marked failed. A refused target or an alert
 *      without a webhook fails at once (retrying cannot help).
 *   5. The signing secret is read with the claim and never logged; logs name the host only (a
 *      URL may carry a token in its path or query).
 *
 *   poll (claim ≤ HOOK_CLAIM due rows) → for each: resolve + check → POST → record
 *   (delivered | next attempt | failed) → nothing due: sleep WEBHOOK_POLL_MS (stop wakes it)
 */
#include "hook_sender.h"
#include "ea_thread.h"
#include "ea_log.h"
#include "ea_pg.h"
#include "hook_policy.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOOK_CLAIM 16 /* = the LIMIT in claim_sql */
#define HOOK_LEASE_EXTRA_MS 60000

struct wk_hook_sender {
    const wk_config *cfg;
    wk_stats *stats;
    PGconn *db;
    ea_task task; /* the delivery thread and its stop */
};

/* ---- one attempt ---------------------------------------------------------------------------- */

typedef enum { ATTEMPT_OK, ATTEMPT_RETRY, ATTEMPT_GIVE_UP } attempt_rc;

struct attempt {
    long status;
    char error[512];
    char host[256];
};

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n; /* the answer's body is not kept: only its status counts */
}

/* Resolves url's host, refuses private addresses unless allowed, and fills resolve_entry with
 * "host:port:address" for CURLOPT_RESOLVE. */
static attempt_rc check_target(const wk_hook_sender *h, const char *url, struct attempt *a,
                               char *resolve_entry, size_t cap)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    attempt_rc rc = ATTEMPT_GIVE_UP;
    if (u == NULL) {
        snprintf(a->error, sizeof(a->error), "out of memory");
        return ATTEMPT_RETRY;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        snprintf(a->error, sizeof(a->error), "the webhook URL cannot be parsed");
        goto out;
    }
    snprintf(a->host, sizeof(a->host), "%s", host);
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        snprintf(a->error, sizeof(a->error), "only http and https webhooks are sent");
        goto out;
    }
    /* curl gives IPv6 literals in brackets; getaddrinfo wants them bare */
    char name[128];
    size_t hl = strlen(host);
    if (hl >= sizeof(name)) {
        snprintf(a->error, sizeof(a->error), "the webhook's host name is too long");
        goto out;
    }
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']')
        snprintf(name, sizeof(name), "%.*s", (int)(hl - 2), host + 1);
    else
        snprintf(name, sizeof(name), "%s", host);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(name, port, &hints, &res);
    if (gai != 0) {
        snprintf(a->error, sizeof(a->error), "could not resolve %s: %s", name, gai_strerror(gai));
        rc = ATTEMPT_RETRY; /* DNS may answer later (or the name appear): retried until give-up */
        goto out;
    }
    char ip[INET6_ADDRSTRLEN] = "";
    bool refused = false;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        char this_ip[INET6_ADDRSTRLEN];
        const void *addr = ai->ai_family == AF_INET
                               ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                               : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        if (inet_ntop(ai->ai_family, addr, this_ip, sizeof(this_ip)) == NULL)
            continue;
        if (!h->cfg->webhook_allow_private && wk_hook_addr_private(ai->ai_addr)) {
            /* one private address is enough to refuse: the name points inside */
            snprintf(a->error, sizeof(a->error),
                     "refused: %s resolves to %s, a private, loopback or link-local address "
                     "(WEBHOOK_ALLOW_PRIVATE=true allows it)",
                     name, this_ip);
            refused = true;
            break;
        }
        if (ip[0] == '\0')
            snprintf(ip, sizeof(ip), "%s", this_ip);
    }
    freeaddrinfo(res);
    if (refused)
        goto out;
    if (ip[0] == '\0') {
        snprintf(a->error, sizeof(a->error), "%s has no usable address", name);
        rc = ATTEMPT_RETRY;
        goto out;
    }
    snprintf(resolve_entry, cap, strchr(ip, ':') != NULL ? "%s:%s:[%s]" : "%s:%s:%s", name, port,
             ip);
    rc = ATTEMPT_OK;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

static attempt_rc post(wk_hook_sender *h, const char *url, const char *secret, const char *body,
                       long long delivery_id, int attempt_no, struct attempt *a)
{
    char resolve_entry[600], sig[WK_HOOK_SIG_LEN], hdr_sig[WK_HOOK_SIG_LEN + 32], hdr_id[64],
        hdr_attempt[64];
    attempt_rc rc = check_target(h, url, a, resolve_entry, sizeof(resolve_entry));
    if (rc != ATTEMPT_OK)
        return rc;
    if (!wk_hook_signature(secret, body, strlen(body), sig)) {
        snprintf(a->error, sizeof(a->error), "could not sign the body");
        return ATTEMPT_RETRY;
    }
    snprintf(hdr_sig, sizeof(hdr_sig), "X-Signature-256: %s", sig);
    snprintf(hdr_id, sizeof(hdr_id), "X-Delivery-Id: %lld", delivery_id);
    snprintf(hdr_attempt, sizeof(hdr_attempt), "X-Delivery-Attempt: %d", attempt_no);
    CURL *c = curl_easy_init();
    struct curl_slist *headers = NULL, *resolve = NULL;
    if (c == NULL) {
        snprintf(a->error, sizeof(a->error), "out of memory");
        return ATTEMPT_RETRY;
    }
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "User-Agent: event-analytics-webhook/1");
    headers = curl_slist_append(headers, hdr_sig);
    headers = curl_slist_append(headers, hdr_id);
    headers = curl_slist_append(headers, hdr_attempt);
    headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    resolve = curl_slist_append(resolve, resolve_entry);
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->cfg->webhook_timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->cfg->webhook_timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    CURLcode cc = curl_easy_perform(c);
    if (cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    curl_slist_free_all(resolve);
    if (cc != CURLE_OK) {
        snprintf(a->error, sizeof(a->error), "%s", curl_err[0] ? curl_err : curl_easy_strerror(cc));
        return ATTEMPT_RETRY;
    }
    if (a->status >= 200 && a->status < 300)
        return ATTEMPT_OK;
    snprintf(a->error, sizeof(a->error), "the receiver answered HTTP %ld", a->status);
    return ATTEMPT_RETRY;
}

/* ---- claims and outcomes ----------------------------------------------------------------------
 */

static const char claim_sql[] =
    "UPDATE alert_events e SET next_attempt_at = now() + $1::bigint * interval '1 millisecond', "
    "attempts = e.attempts + 1, last_attempt_at = now() FROM alerts a "
    "WHERE e.id IN (SELECT id FROM alert_events WHERE delivery = 'pending' AND next_attempt_at "
    "<= now() ORDER BY next_attempt_at LIMIT 16 FOR UPDATE SKIP LOCKED) "
    "AND a.tenant_id = e.tenant_id AND a.id = e.alert_id "
    "RETURNING e.id, e.alert_id, a.name, a.metric, a.webhook_url, a.webhook_secret, "
    "(extract(epoch from e.bucket) * 1000)::bigint, (extract(epoch from e.fired_at) * "
    "1000)::bigint, "
    "e.value, coalesce(e.threshold, a.threshold), coalesce(e.comparator, a.comparator), "
    "e.dims::text, e.attempts, (extract(epoch from now()) * 1000)::bigint";

static void record(wk_hook_sender *h, const char *subj, const char *id, attempt_rc rc,
                   const struct attempt *a, int attempts, int64_t fired_ms, int64_t now_ms)
{
    struct ea_err err;
    char status[24], wait_ms[32];
    snprintf(status, sizeof(status), "%ld", a->status);
    const char *st = a->status > 0 ? status : NULL;
    PGresult *r;
    if (rc == ATTEMPT_OK) {
        const char *p[] = {id, st};
        r = ea_pg_query(h->db,
                        "UPDATE alert_events SET delivery = 'delivered', delivered_at = now(), "
                        "next_attempt_at = NULL, last_status = $2, last_error = NULL WHERE id = $1",
                        2, p, PGRES_COMMAND_OK, &err);
        wk_stats_inc_webhook(h->stats, WK_HOOK_DELIVERED);
    } else {
        int64_t wait = wk_hook_backoff_ms(attempts + 1, h->cfg->webhook_retry_base_ms,
                                          h->cfg->webhook_retry_max_ms);
        bool give_up = rc == ATTEMPT_GIVE_UP ||
                       now_ms + wait > fired_ms + h->cfg->webhook_retry_for_s * 1000LL;
        snprintf(wait_ms, sizeof(wait_ms), "%lld", (long long)wait);
        const char *p[] = {id, st, a->error, give_up ? NULL : wait_ms};
        r = ea_pg_query(h->db,
                        "UPDATE alert_events SET delivery = CASE WHEN $4::bigint IS NULL THEN "
                        "'failed' ELSE 'pending' END, next_attempt_at = now() + $4::bigint * "
                        "interval '1 millisecond', last_status = $2, last_error = $3 WHERE id = $1",
                        4, p, PGRES_COMMAND_OK, &err);
        wk_stats_inc_webhook(h->stats, give_up ? WK_HOOK_FAILED : WK_HOOK_RETRIED);
    }
    if (r == NULL) /* the lease runs out and the attempt is made again: at least once */
        ea_log_warn(subj, "could not record delivery %s: %s", id, err.message);
    PQclear(r);
}

static void deliver(wk_hook_sender *h, PGresult *r, int i)
{
    const char *id = PQgetvalue(r, i, 0);
    wk_hook_firing f = {
        .alert_id = strtoll(PQgetvalue(r, i, 1), NULL, 10),
        .alert_name = PQgetvalue(r, i, 2),
        .metric = PQgetvalue(r, i, 3),
        .bucket_ms = strtoll(PQgetvalue(r, i, 6), NULL, 10),
        .fired_ms = strtoll(PQgetvalue(r, i, 7), NULL, 10),
        .value = strtod(PQgetvalue(r, i, 8), NULL),
        .threshold = strtod(PQgetvalue(r, i, 9), NULL),
        .comparator = PQgetvalue(r, i, 10),
        .dims_json = PQgetvalue(r, i, 11),
    };
    int attempts = (int)strtol(PQgetvalue(r, i, 12), NULL, 10);
    int64_t now_ms = strtoll(PQgetvalue(r, i, 13), NULL, 10);
    struct attempt a = {0};
    attempt_rc rc;
    if (PQgetisnull(r, i, 4) || PQgetisnull(r, i, 5)) {
        snprintf(a.error, sizeof(a.error), "the alert has no webhook any more");
        rc = ATTEMPT_GIVE_UP;
    } else {
        char *body = wk_hook_body(&f);
        if (body == NULL) {
            snprintf(a.error, sizeof(a.error), "could not build the body");
            rc = ATTEMPT_RETRY;
        } else {
            rc = post(h, PQgetvalue(r, i, 4), PQgetvalue(r, i, 5), body, strtoll(id, NULL, 10),
                      attempts, &a);
            free(body);
        }
    }
    char subj[EA_LOG_SUBJECT_MAX];
    snprintf(subj, sizeof(subj), "alert-%lld/%s", f.alert_id, id);
    if (rc == ATTEMPT_OK)
        ea_log_info(subj, "alert %lld firing %s delivered to %s (HTTP %ld, attempt %d)", f.alert_id,
                    id, a.host, a.status, attempts);
    else
        ea_log_warn(subj, "alert %lld firing %s to %s, attempt %d: %s", f.alert_id, id,
                    a.host[0] ? a.host : "?", attempts, a.error);
    record(h, subj, id, rc, &a, attempts, f.fired_ms, now_ms);
}

/* ---- the thread -------------------------------------------------------------------------------
 */

static void *run(void *arg)
{
    wk_hook_sender *h = arg;
    char lease[32];
    snprintf(lease, sizeof(lease), "%ld", h->cfg->webhook_timeout_ms + HOOK_LEASE_EXTRA_MS);
    while (!ea_stop_requested(&h->task.stop)) {
        struct ea_err err;
        if (h->db == NULL || ea_pg_is_broken(h->db)) {
            if (h->db != NULL)
                PQfinish(h->db);
            h->db = ea_pg_connect(h->cfg->database_url, &err);
            if (h->db == NULL) {
                ea_log_warn("postgresql", "%s", err.message);
                ea_stop_nap(&h->task.stop, 2000);
                continue;
            }
        }
        const char *p[] = {lease};
        PGresult *r = ea_pg_query(h->db, claim_sql, 1, p, PGRES_TUPLES_OK, &err);
        if (r == NULL) {
            ea_log_warn("postgresql", "could not claim deliveries: %s", err.message);
            ea_stop_nap(&h->task.stop, 2000);
            continue;
        }
        int n = PQntuples(r);
        for (int i = 0; i < n && !ea_stop_requested(&h->task.stop); i++)
            deliver(h, r, i);
        PQclear(r);
        if (n < HOOK_CLAIM)
            ea_stop_nap(&h->task.stop, h->cfg->webhook_poll_ms);
    }
    return NULL;
}

wk_hook_sender *wk_hook_sender_start(const wk_config *cfg, wk_stats *stats, struct ea_err *err)
{
    wk_hook_sender *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        ea_err_set(err, EA_ERR_NOMEM, "out of memory");
        return NULL;
    }
    h->cfg = cfg;
    h->stats = stats;
    if (ea_task_start(&h->task, run, h) != 0) {
        free(h);
        ea_err_set(err, EA_ERR_IO, "could not start the webhook thread");
        return NULL;
    }
    return h;
}

void wk_hook_sender_stop(wk_hook_sender *h)
{
    if (h == NULL)
        return;
    ea_task_stop(&h->task);
    if (h->db != NULL)
        PQfinish(h->db);
    free(h);
}
