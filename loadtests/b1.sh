#!/usr/bin/env bash
# B1: 10 Pass states, STANDARD, one router. Closed loop: C clients each start an
# execution with ?wait= and start the next one when it has finished.
# Figures: executions/s and state transitions/s (10 per execution: each state
# entered is one transition, as Step Functions counts them), latency p50/p99.
# Knobs: K=5000 C=64 WARMUP=200 MAXS=60
. "$(dirname "$0")/lib.sh"
: "${K:=5000}" "${C:=64}" "${WARMUP:=200}" "${MAXS:=60}"
bench_init
sy_start
deploy b1 STANDARD "$(chain_def 10 Pass)"
sleep 1
idle=$(rss_mb "$SY_PID")
rpid=$(redis_pid)
c0=$(cpu_ms "$SY_PID"); r0=$(cpu_ms "$rpid"); f0=$(cpu_ms $(function_pids))
out=$(drive b1 --url "$SY_URL/v1/state-machines/b1/executions?wait=60" --body '{"input":{"n":1}}' \
  --k "$K" --c "$C" --warmup "$WARMUP" --max-seconds "$MAXS" --expect '"SUCCEEDED"') || true
log "$out"
after=$(rss_mb "$SY_PID")
# CPU per transition (warm-up included in both numerator and denominator): robust against a busy machine.
ops=$(( ($(jget "$out" .completed) + WARMUP) * 10 ))
us() { echo "$1 * 1000 / $ops" | bc -l; }
cpu=$(printf 'CPU per transition: serve %.0f us, redis %.0f us, function %.0f us' "$(us $(( $(cpu_ms "$SY_PID") - c0 )))" \
  "$(us $(( $(cpu_ms "$rpid") - r0 )))" "$(us $(( $(cpu_ms $(function_pids)) - f0 )))")
eps=$(jget "$out" .rps)
line=$(printf 'B1 10xPass STANDARD c=%s: %.0f executions/s, %.0f transitions/s, latency p50 %.2f ms p99 %.2f ms, errors %s; %s; serve RSS idle %s MB, after %s MB' \
  "$C" "$eps" "$(echo "$eps * 10" | bc -l)" "$(jget "$out" .latMs.p50)" "$(jget "$out" .latMs.p99)" \
  "$(jget "$out" .errors)" "$cpu" "$idle" "$after")
echo "$line"
record B1 "${line#B1 }"
