/*
 * control.h — the fault-injection interface of kafka-dev-broker: a line protocol over a Unix
 * stream socket (server side), the same commands as plain strings (kdb_control_exec, for tests
 * and for the server), and the tiny client behind `kafka-dev-broker --ctl PATH 'cmd'`.
 *
 * Protocol: one command per line (at most KDB_CONTROL_LINE_MAX bytes with the newline), exactly
 * one reply line per command, starting with "ok" or "err <reason>". Not an admin API for real
 * Kafka: every command maps onto one rd_kafka_mock_* call (see README.md for the list).
 */
#ifndef KDB_CONTROL_H
#define KDB_CONTROL_H

#include "ea_err.h"
#include "mock_cluster.h"

#define KDB_CONTROL_LINE_MAX 1024 /* bytes per command line, newline included */
#define KDB_CONTROL_MAX_CLIENTS 16

typedef struct kdb_control_server kdb_control_server;

/* Runs one command line (no newline) against the cluster. Returns a malloc'd reply line without
 * the newline, "ok ..." or "err ..."; *ok says which. NULL only when out of memory. */
char *kdb_control_exec(kdb_cluster *c, const char *line, int *ok);

/* Listens on the Unix socket `path` (mode 0600). A stale socket file is removed first; a live one
 * (another broker answering there) or a non-socket file at `path` is an error. */
ea_rc kdb_control_server_open(const char *path, kdb_cluster *c, kdb_control_server **out,
                              struct ea_err *err) __attribute__((warn_unused_result));

/* Serves clients until `stop_fd` becomes readable (the caller then reads it). Returns EA_OK, or
 * EA_ERR_IO when poll() itself fails. */
ea_rc kdb_control_server_run(kdb_control_server *srv, int stop_fd)
    __attribute__((warn_unused_result));

/* Disconnects every client, closes the socket and unlinks `path` if it is still ours. NULL ok. */
void kdb_control_server_close(kdb_control_server *srv);

/* Client mode: sends each command (or, with none, each line of stdin), prints each reply line on
 * stdout. Returns the process exit code: 0 all replies ok, 1 some reply err, 2 could not talk to
 * the broker (reason on stderr). */
int kdb_control_client_main(const char *path, int ncmds, char *const *cmds);

#endif
