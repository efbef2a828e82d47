#include "tests/cluster/cluster_harness.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/strings.h"
#include "tests/support/ws_client.h"

namespace ddp::testing {

uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

absl::StatusOr<std::unique_ptr<NatsCluster>> NatsCluster::Start(std::string dir, int size) {
  auto c = std::unique_ptr<NatsCluster>(new NatsCluster());
  c->dir_ = dir;
  std::filesystem::create_directories(dir);
  c->servers_.resize(size);
  for (int i = 0; i < size; ++i) {
    Server& s = c->servers_[i];
    s.name = StrCat("n", i);
    s.port = FreePort();
    s.cluster_port = FreePort();
    s.http_port = FreePort();
  }
  for (int i = 0; i < size; ++i) {
    Server& s = c->servers_[i];
    std::string routes;
    for (int j = 0; j < size; ++j) {
      if (j == i) continue;
      if (!routes.empty()) routes += ", ";
      routes += StrCat("nats-route://127.0.0.1:", c->servers_[j].cluster_port);
    }
    s.config = StrCat(dir, "/", s.name, ".conf");
    std::ofstream out(s.config);
    out << "server_name: " << s.name << "\n"
        << "listen: 127.0.0.1:" << s.port << "\n"
        << "http: 127.0.0.1:" << s.http_port << "\n"
        << "max_payload: 8MB\n"
        << "jetstream {\n  store_dir: \"" << dir << "/" << s.name << "\"\n"
        << "  max_memory_store: 64MB\n  max_file_store: 1GB\n}\n"
        << "cluster {\n  name: ddpdtest\n  listen: 127.0.0.1:" << s.cluster_port << "\n"
        << "  routes: [" << routes << "]\n}\n";
  }
  for (Server& s : c->servers_) {
    absl::Status st = c->StartServer(s);
    if (!st.ok()) return st;
  }
  return c;
}

absl::Status NatsCluster::StartServer(Server& s) {
  auto p = Process::Start({"/usr/sbin/nats-server", "-c", s.config});
  if (!p.ok()) return p.status();
  s.process = std::move(*p);
  auto line = s.process->WaitForLine("Server is ready", std::chrono::seconds(20));
  if (!line.ok()) {
    return absl::UnavailableError(
        StrCat("nats-server ", s.name, " did not start: ", s.process->Output()));
  }
  return absl::OkStatus();
}

NatsCluster::~NatsCluster() {
  for (Server& s : servers_) {
    if (s.process) {
      s.process->Signal(SIGTERM);
      (void)s.process->Wait(std::chrono::seconds(10));
    }
  }
}

std::string NatsCluster::Urls() const {
  std::string out;
  for (const Server& s : servers_) {
    if (!out.empty()) out += ",";
    out += StrCat("nats://127.0.0.1:", s.port);
  }
  return out;
}

void NatsCluster::Kill(int i) {
  Server& s = servers_[i];
  if (!s.process) return;
  s.process->Signal(SIGKILL);
  (void)s.process->Wait(std::chrono::seconds(10));
  s.process.reset();
}

absl::Status NatsCluster::Restart(int i) { return StartServer(servers_[i]); }

absl::Status NatsCluster::WaitForJetStream(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    for (const Server& s : servers_) {
      if (!s.process) continue;
      auto r = HttpFetch(s.http_port, "GET", "/jsz");
      // The meta group has a leader once /jsz names one.
      if (r.ok() && r->status == 200 && r->body.find("\"leader\"") != std::string::npos) {
        return absl::OkStatus();
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::DeadlineExceededError("JetStream has no meta leader");
}

absl::StatusOr<std::unique_ptr<DdpdNode>> DdpdNode::Start(std::string dir, std::string urls,
                                                          std::string stream, std::string node_id,
                                                          std::vector<std::string> extra) {
  auto n = std::unique_ptr<DdpdNode>(new DdpdNode());
  std::vector<std::string> argv = {BinaryPath("ddpd"),
                                   "--port",
                                   "0",
                                   "--bind",
                                   "127.0.0.1",
                                   "--data-dir",
                                   dir,
                                   "--cluster",
                                   urls,
                                   "--cluster-stream",
                                   stream,
                                   "--node-id",
                                   node_id,
                                   "--log-level",
                                   "info"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto p = Process::Start(argv);
  if (!p.ok()) return p.status();
  n->process_ = std::move(*p);
  auto line = n->process_->WaitForLine("listening on", std::chrono::seconds(30));
  if (!line.ok()) {
    return absl::UnavailableError(
        StrCat("ddpd ", node_id, " did not start: ", n->process_->Output()));
  }
  size_t at = line->find("listening on ");
  size_t colon = line->find(':', at + 13);
  n->port_ = static_cast<uint16_t>(std::stoi(line->substr(colon + 1)));
  return n;
}

void DdpdNode::Kill() {
  process_->Signal(SIGKILL);
  (void)process_->Wait(std::chrono::seconds(10));
}

absl::Status DdpdNode::WaitReady(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = HttpFetch(port_, "GET", "/readyz");
    if (r.ok() && r->status == 200) return absl::OkStatus();
    if (r.ok()) last = r->body;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::DeadlineExceededError(StrCat("not ready: ", last));
}

}  // namespace ddp::testing
