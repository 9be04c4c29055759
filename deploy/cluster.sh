#!/usr/bin/env bash
# Transfer Lab on several processes of one machine, all on loopback: a trial of the multi-machine
# setup, and what the cluster tests start. Usage (from anywhere):
#
#   bash deploy/cluster.sh start    # redis-server, workers, Streamlit replicas (classroom mode), nginx
#   bash deploy/cluster.sh status   # each process's role, PID and whether it is alive
#   bash deploy/cluster.sh stop     # ends exactly what start began (PID files; never a name match)
#
# Settings: TRANSFER_LAB_REDIS_PORT (6390), TRANSFER_LAB_WORKERS (2), TRANSFER_LAB_REPLICAS (2, ports
# 8601...), TRANSFER_LAB_PORT (nginx, 8600), TRANSFER_LAB_CLUSTER_DIR (PID files and logs, ./.cluster).
# Any other TRANSFER_LAB_* variable (limits, data folders) reaches every replica and worker.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN=${TRANSFER_LAB_CLUSTER_DIR:-$ROOT/.cluster}
REDIS_PORT=${TRANSFER_LAB_REDIS_PORT:-6390}
WORKERS=${TRANSFER_LAB_WORKERS:-2}
REPLICAS=${TRANSFER_LAB_REPLICAS:-2}
PORT=${TRANSFER_LAB_PORT:-8600}
FIRST_REPLICA_PORT=${TRANSFER_LAB_FIRST_REPLICA_PORT:-8601}

die() { echo "cluster: $*" >&2; exit 1; }

need_tools() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
  [ ${#missing[@]} -eq 0 ] && return
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# alive PIDFILE: the process named in PIDFILE still runs.
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# spawn ROLE LOG COMMAND...: starts COMMAND in the background, its PID in $RUN/ROLE.pid.
spawn() {
  local role=$1 log=$2; shift 2
  nohup "$@" >"$log" 2>&1 &
  echo $! >"$RUN/$role.pid"
}

secret() { [ -f "$RUN/$1" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$RUN/$1"; cat "$RUN/$1"; }

wait_port() {  # wait_port PORT SECONDS: until something listens on 127.0.0.1:PORT
  local end=$((SECONDS + $2))
  while [ $SECONDS -lt $end ]; do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.5
  done
  return 1
}

start_redis() {
  local pass; pass=$(secret redis.pass)
  # Loopback only, a password all the same, nothing written to disk: jobs are short-lived.
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --requirepass "$pass" --save "" --appendonly no \
    --daemonize yes --pidfile "$RUN/redis.pid" --logfile "$RUN/redis.log" --dir "$RUN"
  wait_port "$REDIS_PORT" 20 || die "redis-server did not start (see $RUN/redis.log)"
}

start_workers() {
  local i
  for i in $(seq 1 "$WORKERS"); do
    spawn "worker-$i" "$RUN/worker-$i.log" "$PY" -m core worker --name "worker-$i"
  done
}

start_replicas() {
  local i port cookie; cookie=$(secret cookie.secret)
  for i in $(seq 1 "$REPLICAS"); do
    port=$((FIRST_REPLICA_PORT + i - 1))
    # The same cookie secret on every replica (Streamlit takes it from the environment, not the CLI).
    TRANSFER_LAB_MODE=classroom TRANSFER_LAB_REPLICA="replica-$i" STREAMLIT_SERVER_COOKIE_SECRET="$cookie" \
      spawn "replica-$i" "$RUN/replica-$i.log" "$PY" -m streamlit run app.py --server.port "$port" \
      --server.address 127.0.0.1 --server.headless true \
      --browser.gatherUsageStats false --server.fileWatcherType none
  done
  for i in $(seq 1 "$REPLICAS"); do
    wait_port $((FIRST_REPLICA_PORT + i - 1)) 120 || die "replica-$i did not start (see $RUN/replica-$i.log)"
  done
}

nginx_conf() {
  local servers="" i mb
  for i in $(seq 1 "$REPLICAS"); do
    servers+="        server 127.0.0.1:$((FIRST_REPLICA_PORT + i - 1)) max_fails=1 fail_timeout=10s;"$'\n'
  done
  mb=$(sed -n 's/^maxUploadSize *= *\([0-9]*\).*/\1/p' .streamlit/config.toml)
  mkdir -p "$RUN/nginx-tmp"
  [ "$(id -u)" -ne 0 ] || chown nobody "$RUN/nginx-tmp" 2>/dev/null || true
  sed -e "s|@RUN@|$RUN|g" -e "s|@LISTEN@|127.0.0.1|" -e "s|@PORT@|$PORT|" -e "s|@MAX_BODY_MB@|${mb:-200}|" \
    deploy/nginx.conf.template | awk -v s="$servers" '{ if ($0 == "@SERVERS@") printf "%s", s; else print }' \
    >"$RUN/nginx.conf"
}

start_nginx() {
  nginx_conf
  local nginx; nginx=$(command -v nginx || echo /usr/sbin/nginx)
  "$nginx" -c "$RUN/nginx.conf" -p "$RUN" -e "$RUN/nginx-error.log"
  wait_port "$PORT" 20 || die "nginx did not start (see $RUN/nginx-error.log)"
}

roles() {  # every role start may have begun, in the order stop ends them
  local i
  echo nginx
  for i in $(seq 1 "$REPLICAS"); do echo "replica-$i"; done
  for f in "$RUN"/replica-*.pid "$RUN"/worker-*.pid; do [ -f "$f" ] && basename "$f" .pid; done
  for i in $(seq 1 "$WORKERS"); do echo "worker-$i"; done
  echo redis
}

start() {
  mkdir -p "$RUN"
  for role in $(roles | sort -u); do alive "$RUN/$role.pid" && die "$role is already running: stop first"; done
  need_tools
  # shellcheck source=scripts/python_env.sh
  . scripts/python_env.sh
  "$PY" -m pip install -q --disable-pip-version-check -r requirements.txt
  start_redis
  export TRANSFER_LAB_REDIS_URL="redis://:$(cat "$RUN/redis.pass")@127.0.0.1:$REDIS_PORT/0"
  start_workers
  start_replicas
  start_nginx
  echo "Transfer Lab: http://127.0.0.1:$PORT ($REPLICAS replicas, $WORKERS workers, Redis on $REDIS_PORT)"
}

stop_one() {  # stop_one ROLE: TERM, then KILL after 10 s
  local pidfile="$RUN/$1.pid" pid end
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    end=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$pidfile"
}

stop() {
  local role
  for role in $(roles | awk '!seen[$0]++'); do stop_one "$role"; done
  echo "Transfer Lab cluster stopped"
}

status() {
  local f role
  printf '%-12s %-8s %s\n' ROLE PID STATE
  for f in "$RUN"/*.pid; do
    [ -f "$f" ] || continue
    role=$(basename "$f" .pid)
    if alive "$f"; then printf '%-12s %-8s %s\n' "$role" "$(cat "$f")" running
    else printf '%-12s %-8s %s\n' "$role" "$(cat "$f")" dead; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: bash deploy/cluster.sh start|stop|status" ;;
esac
