#include "server/server.h"

namespace ddp {

Server::Server(ServerOptions options, std::shared_ptr<Registry> registry)
    : options_(std::move(options)),
      registry_(registry ? std::move(registry) : std::make_shared<Registry>()),
      http_(std::make_shared<HttpApi>(std::string(kDdpdVersion))) {}

Server::~Server() { Shutdown(); }

absl::Status Server::Start() {
  std::shared_ptr<HttpApi> http = http_;
  net_ = std::make_unique<NetServer>(
      options_.net, registry_,
      [http](HttpRequest request, HttpRespond respond) {
        http->Handle(std::move(request), std::move(respond));
      });
  absl::Status s = net_->Start();
  if (!s.ok()) return s;
  http_->SetReady(true);
  return absl::OkStatus();
}

void Server::Shutdown() {
  if (!net_) return;
  http_->SetReady(false);
  net_->Shutdown();
}

}  // namespace ddp
