/*
 * ea_catalog.h — the catalog: tenants, members, API keys, metric definitions, dashboards and
 * alerts. Every rule about these objects (what a valid metric name is, which aggregations exist,
 * how a key is created, which names an event's automatic count takes) and every statement that
 * writes them lives here, so the GraphQL resolvers (services/graphql-api/resolvers.c) and the
 * admin CLI (tools/analytics-admin) are thin adapters with the same rules and the same messages.
 * Not for: verifying presented keys (lib/apikey ea_keyauth), key format and bcrypt (lib/apikey),
 * rolling events up (services/worker), reading metric series (graphql-api series.c).
 *
 * Errors: every function returns an ea_rc and fills `err` with a lowercase message meant for
 * the user, the same whichever front door asked:
 *   EA_ERR_INVALID      bad input, "invalid ...: ..." (GraphQL BAD_USER_INPUT, CLI exit 2)
 *   EA_ERR_NOTFOUND     "could not X: no ..." (GraphQL NOT_FOUND)
 *   EA_ERR_CONFLICT     the name or object is taken or in use (GraphQL CONFLICT)
 *   EA_ERR_UNAVAILABLE  database down or the metric names busy: retry (SERVICE_UNAVAILABLE)
 *   EA_ERR_DB, _NOMEM, _IO  internal: "could not X: database error"; the database's own text is
 *                       only in err->detail (for logs and operators), never in err->message.
 * Results are jansson values in the GraphQL API's shape (camelCase keys), owned by the caller.
 * Functions that touch the database take a connection; they run in their own transaction when
 * the connection is idle, or inside the caller's open transaction (analytics-admin seed).
 */
#ifndef EA_CATALOG_H
#define EA_CATALOG_H

#include "ea_apikey.h"
#include "ea_err.h"
#include "ea_origin.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#define EA_CATALOG_TENANT_ID_MAX 63   /* ^[a-z0-9][a-z0-9-]{0,62}$ (tenants.id CHECK) */
#define EA_CATALOG_TEXT_MAX 200       /* display names: tenants, keys, dashboards, alerts */
#define EA_CATALOG_METRIC_NAME_MAX 64 /* ^[a-z][a-z0-9_.-]{0,63}$ */
#define EA_CATALOG_EVENT_MAX 256      /* event names, as ingest-api accepts them */
#define EA_CATALOG_PROPERTY_MAX 128   /* property and dimension names */
#define EA_CATALOG_MAX_DIMENSIONS 8
#define EA_CATALOG_CAP_DEFAULT 1000
#define EA_CATALOG_CAP_MAX 1000000
#define EA_CATALOG_RATE_LIMIT_MAX 2147483647LL
#define EA_CATALOG_KEYS_MAX 1000 /* active (unrevoked) API keys per tenant */

/* What an automatic count takes on when its event's name is held by a definition that counts
 * something else (docs/ARCHITECTURE.md "Metric names"). Contains a space, so no defined metric
 * can ever be named like that. */
#define EA_CATALOG_EVENT_SUFFIX " (event)"
#define EA_CATALOG_EVENT_SUFFIX_LEN 8
#define EA_CATALOG_EVENTS_MAX "10000" /* event names ea_catalog_event_counts lists */

/* The metric-names lock (pg_advisory_xact_lock key). Catalog changes to metric definitions take
 * it exclusively; every transaction that writes rollup rows or records event names (worker
 * batches, backfill, recompute) takes it shared FIRST, before it reads the definitions. So no
 * batch counts with definitions that a concurrent define/rename/delete is changing, and "events
 * seen" is exact when a definition is checked against it. */
#define EA_CATALOG_NAMES_LOCK_KEY "7305976960116"
#define EA_CATALOG_SQL_NAMES_LOCK_SHARED "SELECT pg_advisory_xact_lock_shared(7305976960116)"

/* Records the event names a worker batch counted (events seen, table event_names): $1 text[]
 * tenants, $2 text[] names, same length. Run inside the batch's transaction; sorted inserts so
 * concurrent batches never deadlock on new names. */
#define EA_CATALOG_SQL_EVENTS_SEEN                                                                 \
    "INSERT INTO event_names (tenant_id, name) SELECT t, n FROM unnest($1::text[], $2::text[]) "   \
    "AS u(t, n) ORDER BY 1, 2 ON CONFLICT DO NOTHING"

/* ---- aggregations: the one list ------------------------------------------------------------- */

typedef enum ea_catalog_agg {
    EA_CATALOG_AGG_COUNT = 0,
    EA_CATALOG_AGG_SUM,
    EA_CATALOG_AGG_MIN,
    EA_CATALOG_AGG_MAX,
    EA_CATALOG_AGG_AVG,
    EA_CATALOG_AGG_UNIQUE,
    EA_CATALOG_AGG_N
} ea_catalog_agg;

/* "count" -> EA_CATALOG_AGG_COUNT ...; -1 when s is NULL or not an aggregation. */
int ea_catalog_agg_parse(const char *s);

/* The name of a (valid) aggregation, e.g. "sum". */
const char *ea_catalog_agg_name(ea_catalog_agg a);

/* ---- pure validation (no database; unit-tested in tests/unit/catalog/) ---------------------- */

/* True when id matches ^[a-z0-9][a-z0-9-]{0,62}$. */
bool ea_catalog_tenant_id_valid(const char *id);

/* EA_OK, or EA_ERR_INVALID "invalid tenant id ...". */
ea_rc ea_catalog_tenant_id_check(const char *id, struct ea_err *err) EA_WUR;

/* Derives a tenant id from a display name: lowercase ASCII letters and digits kept, every run of
 * other bytes becomes one '-', no leading/trailing '-', at most 63 chars. False (out = "") when
 * nothing valid remains. */
bool ea_catalog_tenant_slug(const char *name, char out[EA_CATALOG_TENANT_ID_MAX + 1]);

/* True when s is 1..max bytes without control characters. */
bool ea_catalog_text_valid(const char *s, size_t max);

/* True when name matches ^[a-z][a-z0-9_.-]{0,63}$ (defined metric names). */
bool ea_catalog_metric_name_valid(const char *name);

/* EA_OK, or EA_ERR_INVALID "invalid metric name ...: ..." naming the rule. */
ea_rc ea_catalog_metric_name_check(const char *name, struct ea_err *err) EA_WUR;

/* A metric definition as a front door received it. */
typedef struct ea_catalog_metric {
    const char *name;
    const char *event;
    const char *aggregation; /* NULL: count */
    const char *property;    /* NULL: none */
    const char *const *dims; /* ndims names (the adapter's storage) */
    size_t ndims;
    long long cap; /* distinct values per dimension per day; 0 means the default (1000) */
    bool cap_set;  /* cap was given (then 0 is refused like any value outside 1..1000000) */
} ea_catalog_metric;

/* Every rule of a definition, in this order: name, event, aggregation, property (required by
 * all but count, refused by count), dimensions (at most 8, names 1..128 bytes without control
 * characters, no repeats), cardinality cap (1..1000000). EA_ERR_INVALID naming the first
 * broken rule. The rules against other names (events seen) need the database: see define. */
ea_rc ea_catalog_metric_check(const ea_catalog_metric *m, struct ea_err *err) EA_WUR;

/* Scopes of a new key: at least one, each of ingest/read/admin, no repeats. */
ea_rc ea_catalog_scopes_check(const char *const *scopes, size_t n, struct ea_err *err) EA_WUR;

/* ---- automatic count names (pure: the worker computes them per event) ----------------------- */

/* Length of event without every trailing EA_CATALOG_EVENT_SUFFIX (its "base"). */
size_t ea_catalog_event_base_len(const char *event, size_t len);

typedef enum ea_catalog_count_kind {
    EA_CATALOG_COUNT_OWN = 0,  /* the automatic count is named exactly like the event */
    EA_CATALOG_COUNT_SHADOWED, /* named event + EA_CATALOG_EVENT_SUFFIX */
    EA_CATALOG_COUNT_REPLACED, /* none: a definition named like the event counts it */
} ea_catalog_count_kind;

/* The rule for an event of len bytes whose base is base_len bytes, given the tenant's
 * definition named like the base: def_exists, and def_counts_base (it is the count of the event
 * named like itself). A definition that counts something else holds the name: the event's count
 * (and that of every "base (event)..." event) moves one suffix further, so they never merge. */
ea_catalog_count_kind ea_catalog_count_kind_of(size_t len, size_t base_len, bool def_exists,
                                               bool def_counts_base);

/* True when a definition (name, aggregation, event) is the count of the event named like it. */
bool ea_catalog_def_counts_own_name(const char *name, const char *aggregation, const char *event);

/* ---- suggestions ---------------------------------------------------------------------------- */

/* Optimal string alignment distance (edits: insert, delete, substitute, swap neighbours) between
 * a and b, ASCII case-insensitive; any value above limit is returned as limit + 1. */
size_t ea_catalog_name_distance(const char *a, const char *b, size_t limit);

/* Up to max (<= 8) candidates close to name (distance <= 1 for names up to 4 bytes, 2 up to 9, 3
 * beyond), closest first, ties in byte order; returns how many were written to out. */
size_t ea_catalog_suggest(const char *name, const char *const *cands, size_t n, const char **out,
                          size_t max);

/* ---- tenants and members -------------------------------------------------------------------- */

/* Creates tenant (id, name); id NULL derives it from name (ea_catalog_tenant_slug). *out =
 * {id, name, createdAt}. EA_ERR_CONFLICT when the id exists. */
ea_rc ea_catalog_tenant_create(PGconn *c, const char *name, const char *id, json_t **out,
                               struct ea_err *err) EA_WUR;

/* [{id, name, activeKeys, metrics, createdAt}] ordered by id. */
ea_rc ea_catalog_tenant_list(PGconn *c, json_t **out, struct ea_err *err) EA_WUR;

/* EA_OK when tenant exists; EA_ERR_NOTFOUND "could not <what>: tenant "x" does not exist". */
ea_rc ea_catalog_tenant_require(PGconn *c, const char *tenant, const char *what,
                                struct ea_err *err) EA_WUR;

/* Lets (issuer, subject) — the ID token's iss and sub — use tenant with role viewer|admin; an
 * existing membership gets the new role. */
ea_rc ea_catalog_member_grant(PGconn *c, const char *tenant, const char *issuer,
                              const char *subject, const char *role, struct ea_err *err) EA_WUR;

/* Takes the membership away; EA_ERR_NOTFOUND when there was none. */
ea_rc ea_catalog_member_remove(PGconn *c, const char *tenant, const char *issuer,
                               const char *subject, struct ea_err *err) EA_WUR;

/* [{issuer, subject, role, name, lastLoginAt}] ordered by issuer, subject. */
ea_rc ea_catalog_member_list(PGconn *c, const char *tenant, json_t **out,
                             struct ea_err *err) EA_WUR;

/* ---- API keys ------------------------------------------------------------------------------- */

typedef struct ea_catalog_key_spec {
    const char *tenant;
    const char *const *scopes;
    size_t nscopes;
    bool has_rate_limit;
    long long rate_limit; /* requests/minute, 1..2147483647 when has_rate_limit */
    const char *name;     /* NULL: none; else 1..200 bytes without control characters */
    /* NULL: a secret key. Else a browser key (SPEC §4) bound to these norigins origins (1..16,
     * lib/apikey/ea_origin.h): its scopes must be exactly ingest. */
    const char *const *origins;
    size_t norigins;
} ea_catalog_key_spec;

/* The browser-key rule: when k->origins is set, k's scopes must be exactly {ingest} and every
 * origin valid; out gets them normalized and comma-joined (stored so, matched byte for byte by
 * ingest-api). "" in out for a secret key. EA_ERR_INVALID with a message saying what to change. */
ea_rc ea_catalog_key_origins(const ea_catalog_key_spec *k, char out[EA_ORIGINS_TEXT_MAX],
                             struct ea_err *err) EA_WUR;

/* Creates a key (lib/apikey format, bcrypt of bcrypt_cost), retrying a colliding key id up to
 * three times. key_out gets the full key (shown once: the caller wipes it); *out = the ApiKey
 * {keyId, tenant, scopes, name, rateLimit, origins, createdAt, revokedAt}. Runs bcrypt (about
 * 70 ms at cost 10) on the calling thread. */
ea_rc ea_catalog_key_create(PGconn *c, const ea_catalog_key_spec *spec, int bcrypt_cost,
                            char key_out[EA_APIKEY_MAX_LEN + 1], json_t **out,
                            struct ea_err *err) EA_WUR;

/* The tenant's keys (never secrets or hashes), oldest first. */
ea_rc ea_catalog_key_list(PGconn *c, const char *tenant, json_t **out, struct ea_err *err) EA_WUR;

/* Revokes a key given by id (12 hex) or as the full key. tenant NULL: any tenant (operator CLI);
 * else only that tenant's key. Revoking twice keeps the first time (*already = true). *out =
 * the ApiKey. EA_ERR_NOTFOUND when there is no such key (in that tenant). */
ea_rc ea_catalog_key_revoke(PGconn *c, const char *tenant, const char *id_or_key, json_t **out,
                            bool *already, struct ea_err *err) EA_WUR;

/* ---- metric definitions --------------------------------------------------------------------- */

/* Creates or replaces a definition (*created tells which). *out = MetricDefinition {name,
 * eventName, aggregation, property, dimensions, cardinalityCap}. Beyond ea_catalog_metric_check:
 * a name under which events were already seen is refused unless the definition is the count of
 * that same event (EA_ERR_CONFLICT). *changed (NULL allowed) = metric names whose rows moved
 * (caches must forget them). */
ea_rc ea_catalog_metric_define(PGconn *c, const char *tenant, const ea_catalog_metric *m,
                               json_t **out, bool *created, json_t **changed,
                               struct ea_err *err) EA_WUR;

/* The definition named name; EA_ERR_NOTFOUND when there is none. */
ea_rc ea_catalog_metric_get(PGconn *c, const char *tenant, const char *name, json_t **out,
                            struct ea_err *err) EA_WUR;

/* The tenant's definitions ordered by name. */
ea_rc ea_catalog_metric_list(PGconn *c, const char *tenant, json_t **out,
                             struct ea_err *err) EA_WUR;

/* Deletes a definition and its rollup rows (kept when it was the count of the event named like
 * it: they are that event's automatic count). Refused (EA_ERR_CONFLICT) while alerts use a metric
 * that would vanish. *out = the deleted definition; *changed as for define. */
ea_rc ea_catalog_metric_delete(PGconn *c, const char *tenant, const char *name, json_t **out,
                               json_t **changed, struct ea_err *err) EA_WUR;

/* Renames a definition; its rollup rows, alerts and dashboard charts follow it. new_name must be
 * a valid name that is neither a definition nor an event seen. *out = the renamed definition. */
ea_rc ea_catalog_metric_rename(PGconn *c, const char *tenant, const char *name,
                               const char *new_name, json_t **out, json_t **changed,
                               struct ea_err *err) EA_WUR;

/* The tenant's events seen (table event_names, sorted, at most EA_CATALOG_EVENTS_MAX), each
 * with the metric its count is stored under (the rule of ea_catalog_count_kind_of: the event's
 * name, or + EA_CATALOG_EVENT_SUFFIX while a definition holds its base; a definition that is its
 * count has the event's name). *out = [{"event", "metric"}], the caller's. */
ea_rc ea_catalog_event_counts(PGconn *c, const char *tenant, json_t **out,
                              struct ea_err *err) EA_WUR;

/* EA_OK when name is a metric of tenant: a definition, or the automatic count of an event seen
 * or counted by a definition. Else EA_ERR_NOTFOUND "unknown metric ..." suggesting close names.
 * *dims (NULL allowed) = the metric's dimensions (a JSON list; [] for automatic counts). */
ea_rc ea_catalog_metric_resolve(PGconn *c, const char *tenant, const char *name, json_t **dims,
                                struct ea_err *err) EA_WUR;

/* What a metric counts, for readers that compute it from raw events (graphql-api's breakdowns by
 * any property): the event name its events carry, the aggregation and its property, its declared
 * dimensions and cap. An automatic count counts the event it is named after (minus one
 * EA_CATALOG_EVENT_SUFFIX when the name is shadowed). */
typedef struct ea_catalog_metric_src {
    bool defined;
    char event[EA_CATALOG_EVENT_MAX + 1];
    ea_catalog_agg agg;
    char property[EA_CATALOG_PROPERTY_MAX + 1]; /* "" for count */
    json_t *dims;                               /* the declared dimensions (owned; [] for counts) */
    long cap;                                   /* cardinality cap per dimension */
} ea_catalog_metric_src;

/* As ea_catalog_metric_resolve (EA_ERR_NOTFOUND with suggestions for a name that is no metric),
 * filling *out; the caller frees out->dims. */
ea_rc ea_catalog_metric_source(PGconn *c, const char *tenant, const char *name,
                               ea_catalog_metric_src *out, struct ea_err *err) EA_WUR;

/* The change-feed message announcing that every bucket of these metrics changed:
 * {"tenant": T, "changes": [{"metric": M}, ...]} (docs/event-format.md). NULL when changed is
 * empty. The caller frees it. */
char *ea_catalog_changes_message(const char *tenant, const json_t *changed);

/* ---- dashboards ----------------------------------------------------------------------------- */

/* Saves a dashboard: name 1..200 characters, layout {charts: [...]} of at most 50 charts, each
 * with a metric and optional groupBy (<= 8 names), granularity HOUR|DAY, timezone (string),
 * timeRange (object); other fields are kept as given. id NULL creates one: when the tenant has a
 * dashboard of that name it is replaced if overwrite, else EA_ERR_CONFLICT (so nothing is
 * overwritten without asking). id given: that dashboard gets the name and layout
 * (EA_ERR_NOTFOUND when the tenant has none of that id, EA_ERR_CONFLICT when another one has the
 * name). *out = Dashboard {id, tenant, name, layout, updatedAt}. */
ea_rc ea_catalog_dashboard_save(PGconn *c, const char *tenant, const char *id, const char *name,
                                const json_t *layout, bool overwrite, json_t **out,
                                struct ea_err *err) EA_WUR;

ea_rc ea_catalog_dashboard_list(PGconn *c, const char *tenant, json_t **out,
                                struct ea_err *err) EA_WUR;

/* Renames dashboard id (EA_ERR_NOTFOUND, EA_ERR_CONFLICT as for save). *out = Dashboard. */
ea_rc ea_catalog_dashboard_rename(PGconn *c, const char *tenant, const char *id, const char *name,
                                  json_t **out, struct ea_err *err) EA_WUR;

/* Deletes dashboard id; EA_ERR_NOTFOUND when the tenant has none of that id. */
ea_rc ea_catalog_dashboard_delete(PGconn *c, const char *tenant, const char *id,
                                  struct ea_err *err) EA_WUR;

/* ---- alerts (ea_catalog_alert.c) --------------------------------------------------------------
 */

#define EA_CATALOG_URL_MAX 2048
#define EA_CATALOG_WEBHOOK_SECRET_LEN 70 /* "whsec_" + 64 hex */
#define EA_CATALOG_HISTORY_MAX 500

/* A threshold alert as a front door received it. */
typedef struct ea_catalog_alert {
    const char *name;
    const char *metric;
    const json_t *filter;   /* NULL or an object of dimension -> scalar */
    const char *comparator; /* GT GTE LT LTE EQ NEQ */
    double threshold;
    const char *granularity; /* HOUR | DAY; NULL: HOUR */
    const char *timezone;    /* IANA zone of DAY buckets; NULL: UTC */
    const char *webhook_url; /* NULL or "": no webhook; else http(s)://host[:port]/..., <= 2048 */
} ea_catalog_alert;

/* Every rule of an alert that needs no database: name, comparator, granularity, finite
 * threshold, filter shape, webhook URL (http or https, a host, no user:password, no spaces or
 * control characters). EA_ERR_INVALID naming the first broken rule. */
ea_rc ea_catalog_alert_check(const ea_catalog_alert *a, struct ea_err *err) EA_WUR;

/* Creates an alert on a metric of the tenant (ea_catalog_metric_resolve) whose filter keys are
 * dimensions of that metric, in a time zone PostgreSQL knows. With a webhook it generates the
 * signing secret ("whsec_" + 64 hex), returned in *out as webhookSecret — the only time it is
 * shown. *out = Alert {id, tenant, name, metric, filter, comparator, threshold, granularity,
 * enabled, createdAt, timezone, webhookUrl[, webhookSecret]}. */
ea_rc ea_catalog_alert_create(PGconn *c, const char *tenant, const ea_catalog_alert *a,
                              json_t **out, struct ea_err *err) EA_WUR;

/* Replaces every field of alert id with a (same rules as create). The secret is kept while the
 * alert keeps a webhook; an alert that gains one gets a new secret (returned as webhookSecret);
 * one that loses it loses the secret. EA_ERR_NOTFOUND when the tenant has no such alert. */
ea_rc ea_catalog_alert_update(PGconn *c, const char *tenant, const char *id,
                              const ea_catalog_alert *a, json_t **out, struct ea_err *err) EA_WUR;

/* Pauses (false) or resumes (true) alert id: a paused alert is not evaluated. *out = Alert. */
ea_rc ea_catalog_alert_set_enabled(PGconn *c, const char *tenant, const char *id, bool enabled,
                                   json_t **out, struct ea_err *err) EA_WUR;

/* Deletes alert id with its firings (and their pending deliveries). EA_ERR_NOTFOUND when none. */
ea_rc ea_catalog_alert_delete(PGconn *c, const char *tenant, const char *id,
                              struct ea_err *err) EA_WUR;

ea_rc ea_catalog_alert_list(PGconn *c, const char *tenant, json_t **out, struct ea_err *err) EA_WUR;

/* The newest `limit` (1..500) firings of alert id, newest first: [{firedAt, bucket, value,
 * dimensions, delivery (none|pending|delivered|failed), attempts, deliveryError}]. An unknown id
 * gives [] (the field is read through an alert the caller already sees). */
ea_rc ea_catalog_alert_history(PGconn *c, const char *tenant, const char *id, long limit,
                               json_t **out, struct ea_err *err) EA_WUR;

#endif
