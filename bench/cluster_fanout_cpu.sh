#!/usr/bin/env bash
# (bench/RESULTS.md, issue 16: fan-out at 800 publishes/s to 100 subscribers, one node vs the
# cluster, CPU of each ddpd process from /proc.)  Run after `make build`: bench/cluster_fanout_cpu.sh
# Fan-out at a rate both setups sustain: CPU of the ddpd processes per delivered message.
set -u
cd "$(dirname "$0")/.."
B=build/bin
W=$(mktemp -d -p "$PWD/build" fan.XXXX)
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
start() { # name flags...
  local n=$1; shift
  $B/ddpd --port 0 --bind 127.0.0.1 --data-dir $W/$n --log-level info "$@" > $W/$n.log 2>&1 &
  eval "pid_$n=$!"
  for _ in $(seq 200); do grep -q "listening on" $W/$n.log && break; sleep 0.05; done
  eval "port_$n=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' $W/$n.log)"
}
bench() { $B/ddpctl --url "$1" --json bench --subscribers 100 --rate 800 --duration 5 --size 128 --threads 2; }
start single --durability sync
c0=$(cpu $pid_single); out=$(bench ws://127.0.0.1:$port_single/websocket); c1=$(cpu $pid_single)
echo "single: $(echo $out | grep -o '"delivered":[0-9]*') ddpd_ticks $((c1-c0)) p50 $(echo $out | grep -o '"latency_us":{"p50":[0-9.]*')"
kill $pid_single
base=$((30000 + RANDOM % 10000)); urls=""
for i in 0 1 2; do
  routes=""; for j in 0 1 2; do [ $j = $i ] && continue; routes="$routes${routes:+, }nats-route://127.0.0.1:$((base+100+j))"; done
  printf 'server_name: n%s\nlisten: 127.0.0.1:%s\nmax_payload: 8MB\njetstream { store_dir: "%s", max_memory_store: 256MB, max_file_store: 8GB }\ncluster { name: f, listen: 127.0.0.1:%s, routes: [%s] }\n' $i $((base+i)) $W/n$i $((base+100+i)) "$routes" > $W/n$i.conf
  /usr/sbin/nats-server -c $W/n$i.conf > $W/n$i.log 2>&1 &
  urls="$urls${urls:+,}nats://127.0.0.1:$((base+i))"
done
sleep 2
start a --cluster $urls --node-id a
start b --cluster $urls --node-id b
sleep 1
a0=$(cpu $pid_a); b0=$(cpu $pid_b)
out=$(bench ws://127.0.0.1:$port_a/websocket,ws://127.0.0.1:$port_b/websocket)
a1=$(cpu $pid_a); b1=$(cpu $pid_b)
echo "cluster cross-node: $(echo $out | grep -o '"delivered":[0-9]*') ddpd_a_ticks $((a1-a0)) ddpd_b_ticks $((b1-b0)) p50 $(echo $out | grep -o '"latency_us":{"p50":[0-9.]*')"
a0=$(cpu $pid_a); b0=$(cpu $pid_b)
out=$(bench ws://127.0.0.1:$port_a/websocket)
a1=$(cpu $pid_a); b1=$(cpu $pid_b)
echo "cluster same-node: $(echo $out | grep -o '"delivered":[0-9]*') ddpd_a_ticks $((a1-a0)) ddpd_b_ticks $((b1-b0)) p50 $(echo $out | grep -o '"latency_us":{"p50":[0-9.]*')"
kill $pid_a $pid_b; pkill -f "$W/n" ; sleep 0.5; rm -rf $W
