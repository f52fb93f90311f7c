#!/usr/bin/env bash
# B2: 10 Task states calling the local C++ echo function (fn:echo through the
# local function host), STANDARD, concurrency C. Figures: task steps/s and the
# per-step overhead, i.e. (workflow latency / 10) minus the function's own
# round trip (measured first by calling a separate echo process directly, one
# call at a time, with the same driver).
# Knobs: K=3000 C=64 WARMUP=200 MAXS=90
. "$(dirname "$0")/lib.sh"
: "${K:=3000}" "${C:=64}" "${WARMUP:=200}" "${MAXS:=90}"
bench_init
payload='{"payload":"xxxxxxxxxxxxxxxx"}'

# The function's own time: a private echo process, called directly.
eport=$(free_port)
PORT=$eport "$ECHO_BIN" > /dev/null 2>&1 &
echo_pid=$!
# set -e applies in traps: a kill of a process already gone must not skip the rest.
trap 'kill -TERM $echo_pid 2>/dev/null || true; sy_stop_all' EXIT
for i in $(seq 1 100); do curl -s -m 1 -o /dev/null "http://127.0.0.1:$eport/" && break; sleep 0.05; done
fn=$(drive echo-direct --url "http://127.0.0.1:$eport/" --body "$payload" --k 2000 --c 1 --warmup 200 --max-seconds 30) || true
kill -TERM $echo_pid 2>/dev/null || true
fn_p50=$(jget "$fn" .latMs.p50)
log "echo direct: $fn"

sy_start
deploy b2 STANDARD "$(chain_def 10 Task fn:echo)"
sleep 1
idle=$(rss_mb "$SY_PID")
rpid=$(redis_pid)
c0=$(cpu_ms "$SY_PID"); r0=$(cpu_ms "$rpid"); f0=$(cpu_ms $(function_pids))
out=$(drive b2 --url "$SY_URL/v1/state-machines/b2/executions?wait=60" --body "{\"input\":$payload}" \
  --k "$K" --c "$C" --warmup "$WARMUP" --max-seconds "$MAXS" --expect '"SUCCEEDED"') || true
log "$out"
after=$(rss_mb "$SY_PID")
# CPU per task step (warm-up included in both numerator and denominator): robust against a busy machine.
ops=$(( ($(jget "$out" .completed) + WARMUP) * 10 ))
us() { echo "$1 * 1000 / $ops" | bc -l; }
cpu=$(printf 'CPU per task step: serve %.0f us, redis %.0f us, function %.0f us' "$(us $(( $(cpu_ms "$SY_PID") - c0 )))" \
  "$(us $(( $(cpu_ms "$rpid") - r0 )))" "$(us $(( $(cpu_ms $(function_pids)) - f0 )))")
eps=$(jget "$out" .rps)
ov() { echo "$1 / 10 - $fn_p50" | bc -l; }
line=$(printf 'B2 10xTask(fn:echo) STANDARD c=%s: %.0f task steps/s (%.1f executions/s), per-step overhead p50 %.3f ms p99 %.3f ms (workflow p50 %.2f ms p99 %.2f ms, echo call %.3f ms), errors %s; %s; serve RSS idle %s MB, after %s MB' \
  "$C" "$(echo "$eps * 10" | bc -l)" "$eps" "$(ov "$(jget "$out" .latMs.p50)")" "$(ov "$(jget "$out" .latMs.p99)")" \
  "$(jget "$out" .latMs.p50)" "$(jget "$out" .latMs.p99)" "$fn_p50" "$(jget "$out" .errors)" "$cpu" "$idle" "$after")
echo "$line"
record B2 "${line#B2 }"
