#!/bin/sh
# deploy/docker/entrypoint.sh — the entry point of the image (Dockerfile at the repository root,
# installed as /usr/local/bin/ea-entrypoint): starts the process SERVICE names, so one image
# serves every process of docs/DEPLOY.md.
#
#   SERVICE=ingest-api|graphql-api|worker|analytics-admin   exec that binary with the arguments
#   ea-entrypoint COMMAND [ARG...]    run a command as given (analytics-admin migrate, a shell):
#                                     what a platform's pre-deploy step or `docker run IMAGE CMD` does
#   ea-entrypoint healthcheck         curl /healthz on SERVICE's port (Docker's HEALTHCHECK); a
#                                     one-off analytics-admin, or a service with its port 0, has none
#
# An unset or unknown SERVICE exits 64 with the list of choices, before anything starts. The
# binaries are found on PATH (/usr/local/bin in the image), which is how
# tests/integration/compose.test.sh runs this script against a build.
set -eu

CHOICES="ingest-api, graphql-api, worker, analytics-admin"

port_of() {
    case "$1" in
    ingest-api) echo "${INGEST_PORT:-3001}" ;;
    graphql-api) echo "${GRAPHQL_PORT:-3002}" ;;
    worker) echo "${WORKER_PORT:-3003}" ;;
    *) echo 0 ;;
    esac
}

if [ "${1:-}" = healthcheck ] && [ $# -eq 1 ]; then
    port=$(port_of "${SERVICE:-}")
    [ "$port" = 0 ] && exit 0
    exec curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/healthz"
fi

case "${1:-}" in
"" | -*) ;;
*) exec "$@" ;;
esac

case "${SERVICE:-}" in
ingest-api | graphql-api | worker | analytics-admin)
    exec "$SERVICE" "$@"
    ;;
"")
    echo "ea-entrypoint: SERVICE is not set; set it to one of: $CHOICES" \
        "(or give a command, e.g. analytics-admin migrate)" >&2
    exit 64
    ;;
*)
    echo "ea-entrypoint: SERVICE=$SERVICE is not one of: $CHOICES" >&2
    exit 64
    ;;
esac
