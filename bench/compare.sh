#!/usr/bin/env bash
# Side-by-side comparison of issue 7: ddpd against nats-server (core
# pub/sub), Redis pub/sub and mosquitto (MQTT over TCP and over WebSocket).
#
#   make bench-compare                    (builds, then runs this)
#   BENCH_SECONDS=2 bench/compare.sh      (after building ddpd, test_server, loadgen)
#
# Every server runs alone on CPU $SERVER_CPU (taskset), on loopback, on a
# free port, freshly started for every run; the load generator
# (build/bin/loadgen, one thread) runs on CPU $CLIENT_CPU. ddpd runs with
# --durability none (the peers do not persist either), an outbound queue
# large enough that benchmark subscribers are never cut off, and no limit on
# a live result (the bench topic keeps every event it gets: a subscriber's
# result grows by one document per publish). "ddpd-stream" is the same
# ddpd with --publication-strategy 'bench.>=no_merge_no_history' (Meteor's
# NO_MERGE_NO_HISTORY: the bench topics are event streams, sent as they
# are, with no per-client document index and no retraction on unsub); Redis
# without persistence and without pub/sub output-buffer limits; mosquitto
# with TCP_NODELAY and no queue limit. Nothing is retried silently: a server
# that does not start or a run that fails is reported and skipped, and the
# script exits 1 at the end.
#
# Writes bench/results/compare.csv (header below), compare_extra.csv (CPU,
# losses, parameters), compare.md and PNG plots.
#
# Environment (defaults): BENCH_SECONDS (10) measured seconds per run;
# SYSTEMS ("ddpd ddpd-stream nats redis mqtt-tcp mqtt-ws"); SCENARIOS ("S1 S2 S4 S5 S8");
# S1_SUBSCRIBERS ("1 10 100 1000"); S1_PAYLOADS ("128 1024");
# S2_LOADS ("10 50 80", percent of the system's own S1 maximum at 100
# subscribers, 128 B); S4_CONNECTIONS (10000); S5_CONCURRENCY (16);
# DDPD_EXTRA_ARGS (more ddpd/test_server flags, word-split, e.g. "--rules r.json");
# S8_CLIENTS (64); S8_PIPELINE (8); SERVER_CPU (0); CLIENT_CPU (1); OUT (bench/results);
# REPORT_ONLY (0; 1 rebuilds compare.md and the plots from the CSVs of an
# earlier run without running anything).
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH_SECONDS=${BENCH_SECONDS:-10}
SYSTEMS=${SYSTEMS:-"ddpd ddpd-stream nats redis mqtt-tcp mqtt-ws"}
SCENARIOS=${SCENARIOS:-"S1 S2 S4 S5 S8"}
S1_SUBSCRIBERS=${S1_SUBSCRIBERS:-"1 10 100 1000"}
S1_PAYLOADS=${S1_PAYLOADS:-"128 1024"}
S2_LOADS=${S2_LOADS:-"10 50 80"}
S4_CONNECTIONS=${S4_CONNECTIONS:-10000}
S5_CONCURRENCY=${S5_CONCURRENCY:-16}
S8_CLIENTS=${S8_CLIENTS:-64}
S8_PIPELINE=${S8_PIPELINE:-8}
DDPD_EXTRA_ARGS=${DDPD_EXTRA_ARGS:-}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
OUT=${OUT:-bench/results}
BIN=build/bin
LOADGEN=$BIN/loadgen

die() { echo "compare: $*" >&2; exit 1; }
[[ "$BENCH_SECONDS" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "BENCH_SECONDS must be a number of seconds"
for s in $SYSTEMS; do
  case $s in ddpd | ddpd-stream | nats | redis | mqtt-tcp | mqtt-ws) ;; *) die "unknown system '$s' in SYSTEMS" ;; esac
done
for b in "$BIN/ddpd" "$LOADGEN"; do
  [ -x "$b" ] || die "$b is missing: run 'make bench-compare' (or build the ddpd and loadgen targets)"
done
need=(taskset gnuplot)
for s in $SYSTEMS; do
  case $s in nats) need+=(nats-server) ;; redis) need+=(redis-server) ;; mqtt-*) need+=(mosquitto) ;; esac
done
for c in "${need[@]}"; do
  command -v "$c" >/dev/null || die "$c not found: run scripts/install-bench-deps.sh"
done
ncpu=$(nproc)
if [ "$ncpu" -lt 2 ]; then
  echo "compare: only $ncpu CPU: server and load generator share it (results are not comparable)" >&2
  SERVER_CPU=0 CLIENT_CPU=0
fi

# 10k connections need 10k descriptors in the server and in the load
# generator (each its own process, so the limit applies to each).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)

mkdir -p "$OUT"
WORK=$(mktemp -d)
CSV=$OUT/compare.csv
EXTRA=$OUT/compare_extra.csv
if [ "${REPORT_ONLY:-0}" = 1 ]; then
  # Rebuild compare.md and the plots from the CSVs of an earlier run.
  [ -s "$CSV" ] && [ -s "$EXTRA" ] || die "REPORT_ONLY=1 needs $CSV and $EXTRA from an earlier run"
  SCENARIOS=""
else
  echo "system,scenario,subscribers,payload_bytes,delivered_per_s,p50_us,p99_us,p999_us,rss_kib" > "$CSV"
  echo "system,scenario,subscribers,payload_bytes,delivered,seconds,server_cpu_s,server_cpu_pct,loadgen_cpu_pct,other_cpu_pct,lost,errors,param" > "$EXTRA"
fi
FAILURES=0
SERVER_PID=""
SERVER_PORT=""

cleanup() {
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- servers ----

free_port() { "$LOADGEN" free-ports 1; }

# Waits until something accepts TCP connections on $1 (10 s).
wait_port() {
  local port=$1
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# Starts the server of system $1 on CPU $SERVER_CPU; sets SERVER_PID and
# SERVER_PORT. $2 = "test" starts build/bin/test_server instead of ddpd.
start_server() {
  local sys=$1 variant=${2:-} dir
  dir=$(mktemp -d "$WORK/server.XXXX")
  SERVER_PORT=$(free_port)
  case $sys in
    ddpd | ddpd-stream)
      local strategy=()
      [ "$sys" = ddpd-stream ] && strategy=(--publication-strategy 'bench.>=no_merge_no_history')
      if [ "$variant" = test ]; then
        taskset -c "$SERVER_CPU" "$BIN/test_server" --port "$SERVER_PORT" --bind 127.0.0.1 \
          --threads 1 --log-level warn --outbound-queue-bytes 4294967296 $DDPD_EXTRA_ARGS \
          >"$dir/log" 2>&1 &
      else
        taskset -c "$SERVER_CPU" "$BIN/ddpd" --port "$SERVER_PORT" --bind 127.0.0.1 \
          --data-dir "$dir/data" --durability none --threads 1 --log-level warn \
          --outbound-queue-bytes 4294967296 --max-live-result 1000000000 "${strategy[@]}" \
          $DDPD_EXTRA_ARGS \
          >"$dir/log" 2>&1 &
      fi
      ;;
    nats)
      taskset -c "$SERVER_CPU" nats-server -a 127.0.0.1 -p "$SERVER_PORT" >"$dir/log" 2>&1 &
      ;;
    redis)
      taskset -c "$SERVER_CPU" redis-server --port "$SERVER_PORT" --bind 127.0.0.1 \
        --save '' --appendonly no --dir "$dir" --maxclients $((FD_LIMIT - 64)) \
        --client-output-buffer-limit 'pubsub 0 0 0' --protected-mode no >"$dir/log" 2>&1 &
      ;;
    mqtt-tcp | mqtt-ws)
      local tcp_port=$SERVER_PORT ws_port
      ws_port=$(free_port)
      [ "$sys" = mqtt-ws ] && SERVER_PORT=$ws_port
      cat >"$dir/mosquitto.conf" <<EOF
listener $tcp_port 127.0.0.1
listener $ws_port 127.0.0.1
protocol websockets
allow_anonymous true
set_tcp_nodelay true
max_queued_messages 0
persistence false
EOF
      taskset -c "$SERVER_CPU" mosquitto -c "$dir/mosquitto.conf" >"$dir/log" 2>&1 &
      ;;
  esac
  SERVER_PID=$!
  SERVER_LOG=$dir/log
  if ! wait_port "$SERVER_PORT"; then
    echo "compare: $sys server did not start on port $SERVER_PORT; its log:" >&2
    tail -5 "$SERVER_LOG" >&2 || true
    stop_server
    return 1
  fi
}

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# ---- runs ----

loadgen_system() { case $1 in ddpd | ddpd-stream) echo ddp ;; *) echo "$1" ;; esac; }

# Value of key $1 in the RESULT line $2.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

# run_loadgen SYS SCENARIO SUBS PAYLOAD PARAM -- loadgen args...
# Runs the load generator against the running server and appends a CSV row
# (and an extra row). Prints a one-line summary. Sets RESULT.
run_loadgen() {
  local sys=$1 scen=$2 subs=$3 payload=$4 param=$5
  shift 6
  local err=$WORK/loadgen.err limit
  limit=$(awk -v s="$BENCH_SECONDS" 'BEGIN { printf "%d", s * 2 + 180 }')
  RESULT=$(timeout "$limit" taskset -c "$CLIENT_CPU" "$LOADGEN" "$@" \
    --port "$SERVER_PORT" --server-pid "$SERVER_PID" --seconds "$BENCH_SECONDS" 2>"$err" |
    grep '^RESULT' || true)
  if [ -z "$RESULT" ]; then
    echo "compare: $sys $scen subscribers=$subs payload=$payload failed:" >&2
    tail -5 "$err" >&2 || true
    FAILURES=$((FAILURES + 1))
    echo "$sys,$scen,$subs,$payload,,,,," >>"$CSV"
    echo "$sys,$scen,$subs,$payload,,,,,,,,,failed" >>"$EXTRA"
    return 1
  fi
  local rate p50 p99 p999 rss
  rate=$(field delivered_per_s "$RESULT")
  p50=$(field p50_us "$RESULT") p99=$(field p99_us "$RESULT") p999=$(field p999_us "$RESULT")
  rss=$(field rss_kib "$RESULT")
  echo "$sys,$scen,$subs,$payload,$rate,$p50,$p99,$p999,$rss" >>"$CSV"
  echo "$sys,$scen,$subs,$payload,$(field delivered "$RESULT"),$(field seconds "$RESULT"),$(field server_cpu_s "$RESULT"),$(field server_cpu_pct "$RESULT"),$(field loadgen_cpu_pct "$RESULT"),$(field other_cpu_pct "$RESULT"),$(field lost "$RESULT"),$(field errors "$RESULT"),$param" >>"$EXTRA"
  printf '  %-9s %-7s subs=%-5s %5sB  %10s/s  p50 %9s us  p99 %9s us  server %3s%%  loadgen %3s%%  other %3s%%\n' \
    "$sys" "$scen" "$subs" "$payload" "$rate" "$p50" "$p99" \
    "$(field server_cpu_pct "$RESULT")" "$(field loadgen_cpu_pct "$RESULT")" "$(field other_cpu_pct "$RESULT")"
}

declare -A S1MAX

s1() {
  echo "== S1 fan-out: most delivered messages/s (closed loop, bounded in-flight window)"
  for sys in $SYSTEMS; do
    for payload in $S1_PAYLOADS; do
      for subs in $S1_SUBSCRIBERS; do
        start_server "$sys" || { FAILURES=$((FAILURES + 1)); continue; }
        if run_loadgen "$sys" S1 "$subs" "$payload" "" -- fanout --system "$(loadgen_system "$sys")" \
            --subscribers "$subs" --payload-bytes "$payload"; then
          if [ "$subs" = 100 ] && [ "$payload" = 128 ]; then
            S1MAX[$sys]=$(field delivered_per_s "$RESULT")
          fi
        fi
        stop_server
      done
    done
  done
}

s2() {
  echo "== S2 latency at ${S2_LOADS// /%, }% of each system's S1 maximum (100 subscribers, 128 B, open loop)"
  for sys in $SYSTEMS; do
    if [ -z "${S1MAX[$sys]:-}" ]; then
      # S1 was not run (or not at 100 x 128 B): measure the maximum first.
      start_server "$sys" || { FAILURES=$((FAILURES + 1)); continue; }
      local r
      r=$(timeout 300 taskset -c "$CLIENT_CPU" "$LOADGEN" fanout --system "$(loadgen_system "$sys")" \
        --subscribers 100 --payload-bytes 128 --port "$SERVER_PORT" --seconds "$BENCH_SECONDS" \
        2>/dev/null | grep '^RESULT' || true)
      stop_server
      S1MAX[$sys]=$(field delivered_per_s "$r")
      [ -n "${S1MAX[$sys]}" ] || { echo "compare: $sys: no S1 maximum, skipping S2" >&2; FAILURES=$((FAILURES + 1)); continue; }
    fi
    for load in $S2_LOADS; do
      # Publishes per second: the share of the delivered maximum, over 100 subscribers.
      local rate
      rate=$(awk -v m="${S1MAX[$sys]}" -v l="$load" 'BEGIN { r = m * l / 100 / 100; if (r < 1) r = 1; printf "%.0f", r }')
      start_server "$sys" || { FAILURES=$((FAILURES + 1)); continue; }
      run_loadgen "$sys" "S2@$load%" 100 128 "rate=$rate" -- latency --system "$(loadgen_system "$sys")" \
        --subscribers 100 --payload-bytes 128 --rate "$rate" || true
      stop_server
    done
  done
}

s4() {
  echo "== S4 server RSS per idle subscribed connection"
  for sys in $SYSTEMS; do
    local n=$S4_CONNECTIONS ok=0
    # libmosquitto takes three descriptors per client (the socket and a
    # wake-up socket pair): stay under the load generator's limit.
    if [ "$sys" = mqtt-tcp ] && [ $((n * 3 + 200)) -gt "$FD_LIMIT" ]; then
      n=$(((FD_LIMIT - 200) / 3 / 1000 * 1000))
      echo "compare: mqtt-tcp: S4 with $n connections (libmosquitto needs 3 descriptors per client, limit $FD_LIMIT)" >&2
    fi
    while [ "$n" -ge 500 ]; do
      start_server "$sys" || break
      sleep 0.5  # let the server settle before the baseline RSS
      local err=$WORK/idle.err r
      r=$(timeout 600 taskset -c "$CLIENT_CPU" "$LOADGEN" idle --system "$(loadgen_system "$sys")" \
        --connections "$n" --port "$SERVER_PORT" --server-pid "$SERVER_PID" 2>"$err" |
        grep '^RESULT' || true)
      stop_server
      if [ -n "$r" ]; then
        ok=1
        echo "$sys,S4,0,0,,,,,$(field rss_before_kib "$r")" >>"$CSV"
        echo "$sys,S4,$n,0,,,,,$(field rss_kib "$r")" >>"$CSV"
        echo "$sys,S4,$n,0,$n,$(field seconds "$r"),$(field server_cpu_s "$r"),,$(field loadgen_cpu_pct "$r"),,,$(field errors "$r"),kib_per_conn=$(field kib_per_conn "$r")" >>"$EXTRA"
        printf '  %-9s %6s connections  RSS %s -> %s KiB  = %s KiB per connection\n' "$sys" "$n" \
          "$(field rss_before_kib "$r")" "$(field rss_kib "$r")" "$(field kib_per_conn "$r")"
        break
      fi
      echo "compare: $sys: S4 with $n connections failed: $(tail -1 "$err")" >&2
      n=$((n / 2))
    done
    [ "$ok" = 1 ] || FAILURES=$((FAILURES + 1))
  done
}

s5() {
  echo "== S5 connects/s (connect, handshake, subscribe confirmed, close; $S5_CONCURRENCY in parallel)"
  for sys in $SYSTEMS; do
    start_server "$sys" || { FAILURES=$((FAILURES + 1)); continue; }
    run_loadgen "$sys" S5 "$S5_CONCURRENCY" 0 "concurrency=$S5_CONCURRENCY" -- connect \
      --system "$(loadgen_system "$sys")" --concurrency "$S5_CONCURRENCY" || true
    stop_server
  done
}

# s8_run VARIANT SYSTEM SCENARIO PARAM METHOD PARAMS [PIPELINE]: one S8 run
# on a fresh server (VARIANT test: test_server), PIPELINE calls in flight
# per client (default 1).
s8_run() {
  local variant=$1 sys=$2 scen=$3 param=$4 method=$5 params=$6 pipeline=${7:-1}
  if start_server ddpd "$variant"; then
    run_loadgen "$sys" "$scen" "$S8_CLIENTS" 0 "$param" -- methods --system ddp \
      --concurrency "$S8_CLIENTS" --pipeline "$pipeline" --method "$method" --params "$params" || true
    stop_server
  else
    FAILURES=$((FAILURES + 1))
  fi
}

s8() {
  case " $SYSTEMS " in *" ddpd "*) ;; *) return 0 ;; esac
  echo "== S8 DDP method calls/s ($S8_CLIENTS clients, closed loop)"
  # Each with one call in flight per client, then with S8_PIPELINE, as a
  # Meteor client keeps them when it calls without waiting for results.
  if [ -x "$BIN/test_server" ]; then
    s8_run test ddpd-test_server S8-add "add [1,2]" add '[1,2]'
    s8_run test ddpd-test_server S8-add-pipelined "add [1,2], $S8_PIPELINE in flight per client" \
      add '[1,2]' "$S8_PIPELINE"
  else
    echo "compare: $BIN/test_server missing (tests not built): skipping the pure dispatch figure" >&2
  fi
  s8_run "" ddpd S8-query "query empty topic" query '["bench.empty",{}]'
  s8_run "" ddpd S8-query-pipelined "query empty topic, $S8_PIPELINE in flight per client" \
    query '["bench.empty",{}]' "$S8_PIPELINE"
}

echo "# compare: ${BENCH_SECONDS}s per run; servers on CPU $SERVER_CPU, loadgen on CPU $CLIENT_CPU; fd limit $FD_LIMIT"
for scen in $SCENARIOS; do
  case $scen in
    S1) s1 ;; S2) s2 ;; S4) s4 ;; S5) s5 ;; S8) s8 ;;
    *) die "unknown scenario '$scen' in SCENARIOS (S1 S2 S4 S5 S8)" ;;
  esac
done

# ---- report ----

versions() {
  echo "- ddpd: $("$BIN/ddpd" --version 2>&1 | head -1), binary built $(date -u -r "$BIN/ddpd" "+%F %H:%M UTC") (tree at $(git rev-parse --short HEAD 2>/dev/null || echo "?"))"
  command -v nats-server >/dev/null && echo "- nats-server: $(nats-server --version 2>&1 | head -1)"
  command -v redis-server >/dev/null && echo "- Redis: $(redis-server --version 2>&1 | sed 's/ sha=.*//')"
  command -v mosquitto >/dev/null && echo "- mosquitto: $(mosquitto -h 2>&1 | sed -n 1p)"
  echo "- clients: nats.c $(pkg-config --modversion libnats 2>/dev/null), hiredis $(pkg-config --modversion hiredis 2>/dev/null), libmosquitto $(pkg-config --modversion libmosquitto 2>/dev/null), Boost.Beast (DDP, MQTT over WebSocket)"
}
{
  echo "# Side-by-side comparison (issue 7)"
  echo
  if [ "${REPORT_ONLY:-0}" = 1 ]; then
    echo "Rebuilt by \`REPORT_ONLY=1 bench/compare.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') from the CSVs of a run (measured seconds per run in compare_extra.csv)."
  else
    echo "Generated by \`bench/compare.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'): ${BENCH_SECONDS} s measured per run."
  fi
  echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(uname -sr)."
  echo "Each server alone on CPU $SERVER_CPU, freshly started per run; the load generator on CPU $CLIENT_CPU."
  echo "ddpd runs with \`--durability none --threads 1\` (the peers are not durable either)."
  echo
  versions
  echo
  awk -F, -f bench/compare_report.awk "$EXTRA" "$CSV"
} >"$OUT/compare.md"

# ---- plots ----
plot() {
  local file=$1 title=$2 ylabel=$3 xlabel=$4 logx=$5 dir=$6 ycol=$7
  # gnuplot's single-quoted strings escape a quote by doubling it.
  title=${title//\'/\'\'} ylabel=${ylabel//\'/\'\'} xlabel=${xlabel//\'/\'\'}
  {
    echo "set terminal pngcairo size 900,560 font 'sans,10'"
    echo "set output '$file'"
    echo "set title '$title'"
    echo "set xlabel '$xlabel'; set ylabel '$ylabel'"
    echo "set logscale y; set grid; set key outside right"
    [ "$logx" = 1 ] && echo "set logscale x"
    printf "plot "
    local first=1
    for sys in $SYSTEMS ddpd-test_server; do
      [ -s "$dir/$sys.dat" ] || continue
      [ $first = 1 ] || printf ", "
      printf "'%s' using 1:%s with linespoints title '%s'" "$dir/$sys.dat" "$ycol" "$sys"
      first=0
    done
    echo
  } >"$WORK/plot.gp"
  if grep -q "using" "$WORK/plot.gp" && ! gnuplot "$WORK/plot.gp" 2>"$WORK/gnuplot.err"; then
    echo "compare: plotting $file failed:" >&2
    cat "$WORK/gnuplot.err" >&2
  fi
}
for payload in $S1_PAYLOADS; do
  d=$WORK/s1_$payload
  mkdir -p "$d"
  for sys in $SYSTEMS; do
    awk -F, -v s="$sys" -v p="$payload" '$1 == s && $2 == "S1" && $4 == p && $5 != "" { print $3, $5 }' "$CSV" >"$d/$sys.dat"
  done
  plot "$OUT/s1_fanout_${payload}B.png" "S1 fan-out, ${payload} B payload: delivered messages/s" \
    "delivered messages/s" "subscribers" 1 "$d" 2
done
d=$WORK/s2
mkdir -p "$d"
for sys in $SYSTEMS; do
  awk -F, -v s="$sys" '$1 == s && $2 ~ /^S2@/ && $5 != "" { l = $2; gsub(/S2@|%/, "", l); print l, $6, $7, $8 }' "$CSV" >"$d/$sys.dat"
done
plot "$OUT/s2_latency_p50.png" "S2 latency p50 (100 subscribers, 128 B, open loop)" "p50 latency (us)" "load (% of the system's own S1 maximum)" 0 "$d" 2
plot "$OUT/s2_latency_p99.png" "S2 latency p99 (100 subscribers, 128 B, open loop)" "p99 latency (us)" "load (% of the system's own S1 maximum)" 0 "$d" 3
plot "$OUT/s2_latency_p999.png" "S2 latency p99.9 (100 subscribers, 128 B, open loop)" "p99.9 latency (us)" "load (% of the system's own S1 maximum)" 0 "$d" 4

echo "# wrote $CSV, $EXTRA, $OUT/compare.md and plots"
if [ "$FAILURES" -gt 0 ]; then
  echo "compare: $FAILURES run(s) failed (see above)" >&2
  exit 1
fi
