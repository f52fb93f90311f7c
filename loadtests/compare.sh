#!/usr/bin/env bash
# Switchyard vs Restate, back to back on this machine, same client, same echo
# function: the Restate peer harness (../shared/peers/restate, see its README)
# runs restate-server and its Node SDK endpoint; both systems' steps call one
# echo process on $ECHO_PORT (Switchyard's Tasks: Resource
# http://127.0.0.1:$ECHO_PORT/echo). ECHO=node: the harness's Node echo.mjs;
# ECHO=cpp: Switchyard's C++ echo example function (B2's definition), started
# here on that port first (the harness's echo.mjs then cannot bind it and exits).
#
# Per repetition, alternating systems:
#   B2   10 steps, each an HTTP call to echo, C workflows in flight: steps/s
#   B2c1 the same at concurrency 1: workflow latency
#   B3   1 step at concurrency 1: latency (Switchyard STANDARD and EXPRESS, ?wait=)
# Switchyard runs once per AOF fsync policy in FSYNC_MODES (everysec, always).
# Prints ONE line of medians and ratios and appends it to RESULTS.md.
#
# Knobs: K=2000 C=64 KLAT=300 REPS=3 MAXS=120 FSYNC_MODES="everysec always"
#        LOADGEN=sy (sy_loaddriver) | node (the harness's load.mjs) for both systems
#        RESTATE_DIR=<root>/../shared/peers/restate  ECHO=node|cpp (default node)
. "$(dirname "$0")/lib.sh"
: "${K:=2000}" "${C:=64}" "${KLAT:=300}" "${REPS:=3}" "${MAXS:=120}" "${FSYNC_MODES:=everysec always}"
: "${ECHO:=node}" "${LOADGEN:=sy}" "${RESTATE_DIR:=$(cd "$ROOT/.." && pwd)/shared/peers/restate}" "${ECHO_PORT:=$(free_port)}"
N=10
PAYLOAD=xxxxxxxxxxxxxxxx
[ -x "$RESTATE_DIR/node_modules/@restatedev/restate-server-linux-x64/bin/restate-server" ] \
  || die "the Restate harness is not installed: (cd $RESTATE_DIR && npm ci)"
bench_init
WORK=$(mktemp -d -t sy-compare.XXXXXX)
cleanup() {
  sy_stop_all
  { [ -n "${CPP_ECHO_PID:-}" ] && kill -TERM "$CPP_ECHO_PID" 2>/dev/null; } || true
  (cd "$RESTATE_DIR" && ./stop.sh > /dev/null 2>&1) || true
  rm -rf -- "$WORK"
}
trap cleanup EXIT

if [ "$ECHO" = cpp ]; then
  PORT=$ECHO_PORT "$ECHO_BIN" > "$WORK/echo.log" 2>&1 &
  CPP_ECHO_PID=$!
  for i in $(seq 1 100); do curl -s -m 1 -o /dev/null "http://127.0.0.1:$ECHO_PORT/" && break; sleep 0.05; done
fi
log "starting restate (harness $RESTATE_DIR)"
# Free ports, not the harness's defaults: something else on the machine may hold those.
(cd "$RESTATE_DIR" && INGRESS_PORT=$(free_port) ADMIN_PORT=$(free_port) NODE_PORT=$(free_port) SVC_PORT=$(free_port) \
  ECHO_PORT=$ECHO_PORT ./start.sh > "$WORK/restate-start.log" 2>&1) \
  || die "restate did not start: $(cat "$WORK/restate-start.log")"
# shellcheck disable=SC1091
. "$RESTATE_DIR/.run/state"  # SERVER_PID, ECHO_PID, SVC_PID, INGRESS
[ "$ECHO" = cpp ] && ECHO_PID=$CPP_ECHO_PID
ECHO_URL="http://127.0.0.1:$ECHO_PORT/echo"

declare -A URLS PIDS DATAS
for mode in $FSYNC_MODES; do
  APPENDFSYNC=$mode sy_start
  URLS[$mode]=$SY_URL
  PIDS[$mode]=$SY_PID
  DATAS[$mode]=$SY_DATA
  deploy cmp10 STANDARD "$(chain_def $N Task "$ECHO_URL")"
  deploy cmp1 STANDARD "$(chain_def 1 Task "$ECHO_URL")"
  deploy cmp1e EXPRESS "$(chain_def 1 Task "$ECHO_URL")"
done
sleep 5
restate_idle=$(rss_mb "$SERVER_PID")
first=${FSYNC_MODES%% *}
sy_idle=$(rss_mb "${PIDS[$first]}")

# CPU (ms) of each side's processes, to report CPU per step: the echo function is shared.
cpu_of() {  # cpu_of RUN-NAME: restate-server + its endpoint, or that run's switchyard serve + its redis-server
  case "$1" in
    restate*) cpu_ms "$SERVER_PID" "$SVC_PID" ;;
    *) local m=${1#sy-}; m=${m%%-*}; cpu_ms "${PIDS[$m]}" "$(cat "${DATAS[$m]}/redis.pid")" ;;
  esac
}

# CPU (ms) of the processes of the systems not measured by RUN-NAME.
cpu_of_others() {
  local pids=() m
  [[ "$1" == restate* ]] || pids+=("$SERVER_PID" "$SVC_PID")
  for m in $FSYNC_MODES; do
    [[ "$1" == "sy-$m-"* ]] || pids+=("${PIDS[$m]}" "$(cat "${DATAS[$m]}/redis.pid")")
  done
  cpu_ms "${pids[@]}"
}

# run NAME URL BODY EXPECT K C WARMUP: one measured run; appends "NAME rps p50 p99 errors cpu-us-per-workflow
# echo-cpu-us-per-workflow" to $WORK/runs.
run() {
  local name=$1 url=$2 body=$3 expect=$4 k=$5 c=$6 warm=$7 out
  local c0 e0
  c0=$(cpu_of "$name"); e0=$(cpu_ms "$ECHO_PID"); o0=$(cpu_of_others "$name"); t0=$(date +%s%N)
  if [ "$LOADGEN" = node ]; then
    local base path
    base=$(sed -E 's#^(http://[^/]+).*#\1#' <<< "$url"); path=${url#"$base"}
    out=$(timeout $((MAXS + 90)) node "$RESTATE_DIR/load.mjs" --ingress "$base" --path "$path" --body "$body" \
      --k "$k" --c "$c" --warmup "$warm" --max-seconds "$MAXS" --label "$name" | tail -1) || true
    out=$(jq -c '{rps: .workflowsPerS, errors: .errors, latMs: .latMs}' <<< "$out")
  else
    out=$(drive "$name" --url "$url" --body "$body" --expect "$expect" --k "$k" --c "$c" --warmup "$warm" \
      --max-seconds "$MAXS") || true
  fi
  local n=$(( $(jq -r '.completed // (.rps * 0)' <<< "$out" | cut -d. -f1) + warm ))
  [ "$LOADGEN" = node ] && n=$((k + warm))
  local cpu=$(( ($(cpu_of "$name") - c0) * 1000 / (n > 0 ? n : 1) )) ecpu=$(( ($(cpu_ms "$ECHO_PID") - e0) * 1000 / (n > 0 ? n : 1) ))
  # The idle side's background CPU while this one ran (cores): it competes for the same 2 cores.
  local others=$(( ($(cpu_of_others "$name") - o0) * 1000000 / (($(date +%s%N) - t0) / 1000 + 1) ))
  log "$name: $out cpu/workflow ${cpu}us echo ${ecpu}us; the other side meanwhile $((others / 1000)).$(printf '%03d' $((others % 1000))) cores"
  echo "$name $(jq -r '"\(.rps) \(.latMs.p50) \(.latMs.p99) \(.errors)"' <<< "$out") $cpu $ecpu" >> "$WORK/runs"
}

rbody10="{\"n\":$N,\"http\":true,\"payload\":\"$PAYLOAD\"}"
rbody1="{\"n\":1,\"http\":true,\"payload\":\"$PAYLOAD\"}"
sbody="{\"input\":{\"step\":0,\"acc\":0,\"payload\":\"$PAYLOAD\"}}"
for rep in $(seq 1 "$REPS"); do
  run restate-b2 "$INGRESS/wf/run" "$rbody10" '"steps":10' "$K" "$C" 100
  for mode in $FSYNC_MODES; do
    run "sy-$mode-b2" "${URLS[$mode]}/v1/state-machines/cmp10/executions?wait=60" "$sbody" SUCCEEDED "$K" "$C" 100
  done
  run restate-b2c1 "$INGRESS/wf/run" "$rbody10" '"steps":10' "$KLAT" 1 20
  for mode in $FSYNC_MODES; do
    run "sy-$mode-b2c1" "${URLS[$mode]}/v1/state-machines/cmp10/executions?wait=60" "$sbody" SUCCEEDED "$KLAT" 1 20
  done
  run restate-b3 "$INGRESS/wf/run" "$rbody1" '"steps":1' "$KLAT" 1 20
  for mode in $FSYNC_MODES; do
    run "sy-$mode-b3" "${URLS[$mode]}/v1/state-machines/cmp1/executions?wait=30" "$sbody" SUCCEEDED "$KLAT" 1 20
  done
  run "sy-$first-b3e" "${URLS[$first]}/v1/state-machines/cmp1e/executions?wait=30" "$sbody" SUCCEEDED "$KLAT" 1 20
done
restate_after=$(rss_mb "$SERVER_PID")
sy_after=$(rss_mb "${PIDS[$first]}")

# med NAME COLUMN: the median over repetitions (column 2 rps, 3 p50, 4 p99).
med() { awk -v n="$1" -v c="$2" '$1 == n {print $c}' "$WORK/runs" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
errs=$(awk '{s += $5} END{print s + 0}' "$WORK/runs")
r_steps=$(echo "$(med restate-b2 2) * $N" | bc -l)
# CPU per step of each side in the c=64 runs (server processes; the shared echo separately).
r_cpu=$(( $(med restate-b2 6) / N ))
echo_cpu=$(( $(med restate-b2 7) / N ))
line=$(printf 'CMP restate %s vs switchyard, %s reps (median), echo = %s, load gen %s: B2 %s steps c=%s: restate %.0f steps/s' \
  "$(jq -r .dependencies[\"@restatedev/restate-server\"] "$RESTATE_DIR/package.json")" "$REPS" \
  "$([ "$ECHO" = cpp ] && echo "Switchyard's C++ echo" || echo "the harness's Node echo")" "$LOADGEN" "$N" "$C" "$r_steps")
for mode in $FSYNC_MODES; do
  s=$(echo "$(med "sy-$mode-b2" 2) * $N" | bc -l)
  line+=$(printf ', switchyard[%s] %.0f steps/s = %.1fx' "$mode" "$s" "$(echo "$s / $r_steps" | bc -l)")
done
line+=" (CPU per step: restate-server+endpoint ${r_cpu} us"
for mode in $FSYNC_MODES; do
  line+=", switchyard[$mode] serve+redis $(( $(med "sy-$mode-b2" 6) / N )) us"
done
line+=", shared echo ~${echo_cpu} us)"
r=$(med restate-b2c1 3)
line+=$(printf '; B2 c=1 workflow p50: restate %.2f ms' "$r")
for mode in $FSYNC_MODES; do
  s=$(med "sy-$mode-b2c1" 3)
  line+=$(printf ', switchyard[%s] %.2f ms = %.2f of restate' "$mode" "$s" "$(echo "$s / $r" | bc -l)")
done
r=$(med restate-b3 3)
line+=$(printf '; B3 1 step c=1 p50: restate %.2f ms' "$r")
for mode in $FSYNC_MODES; do
  s=$(med "sy-$mode-b3" 3)
  line+=$(printf ', switchyard[%s] STANDARD %.2f ms = %.2f' "$mode" "$s" "$(echo "$s / $r" | bc -l)")
done
s=$(med "sy-$first-b3e" 3)
line+=$(printf ', switchyard EXPRESS %.2f ms = %.2f' "$s" "$(echo "$s / $r" | bc -l)")
line+="; RSS restate-server idle $restate_idle MB after $restate_after MB, switchyard serve idle $sy_idle MB after $sy_after MB; errors $errs"
echo "$line"
APPENDFSYNC=${FSYNC_MODES// /+} record CMP "${line#CMP }"
