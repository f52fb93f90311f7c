#!/usr/bin/env bash
# SOAK (issue 5, memory): B2's workload (10 Task states on fn:echo, STANDARD,
# concurrency C) for DURATION seconds in consecutive 30 s rounds against one
# `switchyard serve`; samples the server's RSS after every round. Figures: RSS
# idle, after the first round, the max and the last; growth from the first round
# to the last (allocator warm-up happens in the first round). Flat = the router
# and gateway hold nothing per execution once it finished.
# Knobs: DURATION=600 (max 1800) C=64
. "$(dirname "$0")/lib.sh"
: "${DURATION:=600}" "${C:=64}"
[ "$DURATION" -le 1800 ] || die "DURATION is bounded to 1800 s"
bench_init
payload='{"payload":"xxxxxxxxxxxxxxxx"}'
sy_start
deploy soak STANDARD "$(chain_def 10 Task fn:echo)"
sleep 1
idle=$(rss_mb "$SY_PID")
rounds=$(( DURATION / 30 ))
samples=()
total=0
errors=0
t0=$(date +%s)
for r in $(seq 1 "$rounds"); do
  out=$(drive b2 --url "$SY_URL/v1/state-machines/soak/executions?wait=60" --body "{\"input\":$payload}" \
    --k 10000000 --c "$C" --warmup 0 --max-seconds 30 --expect '"SUCCEEDED"') || true
  total=$(( total + $(jget "$out" .completed) ))
  errors=$(( errors + $(jget "$out" .errors) ))
  samples+=("$(rss_mb "$SY_PID")")
  log "round $r/$rounds: $(jget "$out" .completed) executions, RSS ${samples[-1]} MB"
done
secs=$(( $(date +%s) - t0 ))
first=${samples[0]}
last=${samples[-1]}
max=$(printf '%s\n' "${samples[@]}" | sort -g | tail -1)
line=$(printf 'SOAK 10xTask(fn:echo) STANDARD c=%s for %s s: %s executions (%.0f task steps/s), errors %s; serve RSS idle %s MB, after round 1 %s MB, max %s MB, last %s MB (growth round 1 -> last %+.1f MB); samples %s' \
  "$C" "$secs" "$total" "$(echo "$total * 10 / $secs" | bc -l)" "$errors" "$idle" "$first" "$max" "$last" \
  "$(echo "$last - $first" | bc -l)" "${samples[*]}")
echo "$line"
record SOAK "${line#SOAK }"
