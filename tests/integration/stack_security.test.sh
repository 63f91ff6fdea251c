#!/usr/bin/env bash
# stack_security.test.sh — issue 12 item 6 against the test stack that tests/run-integration.sh
# started with scripts/stack.sh (the same code `make up` and `make dev` run): the local servers
# have passwords and nothing else lets a client in.
#   PostgreSQL: pg_hba.conf has no `trust` (nor cleartext `password`) line; a wrong password, no
#     password, and the superuser without its password are refused; the role's password is
#     stored as a SCRAM verifier; DATABASE_URL from stack.env works.
#   Redis: a client without the password, or with a wrong one, is refused; with REDIS_URL's
#     password it works; the password is on no process's command line.
#   Sockets: every process of the stack (servers and services) listens on loopback only (the
#     worker's operations port listened on 0.0.0.0: found by the red-team pass).
#   .data: the files that hold secrets are mode 0600; no log under log/ (redis and postgresql
#     included) holds the demo key, a password or another stack secret; no process's command line
#     holds one either.
# Prints "stack_security: N passed, M failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=lib/check.sh
source "$ROOT/tests/integration/lib/check.sh"
trap 'summary stack_security; ((failed == 0)) || exit 1' EXIT

S=${STACK_DIR:?run by tests/run-integration.sh}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
[[ -x $PG_BIN/psql ]] || PG_BIN="$(dirname "$(command -v psql)")"
secret() { cat "$S/$1" 2>/dev/null; }
PGDATA_DIR=$S/pg
[[ -f $S/pg.path ]] && PGDATA_DIR=$(cat "$S/pg.path")
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# psql that must never read a password from anywhere but its arguments
psql_try() { env -u PGPASSWORD PGPASSFILE=/nonexistent PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -q -At -w "$@" 2>&1; }
REFUSED='password authentication failed|no password supplied|fe_sendauth' # libpq's words

# ---- PostgreSQL ----------------------------------------------------------------------------------
hba=$(as_pg cat "$PGDATA_DIR/pg_hba.conf" 2>/dev/null)
check "pg_hba.conf is readable (data dir $PGDATA_DIR)" test -n "$hba"
rules=$(printf '%s\n' "$hba" | grep -vE '^[[:space:]]*(#|$)')
check "pg_hba.conf has rules" test -n "$rules"
no_trust() { ! grep -qwE 'trust|password' <<<"$rules"; }
all_scram() { [[ -z "$(awk '{ print $NF }' <<<"$rules" | grep -vx scram-sha-256)" ]]; }
check "no pg_hba.conf rule is trust (or cleartext password)" no_trust
check "every pg_hba.conf rule asks for scram-sha-256" all_scram

out=$(psql_try "postgresql://analytics:wrong-$RANDOM@127.0.0.1:$PG_PORT/analytics" -c 'select 1')
check "a wrong password for analytics is refused ($(head -n1 <<<"$out"))" \
    grep -q 'password authentication failed' <<<"$out"
out=$(psql_try "postgresql://analytics@127.0.0.1:$PG_PORT/analytics" -c 'select 1')
check "no password for analytics is refused" grep -qE "$REFUSED" <<<"$out"
out=$(psql_try "postgresql://postgres@127.0.0.1:$PG_PORT/postgres" -c 'select 1')
check "the superuser without its password is refused" grep -qE "$REFUSED" <<<"$out"
check "DATABASE_URL (stack.env) connects" test "$(psql_try "$DATABASE_URL" -c 'select 1')" = 1
stored=$(PGPASSWORD=$(secret pg-admin.password) PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -q -At -w \
    -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
    -c "select left(rolpassword, 14) from pg_authid where rolname = 'analytics'" 2>&1)
check "the analytics password is stored as a SCRAM verifier ($stored)" test "$stored" = 'SCRAM-SHA-256$'

# ---- Redis -------------------------------------------------------------------------------------
rc() { env -u REDISCLI_AUTH redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@" 2>&1; }
out=$(rc ping)
check "redis without a password is refused ($out)" grep -q NOAUTH <<<"$out"
out=$(REDISCLI_AUTH="wrong-$RANDOM" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>&1)
check "redis with a wrong password is refused" grep -qE 'WRONGPASS|invalid' <<<"$out"
check "redis with the stack's password answers" \
    test "$(REDISCLI_AUTH="$(secret redis.password)" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG
check "REDIS_URL carries that password" test "${REDIS_URL#redis://default:"$(secret redis.password)"@}" != "$REDIS_URL"
out=$(redis-cli -u "$REDIS_URL" --no-auth-warning ping 2>&1)
check "redis-cli -u \$REDIS_URL authenticates ($out)" test "$out" = PONG

# ---- listening sockets ---------------------------------------------------------------------------
# every process the stack started (run/*.pid): PostgreSQL, Redis, the dev broker, the OIDC
# provider, ingest-api, worker, graphql-api
exposed="" nsock=0
for pf in "$S"/run/*.pid; do
    pid=$(cat "$pf" 2>/dev/null)
    [[ -n $pid ]] || continue
    while read -r addr; do
        nsock=$((nsock + 1))
        case $addr in
        127.*:* | '[::1]':*) ;;
        *) exposed+=" $(basename "$pf" .pid)=$addr" ;;
        esac
    done < <(ss -Hltnp 2>/dev/null | awk -v p="pid=$pid," 'index($0, p) { print $4 }')
done
check "the stack's processes have listening sockets ($nsock found)" test "$nsock" -ge 7
check "every listening socket of the stack is on loopback${exposed:+ (not:$exposed)}" test -z "$exposed"

# ---- files, logs, command lines ----------------------------------------------------------------
for f in stack.env demo-key pg-admin.password pg.password redis.password redis/redis.conf \
    session.secret oidc-dev.secret; do
    if [[ -e $S/$f ]]; then
        check "$f is mode 600" test "$(stat -c %a "$S/$f")" = 600
    else
        bad "$f exists"
    fi
done
secrets=()
[[ -s $S/demo-key ]] && secrets+=("$(cat "$S/demo-key")")
for f in pg-admin.password pg.password redis.password session.secret oidc-dev.secret; do
    [[ -s $S/$f ]] && secrets+=("$(secret "$f")")
done
check "the secrets to look for are there (demo key, 3 passwords, 2 login secrets)" test ${#secrets[@]} -eq 6
leaks=""
while IFS= read -r -d '' f; do
    for x in "${secrets[@]}"; do
        grep -qF -- "$x" "$f" 2>/dev/null && leaks+=" ${f#"$S"/}"
    done
done < <(find -L "$S/log" -type f -print0)
check "no log under log/ holds the demo key, a password or a login secret${leaks:+ (found in:$leaks)}" test -z "$leaks"
check "admin.log says where the demo key went" grep -q 'demo key written to' "$S/log/admin.log"
cmdleaks=""
for p in /proc/[0-9]*; do
    cl=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
    for x in "${secrets[@]}"; do
        [[ $cl == *"$x"* ]] && cmdleaks+=" ${p#/proc/}"
    done
done
check "no process's command line holds a stack secret${cmdleaks:+ (pids:$cmdleaks)}" test -z "$cmdleaks"
