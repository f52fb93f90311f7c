#!/usr/bin/env bash
# B3: one Task (fn:echo), start with ?wait=, one client (concurrency 1):
# end-to-end latency p50/p99 for an EXPRESS and a STANDARD state machine.
# Knobs: K=2000 WARMUP=200 MAXS=60
. "$(dirname "$0")/lib.sh"
: "${K:=2000}" "${WARMUP:=200}" "${MAXS:=60}"
bench_init
sy_start
def=$(chain_def 1 Task fn:echo)
deploy b3e EXPRESS "$def"
deploy b3s STANDARD "$def"
sleep 1
body='{"input":{"payload":"xxxxxxxxxxxxxxxx"}}'
e=$(drive b3-express --url "$SY_URL/v1/state-machines/b3e/executions?wait=30" --body "$body" \
  --k "$K" --c 1 --warmup "$WARMUP" --max-seconds "$MAXS" --expect '"SUCCEEDED"') || true
log "$e"
s=$(drive b3-standard --url "$SY_URL/v1/state-machines/b3s/executions?wait=30" --body "$body" \
  --k "$K" --c 1 --warmup "$WARMUP" --max-seconds "$MAXS" --expect '"SUCCEEDED"') || true
log "$s"
line=$(printf 'B3 1xTask(fn:echo) ?wait= c=1: EXPRESS p50 %.3f ms p99 %.3f ms; STANDARD p50 %.3f ms p99 %.3f ms; errors %s/%s' \
  "$(jget "$e" .latMs.p50)" "$(jget "$e" .latMs.p99)" "$(jget "$s" .latMs.p50)" "$(jget "$s" .latMs.p99)" \
  "$(jget "$e" .errors)" "$(jget "$s" .errors)")
echo "$line"
record B3 "${line#B3 }"
