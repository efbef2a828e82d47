// A JetStream cluster of real nats-server processes and ddpd nodes on it,
// on loopback, started and stopped by the tests themselves.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/support/process.h"

namespace ddp::testing {

// A port that was free a moment ago (bound and released).
uint16_t FreePort();

class NatsCluster {
 public:
  // `size` servers named n0.. with JetStream (file store in `dir`), routes
  // to each other, a memory and file limit, and an 8 MiB max_payload.
  static absl::StatusOr<std::unique_ptr<NatsCluster>> Start(std::string dir, int size = 3);
  ~NatsCluster();

  // nats://127.0.0.1:P,... of every server.
  std::string Urls() const;
  void Kill(int i);  // SIGKILL
  absl::Status Restart(int i);
  // Waits until JetStream has a meta leader (a stream can be created).
  absl::Status WaitForJetStream(std::chrono::milliseconds timeout);

 private:
  struct Server {
    std::string name, config;
    uint16_t port = 0, cluster_port = 0, http_port = 0;
    std::unique_ptr<Process> process;
  };
  absl::Status StartServer(Server& s);
  std::string dir_;
  std::vector<Server> servers_;
};

class DdpdNode {
 public:
  // ddpd --cluster <urls> on a fresh ephemeral port; `dir` is its data dir.
  static absl::StatusOr<std::unique_ptr<DdpdNode>> Start(std::string dir, std::string urls,
                                                         std::string stream, std::string node_id,
                                                         std::vector<std::string> extra = {});
  uint16_t port() const { return port_; }
  Process& process() { return *process_; }
  void Kill();  // SIGKILL, reaped
  // GET /readyz until 200 or the deadline.
  absl::Status WaitReady(std::chrono::milliseconds timeout);

 private:
  std::unique_ptr<Process> process_;
  uint16_t port_ = 0;
};

}  // namespace ddp::testing
