#!/usr/bin/env bash
# env_example.test.sh — every setting in every program's config table (printed by `--help`) is
# documented in .env.example, so a user can find every knob in one place. One check per program
# (its settings listed, every one documented): the count does not change when a setting is added.
# Then the names a shared setting replaced (lib/config ea_config_retired): each program that reads
# the shared setting refuses to start when one is set (exit 2, naming the replacement), so a
# deploy that still sets an old name cannot run with programs that disagree; .env.example names
# none of them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BIN_DIR="${BIN_DIR:-build/bin}"
pass=0 fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
for svc in ingest-api worker graphql-api analytics-admin; do
    names=$("$BIN_DIR/$svc" --help | sed -n 's/^  \([A-Z][A-Z0-9_]*\) .*/\1/p')
    if [[ -z "$names" ]]; then
        bad "$svc --help lists no settings"
        continue
    fi
    missing=()
    for n in $names; do grep -qE "^#? ?$n=" .env.example || missing+=("$n"); done
    if ((${#missing[@]})); then
        bad "$svc: missing from .env.example: ${missing[*]}"
    else
        ok "$svc: all $(wc -w <<<"$names") settings are in .env.example"
    fi
done

# The per-service channel names (lib/rollup EA_ROLLUP_CHANNEL_RETIRED_ENTRIES) and what replaced
# them. Every program that reads a channel refuses all four: one .env serves them all.
retired=(WORKER_CHANGES_CHANNEL:CHANGES_CHANNEL GRAPHQL_CHANGES_CHANNEL:CHANGES_CHANNEL
    WORKER_ALERTS_CHANNEL:ALERTS_CHANNEL GRAPHQL_ALERTS_CHANNEL:ALERTS_CHANNEL)
out=$(mktemp)
trap 'rm -f -- "$out"' EXIT
for svc in worker graphql-api analytics-admin; do
    wrong=()
    for r in "${retired[@]}"; do
        old=${r%%:*} new=${r#*:} rc=0
        # were it not refused, the program would start: on no port (worker), on a port that is
        # taken (graphql-api, no SO_REUSEPORT), or list tenants (analytics-admin, exit 0)
        args=()
        [[ $svc == analytics-admin ]] && args=(tenant list)
        env "$old=ea:old" WORKER_PORT=0 GRAPHQL_REUSEPORT=false timeout 10 \
            "$BIN_DIR/$svc" "${args[@]}" >"$out" 2>&1 || rc=$?
        ((rc == 2)) && grep -qF "$old is no longer read: set $new (one name for " "$out" ||
            wrong+=("$old (exit $rc: $(head -c 300 "$out"))")
    done
    if ((${#wrong[@]})); then
        bad "$svc does not refuse: ${wrong[*]}"
    else
        ok "$svc refuses each of the ${#retired[@]} retired channel names (exit 2, naming the new one)"
    fi
done
# one channel for both would have graphql-api read every change as an alert (its cache never
# dropped a bucket): the programs that use both refuse it
for svc in worker graphql-api; do
    rc=0
    env CHANGES_CHANNEL=ea:same ALERTS_CHANNEL=ea:same WORKER_PORT=0 GRAPHQL_REUSEPORT=false \
        timeout 10 "$BIN_DIR/$svc" >"$out" 2>&1 || rc=$?
    if ((rc == 2)) && grep -qF 'ALERTS_CHANNEL: "ea:same" is CHANGES_CHANNEL too' "$out"; then
        ok "$svc refuses CHANGES_CHANNEL = ALERTS_CHANNEL (exit 2)"
    else
        bad "$svc accepts CHANGES_CHANNEL = ALERTS_CHANNEL (exit $rc: $(head -c 300 "$out"))"
    fi
done
if grep -nE '^#? ?(WORKER|GRAPHQL)_(CHANGES|ALERTS)_CHANNEL\b' .env.example; then
    bad ".env.example still names a retired channel variable"
else
    ok ".env.example names no retired channel variable"
fi
echo "env_example: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
