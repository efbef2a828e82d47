#!/usr/bin/env bash
# Durable commits (issue 4): inserts through ddpd in sync mode with 1, 16
# and 64 concurrent writers, 128 B and 1 KB documents, next to RocksDB's
# own WriteBatch+sync rate measured in the same run; and 64 writers that
# publish 10 documents per call (one transaction each).
#
#   bench/commit_bench.sh            (after `make build`)
#   BENCH_SECONDS=2 bench/commit_bench.sh
#   PAYLOAD=random bench/commit_bench.sh   (incompressible documents; default x:
#                                           one repeated character)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
PAYLOAD=${PAYLOAD:-x}
SERVER_CPUS=${SERVER_CPUS:-0}
CLIENT_CPUS=${CLIENT_CPUS:-1}
BIN=build/bin
WORK=$(mktemp -d -p "${BENCH_DIR:-$PWD/build}" commit-bench.XXXXXX)
trap 'kill $server 2>/dev/null || true; rm -rf "$WORK"' EXIT

echo "# data on $(df --output=source,fstype "$WORK" | tail -1); ${SECONDS_PER_RUN}s per run"
# Raw RocksDB runs on the server's cores (SERVER_CPUS), as ddpd does: its
# flushes and compactions share the writer's core instead of taking the
# load generator's idle one. The target's baseline writes counter keys
# (each insert lands next to the last: the cheapest memtable insert there
# is); random 17-character ids, as Meteor clients choose them, show what a
# memtable search per record costs; batch 64 on every core is the figure
# earlier sessions compared with.
raw() {
  local cpus=$1
  shift
  echo "{\"cpus\":\"$cpus\",\"result\":$(taskset -c "$cpus" $BIN/rocksdb_raw_bench --dir "$WORK/raw" \
    --seconds "$SECONDS_PER_RUN" --payload "$PAYLOAD" "$@")}"
}
all_cpus=0-$(($(nproc) - 1))
for payload in 128 1024; do
  for batch in 1 16 64; do
    raw "$SERVER_CPUS" --batch $batch --payload-bytes $payload
  done
  raw "$SERVER_CPUS" --batch 64 --keys random --payload-bytes $payload
  raw "$all_cpus" --batch 64 --payload-bytes $payload
done
# writers:docs per call (one transaction); 64:10 shows what batching gives.
for payload in 128 1024; do
  for config in 1:1 16:1 64:1 64:10; do
    writers=${config%%:*}
    docs=${config##*:}
    rm -rf "$WORK/data"
    log="$WORK/ddpd.log"
    taskset -c "$SERVER_CPUS" $BIN/ddpd --port 0 --bind 127.0.0.1 --threads 1 --data-dir "$WORK/data" \
      --durability sync --log-level info > "$log" 2>&1 &
    server=$!
    for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
    port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$log")
    result=$(taskset -c "$CLIENT_CPUS" $BIN/ddp_bench methods --port "$port" --clients $writers \
      --insert-topic bench --payload-bytes $payload --docs-per-call $docs --payload "$PAYLOAD" \
      --seconds "$SECONDS_PER_RUN" --server-pid $server)
    echo "{\"payload_bytes\":$payload,\"writers\":$writers,\"docs_per_call\":$docs,\"result\":$result}"
    kill $server; wait $server 2>/dev/null || true
  done
done
