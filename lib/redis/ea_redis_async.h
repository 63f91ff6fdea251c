/*
 * ea_redis_async.h — Redis for an event loop that must never wait on it. One connection is owned
 * by a thread of its own; the loop submits commands (never blocks: a bounded queue, a mutex held
 * for a few pointer moves, a wake-up byte), the thread sends them pipelined and hands each reply
 * back through a pipe the loop watches; the loop then runs every finished command's done().
 *
 *   loop: ea_redis_async_submit ──▶ queue ──▶ thread: connect when needed (blocking, off the loop),
 *         write every queued command at once, poll the socket, match replies in order
 *   loop: ea_redis_async_complete ◀── finished list + wake byte ◀── thread
 *
 * Pipelining makes a slow Redis cost latency, not throughput: N commands submitted while one is
 * in flight share the next round trip instead of queueing one round trip each.
 *
 * Failures: a command that gets no reply within the timeout breaks the connection (every command
 * in flight on it fails: a late reply would be taken for the next command's); a failed connect is
 * not retried before retry_ms, and commands submitted meanwhile fail at once. Failed commands
 * come back with status EA_ERR_UNAVAILABLE; ea_redis_async_error() says why. Nothing is retried:
 * whether a command may run twice is the caller's business.
 *
 * Scripts: Lua scripts given at creation are loaded (SCRIPT LOAD) on every new connection and run
 * by number (EVALSHA; once more as EVAL when Redis answers NOSCRIPT, e.g. after SCRIPT FLUSH).
 *
 * Not for: blocking commands (SUBSCRIBE, BLPOP) or transactions; policies (caches, rate limits)
 * belong to the callers. Every function is for the loop thread that created the client.
 */
#ifndef EA_REDIS_ASYNC_H
#define EA_REDIS_ASYNC_H

#include "ea_redis.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EA_REDIS_ASYNC_MAX_ARGS 16

typedef struct ea_redis_async ea_redis_async;

typedef struct ea_redis_async_config {
    const ea_redis_url *url;    /* copied */
    int timeout_ms;             /* connect steps, and the reply to each command */
    int retry_ms;               /* after a failed connect, none before this (commands fail) */
    size_t queue_max;           /* commands submitted and not finished; beyond, submit fails */
    const char *const *scripts; /* Lua scripts run by number; copied */
    size_t nscripts;
    const char *name; /* thread name (at most 15 chars) */
} ea_redis_async_config;

/* A command, embedded by the caller in memory that lives until done() has run. */
typedef struct ea_redis_cmd ea_redis_cmd;
struct ea_redis_cmd {
    /* Set by the caller. script >= 0: the arguments follow the script (numkeys, keys, args);
     * script < 0: argv is the whole command. argv strings must live until done(). */
    int script;
    int argc;
    const char *argv[EA_REDIS_ASYNC_MAX_ARGS];
    size_t argvlen[EA_REDIS_ASYNC_MAX_ARGS];
    /* On the loop thread, from ea_redis_async_complete() (or ea_redis_async_free()); may free
     * the command. The reply is freed after done() returns. */
    void (*done)(ea_redis_cmd *c);
    /* Results, valid in done(). status EA_OK: reply is set (an error reply is a reply, type
     * REDIS_REPLY_ERROR); otherwise reply is NULL. ran is false only for commands that
     * ea_redis_async_free() dropped before sending. */
    ea_rc status;
    redisReply *reply;
    bool ran;
    /* private */
    ea_redis_cmd *next;
    int64_t sent_ms;
    bool as_eval;
};

/* Starts the thread (it connects at the first command). NULL with err filled. */
ea_redis_async *ea_redis_async_new(const ea_redis_async_config *cfg, struct ea_err *err);

/* Stops the thread: commands in flight fail (EA_ERR_UNAVAILABLE), queued ones come back with ran
 * false; every done() runs before this returns. NULL is allowed. */
void ea_redis_async_free(ea_redis_async *a);

/* Queues c (fills c's private fields). EA_ERR_LIMIT when queue_max commands are pending or the
 * client is stopping, EA_ERR_INVALID when c has more than EA_REDIS_ASYNC_MAX_ARGS arguments or
 * names no script: c is untouched and done() will not run. */
ea_rc ea_redis_async_submit(ea_redis_async *a, ea_redis_cmd *c) EA_WUR;

/* The descriptor that becomes readable when finished commands wait; the owner watches it on
 * its loop (ea_http_watch) and then calls ea_redis_async_complete(). */
int ea_redis_async_fd(const ea_redis_async *a);
void ea_redis_async_complete(ea_redis_async *a);

/* Why Redis was last unusable (connect, authentication, timeout, a broken connection), into buf;
 * false (buf "") once a command got its reply again. */
bool ea_redis_async_error(ea_redis_async *a, char *buf, size_t cap);

/* Commands submitted and not finished (for /metrics). */
size_t ea_redis_async_pending(ea_redis_async *a);

#endif
