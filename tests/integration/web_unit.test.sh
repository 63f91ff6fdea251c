#!/usr/bin/env bash
# web_unit.test.sh — the dashboard's component and pure-function tests (Vitest: chart data
# shaping, time-zone formatting, the bucket table) and its type check, so `make test` runs them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
[[ -d web/node_modules ]] || { echo "not ok web/node_modules is missing (scripts/deps.sh installs it)"; exit 1; }
npm --prefix web run --silent typecheck
npm --prefix web test --silent
