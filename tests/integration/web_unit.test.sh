#!/usr/bin/env bash
# web_unit.test.sh — the dashboard's component and pure-function tests (Vitest: chart data
# shaping, time-zone formatting, the bucket table) and its type check, so `make test` runs them.
# Counted like every test file (tests/manifest.txt): one check for the type check plus one per
# Vitest test; a skipped or todo Vitest test fails (Vitest gives no reason to print).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
pass=0 fail=0
summary() { echo "web_unit: $pass passed, $fail failed"; ((fail == 0)); exit $?; }
[[ -d web/node_modules ]] || { echo "FAIL web/node_modules is missing (scripts/deps.sh installs it)"; fail=1; summary; }
if npm --prefix web run --silent typecheck; then
    echo "ok   web: tsc type check"
    pass=$((pass + 1))
else
    echo "FAIL web: tsc type check"
    fail=$((fail + 1))
fi
json="$(mktemp)"
trap 'rm -f "$json"' EXIT
(cd web && npx --no-install vitest run --reporter=default --reporter=json --outputFile.json="$json")
rc=$?
if [[ ! -s "$json" ]]; then
    echo "FAIL web: vitest wrote no report (exit $rc)"
    fail=$((fail + 1))
    summary
fi
# one line per Vitest test: ok / FAIL (skipped and todo tests are not passes)
while IFS=$'\t' read -r st name; do
    case "$st" in
        passed) echo "ok   vitest: $name"; pass=$((pass + 1)) ;;
        skipped | pending | todo) echo "FAIL vitest: $name is $st (not a pass: remove the .skip/.todo or the test)"; fail=$((fail + 1)) ;;
        *) echo "FAIL vitest: $name ($st)"; fail=$((fail + 1)) ;;
    esac
done < <(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const f of r.testResults) for (const t of f.assertionResults)
        console.log(`${t.status}\t${f.name.replace(/.*\/web\//, "web/")}: ${t.fullName}`);' "$json")
((rc == 0)) || { [[ $fail -gt 0 ]] || { echo "FAIL web: vitest exited $rc"; fail=$((fail + 1)); }; }
summary
