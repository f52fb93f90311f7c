# Shared helpers for the benchmark scripts (sourced, not run).
#
# Every benchmark: starts its own `switchyard serve` (embedded redis-server,
# fresh temp data dir, 127.0.0.1 and a free port), deploys its state
# machines, runs bounded load with sy_loaddriver (or wrk), prints ONE summary
# line on stdout, appends a row to loadtests/RESULTS.md and stops exactly the
# processes it started. Logs go to the temp dir (kept on failure).
#
# Environment:
#   SWITCHYARD_BUILD  build dir with switchyard, loadtests/sy_loaddriver and
#                     examples/functions/echo (default: newest build*/ that has all three)
#   APPENDFSYNC       everysec (default) or always: the embedded redis' AOF fsync policy
#   RESULTS           the results file (default loadtests/RESULTS.md); NO_RECORD=1 skips it
set -euo pipefail

LT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$LT_DIR")
: "${APPENDFSYNC:=everysec}"
: "${RESULTS:=$LT_DIR/RESULTS.md}"

log() { echo "[$(date +%T)] $*" >&2; }
die() { echo "error: $*" >&2; exit 1; }

# The build: SWITCHYARD_BUILD, else the newest build*/ holding every given file (paths inside the build).
find_build_with() {
  local d t f ok newest=0
  if [ -n "${SWITCHYARD_BUILD:-}" ]; then
    BUILD=$(cd "$SWITCHYARD_BUILD" && pwd)
  else
    BUILD=""
    for d in "$ROOT"/build*/; do
      d=${d%/}
      ok=1
      for f in "$@"; do [ -x "$d/$f" ] || ok=0; done
      [ "$ok" = 1 ] || continue
      t=$(stat -c %Y "$d/switchyard")
      if [ "$t" -gt "$newest" ]; then newest=$t; BUILD=$d; fi
    done
  fi
  ok=0
  if [ -n "$BUILD" ]; then
    ok=1
    for f in "$@"; do [ -x "$BUILD/$f" ] || ok=0; done
  fi
  [ "$ok" = 1 ] || die "no build with $*; build with:
  cmake -S $ROOT -B $ROOT/build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build $ROOT/build --target switchyard sy_example_functions sy_loaddriver"
  ECHO_BIN="$BUILD/examples/functions/echo"
}

find_build() {
  find_build_with switchyard loadtests/sy_loaddriver examples/functions/echo
  DRIVER="$BUILD/loadtests/sy_loaddriver"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# cpu_ms PID...: user+system CPU milliseconds used so far by the given processes and their reaped
# children (redis-server's AOF rewrite children are part of Redis's cost).
cpu_ms() {
  local tck; tck=$(getconf CLK_TCK)
  local p t=0 v
  for p in "$@"; do
    v=$(awk -v k="$tck" '{print int(($14 + $15 + $16 + $17) * 1000 / k)}' "/proc/$p/stat" 2>/dev/null || echo 0)
    t=$((t + v))
  done
  echo "$t"
}
# The embedded redis-server and the function processes of the server $SY_PID.
redis_pid() { cat "$SY_DATA/redis.pid" 2>/dev/null || echo 0; }
function_pids() { pgrep -P "$SY_PID" -f "$ECHO_BIN" | tr '\n' ' ' || true; }

rss_mb() { awk '/^VmRSS/{printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }

# sy_start [extra serve args...]: starts switchyard serve; sets SY_PID, SY_URL, SY_DATA.
SY_PIDS=()
SY_DATAS=()
sy_start() {
  SY_DATA=$(mktemp -d -t sy-bench.XXXXXX)
  SY_DATAS+=("$SY_DATA")
  local port; port=$(free_port)
  cat > "$SY_DATA/functions.yaml" <<EOF
functions:
  echo:
    command: ["$ECHO_BIN"]
    concurrency: 64
    maxProcesses: 2
    idleTimeoutSeconds: 0
EOF
  ${SY_WRAP:-} "$BUILD/switchyard" serve --listen "127.0.0.1:$port" --data-dir "$SY_DATA" \
    --functions "$SY_DATA/functions.yaml" --appendfsync "$APPENDFSYNC" "$@" > "$SY_DATA/serve.log" 2>&1 &
  SY_PID=$!
  SY_PIDS+=("$SY_PID")
  SY_URL="http://127.0.0.1:$port"
  local i
  for i in $(seq 1 600); do  # up to 60 s (under valgrind it starts slowly)
    if curl -fsS -m 1 "$SY_URL/readyz" > /dev/null 2>&1; then return 0; fi
    kill -0 "$SY_PID" 2>/dev/null || die "switchyard serve exited; see $SY_DATA/serve.log"
    sleep 0.1
  done
  die "switchyard serve not ready within 60 s; see $SY_DATA/serve.log"
}

# Stops every server this script started (by PID) and removes their data dirs.
sy_stop_all() {
  local pid i d
  for pid in "${SY_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${SY_PIDS[@]}"; do
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  SY_PIDS=()
  if [ "${KEEP_DATA:-0}" != 1 ]; then
    for d in "${SY_DATAS[@]}"; do case "$d" in */sy-bench.*) rm -rf -- "$d";; esac; done
  fi
  SY_DATAS=()
}

# deploy NAME TYPE DEFINITION_JSON
deploy() {
  local url=${SY_URL}/v1/state-machines/$1
  curl -fsS -m 10 -X PUT "$url" -H 'content-type: application/json' \
    -d "{\"type\":\"$2\",\"definition\":$3}" > /dev/null || die "deploying $1 failed"
}

# chain_def N KIND RESOURCE: N states in a row, each Pass or Task.
chain_def() {
  local n=$1 kind=$2 resource=${3:-} i s="" next
  for i in $(seq 1 "$n"); do
    if [ "$i" -lt "$n" ]; then next="\"Next\":\"S$((i + 1))\""; else next="\"End\":true"; fi
    if [ "$kind" = Task ]; then
      s+="\"S$i\":{\"Type\":\"Task\",\"Resource\":\"$resource\",$next}"
    else
      s+="\"S$i\":{\"Type\":\"Pass\",$next}"
    fi
    [ "$i" -lt "$n" ] && s+=","
  done
  echo "{\"StartAt\":\"S1\",\"States\":{$s}}"
}

# drive LABEL ARGS...: runs sy_loaddriver; prints its JSON line.
drive() {
  local label=$1; shift
  "$DRIVER" --label "$label" "$@"
}

# jget JSON PATH: one field of a JSON line.
jget() { jq -r "$2" <<< "$1"; }

machine() {
  local model
  model=$(awk -F: '/model name/{gsub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo)
  echo "nproc=$(nproc) ${model:-unknown}, load $(cut -d' ' -f1 /proc/loadavg)"
}

commit_id() {
  local c
  c=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  if ! git -C "$ROOT" diff --quiet HEAD -- router state-store gateway app common function-runtime knative 2>/dev/null; then
    c="$c+dirty"
  fi
  echo "$c"
}

build_type() { awk -F= '/^CMAKE_BUILD_TYPE:/{print $2}' "$BUILD/CMakeCache.txt" 2>/dev/null || echo "?"; }

# record BENCH FIGURES: appends one row to RESULTS.md (creating it with its header).
record() {
  [ "${NO_RECORD:-0}" = 1 ] && return 0
  if [ ! -s "$RESULTS" ]; then
    cat > "$RESULTS" <<'EOF'
# Benchmark results

Rows are appended by the scripts in loadtests/ (see loadtests/README.md); do not
edit rows, append. Machine = `nproc`, CPU model and the 1-minute load average
when the run started (the machine is shared: compare rows taken under similar load).

| date (UTC) | bench | commit | build | machine | figures |
|---|---|---|---|---|---|
EOF
  fi
  printf '| %s | %s | %s | %s | %s | %s |\n' "$(date -u +%FT%TZ)" "$1" "${COMMIT:-$(commit_id)}" \
    "$(build_type) fsync=$APPENDFSYNC" "$MACHINE" "$2" >> "$RESULTS"
}

bench_init() {
  find_build
  MACHINE=$(machine)
  COMMIT=$(commit_id)  # HEAD when the run started (the build may be older: see the build column)
  trap 'sy_stop_all' EXIT
  trap 'exit 130' INT TERM
}
