// Server: ddpd assembled. Owns the engine (storage, committer, live
// queries), the network front (NetServer), the HTTP routes and the registry
// of publications and methods.
//
// Use: build a Registry (the test server adds test publications), Start(),
// then Shutdown() from the controlling thread.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "server/api/auth_api.h"
#include "server/admin/admin.h"
#include "server/api/engine_api.h"
#include "server/ddp/registry.h"
#include "server/engine/engine.h"
#include "jetstream/jetstream_log.h"
#include "server/http/http_api.h"
#include "server/net/net_server.h"

namespace ddp {

inline constexpr std::string_view kDdpdVersion = "0.1.0";

struct ServerOptions {
  NetOptions net;
  // Storage, writes and live queries; engine.store.path is the data dir
  // (default "./data").
  engine::EngineOptions engine;
  // Publication strategies of topic subscriptions (--publication-strategy).
  EngineApiOptions api;
  // Cluster mode (--cluster): the commit log is this JetStream stream,
  // shared with the other nodes. Default: no servers, the embedded log.
  jetstream::JetStreamOptions cluster;
  // Log level name. Default: "info".
  std::string log_level = "info";
  // Log line format: "text" or "json" (common/logging.h). Default: "text".
  std::string log_format = "text";
  // JWT logins (`login` with {jwt}); none configured: only anonymous
  // clients (or none, with net.session.allow_anonymous false).
  std::optional<auth::JwtOptions> jwt;
  AuthApiOptions auth;
  // API keys for the HTTP API, as auth/api_keys.h reads them (the text of
  // --api-keys-file). Default: none.
  std::string api_keys;
  // Access rules (--rules): server/access/rules.h. Empty: none, every
  // caller may do everything. Reloaded by ReloadRules (SIGHUP).
  std::string rules_file;
  // GET /metrics (--metrics). Default: true.
  bool metrics = true;
  // The admin page at /admin (--admin; server/admin). Default: off.
  bool admin = false;
  // Who may see its data: the `roles` claim value (--admin-role).
  // Default: "admin".
  std::string admin_role = "admin";
};

class Server {
 public:
  // `registry` may hold extra publications and methods (tests, embedders);
  // it is frozen once the server starts.
  Server(ServerOptions options, std::shared_ptr<Registry> registry = nullptr);
  ~Server();

  absl::Status Start();
  // Reads the rules file again and applies it to new calls and, by running
  // every subscription again, to what clients already see; connections
  // stay. A bad file changes nothing (the error says why).
  absl::Status ReloadRules();
  // Reads the TLS certificate and key again (new connections get them).
  absl::Status ReloadTls();
  // Graceful: see NetServer::Shutdown. Idempotent.
  void Shutdown();

  uint16_t port() const { return net_ ? net_->port() : 0; }
  const NetServer& net() const { return *net_; }
  engine::Engine& engine() { return *engine_; }

 private:
  ServerOptions options_;
  std::shared_ptr<Registry> registry_;
  std::shared_ptr<engine::Engine> engine_;
  std::shared_ptr<HttpApi> http_;
  std::unique_ptr<NetServer> net_;
  std::shared_ptr<auth::TokenStore> tokens_;
  std::shared_ptr<access::Access> access_;  // null without rules
  std::shared_ptr<admin::AdminFeed> admin_;  // null without --admin
};

}  // namespace ddp
