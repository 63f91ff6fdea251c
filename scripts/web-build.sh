#!/usr/bin/env bash
# scripts/web-build.sh — builds the dashboard's production bundle (web/dist, served by graphql-api
# at `/`) when it is missing or older than any of its sources; does nothing otherwise. Called by
# `make up` (scripts/up.sh). Not for development: `make dev` runs Vite with hot reload instead.
# Env: FORCE_WEB_BUILD=1 builds even when web/dist looks current.
set -euo pipefail
export EA_SCRIPT=web-build
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

[[ -f web/package.json ]] || exit 0
index=web/dist/index.html
# every input of the bundle: sources, the page shell, the lock file and the build configuration
inputs=(web/src web/index.html web/package.json web/package-lock.json web/vite.config.ts web/tsconfig.json)
[[ -d web/public ]] && inputs+=(web/public)
if [[ "${FORCE_WEB_BUILD:-0}" != 1 && -f "$index" ]] &&
    [[ -z "$(find "${inputs[@]}" -newer "$index" -print -quit 2>/dev/null)" ]]; then
    msg "dashboard: web/dist is up to date"
    exit 0
fi
[[ -d web/node_modules ]] || die "web/node_modules is missing: run scripts/deps.sh"
t0="$(now_s)"
msg "dashboard: building web/dist (npm run build)"
npm --prefix web run --silent build >&2
# vite writes index.html first: mark the finished build as newer than every input
touch "$index"
msg "dashboard: built in $(elapsed "$t0") s"
