#!/usr/bin/env bash
# admin.test.sh — integration test of tools/analytics-admin against a real PostgreSQL.
#
# Needs DATABASE_URL (a running PostgreSQL the test may migrate and write to; the harness
# provides it) and psql. Uses $ADMIN_BIN, else $BIN_DIR/analytics-admin (build/bin). Runs from the
# repository root so the default MIGRATIONS_DIR (./db/migrations) applies. Safe to re-run on the
# same database: every tenant it creates has a unique suffix. Two migrates race on a fresh
# database of a private PostgreSQL 15 started here (the stack's role may not CREATE DATABASE),
# stopped at the end.
# Prints "admin: N passed, M failed" last; exits non-zero on any failure.
# Checks are strings passed to eval, which shellcheck cannot see into:
# shellcheck disable=SC2034
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ADMIN=${ADMIN_BIN:-${BIN_DIR:-$ROOT/build/bin}/analytics-admin}
case "$ADMIN" in /*) ;; *) ADMIN=$PWD/$ADMIN ;; esac
cd "$ROOT" || exit 1
TMP=$(mktemp -d)
chmod 755 "$TMP"
PGBIN=/usr/lib/postgresql/15/bin
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
    [ -d "$TMP/pg" ] && as_pg "$PGBIN/pg_ctl" -D "$TMP/pg" -m immediate stop >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   $1"; }
bad() {
    FAIL=$((FAIL + 1))
    echo "FAIL $1"
    [ -n "${OUT:-}" ] && echo "     stdout: $(echo "$OUT" | head -5)"
    [ -n "${ERR:-}" ] && echo "     stderr: $(echo "$ERR" | head -5)"
}
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
# run CMD...: sets OUT, ERR, RC
run() {
    "$@" >"$TMP/out" 2>"$TMP/err"
    RC=$?
    OUT=$(cat "$TMP/out")
    ERR=$(cat "$TMP/err")
}
sql() { psql "$DATABASE_URL" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
KEY_RE='^ak_[0-9a-f]{12}_[0-9a-f]{32}$'

if [ -z "${DATABASE_URL:-}" ]; then
    echo "DATABASE_URL is not set"
    echo "admin: 0 passed, 1 failed"
    exit 1
fi
if [ ! -x "$ADMIN" ] || ! command -v psql >/dev/null; then
    echo "missing $ADMIN or psql"
    echo "admin: 0 passed, 1 failed"
    exit 1
fi
SUF=$(date +%s%N | tail -c 9)$$

# ---- help and usage ---------------------------------------------------------------------------
run "$ADMIN" --help
check "--help exits 0 and lists commands" '[ $RC = 0 ] && echo "$OUT" | grep -q "migrate" && echo "$OUT" | grep -q "DATABASE_URL"'
for c in migrate seed tenant key metric partitions backfill; do
    run "$ADMIN" $c --help
    check "$c --help exits 0 with usage" '[ $RC = 0 ] && echo "$OUT" | grep -q "^usage: analytics-admin $c"'
done
run "$ADMIN" key create --help
check "key create --help exits 0" '[ $RC = 0 ] && echo "$OUT" | grep -q "usage:"'
run "$ADMIN"
check "no command exits 2" '[ $RC = 2 ] && echo "$ERR" | grep -q "usage:"'
run "$ADMIN" frobnicate
check "unknown command exits 2" '[ $RC = 2 ] && echo "$ERR" | grep -q "unknown command"'
run "$ADMIN" migrate --bogus
check "unknown option exits 2" '[ $RC = 2 ] && echo "$ERR" | grep -q "unknown option"'

# ---- connection errors ------------------------------------------------------------------------
run env DATABASE_URL=postgresql://nobody@127.0.0.1:1/none "$ADMIN" tenant list
check "unreachable database: exit 1, could not connect" '[ $RC = 1 ] && echo "$ERR" | grep -q "^could not connect to postgresql"'
run env MIGRATIONS_DIR=/nonexistent "$ADMIN" migrate
check "bad MIGRATIONS_DIR: exit 1" '[ $RC = 1 ] && echo "$ERR" | grep -q "could not open migrations directory"'

# ---- migrate ----------------------------------------------------------------------------------
NFILES=0
for f in db/migrations/[0-9][0-9][0-9][0-9]_*.sql; do [ -f "$f" ] && NFILES=$((NFILES + 1)); done
run "$ADMIN" migrate
check "migrate exits 0" '[ $RC = 0 ] && echo "$OUT" | grep -q "^migrate: "'
run "$ADMIN" migrate
check "second migrate applies nothing" '[ $RC = 0 ] && echo "$OUT" | grep -q "^migrate: 0 applied, $NFILES already applied"'
check "schema_migrations records every file" '[ "$(sql "SELECT count(*) FROM schema_migrations")" = "$NFILES" ]'
check "partitions exist for today" '[ "$(sql "SELECT to_regclass(ea_partition_name('"'"'raw_events'"'"', '"'"'day'"'"', now())) IS NOT NULL")" = t ]'
run env MIGRATIONS_DIR="$ROOT/db/migrations" sh -c "cd / && exec '$ADMIN' migrate"
check "MIGRATIONS_DIR from the environment" '[ $RC = 0 ] && echo "$OUT" | grep -q "^migrate: 0 applied"'
run sh -c "cd / && exec '$ADMIN' migrate"
check "migrations found next to the binary when not in ./db" '[ $RC = 0 ] && echo "$OUT" | grep -q "^migrate: 0 applied"'

# Two concurrent migrates on a fresh database of a private PostgreSQL: the advisory lock lets
# exactly one apply each file.
SPORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
mkdir "$TMP/pg" "$TMP/pgrun" && chown postgres "$TMP/pg" "$TMP/pgrun" 2>/dev/null
if as_pg "$PGBIN/initdb" -A trust -U postgres -D "$TMP/pg" >"$TMP/initdb.log" 2>&1 &&
    as_pg "$PGBIN/pg_ctl" -D "$TMP/pg" -l "$TMP/pgrun/pg.log" -w \
        -o "-p $SPORT -k $TMP/pgrun -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null 2>&1 &&
    psql "postgresql://postgres@127.0.0.1:$SPORT/postgres" -XAtqc "CREATE DATABASE scratch" >/dev/null; then
    ok "private PostgreSQL 15 for the migrate race on :$SPORT"
else
    OUT=$(cat "$TMP/initdb.log" "$TMP/pgrun/pg.log" 2>/dev/null); ERR=""
    bad "private PostgreSQL 15 for the migrate race starts"
fi
SURL="postgresql://postgres@127.0.0.1:$SPORT/scratch"
DATABASE_URL=$SURL "$ADMIN" migrate >"$TMP/m1" 2>&1 &
P1=$!
DATABASE_URL=$SURL "$ADMIN" migrate >"$TMP/m2" 2>&1 &
P2=$!
wait $P1; R1=$?
wait $P2; R2=$?
OUT="$(cat "$TMP/m1" "$TMP/m2")"; ERR=""
check "concurrent migrates both succeed" '[ $R1 = 0 ] && [ $R2 = 0 ]'
check "concurrent migrates apply each file once" '[ "$(grep -c "^applied " "$TMP/m1" "$TMP/m2" | awk -F: "{s+=\$2} END {print s}")" = "$NFILES" ]'
check "scratch schema_migrations complete" '[ "$(psql "$SURL" -XAtqc "SELECT count(*) FROM schema_migrations")" = "$NFILES" ]'
# A failing migration rolls back entirely and is not recorded.
mkdir -p "$TMP/mig"
cp db/migrations/*.sql "$TMP/mig/"
printf 'CREATE TABLE admin_probe (x int);\nSELECT no_such_function();\n' >"$TMP/mig/9999_broken.sql"
run env DATABASE_URL="$SURL" MIGRATIONS_DIR="$TMP/mig" "$ADMIN" migrate
check "broken migration: exit 1, names the file" '[ $RC = 1 ] && echo "$ERR" | grep -q "^could not apply migration 9999_broken.sql"'
check "broken migration left nothing behind" '[ "$(psql "$SURL" -XAtqc "SELECT to_regclass('"'"'admin_probe'"'"') IS NULL AND NOT EXISTS (SELECT 1 FROM schema_migrations WHERE version = '"'"'9999'"'"')")" = t ]'

# ---- seed -------------------------------------------------------------------------------------
run "$ADMIN" seed
KEY1=$(echo "$OUT" | tail -n1)
check "seed exits 0 and prints a key last" '[ $RC = 0 ] && [[ "$KEY1" =~ $KEY_RE ]]'
run "$ADMIN" seed
KEY2=$(echo "$OUT" | tail -n1)
check "second seed exits 0 with a new key" '[ $RC = 0 ] && [[ "$KEY2" =~ $KEY_RE ]] && [ "$KEY1" != "$KEY2" ]'
check "seed: one acme-corp tenant" '[ "$(sql "SELECT count(*) || name FROM tenants WHERE id = '"'"'acme-corp'"'"' GROUP BY name")" = "1Acme Corp" ]'
check "seed: page_views = count of page_view by page" '[ "$(sql "SELECT event_name || '"'"' '"'"' || aggregation || '"'"' '"'"' || array_to_string(dimensions, '"'"','"'"') FROM metric_definitions WHERE tenant_id = '"'"'acme-corp'"'"' AND name = '"'"'page_views'"'"'")" = "page_view count page" ]'
ID2=${KEY2:3:12}
check "seed key: demo, scopes ingest,read,admin" '[ "$(sql "SELECT name || '"'"' '"'"' || array_to_string(scopes, '"'"','"'"') FROM api_keys WHERE key_id = '"'"'$ID2'"'"'")" = "demo ingest,read,admin" ]'

# ---- tenant -----------------------------------------------------------------------------------
T="ci-tenant-$SUF"
run "$ADMIN" tenant create "CI Tenant $SUF"
check "tenant create slugs the name" '[ $RC = 0 ] && echo "$OUT" | grep -q "created tenant $T"'
run "$ADMIN" tenant create "CI Tenant $SUF"
check "duplicate tenant: exit 1, already exists" '[ $RC = 1 ] && echo "$ERR" | grep -q "^could not create tenant: tenant \"$T\" already exists"'
run "$ADMIN" tenant create "Other" --id "other-$SUF"
check "tenant create --id" '[ $RC = 0 ] && [ "$(sql "SELECT name FROM tenants WHERE id = '"'"'other-$SUF'"'"'")" = Other ]'
run "$ADMIN" tenant create "Bad" --id "Bad_Id"
check "invalid --id: exit 2" '[ $RC = 2 ] && echo "$ERR" | grep -q "invalid tenant id"'
run "$ADMIN" tenant create "!!!"
check "unsluggable name: exit 2" '[ $RC = 2 ] && echo "$ERR" | grep -q "could not derive a tenant id"'
run "$ADMIN" tenant create
check "tenant create without NAME: exit 2" '[ $RC = 2 ]'
run "$ADMIN" tenant list
check "tenant list shows tenants" '[ $RC = 0 ] && echo "$OUT" | grep -q "^$T " && echo "$OUT" | grep -q "^acme-corp "'

# ---- key --------------------------------------------------------------------------------------
NKEYS=$(sql "SELECT count(*) FROM api_keys")
run "$ADMIN" key create --tenant "$T" --scopes ingest,read --rate-limit 50 --name ci
K=$(echo "$OUT" | tail -n1)
KID=${K:3:12}
SECRET=${K:16}
check "key create prints the key alone on the last line" '[ $RC = 0 ] && [[ "$K" =~ $KEY_RE ]] && [ "$(echo "$OUT" | wc -l)" -ge 2 ]'
check "key stored: scopes, rate limit, name, bcrypt \$2b\$10\$" '[ "$(sql "SELECT array_to_string(scopes, '"'"','"'"') || '"'"' '"'"' || rate_limit || '"'"' '"'"' || name || '"'"' '"'"' || left(secret_hash, 7) FROM api_keys WHERE key_id = '"'"'$KID'"'"' AND tenant_id = '"'"'$T'"'"'")" = "ingest,read 50 ci \$2b\$10\$" ]'
check "the secret is stored nowhere in clear" '[ "$(sql "SELECT count(*) FROM api_keys WHERE position('"'"'$SECRET'"'"' IN api_keys::text) > 0")" = 0 ]'
# python3's crypt module is libcrypt (Debian 12: python 3.11); without it this check fails
H=$(sql "SELECT secret_hash FROM api_keys WHERE key_id = '$KID'")
check "stored hash is bcrypt of the secret (libcrypt via python)" '[ "$(python3 -W ignore -c "import crypt,sys; print(crypt.crypt(sys.argv[1], sys.argv[2]) == sys.argv[2])" "$SECRET" "$H")" = True ]'

run "$ADMIN" key create --tenant "$T" --scopes ingest,write
check "bad scope: exit 2" '[ $RC = 2 ] && echo "$ERR" | grep -q "invalid scope \"write\""'
run "$ADMIN" key create --tenant "$T" --scopes read,read
check "repeated scope: exit 2" '[ $RC = 2 ]'
run "$ADMIN" key create --scopes ingest
check "missing --tenant: exit 2" '[ $RC = 2 ] && echo "$ERR" | grep -q "needs --tenant"'
run "$ADMIN" key create --tenant "$T"
check "missing --scopes: exit 2" '[ $RC = 2 ] && echo "$ERR" | grep -q "needs --scopes"'
run "$ADMIN" key create --tenant "$T" --scopes ingest --rate-limit 0
check "rate limit 0: exit 2" '[ $RC = 2 ] && echo "$ERR" | grep -q "^invalid rate limit 0"'
run "$ADMIN" key create --tenant "$T" --scopes ingest --rate-limit abc
check "rate limit abc: exit 2" '[ $RC = 2 ]'
run "$ADMIN" key create --tenant "no-such-$SUF" --scopes ingest
check "unknown tenant: exit 1, does not exist" '[ $RC = 1 ] && echo "$ERR" | grep -q "^could not create api key: tenant \"no-such-$SUF\" does not exist"'
check "bad key requests changed nothing" '[ "$(sql "SELECT count(*) FROM api_keys")" = "$((NKEYS + 1))" ]'
run "$ADMIN" key create --tenant "$T" --scopes read
K2=$(echo "$OUT" | tail -n1)
check "second key, read only, default rate limit" '[ $RC = 0 ] && [ "$(sql "SELECT rate_limit IS NULL AND scopes = '"'"'{read}'"'"' FROM api_keys WHERE key_id = '"'"'${K2:3:12}'"'"'")" = t ]'
run "$ADMIN" key list --tenant "$T"
check "key list shows ids, never secrets or hashes" '[ $RC = 0 ] && echo "$OUT" | grep -q "^$KID " && ! echo "$OUT" | grep -q "$SECRET" && ! echo "$OUT" | grep -q "\\\$2b\\\$"'
run "$ADMIN" key list --tenant "no-such-$SUF"
check "key list of unknown tenant: exit 1" '[ $RC = 1 ] && echo "$ERR" | grep -q "does not exist"'
run "$ADMIN" key revoke "$KID"
check "revoke by id" '[ $RC = 0 ] && echo "$OUT" | grep -q "revoked api key $KID" && [ "$(sql "SELECT revoked_at IS NOT NULL FROM api_keys WHERE key_id = '"'"'$KID'"'"'")" = t ]'
REVOKED_AT=$(sql "SELECT revoked_at FROM api_keys WHERE key_id = '$KID'")
run "$ADMIN" key revoke "$K"
check "revoking again is a no-op that says so" '[ $RC = 0 ] && echo "$OUT" | grep -q "already revoked" && [ "$(sql "SELECT revoked_at FROM api_keys WHERE key_id = '"'"'$KID'"'"'")" = "$REVOKED_AT" ]'
run "$ADMIN" key revoke "$K2"
check "revoke by full key" '[ $RC = 0 ] && [ "$(sql "SELECT revoked_at IS NOT NULL FROM api_keys WHERE key_id = '"'"'${K2:3:12}'"'"'")" = t ]'
run "$ADMIN" key revoke 000000000000
check "revoke unknown id: exit 1" '[ $RC = 1 ] && echo "$ERR" | grep -q "^could not revoke api key: key 000000000000 does not exist"'
run "$ADMIN" key revoke "ak_nothex"
check "revoke malformed key: exit 2" '[ $RC = 2 ]'
run "$ADMIN" key revoke "x'; DROP TABLE api_keys; --"
check "revoke with SQL in the argument: exit 2, table intact" '[ $RC = 2 ] && [ "$(sql "SELECT to_regclass('"'"'api_keys'"'"') IS NOT NULL")" = t ]'
run "$ADMIN" key list --tenant "$T"
check "key list shows revocation" '[ $RC = 0 ] && [ "$(echo "$OUT" | grep "^$KID " | grep -cE "[0-9]{4}-[0-9]{2}-[0-9]{2}T.*[0-9]{4}-[0-9]{2}-[0-9]{2}T")" = 1 ]'

# ---- metric -----------------------------------------------------------------------------------
run "$ADMIN" metric define --tenant "$T" --name signups --event signup --dimensions plan,country
check "metric define creates" '[ $RC = 0 ] && echo "$OUT" | grep -q "^created metric signups"'
run "$ADMIN" metric define --tenant "$T" --name signups --event signup --aggregation sum --property amount --dimensions plan --cardinality-cap 50
check "metric define again updates" '[ $RC = 0 ] && echo "$OUT" | grep -q "^updated metric signups"'
check "metric stored after upsert" '[ "$(sql "SELECT aggregation || '"'"' '"'"' || property || '"'"' '"'"' || array_to_string(dimensions, '"'"','"'"') || '"'"' '"'"' || cardinality_cap FROM metric_definitions WHERE tenant_id = '"'"'$T'"'"' AND name = '"'"'signups'"'"'")" = "sum amount plan 50" ]'
run "$ADMIN" metric define --tenant "$T" --name uniq --event page_view --aggregation unique --property user_id
check "unique metric" '[ $RC = 0 ]'
NMET=$(sql "SELECT count(*) FROM metric_definitions WHERE tenant_id = '$T'")
run "$ADMIN" metric define --tenant "$T" --name m --event e --aggregation sum
check "sum without --property: exit 2" '[ $RC = 2 ] && echo "$ERR" | grep -q "^aggregation sum needs a property"'
run "$ADMIN" metric define --tenant "$T" --name m --event e --aggregation median
check "bad aggregation: exit 2" '[ $RC = 2 ] && echo "$ERR" | grep -q "invalid aggregation"'
run "$ADMIN" metric define --tenant "$T" --name m --event e --dimensions a,b,c,d,e,f,g,h,i
check "9 dimensions: exit 2" '[ $RC = 2 ] && echo "$ERR" | grep -q "at most 8"'
run "$ADMIN" metric define --tenant "$T" --name m --event e --dimensions a,b,c,d,e,f,g,h
check "8 dimensions accepted" '[ $RC = 0 ]'
NMET=$((NMET + 1))
run "$ADMIN" metric define --tenant "$T" --name m2 --event e --cardinality-cap 0
check "cardinality cap 0: exit 2" '[ $RC = 2 ]'
run "$ADMIN" metric define --tenant "$T" --name "$(printf 'x%.0s' $(seq 1 129))" --event e
check "129-byte metric name: exit 2" '[ $RC = 2 ]'
run "$ADMIN" metric define --tenant "$T" --event e
check "missing --name: exit 2" '[ $RC = 2 ]'
run "$ADMIN" metric define --tenant "no-such-$SUF" --name m --event e
check "metric for unknown tenant: exit 1" '[ $RC = 1 ] && echo "$ERR" | grep -q "^could not define metric: tenant"'
check "bad metric requests changed nothing" '[ "$(sql "SELECT count(*) FROM metric_definitions WHERE tenant_id = '"'"'$T'"'"'")" = "$NMET" ]'
run "$ADMIN" metric list --tenant "$T"
check "metric list" '[ $RC = 0 ] && echo "$OUT" | grep -q "^signups " && echo "$OUT" | grep -q "^uniq "'

# ---- partitions, backfill ---------------------------------------------------------------------
run "$ADMIN" partitions
check "partitions lists each table" '[ $RC = 0 ] && echo "$OUT" | grep -q "^raw_events  *raw_events_p" && echo "$OUT" | grep -q "^rollups_hourly  *rollups_hourly_p" && echo "$OUT" | grep -q "^rollups_daily  *rollups_daily_p"'
run "$ADMIN" backfill --tenant acme-corp --metric page_views --from 2024-01-01 --to 2024-01-02
check "backfill: a range past raw retention is refused, exit 1" '[ $RC = 1 ] && echo "$ERR" | grep -q "^could not backfill: .* is past raw-event retention"'
# (backfill itself is tested in worker_backfill.test.sh)

echo "admin: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
