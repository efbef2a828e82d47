// HttpApi: the HTTP routes of ddpd that are not WebSocket upgrades.
//
//   GET /            what this server is (text)
//   GET /healthz     liveness: 200 while the process serves requests
//   GET /readyz      readiness: 200 once started and not shutting down, else 503
//
// Unknown routes get 404, wrong methods 405, as JSON {"error", "reason"}.
// Thread-safe: Handle runs on many connection strands at once.
#pragma once

#include <atomic>
#include <string>

#include "server/net/http_types.h"

namespace ddp {

class HttpApi {
 public:
  explicit HttpApi(std::string version) : version_(std::move(version)) {}

  void Handle(HttpRequest request, HttpRespond respond);
  // Readiness as /readyz reports it.
  void SetReady(bool ready) { ready_.store(ready); }

  static HttpResponse Error(int status, std::string_view reason);

 private:
  const std::string version_;
  std::atomic<bool> ready_{false};
};

}  // namespace ddp
