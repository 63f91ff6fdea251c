#!/usr/bin/env bash
# tls_stack.test.sh — the whole product over TLS, as on managed services (issue 17): a private
# stack (scripts/stack.sh, PG_TLS=1: PostgreSQL serves TLS only and every component connects with
# sslmode=verify-full) whose Redis is a real `redis-server --port 0 --tls-port` with a
# certificate from a CA this test generates (openssl CLI) and an ACL user with a password, given
# to the services as REDIS_URL=rediss://app:PASSWORD@localhost:PORT/0 + REDIS_CA_FILE.
#
# Proves, against the real binaries: ingest → Kafka → worker → PostgreSQL → graphql-api works;
# ingest's rate limit, graphql-api's cache, query rate limit and pub/sub reader, and the worker's
# change feed all go through the TLS Redis; analytics-admin (tests/integration/admin.test.sh run
# against this stack) works over verified TLS; a wrong CA, a wrong host name, no password, a
# wrong password and plain redis:// to the TLS port are refused with a clear cause in /readyz;
# GRAPHQL_REDIS_TIMEOUT_MS bounds a TLS handshake and a command that never get an answer;
# PostgreSQL refuses a connection without TLS, with the wrong CA and for a wrong host name; and
# neither password appears in any log, in /metrics or in an error message.
#
# Runs beside the main test stack on free ports; everything it starts is stopped by the EXIT
# trap (the stack by `stack.sh down`, the rest by pid). Prints "tls_stack: N passed, M failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
BIN_DIR=${BIN_DIR:-$ROOT/build/bin}
TMP=$(mktemp -d /tmp/ea-tls.XXXXXX)
chmod 755 "$TMP"
S=$TMP/stack
PIDS=()
# shellcheck source=lib/check.sh
source "$ROOT/tests/integration/lib/check.sh"
has() { grep -qF -- "$2" "$1"; }  # file contains text
lacks() { ! grep -qF -- "$2" "$1"; }

# The variables the main test stack exported must not leak into this one.
CLEAN_ENV=(-u DATABASE_URL -u REDIS_URL -u REDIS_CA_FILE -u KAFKA_BROKERS -u KAFKA_BOOTSTRAP_FILE
    -u KAFKA_CONTROL -u OIDC_ISSUER -u OIDC_CLIENT_ID -u OIDC_CLIENT_SECRET -u OIDC_DEV_ISSUER
    -u OIDC_DEV_PORT -u SESSION_SECRET -u STACK_DIR -u INGEST_URL -u GRAPHQL_URL -u DEMO_KEY_FILE
    -u PG_TLS)

PG_PORT=$(free_port)
RP=$(free_port) # the TLS Redis
INGEST_PORT=$(free_port)
GRAPHQL_PORT=$(free_port)
WORKER_PORT=$(free_port)
OIDC_PORT=$(free_port)
RPW="rpw-$(openssl rand -hex 12)" # the Redis password: must never show up below
STACK_ARGS=(STACK_DIR="$S" PG_TLS=1 PG_PORT="$PG_PORT" REDIS_PORT="$(free_port)"
    INGEST_PORT="$INGEST_PORT" GRAPHQL_PORT="$GRAPHQL_PORT" WORKER_PORT="$WORKER_PORT"
    OIDC_DEV_PORT="$OIDC_PORT" BIN_DIR="$BIN_DIR"
    REDIS_URL="rediss://app:$RPW@localhost:$RP/0" REDIS_CA_FILE="$TMP/ca.pem")
stack() { env "${CLEAN_ENV[@]}" "${STACK_ARGS[@]}" bash scripts/stack.sh "$@"; }

cleanup() {
    local rc=$?
    stack down >"$TMP/down.log" 2>&1 || { cat "$TMP/down.log"; bad "the TLS stack stops cleanly"; }
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    [[ -f $TMP/redis.pid ]] && kill "$(cat "$TMP/redis.pid")" 2>/dev/null
    if ((failed > 0)); then
        for f in "$S"/log/*.log "$TMP"/neg-*.log; do
            [[ -f $f ]] || continue
            say "last lines of ${f#"$TMP"/}:"
            tail -8 "$f" | sed 's/^/#   /'
        done
    fi
    if [[ ${KEEP_TMP:-0} == 1 ]]; then say "kept $TMP"; else rm -rf -- "$TMP"; fi
    ((rc != 0 && failed == 0)) && failed=1
    summary tls_stack
    ((failed == 0)) || exit 1
    exit 0
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for b in ingest-api worker graphql-api analytics-admin kafka-dev-broker; do
    [[ -x $BIN_DIR/$b ]] || { bad "binary $BIN_DIR/$b exists (build it first)"; exit 1; }
done

# ---- certificates: a CA, a server certificate for "localhost" only, and an unrelated CA --------
(
    cd "$TMP" || exit 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=tls-test CA" -keyout ca.key -out ca.pem &&
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
            -keyout redis.key -out redis.csr &&
        printf 'subjectAltName=DNS:localhost\n' >redis.ext &&
        openssl x509 -req -in redis.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
            -extfile redis.ext -out redis.crt &&
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
            -subj "/CN=some other CA" -keyout other.key -out other-ca.pem
) >"$TMP/openssl.log" 2>&1
check "openssl generates a CA, a server certificate and another CA" test -s "$TMP/other-ca.pem"

# ---- Redis: TLS only (--port 0), the default user off, user app with a password ----------------
cat >"$TMP/redis.conf" <<EOF
port 0
tls-port $RP
bind 127.0.0.1
tls-cert-file $TMP/redis.crt
tls-key-file $TMP/redis.key
tls-ca-cert-file $TMP/ca.pem
tls-auth-clients no
save ""
appendonly no
dir $TMP
pidfile $TMP/redis.pid
logfile $TMP/redis.log
daemonize yes
user default off
user app on >$RPW ~* &* +@all
EOF
chmod 600 "$TMP/redis.conf"
redis-server "$TMP/redis.conf" >/dev/null 2>&1
rcli() { REDISCLI_AUTH=$RPW redis-cli --tls --cacert "$TMP/ca.pem" -h localhost -p "$RP" --user app "$@"; }
rcli_ping() { [[ "$(rcli ping 2>/dev/null)" == PONG ]]; }
check "redis-server answers on its TLS port (and has no plain port)" wait_until 10 rcli_ping

# ---- the stack over TLS ----------------------------------------------------------------------
say "starting the TLS stack (PG_TLS=1, rediss://) in $S"
if ! stack up >"$TMP/up.log" 2>&1; then
    bad "stack.sh up with PG_TLS=1 and a rediss:// REDIS_URL"
    tail -30 "$TMP/up.log" | sed 's/^/#   /'
    exit 1
fi
ok "stack.sh up with PG_TLS=1 and a rediss:// REDIS_URL (every service answered /readyz)"
# shellcheck source=/dev/null
source "$S/stack.env"
check "stack.env is mode 600 (it holds the URLs with their passwords)" \
    test "$(stat -c %a "$S/stack.env")" = 600
check "DATABASE_URL asks for sslmode=verify-full with the stack's CA" \
    bash -c "[[ '$DATABASE_URL' == *sslmode=verify-full*sslrootcert=$S/tls/ca.crt* ]]"
check "psql over DATABASE_URL runs on TLS" \
    test "$(psql "$DATABASE_URL" -XAtc 'select ssl from pg_stat_ssl where pid = pg_backend_pid()')" = t

for svc in "ingest-api $INGEST_PORT" "graphql-api $GRAPHQL_PORT"; do
    set -- $svc
    curl -s "http://127.0.0.1:$2/readyz" >"$TMP/ready-$1.json"
    check "$1 /readyz: redis and postgres reachable over TLS" \
        test "$(jget "$TMP/ready-$1.json" 'd.redis && d.postgres')" = true
done
check "worker /readyz: ready" has <(curl -s "http://127.0.0.1:$WORKER_PORT/readyz") '"ready"'

ADMIN=$BIN_DIR/analytics-admin
T="tls-$(openssl rand -hex 4)"
"$ADMIN" tenant create "$T" --id "$T" >"$TMP/admin.log" 2>&1
KEY=$("$ADMIN" key create --tenant "$T" --scopes ingest,read,admin 2>>"$TMP/admin.log" | tail -n1)
RLKEY=$("$ADMIN" key create --tenant "$T" --scopes ingest --rate-limit 2 2>>"$TMP/admin.log" | tail -n1)
check "analytics-admin creates a tenant and keys over verified TLS" \
    bash -c "[[ '$KEY' == ak_* && '$RLKEY' == ak_* ]]"

post() { # key body -> status code; the body in $TMP/post.json
    curl -s -o "$TMP/post.json" -w '%{http_code}' -X POST "$INGEST_URL/ingest" \
        -H "Authorization: Bearer $1" -H 'Content-Type: application/json' -d "$2"
}
NOW_S=$(date +%s)
FROM=$(date -u -d "@$((NOW_S - 7200))" +%FT%TZ)
TO=$(date -u -d "@$((NOW_S + 7200))" +%FT%TZ)
Q='query($t: String!, $s: DateTime!, $e: DateTime!) { metrics(tenant: $t, name: "tls_evt", startTime: $s, endTime: $e) { value } }'
query() { # -> total value; headers in $TMP/q.h, body in $TMP/q.json
    curl -s -D "$TMP/q.h" -o "$TMP/q.json" -X POST "$GRAPHQL_URL" -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' \
        -d "{\"query\": $(node -e 'console.log(JSON.stringify(process.argv[1]))' "$Q"), \"variables\": {\"t\": \"$T\", \"s\": \"$FROM\", \"e\": \"$TO\"}}"
    jget "$TMP/q.json" '(d.data && d.data.metrics || []).reduce((a, p) => a + p.value, 0)'
}
total_is() { [[ "$(query)" == "$1" ]]; }

# change feed: a subscriber of our own on the TLS Redis
rcli subscribe "$CHANGES_CHANNEL" >"$TMP/feed.txt" 2>&1 &
PIDS+=($!)
sleep 0.3
check "ingest answers 202 (Kafka acknowledged)" test "$(post "$KEY" '{"event":"tls_evt"}')" = 202
check "the worker counts it and graphql-api answers it (ingest → worker → PostgreSQL → graphql)" \
    wait_until 30 total_is 1
check "the worker's change feed reaches Redis over TLS (PUBLISH $CHANGES_CHANNEL seen by a subscriber)" \
    wait_until 10 has "$TMP/feed.txt" "\"tenant\":\"$T\""
query >/dev/null
check "graphql-api's cache over TLS: the repeated query is a hit" grep -qi '^x-cache: HIT' "$TMP/q.h"
check "graphql-api's pub/sub reader is subscribed over TLS" \
    test "$(rcli pubsub numsub "$CHANGES_CHANNEL" | sed -n 2p)" -ge 2
check "ingest answers 202 for a second event" test "$(post "$KEY" '{"event":"tls_evt"}')" = 202
check "the cached answer is invalidated through the change feed and pub/sub: the total becomes 2" \
    wait_until 30 total_is 2
check "graphql-api's query rate limit keeps its window in the TLS Redis" \
    test -n "$(rcli --scan --pattern 'ea:gqlrl:*' | head -n1)"
codes="$(post "$RLKEY" '{"event":"tls_rl"}') $(post "$RLKEY" '{"event":"tls_rl"}') $(post "$RLKEY" '{"event":"tls_rl"}')"
check "ingest's rate limit over TLS: a key of 2/min gets 202 202 429 (got $codes)" \
    test "$codes" = "202 202 429"
check "the token bucket lives in the TLS Redis" test -n "$(rcli --scan --pattern 'ea:rl:*' | head -n1)"
check "ingest never fell back to its local bucket" lacks "$S/log/ingest-api.log" "local fallback"

# Redis restarts: the worker's TLS connection is dead but only shows when used; its next PUBLISH
# is sent once more on a new connection (ea_redis_publish), so no change is lost
pub_errors() { curl -s "http://127.0.0.1:$WORKER_PORT/metrics" | awk '$1 == "worker_changefeed_publish_errors_total" { print $2 }'; }
e0=$(pub_errors)
rcli shutdown nosave >/dev/null 2>&1
redis-server "$TMP/redis.conf" >/dev/null 2>&1
check "the TLS Redis restarts (new process, same port)" wait_until 10 rcli_ping
sleep 1 # past the worker's reconnect backoff, had its periodic PING met the restart
rcli subscribe "$CHANGES_CHANNEL" >"$TMP/feed2.txt" 2>&1 &
PIDS+=($!)
sleep 0.3
check "ingest answers 202 after the Redis restart" test "$(post "$KEY" '{"event":"tls_evt"}')" = 202
check "the change feed carries the first change after the restart" \
    wait_until 20 has "$TMP/feed2.txt" "\"tenant\":\"$T\""
check "... and the worker counted no failed publish (once more on a new connection: $e0 -> $(pub_errors))" \
    test "$(pub_errors)" = "$e0"

# the admin CLI's own suite, against this stack's TLS PostgreSQL
DATABASE_URL=$DATABASE_URL BIN_DIR=$BIN_DIR bash tests/integration/admin.test.sh >"$TMP/admin-suite.log" 2>&1
check "tests/integration/admin.test.sh passes against PostgreSQL over verify-full TLS ($(tail -n1 "$TMP/admin-suite.log"))" \
    grep -q ' 0 failed' "$TMP/admin-suite.log"

# ---- refused: each wrong setting gives a clear cause in /readyz, never the password -------------
NEG_PORT=$(free_port)
neg_ingest() { # name VAR=VALUE... : an extra ingest-api on NEG_PORT; its /readyz in $TMP/neg-NAME.json
    local name=$1 pid
    shift
    env "${CLEAN_ENV[@]}" DATABASE_URL="$DATABASE_URL" KAFKA_BROKERS="$KAFKA_BROKERS" \
        REDIS_URL="rediss://app:$RPW@localhost:$RP/0" REDIS_CA_FILE="$TMP/ca.pem" \
        INGEST_PORT="$NEG_PORT" INGEST_REUSEPORT=false "$@" "$BIN_DIR/ingest-api" \
        >"$TMP/neg-$name.log" 2>&1 &
    pid=$!
    wait_until 10 curl -s -o "$TMP/neg-$name.json" "http://127.0.0.1:$NEG_PORT/readyz"
    curl -s -o "$TMP/neg-$name.json" "http://127.0.0.1:$NEG_PORT/readyz" # after a first attempt
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    echo "# $name: $(cat "$TMP/neg-$name.json")"
}
redis_refused() { # name text: redis false, the reason has text and no password
    [[ "$(jget "$TMP/neg-$1.json" 'd.redis')" == false ]] &&
        jget "$TMP/neg-$1.json" 'd.errors.redis' | grep -qF -- "$2" &&
        lacks "$TMP/neg-$1.json" "$RPW" && lacks "$TMP/neg-$1.log" "$RPW"
}
neg_ingest wrong-ca REDIS_CA_FILE="$TMP/other-ca.pem"
check "a wrong REDIS_CA_FILE is refused: certificate verify failed, naming REDIS_CA_FILE" \
    redis_refused wrong-ca "certificate verify failed"
check "... and the reason says which CA file" redis_refused wrong-ca "REDIS_CA_FILE $TMP/other-ca.pem"
neg_ingest no-ca REDIS_CA_FILE=
check "without REDIS_CA_FILE the system's CAs do not trust the test CA" \
    redis_refused no-ca "not signed by a CA this system trusts"
neg_ingest wrong-host REDIS_URL="rediss://app:$RPW@127.0.0.1:$RP/0"
check "a host name the certificate does not list is refused (127.0.0.1 vs localhost)" \
    redis_refused wrong-host "IP address mismatch"
neg_ingest no-password REDIS_URL="rediss://localhost:$RP/0"
check "a password is required: NOAUTH, saying it goes in REDIS_URL" \
    redis_refused no-password "NOAUTH"
WRONG="wrong-$(openssl rand -hex 6)"
neg_ingest wrong-password REDIS_URL="rediss://app:$WRONG@localhost:$RP/0"
check "a wrong password is refused: WRONGPASS" redis_refused wrong-password "WRONGPASS"
check "... and the wrong password is not printed either" \
    bash -c "! grep -qF '$WRONG' '$TMP/neg-wrong-password.json' '$TMP/neg-wrong-password.log'"
neg_ingest plain REDIS_URL="redis://app:$RPW@localhost:$RP/0"
check "plain redis:// to the TLS port is refused, suggesting rediss://" redis_refused plain "rediss://"
check "the ingest instance with a wrong CA still answered /readyz 503 (not hung)" \
    test "$(jget "$TMP/neg-wrong-ca.json" 'd.status')" = "not ready"

# a bad URL or CA file stops a service at start-up, naming the variable and not the password
bad_start() { # name VAR=VALUE... : true when ingest-api exits 2 at once; output in neg-NAME.log
    local name=$1 rc=0
    shift
    env "${CLEAN_ENV[@]}" DATABASE_URL="$DATABASE_URL" KAFKA_BROKERS="$KAFKA_BROKERS" \
        INGEST_PORT="$NEG_PORT" "$@" timeout 10 "$BIN_DIR/ingest-api" >"$TMP/neg-$name.log" 2>&1 ||
        rc=$?
    ((rc == 2))
}
check "REDIS_URL with a bad port stops ingest-api at start-up (exit 2)" \
    bad_start badport REDIS_URL="rediss://app:$RPW@localhost:99999/0"
check "... saying 'invalid REDIS_URL: bad port', without the password" \
    bash -c "grep -qF 'invalid REDIS_URL: bad port' '$TMP/neg-badport.log' && ! grep -qF '$RPW' '$TMP/neg-badport.log'"
check "an unreadable REDIS_CA_FILE stops ingest-api at start-up (exit 2)" \
    bad_start badca REDIS_URL="rediss://app:$RPW@localhost:$RP/0" REDIS_CA_FILE=/nonexistent/ca.pem
check "... naming the file" grep -qF "could not read REDIS_CA_FILE /nonexistent/ca.pem" "$TMP/neg-badca.log"

# ---- timeouts over TLS: a handshake and a command that never get an answer ----------------------
SILENT=$(free_port)
node -e 'require("net").createServer(()=>{}).listen(+process.argv[1],"127.0.0.1")' "$SILENT" &
PIDS+=($!)
MUTE=$(free_port) # completes TLS handshakes (any number at once), then never answers
node -e 'const fs = require("fs");
require("tls").createServer({ key: fs.readFileSync(process.argv[2]), cert: fs.readFileSync(process.argv[3]) },
  (s) => s.on("data", () => {})).listen(+process.argv[1], "127.0.0.1")' \
    "$MUTE" "$TMP/redis.key" "$TMP/redis.crt" &
PIDS+=($!)
GQL2=$(free_port)
gql_timeout() { # name redis-port : a graphql-api with GRAPHQL_REDIS_TIMEOUT_MS=200 against it
    local name=$1 port=$2 pid t0 ms
    env "${CLEAN_ENV[@]}" DATABASE_URL="$DATABASE_URL" GRAPHQL_PORT="$GQL2" GRAPHQL_REUSEPORT=false \
        REDIS_URL="rediss://app:$RPW@localhost:$port/0" REDIS_CA_FILE="$TMP/ca.pem" \
        GRAPHQL_REDIS_TIMEOUT_MS=200 "$BIN_DIR/graphql-api" >"$TMP/neg-gql-$name.log" 2>&1 &
    pid=$!
    wait_until 10 curl -s -o /dev/null "http://127.0.0.1:$GQL2/healthz"
    t0=$(date +%s%N)
    curl -s -m 20 -o "$TMP/neg-gql-$name.q" -X POST "http://127.0.0.1:$GQL2/graphql" \
        -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
        -d "{\"query\": \"{ me { __typename } }\"}"
    ms=$((($(date +%s%N) - t0) / 1000000))
    curl -s -m 20 -o "$TMP/neg-gql-$name.json" "http://127.0.0.1:$GQL2/readyz"
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    echo "# graphql-api against a $name server: query answered in $ms ms; readyz $(cat "$TMP/neg-gql-$name.json")"
    ((ms < 3000)) && grep -q '"data"' "$TMP/neg-gql-$name.q" &&
        jget "$TMP/neg-gql-$name.json" 'd.errors.redis' | grep -q "$3.*timed out after 200 ms"
}
check "GRAPHQL_REDIS_TIMEOUT_MS bounds a TLS handshake that never completes (answer from the database, readyz says timed out)" \
    gql_timeout silent "$SILENT" "TLS handshake failed"
check "GRAPHQL_REDIS_TIMEOUT_MS bounds a command that gets no reply after the handshake" \
    gql_timeout mute "$MUTE" "could not authenticate"

# ---- PostgreSQL refuses what is not verified TLS ----------------------------------------------------
base="postgresql://analytics@127.0.0.1:$PG_PORT/analytics"
psql "$base?sslmode=disable" -XAtc 'select 1' >"$TMP/neg-pg-plain.log" 2>&1
check "PostgreSQL refuses a connection without TLS (no pg_hba.conf entry ... no encryption)" \
    grep -q 'no encryption' "$TMP/neg-pg-plain.log"
psql "$base?sslmode=verify-full&sslrootcert=$TMP/other-ca.pem" -XAtc 'select 1' >"$TMP/neg-pg-ca.log" 2>&1
check "psql with the wrong CA is refused: certificate verify failed" \
    grep -q 'certificate verify failed' "$TMP/neg-pg-ca.log"
psql "postgresql://analytics@pg.invalid:$PG_PORT/analytics?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert=$S/tls/ca.crt" \
    -XAtc 'select 1' >"$TMP/neg-pg-host.log" 2>&1
check "psql to a host name the certificate does not list is refused" \
    grep -q 'does not match host name "pg.invalid"' "$TMP/neg-pg-host.log"
DATABASE_URL="$base?sslmode=verify-full&sslrootcert=$TMP/other-ca.pem" "$ADMIN" tenant create x \
    >"$TMP/neg-admin-ca.log" 2>&1
check "analytics-admin with the wrong CA fails naming the certificate and where to fix it" \
    bash -c "grep -q 'certificate verify failed' '$TMP/neg-admin-ca.log' && grep -q 'sslrootcert' '$TMP/neg-admin-ca.log'"
DATABASE_URL="$base?sslmode=disable" "$ADMIN" tenant create x >"$TMP/neg-admin-plain.log" 2>&1
check "analytics-admin without TLS fails saying the server wants TLS" \
    grep -q 'accepts TLS connections only' "$TMP/neg-admin-plain.log"

# ---- /readyz of each service names a PostgreSQL certificate problem ---------------------------------
WRONG_PG="$base?sslmode=verify-full&sslrootcert=$TMP/other-ca.pem"
neg_svc() { # name binary VAR=VALUE... : the binary on a free port (all three port variables); /readyz in neg-NAME.json
    local name=$1 bin=$2 port pid
    shift 2
    port=$(free_port)
    env "${CLEAN_ENV[@]}" DATABASE_URL="$DATABASE_URL" KAFKA_BROKERS="$KAFKA_BROKERS" \
        REDIS_URL="rediss://app:$RPW@localhost:$RP/0" REDIS_CA_FILE="$TMP/ca.pem" \
        INGEST_PORT="$port" GRAPHQL_PORT="$port" WORKER_PORT="$port" WORKER_HOST=127.0.0.1 \
        INGEST_REUSEPORT=false GRAPHQL_REUSEPORT=false WORKER_GROUP_ID="tls-neg-$name" "$@" \
        "$BIN_DIR/$bin" >"$TMP/neg-$name.log" 2>&1 &
    pid=$!
    wait_until 15 neg_ready_has "$port" "$name" 'certificate verify failed'
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    echo "# $name: $(cat "$TMP/neg-$name.json")"
}
neg_ready_has() { # port name text
    curl -s -m 5 -o "$TMP/neg-$2.json" "http://127.0.0.1:$1/readyz" && grep -qF -- "$3" "$TMP/neg-$2.json"
}
pg_refused() { # name part: /readyz 503, errors.<part> names the certificate and where to fix it
    [[ "$(jget "$TMP/neg-$1.json" 'd.status')" == not* ]] &&
        jget "$TMP/neg-$1.json" "d.errors.$2" | grep -q 'certificate verify failed.*sslrootcert'
}
neg_svc pg-ingest ingest-api DATABASE_URL="$WRONG_PG"
check "ingest-api /readyz: postgres refused, naming the certificate and sslrootcert" pg_refused pg-ingest postgres
neg_svc pg-graphql graphql-api DATABASE_URL="$WRONG_PG"
check "graphql-api /readyz: postgres refused, naming the certificate and sslrootcert" pg_refused pg-graphql postgres
neg_svc pg-worker worker DATABASE_URL="$WRONG_PG"
check "worker /readyz: postgresql refused, naming the certificate and sslrootcert" pg_refused pg-worker postgresql

# ---- secrets: nowhere in logs, /metrics or answers -------------------------------------------------
PGPW=$(node -e 'try{process.stdout.write(decodeURIComponent(new URL(process.argv[1]).password))}catch{}' "$DATABASE_URL")
for port in "$INGEST_PORT" "$WORKER_PORT" "$GRAPHQL_PORT"; do
    curl -s "http://127.0.0.1:$port/metrics" >>"$TMP/metrics.txt"
done
leaks() { # files... : true when none holds a password
    local f
    for f in "$@"; do
        grep -qF -- "$RPW" "$f" && { say "Redis password in $f"; return 1; }
        [[ -n $PGPW ]] && grep -qF -- "$PGPW" "$f" && { say "PostgreSQL password in $f"; return 1; }
    done
    return 0
}
check "/metrics of the three services holds no password" leaks "$TMP/metrics.txt"
check "no log of the stack, the extra instances or the admin CLI holds a password" \
    leaks "$S"/log/*.log "$TMP"/neg-*.log "$TMP"/neg-*.json "$TMP/admin.log" "$TMP/up.log"
check "the stack's logs were not empty (the grep saw real output)" \
    test "$(cat "$S"/log/{ingest-api,worker,graphql-api}.log | wc -l)" -gt 3
