#!/usr/bin/env bash
# Instructions per unit of work in `switchyard serve` (valgrind callgrind): a
# repeatable figure for comparing code changes on a busy machine, where times
# move by 2x. Runs serve under callgrind (the embedded redis-server natively),
# warms up, then counts only the measured phase.
#   WORKLOAD=b2 (10 Task states on fn:echo, per task step) | b1 (10 Pass states, per execution)
#   K=200 executions, C=8
# Prints one line; not recorded in RESULTS.md (instruction counts are not benchmarks).
. "$(dirname "$0")/lib.sh"
: "${WORKLOAD:=b2}" "${K:=200}" "${C:=8}"
command -v callgrind_control > /dev/null || die "valgrind is not installed"
bench_init
CG_OUT=$(mktemp -t sy-callgrind.XXXXXX)
SY_WRAP="${CG_ENV:-} valgrind --tool=callgrind --callgrind-out-file=$CG_OUT" sy_start
if [ "$WORKLOAD" = b1 ]; then
  deploy m STANDARD "$(chain_def 10 Pass)"; per=1; unit=execution
else
  deploy m STANDARD "$(chain_def 10 Task fn:echo)"; per=10; unit="task step"
fi
body='{"input":{"payload":"xxxxxxxxxxxxxxxx"}}'
drive warm --url "$SY_URL/v1/state-machines/m/executions?wait=60" --body "$body" --k 50 --c "$C" --warmup 0 \
  --max-seconds 120 > /dev/null
callgrind_control -z "$SY_PID" > /dev/null
out=$(drive run --url "$SY_URL/v1/state-machines/m/executions?wait=60" --body "$body" --k "$K" --c "$C" --warmup 0 \
  --max-seconds 300)

callgrind_control -d "$SY_PID" > /dev/null
sleep 2
ir=$(awk '/^summary:/{s += $2} END{print s + 0}' "$CG_OUT".1)
done_n=$(jget "$out" .completed)
printf '%s: %.0f instructions per %s in serve (%s executions, %s errors)\n' "$WORKLOAD" \
  "$(echo "$ir / ($done_n * $per)" | bc -l)" "$unit" "$done_n" "$(jget "$out" .errors)"
[ "${KEEP_DATA:-0}" = 1 ] || rm -f "$CG_OUT"*
