#!/usr/bin/env bash
# Fan-out with GET /metrics scraped every second vs --metrics=false (issue
# 18): S1 to 100 subscribers of 128 B, ddpd on CPU 0 with --threads 1,
# loadgen and the scraping curl on CPU 1, alternating, ROUNDS times.
#
#   make build && bench/metrics_scrape_bench.sh        (ROUNDS=2 SECONDS_PER_RUN=6)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-2}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-6}
for i in $(seq "$ROUNDS"); do
  for mode in off scraped; do
    d=$(mktemp -d)
    port=$(build/bin/loadgen free-ports 1)
    flag=()
    [ "$mode" = off ] && flag=(--metrics=false)
    taskset -c 0 build/bin/ddpd --port "$port" --bind 127.0.0.1 --data-dir "$d" --durability none \
      --threads 1 --log-level warn --outbound-queue-bytes 4294967296 "${flag[@]}" >/dev/null 2>&1 &
    pid=$!
    sleep 1
    scraper=""
    if [ "$mode" = scraped ]; then
      (while kill -0 "$pid" 2>/dev/null; do
         taskset -c 1 curl -s "localhost:$port/metrics" >/dev/null || true
         sleep 1
       done) &
      scraper=$!
    fi
    r=$(taskset -c 1 build/bin/loadgen fanout --system ddp --port "$port" --subscribers 100 \
          --payload-bytes 128 --seconds "$SECONDS_PER_RUN" 2>&1 | grep -o 'delivered_per_s=[0-9]*')
    echo "$mode round $i: $r"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    [ -n "$scraper" ] && kill "$scraper" 2>/dev/null || true
    rm -rf "$d"
  done
done
