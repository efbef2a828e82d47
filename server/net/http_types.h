// Plain HTTP request/response types shared by server/net (which speaks
// HTTP through Beast) and server/http (which implements the routes). No
// Beast here, so that route code compiles quickly and stays testable.
#pragma once

#include <functional>
#include <optional>
#include <string_view>
#include <string>
#include <utility>
#include <vector>

namespace ddp {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent ("/api/v1/topics/x?q=...")
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_address;
  // The client's X-Request-Id, or one made up (server/net); every response
  // carries it back in X-Request-Id.
  std::string request_id;

  // The first header with this name (case-insensitive), or "".
  std::string Header(std::string_view name) const;
  // The target without the query string.
  std::string_view Path() const;
  // The raw (still percent-encoded) value of a query parameter, or nullopt.
  std::optional<std::string> Query(std::string_view name) const;
};

struct HttpResponse {
  HttpResponse() = default;
  HttpResponse(int status, std::string content_type, std::string body,
               std::vector<std::pair<std::string, std::string>> headers = {})
      : status(status),
        content_type(std::move(content_type)),
        body(std::move(body)),
        headers(std::move(headers)) {}

  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Logged, not sent: what went wrong inside, for a 5xx answer (logged
  // with the request id).
  std::string log_detail;
};

// Completes a request; callable once, from any thread.
using HttpRespond = std::function<void(HttpResponse)>;
// Serves one request (not a WebSocket upgrade). Runs on the connection's
// strand; must not block: reply later through `respond` when work is slow.
using HttpHandler = std::function<void(HttpRequest request, HttpRespond respond)>;

// Percent-decoding for query values ("+" is a space). InvalidArgument-free:
// malformed escapes are kept as they are.
std::string UrlDecode(std::string_view s);

}  // namespace ddp
