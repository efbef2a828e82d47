// loadgen: load generator for the side-by-side comparison of issue 7
// (bench/compare.sh). One scenario per run, one `RESULT key=value ...`
// line on stdout; diagnostics on stderr. Exit codes: 0 ok, 1 the run
// failed (a server did not answer, nothing was delivered), 2 usage.
//
//   loadgen fanout  --system S --port P [--subscribers 100] [--payload-bytes 128] [--window 0]
//   loadgen latency --system S --port P --rate R [--subscribers 100] [--payload-bytes 128]
//   loadgen idle    --system S --port P [--connections 10000] [--distinct-topics]
//   loadgen connect --system S --port P [--concurrency 16]
//   loadgen methods --system ddp --port P [--concurrency 64] [--pipeline 1] [--method add]
//                   [--params '[1,2]']
//   loadgen free-ports [N]      print N free TCP ports on 127.0.0.1 (for the script)
//
// Common: --host 127.0.0.1, --seconds 10, --warmup (10% of seconds, >= 0.2),
// --server-pid (server CPU and RSS), --topic, --timeout 60.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "CLI/CLI.hpp"
#include "scenarios.h"

namespace {

// Ports the kernel hands out for port 0 are free at that moment; holding
// all sockets open until every port is known keeps them distinct.
int PrintFreePorts(int n) {
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      std::perror("loadgen: free-ports");
      return 1;
    }
    std::printf("%d\n", ntohs(a.sin_port));
    fds.push_back(fd);
  }
  for (int fd : fds) close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  loadgen::Options o;
  CLI::App app{"loadgen: pub/sub load generator for ddpd, nats-server, Redis and mosquitto"};
  app.require_subcommand(1);

  auto* fanout = app.add_subcommand("fanout", "S1: most delivered messages/s (closed loop)");
  auto* latency = app.add_subcommand("latency", "S2: latency at a fixed rate (open loop)");
  auto* idle = app.add_subcommand("idle", "S4: server RSS per idle subscribed connection");
  auto* connect = app.add_subcommand("connect", "S5: connects (+ subscribe, close) per second");
  auto* methods = app.add_subcommand("methods", "S8: DDP method calls per second (closed loop)");
  auto* ports = app.add_subcommand("free-ports", "print free TCP ports on 127.0.0.1");
  int nports = 1;
  ports->add_option("count", nports, "how many")->check(CLI::Range(1, 64));

  for (auto* sub : {fanout, latency, idle, connect, methods}) {
    sub->add_option("--system", o.system, "ddp, nats, redis, mqtt-tcp or mqtt-ws")
        ->required()
        ->check(CLI::IsMember({"ddp", "nats", "redis", "mqtt-tcp", "mqtt-ws"}));
    sub->add_option("--host", o.endpoint.host, "server address")->capture_default_str();
    sub->add_option("--port", o.endpoint.port, "server port")->required();
    sub->add_option("--seconds", o.seconds, "measured seconds")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    sub->add_option("--warmup", o.warmup,
                    "seconds before measuring (default 10% of --seconds, >= 0.2)");
    sub->add_option("--server-pid", o.server_pid, "server process, for its CPU time and RSS");
    sub->add_option("--topic", o.topic, "topic/subject/channel (default bench.<scenario>.<pid>)");
    sub->add_option("--timeout", o.timeout, "seconds allowed for setting up connections")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    sub->add_option("--parallel-opens", o.parallel_opens,
                    "connection handshakes in flight while opening many")
        ->capture_default_str()
        ->check(CLI::Range(1, 10000));
  }
  for (auto* sub : {fanout, latency}) {
    sub->add_option("--subscribers", o.subscribers, "subscriber connections")
        ->capture_default_str()
        ->check(CLI::Range(1, 100000));
    sub->add_option("--payload-bytes", o.payload_bytes, "message payload size (>= 32)")
        ->capture_default_str()
        ->check(CLI::Range(32, 1 << 20));
  }
  fanout
      ->add_option("--window", o.window,
                   "messages in flight (0: 50,000 deliveries / subscribers, 4..1000)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  latency->add_option("--rate", o.rate, "messages published per second")
      ->required()
      ->check(CLI::PositiveNumber);
  latency->add_flag("--busy-poll", o.busy_poll,
                    "poll the sockets without sleeping (no wake-up interrupts charged to the "
                    "server on loopback)");
  idle->add_option("--connections", o.connections, "idle subscribed connections")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  idle->add_flag("--distinct-topics", o.distinct_topics,
                 "one topic per connection (default: all on one topic)");
  idle->add_option("--settle", o.settle, "seconds to wait before reading the RSS")
      ->capture_default_str();
  connect->add_option("--concurrency", o.concurrency, "connect loops in parallel")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  methods->add_option("--concurrency", o.concurrency, "clients")
      ->default_val(64)
      ->check(CLI::Range(1, 10000));
  methods->add_option("--pipeline", o.pipeline,
                      "calls each client keeps in flight (a Meteor client sends its calls "
                      "without waiting for earlier results)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  methods->add_option("--method", o.method, "method name")->capture_default_str();
  methods->add_option("--params", o.params, "JSON array of parameters")->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  if (ports->parsed()) return PrintFreePorts(nports);

  std::string scenario = app.get_subcommands().front()->get_name();
  if (o.topic.empty()) o.topic = "bench." + scenario + "." + std::to_string(getpid());
  if (methods->parsed() && o.system != "ddp") {
    std::fprintf(stderr, "loadgen: methods needs --system ddp\n");
    return 2;
  }
  try {
    if (fanout->parsed()) return loadgen::RunFanout(o);
    if (latency->parsed()) return loadgen::RunLatency(o);
    if (idle->parsed()) return loadgen::RunIdle(o);
    if (connect->parsed()) return loadgen::RunConnect(o);
    return loadgen::RunMethods(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loadgen: %s\n", e.what());
    return 1;
  }
}
