/*
 * ea_log.c — JSON line logger. The message is escaped by hand (a handful of characters) rather
 * than through jansson so that lib/base stays dependency-free; one write(2) per line keeps lines
 * whole when several threads log.
 */
#include "ea_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

ea_log_level ea_log_min_level = EA_LOG_INFO;
static const char *log_service = "ea";

void ea_log_init(const char *service, ea_log_level min_level)
{
    log_service = service;
    ea_log_min_level = min_level;
}

ea_log_level ea_log_level_parse(const char *s)
{
    if (s == NULL)
        return EA_LOG_INFO;
    if (strcasecmp(s, "debug") == 0)
        return EA_LOG_DEBUG;
    if (strcasecmp(s, "warn") == 0)
        return EA_LOG_WARN;
    if (strcasecmp(s, "error") == 0)
        return EA_LOG_ERROR;
    return EA_LOG_INFO;
}

static size_t escape_into(char *out, size_t cap, size_t pos, const char *s)
{
    /* stop 32 bytes short of the end: the closing fields after each escaped string need room */
    for (; *s != '\0' && pos + 32 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[pos++] = '\\';
            out[pos++] = (char)c;
        } else if (c < 0x20) {
            pos += (size_t)snprintf(out + pos, cap - pos, "\\u%04x", c);
        } else {
            out[pos++] = (char)c;
        }
    }
    return pos;
}

void ea_log_write(ea_log_level level, const char *subject, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    char msg[2048], line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t pos =
        (size_t)snprintf(line, sizeof(line),
                         "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\","
                         "\"svc\":\"%s\",\"subject\":\"",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                         tm.tm_sec, ts.tv_nsec / 1000000, names[level & 3], log_service);
    pos = escape_into(line, sizeof(line), pos, subject != NULL ? subject : "-");
    pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "\",\"msg\":\"");
    pos = escape_into(line, sizeof(line), pos, msg);
    pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "\"}\n");
    if (pos >= sizeof(line))
        pos = sizeof(line) - 1;
    ssize_t w = write(STDERR_FILENO, line, pos);
    (void)w;
}

const char *ea_log_subject_part(char *buf, int partition, long long offset)
{
    if (offset < 0)
        snprintf(buf, EA_LOG_SUBJECT_MAX, "p%d", partition);
    else
        snprintf(buf, EA_LOG_SUBJECT_MAX, "p%d@%lld", partition, offset);
    return buf;
}
