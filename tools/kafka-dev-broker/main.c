/*
 * main.c — kafka-dev-broker: wiring only. Parses the command line, then either runs the client
 * (--ctl) or starts the mock cluster, opens the control socket, publishes the bootstrap list and
 * waits for SIGTERM/SIGINT/SIGHUP.
 *
 * Start order makes the bootstrap file the readiness signal: it is written last, once the topics
 * exist and the control socket listens. Shutdown removes it first, so a script never picks up a
 * broker that is going away. Not for production: see README.md.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "control.h"
#include "ea_log.h"
#include "mock_cluster.h"

#define SUBJECT "startup"

struct options {
    int brokers, partitions, ntopics;
    const char *topics[KDB_MAX_TOPICS];
    const char *bootstrap_file, *control, *ctl, *debug;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: kafka-dev-broker [--brokers N] [--topic NAME]... [--partitions N]\n"
               "                        [--bootstrap-file PATH] [--control PATH] [--debug CTX]\n"
               "       kafka-dev-broker --ctl PATH [COMMAND]...   (no COMMAND: one per stdin "
               "line)\n"
               "In-memory Kafka (librdkafka mock cluster) for development and tests only.\n"
               "Defaults: 3 brokers, topic $KAFKA_TOPIC or \"events\", 3 partitions.\n");
}

static int parse_int_opt(const char *name, const char *s, int min, int max, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "kafka-dev-broker: --%s must be an integer %d..%d, not \"%s\"\n", name, min,
                max, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Returns -1 on a usage error (already reported), 1 for --help, 0 otherwise. */
static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"topic", required_argument, NULL, 't'},
        {"partitions", required_argument, NULL, 'p'},
        {"bootstrap-file", required_argument, NULL, 'f'},
        {"control", required_argument, NULL, 'c'},
        {"ctl", required_argument, NULL, 'C'},
        {"debug", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    /* '+': stop at the first non-option, so `--ctl PATH 'rtt 1 -5'` passes the command intact */
    while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'b':
            if (parse_int_opt("brokers", optarg, 1, KDB_MAX_BROKERS, &o->brokers) != 0)
                return -1;
            break;
        case 'p':
            if (parse_int_opt("partitions", optarg, 1, KDB_MAX_PARTITIONS, &o->partitions) != 0)
                return -1;
            break;
        case 't':
            if (o->ntopics == KDB_MAX_TOPICS) {
                fprintf(stderr, "kafka-dev-broker: at most %d --topic\n", KDB_MAX_TOPICS);
                return -1;
            }
            o->topics[o->ntopics++] = optarg;
            break;
        case 'f':
            o->bootstrap_file = optarg;
            break;
        case 'c':
            o->control = optarg;
            break;
        case 'C':
            o->ctl = optarg;
            break;
        case 'd':
            o->debug = optarg;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return -1;
        }
    }
    if (o->ctl == NULL && optind < argc) {
        fprintf(stderr, "kafka-dev-broker: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    if (o->ntopics == 0) {
        const char *env = getenv("KAFKA_TOPIC");
        o->topics[o->ntopics++] = env != NULL && env[0] != '\0' ? env : "events";
    }
    return 0;
}

/* Blocks the shutdown signals in this thread before librdkafka starts its threads (they inherit
 * the mask), so they are only ever seen through the returned signalfd. */
static int shutdown_signals_fd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &set, SFD_CLOEXEC);
}

int main(int argc, char **argv)
{
    struct options o = {.brokers = 3, .partitions = 3};
    int prc = parse_options(argc, argv, &o);
    if (prc != 0)
        return prc > 0 ? 0 : 2;
    if (o.ctl != NULL)
        return kdb_control_client_main(o.ctl, argc - optind, argv + optind);

    ea_log_init("kafka-dev-broker", ea_log_level_parse(getenv("LOG_LEVEL")));
    int sfd = shutdown_signals_fd();
    if (sfd < 0) {
        ea_log_error(SUBJECT, "could not set up signal handling");
        return 1;
    }
    ea_log_warn(SUBJECT,
                "DEVELOPMENT AND TESTS ONLY: in-memory Kafka (librdkafka mock cluster), not "
                "durable; each partition keeps a bounded log and drops its oldest data past it; "
                "production uses KAFKA_BROKERS with a real Kafka or Redpanda");

    int rc = 1;
    struct ea_err err;
    kdb_cluster *cluster = NULL;
    kdb_control_server *srv = NULL;
    int wrote_bootstrap = 0;
    struct kdb_cluster_opts copts = {.brokers = o.brokers,
                                     .partitions = o.partitions,
                                     .topics = o.topics,
                                     .ntopics = o.ntopics,
                                     .debug = o.debug};
    if (kdb_cluster_new(&copts, &cluster, &err) != EA_OK) {
        ea_log_error(SUBJECT, "could not start the mock cluster: %s", err.message);
        goto out;
    }
    if (o.control != NULL && kdb_control_server_open(o.control, cluster, &srv, &err) != EA_OK) {
        ea_log_error(SUBJECT, "could not open the control socket: %s", err.message);
        goto out;
    }
    const char *bootstraps = kdb_cluster_bootstraps(cluster);
    printf("%s\n", bootstraps);
    fflush(stdout);
    if (o.bootstrap_file != NULL) {
        if (kdb_write_file_atomic(o.bootstrap_file, bootstraps, &err) != EA_OK) {
            ea_log_error(SUBJECT, "could not write the bootstrap file: %s", err.message);
            goto out;
        }
        wrote_bootstrap = 1;
    }
    ea_log_info(SUBJECT, "ready: %d brokers at %s, topic %s (%d partitions%s), control %s",
                o.brokers, bootstraps, o.topics[0], o.partitions,
                o.ntopics > 1 ? ", more topics in status" : "",
                o.control != NULL ? o.control : "off");

    /* without a control socket, the blocking read below is the whole main loop */
    if (srv != NULL && kdb_control_server_run(srv, sfd) != EA_OK)
        goto out;
    struct signalfd_siginfo si;
    if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        ea_log_info("shutdown", "received %s, shutting down", strsignal((int)si.ssi_signo));
    rc = 0;

out:
    if (wrote_bootstrap)
        unlink(o.bootstrap_file);
    kdb_control_server_close(srv);
    kdb_cluster_destroy(cluster);
    close(sfd);
    if (rc == 0)
        ea_log_info("shutdown", "stopped: cluster destroyed, control socket and bootstrap file "
                                "removed");
    return rc;
}
