#!/usr/bin/env bash
# scripts/stack.sh — runs the whole local stack in the background: PostgreSQL, Redis and the Kafka
# dev broker under $STACK_DIR (each only when DATABASE_URL / REDIS_URL / KAFKA_BROKERS is not set),
# then migrate + seed, then ingest-api, worker and graphql-api. Behind `make up|down|status`, used
# by `make dev` and tests/run-integration.sh. Not a process supervisor: nothing is restarted until
# `up` is run again.
#
# Usage: scripts/stack.sh up|down|status|env     (status exits 3 when some component is not up)
#
# Layout of $STACK_DIR (default .data, relative paths are taken from the repository root):
#   stack.env            sourceable: export DATABASE_URL=... REDIS_URL=... KAFKA_BROKERS=... ports
#   demo-key             the demo tenant's API key (mode 600), written by the first seed
#   sample.db            the database the sample events were loaded into (SAMPLE_DAYS)
#   pg/                  PostgreSQL data dir, owned by postgres (see pg.path when it lives elsewhere)
#   redis/               Redis working dir (no persistence)
#   kafka.bootstrap      the dev broker's bootstrap list, written by the broker when ready
#   log/<component>.log  stdout+stderr of each component
#   run/<component>.pid  pids; run/<component>.port the port it was started on
#   oidc-dev.secret      client secret of the local OIDC provider (mode 600, generated once)
#   pg-admin.password    password of the local PostgreSQL's superuser `postgres` (mode 600; this
#                        script's own connections only)
#   pg.password          password of the role `analytics` (mode 600; in DATABASE_URL)
#   redis.password       the local Redis's requirepass (mode 600; in REDIS_URL: for redis-cli,
#                        REDISCLI_AUTH=<it> redis-cli, or redis-cli -u "$REDIS_URL")
#   redis/redis.conf     the local Redis's settings, its password included (mode 600)
#   tls/                 PG_TLS=1: ca.crt (clients verify with it), ca.key, server.crt/.key (generated once)
#   session.secret       SESSION_SECRET for graphql-api when the environment has none (mode 600)
#
# PG_TLS=1: the local PostgreSQL serves TLS only (a CA and a server certificate for 127.0.0.1 and
# localhost generated under tls/; pg_hba.conf entries become hostssl, so a connection without
# TLS is refused) and DATABASE_URL says sslmode=verify-full with sslrootcert=tls/ca.crt, so every
# component (services, analytics-admin, psql in tests) verifies the server. Switching PG_TLS needs
# a `down` first.
#
# Local servers have passwords (docs/SECURITY.md "Local stack"): PostgreSQL authenticates every
# connection with SCRAM (pg_hba.conf has no `trust`; the script sets role passwords as SCRAM
# verifiers, so a password never reaches the server or its log), Redis runs with requirepass from
# a 0600 config file (never on a command line), and no log under log/ holds a key or password.
# A data directory or a running Redis from before passwords is converted by the next `up` (and
# the services are restarted with the new URLs).
#
# Login: without OIDC_CLIENT_ID the local OIDC provider (tools/oidc-dev, user demo / demo) runs
# on 127.0.0.1:$OIDC_DEV_PORT (default GRAPHQL_PORT + 2) and graphql-api is pointed at it.
#
# Invariants:
#   1. `up` is idempotent: a component whose pid is alive is left running, a dead one is started.
#      When the broker is (re)started its ports change, so running services are restarted too.
#   2. Every process `up` starts is recorded in run/*.pid; `down` stops exactly those (by pid and
#      process group) and fails if one is still alive afterwards.
#   3. `up` returns 0 only when every service answers GET /readyz.
set -euo pipefail
export EA_SCRIPT=stack
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_dotenv

# ---- configuration -----------------------------------------------------------------------------
STACK_DIR="${STACK_DIR:-.data}"
[[ "$STACK_DIR" == /* ]] || STACK_DIR="$REPO_ROOT/$STACK_DIR"
BIN_DIR="${BIN_DIR:-build/bin}"
[[ "$BIN_DIR" == /* ]] || BIN_DIR="$REPO_ROOT/$BIN_DIR"
PG_PORT="${PG_PORT:-55432}"
REDIS_PORT="${REDIS_PORT:-56379}"
INGEST_PORT="${INGEST_PORT:-3001}"
GRAPHQL_PORT="${GRAPHQL_PORT:-3002}"
WORKER_PORT="${WORKER_PORT:-3003}"
KAFKA_TOPIC="${KAFKA_TOPIC:-events}"
OIDC_DEV_PORT="${OIDC_DEV_PORT:-$((GRAPHQL_PORT + 2))}"
LOG_LEVEL="${LOG_LEVEL:-info}"
READY_TIMEOUT="${READY_TIMEOUT:-60}"
STOP_TIMEOUT="${STOP_TIMEOUT:-10}"
MIGRATIONS_DIR="${MIGRATIONS_DIR:-$REPO_ROOT/db/migrations}"

RUN="$STACK_DIR/run"
LOGS="$STACK_DIR/log"
SERVICES=(ingest-api worker graphql-api)
PG_TLS="${PG_TLS:-0}"
PG_TLS_DIR="$STACK_DIR/tls"
# The local servers' URLs carry their passwords; local_urls() reads (or makes) them when `up`
# needs them. The LEGACY_ forms (no password) are how an older stack.env names the same servers.
PG_ADMIN_PASSWORD="" PG_PASSWORD="" REDIS_PASSWORD=""
LOCAL_DB_URL="" LEGACY_DB_URL="" LOCAL_REDIS_URL="" LEGACY_REDIS_URL=""
local_urls() {
    local q=""
    [[ "$PG_TLS" == 1 ]] && q="?sslmode=verify-full&sslrootcert=$PG_TLS_DIR/ca.crt"
    PG_ADMIN_PASSWORD="$(stack_secret pg-admin.password)"
    PG_PASSWORD="$(stack_secret pg.password)"
    REDIS_PASSWORD="$(stack_secret redis.password)"
    LOCAL_DB_URL="postgresql://analytics:$PG_PASSWORD@127.0.0.1:$PG_PORT/analytics$q"
    LEGACY_DB_URL="postgresql://analytics@127.0.0.1:$PG_PORT/analytics$q"
    # the user named: redis-cli -u "$REDIS_URL" (7.0) does not authenticate with "redis://:pw@"
    LOCAL_REDIS_URL="redis://default:$REDIS_PASSWORD@127.0.0.1:$REDIS_PORT/0"
    LEGACY_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
}
KAFKA_BOOTSTRAP_FILE="$STACK_DIR/kafka.bootstrap"
KAFKA_CONTROL="$RUN/kafka-dev-broker.sock"
# A Unix socket path must fit in sun_path (108 bytes): fall back to /tmp for deep checkouts.
if ((${#KAFKA_CONTROL} > 100)); then
    KAFKA_CONTROL="${TMPDIR:-/tmp}/ea-kdb-$(printf '%s' "$STACK_DIR" | sha256sum | cut -c1-12).sock"
fi

if [[ -z "${PG_BIN:-}" ]]; then
    PG_BIN=/usr/lib/postgresql/15/bin
    if [[ ! -x "$PG_BIN/pg_ctl" ]]; then
        PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
    fi
fi

svc_port() {
    case "$1" in
        ingest-api) echo "$INGEST_PORT" ;;
        graphql-api) echo "$GRAPHQL_PORT" ;;
        worker) echo "$WORKER_PORT" ;;
    esac
}

# ---- process helpers ---------------------------------------------------------------------------
# Sends `sig` to pid's process group when pid leads one (services run under setsid, so this also
# reaches their children, e.g. npm -> vite), else to pid alone.
signal_proc() {
    local sig="$1" pid="$2" pgid
    pgid="$(proc_state_pgid "$pid" 2>/dev/null || true)"
    pgid="${pgid#* }"
    if [[ "$pgid" == "$pid" ]]; then
        kill -s "$sig" -- "-$pid" 2>/dev/null || true
    else
        kill -s "$sig" "$pid" 2>/dev/null || true
    fi
}

# True while any live process belongs to process group `pgid`.
group_alive() {
    local pgid="$1" d line fields
    for d in /proc/[0-9]*; do
        read -r line 2>/dev/null <"$d/stat" || continue
        read -r -a fields <<<"${line##*) }"
        [[ "${fields[2]}" == "$pgid" && "${fields[0]}" != Z ]] && return 0
    done
    return 1
}

# Waits up to `secs` for pid (and its group, when it leads one) to disappear.
wait_gone() {
    local pid="$1" secs="$2" i
    for ((i = 0; i < secs * 10; i++)); do
        pid_alive "$pid" || { group_alive "$pid" || return 0; }
        sleep 0.1
    done
    return 1
}

# Stops a process recorded in run/<name>.pid: SIGTERM, then SIGKILL after STOP_TIMEOUT seconds.
stop_pidfile() {
    local name="$1" pidf="$RUN/$1.pid" pid
    pid="$(read_pid "$pidf")"
    if [[ -z "$pid" ]] || ! pid_is "$pid" "$2"; then
        rm -f "$pidf"
        return 0
    fi
    signal_proc TERM "$pid"
    if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
        msg "$name (pid $pid) did not stop within ${STOP_TIMEOUT}s: SIGKILL"
        signal_proc KILL "$pid"
        wait_gone "$pid" 5 || true
    fi
    if pid_alive "$pid"; then
        msg "error: $name (pid $pid) is still alive"
        return 1
    fi
    msg "$name stopped (pid $pid)"
    rm -f "$pidf" "$RUN/$name.port"
}

# Ports 55432/56379 lie in Linux's ephemeral range (32768-60999): a closed client connection can
# hold one in TIME_WAIT for up to 60 s, and PostgreSQL/Redis then fail to bind with "Address
# already in use" although nothing listens. Their start is retried for that long (BIND_RETRY_S).
BIND_RETRY_S="${BIND_RETRY_S:-75}"

# Dies when a listener owns `port`.
check_port_free() {
    port_open "$1" && die "port $1 for $2 is taken by another process (choose another port)"
    return 0
}

show_log_tail() {
    local name="$1" f="$LOGS/$1.log"
    if [[ -s "$f" ]]; then
        printf -- '---- last lines of %s ----\n' "${f#"$REPO_ROOT"/}" >&2
        tail -n "${2:-30}" "$f" >&2
        printf -- '----\n' >&2
    fi
}

# ---- PostgreSQL --------------------------------------------------------------------------------
# PostgreSQL refuses to run as root: as root we run it as `postgres`; otherwise as ourselves.
as_pg() {
    if [[ $EUID -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# The data directory: $STACK_DIR/pg, or the path recorded in $STACK_DIR/pg.path when the postgres
# user could not use $STACK_DIR (e.g. a checkout under /root).
pg_datadir() {
    if [[ -f "$STACK_DIR/pg.path" ]]; then cat "$STACK_DIR/pg.path"; else echo "$STACK_DIR/pg"; fi
}

pg_prepare_datadir() {
    local dir="$STACK_DIR/pg"
    [[ -f "$STACK_DIR/pg.path" ]] && dir="$(cat "$STACK_DIR/pg.path")"
    mkdir -p "$dir"
    if [[ $EUID -eq 0 ]]; then chown postgres:postgres "$dir"; fi
    chmod 700 "$dir"
    if ! as_pg test -w "$dir" -a -x "$dir" 2>/dev/null; then
        rmdir "$dir" 2>/dev/null || true
        dir="/var/tmp/event-analytics-pg-$(printf '%s' "$STACK_DIR" | sha256sum | cut -c1-12)"
        msg "postgresql: user postgres cannot reach $STACK_DIR; data dir at $dir"
        mkdir -p "$dir"
        if [[ $EUID -eq 0 ]]; then chown postgres:postgres "$dir"; fi
        chmod 700 "$dir"
        echo "$dir" >"$STACK_DIR/pg.path"
    fi
    echo "$dir"
}

pg_postmaster_pid() {
    local d
    d="$(pg_datadir)"
    if [[ -f "$d/postmaster.pid" ]]; then head -n1 "$d/postmaster.pid" 2>/dev/null || true; fi
}

pg_running() {
    local d
    d="$(pg_datadir)"
    [[ -f "$d/PG_VERSION" ]] && as_pg "$PG_BIN/pg_ctl" status -D "$d" >/dev/null 2>&1
}

# psql as the superuser: psql_admin "SQL", or psql_admin with the SQL on stdin. The password goes
# through the environment of psql alone (never a command line).
psql_admin() {
    local sql=(-f -)
    (($# > 0)) && sql=(-c "$1")
    if [[ "$PG_TLS" == 1 ]]; then
        PGPASSWORD="$PG_ADMIN_PASSWORD" PGSSLMODE=verify-full PGSSLROOTCERT="$PG_TLS_DIR/ca.crt" \
            "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
            -v ON_ERROR_STOP=1 -tA "${sql[@]}"
    else
        PGPASSWORD="$PG_ADMIN_PASSWORD" "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" \
            -U postgres -d postgres -v ON_ERROR_STOP=1 -tA "${sql[@]}"
    fi
}

# A SCRAM-SHA-256 verifier (RFC 5803 form, as PostgreSQL stores it) of the password on stdin:
# ALTER ROLE ... PASSWORD '<verifier>' sets the password without the server ever seeing it.
scram_verifier() {
    python3 -c '
import base64, hashlib, hmac, os, sys
pw = sys.stdin.readline().rstrip("\n").encode()
salt, n = os.urandom(16), 4096
salted = hashlib.pbkdf2_hmac("sha256", pw, salt, n)
client = hmac.new(salted, b"Client Key", "sha256").digest()
server = hmac.new(salted, b"Server Key", "sha256").digest()
b64 = lambda b: base64.b64encode(b).decode()
print("SCRAM-SHA-256$%d:%s$%s:%s" % (n, b64(salt), b64(hashlib.sha256(client).digest()), b64(server)))'
}

# pg_set_password ROLE PASSWORD
pg_set_password() {
    local v
    v="$(printf '%s\n' "$2" | scram_verifier)" || die "could not compute a SCRAM verifier (python3)"
    printf 'ALTER ROLE %s PASSWORD %s;\n' "$1" "'$v'" | psql_admin >/dev/null
}

# PG_TLS=1: a CA and a server certificate (SAN 127.0.0.1, localhost), made once with the openssl
# CLI; the server's pair is copied into the data directory, owned by the server's user.
pg_tls_prepare() {
    local d="$1"
    if [[ ! -s "$PG_TLS_DIR/server.crt" ]]; then
        msg "postgresql: generating a CA and a server certificate in ${PG_TLS_DIR#"$REPO_ROOT"/}"
        mkdir -p "$PG_TLS_DIR"
        (
            umask 077
            cd "$PG_TLS_DIR"
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
                -subj "/CN=event-analytics local CA" -keyout ca.key -out ca.crt &&
                openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
                    -subj "/CN=localhost" -keyout server.key -out server.csr &&
                printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext &&
                openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
                    -days 3650 -extfile server.ext -out server.crt
        ) >"$LOGS/tls.log" 2>&1 || { show_log_tail tls; die "could not generate the TLS certificates"; }
        chmod 644 "$PG_TLS_DIR/ca.crt"
        chmod 755 "$PG_TLS_DIR"
    fi
    cp "$PG_TLS_DIR/server.crt" "$PG_TLS_DIR/server.key" "$d/"
    if [[ $EUID -eq 0 ]]; then chown postgres:postgres "$d/server.crt" "$d/server.key"; fi
    chmod 600 "$d/server.key"
}

# pg_hba.conf, the whole of it: a password (SCRAM) for every connection, never trust; with
# PG_TLS=1 the TCP entries are hostssl (no entry matches a connection without TLS: refused with
# "no pg_hba.conf entry ... no encryption").
pg_hba_write() {
    local host=host
    [[ "$PG_TLS" == 1 ]] && host=hostssl
    printf '%s\n' "# written by scripts/stack.sh: every connection needs a password (SCRAM); no trust" \
        "local   all  all                scram-sha-256" \
        "$host   all  all  127.0.0.1/32  scram-sha-256" \
        "$host   all  all  ::1/128       scram-sha-256" | as_pg tee "$1/pg_hba.conf" >/dev/null
}

# True when pg_hba.conf lets some connection in without a password (a data directory made
# before the stack had passwords).
pg_hba_trusts() {
    as_pg grep -qE '^[[:space:]]*[^#[:space:]].*[[:space:]](trust|password)([[:space:]]|$)' "$1/pg_hba.conf"
}

# The legacy form of pg_hba.conf (trust) only switched between host and hostssl.
pg_hba_mode() {
    local f="$1/pg_hba.conf"
    if [[ "$PG_TLS" == 1 ]]; then
        as_pg sed -i -E 's/^host([[:space:]])/hostssl\1/' "$f"
    else
        as_pg sed -i -E 's/^hostssl([[:space:]])/host\1/' "$f"
    fi
}

PG_FRESH=0
STACK_RESECURED=0
pg_up() {
    [[ -x "$PG_BIN/pg_ctl" ]] || die "PostgreSQL binaries not found (PG_BIN=$PG_BIN): run scripts/deps.sh"
    local d running_port
    d="$(pg_prepare_datadir)"
    if [[ ! -f "$d/PG_VERSION" ]]; then
        msg "postgresql: initdb in $d"
        # the superuser's password through a file only the server's user can read
        local pwf
        pwf="$(as_pg mktemp)"
        printf '%s\n' "$PG_ADMIN_PASSWORD" | as_pg tee "$pwf" >/dev/null
        as_pg "$PG_BIN/initdb" -D "$d" -U postgres --pwfile="$pwf" --auth-host=scram-sha-256 \
            --auth-local=scram-sha-256 --encoding=UTF8 --no-locale >"$LOGS/initdb.log" 2>&1 ||
            { as_pg rm -f "$pwf"; show_log_tail initdb; die "initdb failed"; }
        as_pg rm -f "$pwf"
        pg_hba_write "$d"
        PG_FRESH=1
    fi
    if pg_running; then
        running_port="$(sed -n 4p "$d/postmaster.pid" 2>/dev/null || true)"
        if [[ -n "$running_port" && "$running_port" != "$PG_PORT" ]]; then
            die "postgresql in $d runs on port $running_port, not PG_PORT=$PG_PORT: run 'stack.sh down' first"
        fi
        if [[ "$(cat "$RUN/postgresql.tls" 2>/dev/null || echo 0)" != "$PG_TLS" ]]; then
            die "postgresql in $d runs with PG_TLS=$(cat "$RUN/postgresql.tls" 2>/dev/null || echo 0), not $PG_TLS: run 'stack.sh down' first"
        fi
        msg "postgresql: running (pid $(pg_postmaster_pid), port $PG_PORT)"
    else
        check_port_free "$PG_PORT" postgresql
        local tls_opts=""
        if [[ "$PG_TLS" == 1 ]]; then
            pg_tls_prepare "$d"
            tls_opts=" -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key -c ssl_min_protocol_version=TLSv1.2"
        fi
        if pg_hba_trusts "$d"; then pg_hba_mode "$d"; else pg_hba_write "$d"; fi
        msg "postgresql: starting on 127.0.0.1:$PG_PORT$([[ "$PG_TLS" == 1 ]] && echo " (TLS only)")"
        # setsid: a Ctrl-C in `make dev` must not reach the postmaster; `down` stops it.
        local as=() t_end lines
        [[ $EUID -eq 0 ]] && as=(runuser -u postgres --)
        t_end=$(($(date +%s) + BIND_RETRY_S))
        while :; do
            lines=0
            [[ -f "$d/server.log" ]] && lines="$(wc -l <"$d/server.log")"
            setsid "${as[@]}" "$PG_BIN/pg_ctl" start -D "$d" -w -t 60 -l "$d/server.log" \
                -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=''$tls_opts" \
                </dev/null >/dev/null 2>&1 || true
            pg_running && break
            tail -n +"$((lines + 1))" "$d/server.log" 2>/dev/null | grep -q 'Address already in use' ||
                break
            (($(date +%s) < t_end)) || break
            msg "postgresql: port $PG_PORT is held by a closing connection, retrying in 3 s"
            sleep 3
        done
        if ! pg_running; then
            ln -sf "$d/server.log" "$LOGS/postgresql.log" 2>/dev/null || true
            tail -n 30 "$d/server.log" >&2 2>/dev/null || true
            die "postgresql did not start"
        fi
    fi
    ln -sf "$d/server.log" "$LOGS/postgresql.log"
    pg_postmaster_pid >"$RUN/postgresql.pid"
    echo "$PG_PORT" >"$RUN/postgresql.port"
    echo "$PG_TLS" >"$RUN/postgresql.tls"
    if pg_hba_trusts "$d"; then
        # made before the stack had passwords: set them while trust still lets us in, then trust
        # goes; services started with the old URL are restarted (STACK_RESECURED)
        msg "postgresql: this data directory trusted local connections: passwords from now on"
        pg_set_password postgres "$PG_ADMIN_PASSWORD"
        pg_hba_write "$d"
        psql_admin "select pg_reload_conf()" >/dev/null
        STACK_RESECURED=1
    fi
    [[ "$(psql_admin "select 1 from pg_roles where rolname = 'analytics'")" == 1 ]] ||
        psql_admin "create role analytics login"
    pg_set_password analytics "$PG_PASSWORD"
    [[ "$(psql_admin "select 1 from pg_database where datname = 'analytics'")" == 1 ]] ||
        psql_admin "create database analytics owner analytics"
}

pg_down() {
    local d pid
    d="$(pg_datadir)"
    pid="$(pg_postmaster_pid)"
    if pg_running; then
        as_pg "$PG_BIN/pg_ctl" stop -D "$d" -m fast -w -t 30 >/dev/null 2>&1 ||
            msg "pg_ctl stop failed"
    fi
    if [[ -n "$pid" ]] && pid_is "$pid" postgres; then
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone "$pid" "$STOP_TIMEOUT" || kill -KILL "$pid" 2>/dev/null || true
    fi
    if [[ -n "$pid" ]] && pid_alive "$pid" && pid_is "$pid" postgres; then
        msg "error: postgresql (pid $pid) is still alive"
        return 1
    fi
    [[ -n "$pid" ]] && msg "postgresql stopped (pid $pid)"
    rm -f "$RUN/postgresql.pid" "$RUN/postgresql.port" "$RUN/postgresql.tls"
}

# ---- Redis -------------------------------------------------------------------------------------
# redis-cli against the local Redis (the password through its environment, never argv).
rcli() {
    local port="$1"
    shift
    REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h 127.0.0.1 -p "$port" "$@"
}

# Every setting in a 0600 file: requirepass must not show on a command line (ps).
redis_conf_write() {
    local f="$STACK_DIR/redis/redis.conf"
    mkdir -p "$STACK_DIR/redis"
    (
        umask 077
        printf '%s\n' "# written by scripts/stack.sh up (mode 600: it holds the password)" \
            "bind 127.0.0.1" "port $REDIS_PORT" "save \"\"" "appendonly no" \
            "dir \"$STACK_DIR/redis\"" "daemonize yes" "pidfile \"$RUN/redis.pid\"" \
            "logfile \"$LOGS/redis.log\"" "requirepass \"$REDIS_PASSWORD\"" >"$f.tmp"
    )
    mv -f "$f.tmp" "$f"
}

redis_up() {
    local pid i
    pid="$(read_pid "$RUN/redis.pid")"
    if [[ -n "$pid" ]] && pid_is "$pid" redis-server; then
        if [[ "$(env -u REDISCLI_AUTH redis-cli -h 127.0.0.1 \
            -p "$(cat "$RUN/redis.port" 2>/dev/null || echo "$REDIS_PORT")" ping 2>/dev/null)" != PONG ]]; then
            msg "redis: running (pid $pid, port $(cat "$RUN/redis.port" 2>/dev/null || echo "?"))"
            return 0
        fi
        # it answers without a password: started before the stack had passwords
        msg "redis: running without a password: restarting it with one"
        redis_down
        STACK_RESECURED=1
    fi
    check_port_free "$REDIS_PORT" redis
    redis_conf_write
    msg "redis: starting on 127.0.0.1:$REDIS_PORT"
    local t_end lines
    t_end=$(($(date +%s) + BIND_RETRY_S))
    while :; do
        rm -f "$RUN/redis.pid"
        lines=0
        [[ -f "$LOGS/redis.log" ]] && lines="$(wc -l <"$LOGS/redis.log")"
        redis-server "$STACK_DIR/redis/redis.conf" </dev/null >/dev/null
        for ((i = 0; i < 100; i++)); do
            [[ "$(rcli "$REDIS_PORT" ping 2>/dev/null)" == PONG ]] && break 2
            tail -n +"$((lines + 1))" "$LOGS/redis.log" 2>/dev/null | grep -q 'Address already in use' &&
                break
            sleep 0.1
        done
        tail -n +"$((lines + 1))" "$LOGS/redis.log" 2>/dev/null | grep -q 'Address already in use' ||
            break
        (($(date +%s) < t_end)) || break
        msg "redis: port $REDIS_PORT is held by a closing connection, retrying in 3 s"
        sleep 3
    done
    [[ "$(rcli "$REDIS_PORT" ping 2>/dev/null)" == PONG ]] ||
        { show_log_tail redis; die "redis did not start"; }
    for ((i = 0; i < 50; i++)); do [[ -s "$RUN/redis.pid" ]] && break; sleep 0.1; done
    echo "$REDIS_PORT" >"$RUN/redis.port"
}

redis_down() {
    local pid port
    pid="$(read_pid "$RUN/redis.pid")"
    if [[ -z "$pid" ]] || ! pid_is "$pid" redis-server; then
        rm -f "$RUN/redis.pid" "$RUN/redis.port"
        return 0
    fi
    port="$(cat "$RUN/redis.port" 2>/dev/null || echo "$REDIS_PORT")"
    [[ -n "$REDIS_PASSWORD" ]] || REDIS_PASSWORD="$(cat "$STACK_DIR/redis.password" 2>/dev/null || true)"
    rcli "$port" shutdown nosave >/dev/null 2>&1 || true
    if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
    fi
    if pid_alive "$pid"; then
        msg "error: redis (pid $pid) is still alive"
        return 1
    fi
    msg "redis stopped (pid $pid)"
    rm -f "$RUN/redis.pid" "$RUN/redis.port"
}

# ---- Kafka dev broker --------------------------------------------------------------------------
broker_ping() {
    "$BIN_DIR/kafka-dev-broker" --ctl "$KAFKA_CONTROL" ping 2>/dev/null | grep -q '^ok'
}

BROKER_STARTED=0
broker_up() {
    local pid i bin="$BIN_DIR/kafka-dev-broker"
    [[ -x "$bin" ]] || die "$bin not found: build first (make build)"
    pid="$(read_pid "$RUN/kafka-dev-broker.pid")"
    if [[ -n "$pid" ]] && pid_is "$pid" kafka-dev-broker && [[ -s "$KAFKA_BOOTSTRAP_FILE" ]] &&
        broker_ping; then
        msg "kafka-dev-broker: running (pid $pid, $(cat "$KAFKA_BOOTSTRAP_FILE"))"
        return 0
    fi
    [[ -n "$pid" ]] && pid_alive "$pid" && pid_is "$pid" kafka-dev-broker &&
        { msg "kafka-dev-broker (pid $pid) does not answer: restarting"; stop_pidfile kafka-dev-broker kafka-dev-broker; }
    rm -f "$KAFKA_BOOTSTRAP_FILE"
    msg "kafka-dev-broker: starting (in-memory, not durable)"
    (exec setsid "$bin" --bootstrap-file "$KAFKA_BOOTSTRAP_FILE" --control "$KAFKA_CONTROL" \
        >>"$LOGS/kafka-dev-broker.log" 2>&1 </dev/null) &
    pid=$!
    echo "$pid" >"$RUN/kafka-dev-broker.pid"
    for ((i = 0; i < 200; i++)); do
        pid_alive "$pid" || break
        [[ -s "$KAFKA_BOOTSTRAP_FILE" ]] && broker_ping && break
        sleep 0.1
    done
    if ! pid_alive "$pid" || ! [[ -s "$KAFKA_BOOTSTRAP_FILE" ]] || ! broker_ping; then
        show_log_tail kafka-dev-broker
        die "kafka-dev-broker did not become ready within 20 s"
    fi
    BROKER_STARTED=1
}

# ---- local OIDC provider (tools/oidc-dev) -------------------------------------------------------
# A secret generated once per stack and kept in $STACK_DIR (never in the repository).
stack_secret() {
    local f="$STACK_DIR/$1"
    if [[ ! -s "$f" ]]; then
        (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d " \n" >"$f.tmp")
        mv -f "$f.tmp" "$f"
    fi
    chmod 600 "$f"
    cat "$f"
}

oidc_dev_up() {
    local pid i dir="$REPO_ROOT/tools/oidc-dev" issuer="http://127.0.0.1:$OIDC_DEV_PORT"
    [[ -d "$dir/node_modules/oidc-provider" ]] || die "tools/oidc-dev has no node_modules: run scripts/deps.sh"
    OIDC_DEV_CLIENT_SECRET="$(stack_secret oidc-dev.secret)"
    pid="$(read_pid "$RUN/oidc-dev.pid")"
    if [[ -n "$pid" ]] && pid_is "$pid" oidc-dev/server.mjs; then
        msg "oidc-dev: running (pid $pid, $issuer)"
    else
        check_port_free "$OIDC_DEV_PORT" oidc-dev
        msg "oidc-dev: starting the local OIDC provider on $issuer (user demo / demo)"
        (cd "$REPO_ROOT" && OIDC_DEV_PORT="$OIDC_DEV_PORT" OIDC_DEV_CLIENT_ID=analytics-dashboard \
            OIDC_DEV_CLIENT_SECRET="$OIDC_DEV_CLIENT_SECRET" \
            OIDC_DEV_REDIRECT_URIS="http://127.0.0.1:$GRAPHQL_PORT/auth/callback,http://localhost:$GRAPHQL_PORT/auth/callback${OIDC_REDIRECT_URI:+,$OIDC_REDIRECT_URI}" \
            exec setsid node "$dir/server.mjs" >>"$LOGS/oidc-dev.log" 2>&1 </dev/null) &
        pid=$!
        echo "$pid" >"$RUN/oidc-dev.pid"
        echo "$OIDC_DEV_PORT" >"$RUN/oidc-dev.port"
        for ((i = 0; i < 300; i++)); do
            pid_alive "$pid" || break
            curl -fsS -m 2 -o /dev/null "$issuer/.well-known/openid-configuration" 2>/dev/null && break
            sleep 0.1
        done
        curl -fsS -m 2 -o /dev/null "$issuer/.well-known/openid-configuration" 2>/dev/null ||
            { show_log_tail oidc-dev; die "oidc-dev did not become ready within 30 s"; }
    fi
    export OIDC_ISSUER="$issuer" OIDC_CLIENT_ID=analytics-dashboard
    export OIDC_CLIENT_SECRET="$OIDC_DEV_CLIENT_SECRET" OIDC_DEV_ISSUER="$issuer"
}

# ---- services ----------------------------------------------------------------------------------
svc_up() {
    local name="$1" restart="$2" port pid bin="$BIN_DIR/$1"
    port="$(svc_port "$name")"
    [[ -x "$bin" ]] || die "$bin not found: build first (make build)"
    pid="$(read_pid "$RUN/$name.pid")"
    if [[ -n "$pid" ]] && pid_is "$pid" "$name"; then
        if [[ "$restart" == 1 ]]; then
            msg "$name: restarting (the broker was restarted or a local server's password changed)"
            stop_pidfile "$name" "$name"
        else
            msg "$name: running (pid $pid, port $(cat "$RUN/$name.port" 2>/dev/null || echo "?"))"
            return 0
        fi
    fi
    check_port_free "$port" "$name"
    msg "$name: starting on 127.0.0.1:$port"
    (cd "$REPO_ROOT" && exec setsid "$bin" >>"$LOGS/$name.log" 2>&1 </dev/null) &
    echo "$!" >"$RUN/$name.pid"
    echo "$port" >"$RUN/$name.port"
}

wait_ready() {
    local deadline name pid port pending
    deadline=$(($(date +%s) + READY_TIMEOUT))
    while :; do
        pending=()
        for name in "${SERVICES[@]}"; do
            port="$(svc_port "$name")"
            pid="$(read_pid "$RUN/$name.pid")"
            if [[ -z "$pid" ]] || ! pid_alive "$pid"; then
                show_log_tail "$name"
                die "$name exited during start-up (log: ${LOGS#"$REPO_ROOT"/}/$name.log)"
            fi
            curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null || pending+=("$name")
        done
        ((${#pending[@]} == 0)) && return 0
        if (($(date +%s) >= deadline)); then
            for name in "${pending[@]}"; do
                msg "$name: /readyz did not answer 200 within ${READY_TIMEOUT}s"
                curl -sS -m 2 "http://127.0.0.1:$(svc_port "$name")/readyz" >&2 2>&1 || true
                echo >&2
                show_log_tail "$name"
            done
            die "stack not ready: ${pending[*]}"
        fi
        sleep 0.2
    done
}

# ---- admin: migrate, seed ----------------------------------------------------------------------
admin() {
    (cd "$REPO_ROOT" && "$BIN_DIR/analytics-admin" "$@")
}

# Logs never hold a key: anything shaped like an API key is masked on its way to admin.log.
redact() { sed -E 's/ak_[0-9a-f]{12}_[0-9a-f]{32}/ak_<redacted>/g'; }

# Which database a URL names, without its credentials (kept in files next to the data).
db_identity() { printf '%s\n' "$1" | sed -E 's#://[^/@]*@#://#'; }

migrate_and_seed() {
    local out key
    [[ -x "$BIN_DIR/analytics-admin" ]] || die "$BIN_DIR/analytics-admin not found: build first"
    msg "migrate"
    if ! admin migrate 2>&1 | redact >>"$LOGS/admin.log"; then
        show_log_tail admin
        die "analytics-admin migrate failed"
    fi
    # The demo key belongs to one database: seed again when the database is new or another one.
    if [[ "$PG_FRESH" == 1 || ! -s "$STACK_DIR/demo-key" ||
        "$(cat "$STACK_DIR/demo-key.db" 2>/dev/null)" != "$(db_identity "$DATABASE_URL")" ]]; then
        msg "seed"
        if ! out="$(admin seed 2> >(redact >>"$LOGS/admin.log"))"; then
            printf '%s\n' "$out" | redact >>"$LOGS/admin.log"
            show_log_tail admin
            die "analytics-admin seed failed"
        fi
        printf '%s\n' "$out" | redact >>"$LOGS/admin.log"
        printf 'demo key written to %s (mode 600)\n' "${STACK_DIR#"$REPO_ROOT"/}/demo-key" >>"$LOGS/admin.log"
        key="$(printf '%s\n' "$out" | awk 'NF { last = $0 } END { print last }')"
        [[ -n "$key" && "$key" != *[[:space:]]* ]] || die "analytics-admin seed printed no key on its last line"
        (umask 077 && printf '%s\n' "$key" >"$STACK_DIR/demo-key.tmp")
        chmod 600 "$STACK_DIR/demo-key.tmp"
        mv -f "$STACK_DIR/demo-key.tmp" "$STACK_DIR/demo-key"
        db_identity "$DATABASE_URL" >"$STACK_DIR/demo-key.db"
    fi
}

# Sample events for a fresh database (SAMPLE_DAYS days, 0 = none; make up/dev set 30), loaded
# through the running ingest API once per database (sample.db records which one). A failure is
# reported and leaves the stack up: the sample is a convenience, `analytics-admin seed
# --sample-days N` loads it again (idempotently).
load_sample_data() {
    local days="${SAMPLE_DAYS:-0}"
    [[ "$days" =~ ^[0-9]+$ ]] || die "SAMPLE_DAYS must be a number of days (got \"$days\")"
    ((days > 0)) || return 0
    [[ "$PG_FRESH" != 1 && "$(cat "$STACK_DIR/sample.db" 2>/dev/null)" == "$(db_identity "$DATABASE_URL")" ]] &&
        return 0
    msg "loading $days days of sample events for acme-corp (ingest API -> Kafka -> worker)"
    if INGEST_URL="http://127.0.0.1:$INGEST_PORT" admin seed --sample-days "$days" \
        2> >(tee >(redact >>"$LOGS/admin.log") >&2) | tee >(redact >>"$LOGS/admin.log"); then
        db_identity "$DATABASE_URL" >"$STACK_DIR/sample.db"
    else
        msg "warning: sample data not loaded (see ${LOGS#"$REPO_ROOT"/}/admin.log); retry: analytics-admin seed --sample-days $days"
    fi
}

# 'value' with every ' written as '\'' : sourceable by any POSIX shell, readable by humans.
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

write_stack_env() {
    local tmp="$STACK_DIR/stack.env.tmp" v
    # it holds the effective URLs with their passwords (SPEC §10): 0600 before anything is written
    (umask 077 && : >"$tmp")
    chmod 600 "$tmp"
    {
        echo "# written by scripts/stack.sh up on $(date -u +%FT%TZ); source it: . ${STACK_DIR#"$REPO_ROOT"/}/stack.env"
        for v in DATABASE_URL REDIS_URL KAFKA_BROKERS KAFKA_TOPIC KAFKA_BOOTSTRAP_FILE KAFKA_CONTROL \
            INGEST_PORT GRAPHQL_PORT WORKER_PORT PG_PORT REDIS_PORT STACK_DIR BIN_DIR; do
            printf 'export %s=%s\n' "$v" "$(shq "${!v}")"
        done
        # login (secrets stay in their own files: oidc-dev.secret, session.secret)
        printf 'export OIDC_ISSUER=%s\n' "$(shq "${OIDC_ISSUER:-https://accounts.google.com}")"
        if [[ -n "${OIDC_DEV_ISSUER:-}" ]]; then
            printf 'export OIDC_DEV_ISSUER=%s OIDC_DEV_PORT=%s\n' "$(shq "$OIDC_DEV_ISSUER")" \
                "$(shq "$OIDC_DEV_PORT")"
        fi
        printf 'export INGEST_URL=%s\n' "$(shq "http://127.0.0.1:$INGEST_PORT")"
        printf 'export GRAPHQL_URL=%s\n' "$(shq "http://127.0.0.1:$GRAPHQL_PORT/graphql")"
        printf 'export DEMO_KEY_FILE=%s\n' "$(shq "$STACK_DIR/demo-key")"
    } >"$tmp"
    mv -f "$tmp" "$STACK_DIR/stack.env"
}

# ---- commands ----------------------------------------------------------------------------------
cmd_up() {
    local t0 name restart=0
    t0="$(now_s)"
    mkdir -p "$RUN" "$LOGS"
    chmod 755 "$STACK_DIR" "$RUN" "$LOGS" 2>/dev/null || true
    : >"$RUN/mode"
    local_urls

    if [[ -n "${DATABASE_URL:-}" && "$DATABASE_URL" != "$LOCAL_DB_URL" &&
        "$DATABASE_URL" != "$LEGACY_DB_URL" ]]; then
        msg "postgresql: using DATABASE_URL from the environment"
        echo "postgresql external" >>"$RUN/mode"
    else
        pg_up
        DATABASE_URL="$LOCAL_DB_URL"
        echo "postgresql local" >>"$RUN/mode"
    fi
    if [[ -n "${REDIS_URL:-}" && "$REDIS_URL" != "$LOCAL_REDIS_URL" &&
        "$REDIS_URL" != "$LEGACY_REDIS_URL" ]]; then
        msg "redis: using REDIS_URL from the environment"
        echo "redis external" >>"$RUN/mode"
    else
        redis_up
        REDIS_URL="$LOCAL_REDIS_URL"
        echo "redis local" >>"$RUN/mode"
    fi
    if [[ -n "${KAFKA_BROKERS:-}" && "$KAFKA_BROKERS" != "$(cat "$KAFKA_BOOTSTRAP_FILE" 2>/dev/null)" ]]; then
        msg "kafka: using KAFKA_BROKERS from the environment"
        echo "kafka external" >>"$RUN/mode"
        KAFKA_CONTROL=""
    else
        broker_up
        KAFKA_BROKERS="$(cat "$KAFKA_BOOTSTRAP_FILE")"
        echo "kafka local" >>"$RUN/mode"
        ((BROKER_STARTED)) && restart=1
        # The mock cluster's LeaveGroup often times out, so a restarted worker would wait for
        # the old member's session to expire; short timeouts keep restarts in tests quick.
        export WORKER_SESSION_TIMEOUT_MS="${WORKER_SESSION_TIMEOUT_MS:-6000}"
        export WORKER_MAX_POLL_INTERVAL_MS="${WORKER_MAX_POLL_INTERVAL_MS:-20000}"
    fi
    # services started with URLs from before the local servers had passwords need the new ones
    ((STACK_RESECURED)) && restart=1
    export DATABASE_URL REDIS_URL KAFKA_BROKERS KAFKA_TOPIC KAFKA_BOOTSTRAP_FILE MIGRATIONS_DIR \
        INGEST_PORT GRAPHQL_PORT WORKER_PORT LOG_LEVEL
    if [[ -z "${OIDC_CLIENT_ID:-}" ]]; then
        oidc_dev_up
        echo "oidc local" >>"$RUN/mode"
    else
        msg "oidc: using OIDC_ISSUER=${OIDC_ISSUER:-https://accounts.google.com} from the environment"
        echo "oidc external" >>"$RUN/mode"
    fi
    [[ -n "${SESSION_SECRET:-}" ]] || SESSION_SECRET="$(stack_secret session.secret)"
    export SESSION_SECRET
    # the worker's operations port defaults to all interfaces (images, systemd: docs/DEPLOY.md);
    # a local stack keeps every port on loopback, like the other services and servers
    export WORKER_HOST="${WORKER_HOST:-127.0.0.1}"
    # alert webhooks may reach a receiver on this machine (a local stack; the default is refusal)
    export WEBHOOK_ALLOW_PRIVATE="${WEBHOOK_ALLOW_PRIVATE:-true}"

    migrate_and_seed
    if [[ -n "${OIDC_DEV_ISSUER:-}" ]]; then
        # the seed ran once per database; the membership of the provider's demo user is kept
        # here too so an older database gains it (idempotent)
        admin member add --tenant acme-corp --issuer "$OIDC_DEV_ISSUER" --subject demo \
            --role admin 2>&1 | redact >>"$LOGS/admin.log" || msg "warning: could not add member demo"
    fi
    write_stack_env
    for name in "${SERVICES[@]}"; do svc_up "$name" "$restart"; done
    wait_ready
    load_sample_data

    local dashboard="(not built: run scripts/web-build.sh)" signin rel="${STACK_DIR#"$REPO_ROOT"/}"
    [[ -f "$REPO_ROOT/web/dist/index.html" ]] && dashboard="http://127.0.0.1:$GRAPHQL_PORT/"
    # make dev serves it with Vite (hot reload) instead; its web/dist may be stale
    [[ -n "${DEV_DASHBOARD_URL:-}" ]] && dashboard="$DEV_DASHBOARD_URL"
    if [[ -n "${OIDC_DEV_ISSUER:-}" ]]; then
        signin="user demo, password demo (local OIDC provider $OIDC_DEV_ISSUER)"
    else
        signin="through ${OIDC_ISSUER:-https://accounts.google.com} (access: analytics-admin member add)"
    fi
    cat <<EOF

  dashboard   $dashboard
  sign in     $signin
  ingest      http://127.0.0.1:$INGEST_PORT/ingest     (POST, Authorization: Bearer <key>)
  graphql     http://127.0.0.1:$GRAPHQL_PORT/graphql   (GraphiQL: the dashboard's /graphiql)
  worker      http://127.0.0.1:$WORKER_PORT/metrics
  kafka       $KAFKA_BROKERS
  demo key    $rel/demo-key   (admin key of acme-corp; in a shell: KEY=\$(cat $rel/demo-key))
  env         . $rel/stack.env
  logs        ${LOGS#"$REPO_ROOT"/}/

EOF
    msg "stack up in $(elapsed "$t0") s"
}

cmd_down() {
    local rc=0 name t0
    t0="$(now_s)"
    if [[ ! -d "$RUN" ]]; then
        msg "nothing to stop (no $RUN)"
        return 0
    fi
    # web (make dev's dashboard) and the services first: they hold connections to the rest.
    local pids=() p
    stop_pidfile web npm &
    pids+=($!)
    for name in "${SERVICES[@]}"; do
        stop_pidfile "$name" "$name" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    stop_pidfile oidc-dev oidc-dev/server.mjs || rc=1
    stop_pidfile kafka-dev-broker kafka-dev-broker || rc=1
    rm -f "$KAFKA_CONTROL"
    if [[ -d "$(pg_datadir)" ]]; then pg_down || rc=1; fi
    redis_down || rc=1
    if ((rc)); then
        die "some processes are still alive (see above)"
    fi
    msg "stack down in $(elapsed "$t0") s, no process left"
}

cmd_status() {
    local name pid state port mode down=0
    printf '%-18s %-8s %-6s %s\n' COMPONENT PID STATE ADDRESS
    row() { printf '%-18s %-8s %-6s %s\n' "$@"; }
    mode_of() { awk -v c="$1" '$1 == c { print $2 }' "$RUN/mode" 2>/dev/null || true; }

    mode="$(mode_of postgresql)"
    if [[ "$mode" == external ]]; then
        row postgresql - external "(DATABASE_URL)"
    else
        pid="$(pg_postmaster_pid)"
        port="$(cat "$RUN/postgresql.port" 2>/dev/null || echo "$PG_PORT")"
        if pg_running; then state=up; else state=down; pid="${pid:--}"; down=1; fi
        row postgresql "${pid:--}" "$state" "127.0.0.1:$port"
    fi

    mode="$(mode_of redis)"
    if [[ "$mode" == external ]]; then
        row redis - external "(REDIS_URL)"
    else
        pid="$(read_pid "$RUN/redis.pid")"
        port="$(cat "$RUN/redis.port" 2>/dev/null || echo "$REDIS_PORT")"
        if [[ -n "$pid" ]] && pid_is "$pid" redis-server; then state=up; else state=down; down=1; fi
        row redis "${pid:--}" "$state" "127.0.0.1:$port"
    fi

    mode="$(mode_of kafka)"
    if [[ "$mode" == external ]]; then
        row kafka - external "(KAFKA_BROKERS)"
    else
        pid="$(read_pid "$RUN/kafka-dev-broker.pid")"
        if [[ -n "$pid" ]] && pid_is "$pid" kafka-dev-broker; then state=up; else state=down; down=1; fi
        row kafka-dev-broker "${pid:--}" "$state" "$(cat "$KAFKA_BOOTSTRAP_FILE" 2>/dev/null || echo -)"
    fi

    mode="$(mode_of oidc)"
    if [[ "$mode" == external ]]; then
        row oidc - external "(OIDC_ISSUER)"
    elif [[ "$mode" == local ]]; then
        pid="$(read_pid "$RUN/oidc-dev.pid")"
        port="$(cat "$RUN/oidc-dev.port" 2>/dev/null || echo "$OIDC_DEV_PORT")"
        if [[ -n "$pid" ]] && pid_is "$pid" oidc-dev/server.mjs; then state=up; else state=down; down=1; fi
        row oidc-dev "${pid:--}" "$state" "http://127.0.0.1:$port"
    fi

    for name in "${SERVICES[@]}"; do
        pid="$(read_pid "$RUN/$name.pid")"
        port="$(cat "$RUN/$name.port" 2>/dev/null || svc_port "$name")"
        if [[ -n "$pid" ]] && pid_is "$pid" "$name"; then
            if curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; then
                state=up
            else
                state=unready
                down=1
            fi
        else
            state=down
            down=1
        fi
        row "$name" "${pid:--}" "$state" "http://127.0.0.1:$port"
    done
    pid="$(read_pid "$RUN/web.pid")"
    if [[ -n "$pid" ]] && pid_alive "$pid"; then
        row web "$pid" up "http://127.0.0.1:$(cat "$RUN/web.port" 2>/dev/null || echo "${WEB_PORT:-5173}")"
    fi
    # Like systemctl: 3 when some component is not up (the table says which).
    if ((down)); then return 3; fi
}

cmd_env() {
    [[ -f "$STACK_DIR/stack.env" ]] || die "no $STACK_DIR/stack.env: run 'make up' first"
    cat "$STACK_DIR/stack.env"
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    *)
        echo "usage: $0 up|down|status|env" >&2
        exit 2
        ;;
esac
