// loadgen: one load generator for ddpd and its peers (nats-server, Redis
// pub/sub, mosquitto over TCP and over WebSocket), for bench/compare.sh.
//
// Everything runs on one thread and one io_context, so the load generator
// costs at most one core (the script pins it to CPU 1, the servers to CPU 0)
// and its CPU use can be measured and reported. Each system is a Driver
// (ddp.cc, nats.cc, redis.cc, mqtt.cc) that opens Connections; the scenarios
// (scenarios.cc) only see this interface.
//
// Every message carries the same payload, `{"ts":<ns>,"p":"xx…"}` padded to
// the requested size: `ts` is the time the message was scheduled (open
// loop) or sent (closed loop) on the load generator's monotonic clock, so a
// receiver computes the latency without any state shared with the sender.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "proc_stats.h"

namespace loadgen {

namespace asio = boost::asio;

// Monotonic time in nanoseconds (CLOCK_MONOTONIC, the clock of `ts`).
int64_t NowNs();

using bench::ProcessCpuSeconds;  // proc_stats.h
// This process's own user + system CPU seconds.
double SelfCpuSeconds();
// Busy CPU seconds of the whole machine (all CPUs, everything but idle
// and iowait, from /proc/stat); -1 when unknown.
double MachineBusySeconds();
// Resident set size of a process in KiB (VmRSS of /proc/<pid>/status); -1
// when unknown.
int64_t ProcessRssKib(int pid);

// Writes the payload for `ts` into `out`: exactly `bytes` bytes, or the
// unpadded `{"ts":N,"p":""}` when that is longer.
void MakePayload(std::string& out, int64_t ts, size_t bytes);
// The integer after the first `"ts":` in `text`; -1 when there is none.
// A scan, not a JSON parse: the hot path of every receiver.
int64_t FindTs(std::string_view text);

// Makes every other thread of this process SCHED_BATCH, so that none of
// them preempts the loop thread when woken on the load generator's one
// core. The client libraries have threads of their own: nats.c hands every
// received message to its garbage-collector thread and wakes it, which on
// a shared core preempted the loop once per message (half of the load
// generator's CPU went to those context switches).
void YieldHelperThreads();

struct Endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
};

// What a connection reports. Every callback runs on the loop thread.
struct Events {
  // Connected, and subscribed when a subscription was asked for (confirmed
  // by the protocol: DDP `ready`, Redis's subscribe reply, MQTT SUBACK, a
  // NATS round trip after SUB).
  std::function<void()> on_ready;
  // One delivered message: its payload, or (DDP) the message text that
  // contains it. Only valid during the call.
  std::function<void(std::string_view)> on_message;
  // A method call finished (DDP only: `result` and `updated` both seen).
  std::function<void(bool ok)> on_call_done;
  // The connection failed or was lost; not called after Close().
  std::function<void(const std::string&)> on_error;
};

class Connection {
 public:
  virtual ~Connection() = default;
  // Publishes `payload` to the connection's topic (queued; never blocks).
  virtual void Publish(std::string_view payload) = 0;
  // DDP only: calls `method` with `params_json` (a JSON array).
  virtual void Call(std::string_view method, std::string_view params_json);
  // Closes politely (protocol goodbye where there is one, then the socket).
  virtual void Close() = 0;
};

class Driver {
 public:
  virtual ~Driver() = default;
  // Opens a connection for `topic`: subscribed to it when `subscribe`,
  // else only able to publish to it. Events fire on the loop thread.
  virtual std::shared_ptr<Connection> Open(const std::string& topic, bool subscribe,
                                           Events events) = 0;
};

// The driver of a system whose connections are asio classes constructed
// from (ioc, topic, subscribe, events) and started with Start(endpoint).
template <typename Conn>
class AsioDriver : public Driver {
 public:
  AsioDriver(asio::io_context& ioc, const Endpoint& ep)
      : ioc_(ioc), ep_(asio::ip::make_address(ep.host), ep.port) {}

  std::shared_ptr<Connection> Open(const std::string& topic, bool subscribe,
                                   Events events) override {
    auto c = std::make_shared<Conn>(ioc_, topic, subscribe, std::move(events));
    c->Start(ep_);
    return c;
  }

 private:
  asio::io_context& ioc_;
  asio::ip::tcp::endpoint ep_;
};

// `system` is one of ddp, nats, redis, mqtt-tcp, mqtt-ws. Exits with a
// clear message on an unknown name.
std::unique_ptr<Driver> MakeDriver(const std::string& system, asio::io_context& ioc,
                                   const Endpoint& endpoint);

std::unique_ptr<Driver> MakeDdpDriver(asio::io_context& ioc, const Endpoint& endpoint);
std::unique_ptr<Driver> MakeNatsDriver(asio::io_context& ioc, const Endpoint& endpoint);
std::unique_ptr<Driver> MakeRedisDriver(asio::io_context& ioc, const Endpoint& endpoint);
std::unique_ptr<Driver> MakeMqttTcpDriver(asio::io_context& ioc, const Endpoint& endpoint);
std::unique_ptr<Driver> MakeMqttWsDriver(asio::io_context& ioc, const Endpoint& endpoint);

}  // namespace loadgen
