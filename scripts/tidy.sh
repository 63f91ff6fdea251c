#!/usr/bin/env bash
# scripts/tidy.sh — clang-tidy (checks in .clang-tidy: bugprone-*, clang-analyzer-*) over every C
# file of lib/ services/ tools/ bench/ in a build tree's compile_commands.json. Any finding
# fails (WarningsAsErrors). tests/ is not checked. Not a formatter.
# Usage: scripts/tidy.sh [BUILD_DIR]  (default build; must be configured with CMake)
# Env: JOBS (2), CLANG_TIDY (clang-tidy), TIDY_ONLY (regex: check only the matching files).
set -euo pipefail
export EA_SCRIPT=tidy
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"
BUILD_DIR="${1:-${BUILD_DIR:-build}}"
TIDY="${CLANG_TIDY:-clang-tidy}"
command -v "$TIDY" >/dev/null || die "$TIDY not found (scripts/deps.sh installs clang-tidy)"
db="$BUILD_DIR/compile_commands.json"
[[ -f "$db" ]] || die "$db missing: configure $BUILD_DIR with CMake first"

# The files of our own tree in the compilation database (generated and test files excluded).
mapfile -t files < <(node -e '
    const db = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const root = process.argv[2] + "/";
    const seen = new Set();
    for (const e of db) {
        const f = e.file.startsWith("/") ? e.file : e.directory + "/" + e.file;
        const rel = f.startsWith(root) ? f.slice(root.length) : null;
        if (rel && /^(lib|services|tools|bench)\//.test(rel) && !seen.has(rel)) { seen.add(rel); console.log(rel); }
    }' "$db" "$REPO_ROOT" | sort)
((${#files[@]})) || die "no source files found in $db"
if [[ -n "${TIDY_ONLY:-}" ]]; then # a regex, to re-check some files quickly
    mapfile -t files < <(printf '%s\n' "${files[@]}" | grep -E "$TIDY_ONLY")
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
t0="$(now_s)"
# One clang-tidy per file, JOBS at a time; each writes its own report.
printf '%s\n' "${files[@]}" | xargs -P "${JOBS:-2}" -I{} sh -c \
    '"$0" -p "$1" --quiet "$2" >"$3/$(echo "$2" | tr / _).txt" 2>&1 || echo "$2" >>"$3/failed"' \
    "$TIDY" "$BUILD_DIR" {} "$out"
# Each failing file: its checks must all be listed for that file in the baseline, else it fails.
BASELINE="$REPO_ROOT/tests/sanitizers/tidy-baseline.txt"
nfail=0 nknown=0
if [[ -f "$out/failed" ]]; then
    for f in $(sort -u "$out/failed"); do
        rep="$out/$(echo "$f" | tr / _).txt"
        mapfile -t checks < <(grep -oE '\[[A-Za-z0-9.-]+(,-warnings-as-errors)?\]$' "$rep" | tr -d '[]' | cut -d, -f1 | sort -u)
        unknown=()
        for c in "${checks[@]}"; do
            grep -qF "$f|$c|" "$BASELINE" 2>/dev/null || unknown+=("$c")
        done
        if ((${#checks[@]} > 0 && ${#unknown[@]} == 0)); then
            nknown=$((nknown + 1))
            msg "known (tests/sanitizers/tidy-baseline.txt): $f: ${checks[*]}"
            continue
        fi
        nfail=$((nfail + 1))
        grep -E 'warning:|error:' -A3 "$rep" | grep -v 'warnings generated' || true
    done
fi
findings="$(cat "$out"/*.txt | grep -cE '(warning|error): ' || true)"
msg "${#files[@]} files in $(elapsed "$t0") s: $findings finding(s); $nfail file(s) failing, $nknown with known findings only"
((nfail == 0))
