/*
 * cors.c — the listed-origins set and the CORS headers. The set is a sorted array of strings in
 * one allocation, replaced whole by the refresher thread under a mutex that the loop holds only
 * for a binary search; the refresher does its query with no lock held. At most ORIGINS_MAX
 * origins are loaded (a bound on memory, far above any real deployment); past it the set is
 * truncated and a warning logged, which can only make preflights stricter.
 */
#include "cors.h"
#include "ea_thread.h"
#include "ea_log.h"
#include "ea_origin.h"
#include "ea_pg.h"
#include "metrics.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ORIGINS_MAX 100000

struct origin_set {
    size_t n;
    char **v; /* sorted; strings live in the same allocation */
};

struct ingest_cors {
    const char *url;
    long refresh_s;
    ea_task task; /* the refresher thread and its stop */
    pthread_mutex_t mu;
    struct origin_set *set; /* under mu */
};

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One query; a new set or NULL (logged) on failure. */
static struct origin_set *load(PGconn *db)
{
    struct ea_err err;
    PGresult *r = ea_pg_query(db,
                              "SELECT DISTINCT o FROM api_keys, unnest(origins) AS o "
                              "WHERE origins IS NOT NULL AND revoked_at IS NULL LIMIT 100001",
                              0, NULL, PGRES_TUPLES_OK, &err);
    if (r == NULL) {
        ea_log_warn("browser-origins", "could not load the browser keys' origins: %s", err.message);
        return NULL;
    }
    size_t n = (size_t)PQntuples(r), bytes = 0;
    if (n > ORIGINS_MAX) {
        ea_log_warn("browser-origins",
                    "more than %d listed origins: preflights see the first %d only", ORIGINS_MAX,
                    ORIGINS_MAX);
        n = ORIGINS_MAX;
    }
    for (size_t i = 0; i < n; i++)
        bytes += (size_t)PQgetlength(r, (int)i, 0) + 1;
    struct origin_set *s = malloc(sizeof(*s) + n * sizeof(char *) + bytes);
    if (s == NULL) {
        PQclear(r);
        return NULL;
    }
    s->n = n;
    s->v = (char **)(s + 1);
    char *p = (char *)(s->v + n);
    for (size_t i = 0; i < n; i++) {
        size_t l = (size_t)PQgetlength(r, (int)i, 0);
        memcpy(p, PQgetvalue(r, (int)i, 0), l + 1);
        s->v[i] = p;
        p += l + 1;
    }
    PQclear(r);
    qsort(s->v, s->n, sizeof(char *), cmp);
    return s;
}

static void *refresher(void *arg)
{
    ingest_cors *c = arg;
    PGconn *db = NULL;
    do {
        if (db != NULL && ea_pg_is_broken(db)) {
            PQfinish(db);
            db = NULL;
        }
        if (db == NULL) {
            struct ea_err err;
            db = ea_pg_connect(c->url, &err);
            if (db == NULL)
                ea_log_warn("postgresql", "%s", err.message);
        }
        struct origin_set *s = db != NULL ? load(db) : NULL;
        if (s != NULL) {
            pthread_mutex_lock(&c->mu);
            free(c->set);
            c->set = s;
            pthread_mutex_unlock(&c->mu);
        }
    } while (!ea_stop_nap(&c->task.stop, c->refresh_s * 1000));
    if (db != NULL)
        PQfinish(db);
    return NULL;
}

ingest_cors *ingest_cors_new(const char *database_url, long refresh_s, struct ea_err *err)
{
    ingest_cors *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        ea_err_set(err, EA_ERR_NOMEM, "out of memory");
        return NULL;
    }
    c->url = database_url;
    c->refresh_s = refresh_s;
    pthread_mutex_init(&c->mu, NULL);
    int rc = ea_task_start(&c->task, refresher, c); /* SIGTERM stays the loop's */
    if (rc != 0) {
        ea_err_set(err, EA_ERR_IO, "could not start the CORS origin refresher: %s", strerror(rc));
        pthread_mutex_destroy(&c->mu);
        free(c);
        return NULL;
    }
    return c;
}

void ingest_cors_free(ingest_cors *c)
{
    if (c == NULL)
        return;
    ea_task_stop(&c->task);
    pthread_mutex_destroy(&c->mu);
    free(c->set);
    free(c);
}

bool ingest_cors_listed(ingest_cors *c, const char *origin, size_t len)
{
    char key[EA_ORIGIN_MAX_LEN + 1];
    if (len == 0 || len > EA_ORIGIN_MAX_LEN || memchr(origin, '\0', len) != NULL)
        return false;
    memcpy(key, origin, len);
    key[len] = '\0';
    const char *k = key;
    pthread_mutex_lock(&c->mu);
    bool found = c->set != NULL && bsearch(&k, c->set->v, c->set->n, sizeof(char *), cmp) != NULL;
    pthread_mutex_unlock(&c->mu);
    return found;
}

const h2o_iovec_t *ingest_cors_origin(const h2o_req_t *req)
{
    int n;
    const h2o_iovec_t *o = ea_http_header(req, "origin", &n);
    return n == 1 ? o : NULL;
}

static void add_bytes(h2o_req_t *req, const char *name, const char *value, size_t len)
{
    char *v = h2o_mem_alloc_pool(&req->pool, len);
    memcpy(v, value, len);
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 0, NULL, v, len);
}

void ingest_cors_allow(h2o_req_t *req, const char *origin, size_t len)
{
    add_bytes(req, "Access-Control-Allow-Origin", origin, len);
    ea_http_add_header(req, "Vary", "Origin");
    ea_http_add_header(req, "Access-Control-Expose-Headers",
                       "Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset");
}

void ingest_cors_preflight(ingest_cors *c, h2o_req_t *req)
{
    const h2o_iovec_t *o = ingest_cors_origin(req);
    /* every answer depends on Origin: caches must not serve one origin's answer to another */
    ea_http_add_header(req, "Vary", "Origin");
    if (o != NULL && ingest_cors_listed(c, o->base, o->len)) {
        ingest_stats.preflight_allowed++;
        add_bytes(req, "Access-Control-Allow-Origin", o->base, o->len);
        ea_http_add_header(req, "Access-Control-Allow-Methods", "POST, OPTIONS");
        ea_http_add_header(req, "Access-Control-Allow-Headers",
                           "Content-Type, Authorization, Content-Encoding");
        ea_http_add_header(req, "Access-Control-Max-Age", "600");
    } else {
        ingest_stats.preflight_refused++;
    }
    req->res.status = 204;
    req->res.reason = "No Content";
    h2o_send_inline(req, NULL, 0);
}
