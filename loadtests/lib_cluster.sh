# Shared by b4_parked.sh and b6_scaling.sh (sourced after lib.sh): a throwaway
# multi-process deployment on this machine - one redis-server (AOF on, unix
# socket), one `serve --roles gateway` and N `serve --roles router` processes,
# the example echo function - in a temp dir, stopped (by PID) on exit. Load
# comes from driver.js (node): it starts executions without ?wait= and learns
# of finishes from Redis' sy:done channel, so a finish on any router is seen
# at once (a separate gateway's ?wait= polls).
# shellcheck shell=bash

command -v node > /dev/null || die "node is needed for loadtests/driver.js"
command -v redis-server > /dev/null || die "redis-server is needed"

CL_DIR=""
CL_PIDS=()
ROUTER_PIDS=()
REDIS_PID=""
GATEWAY_PORT=""
SOCK=""

cluster_stop() {
  local p i
  for p in "${CL_PIDS[@]}"; do kill -TERM "$p" 2> /dev/null || true; done
  for p in "${CL_PIDS[@]}"; do
    for i in $(seq 1 100); do kill -0 "$p" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2> /dev/null || true
  done
  CL_PIDS=()
  ROUTER_PIDS=()
  if [ -n "$CL_DIR" ] && [ "${KEEP_DATA:-0}" != 1 ]; then
    case "$CL_DIR" in */sy-cluster.*) rm -rf -- "$CL_DIR" ;; esac
  fi
  CL_DIR=""
}

# cluster_start ROUTERS [extra serve args for every process...]: fresh data; sets SOCK, GATEWAY_PORT,
# GATEWAY_PID, REDIS_PID, ROUTER_PIDS.
cluster_start() {
  local routers=$1 i
  shift
  cluster_stop
  CL_DIR=$(mktemp -d -t sy-cluster.XXXXXX)
  SOCK="$CL_DIR/redis.sock"
  cat > "$CL_DIR/functions.yaml" << YAML
functions:
  echo:
    command: ["$ECHO_BIN"]
    concurrency: 64
    maxProcesses: 2
    idleTimeoutSeconds: 0
YAML
  redis-server --port 0 --unixsocket "$SOCK" --unixsocketperm 700 --dir "$CL_DIR" --appendonly yes \
    --hash-max-listpack-value 1024 --hash-max-listpack-entries 128 --zset-max-listpack-entries 32 \
    --auto-aof-rewrite-percentage 400 --appendfsync "$APPENDFSYNC" --save "" --logfile "$CL_DIR/redis.log" &
  REDIS_PID=$!
  CL_PIDS+=("$REDIS_PID")
  for i in $(seq 1 100); do redis-cli -s "$SOCK" PING > /dev/null 2>&1 && break; sleep 0.1; done
  GATEWAY_PORT=$(free_port)
  GATEWAY_PID=""
  "$BUILD/switchyard" serve --roles gateway --redis "unix://$SOCK" --listen "127.0.0.1:$GATEWAY_PORT" \
    --data-dir "$CL_DIR/gateway" "$@" > "$CL_DIR/gateway.log" 2>&1 &
  GATEWAY_PID=$!
  CL_PIDS+=($!)
  for i in $(seq 1 "$routers"); do
    "$BUILD/switchyard" serve --roles router --redis "unix://$SOCK" --functions "$CL_DIR/functions.yaml" \
      --data-dir "$CL_DIR/router$i" --consumer "router$i" "$@" > "$CL_DIR/router$i.log" 2>&1 &
    CL_PIDS+=($!)
    ROUTER_PIDS+=($!)
  done
  for i in $(seq 1 200); do # up to 20 s
    curl -fsS -m 1 "http://127.0.0.1:$GATEWAY_PORT/readyz" > /dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "gateway not ready within 20 s; see $CL_DIR/gateway.log"
}

cluster_init() {
  find_build_with switchyard examples/functions/echo  # no sy_loaddriver: driver.js drives
  MACHINE=$(machine)
  trap 'cluster_stop' EXIT
  trap 'exit 130' INT TERM
}
