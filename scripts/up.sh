#!/usr/bin/env bash
# scripts/up.sh — `make up`: what `make dev` does, in the background. Installs what is missing
# (scripts/deps.sh), builds the services (scripts/build.sh) and the dashboard when web/dist is
# missing or stale (scripts/web-build.sh), then starts the stack (scripts/stack.sh up), which
# serves the dashboard at http://127.0.0.1:$GRAPHQL_PORT/ and loads $SAMPLE_DAYS days of sample
# events into a fresh database. Returns once every service is ready; `make down` stops it.
# Env: SKIP_DEPS=1, SKIP_BUILD=1, SAMPLE_DAYS (30; 0 = none), plus everything stack.sh reads.
set -euo pipefail
export EA_SCRIPT=up
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_dotenv
cd "$REPO_ROOT"

[[ "${SKIP_DEPS:-0}" == 1 ]] || bash scripts/deps.sh
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    bash scripts/build.sh
    bash scripts/web-build.sh
fi
export SAMPLE_DAYS="${SAMPLE_DAYS:-30}"
exec bash scripts/stack.sh up
