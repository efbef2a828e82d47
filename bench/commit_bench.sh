#!/usr/bin/env bash
# Durable commits (issue 4): inserts through ddpd in sync mode with 1, 16
# and 64 concurrent writers, 128 B and 1 KB documents, and 64 writers that
# publish 10 documents per call (one transaction each), each next to
# RocksDB's own WriteBatch+sync rate measured in the same run.
#
#   bench/commit_bench.sh            (after `make build`)
#   BENCH_SECONDS=2 bench/commit_bench.sh
#   PAYLOAD=random bench/commit_bench.sh   (incompressible documents; default x:
#                                           one repeated character)
#
# The baseline of each ddpd run is raw RocksDB in the same shape: as many
# threads as ddpd has writers, each writing WriteBatches of as many records
# as a call carries documents, with sync=true, so RocksDB's own write queue
# groups them into one WAL write and one fsync as ddpd's committer groups
# transactions. It runs on the server's cores (SERVER_CPUS), as ddpd does.
# Keys match too: `ids=server` lets ddpd generate time-ordered ids, next to
# raw counter keys (each insert lands after the last); `ids=random` has the
# writers choose 17 random characters, as Meteor clients do, next to raw
# random keys. One JSON line per pair, with ratio = ddpd / raw. Then, for
# reference, one thread writing batches of 1, 16 and 64 records (the best a
# commit group of that size can do) and batch 64 on every core.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
PAYLOAD=${PAYLOAD:-x}
SERVER_CPUS=${SERVER_CPUS:-0}
CLIENT_CPUS=${CLIENT_CPUS:-1}
BIN=build/bin
WORK=$(mktemp -d -p "${BENCH_DIR:-$PWD/build}" commit-bench.XXXXXX)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$WORK"' EXIT

raw() {
  local cpus=$1
  shift
  taskset -c "$cpus" $BIN/rocksdb_raw_bench --dir "$WORK/raw" --seconds "$SECONDS_PER_RUN" \
    --payload "$PAYLOAD" "$@"
}

# ddpd WRITERS DOCS_PER_CALL PAYLOAD_BYTES IDS: the load client's JSON line
# in $WORK/ddpd.json. Runs in this shell (not in $(...)), so that the trap
# sees the server and a failed run stops the script.
ddpd() {
  rm -rf "$WORK/data"
  local log="$WORK/ddpd.log"
  taskset -c "$SERVER_CPUS" $BIN/ddpd --port 0 --bind 127.0.0.1 --threads 1 --data-dir "$WORK/data" \
    --durability sync --log-level info > "$log" 2>&1 &
  server=$!
  for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
  local port
  port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$log")
  [ -n "$port" ] || { echo "commit_bench: ddpd did not start:" >&2; cat "$log" >&2; exit 1; }
  taskset -c "$CLIENT_CPUS" $BIN/ddp_bench methods --port "$port" --clients "$1" \
    --insert-topic bench --docs-per-call "$2" --payload-bytes "$3" --ids "$4" --payload "$PAYLOAD" \
    --seconds "$SECONDS_PER_RUN" --server-pid $server > "$WORK/ddpd.json"
  kill $server
  wait $server 2>/dev/null || true
  server=
}

rate() { sed -n 's/.*"records_per_s":\([0-9.]*\).*/\1/p' <<< "$1"; }

echo "# data on $(df --output=source,fstype "$WORK" | tail -1); ${SECONDS_PER_RUN}s per run; payload $PAYLOAD"
for payload in 128 1024; do
  # writers:docs per call (one transaction); 64:10 shows what batching gives.
  for config in 1:1 16:1 64:1 64:10; do
    writers=${config%%:*}
    docs=${config##*:}
    for ids in server random; do
      # Random ids only where there are enough writes for compaction to matter.
      [ "$ids" = random ] && [ "$writers" != 64 ] && continue
      keys=counter
      [ "$ids" = random ] && keys=random
      ddpd "$writers" "$docs" $payload $ids
      d=$(<"$WORK/ddpd.json")
      r=$(raw "$SERVER_CPUS" --threads "$writers" --batch "$docs" --keys $keys --payload-bytes $payload)
      ratio=$(awk -v a="$(rate "$d")" -v b="$(rate "$r")" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
      echo "{\"payload_bytes\":$payload,\"writers\":$writers,\"docs_per_call\":$docs,\"ids\":\"$ids\",\"ratio\":$ratio,\"ddpd\":$d,\"raw\":$r}"
    done
  done
  all_cpus=0-$(($(nproc) - 1))
  for batch in 1 16 64; do
    echo "{\"reference\":\"one thread\",\"cpus\":\"$SERVER_CPUS\",\"raw\":$(raw "$SERVER_CPUS" --batch $batch --payload-bytes $payload)}"
  done
  echo "{\"reference\":\"one thread\",\"cpus\":\"$all_cpus\",\"raw\":$(raw "$all_cpus" --batch 64 --payload-bytes $payload)}"
done
