// HttpApi: the HTTP routes of ddpd that are not WebSocket upgrades.
//
//   GET /            what this server is (text)
//   GET /healthz     liveness: 200 while the process serves requests
//   GET /readyz      readiness: 200 once started, not shutting down and (cluster
//                    mode) caught up with the commit log, else 503; the log position
//                    and lag in the body
//   POST /api/v1/tx                        a transaction: {ops, key?}
//   POST /api/v1/topics/{topic}/publish    a document or an array of them
//   GET  /api/v1/topics/{topic}?q=<query>  the current result of a query
//   GET  /api/v1/topics                    topics with document counts
//   GET  /metrics    Prometheus text format (server/metrics), open like /healthz
//   GET  /admin      the admin page (--admin; server/admin), its files under /admin/
//   GET  /sockjs/info  SockJS transports (WebSocket; server/sockjs), open, cross-origin
//
// Who calls /api/v1/*: `Authorization: Bearer <token>` with an API key
// (scopes read: GET routes, write: POST routes), a resume token from a DDP
// `login`, or a JWT `login` would take. A token that is none of these gets
// 401 with the reason (and `WWW-Authenticate: Bearer`), a key without the
// route's scope 403; no token is anonymous, refused with 401 when
// anonymous access is off. /, /healthz and /readyz are always open.
//
// Errors are JSON {"error": code, "reason": text} with the matching status
// (the same mapping as DDP errors: 400, 404, 409, 429, 503, 500).
// Unknown routes get 404, wrong methods 405, as JSON {"error", "reason"}.
// Thread-safe: Handle runs on many connection strands at once.
#pragma once

#include <atomic>
#include <string>

#include "auth/api_keys.h"
#include "auth/jwt.h"
#include "auth/tokens.h"
#include "server/access/access.h"
#include "server/engine/engine.h"
#include "server/net/http_types.h"

namespace ddp {

struct HttpAuth {
  std::shared_ptr<const auth::JwtVerifier> jwt;  // may be null
  std::shared_ptr<auth::TokenStore> tokens;      // may be null
  auth::ApiKeys api_keys;
  bool allow_anonymous = true;
  // Access rules for callers with a JWT or resume token, and anonymous
  // ones; API keys are governed by their scopes. May be null.
  std::shared_ptr<const access::Access> access;
};

class HttpApi {
 public:
  // `engine` may be null (no data routes).
  HttpApi(std::string version, std::shared_ptr<engine::Engine> engine)
      : version_(std::move(version)), engine_(std::move(engine)) {}

  // Before the server starts.
  void SetAuth(HttpAuth auth) { auth_ = std::move(auth); }
  void Handle(HttpRequest request, HttpRespond respond);
  // Readiness as /readyz reports it.
  void SetReady(bool ready) { ready_.store(ready); }
  // What GET /metrics answers (Prometheus text); unset: 404. Before the
  // server starts.
  void SetMetrics(std::function<std::string()> render) { metrics_ = std::move(render); }
  // GET /admin and its files (server/admin); off: 404. Before the server
  // starts.
  void EnableAdminPage() { admin_page_ = true; }

  static HttpResponse Error(int status, std::string_view reason);
  HttpResponse Readiness() const;
  static HttpResponse SockJsInfo(const HttpRequest& request);
  static HttpResponse FromStatus(const absl::Status& status);

 private:
  // Who called: a user (JWT or resume token), an API key, or anonymous.
  struct Caller {
    std::shared_ptr<const UserIdentity> user;
    bool service = false;
    access::Caller rules() const { return access::Caller{user.get(), service}; }
  };
  void Api(const HttpRequest& request, const Caller& caller, HttpRespond respond);
  // Null when the caller may use the route (and `who` says who it is),
  // else the response for it.
  std::optional<HttpResponse> Authorize(const HttpRequest& request, Caller* who) const;

  const std::string version_;
  const std::shared_ptr<engine::Engine> engine_;
  std::atomic<bool> ready_{false};
  HttpAuth auth_;
  std::function<std::string()> metrics_;
  bool admin_page_ = false;
};

}  // namespace ddp
