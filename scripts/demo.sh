#!/usr/bin/env bash
# README command 1: install what is missing, build, start Switchyard on the
# embedded default (its own redis-server child, the example functions), deploy
# the examples, run one workflow end to end and show its output and history.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
./scripts/build.sh switchyard sy_example_functions >/dev/null
SY="$BUILD_DIR/switchyard"
PORT=${PORT:-8080}
DATA=$(mktemp -d /tmp/switchyard-demo.XXXXXX)
# examples/functions.yaml names binaries under build/; point them at $BUILD_DIR.
sed "s#\.\./build/#$(pwd)/$BUILD_DIR/#" examples/functions.yaml > "$DATA/functions.yaml"
"$SY" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" --functions "$DATA/functions.yaml" 2>"$DATA/serve.log" &
SERVER=$!
cleanup() {
  kill -TERM "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$DATA/serve.log"; exit 1; }
  sleep 0.1
done
export SWITCHYARD_SERVER="http://127.0.0.1:$PORT"
echo "== switchyard serve is up on $SWITCHYARD_SERVER (embedded redis-server, data in $DATA)"
echo "== deploying the examples"
"$SY" apply examples/state-machines/*.yaml examples/state-machines/*.json
echo "== running 'hello' end to end (Pass -> Task fn:greet -> Choice -> Task fn:echo -> Succeed)"
OUT=$("$SY" start hello --input '{"name": "Ada", "vip": true}' --wait 30)
echo "$OUT"
ID=$(echo "$OUT" | sed -n 's/.*"executionId": "\([^"]*\)".*/\1/p' | head -1)
echo "== its history (event types)"
"$SY" history "$ID" | sed -n 's/.*"type": "\([A-Za-z]*\)".*/  \1/p'
echo "$OUT" | grep -q '"status": "SUCCEEDED"'
echo "== done: the workflow SUCCEEDED"
