// The scenarios. Each prints one line, `RESULT key=value ...`, that
// bench/compare.sh turns into CSV and Markdown. Common keys:
//
//   delivered_per_s  messages (calls, connects) completed per second in the
//                    measured window
//   p50_us p99_us p999_us  latency percentiles (ddp::Histogram, ~3% error)
//   rss_kib          the server's VmRSS at the end
//   server_cpu_s     the server's CPU seconds during the measured window
//   server_cpu_pct   the same per wall second (100 = the one server core)
//   loadgen_cpu_pct  this process's CPU per wall second; >= 90 means the
//                    load generator, not the server, was the limit
//   other_cpu_pct    the rest of the machine's CPU (other processes, and
//                    interrupt time not charged to either): high means a
//                    noisy run
//   errors lost      connection errors; deliveries that never arrived
#include "scenarios.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <vector>

#include "boost/asio.hpp"
#include "common/histogram.h"

namespace loadgen {
namespace {

using ddp::Histogram;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

double Warmup(const Options& o) {
  return o.warmup >= 0 ? o.warmup : std::max(0.2, o.seconds * 0.1);
}

// Runs the loop until `done()` or `seconds` pass; returns done(). With
// `busy`, it polls without ever sleeping in epoll_wait.
template <typename Done>
bool RunUntil(asio::io_context& ioc, double seconds, Done done, bool busy = false) {
  // The guard keeps run_for from returning at once when nothing is pending
  // (say, while NATS connects on its helper threads): no busy loop.
  auto guard = asio::make_work_guard(ioc);
  int64_t deadline = NowNs() + static_cast<int64_t>(seconds * 1e9);
  while (!done() && NowNs() < deadline) {
    if (busy) {
      for (int i = 0; i < 1000; ++i) ioc.poll();
    } else {
      ioc.run_for(milliseconds(5));
    }
    if (ioc.stopped()) ioc.restart();
  }
  return done();
}

void RunFor(asio::io_context& ioc, double seconds) {
  RunUntil(ioc, seconds, [] { return false; });
}

// CPU and wall time of the measured window, for the server and for us.
struct Meter {
  int pid = 0;
  int64_t t0 = 0, t1 = 0;
  double server0 = -1, server1 = -1, self0 = 0, self1 = 0, machine0 = -1, machine1 = -1;

  void Start() {
    t0 = NowNs();
    server0 = ProcessCpuSeconds(pid);
    self0 = SelfCpuSeconds();
    machine0 = MachineBusySeconds();
  }
  void Stop() {
    t1 = NowNs();
    server1 = ProcessCpuSeconds(pid);
    self1 = SelfCpuSeconds();
    machine1 = MachineBusySeconds();
  }
  double elapsed() const { return static_cast<double>(t1 - t0) / 1e9; }
  double server_cpu() const { return server0 < 0 || server1 < 0 ? -1 : server1 - server0; }
  double server_pct() const { return server_cpu() < 0 ? -1 : 100 * server_cpu() / elapsed(); }
  double self_pct() const { return 100 * (self1 - self0) / elapsed(); }
  double other_pct() const {
    if (machine0 < 0 || machine1 < 0) return -1;
    double other = (machine1 - machine0) - (self1 - self0) - std::max(0.0, server_cpu());
    return std::max(0.0, 100 * other / elapsed());
  }
};

// Warms up, then measures `o.seconds` with `measuring` set (the scenario's
// callbacks count only then). `at_start` runs when the window opens.
Meter MeasureWindow(asio::io_context& ioc, const Options& o, bool& measuring,
                    const std::function<void()>& at_start = nullptr) {
  YieldHelperThreads();
  RunFor(ioc, Warmup(o));
  Meter meter{o.server_pid};
  measuring = true;
  if (at_start) at_start();
  meter.Start();
  RunFor(ioc, o.seconds);
  meter.Stop();
  measuring = false;
  return meter;
}

void PrintResult(const Meter& m, int64_t done, const Histogram& h, int64_t rss,
                 const std::string& extra) {
  std::printf(
      "RESULT delivered=%lld seconds=%.3f delivered_per_s=%.0f p50_us=%.1f p99_us=%.1f "
      "p999_us=%.1f rss_kib=%lld server_cpu_s=%.3f server_cpu_pct=%.0f loadgen_cpu_pct=%.0f "
      "other_cpu_pct=%.0f%s\n",
      static_cast<long long>(done), m.elapsed(), static_cast<double>(done) / m.elapsed(),
      static_cast<double>(h.Percentile(50)) / 1e3, static_cast<double>(h.Percentile(99)) / 1e3,
      static_cast<double>(h.Percentile(99.9)) / 1e3, static_cast<long long>(rss), m.server_cpu(),
      m.server_pct(), m.self_pct(), m.other_pct(), extra.c_str());
  std::fflush(stdout);
}

// Opens `n` connections with at most `o.parallel_opens` handshakes in flight
// (servers' listen backlogs are finite: a burst of 10k SYNs would be
// dropped and retried after a second). Returns false, with a message, when
// not all are ready within o.timeout.
class Opener {
 public:
  Opener(asio::io_context& ioc, Driver& driver, const Options& o) : ioc_(ioc), d_(driver), o_(o) {}

  bool Open(int n, bool subscribe, const std::function<std::string(int)>& topic_of,
            const std::function<void(std::string_view)>& on_message,
            std::vector<std::shared_ptr<Connection>>& out) {
    n_ = n;
    subscribe_ = subscribe;
    topic_of_ = topic_of;
    on_message_ = on_message;
    out_ = &out;
    out.resize(static_cast<size_t>(n));
    int first = std::min(n, std::max(1, o_.parallel_opens));
    for (int i = 0; i < first; ++i) StartOne();
    bool ok = RunUntil(ioc_, o_.timeout, [&] { return ready_ + failed_ >= n_; });
    if (!ok || failed_ > 0) {
      std::fprintf(stderr, "loadgen: %d of %d connections ready (%d failed%s%s)\n", ready_, n_,
                   failed_, first_error_.empty() ? "" : ", first error: ", first_error_.c_str());
      return false;
    }
    return true;
  }

  // Errors after a connection was ready (lost during the run).
  int lost_connections() const { return lost_; }
  const std::string& first_error() const { return first_error_; }

 private:
  void StartOne() {
    if (started_ >= n_) return;
    int i = started_++;
    Events ev;
    auto ready = std::make_shared<bool>(false);
    ev.on_ready = [this, ready] {
      if (*ready) return;
      *ready = true;
      ++ready_;
      StartOne();
    };
    ev.on_message = on_message_;
    ev.on_error = [this, ready](const std::string& e) {
      if (first_error_.empty()) first_error_ = e;
      if (*ready) {
        ++lost_;
        return;
      }
      ++failed_;
      StartOne();
    };
    (*out_)[static_cast<size_t>(i)] = d_.Open(topic_of_(i), subscribe_, std::move(ev));
  }

  asio::io_context& ioc_;
  Driver& d_;
  const Options& o_;
  int n_ = 0, started_ = 0, ready_ = 0, failed_ = 0, lost_ = 0;
  bool subscribe_ = true;
  std::function<std::string(int)> topic_of_;
  std::function<void(std::string_view)> on_message_;
  std::vector<std::shared_ptr<Connection>>* out_ = nullptr;
  std::string first_error_;
};

// Opens one publisher; false when it does not come up.
std::shared_ptr<Connection> OpenPublisher(asio::io_context& ioc, Driver& d, const Options& o,
                                          Opener* lost_counter) {
  bool ready = false;
  std::string error;
  Events ev;
  ev.on_ready = [&ready] { ready = true; };
  ev.on_error = [&error](const std::string& e) {
    if (error.empty()) error = e;
    std::fprintf(stderr, "loadgen: publisher: %s\n", e.c_str());
  };
  auto c = d.Open(o.topic, false, std::move(ev));
  RunUntil(ioc, o.timeout, [&] { return ready || !error.empty(); });
  if (!ready) {
    std::fprintf(stderr, "loadgen: publisher not connected: %s\n",
                 error.empty() ? "timeout" : error.c_str());
    return nullptr;
  }
  return c;
}

}  // namespace

// S1: the most messages per second the system delivers. Closed loop: at
// most `window` messages are in flight (sent, not yet received by every
// subscriber), so the publisher goes exactly as fast as the slowest
// subscriber is served, without an unbounded queue anywhere. A message
// that has not reached everyone within 5 s counts its missing deliveries as
// lost and frees its slot (QoS 0 systems may drop).
int RunFanout(const Options& o) {
  asio::io_context ioc(1);
  auto driver = MakeDriver(o.system, ioc, o.endpoint);
  const int n = o.subscribers;
  const int window = o.window > 0 ? o.window : std::clamp(50000 / n, 4, 1000);
  constexpr int64_t kExpireNs = 5'000'000'000;

  struct InFlight {
    int64_t ts;
    int count;
  };
  std::deque<InFlight> inflight;
  Histogram latency;
  bool measuring = false, publishing = false;
  int64_t delivered = 0, lost = 0, stray = 0, last_ts = 0;
  std::shared_ptr<Connection> pub;
  std::string payload;

  auto refill = [&] {
    while (publishing && static_cast<int>(inflight.size()) < window) {
      int64_t ts = std::max(NowNs(), last_ts + 1);
      last_ts = ts;
      inflight.push_back({ts, 0});
      MakePayload(payload, ts, static_cast<size_t>(o.payload_bytes));
      pub->Publish(payload);
    }
  };
  auto on_message = [&](std::string_view m) {
    int64_t ts = FindTs(m);
    auto it = std::lower_bound(inflight.begin(), inflight.end(), ts,
                               [](const InFlight& f, int64_t t) { return f.ts < t; });
    if (it == inflight.end() || it->ts != ts) {
      ++stray;  // expired, or a message from before the run
      return;
    }
    if (measuring) {
      latency.Add(NowNs() - ts);
      ++delivered;
    }
    if (++it->count == n) {
      while (!inflight.empty() && inflight.front().count == n) inflight.pop_front();
      refill();
    }
  };

  std::vector<std::shared_ptr<Connection>> subs;
  Opener opener(ioc, *driver, o);
  if (!opener.Open(
          n, true, [&](int) { return o.topic; }, on_message, subs))
    return 1;
  pub = OpenPublisher(ioc, *driver, o, &opener);
  if (!pub) return 1;

  asio::steady_timer expiry(ioc);
  std::function<void()> arm_expiry = [&] {
    expiry.expires_after(milliseconds(100));
    expiry.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      int64_t now = NowNs();
      bool freed = false;
      while (!inflight.empty() && now - inflight.front().ts > kExpireNs) {
        lost += n - inflight.front().count;
        inflight.pop_front();
        freed = true;
      }
      while (!inflight.empty() && inflight.front().count == n) inflight.pop_front();
      if (freed) refill();
      arm_expiry();
    });
  };
  arm_expiry();

  publishing = true;
  refill();
  int64_t lost0 = 0;
  Meter meter = MeasureWindow(ioc, o, measuring, [&] { lost0 = lost; });
  publishing = false;
  int64_t rss = ProcessRssKib(o.server_pid);
  char extra[256];
  std::snprintf(extra, sizeof extra, " window=%d lost=%lld stray=%lld errors=%d", window,
                static_cast<long long>(lost - lost0), static_cast<long long>(stray),
                opener.lost_connections());
  PrintResult(meter, delivered, latency, rss, extra);
  if (delivered == 0) std::fprintf(stderr, "loadgen: nothing was delivered\n");
  // Leave without tearing down thousands of connections: the servers see
  // the sockets close when the process exits.
  std::fflush(stderr);
  std::_Exit(delivered > 0 ? 0 : 1);
}

// S2: latency at a fixed rate, open loop. Message k is due at t0 + k/rate
// and carries that scheduled time, however late the load generator gets to
// send it, so a stall (of the server or of ours) shows in the latency of
// every message it delays: no coordinated omission.
int RunLatency(const Options& o) {
  if (o.rate <= 0) {
    std::fprintf(stderr, "loadgen: --rate must be > 0\n");
    return 2;
  }
  asio::io_context ioc(1);
  auto driver = MakeDriver(o.system, ioc, o.endpoint);
  const int n = o.subscribers;
  Histogram latency;
  int64_t win0 = 0, win1 = 0;  // the measured window, in scheduled time
  int64_t received = 0, published_in_window = 0, stray = 0;

  auto on_message = [&](std::string_view m) {
    int64_t ts = FindTs(m);
    if (ts < win0 || ts >= win1) {
      if (ts <= 0) ++stray;
      return;
    }
    latency.Add(NowNs() - ts);
    ++received;
  };
  std::vector<std::shared_ptr<Connection>> subs;
  Opener opener(ioc, *driver, o);
  if (!opener.Open(
          n, true, [&](int) { return o.topic; }, on_message, subs))
    return 1;
  auto pub = OpenPublisher(ioc, *driver, o, &opener);
  if (!pub) return 1;

  const double period = 1e9 / o.rate;
  const int64_t start = NowNs() + 10'000'000;
  win0 = start + static_cast<int64_t>(Warmup(o) * 1e9);
  win1 = win0 + static_cast<int64_t>(o.seconds * 1e9);
  int64_t k = 0;
  std::string payload;
  asio::steady_timer timer(ioc);
  std::function<void()> tick = [&] {
    int64_t now = NowNs();
    for (;;) {
      int64_t due = start + static_cast<int64_t>(static_cast<double>(k) * period);
      if (due >= win1) return;  // publishing is over
      if (due > now) {
        timer.expires_at(std::chrono::steady_clock::time_point(nanoseconds(due)));
        timer.async_wait([&](boost::system::error_code ec) {
          if (!ec) tick();
        });
        return;
      }
      MakePayload(payload, due, static_cast<size_t>(o.payload_bytes));
      pub->Publish(payload);
      if (due >= win0) ++published_in_window;
      ++k;
    }
  };
  // steady_clock and CLOCK_MONOTONIC are the same clock on Linux (libstdc++).
  tick();
  // --busy-poll: on loopback the kernel wakes a sleeping receiver from the
  // sender's send, so a load generator that sleeps in epoll_wait charges
  // every server an interrupt to its other CPU per socket it writes (a cost
  // no server pays to clients on another machine). Polling without
  // sleeping takes that cost out, for every system alike.
  RunUntil(ioc, static_cast<double>(win0 - NowNs()) / 1e9, [] { return false; }, o.busy_poll);
  Meter meter{o.server_pid};
  meter.Start();
  RunUntil(ioc, static_cast<double>(win1 - NowNs()) / 1e9, [] { return false; }, o.busy_poll);
  meter.Stop();
  // Collect the stragglers of the window (they count; a message that never
  // arrives counts as lost, not as fast).
  RunUntil(ioc, 5, [&] { return received >= published_in_window * n; });
  int64_t expected = published_in_window * n;
  int64_t rss = ProcessRssKib(o.server_pid);
  char extra[256];
  std::snprintf(extra, sizeof extra, " rate=%.0f published=%lld lost=%lld stray=%lld errors=%d",
                o.rate, static_cast<long long>(published_in_window),
                static_cast<long long>(expected - received), static_cast<long long>(stray),
                opener.lost_connections());
  PrintResult(meter, received, latency, rss, extra);
  std::fflush(stderr);
  std::_Exit(received > 0 ? 0 : 1);
}

// S4: server memory per idle subscribed connection: VmRSS after opening
// `connections` subscribed connections minus before, divided by their
// number, once the server had `settle` seconds to finish their setup.
int RunIdle(const Options& o) {
  asio::io_context ioc(1);
  auto driver = MakeDriver(o.system, ioc, o.endpoint);
  int64_t before = ProcessRssKib(o.server_pid);
  std::vector<std::shared_ptr<Connection>> conns;
  Opener opener(ioc, *driver, o);
  Meter meter{o.server_pid};
  meter.Start();
  bool ok = opener.Open(
      o.connections, true,
      [&](int i) { return o.distinct_topics ? o.topic + "." + std::to_string(i) : o.topic; },
      [](std::string_view) {}, conns);
  meter.Stop();
  if (!ok) return 1;
  RunFor(ioc, o.settle);
  int64_t after = ProcessRssKib(o.server_pid);
  double per_conn =
      before < 0 || after < 0 ? -1 : static_cast<double>(after - before) / o.connections;
  std::printf(
      "RESULT connections=%d seconds=%.3f rss_before_kib=%lld rss_kib=%lld kib_per_conn=%.2f "
      "server_cpu_s=%.3f loadgen_cpu_pct=%.0f errors=%d\n",
      o.connections, meter.elapsed(), static_cast<long long>(before), static_cast<long long>(after),
      per_conn, meter.server_cpu(), meter.self_pct(), opener.lost_connections());
  std::fflush(stdout);
  std::_Exit(0);
}

// S5: connects per second. `concurrency` loops, each: open a connection
// (TCP, the protocol's handshake, one subscription confirmed), close it,
// start the next. Latency is open to subscription confirmed.
int RunConnect(const Options& o) {
  asio::io_context ioc(1);
  auto driver = MakeDriver(o.system, ioc, o.endpoint);
  Histogram latency;
  bool measuring = false, running = true;
  int64_t done = 0, errors = 0;
  std::string first_error;
  std::vector<std::shared_ptr<Connection>> slots(static_cast<size_t>(o.concurrency));
  std::function<void(size_t)> cycle = [&](size_t slot) {
    if (!running) return;
    int64_t t = NowNs();
    Events ev;
    auto finished = std::make_shared<bool>(false);
    ev.on_ready = [&, slot, t, finished] {
      if (*finished) return;
      *finished = true;
      if (measuring) {
        latency.Add(NowNs() - t);
        ++done;
      }
      auto c = std::move(slots[slot]);
      if (c) c->Close();
      // Not from inside the connection's own callback: start the next one
      // from the loop, so a driver never sees re-entrant opens.
      asio::post(ioc, [&, slot] { cycle(slot); });
    };
    ev.on_error = [&, slot, finished](const std::string& e) {
      if (*finished) return;
      *finished = true;
      ++errors;
      if (first_error.empty()) first_error = e;
      slots[slot].reset();
      // Back off a little: a refusing server must not turn this into a spin.
      auto timer = std::make_shared<asio::steady_timer>(ioc, milliseconds(10));
      timer->async_wait([&, slot, timer](boost::system::error_code) { cycle(slot); });
    };
    slots[slot] = driver->Open(o.topic, true, std::move(ev));
  };
  for (size_t i = 0; i < slots.size(); ++i) cycle(i);
  Meter meter = MeasureWindow(ioc, o, measuring);
  running = false;
  int64_t rss = ProcessRssKib(o.server_pid);
  char extra[512];
  std::snprintf(extra, sizeof extra, " concurrency=%d errors=%lld", o.concurrency,
                static_cast<long long>(errors));
  PrintResult(meter, done, latency, rss, extra);
  if (errors > 0) std::fprintf(stderr, "loadgen: first connect error: %s\n", first_error.c_str());
  std::fflush(stderr);
  std::_Exit(done > 0 ? 0 : 1);
}

// S8: DDP method calls per second, closed loop: `concurrency` connections,
// each with `pipeline` calls in flight (a call is done at its `result` and
// an `updated` naming it; the next call goes out then).
int RunMethods(const Options& o) {
  asio::io_context ioc(1);
  auto driver = MakeDriver(o.system, ioc, o.endpoint);
  Histogram latency;
  bool measuring = false, running = false;
  int64_t done = 0, failed = 0;
  // Send times of each client's calls in flight, oldest first.
  std::vector<std::deque<int64_t>> sent(static_cast<size_t>(o.concurrency));
  std::vector<std::shared_ptr<Connection>> conns;
  int ready = 0, errors = 0;
  std::function<void(size_t)> call = [&](size_t i) {
    sent[i].push_back(NowNs());
    conns[i]->Call(o.method, o.params);
  };
  conns.resize(sent.size());
  for (size_t i = 0; i < conns.size(); ++i) {
    Events ev;
    ev.on_ready = [&] { ++ready; };
    ev.on_error = [&](const std::string& e) {
      if (errors++ == 0) std::fprintf(stderr, "loadgen: %s\n", e.c_str());
    };
    ev.on_call_done = [&, i](bool ok) {
      if (sent[i].empty()) return;  // cannot happen: one completion per call
      if (measuring) {
        latency.Add(NowNs() - sent[i].front());
        ++done;
        if (!ok) ++failed;
      }
      sent[i].pop_front();
      if (running) call(i);
    };
    conns[i] = driver->Open(o.topic, false, std::move(ev));
  }
  if (!RunUntil(ioc, o.timeout, [&] { return ready + errors >= o.concurrency; }) || errors > 0) {
    std::fprintf(stderr, "loadgen: %d of %d clients connected\n", ready, o.concurrency);
    return 1;
  }
  running = true;
  for (int k = 0; k < o.pipeline; ++k) {
    for (size_t i = 0; i < conns.size(); ++i) call(i);
  }
  Meter meter = MeasureWindow(ioc, o, measuring);
  running = false;
  int64_t rss = ProcessRssKib(o.server_pid);
  char extra[256];
  std::snprintf(extra, sizeof extra, " concurrency=%d pipeline=%d failed=%lld errors=%d",
                o.concurrency, o.pipeline, static_cast<long long>(failed), errors);
  PrintResult(meter, done, latency, rss, extra);
  std::fflush(stderr);
  std::_Exit(done > 0 && failed == 0 ? 0 : 1);
}

}  // namespace loadgen
