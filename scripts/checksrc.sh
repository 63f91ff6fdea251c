#!/usr/bin/env bash
# scripts/checksrc.sh — bans unsafe C library calls in our C sources (after curl's checksrc):
# sprintf, vsprintf, strcpy, strcat, atoi, gets. Use snprintf/vsnprintf, a bounded copy
# (memcpy with a checked length, or ea_buf), and strtol/strtoll with end-pointer checks.
#
# Scans lib/ services/ tools/ bench/ (*.c, *.h); tests/ is exempt (test code may be terse).
# Comments are not checked: text after `//` and lines inside or starting a `/* ... */` block
# are skipped. A justified exception carries `checksrc:allow` on the same line, with the reason.
#
# Usage: scripts/checksrc.sh [PATH...]   (default: lib services tools bench)
# Prints one `file:line: banned NAME: code` per finding and exits 1 when there is any.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dirs=("$@")
((${#dirs[@]})) || dirs=(lib services tools bench)
existing=()
for d in "${dirs[@]}"; do [[ -e "$d" ]] && existing+=("$d"); done
((${#existing[@]})) || { echo "checksrc: nothing to scan"; exit 0; }

mapfile -t files < <(find "${existing[@]}" -type f \( -name '*.c' -o -name '*.h' \) | sort)

# awk: strip comments (block comments across lines, // to end of line) and string literals,
# then look for a banned name followed by `(` that is not part of a longer identifier.
findings="$(awk '
    FNR == 1 { inblock = 0 }
    {
        line = $0; code = ""
        allow = (line ~ /checksrc:allow/)
        while (length(line) > 0) {
            if (inblock) {
                p = index(line, "*/")
                if (p == 0) { line = ""; break }
                line = substr(line, p + 2); inblock = 0; continue
            }
            p1 = index(line, "/*"); p2 = index(line, "//"); p3 = index(line, "\"")
            p = 0; kind = ""
            if (p1 && (!p || p1 < p)) { p = p1; kind = "block" }
            if (p2 && (!p || p2 < p)) { p = p2; kind = "line" }
            if (p3 && (!p || p3 < p)) { p = p3; kind = "str" }
            if (!p) { code = code line; line = ""; break }
            code = code substr(line, 1, p - 1)
            if (kind == "block") { inblock = 1; line = substr(line, p + 2) }
            else if (kind == "line") { line = "" }
            else {
                # skip the string literal, honouring backslash escapes
                rest = substr(line, p + 1); i = 1
                while (i <= length(rest)) {
                    c = substr(rest, i, 1)
                    if (c == "\\") { i += 2; continue }
                    if (c == "\"") break
                    i++
                }
                code = code "\"\""; line = substr(rest, i + 1)
            }
        }
        if (allow) next
        if (match(code, /(^|[^A-Za-z0-9_])(sprintf|vsprintf|strcpy|strcat|atoi|gets)[ \t]*\(/)) {
            s = substr(code, RSTART, RLENGTH)
            gsub(/^[^A-Za-z_]/, "", s); sub(/[ \t]*\($/, "", s)
            t = $0; gsub(/^[ \t]+/, "", t)
            printf "%s:%d: banned %s: %s\n", FILENAME, FNR, s, t
        }
    }
' "${files[@]}")"

if [[ -n "$findings" ]]; then
    printf '%s\n' "$findings"
    echo "checksrc: $(printf '%s\n' "$findings" | wc -l) finding(s) in ${#files[@]} files"
    exit 1
fi
echo "checksrc: ${#files[@]} files clean (banned: sprintf vsprintf strcpy strcat atoi gets)"
