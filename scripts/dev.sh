#!/usr/bin/env bash
# scripts/dev.sh — `make dev`: installs what is missing, builds, starts the stack in the background
# (scripts/stack.sh up), then the dashboard's dev server when web/ exists, and follows every log in
# the foreground. Ctrl-C (or SIGTERM) stops everything with `stack.sh down`.
# Env: WEB_PORT (5173), SKIP_DEPS=1, SKIP_BUILD=1, SAMPLE_DAYS (30 days of sample events loaded
# into a fresh database; 0 = none), plus everything scripts/stack.sh reads.
set -euo pipefail
export EA_SCRIPT=dev
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_dotenv
cd "$REPO_ROOT"

STACK_DIR="${STACK_DIR:-.data}"
[[ "$STACK_DIR" == /* ]] || STACK_DIR="$REPO_ROOT/$STACK_DIR"
export STACK_DIR
WEB_PORT="${WEB_PORT:-5173}"

[[ "${SKIP_DEPS:-0}" == 1 ]] || bash scripts/deps.sh
[[ "${SKIP_BUILD:-0}" == 1 ]] || bash scripts/build.sh

stopping=0
stop_all() {
    ((stopping)) && return
    stopping=1
    trap - INT TERM
    [[ -n "${tail_pid:-}" ]] && kill "$tail_pid" 2>/dev/null
    echo >&2
    msg "stopping the stack"
    bash "$REPO_ROOT/scripts/stack.sh" down || true
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DEV_DASHBOARD_URL="http://127.0.0.1:$WEB_PORT/   (Vite, hot reload; starts below)"
if [[ -f web/package.json ]]; then
    # Sign-in comes back to the dashboard the user is on: the Vite server (it forwards /auth to
    # graphql-api), not graphql-api's own port, which serves no dashboard under make dev.
    # stack.sh registers this address with the local OIDC provider too.
    export OIDC_REDIRECT_URI="${OIDC_REDIRECT_URI:-http://127.0.0.1:$WEB_PORT/auth/callback}"
else
    DEV_DASHBOARD_URL=""
fi
DEV_DASHBOARD_URL="$DEV_DASHBOARD_URL" SAMPLE_DAYS="${SAMPLE_DAYS:-30}" bash scripts/stack.sh up

logs=("$STACK_DIR"/log/{ingest-api,worker,graphql-api,kafka-dev-broker}.log)
if [[ -f web/package.json ]]; then
    port_open "$WEB_PORT" && die "port $WEB_PORT for the dashboard is taken (set WEB_PORT)"
    msg "dashboard: starting vite on http://127.0.0.1:$WEB_PORT"
    # The dashboard's dev server talks to the running graphql-api (vite proxies /graphql, /auth).
    (exec setsid env GRAPHQL_PORT="${GRAPHQL_PORT:-3002}" \
        npm --prefix web run dev -- --port "$WEB_PORT" --host 127.0.0.1 --strictPort \
        >>"$STACK_DIR/log/web.log" 2>&1 </dev/null) &
    echo "$!" >"$STACK_DIR/run/web.pid"
    echo "$WEB_PORT" >"$STACK_DIR/run/web.port"
    logs+=("$STACK_DIR/log/web.log")
    msg "dashboard  http://127.0.0.1:$WEB_PORT"
fi

msg "following logs; Ctrl-C stops everything"
tail -n 20 -F "${logs[@]}" &
tail_pid=$!
wait "$tail_pid"
