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
# Every finding must be in the baseline, keyed by the finding itself: the file clang-tidy ran on,
# the check and the message ("FILE|CHECK|MESSAGE|reason", one line per finding; the same finding
# twice needs two lines). A new finding of a known kind in the same file (another leak in ws.c)
# therefore fails. Baseline lines no finding matched any more are printed, to be deleted.
BASELINE="$REPO_ROOT/tests/sanitizers/tidy-baseline.txt"
nfail=0 nknown=0
declare -A allowed=()
if [[ -f "$BASELINE" ]]; then
    while IFS='|' read -r bf bc bm _; do
        [[ -z "$bf" || "$bf" == \#* ]] && continue
        allowed["$bf|$bc|$bm"]=$((${allowed["$bf|$bc|$bm"]:-0} + 1))
    done <"$BASELINE"
fi
for f in "${files[@]}"; do
    rep="$out/$(echo "$f" | tr / _).txt"
    [[ -f "$rep" ]] || continue
    # "path:line:col: warning: MESSAGE [check,-warnings-as-errors]" -> "check|MESSAGE|path:line"
    while IFS='|' read -r c m where; do
        [[ -n "$c" ]] || continue
        k="$f|$c|$m"
        if ((${allowed["$k"]:-0} > 0)); then
            allowed["$k"]=$((allowed["$k"] - 1))
            nknown=$((nknown + 1))
            msg "known (tests/sanitizers/tidy-baseline.txt): $f: [$c] $m"
        else
            nfail=$((nfail + 1))
            msg "NEW finding in $f at $where: [$c] $m"
            grep -F -A3 "$where" "$rep" | head -n 6 >&2 || true
        fi
    done < <(sed -nE 's/^(.*:[0-9]+:[0-9]+): (warning|error): (.*) \[([A-Za-z0-9.,-]+)\]$/\4|\3|\1/p' "$rep" |
        sed -E 's/,-warnings-as-errors\|/|/')
    # a file clang-tidy could not process at all (no finding line) fails too
    if grep -qxF "$f" "$out/failed" 2>/dev/null && ! grep -qE '(warning|error): .*\[[A-Za-z0-9.,-]+\]$' "$rep"; then
        nfail=$((nfail + 1))
        msg "clang-tidy failed on $f without a finding:"
        tail -n 5 "$rep" >&2
    fi
done
if [[ -z "${TIDY_ONLY:-}" ]]; then
    for k in "${!allowed[@]}"; do
        ((allowed["$k"] > 0)) && msg "baseline line matched no finding (fixed? delete it): $k"
    done
fi
findings="$(cat "$out"/*.txt | grep -cE '(warning|error): ' || true)"
msg "${#files[@]} files in $(elapsed "$t0") s: $findings finding(s): $nknown known (baseline), $nfail new"
((nfail == 0))
