# shellcheck shell=bash
# tests/integration/lib/check.sh — what a bash integration test needs to be counted
# (tests/manifest.txt) and to poll correctly. Sourced by worker_stack.sh and the worker tests.
#
#   ok DESC / bad DESC        count a check: prints "ok   - DESC" / "FAIL - DESC"
#   check DESC CMD...         ok when CMD succeeds, bad otherwise
#   summary NAME              prints the line tests/manifest.mjs counts: "NAME: P passed, F failed"
#   wait_until SECS CMD...    runs CMD until it succeeds (or SECS pass); CMD runs anew each try,
#                             so never pass it "$(...)" — that is evaluated once, before the loop
#   wait_eval SECS 'EXPR'     evaluates the shell expression EXPR anew on every try
#   wait_sql SECS 'SQL' WANT  runs SQL (the caller's sql function) on every try until it prints WANT;
#                             on timeout says what it got last
#   free_port                 prints a TCP port free on 127.0.0.1 now (for a process a test starts)
#   jget FILE 'EXPR'          prints EXPR evaluated over d, the JSON in FILE (node), "" if undefined
#   $CHANGES_CHANNEL, $ALERTS_CHANNEL  the stack's Redis channels (tests/run-integration.sh sets
#                             names that are not the defaults; the defaults when run alone)
# Not for: starting stacks (worker_stack.sh) or node tests (lib/stack.mjs).

passed=${passed:-0}
failed=${failed:-0}
CHANGES_CHANNEL=${CHANGES_CHANNEL:-ea:changes}
ALERTS_CHANNEL=${ALERTS_CHANNEL:-ea:alerts}

say() { echo "# $*"; }
ok() { passed=$((passed + 1)); echo "ok   - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
check() {
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else bad "$desc"; fi
}
summary() { echo "$1: $passed passed, $failed failed"; }

wait_until() { # seconds command...
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS >= deadline)) && return 1
        sleep 0.2
    done
}
wait_eval() { # seconds 'shell expression'
    local deadline=$((SECONDS + $1))
    until eval "$2"; do
        ((SECONDS >= deadline)) && return 1
        sleep 0.2
    done
}
wait_sql() { # seconds 'SQL' expected
    local deadline=$((SECONDS + $1)) got=""
    until got="$(sql "$2" 2>/dev/null)" && [[ "$got" == "$3" ]]; do
        if ((SECONDS >= deadline)); then
            say "wait_sql: after $1 s the query gave '$got', expected '$3': $2"
            return 1
        fi
        sleep 0.2
    done
}

free_port() {
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
jget() { # file 'expression over d'
    node -e 'const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));const v=eval(process.argv[2]);process.stdout.write(v===undefined||v===null?"":typeof v==="object"?JSON.stringify(v):String(v))' "$1" "$2"
}
