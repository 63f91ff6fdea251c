#!/usr/bin/env bash
# scripts/clean.sh — `make clean`: stops the dev and test stacks, then removes build/ and .data/
# (PostgreSQL data, logs, demo keys). Leaves node_modules and other build-* scratch dirs alone.
set -euo pipefail
export EA_SCRIPT=clean
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_dotenv
cd "$REPO_ROOT"

[[ -d .data ]] || { rm -rf -- build; msg "removed build/"; exit 0; }
# Every stack under .data (the dev stack, the test stack, any other STACK_DIR put there).
while IFS= read -r run; do
    STACK_DIR="$REPO_ROOT/${run%/run}" bash scripts/stack.sh down
done < <(find .data -maxdepth 4 -type d -name run | sort -r)
# A data dir moved outside the checkout (see stack.sh pg_prepare_datadir) goes too.
while IFS= read -r f; do
    rm -rf -- "$(cat "$f")"
done < <(find .data -maxdepth 4 -name pg.path)
rm -rf -- build .data
msg "removed build/ and .data/"
