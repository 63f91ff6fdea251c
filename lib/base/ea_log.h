/*
 * ea_log.h — one JSON object per line on stderr:
 * {"ts":..,"level":..,"svc":..,"subject":..,"msg":..}. The level is checked before any formatting
 * happens. Every line carries a subject, what the line is about, so a grep finds the whole story
 * of one unit of work; never the module that logs (the message says what happened):
 *   an HTTP request      its id (ea_http_request_id, sent back as X-Request-Id)
 *   Kafka                "p3@1200" partition 3 offset 1200, "p3" a partition (ea_log_subject_part),
 *                        a batch "p0@100-199,p2@5-9" (the worker's wk_batch_subject)
 *   WebSocket            "ws-<peer>" a connection; a change-feed re-read: its metric
 *   an alert             "alert-42"; a webhook delivery "alert-42/<firing id>"
 *   a metric, a tenant   "<tenant>/<metric>", "<tenant>"; an API key "key-<key id>" (ids are
 * public) process-wide state   the resource ("postgresql", "redis", "kafka", "oidc") or the phase
 *                        ("startup", "shutdown", "maintenance")
 */
#ifndef EA_LOG_H
#define EA_LOG_H

typedef enum ea_log_level { EA_LOG_DEBUG = 0, EA_LOG_INFO, EA_LOG_WARN, EA_LOG_ERROR } ea_log_level;

/* Sets the service name printed on every line and the minimum level (from LOG_LEVEL). */
void ea_log_init(const char *service, ea_log_level min_level);

/* Parses "debug|info|warn|error"; returns EA_LOG_INFO for anything else. */
ea_log_level ea_log_level_parse(const char *s);

extern ea_log_level ea_log_min_level;

void ea_log_write(ea_log_level level, const char *subject, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ea_log(level, subject, ...)                                                                \
    do {                                                                                           \
        if ((level) >= ea_log_min_level)                                                           \
            ea_log_write((level), (subject), __VA_ARGS__);                                         \
    } while (0)
/* "p<partition>@<offset>", or "p<partition>" when offset < 0, into buf (EA_LOG_SUBJECT_MAX);
 * returns buf. */
#define EA_LOG_SUBJECT_MAX 96
const char *ea_log_subject_part(char *buf, int partition, long long offset);

#define ea_log_debug(subject, ...) ea_log(EA_LOG_DEBUG, subject, __VA_ARGS__)
#define ea_log_info(subject, ...) ea_log(EA_LOG_INFO, subject, __VA_ARGS__)
#define ea_log_warn(subject, ...) ea_log(EA_LOG_WARN, subject, __VA_ARGS__)
#define ea_log_error(subject, ...) ea_log(EA_LOG_ERROR, subject, __VA_ARGS__)

#endif
