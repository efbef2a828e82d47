// ddpctl bench: publishers publish to a topic on a fixed schedule (open
// loop), subscribers receive the `added` messages; prints throughput and
// end-to-end latency percentiles.
//
// Latency is measured from the time a message was *scheduled* to be sent
// (carried in its payload as `ts`), not from when it was actually sent, so
// a stalled publisher or server shows up as latency instead of hiding it
// (no coordinated omission). Publishers and subscribers are in this
// process, on the same clock.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

#include "client/ddpctl/ddpctl.h"
#include "common/histogram.h"
#include "common/strings.h"
#include "protocol/ids.h"
#include "protocol/json.h"

namespace ddp::ctl {

namespace {

using Clock = std::chrono::steady_clock;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

struct SubscriberState {
  std::shared_ptr<Client> client;
  Histogram latency;  // touched only on the client's strand until it stops
  std::atomic<int64_t> delivered{0};
};

struct PublisherState {
  std::shared_ptr<Client> client;
  Histogram ack_latency;  // on the client's strand
  std::atomic<int64_t> sent{0}, acked{0}, errors{0}, dropped{0}, in_flight{0};
};

// A first error, kept for the report.
class FirstError {
 public:
  void Set(const std::string& what, const absl::Status& s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (status_.ok()) {
      status_ = s;
      what_ = what;
    }
  }
  std::pair<std::string, absl::Status> Get() {
    std::lock_guard<std::mutex> lock(mu_);
    return {what_, status_};
  }

 private:
  std::mutex mu_;
  std::string what_;
  absl::Status status_;
};

Object Percentiles(const Histogram& h) {
  Object o;
  for (auto [name, p] : {std::pair{"p50", 50.0}, {"p90", 90.0}, {"p99", 99.0}, {"p999", 99.9}}) {
    o.Append(name, Value(static_cast<double>(h.Percentile(p)) / 1000.0));
  }
  o.Append("max", Value(static_cast<double>(h.max()) / 1000.0));
  return o;
}

std::string PercentileLine(const Histogram& h) {
  auto us = [&](double p) { return static_cast<double>(h.Percentile(p)) / 1000.0; };
  char buf[200];
  std::snprintf(buf, sizeof buf, "p50 %.0f  p90 %.0f  p99 %.0f  p99.9 %.0f  max %.0f", us(50), us(90),
                us(99), us(99.9), static_cast<double>(h.max()) / 1000.0);
  return buf;
}

}  // namespace

int RunBench(const Globals& g, const BenchArgs& a) {
  if (a.publishers < 1 || a.subscribers < 0 || a.rate < 0 || a.duration_s <= 0 || a.size < 0 ||
      a.window < 1 || a.threads < 1) {
    return Fail("bench", absl::InvalidArgumentError(
                             "need --publishers >= 1, --subscribers >= 0, --rate >= 0, --duration > 0, "
                             "--size >= 0, --window >= 1, --threads >= 1"));
  }
  std::string topic = a.topic.empty() ? StrCat("bench.", RandomId()) : a.topic;
  auto io = std::make_shared<IoThreads>(a.threads);
  FirstError first_error;
  std::atomic<int> connected{0}, ready{0}, failed{0};

  // With several --url servers (a cluster), publishers write to the first
  // and subscribers read from the others in turn: every delivery crosses
  // nodes.
  const std::vector<std::string> urls = g.Urls();
  int next_sub_url = 0;
  auto make_client = [&](const std::string& role) {
    ClientOptions o = g.ClientOpts();
    o.urls.clear();
    o.url = role == "publisher" || urls.size() == 1
                ? urls[0]
                : urls[1 + (next_sub_url++ % (urls.size() - 1))];
    o.io = io;
    o.store_documents = false;
    o.auto_reconnect = false;  // a drop during a benchmark is an error, not a retry
    std::shared_ptr<Client> c = Client::Create(o);
    c->OnConnectionChange([&, role](bool up, absl::Status why) {
      if (up) {
        connected++;
      } else {
        failed++;
        first_error.Set(role, why);
      }
    });
    return c;
  };

  std::vector<std::unique_ptr<SubscriberState>> subs;
  for (int i = 0; i < a.subscribers; ++i) {
    auto s = std::make_unique<SubscriberState>();
    s->client = make_client("subscriber");
    ObserveCallbacks cb;
    SubscriberState* st = s.get();
    cb.event = [st](const CacheEvent& e) {
      if (e.kind != CacheEvent::Kind::kAdded) return;
      const Value* ts = e.fields.Find("ts");
      if (ts == nullptr || !ts->is_int()) return;
      st->latency.Add(NowNs() - ts->as_int());
      st->delivered.fetch_add(1, std::memory_order_relaxed);
    };
    s->client->Observe("", std::move(cb));
    Client::SubscriptionCallbacks sc;
    sc.ready = [&] { ready++; };
    sc.stopped = [&](absl::Status st2) {
      failed++;
      first_error.Set("subscription", st2.ok() ? absl::CancelledError("ended by the server") : st2);
    };
    s->client->Subscribe(topic, {}, std::move(sc));
    s->client->Start();
    subs.push_back(std::move(s));
  }
  std::vector<std::unique_ptr<PublisherState>> pubs;
  for (int i = 0; i < a.publishers; ++i) {
    auto p = std::make_unique<PublisherState>();
    p->client = make_client("publisher");
    p->client->Start();
    pubs.push_back(std::move(p));
  }
  auto stop_all = [&] {
    for (auto& p : pubs) p->client->Stop();
    for (auto& s : subs) s->client->Stop();
  };

  // Everyone connected and subscribed, or a clear error.
  int want = a.publishers + a.subscribers;
  bool set_up = WaitUntil([&] { return failed.load() > 0 || (connected.load() == want && ready.load() == a.subscribers); },
                          Clock::now() + g.timeout());
  if (!set_up || failed.load() > 0) {
    stop_all();
    if (Interrupted()) return kOk;
    auto [what, status] = first_error.Get();
    if (status.ok()) status = absl::DeadlineExceededError(StrCat(connected.load(), " of ", want, " connections and ", ready.load(), " of ", a.subscribers, " subscriptions ready in time"));
    return Fail(StrCat("bench setup (", what.empty() ? "connect" : what, ")"), status);
  }

  const std::string pad(static_cast<size_t>(std::max(0, a.size - 32)), 'x');
  const int64_t start_ns = NowNs() + 10'000'000;  // 10 ms to let every thread start
  const int64_t end_ns = start_ns + static_cast<int64_t>(a.duration_s * 1e9);
  std::atomic<bool> stop_publishing{false};
  std::vector<std::thread> threads;
  for (auto& p : pubs) {
    threads.emplace_back([&, ps = p.get()] {
      const double per_pub = a.rate / a.publishers;
      const int64_t interval_ns = a.rate > 0 ? static_cast<int64_t>(1e9 / per_pub) : 0;
      int64_t next = start_ns;
      auto send = [&](int64_t scheduled) {
        if (ps->in_flight.load(std::memory_order_relaxed) >= a.window) {
          ps->dropped++;  // the server is this far behind: do not queue without bound
          return;
        }
        ps->in_flight++;
        ps->sent++;
        Object doc;
        doc.Append("ts", Value(scheduled));
        doc.Append("p", Value(pad));
        CallOptions opts;
        opts.skip_updated = true;
        ps->client->Call(
            "publish", Array{Value(topic), Value(std::move(doc))},
            [ps, scheduled, &first_error](absl::StatusOr<Value> r) {
              ps->in_flight--;
              if (r.ok()) {
                ps->acked++;
                ps->ack_latency.Add(NowNs() - scheduled);
              } else {
                ps->errors++;
                first_error.Set("publish", r.status());
              }
            },
            opts);
      };
      std::this_thread::sleep_until(Clock::time_point(std::chrono::nanoseconds(start_ns)));
      while (!stop_publishing.load()) {
        int64_t now = NowNs();
        if (now >= end_ns) break;
        if (interval_ns > 0) {
          // Every message whose time has come, each with its own scheduled time.
          while (next <= now && next < end_ns) {
            send(next);
            next += interval_ns;
          }
          std::this_thread::sleep_until(Clock::time_point(std::chrono::nanoseconds(std::min(next, end_ns))));
        } else {
          // Closed loop: keep the window full.
          while (ps->in_flight.load() < a.window) send(NowNs());
          std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
      }
    });
  }

  auto totals = [&] {
    struct T {
      int64_t sent = 0, acked = 0, errors = 0, dropped = 0, delivered = 0;
    } t;
    for (auto& p : pubs) {
      t.sent += p->sent.load();
      t.acked += p->acked.load();
      t.errors += p->errors.load();
      t.dropped += p->dropped.load();
    }
    for (auto& s : subs) t.delivered += s->delivered.load();
    return t;
  };

  // Progress once a second on a terminal.
  const bool tty = isatty(STDERR_FILENO) != 0;
  int64_t last_sent = 0, last_delivered = 0;
  int64_t tick = start_ns;
  while (NowNs() < end_ns) {
    tick = std::min(tick + 1'000'000'000, end_ns);
    bool woke = WaitUntil([&] { return NowNs() >= tick; }, std::nullopt);
    if (!woke) break;  // interrupted
    if (!tty) continue;
    auto t = totals();
    std::fprintf(stderr, "\r[%3.0fs/%gs] sent %lld (%lld/s)  delivered %lld (%lld/s)  errors %lld\033[K",
                 static_cast<double>(NowNs() - start_ns) / 1e9, a.duration_s,
                 static_cast<long long>(t.sent), static_cast<long long>(t.sent - last_sent),
                 static_cast<long long>(t.delivered), static_cast<long long>(t.delivered - last_delivered),
                 static_cast<long long>(t.errors));
    std::fflush(stderr);
    last_sent = t.sent;
    last_delivered = t.delivered;
  }
  stop_publishing = true;
  for (auto& t : threads) t.join();
  const int64_t publish_end = NowNs();
  if (tty) std::fprintf(stderr, "\r\033[K");

  // Drain: every call answered and every message delivered, or 5 s.
  WaitUntil(
      [&] {
        auto t = totals();
        return t.acked + t.errors == t.sent && t.delivered >= t.acked * a.subscribers;
      },
      Clock::now() + std::chrono::seconds(5));
  const int64_t drain_end = NowNs();
  stop_all();  // histograms are quiet from here on

  auto t = totals();
  Histogram latency, ack;
  for (auto& s : subs) latency.Merge(s->latency);
  for (auto& p : pubs) ack.Merge(p->ack_latency);
  const double pub_s = static_cast<double>(publish_end - start_ns) / 1e9;
  const double deliver_s = static_cast<double>(drain_end - start_ns) / 1e9;
  const int64_t missing = t.acked * a.subscribers - t.delivered;

  if (g.json) {
    Object o;
    o.Append("topic", Value(topic));
    o.Append("publishers", Value(a.publishers));
    o.Append("subscribers", Value(a.subscribers));
    o.Append("rate", Value(a.rate));
    o.Append("size", Value(a.size));
    o.Append("duration_s", Value(pub_s));
    o.Append("sent", Value(t.sent));
    o.Append("acked", Value(t.acked));
    o.Append("errors", Value(t.errors));
    o.Append("dropped", Value(t.dropped));
    o.Append("published_per_s", Value(static_cast<double>(t.acked) / pub_s));
    o.Append("delivered", Value(t.delivered));
    o.Append("delivered_per_s", Value(static_cast<double>(t.delivered) / deliver_s));
    o.Append("missing", Value(missing));
    o.Append("latency_us", Value(Percentiles(latency)));
    o.Append("ack_latency_us", Value(Percentiles(ack)));
    PrintLine(ToJson(Value(std::move(o))));
  } else {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "topic %s: %d publisher%s, %d subscriber%s, %s, %d B payload, %.1f s",
                  topic.c_str(), a.publishers, a.publishers == 1 ? "" : "s", a.subscribers,
                  a.subscribers == 1 ? "" : "s",
                  a.rate > 0 ? StrCat(static_cast<int64_t>(a.rate), " msg/s scheduled").c_str()
                             : StrCat("closed loop, window ", a.window).c_str(),
                  a.size, pub_s);
    PrintLine(buf);
    std::snprintf(buf, sizeof buf, "published  %lld (%.0f/s), errors %lld, dropped %lld",
                  static_cast<long long>(t.acked), static_cast<double>(t.acked) / pub_s,
                  static_cast<long long>(t.errors), static_cast<long long>(t.dropped));
    PrintLine(buf);
    std::snprintf(buf, sizeof buf, "delivered  %lld (%.0f/s)", static_cast<long long>(t.delivered),
                  static_cast<double>(t.delivered) / deliver_s);
    PrintLine(buf);
    PrintLine(StrCat("end-to-end latency us:  ", PercentileLine(latency)));
    PrintLine(StrCat("publish ack latency us: ", PercentileLine(ack)));
  }
  if (missing > 0) {
    std::cerr << "ddpctl: bench: " << missing << " deliveries still missing 5 s after publishing ended\n";
  }
  if (t.dropped > 0) {
    std::cerr << "ddpctl: bench: " << t.dropped << " messages not sent: " << a.window
              << " calls were already in flight (the server is behind; lower --rate or raise --window)\n";
  }
  if (t.errors > 0) {
    auto [what, status] = first_error.Get();
    return Fail(StrCat("bench: ", t.errors, " ", what, " errors, the first"), status);
  }
  return kOk;
}

}  // namespace ddp::ctl
