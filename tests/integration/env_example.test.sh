#!/usr/bin/env bash
# env_example.test.sh — every setting in every service's config table (printed by `--help`)
# is documented in .env.example, so a user can find every knob in one place.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BIN_DIR="${BIN_DIR:-build/bin}"
pass=0 fail=0
for svc in ingest-api worker graphql-api; do
    names=$("$BIN_DIR/$svc" --help | sed -n 's/^  \([A-Z][A-Z0-9_]*\) .*/\1/p')
    [[ -n "$names" ]] || { echo "not ok $svc --help lists no settings"; fail=$((fail + 1)); continue; }
    for n in $names; do
        if grep -qE "^#? ?$n=" .env.example; then
            pass=$((pass + 1))
        else
            echo "not ok $svc: $n is missing from .env.example"
            fail=$((fail + 1))
        fi
    done
done
echo "env_example: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
