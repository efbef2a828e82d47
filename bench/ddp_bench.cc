// ddp_bench: a DDP load client for the server benchmarks.
//
//   ddp_bench methods --port P [--clients 64] [--seconds 5] [--method add] [--params '[1,2]']
//                     [--insert-topic T --payload-bytes 128 [--docs-per-call N]
//                      [--ids client|random|server]]
//     Closed loop: each client calls, waits for `result` and `updated`,
//     calls again. Prints calls/s and latency percentiles. With an insert
//     topic each call inserts a new document (durable writes); with
//     --docs-per-call N > 1 it publishes N new documents in one call (one
//     transaction), and records/s counts documents. --ids chooses the new
//     documents' _id: `client` (default) "<client>-<call>-<k>", `random`
//     17 random characters as Meteor clients choose them, `server` none
//     (the server generates one: time-ordered for publish).
//
//   ddp_bench fanout --port P [--subscribers 100] [--seconds 5] [--window 4]
//     Every subscriber subscribes to the test server's `ticker`; one
//     publisher calls `ticker.tick` with a sequence number, keeping at most
//     `window` ticks in flight (a tick completes when every subscriber got
//     its `changed`). Prints delivered messages/s and delivery latency.
//
// One thread drives every connection (pin it with taskset to keep it off
// the server's cores). Messages are recognized by cheap scans, not parsed,
// so the client costs little per message.
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <unordered_map>
#include <chrono>
#include <cstdio>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "payloads.h"
#include "proc_stats.h"
#include "common/histogram.h"
#include "boost/asio.hpp"
#include "boost/beast.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using ddp::Histogram;

namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

using bench::ProcessCpuSeconds;

// Finds "key": in `s` and returns the integer after it (or -1).
int64_t FindInt(std::string_view s, std::string_view key) {
  size_t at = s.find(key);
  if (at == std::string_view::npos) return -1;
  at += key.size();
  int64_t v = 0;
  bool any = false;
  while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
    v = v * 10 + (s[at] - '0');
    ++at;
    any = true;
  }
  return any ? v : -1;
}

class Conn : public std::enable_shared_from_this<Conn> {
 public:
  using OnMessage = std::function<void(std::string_view)>;

  Conn(asio::io_context& ioc, OnMessage on_message)
      : ws_(ioc), on_message_(std::move(on_message)) {}

  void Connect(const tcp::endpoint& ep, std::function<void()> on_connected) {
    beast::get_lowest_layer(ws_).socket().connect(ep);
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true));
    ws_.handshake("127.0.0.1", "/websocket");
    ws_.text(true);
    on_connected_ = std::move(on_connected);
    Send(R"({"msg":"connect","version":"1","support":["1"]})");
    Read();
  }

  void Send(std::string msg) {
    out_.push_back(std::move(msg));
    if (!writing_) Write();
  }

 private:
  void Read() {
    ws_.async_read(buf_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return;
      auto d = self->buf_.data();
      std::string_view text(static_cast<const char*>(d.data()), d.size());
      if (!self->connected_ && text.find(R"("msg":"connected")") != std::string_view::npos) {
        self->connected_ = true;
        if (self->on_connected_) self->on_connected_();
      } else if (text.find(R"({"msg":"ping")") == 0) {
        self->Send(R"({"msg":"pong"})");
      } else {
        self->on_message_(text);
      }
      self->buf_.consume(self->buf_.size());
      self->Read();
    });
  }

  void Write() {
    writing_ = true;
    ws_.async_write(asio::buffer(out_.front()), [self = shared_from_this()](beast::error_code ec,
                                                                           size_t) {
      self->writing_ = false;
      if (ec) return;
      self->out_.pop_front();
      if (!self->out_.empty()) self->Write();
    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buf_;
  std::deque<std::string> out_;
  bool writing_ = false;
  bool connected_ = false;
  OnMessage on_message_;
  std::function<void()> on_connected_;
};

tcp::endpoint Endpoint(const std::string& host, uint16_t port) {
  return tcp::endpoint(asio::ip::make_address(host), port);
}

int RunMethods(const std::string& host, uint16_t port, int clients, double seconds,
               const std::string& method, const std::string& params, int server_pid,
               const std::string& insert_topic, int payload_bytes, int docs_per_call,
               const std::string& payload_kind, const std::string& ids) {
  // With an insert topic, every call inserts a new document of about
  // payload_bytes (a unique _id per client and call), its payload from
  // bench::Payloads (payloads.h).
  const std::vector<std::string> payloads =
      bench::Payloads(payload_kind, static_cast<size_t>(std::max(0, payload_bytes - 40)));
  size_t next_payload = 0;
  auto payload = [&]() -> const std::string& {
    return payloads[next_payload++ % payloads.size()];
  };
  // `"_id":"...",` for a new document, or nothing when the server names it.
  std::mt19937_64 rng(std::random_device{}());
  auto id_field = [&](int client, int64_t seq, int k) -> std::string {
    if (ids == "server") return "";
    if (ids == "random") return R"("_id":")" + bench::MeteorStyleId(rng) + R"(",)";
    std::string id = std::to_string(client) + "-" + std::to_string(seq);
    if (k >= 0) id += "-" + std::to_string(k);
    return R"("_id":")" + id + R"(",)";
  };
  asio::io_context ioc;
  Histogram latency;
  int64_t completed = 0;
  bool measuring = false;
  int64_t start_ns = 0, end_ns = 0;
  struct Client {
    std::shared_ptr<Conn> conn;
    int64_t sent_ns = 0;
    int64_t seq = 0;
    int index = 0;
    bool got_result = false, got_updated = false;
  };
  std::vector<std::unique_ptr<Client>> all;
  auto ep = Endpoint(host, port);
  std::function<void(Client&)> call = [&](Client& c) {
    c.seq++;
    c.got_result = c.got_updated = false;
    c.sent_ns = NowNs();
    if (!insert_topic.empty() && docs_per_call > 1) {
      std::string docs;
      for (int k = 0; k < docs_per_call; ++k) {
        if (k > 0) docs.push_back(',');
        docs += "{" + id_field(c.index, c.seq, k) + R"("p":")" + payload() + R"("})";
      }
      c.conn->Send(R"({"msg":"method","method":"publish","params":[")" + insert_topic + R"(",[)" +
                   docs + R"(]],"id":")" + std::to_string(c.seq) + R"("})");
      return;
    }
    if (!insert_topic.empty()) {
      c.conn->Send(R"({"msg":"method","method":"/)" + insert_topic + R"(/insert","params":[{)" +
                   id_field(c.index, c.seq, -1) + R"("p":")" + payload() + R"("}],"id":")" +
                   std::to_string(c.seq) + R"("})");
      return;
    }
    c.conn->Send(R"({"msg":"method","method":")" + method + R"(","params":)" + params +
                 R"(,"id":")" + std::to_string(c.seq) + R"("})");
  };
  for (int i = 0; i < clients; ++i) {
    auto c = std::make_unique<Client>();
    c->index = i;
    Client* raw = c.get();
    c->conn = std::make_shared<Conn>(ioc, [&, raw](std::string_view m) {
      if (m.find(R"({"msg":"result")") == 0) {
        raw->got_result = true;
        if (m.find(R"("error")") != std::string_view::npos) {
          std::fprintf(stderr, "method failed: %.*s\n", static_cast<int>(m.size()), m.data());
          std::exit(1);
        }
      }
      if (m.find(R"({"msg":"updated")") == 0) raw->got_updated = true;
      if (raw->got_result && raw->got_updated) {
        if (measuring) {
          latency.Add(NowNs() - raw->sent_ns);
          ++completed;
        }
        if (NowNs() < end_ns) call(*raw);
      }
    });
    c->conn->Connect(ep, nullptr);
    all.push_back(std::move(c));
  }
  // Let the handshakes finish, warm up for 10% of the run, then measure.
  ioc.run_for(std::chrono::milliseconds(200));
  int64_t warm_ns = static_cast<int64_t>(seconds * 1e8);
  end_ns = NowNs() + warm_ns + static_cast<int64_t>(seconds * 1e9);
  for (auto& c : all) call(*c);
  ioc.run_for(std::chrono::nanoseconds(warm_ns));
  measuring = true;
  start_ns = NowNs();
  double cpu0 = ProcessCpuSeconds(server_pid);
  ioc.run_for(std::chrono::nanoseconds(end_ns - NowNs()));
  double cpu = ProcessCpuSeconds(server_pid) - cpu0;
  double elapsed = static_cast<double>(NowNs() - start_ns) / 1e9;
  measuring = false;
  std::printf(
      "{\"mode\":\"methods\",\"clients\":%d,\"calls\":%lld,\"seconds\":%.2f,\"calls_per_s\":%.0f,"
      "\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"server_cpu_us_per_call\":%.2f,"
      "\"records_per_call\":%d,\"records_per_s\":%.0f}\n",
      clients, static_cast<long long>(completed), elapsed,
      static_cast<double>(completed) / elapsed, latency.Percentile(50) / 1000.0, latency.Percentile(99) / 1000.0,
      latency.Percentile(99.9) / 1000.0, server_pid > 0 ? cpu * 1e6 / static_cast<double>(completed) : -1.0,
      std::max(1, docs_per_call), static_cast<double>(completed) * std::max(1, docs_per_call) / elapsed);
  return completed > 0 ? 0 : 1;
}

int RunFanout(const std::string& host, uint16_t port, int subscribers, double seconds,
              int window, int server_pid) {
  asio::io_context ioc;
  auto ep = Endpoint(host, port);
  Histogram latency;
  int64_t delivered = 0;
  bool measuring = false;
  int ready = 0;
  // tick -> (sent time, deliveries so far)
  std::unordered_map<int64_t, std::pair<int64_t, int>> inflight;
  int64_t next_tick = 1;
  std::shared_ptr<Conn> publisher;
  int64_t end_ns = 0;
  auto send_tick = [&]() {
    int64_t t = next_tick++;
    inflight[t] = {NowNs(), 0};
    publisher->Send(R"({"msg":"method","method":"ticker.tick","params":[)" + std::to_string(t) +
                    R"(],"id":"t)" + std::to_string(t) + R"("})");
  };
  std::vector<std::shared_ptr<Conn>> subs;
  for (int i = 0; i < subscribers; ++i) {
    auto c = std::make_shared<Conn>(ioc, [&](std::string_view m) {
      if (m.find(R"({"msg":"ready")") == 0) {
        ++ready;
        return;
      }
      if (m.find(R"({"msg":"changed")") != 0) return;
      int64_t t = FindInt(m, R"("v":)");
      auto it = inflight.find(t);
      if (it == inflight.end()) return;
      if (measuring) {
        latency.Add(NowNs() - it->second.first);
        ++delivered;
      }
      if (++it->second.second == subscribers) {
        inflight.erase(it);
        if (NowNs() < end_ns) send_tick();
      }
    });
    c->Connect(ep, nullptr);
    c->Send(R"({"msg":"sub","id":"s","name":"ticker","params":[]})");
    subs.push_back(c);
    if (i % 50 == 49) ioc.run_for(std::chrono::milliseconds(1));
  }
  publisher = std::make_shared<Conn>(ioc, [](std::string_view) {});
  publisher->Connect(ep, nullptr);
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (ready < subscribers && Clock::now() < deadline) ioc.run_for(std::chrono::milliseconds(10));
  if (ready < subscribers) {
    std::fprintf(stderr, "only %d of %d subscribers ready\n", ready, subscribers);
    return 1;
  }
  int64_t warm_ns = static_cast<int64_t>(seconds * 1e8);
  end_ns = NowNs() + warm_ns + static_cast<int64_t>(seconds * 1e9);
  for (int i = 0; i < window; ++i) send_tick();
  ioc.run_for(std::chrono::nanoseconds(warm_ns));
  measuring = true;
  int64_t start = NowNs();
  double cpu0 = ProcessCpuSeconds(server_pid);
  ioc.run_for(std::chrono::nanoseconds(end_ns - NowNs()));
  double cpu = ProcessCpuSeconds(server_pid) - cpu0;
  double elapsed = static_cast<double>(NowNs() - start) / 1e9;
  std::printf(
      "{\"mode\":\"fanout\",\"subscribers\":%d,\"delivered\":%lld,\"seconds\":%.2f,"
      "\"delivered_per_s\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
      "\"server_cpu_us_per_msg\":%.2f}\n",
      subscribers, static_cast<long long>(delivered), elapsed,
      static_cast<double>(delivered) / elapsed, latency.Percentile(50) / 1000.0, latency.Percentile(99) / 1000.0,
      latency.Percentile(99.9) / 1000.0, server_pid > 0 ? cpu * 1e6 / static_cast<double>(delivered) : -1.0);
  return delivered > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ddp_bench: DDP load client for ddpd benchmarks"};
  app.require_subcommand(1);
  std::string host = "127.0.0.1";
  uint16_t port = 3000;
  double seconds = 5;
  int clients = 64, subscribers = 100, window = 4, server_pid = 0, payload_bytes = 128,
      docs_per_call = 1;
  std::string method = "add", params = "[1,2]", insert_topic, payload_kind = "x", ids = "client";
  auto* methods = app.add_subcommand("methods", "closed-loop method calls");
  methods->add_option("--clients", clients);
  methods->add_option("--method", method);
  methods->add_option("--params", params);
  methods->add_option("--insert-topic", insert_topic,
                      "call /<topic>/insert with a new document each time instead");
  methods->add_option("--payload-bytes", payload_bytes, "approximate document size for inserts");
  methods->add_option("--payload", payload_kind,
                      "x: one repeated character (compresses to nothing); random: random "
                      "alphanumerics (do not compress)")
      ->check(CLI::IsMember({"x", "random"}));
  methods->add_option("--docs-per-call", docs_per_call,
                      "with --insert-topic: publish this many new documents per call (one transaction)")
      ->check(CLI::Range(1, 10000));
  methods->add_option("--ids", ids,
                      "new documents' _id: client (<client>-<call>-<k>), random (Meteor-style "
                      "random ids) or server (none given: the server generates them)")
      ->check(CLI::IsMember({"client", "random", "server"}));
  auto* fanout = app.add_subcommand("fanout", "one publisher, many subscribers");
  fanout->add_option("--subscribers", subscribers);
  fanout->add_option("--window", window);
  for (auto* sub : {methods, fanout}) {
    sub->add_option("--host", host);
    sub->add_option("--port", port)->required();
    sub->add_option("--seconds", seconds);
    sub->add_option("--server-pid", server_pid, "report the server's CPU time per operation");
  }
  CLI11_PARSE(app, argc, argv);
  try {
    if (methods->parsed()) {
      return RunMethods(host, port, clients, seconds, method, params, server_pid, insert_topic,
                        payload_bytes, docs_per_call, payload_kind, ids);
    }
    return RunFanout(host, port, subscribers, seconds, window, server_pid);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ddp_bench: %s\n", e.what());
    return 1;
  }
}
