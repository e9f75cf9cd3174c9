#!/usr/bin/env bash
# Trident's load benchmark in one command (what it measures and why: BENCHMARKS.md).
#
#   bench/load.sh [--smoke] [--db sqlite|postgres|all] [--keys N[,N...]]
#                 [--duration SECONDS] [--connections C] [--repeat R] [--perf]
#                 [--debug] [--no-build] [--only all|login|change]
#                 [--churn C[,C...]] [--working-set N] [--cache-mb MB]
#
# For each database and each number of API keys: a fresh database (a temporary
# SQLite file, or a PostgreSQL database created here and dropped on exit), a
# `trident serve` on a free loopback port, seeding through the HTTP API and in
# bulk into the database (bench/seed.py), then wrk against each endpoint: one
# wrk thread, because the generator shares the machine's cores with the server.
# Each figure is requests/s, p50 and p99, and its ratio to GET /healthz of the
# same server; the server's peak RSS (VmHWM) closes each case. The same
# database is then served again with the credential cache off, for the cost of
# a cold lookup.
#
#   default   SQLite and PostgreSQL, 1,000 and 1,000,000 keys, 10 s per figure (~15 min)
#   --smoke   SQLite, 200 keys, 2 s per figure: proves the benchmark works (CI)
#   --perf    also profiles the server during each figure (perf, cpu-clock samples)
#   --debug   the dev build instead of the release build (smoke only: figures mean nothing)
#   --only login  only /healthz (the ratios' baseline) and the login and overload
#             figures, with the peak RSS before and after them, on the first key
#             count; no scale or cache-off cases (~1.5 min per database)
#   --only change  the verify path while credentials change (~6 min per database):
#             20,000 keys introspected while C other keys a second are issued and
#             revoked (C = 10, then the --churn sweep), each as a ratio to the same
#             run without churn; the cold path (cache off); a working set larger
#             than the cache (--working-set keys, default 1,000,000, picked
#             uniformly at random, the cache sized by --cache-mb to hold about a
#             tenth of them); on PostgreSQL, a second node and the time a
#             revocation on one takes to reach the other (bench/churn.py)
#
# Loopback only, bounded in time (every step has a limit), and it cleans up
# after itself: the server is killed and the PostgreSQL database dropped on exit.
# Needs: cargo, wrk, python3, curl; psql for PostgreSQL; perf for --perf.
# PostgreSQL: TRIDENT_BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres;
# its query, e.g. ?sslmode=disable, is kept for the databases the script creates).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

SMOKE=false
DBS="sqlite postgres"
KEY_COUNTS="1000 1000000"
DURATION=10
WARMUP=3
CONNECTIONS=32
REPEAT=1
PERF=false
PROFILE=release
BUILD=true
ONLY=all
CHURN_SWEEP="1 50"
WORKING_SET=1000000
CACHE_MB=""
PG_URL="${TRIDENT_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    exit "${1:-0}"
}

while [[ $# -gt 0 ]]; do
    case "$1" in
    --smoke) SMOKE=true DBS=sqlite KEY_COUNTS=200 DURATION=2 WARMUP=1 ;;
    --db)
        case "${2:-}" in
        sqlite | postgres) DBS=$2 ;;
        all) DBS="sqlite postgres" ;;
        *) usage 2 ;;
        esac
        shift
        ;;
    --keys) KEY_COUNTS=${2//,/ } && shift ;;
    --duration) DURATION=$2 && shift ;;
    --connections) CONNECTIONS=$2 && shift ;;
    --repeat) REPEAT=$2 && shift ;;
    --perf) PERF=true ;;
    --debug) PROFILE=debug ;;
    --no-build) BUILD=false ;;
    --only)
        case "${2:-}" in
        all | login | change) ONLY=$2 ;;
        *) usage 2 ;;
        esac
        shift
        ;;
    --churn) CHURN_SWEEP=${2//,/ } && shift ;;
    --working-set) WORKING_SET=$2 && shift ;;
    --cache-mb) CACHE_MB=$2 && shift ;;
    -h | --help) usage 0 ;;
    *) usage 2 ;;
    esac
    shift
done

die() {
    echo "bench: $*" >&2
    exit 1
}

for tool in wrk python3 curl; do
    command -v "$tool" >/dev/null || die "$tool is required (Debian: apt-get install $tool)"
done
[[ " $DBS " == *" postgres "* ]] && ! command -v psql >/dev/null && die "psql is required for --db postgres"
$PERF && ! command -v perf >/dev/null && die "perf is required for --perf (Debian: apt-get install linux-perf)"

CORES=$(nproc)
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="${TRIDENT_BENCH_OUT:-$TARGET_DIR/bench/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
RESULTS="$OUT/results.tsv"
REPORT="$OUT/results.md"
printf 'case\tfigure\trps\tp50_ms\tp99_ms\tratio\tcpu_us_per_req\tnon2xx\tcodes\tspread\n' >"$RESULTS"
: >"$REPORT"
FAILURES=0

# --- cleanup: whatever happens, no server and no database are left behind ------

SERVER_PID=""
NODE_B_PID=""
PG_DB=""
WORK=$(mktemp -d "${TMPDIR:-/tmp}/trident-bench.XXXXXX")

stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}

drop_pg_database() {
    if [[ -n "$PG_DB" ]]; then
        timeout 60 psql "$PG_URL" -Xqc "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
        PG_DB=""
    fi
}

stop_node_b() {
    if [[ -n "$NODE_B_PID" ]]; then
        kill -TERM "$NODE_B_PID" 2>/dev/null || true
        wait "$NODE_B_PID" 2>/dev/null || true
    fi
    NODE_B_PID=""
}

cleanup() {
    local status=$?
    stop_node_b
    stop_server
    drop_pg_database
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build --------------------------------------------------------------------

if [[ $PROFILE == release ]]; then
    BIN="$TARGET_DIR/release/trident"
    $BUILD && { timeout 30m cargo build --release --bin trident || die "cargo build --release failed"; }
else
    BIN="$TARGET_DIR/debug/trident"
    $BUILD && { timeout 30m cargo build --bin trident || die "cargo build failed"; }
fi
[[ -x "$BIN" ]] || die "no binary at $BIN"

# --- the server ---------------------------------------------------------------

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# (`--admin-password=…` below: a password may begin with "-", which argparse would take for an option)
ADMIN_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr "+/" "-_")
MASTER_KEY=$(head -c 32 /dev/urandom | base64)

# $1: database URL, $2: credential cache (true/false), $3: log file; starts a
# server on a free port and prints its PID and base URL.
launch_server() {
    local port base pid
    port=$(free_port)
    base="http://127.0.0.1:$port"
    # Rate limits are raised so that they do not cap the figures (login measures
    # argon2, introspection measures introspection); the access log is off
    # (TRIDENT_BENCH_LOG to change it) so that every figure pays the same.
    env TRIDENT_DATABASE_URL="$1" \
        TRIDENT_BIND="127.0.0.1:$port" \
        TRIDENT_ISSUER="${ISSUER:-$base}" \
        TRIDENT_ADMIN_USERNAME=bench-admin \
        TRIDENT_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
        TRIDENT_MASTER_KEY="$MASTER_KEY" \
        TRIDENT_CREDENTIAL_CACHE="$2" \
        TRIDENT_CREDENTIAL_CACHE_MB="${CACHE_MB:-64}" \
        TRIDENT_LOGIN_ATTEMPTS_PER_MINUTE=100000000 \
        TRIDENT_INTROSPECTIONS_PER_MINUTE=1000000000 \
        TRIDENT_LOG="${TRIDENT_BENCH_LOG:-warn}" \
        "$BIN" serve >>"$3" 2>&1 &
    pid=$!
    local deadline=$((SECONDS + 60))
    until curl -fsS -o /dev/null "$base/healthz" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || die "the server exited; see $3"
        ((SECONDS < deadline)) || die "the server did not answer within 60s; see $3"
        sleep 0.2
    done
    echo "$pid $base"
}

start_server() {
    local launched
    ISSUER=""
    launched=$(launch_server "$@")
    SERVER_PID=${launched%% *}
    BASE=${launched#* }
}

# A second node on the same database, issuing as the first (one cluster, one issuer).
start_node_b() {
    local launched
    ISSUER=$BASE
    launched=$(launch_server "$@")
    NODE_B_PID=${launched%% *}
    NODE_B_BASE=${launched#* }
    ISSUER=""
}

# User + system CPU time of the server so far, in clock ticks.
server_cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"
}

peak_rss_mb() {
    awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$SERVER_PID/status" 2>/dev/null || echo "?"
}

# --- measuring ----------------------------------------------------------------

CASE=""
CASE_DIR=""
HEALTHZ_RPS=""

# The argon2id ceiling of this machine, from `cargo bench --bench hot_path -- argon2`.
argon2_ceiling() {
    local estimates="$TARGET_DIR/criterion/argon2id_verify/parallel_per_core/new/estimates.json"
    [[ -f "$estimates" ]] || return 0
    python3 - "$estimates" "$CORES" <<'EOF'
import json, sys
ns = json.load(open(sys.argv[1]))["mean"]["point_estimate"]
print(f"{int(sys.argv[2]) * 1e9 / ns:.1f}")
EOF
}

# measure NAME CONNECTIONS KIND [VAR=value ...]: wrk with bench/wrk.lua configured by the
# assignments; KIND is `ok` (every answer must be 2xx) or `overload` (counts statuses).
measure() {
    local name=$1 connections=$2 kind=$3
    shift 3
    local -a config=("$@")
    [[ $kind == overload ]] && config+=(BENCH_COUNT_STATUS=1)
    local wrk_cmd=(wrk -t1 -c"$connections" --timeout 10s -s "$ROOT/bench/wrk.lua" "$BASE")
    env "${config[@]}" timeout $((WARMUP + 30)) "${wrk_cmd[@]}" -d"${WARMUP}s" >"$CASE_DIR/$name.warmup.txt" 2>&1 ||
        die "wrk failed for $name; see $CASE_DIR/$name.warmup.txt"
    # Requests cut off by the end of the warm-up finish before the measurement starts.
    sleep 1
    local run lines=()
    for run in $(seq 1 "$REPEAT"); do
        local log="$CASE_DIR/$name.$run.txt" perf_pid=""
        if $PERF && [[ $run == 1 ]]; then
            perf record -q -e cpu-clock -F 999 -g -p "$SERVER_PID" -o "$CASE_DIR/$name.perf.data" \
                -- sleep "$DURATION" >/dev/null 2>&1 &
            perf_pid=$!
        fi
        local cpu_before cpu_after
        cpu_before=$(server_cpu_ticks)
        env "${config[@]}" timeout $((DURATION + 30)) "${wrk_cmd[@]}" -d"${DURATION}s" >"$log" 2>&1 ||
            die "wrk failed for $name; see $log"
        cpu_after=$(server_cpu_ticks)
        if [[ -n "$perf_pid" ]]; then
            wait "$perf_pid" || true
            perf report -i "$CASE_DIR/$name.perf.data" --stdio --no-children --percent-limit 1.5 \
                --sort symbol -g none 2>/dev/null | grep -v '^$' >"$CASE_DIR/$name.perf.txt" || true
        fi
        lines+=("$(grep '^BENCH_RESULT' "$log" || die "no result from wrk for $name; see $log") cpu_ticks=$((cpu_after - cpu_before))")
    done
    # The median run by requests/s; the spread of all runs beside it.
    local row
    row=$(printf '%s\n' "${lines[@]}" | CLK_TCK=$(getconf CLK_TCK) python3 -c '
import os, sys
runs = []
for line in sys.stdin:
    fields = dict(f.split("=", 1) for f in line.split()[1:])
    runs.append(fields)
runs.sort(key=lambda r: float(r["rps"]))
m = runs[len(runs) // 2]
spread = "-" if len(runs) == 1 else "%.0f-%.0f" % (float(runs[0]["rps"]), float(runs[-1]["rps"]))
ok = m["rps"]
if m["codes"] != "-":
    codes = dict(c.split(":") for c in m["codes"].split(","))
    ok = "%.1f" % (int(codes.get("200", 0)) / float(m["seconds"]))
# CPU the server spent per request: robust where wall-clock rates are not (shared cores).
cpu_us = int(m["cpu_ticks"]) * 1e6 / int(os.environ["CLK_TCK"]) / max(int(m["requests"]), 1)
print("\t".join([ok, "%.2f" % (int(m["p50_us"]) / 1000), "%.2f" % (int(m["p99_us"]) / 1000),
                 str(int(m["non2xx"]) + int(m["socket_errors"]) + int(m["timeouts"])), m["codes"], spread,
                 "%.0f" % cpu_us]))
')
    local rps p50 p99 bad codes spread cpu ratio
    IFS=$'\t' read -r rps p50 p99 bad codes spread cpu <<<"$row"
    if [[ $name == healthz ]]; then
        HEALTHZ_RPS=$rps
    fi
    ratio=$(python3 -c "print('%.1f %%' % (100 * $rps / $HEALTHZ_RPS))")
    if [[ $kind == ok && $bad != 0 ]]; then
        echo "bench: $CASE $name: $bad requests failed (non-2xx or socket errors); see $CASE_DIR/$name.1.txt" >&2
        FAILURES=$((FAILURES + 1))
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$CASE" "$name" "$rps" "$p50" "$p99" "$ratio" "$cpu" "$bad" "$codes" "$spread" >>"$RESULTS"
    printf '| %-30s | %9s | %7s | %8s | %8s | %7s | %s |\n' "$name (c=$connections)" "$rps" "$p50" "$p99" "$ratio" "$cpu" \
        "$([[ $codes != - ]] && echo "statuses $codes" || echo "failed: $bad")$([[ $spread != - ]] && echo "; runs $spread req/s")" |
        tee -a "$REPORT"
}

table_header() {
    printf '\n### %s\n\n| figure | req/s | p50 ms | p99 ms | vs /healthz | server CPU µs/req | notes |\n|---|---:|---:|---:|---:|---:|---|\n' "$1" |
        tee -a "$REPORT"
}

# The figures, as wrk configurations.
FORM="Content-Type: application/x-www-form-urlencoded"
healthz() { measure healthz "$CONNECTIONS" ok BENCH_METHOD=GET BENCH_PATH=/healthz; }
introspect_api_key() {
    measure introspect_api_key "$CONNECTIONS" ok BENCH_METHOD=POST BENCH_PATH=/oauth/introspect \
        BENCH_HEADERS="Authorization: $RS_BASIC"$'\n'"$FORM" BENCH_BODY='token={KEY}' BENCH_KEYS_FILE="$KEYS_FILE"
}
introspect_pat() {
    measure introspect_pat "$CONNECTIONS" ok BENCH_METHOD=POST BENCH_PATH=/oauth/introspect \
        BENCH_HEADERS="Authorization: $RS_BASIC"$'\n'"$FORM" BENCH_BODY="token=$PAT"
}
introspect_jwt() {
    measure introspect_m2m_jwt "$CONNECTIONS" ok BENCH_METHOD=POST BENCH_PATH=/oauth/introspect \
        BENCH_HEADERS="Authorization: $RS_BASIC"$'\n'"$FORM" BENCH_BODY="token=$JWT"
}
me_api_key() {
    measure me_api_key "$CONNECTIONS" ok BENCH_METHOD=GET BENCH_PATH=/api/v1/me \
        BENCH_HEADERS='Authorization: Api-Key {KEY}' BENCH_KEYS_FILE="$KEYS_FILE"
}
client_credentials() {
    measure client_credentials "$CONNECTIONS" ok BENCH_METHOD=POST BENCH_PATH=/oauth/token \
        BENCH_HEADERS="Authorization: $M2M_BASIC"$'\n'"$FORM" BENCH_BODY='grant_type=client_credentials'
}
# $1: name, $2: connections, $3: kind.
login() {
    measure "$1" "$2" "$3" BENCH_METHOD=POST BENCH_PATH=/api/v1/auth/token \
        BENCH_HEADERS='Content-Type: application/json' \
        BENCH_BODY="{\"username\":\"$USER_NAME\",\"password\":\"$USER_PASSWORD\"}"
}

# The login figures: at cores connections (every request admitted), then 4 × and
# 16 × cores (the argon2 queue holds 4 × permits, so the last one sheds).
login_figures() {
    echo "peak RSS of the server before the login figures (VmHWM): $(peak_rss_mb) MB" | tee -a "$REPORT"
    login login "$CORES" ok
    local ceiling
    ceiling=$(argon2_ceiling)
    login "login_overload_x4" $((CORES * 4)) overload
    login "login_overload_x16" $((CORES * 16)) overload
    if [[ -n "$ceiling" ]]; then
        echo "argon2id ceiling of this machine (cargo bench): $ceiling logins/s" | tee -a "$REPORT"
    else
        echo "argon2id ceiling: run \`cargo bench --bench hot_path -- argon2\` first to compare" | tee -a "$REPORT"
    fi
}

record_peak_rss() {
    local rss
    rss=$(peak_rss_mb)
    echo "peak RSS of the server (VmHWM): $rss MB" | tee -a "$REPORT"
    printf '%s\tpeak_rss_mb\t%s\t\t\t\t\t\t\t\n' "$CASE" "$rss" >>"$RESULTS"
}

finish_case() {
    record_peak_rss
    stop_server
    drop_pg_database
}

# --- the cases ----------------------------------------------------------------

# run_case DB KEYS FULL: FULL=true measures every figure, otherwise the scale subset.
run_case() {
    local db=$1 keys=$2 full=$3 url
    CASE="$db, $keys keys"
    CASE_DIR="$OUT/$db-$keys"
    mkdir -p "$CASE_DIR"
    if [[ $db == sqlite ]]; then
        mkdir -p "$WORK/$db-$keys"
        url="sqlite://$WORK/$db-$keys/trident.db?mode=rwc"
    else
        PG_DB="trident_bench_$(date +%s)_$$"
        timeout 60 psql "$PG_URL" -Xqc "CREATE DATABASE \"$PG_DB\"" >/dev/null || die "cannot create a database at $PG_URL"
        # The new database on the same server, with the URL's parameters (sslmode…).
        local base="${PG_URL%%\?*}" params=""
        [[ $PG_URL == *\?* ]] && params="?${PG_URL#*\?}"
        url="${base%/*}/$PG_DB$params"
    fi
    echo "bench: === $CASE ===" >&2
    start_server "$url" true "$CASE_DIR/server.log"
    local seeded
    seeded=$(timeout 15m python3 "$ROOT/bench/seed.py" --base-url "$BASE" --database-url "$url" \
        --admin-username bench-admin --admin-password="$ADMIN_PASSWORD" --keys "$keys" \
        --sample 1000 --sample-out "$CASE_DIR/keys.txt") || die "seeding failed"
    eval "$seeded"

    table_header "$CASE (credential cache on, as deployed)"
    healthz
    if [[ $ONLY == login ]]; then
        login_figures
        finish_case
        return
    fi
    introspect_api_key
    me_api_key
    if $full; then
        introspect_pat
        introspect_jwt
        client_credentials
        login_figures
    fi
    record_peak_rss
    stop_server

    # The same database with the cache off: every request pays its lookups.
    CASE="$db, $keys keys, cache off"
    CASE_DIR="$OUT/$db-$keys-cache-off"
    mkdir -p "$CASE_DIR"
    start_server "$url" false "$CASE_DIR/server.log"
    table_header "$CASE (TRIDENT_CREDENTIAL_CACHE=false: every request reads the database)"
    healthz
    introspect_api_key
    me_api_key
    if $full; then
        introspect_pat
        introspect_jwt
    fi
    finish_case
}

# --- the verify path while credentials change (--only change) ------------------

# seed DB_URL KEYS SAMPLE: seeds the running server; the sample goes to wrk.
seed() {
    local seeded
    seeded=$(timeout 30m python3 "$ROOT/bench/seed.py" --base-url "$BASE" --database-url "$1" \
        --admin-username bench-admin --admin-password="$ADMIN_PASSWORD" --keys "$2" \
        --sample "$3" --sample-out "$CASE_DIR/keys.txt") || die "seeding failed"
    eval "$seeded"
}

# new_database DB TAG: a fresh database, its URL in DB_URL.
new_database() {
    if [[ $1 == sqlite ]]; then
        mkdir -p "$WORK/$2"
        DB_URL="sqlite://$WORK/$2/trident.db?mode=rwc"
    else
        PG_DB="trident_bench_$(date +%s)_$$"
        timeout 60 psql "$PG_URL" -Xqc "CREATE DATABASE \"$PG_DB\"" >/dev/null || die "cannot create a database at $PG_URL"
        local base="${PG_URL%%\?*}" params=""
        [[ $PG_URL == *\?* ]] && params="?${PG_URL#*\?}"
        DB_URL="${base%/*}/$PG_DB$params"
    fi
}

# cached_entries: how many credentials the server's inspection cache holds now.
cached_entries() {
    curl -fsS "$BASE/metrics" | awk '/^trident_credential_cache_entries\{cache="inspections"\}/ { print $2 }'
}

# warm_cache N: introspects the sample until the cache holds N credentials (or
# stops growing), so that a steady-state figure does not measure the cold fill.
warm_cache() {
    local want=$1 held=0 before=-1 round=0
    while ((held < want * 99 / 100 && held > before && round < 30)); do
        before=$held
        env BENCH_METHOD=POST BENCH_PATH=/oauth/introspect BENCH_HEADERS="Authorization: $RS_BASIC"$'\n'"$FORM" \
            BENCH_BODY='token={KEY}' BENCH_KEYS_FILE="$KEYS_FILE" \
            timeout 60 wrk -t1 -c"$CONNECTIONS" --timeout 10s -s "$ROOT/bench/wrk.lua" "$BASE" -d5s >/dev/null 2>&1 ||
            die "wrk failed while warming the cache"
        held=$(cached_entries)
        round=$((round + 1))
    done
    echo "cache warmed: $held entries for $want keys" | tee -a "$REPORT"
}

# settle SECONDS: keeps introspecting the sample, so that the entries stored
# together while warming have been refetched at spread-out times (entries live
# 30-60 s) and the figures that follow see the steady state, not the first refill.
settle() {
    env BENCH_METHOD=POST BENCH_PATH=/oauth/introspect BENCH_HEADERS="Authorization: $RS_BASIC"$'\n'"$FORM" \
        BENCH_BODY='token={KEY}' BENCH_KEYS_FILE="$KEYS_FILE" \
        timeout $(($1 + 30)) wrk -t1 -c"$CONNECTIONS" --timeout 10s -s "$ROOT/bench/wrk.lua" "$BASE" -d"$1s" >/dev/null 2>&1 ||
        die "wrk failed while settling"
}

# introspect_under_churn C: introspect_api_key while C keys a second are issued and revoked.
introspect_under_churn() {
    local rate=$1 log="$CASE_DIR/churn-$1.txt"
    timeout $((WARMUP + DURATION + 60)) python3 "$ROOT/bench/churn.py" keys --base-url "$BASE" \
        --user-key "$USER_KEY" --rate "$rate" --seconds $((WARMUP + 1 + DURATION)) >"$log" 2>&1 &
    local churn_pid=$!
    measure "introspect_api_key_churn_$rate" "$CONNECTIONS" ok BENCH_METHOD=POST BENCH_PATH=/oauth/introspect \
        BENCH_HEADERS="Authorization: $RS_BASIC"$'\n'"$FORM" BENCH_BODY='token={KEY}' BENCH_KEYS_FILE="$KEYS_FILE"
    wait "$churn_pid" || die "churn failed; see $log"
    local achieved
    achieved=$(grep '^CHURN_RESULT' "$log" || die "no churn result; see $log")
    local rps
    rps=$(awk -F'\t' -v c="$CASE" -v n="introspect_api_key_churn_$rate" '$1 == c && $2 == n { v = $3 } END { print v }' "$RESULTS")
    local ratio
    ratio=$(python3 -c "print('%.2f' % ($rps / $STEADY_RPS))")
    echo "churn $rate/s: ${achieved#CHURN_RESULT }; throughput vs the same run without churn: $ratio" | tee -a "$REPORT"
    printf '%s\tchurn_ratio_%s\t%s\t\t\t\t\t\t\t\n' "$CASE" "$rate" "$ratio" >>"$RESULTS"
}

change_case() {
    local db=$1 url keys=20000
    CASE="$db, $keys keys, churn"
    CASE_DIR="$OUT/$db-churn"
    mkdir -p "$CASE_DIR"
    new_database "$db" "$db-churn"
    url=$DB_URL
    echo "bench: === $CASE ===" >&2
    start_server "$url" true "$CASE_DIR/server.log"
    seed "$url" "$keys" "$keys"
    table_header "$CASE (a $keys-key working set; C keys a second issued and revoked meanwhile)"
    warm_cache "$keys"
    $SMOKE || settle 75
    healthz
    introspect_api_key
    STEADY_RPS=$(awk -F'\t' -v c="$CASE" '$1 == c && $2 == "introspect_api_key" { v = $3 } END { print v }' "$RESULTS")
    local rate
    for rate in $(printf '%s\n' 10 $CHURN_SWEEP | awk '!seen[$0]++'); do
        introspect_under_churn "$rate"
    done
    if [[ $db == postgres ]]; then
        start_node_b "$url" true "$CASE_DIR/node-b.log"
        local cross
        cross=$(timeout 10m python3 "$ROOT/bench/churn.py" crossnode --base-url "$BASE" --other-url "$NODE_B_BASE" \
            --user-key "$USER_KEY" --rs-basic "$RS_BASIC" --rounds 200) || die "the cross-node run failed"
        echo "two nodes, revoked on A, refused by B: ${cross#CROSSNODE_RESULT }" | tee -a "$REPORT"
        printf '%s\tcrossnode\t%s\t\t\t\t\t\t\t\n' "$CASE" "${cross#CROSSNODE_RESULT }" >>"$RESULTS"
        stop_node_b
    fi
    record_peak_rss
    stop_server

    CASE="$db, $keys keys, cache off"
    CASE_DIR="$OUT/$db-churn-cache-off"
    mkdir -p "$CASE_DIR"
    start_server "$url" false "$CASE_DIR/server.log"
    table_header "$CASE (TRIDENT_CREDENTIAL_CACHE=false: every request reads the database)"
    healthz
    introspect_api_key
    me_api_key
    finish_case

    CASE="$db, $WORKING_SET keys, uniform random"
    CASE_DIR="$OUT/$db-working-set"
    mkdir -p "$CASE_DIR"
    new_database "$db" "$db-working-set"
    url=$DB_URL
    echo "bench: === $CASE ===" >&2
    # About 750 API keys a MiB (the cache's measured cost per entry, tests/cache_memory.rs).
    local cache_mb=${CACHE_MB:-$((WORKING_SET / 10 / 750 + 1))}
    CACHE_MB=$cache_mb start_server "$url" true "$CASE_DIR/server.log"
    seed "$url" "$WORKING_SET" "$WORKING_SET"
    table_header "$CASE (cache ${cache_mb} MiB, about a tenth of the keys)"
    healthz
    measure introspect_api_key_random "$CONNECTIONS" ok BENCH_METHOD=POST BENCH_PATH=/oauth/introspect \
        BENCH_HEADERS="Authorization: $RS_BASIC"$'\n'"$FORM" BENCH_BODY='token={KEY}' BENCH_KEYS_FILE="$KEYS_FILE" BENCH_RANDOM=1
    curl -fsS "$BASE/metrics" | grep '^trident_credential_cache_.*cache="inspections"' | sed 's/^/    /' | tee -a "$REPORT"
    finish_case
}

{
    echo "# Trident load benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')), $(free -g | awk '/^Mem:/ {print $2}') GiB;" \
        "build: $PROFILE; wrk: 1 thread, $CONNECTIONS connections unless noted, ${DURATION}s per figure after ${WARMUP}s of warm-up," \
        "median of $REPEAT run(s); server: $CORES workers, defaults otherwise (rate limits raised, access log off)."
    echo "Commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo ' (src/ modified)');" \
        "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
} | tee -a "$REPORT"

first_keys=${KEY_COUNTS%% *}
# The login figures do not depend on the number of keys: one case per database.
[[ $ONLY == login ]] && KEY_COUNTS=$first_keys
for db in $DBS; do
    if [[ $ONLY == change ]]; then
        change_case "$db"
        continue
    fi
    for keys in $KEY_COUNTS; do
        run_case "$db" "$keys" "$([[ $keys == "$first_keys" ]] && echo true || echo false)"
    done
done

echo | tee -a "$REPORT"
echo "bench: results in $OUT (results.md, results.tsv, and the wrk output of each figure)" >&2
if ((FAILURES > 0)); then
    die "$FAILURES figure(s) had failed requests"
fi
$SMOKE && echo "bench: smoke run passed" >&2
exit 0
