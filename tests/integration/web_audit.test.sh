#!/usr/bin/env bash
# web_audit.test.sh — the dashboard's runtime dependencies (web/, production only) have no known
# high- or critical-severity vulnerability: `npm audit --omit=dev --audit-level=high` exits
# non-zero on one.
#
# The audit needs the registry's advisory endpoint. The registry mirror this project is built
# against answers 405 there, so when the endpoint is unavailable the test prints a loud SKIP
# saying nothing was audited (findings, when the audit does run, always fail). Set
# WEB_AUDIT_REQUIRED=1 where the endpoint must answer (e.g. a release pipeline): then an
# unavailable endpoint fails the test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
[[ -f web/package-lock.json ]] || { echo "not ok web/package-lock.json is missing"; exit 1; }
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
rc=0
npm --prefix web audit --omit=dev --audit-level=high >"$out" 2>&1 || rc=$?
cat "$out"
if ((rc == 0)); then
    echo "ok web: npm audit --omit=dev shows no high-severity finding"
    exit 0
fi
if grep -q "audit endpoint returned an error" "$out"; then
    if [[ "${WEB_AUDIT_REQUIRED:-0}" != 1 ]]; then
        echo "SKIP web: the registry's audit endpoint is unavailable; NOTHING was audited"
        exit 0
    fi
    echo "not ok web: the registry's audit endpoint is unavailable, so the audit did not run"
    exit 1
fi
echo "not ok web: npm audit --omit=dev --audit-level=high reports findings (above)"
exit 1
