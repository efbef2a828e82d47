// The scenarios of issue 7, each run against one Driver. See main.cc for
// the command line and scenarios.cc for how each one measures.
#pragma once

#include <string>

#include "loadgen.h"

namespace loadgen {

struct Options {
  std::string system;  // ddp, nats, redis, mqtt-tcp, mqtt-ws
  Endpoint endpoint;
  std::string topic;         // default: bench.<scenario>.<pid>
  int server_pid = 0;        // for server CPU and RSS (0: not reported)
  double seconds = 10;       // measured time
  double warmup = -1;        // before measuring; <0: 10% of seconds, at least 0.2 s
  double timeout = 60;       // for setting up connections
  int parallel_opens = 200;  // handshakes in flight while opening many connections

  // fanout / latency
  int subscribers = 100;
  int payload_bytes = 128;
  int window = 0;      // fanout: messages in flight; 0: 50,000 deliveries / subscribers, 4..1000
  double rate = 1000;  // latency: messages published per second (open loop)

  // idle
  int connections = 10000;
  bool distinct_topics = false;
  double settle = 1;  // idle: seconds between the last connection and the RSS reading

  // latency: poll the sockets without sleeping (see RunLatency)
  bool busy_poll = false;

  // connect, methods
  int concurrency = 16;
  int pipeline = 1;  // methods: calls in flight per client
  std::string method = "add";
  std::string params = "[1,2]";
};

int RunFanout(const Options& o);
int RunLatency(const Options& o);
int RunIdle(const Options& o);
int RunConnect(const Options& o);
int RunMethods(const Options& o);

}  // namespace loadgen
