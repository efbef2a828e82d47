#!/usr/bin/env bash
# Server benchmarks of issue 3: method round trips and fan-out.
#
#   bench/server_bench.sh            (after `make build`)
#   BENCH_SECONDS=2 bench/server_bench.sh
#
# The test server (ddpd plus test methods/publications) runs on CPU 0 with
# SERVER_THREADS I/O threads; the load client runs on CPU 1.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
SERVER_THREADS=${SERVER_THREADS:-1}
SERVER_CPUS=${SERVER_CPUS:-0}
CLIENT_CPUS=${CLIENT_CPUS:-1}
BIN=build/bin

log=$(mktemp)
taskset -c "$SERVER_CPUS" $BIN/test_server --port 0 --bind 127.0.0.1 --threads "$SERVER_THREADS" \
  --log-level warn --outbound-queue-bytes 268435456 > "$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -f $log' EXIT
for _ in $(seq 100); do grep -q PORT "$log" && break; sleep 0.1; done
port=$(awk '/PORT/ {print $2}' "$log")

echo "# server: $SERVER_THREADS thread(s) on CPU $SERVER_CPUS; client on CPU $CLIENT_CPUS; ${SECONDS_PER_RUN}s per run"
for clients in 1 64; do
  taskset -c "$CLIENT_CPUS" $BIN/ddp_bench methods --port "$port" --clients $clients --seconds "$SECONDS_PER_RUN" --server-pid $server
done
for subs in 1 100 1000; do
  taskset -c "$CLIENT_CPUS" $BIN/ddp_bench fanout --port "$port" --subscribers $subs --seconds "$SECONDS_PER_RUN" --server-pid $server
done
