#!/usr/bin/env bash
# B4 (DESIGN.md §6): N executions (default 100,000) parked in a 5 s Wait, then
# woken. One gateway, one router, redis-server (AOF, APPENDFSYNC). Figures:
# Redis bytes per parked execution (INFO used_memory delta over MEM_N = 20,000
# executions of a copy parked at once in a 1 h Wait, before the main run),
# Redis bytes per execution (INFO used_memory after all woke minus before,
# divided by N: a finished execution as retention keeps it; and per parked
# execution, from MEMORY USAGE of a sample of parked ones plus their share of
# the timer and index sets), router RSS peak, wake-up lateness = the
# WaitStateExited timestamp minus (WaitStateEntered timestamp + the Wait), p50/p99/max.
# Starts run at concurrency 64 as fast as the gateway takes them. With the
# 5 s Wait of DESIGN.md (WAIT_S=5, the default) the first executions wake while
# starts still arrive (100,000 starts take longer than 5 s on 2 cores), so the
# router wakes and starts at once on a CPU-saturated machine; with WAIT_S=20
# all N are parked before the first is due, and the wake-ups are measured alone.
# While the router is behind on due timers, the gateway holds new starts back (up to
# --start-hold-ms each, router/admission.hpp): the line reports how many it held.
# Knobs: N=100000 (max 200000) MEM_N=20000 WAIT_S=5 MAXS=600 (wall-clock bound)
#        SERVE_ARGS="" (extra serve options for the gateway and the router, e.g. --start-hold-ms 0)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_cluster.sh"
: "${N:=${1:-100000}}" "${MEM_N:=20000}" "${WAIT_S:=5}" "${MAXS:=600}"
cluster_init
# shellcheck disable=SC2086
cluster_start 1 ${SERVE_ARGS:-}
out=$(node "$LT_DIR/driver.js" b4 --port "$GATEWAY_PORT" --redis "$SOCK" --n "$N" --mem-n "$MEM_N" --concurrency 64 \
  --pids "${ROUTER_PIDS[0]}" --redis-pid "$REDIS_PID" --gateway-pid "$GATEWAY_PID" --wait-seconds "$WAIT_S" --max-seconds "$MAXS")
log "$out"
gw_metric() { curl -s -m 5 "http://127.0.0.1:$GATEWAY_PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
held=$(gw_metric switchyard_starts_held_total); held_s=$(gw_metric switchyard_start_hold_seconds_total)
# Parked at once after the last start (the timers zset, less the MEM_N copies in their 1 h Wait).
parked=$(( $(jget "$out" .parked_after_start) - $(jget "$out" .parked_at_once) ))
if [ "$parked" -ge "$(jget "$out" .executions)" ]; then overlap="all parked before the first was due"; else
  overlap="wake-ups overlapping the starts: $parked parked after the last start"; fi
line=$(printf 'B4 %s executions in a %s s Wait (1 gateway, 1 router%s; %s), %s woken, started at %s/s: Redis %s B/parked execution (used_memory delta over %s executions parked at once in a 1 h Wait), %s B/execution (used_memory delta / N, after all woke), %s B/parked execution (MEMORY USAGE sample); router RSS peak %s MB; wake-up lateness p50 %s ms, p99 %s ms, max %s ms (work stream backlog peak %s items; router CPU %s cores, runnable but waiting for a CPU %s cores; CPU cores while the starts ran: redis %s, gateway %s, router %s; starts held back while the router was behind: %s, %.1f s in all)' \
  "$(jget "$out" .executions)" "$WAIT_S" "${SERVE_ARGS:+, serve $SERVE_ARGS}" "$overlap" "$(jget "$out" .finished)" "$(jget "$out" .starts_per_s)" \
  "$(jget "$out" .redis_bytes_per_parked_execution_used_memory)" "$(jget "$out" .parked_at_once)" \
  "$(jget "$out" .redis_bytes_per_execution)" "$(jget "$out" .redis_bytes_per_parked_execution)" \
  "$(jget "$out" .router_rss_peak_mb)" "$(jget "$out" .lateness_ms.p50)" "$(jget "$out" .lateness_ms.p99)" \
  "$(jget "$out" .lateness_ms.max)" "$(jget "$out" .work_backlog_peak)" "$(jget "$out" .router_cpu_cores)" \
  "$(jget "$out" .router_runqueue_wait_cores)" "$(jget "$out" .cpu_cores_while_starting.redis)" \
  "$(jget "$out" .cpu_cores_while_starting.gateway)" "$(jget "$out" .cpu_cores_while_starting.router)" \
  "${held:-0}" "${held_s:-0}")
echo "$line"
record B4 "${line#B4 }"
