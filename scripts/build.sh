#!/usr/bin/env bash
# scripts/build.sh — configures and builds the C tree with CMake. Binaries land in $BUILD_DIR/bin.
# Env: BUILD_DIR (default build), BUILD_TYPE (RelWithDebInfo), JOBS (2), CMAKE_ARGS (extra -D...).
set -euo pipefail
export EA_SCRIPT=build
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_dotenv
cd "$REPO_ROOT"

BUILD_DIR="${BUILD_DIR:-build}"
t0="$(now_s)"
# shellcheck disable=SC2086 # CMAKE_ARGS is a list of words on purpose
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" ${CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j"${JOBS:-2}"
msg "built in $(elapsed "$t0") s: $(ls "$BUILD_DIR/bin" 2>/dev/null | tr '\n' ' ')"
