# Markdown tables for bench/compare.sh:
#   awk -F, -f bench/compare_report.awk compare_extra.csv compare.csv
# The first file (CPU, losses, parameters per run) is read into memory;
# the second (the fixed-header results) is printed as one table per
# scenario, then the issue 7 targets are checked against the numbers.

function key(a, b, c, d) { return a SUBSEP b SUBSEP c SUBSEP d }
function num(x) { return x == "" ? "–" : x }
function fmt_int(x,   s, out, n) {
  if (x == "") return "–"
  s = sprintf("%.0f", x)
  out = ""
  while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
  return s out
}
function fmt_us(x) { return x == "" ? "–" : (x >= 1000 ? sprintf("%.2f ms", x / 1000) : sprintf("%.0f µs", x)) }
# What limited a closed-loop run: a saturated side, else neither (window,
# round trips, or the single publisher). Flags runs where the rest of the
# machine took a noticeable share of CPU.
function limit(k,   r) {
  if (lpct[k] != "" && lpct[k] + 0 >= 90) r = "**loadgen** (CPU " lpct[k] "%)"
  else if (spct[k] != "" && spct[k] + 0 >= 80) r = "server"
  else r = "neither saturated"
  return r noisy(k)
}
function noisy(k) { return (opct[k] != "" && opct[k] + 0 >= 25) ? " — noisy (other CPU " opct[k] "%)" : "" }
function cpu_per(k, per,   d) {  # server CPU seconds per `per` operations
  d = delivered[k] + 0
  if (d == 0 || scpu[k] == "" || scpu[k] < 0) return "–"
  return sprintf("%.2f", scpu[k] / d * per)
}

FNR == 1 { next }
NR == FNR {
  k = key($1, $2, $3, $4)
  delivered[k] = $5; secs[k] = $6; scpu[k] = $7; spct[k] = $8; lpct[k] = $9
  opct[k] = $10; lost[k] = $11; errs[k] = $12; param[k] = $13
  next
}
{
  n++
  sys[n] = $1; scen[n] = $2; subs[n] = $3; pay[n] = $4
  rate[n] = $5; p50[n] = $6; p99[n] = $7; p999[n] = $8; rss[n] = $9
}

END {
  print "Column meanings: *delivered/s* counts messages received by subscribers (S1, S2),"
  print "completed connects (S5) or completed calls (S8) per second of the measured window."
  print "*limited by*: the side whose CPU was saturated (load generator ≥ 90% of its core, server"
  print "≥ 80%); when the load generator is saturated the system's figure is a **lower bound**."
  print "*other CPU*: the rest of the machine during the run (other processes and interrupt time"
  print "charged to neither side); a run with ≥ 25% is marked noisy."
  print ""

  print "## S1 fan-out: maximum delivered messages/s"
  print ""
  print "One publisher, closed loop with a bounded in-flight window (a message is in flight until"
  print "every subscriber has it); latencies here are at saturation, not a latency result."
  print ""
  print "| system | payload | subscribers | delivered/s | p50 | p99 | server CPU | server CPU-s per M delivered | loadgen CPU | lost | limited by |"
  print "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  for (i = 1; i <= n; i++) {
    if (scen[i] != "S1") continue
    k = key(sys[i], scen[i], subs[i], pay[i])
    if (param[k] == "failed") { printf "| %s | %s B | %s | failed | | | | | | | |\n", sys[i], pay[i], subs[i]; continue }
    printf "| %s | %s B | %s | %s | %s | %s | %s%% | %s | %s%% | %s | %s |\n", sys[i], pay[i], subs[i],
      fmt_int(rate[i]), fmt_us(p50[i]), fmt_us(p99[i]), num(spct[k]), cpu_per(k, 1e6), num(lpct[k]),
      num(lost[k]), limit(k)
    if (subs[i] == 100 && pay[i] == 128) { s1_100[sys[i]] = rate[i]; s1_100_lg[sys[i]] = lpct[k]; s1_100_sp[sys[i]] = spct[k] }
  }
  print ""

  print "## S2 latency at 10/50/80% of each system's own S1 maximum"
  print ""
  print "100 subscribers, 128 B, open loop: message k is due at t0 + k/rate and its latency is"
  print "measured from that due time (no coordinated omission)."
  print ""
  print "| system | load | published/s | delivered/s | p50 | p99 | p99.9 | lost | server CPU | loadgen CPU | other CPU |"
  print "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for (i = 1; i <= n; i++) {
    if (scen[i] !~ /^S2@/) continue
    k = key(sys[i], scen[i], subs[i], pay[i])
    load = scen[i]; sub(/^S2@/, "", load)
    r = param[k]; sub(/^rate=/, "", r)
    if (param[k] == "failed") { printf "| %s | %s | failed | | | | | | | | |\n", sys[i], load; continue }
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s%% | %s%% | %s%% |\n", sys[i], load, fmt_int(r),
      fmt_int(rate[i]), fmt_us(p50[i]), fmt_us(p99[i]), fmt_us(p999[i]), num(lost[k]), num(spct[k]),
      num(lpct[k]), num(opct[k])
    if (load == "50%") { s2_50_p99[sys[i]] = p99[i]; s2_50_lost[sys[i]] = lost[k] }
  }
  print ""

  print "## S4 server memory per idle subscribed connection"
  print ""
  print "| system | connections | server RSS before | after | per connection |"
  print "| --- | ---: | ---: | ---: | ---: |"
  for (i = 1; i <= n; i++) {
    if (scen[i] != "S4" || subs[i] == 0) continue
    before = ""
    for (j = 1; j <= n; j++) if (sys[j] == sys[i] && scen[j] == "S4" && subs[j] == 0) before = rss[j]
    per = (before == "" || rss[i] == "") ? "" : (rss[i] - before) / subs[i]
    printf "| %s | %s | %s KiB | %s KiB | **%s KiB** |\n", sys[i], fmt_int(subs[i]), fmt_int(before),
      fmt_int(rss[i]), per == "" ? "–" : sprintf("%.2f", per)
    s4[sys[i]] = per; s4n[sys[i]] = subs[i]
  }
  print ""

  print "## S5 connects per second"
  print ""
  print "Connect, protocol handshake, one subscription confirmed by the server, close; the"
  print "*subscribers* column of the CSV holds the number of parallel connect loops."
  print ""
  print "| system | parallel | connects/s | p50 (connect → subscribed) | p99 | server CPU per connect | server CPU | loadgen CPU | limited by |"
  print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  for (i = 1; i <= n; i++) {
    if (scen[i] != "S5") continue
    k = key(sys[i], scen[i], subs[i], pay[i])
    if (param[k] == "failed") { printf "| %s | %s | failed | | | | | | |\n", sys[i], subs[i]; continue }
    printf "| %s | %s | %s | %s | %s | %s µs | %s%% | %s%% | %s |\n", sys[i], subs[i], fmt_int(rate[i]),
      fmt_us(p50[i]), fmt_us(p99[i]), cpu_per(k, 1e6), num(spct[k]), num(lpct[k]), limit(k)
  }
  print ""

  print "## S8 DDP method calls per second"
  print ""
  print "Closed loop, one call in flight per client (`add-pipelined`: several, as a Meteor client"
  print "that calls without waiting keeps them); a call is done when both its `result` and an"
  print "`updated` naming it arrived. `ddpd-test_server` is ddpd's server library with test methods"
  print "(`add` [1,2]: pure dispatch); `ddpd` runs `query` on an empty topic (through the engine)."
  print ""
  print "| server | method | clients | calls/s | p50 | p99 | server CPU per call | server CPU | loadgen CPU | limited by |"
  print "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  for (i = 1; i <= n; i++) {
    if (scen[i] !~ /^S8/) continue
    k = key(sys[i], scen[i], subs[i], pay[i])
    m = scen[i]; sub(/^S8-/, "", m)
    if (param[k] == "failed") { printf "| %s | %s | %s | failed | | | | | | |\n", sys[i], m, subs[i]; continue }
    printf "| %s | %s | %s | %s | %s | %s | %s µs | %s%% | %s%% | %s |\n", sys[i], m, subs[i],
      fmt_int(rate[i]), fmt_us(p50[i]), fmt_us(p99[i]), cpu_per(k, 1e6), num(spct[k]), num(lpct[k]),
      limit(k)
    s8[scen[i]] = rate[i]; s8_lg[scen[i]] = lpct[k]
  }
  print ""

  print "## Issue 7 targets, as measured"
  print ""
  d = s1_100["ddpd"]; nt = s1_100["nats"]; mw = s1_100["mqtt-ws"]
  if (d != "" && nt != "") {
    verdict = (d + 0 >= nt + 0) ? "met" : "**not met**"
    if (d + 0 >= nt + 0 && s1_100_lg["nats"] + 0 >= 90) verdict = "inconclusive (nats-server was limited by the load generator)"
    printf "- S1 delivered/s ≥ nats-server's at 100 subscribers, 128 B: ddpd %s/s vs nats-server %s/s (%.2f×) — %s.\n",
      fmt_int(d), fmt_int(nt), d / nt, verdict
  } else print "- S1 vs nats-server: not measured."
  if (d != "" && mw != "") {
    verdict = (d + 0 >= 5 * mw) ? "met" : "**not met**"
    printf "- S1 ≥ 5× mosquitto over WebSocket (100 subscribers, 128 B): ddpd %s/s vs %s/s (%.2f×) — %s.\n",
      fmt_int(d), fmt_int(mw), d / mw, verdict
  } else print "- S1 vs mosquitto over WebSocket: not measured."
  ds = s1_100["ddpd-stream"]
  if (ds != "" && nt != "" && mw != "") {
    verdict = (ds + 0 >= nt + 0) ? "met" : "**not met**"
    if (ds + 0 >= nt + 0 && s1_100_lg["nats"] + 0 >= 90) verdict = "inconclusive (nats-server was limited by the load generator)"
    if (ds + 0 < nt + 0 && s1_100_lg["ddpd-stream"] + 0 >= 90 && s1_100_sp["ddpd-stream"] + 0 < 90) verdict = "**not shown** (the load generator, not ddpd, was saturated)"
    printf "- The same with event-stream topics (`ddpd-stream`, `--publication-strategy no_merge_no_history`): %s/s, %.2f× nats-server (%s), %.2f× mosquitto over WebSocket (%s).\n",
      fmt_int(ds), ds / nt, verdict, ds / mw, (ds + 0 >= 5 * mw) ? "met" : "**not met**"
  }
  if ("ddpd" in s2_50_p99) {
    verdict = (s2_50_p99["ddpd"] + 0 < 1000 && s2_50_lost["ddpd"] + 0 == 0) ? "met" : "**not met**"
    printf "- S2 p99 < 1 ms at 50%% load: ddpd p99 %s — %s.\n", fmt_us(s2_50_p99["ddpd"]), verdict
  } else print "- S2: not measured."
  if ("ddpd" in s4 && s4["ddpd"] != "") {
    verdict = (s4["ddpd"] <= 4) ? "met" : "**not met**"
    printf "- S4 ≤ 4 KiB per idle connection: ddpd %.2f KiB (%s connections) — %s.\n", s4["ddpd"],
      fmt_int(s4n["ddpd"]), verdict
  } else print "- S4: not measured."
  if ("S8-add" in s8) {
    verdict = (s8["S8-add"] + 0 >= 200000) ? "met" : "**not met**"
    if (s8["S8-add"] + 0 < 200000 && s8_lg["S8-add"] + 0 >= 90) verdict = "not shown (the load generator was saturated first)"
    printf "- S8 ≥ 200k calls/s: test_server `add` %s calls/s with one call in flight per client — %s.\n", fmt_int(s8["S8-add"]), verdict
    if ("S8-add-pipelined" in s8) {
      verdict = (s8["S8-add-pipelined"] + 0 >= 200000) ? "met" : "**not met**"
      if (s8["S8-add-pipelined"] + 0 < 200000 && s8_lg["S8-add-pipelined"] + 0 >= 90) verdict = "not shown (the load generator was saturated first)"
      printf "  With several calls in flight per client: %s calls/s — %s.\n", fmt_int(s8["S8-add-pipelined"]), verdict
    }
  } else print "- S8: not measured."
}
