# shellcheck shell=bash
# tests/load/lib.sh — helpers shared by tests/load/run.sh and tests/chaos/run.sh: start a fresh
# stack of their own (scripts/stack.sh with its own STACK_DIR), create API keys and metrics with
# analytics-admin, run SQL, read the consumer lag. Sourced, never executed.
#
# Ports: the integration suite's TEST_* variables (defaults 55433, 56380, 13001-13003), so one
# set of ports serves `make test` (the suites run one after another); override them to run beside
# another stack. STACK_DIR must be set by the caller before sourcing.

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
load_dotenv

: "${STACK_DIR:?STACK_DIR must be set}"
[[ "$STACK_DIR" == /* ]] || STACK_DIR="$REPO_ROOT/$STACK_DIR"
export STACK_DIR
export PG_PORT="${TEST_PG_PORT:-55433}" REDIS_PORT="${TEST_REDIS_PORT:-56380}"
export INGEST_PORT="${TEST_INGEST_PORT:-13001}" GRAPHQL_PORT="${TEST_GRAPHQL_PORT:-13002}"
export WORKER_PORT="${TEST_WORKER_PORT:-13003}"
BIN_DIR="${BIN_DIR:-build/bin}"
[[ "$BIN_DIR" == /* ]] || BIN_DIR="$REPO_ROOT/$BIN_DIR"
export BIN_DIR
# The services must not see an outer stack's URLs: stack.sh would treat them as external. The
# stack starts empty (no sample data): the suites compare with what they send themselves.
unset DATABASE_URL REDIS_URL KAFKA_BROKERS OIDC_DEV_PORT OIDC_ISSUER OIDC_CLIENT_ID OIDC_CLIENT_SECRET
export SAMPLE_DAYS=0

stack() { bash "$REPO_ROOT/scripts/stack.sh" "$@"; }

# Starts a fresh stack (any old one under STACK_DIR is stopped and deleted) and loads stack.env.
stack_fresh() {
    stack down >/dev/null 2>&1 || true
    [[ -f "$STACK_DIR/pg.path" ]] && rm -rf -- "$(cat "$STACK_DIR/pg.path")"
    rm -rf -- "$STACK_DIR"
    stack up >"$STACK_DIR.up.log" 2>&1 || { cat "$STACK_DIR.up.log" >&2; return 1; }
    rm -f "$STACK_DIR.up.log"
    # shellcheck source=/dev/null
    source "$STACK_DIR/stack.env"
}

admin() { (cd "$REPO_ROOT" && "$BIN_DIR/analytics-admin" "$@"); }

# Prints a new API key (its last output line). Usage: new_key TENANT SCOPES RATE_PER_MIN
new_key() {
    admin key create --tenant "$1" --scopes "$2" --rate-limit "$3" 2>/dev/null | awk 'NF { k = $0 } END { print k }'
}

sql() {
    psql "$DATABASE_URL" -X -q -At -v ON_ERROR_STOP=1 -c "$1" # the URL carries the password
}

# Kafka end offsets of every partition of the topic, summed (empty when the broker does not
# answer within 5 s).
kafka_end_offsets() {
    timeout 5 kcat -b "$KAFKA_BROKERS" -Q -t "${KAFKA_TOPIC:-events}:0:-1" -t "${KAFKA_TOPIC:-events}:1:-1" \
        -t "${KAFKA_TOPIC:-events}:2:-1" 2>/dev/null | awk '/offset/ { s += $NF; n++ } END { if (n == 3) print s }'
}

# Consumer lag in messages: Kafka end offsets minus the offsets committed in PostgreSQL (the
# worker keeps its offsets there, in the batch transaction). Empty when either is unreachable.
consumer_lag() {
    local end committed
    end="$(kafka_end_offsets)" || return 0
    committed="$(sql 'SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets' 2>/dev/null)" || return 0
    [[ -n "$end" && -n "$committed" ]] && echo $((end - committed))
    return 0
}

# Percentile table row: name, summary JSON file, target ms for the p95 (or "-").
# Prints: name  sent ok errors 5xx achieved p50 p95 p99 max target verdict
print_row() {
    node -e '
        const [name, file, target, pct] = process.argv.slice(1);
        const s = JSON.parse(require("fs").readFileSync(file, "utf8"));
        const st = s.status || {};
        const x5 = Object.entries(st).filter(([c]) => c >= 500).reduce((a, [, n]) => a + n, 0);
        const p = s[pct + "_ms"];
        const verdict = target === "-" ? "" : (p < Number(target) ? "meets" : "MISSES");
        const f = (v) => (v === undefined || v === null ? "-" : Number(v).toFixed(1));
        console.log([name.padEnd(18), String(s.sent).padStart(7), String(s.ok).padStart(7),
            String(s.errors).padStart(6), String(x5).padStart(5), f(s.achieved_rate).padStart(8),
            f(s.p50_ms).padStart(8), f(s.p95_ms).padStart(8), f(s.p99_ms).padStart(8),
            f(s.max_ms).padStart(9), ("  " + pct + " < " + target + " ms").padEnd(18), verdict].join(" "));
    ' "$@"
}
