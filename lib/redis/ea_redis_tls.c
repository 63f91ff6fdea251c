/*
 * ea_redis_tls.c — the TLS side of rediss:// on OpenSSL: one client SSL_CTX per CA file for the
 * whole process (loading the system's CA bundle costs milliseconds, so not once per connection),
 * the handshake on a non-blocking socket with a deadline, and error messages that say what to
 * fix: the CA (REDIS_CA_FILE), the host name, a plain port, a client certificate demand.
 *
 * Verification is on by default: the chain against REDIS_CA_FILE or the system's CAs, and the
 * URL's host against the certificate (DNS name, or IP address when the host is an address).
 * ssl_cert_reqs=none / ssl_check_hostname=false in the URL turn them off (a warning is logged on
 * every connection that does so). TLS 1.2 is the minimum.
 */
#include "ea_log.h"
#include "ea_redis_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define MAX_CTX 4

static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char ca_file[1024];
    SSL_CTX *ctx;
} ctxs[MAX_CTX];
static int nctx;

/* The last OpenSSL error's reason, or fallback. */
static const char *ssl_reason(unsigned long e, const char *fallback)
{
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
    return r != NULL ? r : fallback;
}

/* The context for ca_file ("" = the system's CAs), created on first use and kept for the
 * process; the caller gets its own reference (SSL_CTX_free it after SSL_new). */
static SSL_CTX *client_ctx(const char *ca_file, const char *where, struct ea_err *err)
{
    SSL_CTX *ctx = NULL;
    pthread_mutex_lock(&ctx_lock);
    for (int i = 0; i < nctx; i++)
        if (strcmp(ctxs[i].ca_file, ca_file) == 0) {
            ctx = ctxs[i].ctx;
            SSL_CTX_up_ref(ctx);
            goto out;
        }
    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        ea_err_set(err, EA_ERR_NOMEM, "could not connect to %s: could not create a TLS context: %s",
                   where, ssl_reason(ERR_get_error(), "out of memory"));
        goto out;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* the send buffer may move (realloc) between a partial write and its retry */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    int ok = ca_file[0] != '\0' ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                                : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        if (ca_file[0] != '\0')
            ea_err_set(err, EA_ERR_INVALID,
                       "could not connect to %s: could not load REDIS_CA_FILE %s: %s", where,
                       ca_file, ssl_reason(ERR_get_error(), "no certificates in it"));
        else
            ea_err_set(err, EA_ERR_INVALID,
                       "could not connect to %s: could not load the system's CA certificates: %s "
                       "(set REDIS_CA_FILE)",
                       where, ssl_reason(ERR_get_error(), "unknown error"));
        SSL_CTX_free(ctx);
        ctx = NULL;
        goto out;
    }
    /* past MAX_CTX distinct CA files (no process here uses more than one) the context is not
     * kept: the caller's reference is the only one and goes with its SSL */
    if (nctx < MAX_CTX) {
        snprintf(ctxs[nctx].ca_file, sizeof(ctxs[nctx].ca_file), "%s", ca_file);
        ctxs[nctx++].ctx = ctx;
        SSL_CTX_up_ref(ctx);
    }
out:
    pthread_mutex_unlock(&ctx_lock);
    return ctx;
}

static bool is_ip(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* Says why a handshake failed, with what to change. */
static void handshake_error(ea_redis *c, const ea_redis_url *u, int ssl_err, unsigned long e,
                            int sys_errno, struct ea_err *err)
{
    long v = SSL_get_verify_result(c->ssl);
    if (v != X509_V_OK) {
        const char *hint = "";
        char hbuf[1200];
        switch (v) {
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
            snprintf(hbuf, sizeof(hbuf),
                     " (the server's certificate is not for %s: connect by a name the certificate "
                     "lists)",
                     u->host);
            hint = hbuf;
            break;
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            if (u->ca_file[0] != '\0')
                snprintf(hbuf, sizeof(hbuf),
                         " (the server's certificate is not signed by a CA in REDIS_CA_FILE %s)",
                         u->ca_file);
            else
                snprintf(hbuf, sizeof(hbuf),
                         " (the server's certificate is not signed by a CA this system trusts: "
                         "set REDIS_CA_FILE to its CA)");
            hint = hbuf;
            break;
        default:
            break;
        }
        ea_err_set(err, EA_ERR_UNAVAILABLE,
                   "could not connect to %s: TLS handshake failed: certificate verify failed: "
                   "%s%s",
                   c->where, X509_verify_cert_error_string(v), hint);
        return;
    }
    if (ssl_err == SSL_ERROR_SSL && e != 0) {
        const char *reason = ssl_reason(e, "protocol error");
        const char *hint = "";
        if (strstr(reason, "wrong version number") != NULL ||
            strstr(reason, "packet length too long") != NULL ||
            strstr(reason, "record layer failure") != NULL)
            hint = " (the port does not speak TLS: plain Redis is redis://)";
        else if (strstr(reason, "certificate required") != NULL)
            hint = " (the server asks for a client certificate, which is not supported: run it "
                   "with tls-auth-clients no or optional)";
        ea_err_set(err, EA_ERR_UNAVAILABLE, "could not connect to %s: TLS handshake failed: %s%s",
                   c->where, reason, hint);
        return;
    }
    if (ssl_err == SSL_ERROR_SYSCALL && sys_errno != 0) {
        ea_err_set(err, EA_ERR_UNAVAILABLE, "could not connect to %s: TLS handshake failed: %s",
                   c->where, strerror(sys_errno));
        return;
    }
    ea_err_set(err, EA_ERR_UNAVAILABLE,
               "could not connect to %s: TLS handshake failed: the server closed the connection "
               "(does the port speak TLS?)",
               c->where);
}

SSL_CTX *ea_redis__tls_ctx(const ea_redis_url *u, const char *where, struct ea_err *err)
{
    return client_ctx(u->ca_file, where, err);
}

ea_rc ea_redis__tls_handshake(ea_redis *c, SSL_CTX *ctx, const ea_redis_url *u, int64_t deadline,
                              struct ea_err *err)
{
    c->ssl = SSL_new(ctx); /* takes its own reference */
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
        return ea_err_set(err, EA_ERR_NOMEM, "could not connect to %s: out of memory", c->where);
    bool ip = is_ip(u->host);
    if (!ip) /* SNI carries names only, never addresses (RFC 6066) */
        SSL_set_tlsext_host_name(c->ssl, u->host);
    if (u->verify_peer) {
        SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
        if (u->verify_host) {
            int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), u->host)
                        : SSL_set1_host(c->ssl, u->host);
            if (ok != 1)
                return ea_err_set(err, EA_ERR_INVALID,
                                  "could not connect to %s: cannot verify host name %s", c->where,
                                  u->host);
        } else {
            ea_log_warn("redis",
                        "%s: ssl_check_hostname=false: the certificate's host name is "
                        "not checked",
                        c->where);
        }
    } else {
        SSL_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);
        ea_log_warn("redis", "%s: ssl_cert_reqs=none: the server's certificate is not verified",
                    c->where);
    }
    for (;;) {
        ERR_clear_error();
        errno = 0;
        ea_redis__sigpipe sp;
        ea_redis__sigpipe_hold(c, &sp);
        int r = SSL_connect(c->ssl);
        ea_redis__sigpipe_release(&sp);
        if (r == 1)
            return EA_OK;
        int e = SSL_get_error(c->ssl, r), sys_errno = errno;
        short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
        if (ev == 0) {
            c->broken = true;
            handshake_error(c, u, e, ERR_peek_last_error(), sys_errno, err);
            return EA_ERR_UNAVAILABLE;
        }
        struct ea_err werr = {0};
        if (ea_redis__wait(c, ev, deadline, c->timeout_ms, "complete the TLS handshake", &werr) !=
            EA_OK)
            return ea_err_set(err, EA_ERR_UNAVAILABLE,
                              "could not connect to %s: TLS handshake failed: %s (does the port "
                              "speak TLS?)",
                              c->where,
                              strstr(werr.message, "timed out") != NULL
                                  ? strstr(werr.message, "timed out")
                                  : werr.message);
    }
}

void ea_redis__tls_io_error(ea_redis *c, int ssl_err, const char *what, struct ea_err *err)
{
    int sys_errno = errno;
    unsigned long e = ERR_peek_last_error();
    c->broken = true;
    if (ssl_err == SSL_ERROR_SYSCALL) {
        /* EOF without close_notify, a reset or a broken pipe: the server (or a restart) closed it
         */
        c->peer_closed = sys_errno == 0 || sys_errno == ECONNRESET || sys_errno == EPIPE;
        ea_err_set(err, EA_ERR_UNAVAILABLE, "could not %s %s: %s", what, c->where,
                   sys_errno != 0 ? strerror(sys_errno) : "the server closed the connection");
        return;
    }
    if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        /* OpenSSL 3 reports a peer that closed without close_notify (a Redis restart) this way */
        c->peer_closed = true;
        ea_err_set(err, EA_ERR_UNAVAILABLE, "could not %s %s: the server closed the connection",
                   what, c->where);
        return;
    }
    ea_err_set(err, EA_ERR_UNAVAILABLE, "could not %s %s: TLS error: %s", what, c->where,
               ssl_reason(e, "protocol error"));
}
