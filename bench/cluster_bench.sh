#!/usr/bin/env bash
# The cluster (issue 16) next to one node, same run, same machine:
#   - durable commits/s and call latency (ddp_bench methods, inserts of
#     128 B, 1/16/64 writers): one node with embedded RocksDB (sync) vs a
#     node of a 2-node ddpd cluster on a 3-server JetStream cluster (R3);
#   - publish -> deliver latency at a steady rate (ddpctl bench, 1
#     publisher, 1 subscriber): same node, vs publisher on node A and
#     subscriber on node B;
#   - fan-out, 100 subscribers: delivered msg/s on one node vs subscribers
#     on the other node of the cluster;
#   - catch-up: a node that was down while CATCHUP_TX single-document
#     transactions were written (64 writers), restarted: seconds until
#     /readyz; and a fresh node joining from a snapshot.
#
#   bench/cluster_bench.sh                (after `make build`)
#   BENCH_SECONDS=2 CATCHUP_TX=20000 bench/cluster_bench.sh
#
# One JSON line per measurement on stdout; progress on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${BENCH_SECONDS:-5}
CATCHUP_TX=${CATCHUP_TX:-100000}
BIN=build/bin
NATS=${NATS_SERVER:-/usr/sbin/nats-server}
WORK=$(mktemp -d -p "${BENCH_DIR:-$PWD/build}" cluster-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
base=$((20000 + RANDOM % 20000))

# ddpd NAME [flags...]: starts a node, sets $port_NAME.
start_ddpd() {
  local name=$1
  shift
  local log="$WORK/$name.log"
  $BIN/ddpd --port 0 --bind 127.0.0.1 --data-dir "$WORK/$name" --log-level info "$@" >"$log" 2>&1 &
  pids+=($!)
  eval "pid_$name=$!"
  for _ in $(seq 200); do grep -q "listening on" "$log" && break; sleep 0.05; done
  local port
  port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$log")
  [ -n "$port" ] || { echo "cluster_bench: $name did not start:" >&2; cat "$log" >&2; exit 1; }
  eval "port_$name=$port"
}
ready() {  # PORT: until /readyz answers 200
  for _ in $(seq 6000); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz")" = 200 ] && return 0
    sleep 0.01
  done
  return 1
}
label() { sed "s/^{/{\"setup\":\"$1\",\"what\":\"$2\",/"; }

commits() {  # SETUP PORT
  for c in 1 16 64; do
    echo "cluster_bench: $1 commits, $c writers" >&2
    $BIN/ddp_bench methods --port "$2" --clients $c --insert-topic "commits$c" --payload-bytes 128 \
      --seconds "$SECS" | label "$1" "commits_$c"
  done
}
latency() {  # SETUP URLS
  echo "cluster_bench: $1 latency" >&2
  $BIN/ddpctl --url "$2" --json bench --subscribers 1 --rate 1000 --duration "$SECS" --size 128 |
    label "$1" latency_1000_per_s
}
fanout() {  # SETUP URLS
  echo "cluster_bench: $1 fan-out" >&2
  $BIN/ddpctl --url "$2" --json bench --subscribers 100 --rate 2000 --duration "$SECS" --size 128 \
    --threads 2 | label "$1" fanout_100
}
url() { echo "ws://127.0.0.1:$1/websocket"; }

# --- one node, embedded RocksDB
start_ddpd single --durability sync
commits single "$port_single"
latency single "$(url "$port_single")"
fanout single "$(url "$port_single")"
kill "$pid_single"

# --- three nats-servers (JetStream, R3) and two ddpd nodes
urls=""
for i in 0 1 2; do
  routes=""
  for j in 0 1 2; do
    [ $j = $i ] && continue
    routes="$routes${routes:+, }nats-route://127.0.0.1:$((base + 100 + j))"
  done
  cat >"$WORK/n$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:$((base + i))
max_payload: 8MB
jetstream { store_dir: "$WORK/n$i", max_memory_store: 256MB, max_file_store: 8GB }
cluster { name: bench, listen: 127.0.0.1:$((base + 100 + i)), routes: [$routes] }
CONF
  $NATS -c "$WORK/n$i.conf" >"$WORK/n$i.log" 2>&1 &
  pids+=($!)
  urls="$urls${urls:+,}nats://127.0.0.1:$((base + i))"
done
for i in 0 1 2; do
  for _ in $(seq 200); do grep -q "Server is ready" "$WORK/n$i.log" && break; sleep 0.05; done
done
start_ddpd a --cluster "$urls" --node-id a
start_ddpd b --cluster "$urls" --node-id b
ready "$port_a"
ready "$port_b"
commits cluster "$port_a"
latency cluster_same_node "$(url "$port_a")"
latency cluster_cross_node "$(url "$port_a"),$(url "$port_b")"
fanout cluster_same_node "$(url "$port_a")"
fanout cluster_cross_node "$(url "$port_a"),$(url "$port_b")"

# --- catch-up: node b down while CATCHUP_TX transactions are written, then
# restarted (it replays what it missed from the stream); and a fresh node c
# (it copies a snapshot of another node, then reads the rest).
kill "$pid_b"
wait "$pid_b" 2>/dev/null || true
echo "cluster_bench: writing $CATCHUP_TX transactions with node b down" >&2
log_field() {  # PORT FIELD: a field of /readyz's "log"
  curl -s "http://127.0.0.1:$1/readyz" | python3 -c "import json,sys; print(json.load(sys.stdin)['log']['$2'])"
}
seq_of() { log_field "$1" seq; }
end_of() { log_field "$1" end; }
seq_before=$(seq_of "$port_a")
end_before=$(end_of "$port_a")
while [ $(($(seq_of "$port_a") - seq_before)) -lt "$CATCHUP_TX" ]; do
  $BIN/ddp_bench methods --port "$port_a" --clients 64 --insert-topic catchup --ids server --payload-bytes 128 \
    --seconds 2 >/dev/null
done
tx=$(($(seq_of "$port_a") - seq_before))
records=$(($(end_of "$port_a") - end_before))
elapsed() { printf '%.3f' "$(echo "$2 - $1" | bc)"; }
t0=$(date +%s.%N)
start_ddpd b --cluster "$urls" --node-id b
ready "$port_b"
t1=$(date +%s.%N)
s=$(elapsed "$t0" "$t1")
echo "{\"setup\":\"cluster\",\"what\":\"catch_up_replay\",\"records\":$records,\"transactions\":$tx,\"seconds\":$s,\"records_per_s\":$(echo "$records / $s" | bc),\"transactions_per_s\":$(echo "$tx / $s" | bc)}"
t0=$(date +%s.%N)
start_ddpd c --cluster "$urls" --node-id c
ready "$port_c"
t1=$(date +%s.%N)
s=$(elapsed "$t0" "$t1")
total=$(seq_of "$port_c")
snap=$(grep -o 'copied snapshot [^ ]* from [^ ]* ([0-9]* files, [0-9]* bytes)' "$WORK/c.log" || echo none)
echo "{\"setup\":\"cluster\",\"what\":\"join_from_snapshot\",\"transactions\":$total,\"seconds\":$s,\"snapshot\":\"$snap\"}"
