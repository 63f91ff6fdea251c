#!/usr/bin/env bash
# scripts/optional.sh — runs a suite that lands later (bench, load, chaos) when its script exists,
# and says "not yet" (exit 0) when it does not, so the Makefile target always exists.
# Usage: scripts/optional.sh NAME SCRIPT [ARGS...]   e.g. scripts/optional.sh bench bench/run.sh
set -euo pipefail
export EA_SCRIPT="${1:?usage: optional.sh NAME SCRIPT [ARGS...]}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_dotenv
cd "$REPO_ROOT"
script="${2:?usage: optional.sh NAME SCRIPT [ARGS...]}"
shift 2
if [[ ! -f "$script" ]]; then
    msg "not yet: $script does not exist"
    exit 0
fi
exec bash "$script" "$@"
