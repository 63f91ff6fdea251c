#!/usr/bin/env bash
# tests/integration/deploy.test.sh — what docs/DEPLOY.md hands to an operator is usable: the
# systemd units in deploy/systemd pass `systemd-analyze verify` (with ExecStart pointed at this
# build, since nothing is installed here), run as the analytics user with the environment file,
# order after the migration, and start the binaries that exist; deploy/systemd/env.example names
# only variables some component reads; the image (root Dockerfile) carries analytics-admin and
# the migrations and listens on every interface; DEPLOY.md names every connection and security
# variable of the services (from their --help) and every Kafka provider's settings. Needs no stack.
# Prints "deploy: N passed, M failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
BIN_DIR=${BIN_DIR:-$ROOT/build/bin}
case "$BIN_DIR" in /*) ;; *) BIN_DIR=$ROOT/$BIN_DIR ;; esac
TMP=$(mktemp -d)
trap 'rm -rf -- "$TMP"' EXIT
# shellcheck source=lib/check.sh
source "$ROOT/tests/integration/lib/check.sh"

UNITS=(deploy/systemd/event-analytics-{migrate,ingest-api,worker,graphql-api}.service)
for u in "${UNITS[@]}"; do check "$u exists" test -f "$u"; done

# systemd-analyze verify: a copy whose ExecStart= points at this build (the only change)
cp "${UNITS[@]}" "$TMP/"
sed -i "s|^ExecStart=/usr/local/bin/|ExecStart=$BIN_DIR/|" "$TMP"/*.service
verify() {
    SYSTEMD_UNIT_PATH="$TMP:" systemd-analyze verify --man=no "$TMP"/*.service >"$TMP/verify.log" 2>&1 &&
        ! [[ -s "$TMP/verify.log" ]]
}
check "systemd-analyze verify passes every unit, without a warning" verify
[[ -s "$TMP/verify.log" ]] && sed 's/^/#   /' "$TMP/verify.log"

unit_has() { grep -qE -- "$2" "$1"; }
for svc in ingest-api worker graphql-api; do
    u=deploy/systemd/event-analytics-$svc.service
    check "$svc unit: starts /usr/local/bin/$svc, which the build produces" \
        bash -c "grep -q '^ExecStart=/usr/local/bin/$svc\$' '$u' && test -x '$BIN_DIR/$svc'"
    check "$svc unit: requires and follows the migration" \
        bash -c "grep -q '^Requires=event-analytics-migrate.service' '$u' && grep -q '^After=.*event-analytics-migrate.service' '$u'"
    check "$svc unit: user analytics, EnvironmentFile, restart on failure, SIGTERM stop" \
        bash -c "grep -q '^User=analytics' '$u' && grep -q '^EnvironmentFile=/etc/event-analytics/env' '$u' && grep -q '^Restart=on-failure' '$u' && grep -q '^KillSignal=SIGTERM' '$u'"
done
check "migrate unit: oneshot analytics-admin migrate" \
    bash -c "grep -q '^Type=oneshot' '${UNITS[0]}' && grep -q '^ExecStart=/usr/local/bin/analytics-admin migrate$' '${UNITS[0]}' && test -x '$BIN_DIR/analytics-admin'"

# every variable the units and env.example set is one some component reads
{
    for b in ingest-api worker graphql-api analytics-admin; do
        "$BIN_DIR/$b" --help 2>&1 | sed -n 's/^  \([A-Z][A-Z0-9_]*\) .*/\1/p'
    done
} | sort -u >"$TMP/known"
unknown=$( { sed -n 's/^\([A-Z][A-Z0-9_]*\)=.*/\1/p' deploy/systemd/env.example
    grep -ho '^Environment=.*' deploy/systemd/*.service | sed 's/^Environment=//' | tr ' ' '\n' | sed -n 's/^\([A-Z][A-Z0-9_]*\)=.*/\1/p'
} | sort -u | comm -23 - "$TMP/known")
check "env.example and the units set only variables a component reads${unknown:+ (unknown: $unknown)}" test -z "$unknown"
check "env.example holds no real secret (placeholders only)" \
    bash -c "! grep -Eq '^(KAFKA_SASL_PASSWORD|SESSION_SECRET|OIDC_CLIENT_SECRET)=[^A-Z]' deploy/systemd/env.example"

# the image (one, the root Dockerfile): analytics-admin + migrations inside, every service
# listening on every interface, the dashboard where graphql-api looks for it
f=Dockerfile
check "$f: carries analytics-admin and db/migrations (MIGRATIONS_DIR) for pre-deploy migrate" \
    bash -c "grep -q '^COPY --from=build .*/out/analytics-admin.* /usr/local/bin/\$' '$f' && grep -q 'COPY db/migrations /usr/share/event-analytics/migrations' '$f' && grep -q 'MIGRATIONS_DIR=/usr/share/event-analytics/migrations' '$f'"
check "$f: WEB_DIST_DIR is where the dashboard's build is copied" \
    bash -c "grep -q 'COPY --from=web /src/web/dist /usr/share/event-analytics/web' '$f' && grep -q 'WEB_DIST_DIR=/usr/share/event-analytics/web' '$f'"
for svc in ingest-api worker graphql-api; do
    host=$(echo "$svc" | sed 's/-api//' | tr a-z A-Z)_HOST
    check "$f: $host=0.0.0.0 (a container's loopback is unreachable)" grep -q "$host=0.0.0.0" "$f"
    check "docs/DEPLOY.md: $svc runs the root image with SERVICE=$svc" grep -qF "SERVICE=$svc" docs/DEPLOY.md
done

# DEPLOY.md names the variables a deployment sets, and each provider's settings
for v in DATABASE_URL REDIS_URL REDIS_CA_FILE KAFKA_BROKERS KAFKA_TOPIC KAFKA_SECURITY_PROTOCOL \
    KAFKA_SASL_MECHANISM KAFKA_SASL_USERNAME KAFKA_SASL_PASSWORD KAFKA_SSL_CA_FILE KAFKA_PROPERTIES \
    INGEST_HOST INGEST_PORT GRAPHQL_HOST GRAPHQL_PORT WORKER_HOST WORKER_PORT OIDC_ISSUER \
    OIDC_CLIENT_ID OIDC_CLIENT_SECRET OIDC_REDIRECT_URI SESSION_SECRET MIGRATIONS_DIR \
    WEB_DIST_DIR GRAPHQL_REDIS_TIMEOUT_MS WORKER_SESSION_TIMEOUT_MS; do
    check "docs/DEPLOY.md names $v, which a component reads" \
        bash -c "grep -qx '$v' '$TMP/known' && grep -q '\`$v\`\|$v=' docs/DEPLOY.md"
done
for want in 'sslmode=verify-full' 'SCRAM-SHA-512' 'SCRAM-SHA-256' 'PLAIN' ':9096' 'confluent.cloud:9092' \
    'analytics-admin migrate' '/readyz' 'bench/footprint.sh'; do
    check "docs/DEPLOY.md covers $want" grep -qF -- "$want" docs/DEPLOY.md
done
summary deploy
((failed == 0))
