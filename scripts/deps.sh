#!/usr/bin/env bash
# scripts/deps.sh — installs what building, running and testing the project needs on Debian 12:
# the Debian packages that are missing (one `apt-get update` only when something is missing), and
# the npm dependencies of tests/, web/ and tools/oidc-dev/ when their node_modules is missing or stale.
#
# Usage: scripts/deps.sh [EXTRA_DEBIAN_PACKAGE ...]   (e.g. `scripts/deps.sh wrk` for the bench)
# Env: SKIP_NPM=1 skips the npm part. Not for runtime configuration of the stack (scripts/stack.sh).
set -euo pipefail
export EA_SCRIPT=deps
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_dotenv

PACKAGES=(
    build-essential cmake pkg-config clang libclang-rt-14-dev clang-tidy
    libh2o-evloop-dev libwslay-dev librdkafka-dev libhiredis-dev libjansson-dev libssl-dev
    libcurl4-openssl-dev libcrypt-dev libpq-dev zlib1g-dev
    postgresql-15 redis-server kcat curl python3-yaml chromium fonts-liberation wrk
    openssl systemd
)
PACKAGES+=("$@")
# Node.js 20 + npm are expected on the machine; Debian's nodejs is only a fallback.
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

missing=()
for p in "${PACKAGES[@]}"; do
    installed "$p" || missing+=("$p")
done

if ((${#missing[@]})); then
    msg "installing missing Debian packages: ${missing[*]}"
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script supports Debian 12"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${missing[@]}"
    # Installing postgresql-15 creates and starts Debian's own `main` cluster on 5432. We leave it
    # alone and never depend on it: scripts/stack.sh runs its own cluster under $STACK_DIR.
else
    msg "Debian packages: all ${#PACKAGES[@]} present"
fi

# npm dependencies: reinstalled only when node_modules is missing or package-lock.json (or
# package.json when there is no lock) changed since the last install here.
npm_deps() {
    local dir="$1" lock stamp want have=""
    [[ -f "$dir/package.json" ]] || return 0
    if [[ -f "$dir/package-lock.json" ]]; then lock="$dir/package-lock.json"; else lock="$dir/package.json"; fi
    stamp="$dir/node_modules/.ea-deps-stamp"
    want="$(sha256sum "$lock" | cut -d' ' -f1)"
    [[ -f "$stamp" ]] && have="$(cat "$stamp")"
    if [[ -d "$dir/node_modules" && "$want" == "$have" ]]; then
        msg "npm: ${dir#"$REPO_ROOT"/} up to date"
        return 0
    fi
    msg "npm: installing dependencies in ${dir#"$REPO_ROOT"/}"
    if [[ -f "$dir/package-lock.json" ]]; then
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    else
        (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
        # npm install writes a lock file: stamp that, as the next run will compare with it.
        [[ -f "$dir/package-lock.json" ]] && lock="$dir/package-lock.json"
        want="$(sha256sum "$lock" | cut -d' ' -f1)"
    fi
    mkdir -p "$dir/node_modules"
    printf '%s\n' "$want" >"$stamp"
}

if [[ "${SKIP_NPM:-0}" != 1 ]]; then
    npm_deps "$REPO_ROOT/tests"
    npm_deps "$REPO_ROOT/tests/differential"
    npm_deps "$REPO_ROOT/web"
    npm_deps "$REPO_ROOT/tools/oidc-dev" # the local OIDC provider (scripts/stack.sh)
fi
