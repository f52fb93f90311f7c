#!/usr/bin/env bash
# CB (issue 6): N callback steps (default 100,000) waiting for their task tokens
# at once, then all completed through POST /v1/tasks/{token}/success. One
# `switchyard serve` (gateway + router, embedded redis-server with AOF), the C++
# echo function acknowledging each hand-off (fn:echo.waitForTaskToken).
# Figures: Redis bytes per waiting step (INFO used_memory delta / N; MEMORY
# USAGE of one waiting execution's hash + history), router RSS before / with N
# waiting / peak / after completing all, start and completion rates. Tokens are
# read through the API (TaskScheduled parameters), as an agent would get them.
# Bounded: N <= 200,000 and MAXS (900) seconds; loopback only.
# Usage: loadtests/callbacks_parked.sh [N]    (lib.sh's knobs: SWITCHYARD_BUILD, APPENDFSYNC, NO_RECORD, KEEP_DATA)
source "$(dirname "$0")/lib.sh"
N=${1:-${N:-100000}}
MAXS=${MAXS:-900}
[ "$N" -ge 1 ] && [ "$N" -le 200000 ] || die "N must be 1..200000"
command -v node > /dev/null || die "node is needed for the load driver"
# This bench needs no sy_loaddriver: the newest build with switchyard and echo.
find_build_with switchyard examples/functions/echo
# A build configured without CMAKE_BUILD_TYPE gets the project's default (CMakeLists.txt).
build_type() {
  local t
  t=$(awk -F= '/^CMAKE_BUILD_TYPE:/{print $2}' "$BUILD/CMakeCache.txt" 2> /dev/null || true)
  echo "${t:-RelWithDebInfo}"
}
MACHINE=$(machine)
SAMPLER=
trap '{ [ -n "$SAMPLER" ] && kill "$SAMPLER" 2> /dev/null; } || true; sy_stop_all' EXIT
trap 'exit 130' INT TERM
DEADLINE=$(( $(date +%s) + MAXS ))

sy_start
SOCK="$SY_DATA/redis.sock"
rcli() { redis-cli -s "$SOCK" "$@"; }
used_memory() { rcli INFO memory | tr -d '\r' | sed -n 's/^used_memory://p'; }
rss_kib() { awk '/^VmRSS:/{print $2}' "/proc/$SY_PID/status"; }
mb() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
# The router's RSS once a second, for the peak.
( while kill -0 "$SY_PID" 2> /dev/null; do rss_kib >> "$SY_DATA/rss.txt" 2> /dev/null || true; sleep 1; done ) &
SAMPLER=$!
deploy parked STANDARD '{"StartAt": "Wait", "States": {"Wait": {
  "Type": "Task", "Resource": "fn:echo.waitForTaskToken",
  "Parameters": {"taskToken.$": "$$.Task.Token", "n.$": "$.n"},
  "HeartbeatSeconds": 3600, "TimeoutSeconds": 7200, "End": true}}}'
PORT=${SY_URL##*:}
cat >"$SY_DATA/drive.js" <<'JS'
// node drive.js start|complete PORT N|IDSFILE CONCURRENCY OUTFILE: bounded-concurrency keep-alive HTTP.
'use strict';
const http = require('http');
const fs = require('fs');
const [mode, port, arg, conc, out] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(conc) });
function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: Number(port), method, path, agent,
      headers: { 'Content-Type': 'application/json' }, timeout: 30000 }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode, body: data }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}
async function pool(n, fn) {
  let next = 0;
  const workers = [];
  for (let w = 0; w < Number(conc); w++) {
    workers.push((async () => { while (next < n) { const i = next++; await fn(i); } })());
  }
  await Promise.all(workers);
}
(async () => {
  const t0 = Date.now();
  if (mode === 'start') {
    const n = Number(arg);
    const ids = new Array(n);
    await pool(n, async (i) => {
      const r = await call('POST', '/v1/state-machines/parked/executions', JSON.stringify({ input: { n: i } }));
      if (r.status !== 201) throw new Error(`start ${r.status} ${r.body}`);
      ids[i] = JSON.parse(r.body).executionId;
    });
    fs.writeFileSync(out, ids.join('\n') + '\n');
  } else {
    const ids = fs.readFileSync(arg, 'utf8').trim().split('\n');
    let refused = 0;
    await pool(ids.length, async (i) => {
      // The token, as an agent sees it: TaskScheduled's parameters (the third event).
      const h = JSON.parse((await call('GET', `/v1/executions/${ids[i]}/history?limit=4`)).body);
      const ev = h.events.find((e) => e.type === 'TaskScheduled');
      const token = JSON.parse(ev.taskScheduledEventDetails.parameters).taskToken;
      const r = await call('POST', `/v1/tasks/${token}/success`, JSON.stringify({ output: { done: i } }));
      if (r.status !== 200) refused++;
    });
    if (refused) throw new Error(`${refused} completions refused`);
  }
  console.log(((Date.now() - t0) / 1000).toFixed(1));
})().catch((e) => { console.error(e.message); process.exit(1); });
JS

wait_parked() {  # every step acknowledged and waiting: the work stream is empty
  while [ "$(rcli XLEN sy:work)" != "0" ]; do
    [ "$(date +%s)" -lt "$DEADLINE" ] || die "timed out waiting for the work stream to drain"
    sleep 0.5
  done
}
running() {
  curl -fsS -m 10 "$SY_URL/v1/executions?stateMachine=parked&status=RUNNING&limit=1" | jq '.executions | length'
}

# Warm up (function process, pools), then the baseline.
node "$SY_DATA/drive.js" start "$PORT" 1000 32 "$SY_DATA/warm.txt" > /dev/null
wait_parked
sleep 2
MEM0=$(used_memory)
RSS0=$(rss_kib)

log "starting $N callback steps"
START_S=$(node "$SY_DATA/drive.js" start "$PORT" "$N" 64 "$SY_DATA/ids.txt")
wait_parked
sleep 2
MEM1=$(used_memory)
RSS1=$(rss_kib)
ONE=$(head -1 "$SY_DATA/ids.txt")
HASH_B=$(rcli MEMORY USAGE "sy:x:{$ONE}")
HIST_B=$(rcli MEMORY USAGE "sy:x:{$ONE}:h")
PER_STEP=$(( (MEM1 - MEM0) / N ))
WAITING=$(rcli EVAL "local n=0 for _,k in ipairs(redis.call('KEYS','sy:x:{*}')) do if redis.call('TYPE',k).ok=='hash' and redis.call('HEXISTS',k,'tw:0')==1 then n=n+1 end end return n" 0)
log "waiting: $WAITING steps; redis +$PER_STEP B/step; router RSS $RSS0 -> $RSS1 KiB"

log "completing them through the API"
DONE_S=$(node "$SY_DATA/drive.js" complete "$PORT" "$SY_DATA/ids.txt" 64 -)
node "$SY_DATA/drive.js" complete "$PORT" "$SY_DATA/warm.txt" 32 - > /dev/null
while [ "$(running)" != "0" ]; do
  [ "$(date +%s)" -lt "$DEADLINE" ] || die "timed out waiting for the completions"
  sleep 1
done
[ "$(curl -fsS -m 10 "$SY_URL/v1/executions/$ONE" | jq -r .status)" = SUCCEEDED ] || die "execution $ONE did not succeed"
RSS2=$(rss_kib)
PEAK=$(sort -n "$SY_DATA/rss.txt" | tail -1)
FIG="$N callback steps waiting at once ($WAITING parked in Redis, with 1000 warm-up steps), started at $(awk -v n="$N" -v s="$START_S" 'BEGIN{printf "%d", n/s}')/s; \
Redis $PER_STEP B per waiting step (used_memory delta / N; one execution: hash $HASH_B B + history $HIST_B B); \
router RSS $(mb "$RSS0") MB before, $(mb "$RSS1") MB with all waiting, peak $(mb "$PEAK") MB, $(mb "$RSS2") MB after; \
all completed via POST /v1/tasks/{token}/success at $(awk -v n="$N" -v s="$DONE_S" 'BEGIN{printf "%d", n/s}')/s (history read + completion per step); none left RUNNING"
echo "CB: $FIG"
record CB "$FIG"
