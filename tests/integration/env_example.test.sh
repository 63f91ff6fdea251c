#!/usr/bin/env bash
# env_example.test.sh — every setting in every service's config table (printed by `--help`)
# is documented in .env.example, so a user can find every knob in one place. One check per
# service (its settings listed, every one documented): the count does not change when a
# setting is added.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BIN_DIR="${BIN_DIR:-build/bin}"
pass=0 fail=0
for svc in ingest-api worker graphql-api; do
    names=$("$BIN_DIR/$svc" --help | sed -n 's/^  \([A-Z][A-Z0-9_]*\) .*/\1/p')
    if [[ -z "$names" ]]; then
        echo "FAIL $svc --help lists no settings"
        fail=$((fail + 1))
        continue
    fi
    missing=()
    for n in $names; do grep -qE "^#? ?$n=" .env.example || missing+=("$n"); done
    if ((${#missing[@]})); then
        echo "FAIL $svc: missing from .env.example: ${missing[*]}"
        fail=$((fail + 1))
    else
        echo "ok   $svc: all $(wc -w <<<"$names") settings are in .env.example"
        pass=$((pass + 1))
    fi
done
echo "env_example: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
