#!/usr/bin/env bash
# B6 (DESIGN.md §6): B2's workload (10 Task states on the local C++ echo
# function, STANDARD, 64 executions in flight) with 1, 2 and 4 router
# processes sharing one redis-server (AOF, APPENDFSYNC) behind one gateway
# process. Each router has its own echo processes. Figures: task steps/s per
# router count and the ratio to one router. On this 2-core machine the
# routers, Redis, the gateway, the echo processes and the driver share the
# same two cores, so the ratio shows where the CPU limit is, not a cluster.
# Knobs: SECS=20 per point (max 120), COUNTS="1 2 4", C=64, WARMUP=300
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_cluster.sh"
: "${SECS:=20}" "${COUNTS:=1 2 4}" "${C:=64}" "${WARMUP:=300}"
cluster_init
base=""
figs=""
for k in $COUNTS; do
  cluster_start "$k"
  out=$(node "$LT_DIR/driver.js" b6 --port "$GATEWAY_PORT" --redis "$SOCK" --concurrency "$C" \
    --seconds "$SECS" --warmup "$WARMUP" \
    --cpu "routers:$(IFS=,; echo "${ROUTER_PIDS[*]}") redis:$REDIS_PID gateway:$GATEWAY_PID")
  log "routers=$k $out"
  steps=$(jget "$out" .task_steps_per_s)
  [ -n "$base" ] || base=$steps
  figs+="${figs:+; }$k router(s) $steps task steps/s = $(echo "$steps / $base" | bc -l | xargs printf '%.2f')x (execution p50 $(jget "$out" .latency_ms.p50) ms, p99 $(jget "$out" .latency_ms.p99) ms, errors $(jget "$out" .errors); CPU cores: routers $(jget "$out" .cpu_cores.routers), redis $(jget "$out" .cpu_cores.redis), gateway $(jget "$out" .cpu_cores.gateway), echo $(jget "$out" .cpu_cores.functions), driver $(jget "$out" .cpu_cores.driver), total $(jget "$out" .cpu_cores.total))"
done
cluster_stop
line="B6 10xTask(fn:echo) STANDARD c=$C, ${SECS} s per point, 1 gateway + N routers: $figs"
echo "$line"
record B6 "${line#B6 }"
