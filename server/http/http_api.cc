#include "server/http/http_api.h"

#include "common/strings.h"
#include "protocol/json.h"

namespace ddp {

HttpResponse HttpApi::Error(int status, std::string_view reason) {
  std::string body = StrCat(R"({"error":)", status, R"(,"reason":)");
  AppendJsonString(reason, &body);
  body.push_back('}');
  return HttpResponse{status, "application/json", std::move(body), {}};
}

void HttpApi::Handle(HttpRequest request, HttpRespond respond) {
  std::string_view path = request.Path();
  bool get = request.method == "GET" || request.method == "HEAD";
  if (path == "/healthz" || path == "/readyz" || path == "/") {
    if (!get) {
      HttpResponse r = Error(405, "method not allowed");
      r.headers.emplace_back("Allow", "GET, HEAD");
      respond(std::move(r));
      return;
    }
    if (path == "/healthz") {
      respond(HttpResponse{200, "application/json", R"({"status":"ok"})", {}});
    } else if (path == "/readyz") {
      respond(ready_.load() ? HttpResponse{200, "application/json", R"({"status":"ready"})", {}}
                            : Error(503, "not ready"));
    } else {
      respond(HttpResponse{200, "text/plain; charset=utf-8",
                           StrCat("ddpd ", version_,
                                  ": a DDP real-time data server.\n"
                                  "Connect a DDP client to ws://<host>:<port>/websocket.\n"),
                           {}});
    }
    return;
  }
  respond(Error(404, StrCat("no route for ", request.method, " ", path)));
}

}  // namespace ddp
