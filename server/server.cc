#include "server/server.h"

#include "server/api/auth_api.h"
#include "server/api/engine_api.h"
#include "common/status_macros.h"
#include "server/metrics/metrics.h"
#include "spdlog/spdlog.h"

namespace ddp {

Server::Server(ServerOptions options, std::shared_ptr<Registry> registry)
    : options_(std::move(options)),
      registry_(registry ? std::move(registry) : std::make_shared<Registry>()) {}

Server::~Server() { Shutdown(); }

absl::Status Server::Start() {
  std::unique_ptr<commitlog::CommitLog> log;
  if (!options_.cluster.servers.empty()) {
    log = std::make_unique<jetstream::JetStreamLog>(options_.cluster);
  }
  absl::StatusOr<std::unique_ptr<engine::Engine>> engine =
      engine::Engine::Open(options_.engine, std::move(log));
  if (!engine.ok()) return engine.status();
  engine_ = std::move(*engine);
  if (!options_.rules_file.empty()) {
    absl::StatusOr<std::shared_ptr<const access::Rules>> rules =
        access::Rules::Load(options_.rules_file);
    if (!rules.ok()) return rules.status();
    access_ = std::make_shared<access::Access>(std::move(*rules));
    options_.api.access = access_;
  }
  RegisterEngineApi(*registry_, engine_, options_.api);
  std::shared_ptr<const auth::JwtVerifier> jwt;
  if (options_.jwt) {
    absl::StatusOr<std::unique_ptr<auth::JwtVerifier>> v = auth::JwtVerifier::Create(*options_.jwt);
    if (!v.ok()) return v.status();
    jwt = std::move(*v);
  }
  if (options_.admin) {
    admin::AdminOptions ao;
    ao.role = options_.admin_role;
    ao.open = jwt == nullptr;  // nobody could log in as an admin
    if (ao.open) {
      spdlog::warn("the admin page at /admin is open to anyone who reaches this port: no logins "
                   "are configured (--jwt-secret-file and the like)");
    }
    admin_ = std::make_shared<admin::AdminFeed>(std::move(ao));
    RETURN_IF_ERROR(admin_->Register(*registry_));
  }
  tokens_ = std::make_shared<auth::TokenStore>();
  RegisterAuthApi(*registry_, jwt, tokens_, options_.auth);
  http_ = std::make_shared<HttpApi>(std::string(kDdpdVersion), engine_);
  HttpAuth http_auth;
  http_auth.jwt = std::move(jwt);
  http_auth.tokens = tokens_;
  http_auth.allow_anonymous = options_.net.session.allow_anonymous;
  http_auth.access = access_;
  if (!options_.api_keys.empty()) {
    absl::StatusOr<auth::ApiKeys> keys = auth::ApiKeys::Parse(options_.api_keys);
    if (!keys.ok()) return keys.status();
    http_auth.api_keys = std::move(*keys);
  }
  http_->SetAuth(std::move(http_auth));
  std::shared_ptr<HttpApi> http = http_;
  net_ = std::make_unique<NetServer>(
      options_.net, registry_,
      [http](HttpRequest request, HttpRespond respond) {
        http->Handle(std::move(request), std::move(respond));
      });
  if (options_.metrics) {
    http_->SetMetrics([net = net_.get(), engine = engine_] { return RenderMetrics(net, engine.get()); });
  }
  if (admin_ != nullptr) {
    admin_->SetSources(net_.get(), engine_);
    http_->EnableAdminPage();
  }
  absl::Status s = net_->Start();
  if (!s.ok()) return s;
  http_->SetReady(true);
  return absl::OkStatus();
}

absl::Status Server::ReloadRules() {
  if (access_ == nullptr) {
    return absl::FailedPreconditionError("no --rules file was given at start");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const access::Rules> rules,
                   access::Rules::Load(options_.rules_file));
  access_->SetRules(std::move(rules));
  if (net_) net_->RerunAll();
  return absl::OkStatus();
}

absl::Status Server::ReloadTls() {
  if (!net_) return absl::FailedPreconditionError("the server is not running");
  return net_->ReloadTls();
}

void Server::Shutdown() {
  if (http_) http_->SetReady(false);
  if (admin_) admin_->Stop();
  // Sessions first: closing them queues their unsubscribes. Then the engine
  // finishes its queue (callbacks post to connection strands) and drops its
  // subscriptions, before the network layer and its io_context go: nothing
  // in the engine may still hold a connection's executor by then.
  if (net_) net_->Shutdown();
  if (engine_) engine_->Stop();
  net_.reset();
  engine_.reset();
}

}  // namespace ddp
