#!/usr/bin/env bash
# B5: the gateway alone, with wrk: GET /healthz, and POST start-execution
# (no wait) of a one-state STANDARD machine. Figures: requests/s.
# Knobs: DURATION=5 (seconds per run) CONNS=32
. "$(dirname "$0")/lib.sh"
: "${DURATION:=5}" "${CONNS:=32}"
command -v wrk > /dev/null || die "wrk is not installed (apt-get install wrk)"
bench_init
sy_start
deploy b5 STANDARD "$(chain_def 1 Pass)"
sleep 1
rps() { awk '/^Requests\/sec/{print $2}'; }
lat() { awk '/^ +Latency /{print $2; exit}'; }
h=$(timeout $((DURATION + 30)) wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$SY_URL/healthz")
log "$h"
s=$(timeout $((DURATION + 30)) wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "$LT_DIR/wrk/start.lua" \
  "$SY_URL/v1/state-machines/b5/executions")
log "$s"
non2xx=$(awk '/Non-2xx/{print $NF}' <<< "$s")
line=$(printf 'B5 wrk c=%s %ss: GET /healthz %.0f req/s (mean %s); POST start-execution %.0f req/s (mean %s, non-2xx %s)' \
  "$CONNS" "$DURATION" "$(rps <<< "$h")" "$(lat <<< "$h")" "$(rps <<< "$s")" "$(lat <<< "$s")" "${non2xx:-0}")
echo "$line"
record B5 "${line#B5 }"
