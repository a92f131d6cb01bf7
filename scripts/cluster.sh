#!/usr/bin/env bash
# A local three-node RabbitMQ cluster from the installed rabbitmq-server, for scale-out runs and the `cluster` tests.
# It never touches the machine's own broker (rabbit@<host> on 5672): its nodes have their own names, ports, cookie
# and folders, and `stop` removes them all.
#
#   scripts/cluster.sh start          start nodes 1..3, join 2 and 3 to 1, print the AMQP URLs (one comma-joined line)
#   scripts/cluster.sh stop           stop every node and remove the cluster's folder
#   scripts/cluster.sh status         the cluster's running nodes, or exit 1 when node 1 is down
#   scripts/cluster.sh urls           the AMQP URLs, comma-joined (what --amqp-url and AMQP_URL take)
#   scripts/cluster.sh kill N         kill -9 node N (a crashed machine: no goodbye to its peers)
#   scripts/cluster.sh start-node N   start node N again; it rejoins with its data
#   scripts/cluster.sh ctl N ARGS...  rabbitmqctl against node N
#
# Node N is ${SAGALAB_CLUSTER_NAME:-sagalab-c}N@localhost, AMQP port PORT+N-1 (PORT = $SAGALAB_CLUSTER_PORT, default
# 5681), Erlang distribution port 20000+that, management port 10000+that; data and logs under
# $SAGALAB_CLUSTER_DIR (default ${SAGALAB_HOME:-/tmp}/sagalab-cluster-<name>).
set -euo pipefail

NAME="${SAGALAB_CLUSTER_NAME:-sagalab-c}"
PORT="${SAGALAB_CLUSTER_PORT:-5681}"
NODES="${SAGALAB_CLUSTER_NODES:-3}"
HOME_BASE="${SAGALAB_HOME:-/tmp}"
case "$HOME_BASE" in /*) ;; *) HOME_BASE="$PWD/$HOME_BASE" ;; esac
DIR="${SAGALAB_CLUSTER_DIR:-$HOME_BASE/sagalab-cluster-$NAME}"
RMQ_BIN="${RABBITMQ_BIN:-/usr/lib/rabbitmq/bin}"
[ -x "$RMQ_BIN/rabbitmq-server" ] || RMQ_BIN="$(dirname "$(command -v rabbitmq-server 2>/dev/null || echo /usr/sbin/x)")"

say() { echo "cluster: $*" >&2; }
node() { echo "$NAME$1@localhost"; }
amqp_port() { echo $((PORT + $1 - 1)); }
url() { echo "amqp://guest:guest@127.0.0.1:$(amqp_port "$1")/"; }
urls() { local out="" n; for n in $(seq 1 "$NODES"); do out="${out:+$out,}$(url "$n")"; done; echo "$out"; }

# Every node and every rabbitmqctl call reads the cluster's own cookie from $HOME. Sets the array NODE_ENV.
env_for() {
  local n=$1 p
  p=$(amqp_port "$n")
  NODE_ENV=(HOME="$DIR" RABBITMQ_NODENAME="$(node "$n")" RABBITMQ_NODE_PORT="$p" RABBITMQ_DIST_PORT=$((20000 + p)) \
    RABBITMQ_MNESIA_BASE="$DIR/node$n/mnesia" RABBITMQ_LOG_BASE="$DIR/node$n/log" \
    ERL_CRASH_DUMP="$DIR/node$n/log/erl_crash.dump" RABBITMQ_PID_FILE="$DIR/node$n/pid" RABBITMQ_CONFIG_FILE="$DIR/node$n/rabbitmq.conf" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$DIR/node$n/advanced.config" RABBITMQ_CONF_ENV_FILE="$DIR/node$n/env.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/enabled_plugins" RABBITMQ_ENABLED_PLUGINS="rabbitmq_management" \
    "RABBITMQ_SERVER_ERL_ARGS=+S 1:1 +sbwt none +sbwtdcpu none +sbwtdio none")
}

ctl() {
  local n=$1; shift
  [ -f "$DIR/.erlang.cookie" ] || { say "no cluster at $DIR (start one with: $0 start)"; return 1; }
  env_for "$n"
  env "${NODE_ENV[@]}" "$RMQ_BIN/rabbitmqctl" -n "$(node "$n")" "$@"
}

prepare() {
  mkdir -p "$DIR"
  if [ ! -f "$DIR/.erlang.cookie" ]; then
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DIR/.erlang.cookie"
    chmod 400 "$DIR/.erlang.cookie"
  fi
  echo "[rabbitmq_management]." > "$DIR/enabled_plugins"
  local n p
  for n in $(seq 1 "$NODES"); do
    p=$(amqp_port "$n")
    mkdir -p "$DIR/node$n/log"
    cat > "$DIR/node$n/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$p
management.tcp.port = $((10000 + p))
management.tcp.ip = 127.0.0.1
loopback_users = none
cluster_partition_handling = pause_minority
CONF
    echo "[]." > "$DIR/node$n/advanced.config"
    : > "$DIR/node$n/env.conf"
  done
}

running() { ctl "$1" -q status >/dev/null 2>&1; }

start_node() {
  local n=$1
  if running "$n"; then say "$(node "$n") is already running"; return 0; fi
  # setsid: the node outlives this script and is not hit by the caller's signals.
  env_for "$n"
  env "${NODE_ENV[@]}" setsid "$RMQ_BIN/rabbitmq-server" > "$DIR/node$n/log/stdout" 2>&1 < /dev/null &
  local tries
  for tries in $(seq 1 120); do
    [ -s "$DIR/node$n/pid" ] && ctl "$n" -q await_startup --timeout 2 >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  say "$(node "$n") did not start; see $DIR/node$n/log"
  return 1
}

members() { ctl 1 -q cluster_status --formatter json 2>/dev/null | python3 -c \
  'import json,sys; print(" ".join(sorted(json.load(sys.stdin).get("running_nodes", []))))'; }

join() {
  local n=$1
  if members | grep -q "$(node "$n")"; then return 0; fi
  ctl "$n" -q stop_app
  ctl "$n" -q join_cluster "$(node 1)"
  ctl "$n" -q start_app
  ctl "$n" -q await_startup
}

kill_node() {
  local n=$1 pid
  pid=$(cat "$DIR/node$n/pid" 2>/dev/null || true)
  [ -n "$pid" ] || { say "$(node "$n") has no pid file"; return 1; }
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$DIR/node$n/pid"
}

stop_all() {
  local n pid
  for n in $(seq "$NODES" -1 1); do
    pid=$(cat "$DIR/node$n/pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      timeout 30 "$0" ctl "$n" -q stop >/dev/null 2>&1 || kill -9 "$pid" 2>/dev/null || true
    fi
  done
  # Nodes whose pid file is gone (killed and restarted by hand): found by their node name, nothing else.
  for n in $(seq 1 "$NODES"); do
    for pid in $(pgrep -f -- "-sname $(node "$n") " 2>/dev/null || true); do kill -9 "$pid" 2>/dev/null || true; done
  done
  rm -rf "$DIR"
}

need_node() { [[ "${1:-}" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le "$NODES" ] || { say "node must be 1..$NODES"; exit 2; }; }

case "${1:-}" in
  start)
    command -v "$RMQ_BIN/rabbitmq-server" >/dev/null || { say "rabbitmq-server is not installed (apt-get install rabbitmq-server)"; exit 1; }
    prepare
    start=$SECONDS
    for n in $(seq 1 "$NODES"); do start_node "$n" & done
    wait
    for n in $(seq 2 "$NODES"); do join "$n"; done
    say "$NODES nodes up in $((SECONDS - start)) s: $(members)"
    urls
    ;;
  stop) stop_all; say "stopped and removed $DIR" ;;
  status)
    running 1 || { say "$(node 1) is not running"; exit 1; }
    echo "running: $(members)"
    ;;
  urls) urls ;;
  kill) need_node "${2:-}"; kill_node "$2" ;;
  start-node) need_node "${2:-}"; start_node "$2" ;;
  ctl) need_node "${2:-}"; n=$2; shift 2; ctl "$n" "$@" ;;
  *) echo "usage: $0 start|stop|status|urls|kill N|start-node N|ctl N ARGS..." >&2; exit 2 ;;
esac
