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
//
// Errors are JSON {"error": code, "reason": text} with the matching status
// (the same mapping as DDP errors: 400, 404, 409, 429, 503, 500).
// Unknown routes get 404, wrong methods 405, as JSON {"error", "reason"}.
// Thread-safe: Handle runs on many connection strands at once.
#pragma once

#include <atomic>
#include <string>

#include "server/engine/engine.h"
#include "server/net/http_types.h"

namespace ddp {

class HttpApi {
 public:
  // `engine` may be null (no data routes).
  HttpApi(std::string version, std::shared_ptr<engine::Engine> engine)
      : version_(std::move(version)), engine_(std::move(engine)) {}

  void Handle(HttpRequest request, HttpRespond respond);
  // Readiness as /readyz reports it.
  void SetReady(bool ready) { ready_.store(ready); }

  static HttpResponse Error(int status, std::string_view reason);
  HttpResponse Readiness() const;
  static HttpResponse FromStatus(const absl::Status& status);

 private:
  void Api(const HttpRequest& request, HttpRespond respond);

  const std::string version_;
  const std::shared_ptr<engine::Engine> engine_;
  std::atomic<bool> ready_{false};
};

}  // namespace ddp
