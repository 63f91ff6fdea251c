# shellcheck shell=bash
# scripts/lib.sh — helpers shared by the scripts in this folder: messages, running commands as
# root or as the PostgreSQL user, loading an untracked .env, process checks by pid.
#
# Sourced, never executed. Sets REPO_ROOT (the checkout this file lives in). Not for service
# configuration: the services read their own environment (see .env.example).

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT

msg() { printf '%s: %s\n' "${EA_SCRIPT:-$(basename "$0")}" "$*" >&2; }
die() { msg "error: $*"; exit 1; }

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root for: $* (not root and sudo is not installed)"
    fi
}

# Loads $REPO_ROOT/.env (never committed) once. Variables already set in the environment win,
# so `DATABASE_URL=... make up` overrides .env and the test stack's settings are not replaced.
# `load_dotenv --test` (make test and the suites): only port variables (*_PORT) and JOBS are read,
# every other line is ignored and named — a developer's .env (GRAPHQL_INTROSPECTION=false,
# SKIP_PHASES, KEY_CACHE_TTL_S, ...) must not change what the tests test.
load_dotenv() {
    [[ -n "${EA_DOTENV_LOADED:-}" ]] && return 0
    export EA_DOTENV_LOADED=1
    local f="$REPO_ROOT/.env" line key test_mode=0 ignored=()
    [[ "${1:-}" == --test ]] && test_mode=1
    [[ -f "$f" ]] || return 0
    while IFS= read -r line || [[ -n "$line" ]]; do
        line="${line#"${line%%[![:space:]]*}"}"
        [[ -z "$line" || "$line" == \#* ]] && continue
        line="${line#export }"
        key="${line%%=*}"
        [[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ && "$line" == *=* ]] || {
            msg "warning: ignoring malformed line in .env: $line"
            continue
        }
        if ((test_mode)) && [[ ! "$key" =~ _PORT$ && "$key" != JOBS ]]; then
            ignored+=("$key")
            continue
        fi
        if [[ -z "${!key+x}" ]]; then
            eval "export $line"
        fi
    done <"$f"
    ((${#ignored[@]} == 0)) || msg ".env: ignoring ${ignored[*]} (tests read only *_PORT and JOBS from .env)"
}

# True under a CI service (CI=true, set by GitHub Actions, GitLab CI and most others): skips are
# failures there and developer-only switches (SKIP_PHASES, TEST_FILTER, ...) are ignored.
ci_mode() { [[ "${CI:-}" =~ ^([Tt][Rr][Uu][Ee]|1|[Yy][Ee][Ss])$ ]]; }

# Prints "STATE PGID" of a pid from /proc/PID/stat (fields 3 and 5, after the "(comm)" that may
# itself hold spaces). Pure bash: it runs in polling loops over every process.
proc_state_pgid() {
    local line st
    read -r line 2>/dev/null <"/proc/$1/stat" || return 1
    read -r -a st <<<"${line##*) }"
    printf '%s %s' "${st[0]}" "${st[2]}"
}

# True when pid is a live process (zombies count as dead).
pid_alive() {
    local pid="$1" sp
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    sp="$(proc_state_pgid "$pid")" || return 1
    [[ -n "$sp" && "$sp" != Z* ]]
}

# True when pid is alive and its command line mentions `name` (guards against pid reuse; the
# whole command line because redis and node rewrite their process titles).
pid_is() {
    local pid="$1" name="$2" cmd
    pid_alive "$pid" || return 1
    cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmd" == *"$name"* ]]
}

# Reads the pid stored in a pid file (empty when the file is missing or malformed).
read_pid() {
    local f="$1" pid=""
    if [[ -f "$f" ]]; then read -r pid <"$f" 2>/dev/null || true; fi
    [[ "$pid" =~ ^[0-9]+$ ]] && printf '%s' "$pid"
    return 0
}

# True when something accepts TCP connections on 127.0.0.1:port.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Seconds since the epoch with milliseconds, for timings.
now_s() { date +%s.%3N; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }
