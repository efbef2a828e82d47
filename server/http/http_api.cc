#include "server/http/http_api.h"

#include <random>

#include "absl/strings/match.h"
#include "common/clock.h"
#include "common/strings.h"
#include "protocol/ddp_error.h"
#include "protocol/json.h"
#include "server/admin/admin.h"
#include "server/sockjs/framing.h"
#include "spdlog/spdlog.h"

namespace ddp {

HttpResponse HttpApi::Error(int status, std::string_view reason) {
  std::string body = StrCat(R"({"error":)", status, R"(,"reason":)");
  AppendJsonString(reason, &body);
  body.push_back('}');
  return HttpResponse{status, "application/json", std::move(body), {}};
}

// SockJS' first request (sockjs-client, Meteor's browser client): what
// transports there are. Cross-origin like SockJS servers answer it: the
// page may be served from elsewhere.
HttpResponse HttpApi::SockJsInfo(const HttpRequest& request) {
  std::vector<std::pair<std::string, std::string>> headers =
      sockjs::CorsHeaders(request.Header("Origin"));
  if (request.method == "OPTIONS") {
    headers.emplace_back("Access-Control-Allow-Methods", "OPTIONS, GET");
    headers.emplace_back("Access-Control-Max-Age", "31536000");
    return HttpResponse{204, "text/plain; charset=utf-8", "", std::move(headers)};
  }
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse r = Error(405, "method not allowed");
    r.headers.emplace_back("Allow", "OPTIONS, GET, HEAD");
    return r;
  }
  static thread_local std::mt19937 random{std::random_device()()};
  return HttpResponse{200, "application/json; charset=UTF-8", sockjs::InfoBody(random()),
                      std::move(headers)};
}

HttpResponse HttpApi::FromStatus(const absl::Status& status) {
  DdpError e = DdpErrorFromStatus(status);
  std::string body = R"({"error":)";
  AppendJson(e.error, &body);
  body.append(R"(,"reason":)");
  AppendJsonString(e.reason, &body);
  body.push_back('}');
  HttpResponse r{e.http_status, "application/json", std::move(body)};
  // Logged by server/net with the request id; the client sees only the
  // generic reason.
  if (IsInternalError(status)) r.log_detail = ToStd(status.message());
  return r;
}

void HttpApi::Api(const HttpRequest& request, const Caller& caller, HttpRespond respond) {
  const access::Access* rules = auth_.access.get();
  std::string_view path = request.Path().substr(std::string_view("/api/v1").size());
  auto json_reply = [respond](Value v) {
    respond(HttpResponse{200, "application/json", ToJson(v), {}});
  };
  auto tx_reply = [respond, this, rules, &caller](absl::StatusOr<engine::TxRequest> tx,
                                                  bool via_tx) {
    if (!tx.ok()) {
      respond(FromStatus(tx.status()));
      return;
    }
    if (rules != nullptr) {
      if (absl::Status allowed = rules->AuthorizeTx(caller.rules(), *tx, via_tx); !allowed.ok()) {
        respond(FromStatus(allowed));
        return;
      }
    }
    engine::ResultShape shape = tx->shape;
    engine_->Submit(std::move(*tx), [respond, shape](absl::StatusOr<engine::TxResult> r) {
      if (!r.ok()) {
        respond(FromStatus(r.status()));
      } else {
        respond(HttpResponse{200, "application/json", ToJson(engine::ResultValue(*r, shape)), {}});
      }
    });
  };
  auto body_json = [&]() -> absl::StatusOr<Value> {
    absl::StatusOr<Value> v = ParseJson(request.body);
    if (!v.ok()) return absl::InvalidArgumentError(StrCat("body: ", v.status().message()));
    return v;
  };
  if (path == "/tx") {
    if (request.method != "POST") return respond(Error(405, "use POST"));
    absl::StatusOr<Value> body = body_json();
    if (!body.ok()) return respond(FromStatus(body.status()));
    if (!body->is_object() || body->Find("ops") == nullptr) {
      return respond(Error(400, "the body must be {\"ops\": [...], \"key\"?: ...}"));
    }
    Value options{Object()};
    if (const Value* key = body->Find("key")) options.as_object().Append("key", *key);
    return tx_reply(engine::ParseTx(*body->Find("ops"), options), /*via_tx=*/true);
  }
  if (path == "/topics") {
    if (request.method != "GET") return respond(Error(405, "use GET"));
    Array out;
    for (const engine::TopicInfo& t : engine_->Topics()) {
      // Only topics the caller may read; their sizes only when it may read
      // all of them (a count under a row filter would tell about others).
      access::Access::Visibility v{true, true};
      if (rules != nullptr) v = rules->TopicVisibility(caller.rules(), t.name);
      if (!v.visible) continue;
      Object o{{"name", Value(t.name)}};
      if (v.whole) {
        o.Append("documents", Value(t.documents));
        o.Append("writes", Value(t.writes));
      }
      out.push_back(Value(std::move(o)));
    }
    return json_reply(Value(std::move(out)));
  }
  if (absl::StartsWith(ToAbsl(path), "/topics/")) {
    std::string_view rest = path.substr(8);
    std::string topic = UrlDecode(rest.substr(0, rest.find('/')));
    std::string_view tail = rest.find('/') == std::string_view::npos ? "" : rest.substr(rest.find('/'));
    if (tail == "/publish") {
      if (request.method != "POST") return respond(Error(405, "use POST"));
      absl::StatusOr<Value> body = body_json();
      if (!body.ok()) return respond(FromStatus(body.status()));
      return tx_reply(engine::ParsePublish(topic, *body), /*via_tx=*/false);
    }
    if (tail.empty()) {
      if (request.method != "GET") return respond(Error(405, "use GET"));
      Value query;
      if (std::optional<std::string> q = request.Query("q"); q && !q->empty()) {
        absl::StatusOr<Value> parsed = ParseJson(*q);
        if (!parsed.ok()) return respond(Error(400, StrCat("q: ", parsed.status().message())));
        query = std::move(*parsed);
      }
      std::optional<Value> allowed;
      if (rules != nullptr) {
        absl::StatusOr<std::optional<Value>> r =
            rules->RewriteQuery(caller.rules(), topic, query, access::Action::kQuery);
        if (!r.ok()) return respond(FromStatus(r.status()));
        allowed = std::move(*r);
      }
      absl::StatusOr<engine::PlanPtr> spec =
          engine::ParsePlan(topic, allowed ? *allowed : query, engine_->options().live_limits);
      if (!spec.ok()) return respond(FromStatus(spec.status()));
      engine_->Query(std::move(*spec), [respond](absl::StatusOr<Array> docs) {
        if (!docs.ok()) {
          respond(FromStatus(docs.status()));
        } else {
          respond(HttpResponse{200, "application/json", ToJson(Value(std::move(*docs))), {}});
        }
      });
      return;
    }
  }
  respond(Error(404, StrCat("no route for ", request.method, " ", request.Path())));
}

// Ready: started, not shutting down, and in cluster mode connected to the
// log and caught up with it since start (a node that is still replaying the
// stream would serve stale reads). The log's position and lag are in the
// body either way.
HttpResponse HttpApi::Readiness() const {
  if (!ready_.load()) return Error(503, "not ready");
  if (engine_ == nullptr) return HttpResponse{200, "application/json", R"({"status":"ready"})", {}};
  engine::LogProgress p = engine_->log_progress();
  std::string reason;
  if (!p.error.empty()) {
    reason = StrCat("the commit log cannot be applied: ", p.error);
  } else if (!p.log.connected) {
    reason = "not connected to the commit log";
  } else if (!p.caught_up) {
    reason = StrCat("catching up with the commit log (", p.lag, " records behind)");
  }
  Object body;
  body.Append("status", Value(reason.empty() ? "ready" : "not ready"));
  if (!reason.empty()) body.Append("reason", Value(reason));
  body.Append("log", Value(engine::LogProgressToObject(p, engine_->last_seq())));
  return HttpResponse{reason.empty() ? 200 : 503, "application/json", ToJson(Value(std::move(body))),
                      {}};
}

std::optional<HttpResponse> HttpApi::Authorize(const HttpRequest& request, Caller* who) const {
  auto unauthorized = [](std::string_view why) {
    HttpResponse r = Error(401, why);
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  };
  const std::string header = request.Header("Authorization");
  if (header.empty()) {
    if (auth_.allow_anonymous) return std::nullopt;
    return unauthorized("login required: send Authorization: Bearer <token>");
  }
  if (!absl::StartsWithIgnoreCase(ToAbsl(header), "Bearer ")) {
    return unauthorized("the Authorization header must be Bearer <token>");
  }
  std::string_view token = std::string_view(header).substr(7);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  if (const auth::ApiKey* key = auth_.api_keys.Find(token)) {
    const bool write = request.method != "GET" && request.method != "HEAD";
    if (write ? key->write : key->read) {
      who->service = true;
      return std::nullopt;
    }
    return Error(403, StrCat("API key '", key->name, "' has no ", write ? "write" : "read",
                             " scope"));
  }
  const int64_t now_ms = UnixMillis();
  if (auth_.tokens != nullptr) {
    if (absl::StatusOr<auth::Login> login = auth_.tokens->Resume(token, now_ms); login.ok()) {
      auto user = std::make_shared<UserIdentity>();
      user->id = login->user_id;
      if (login->claims != nullptr) user->claims = *login->claims;
      who->user = std::move(user);
      return std::nullopt;
    }
  }
  if (auth_.jwt == nullptr) return unauthorized("unknown token");
  absl::StatusOr<Object> claims = auth_.jwt->Verify(token, now_ms / 1000);
  if (!claims.ok()) return unauthorized(ToStd(claims.status().message()));
  auto user = std::make_shared<UserIdentity>();
  if (const Value* sub = claims->Find("sub"); sub != nullptr && sub->is_string()) {
    user->id = sub->as_string();
  }
  user->claims = std::move(*claims);
  who->user = std::move(user);
  return std::nullopt;
}

void HttpApi::Handle(HttpRequest request, HttpRespond respond) {
  std::string_view path = request.Path();
  if (engine_ != nullptr && absl::StartsWith(ToAbsl(path), "/api/v1/")) {
    Caller caller;
    if (std::optional<HttpResponse> refused = Authorize(request, &caller)) {
      respond(std::move(*refused));
      return;
    }
    Api(request, caller, std::move(respond));
    return;
  }
  bool get = request.method == "GET" || request.method == "HEAD";
  if (admin_page_ && (path == "/admin" || path.starts_with("/admin/"))) {
    const admin::PageFile* file = admin::FindPageFile(path);
    if (file == nullptr) {
      respond(Error(404, "not found"));
    } else if (!get) {
      HttpResponse r = Error(405, "method not allowed");
      r.headers.emplace_back("Allow", "GET, HEAD");
      respond(std::move(r));
    } else {
      // Static and public (the data comes over DDP, behind the login):
      // scripts only from here, nothing framed.
      respond(HttpResponse{200, file->content_type, std::string(file->body),
                           {{"Content-Security-Policy",
                             "default-src 'self'; connect-src 'self' ws: wss:; "
                             "frame-ancestors 'none'"},
                            {"X-Content-Type-Options", "nosniff"},
                            {"Cache-Control", "no-cache"}}});
    }
    return;
  }
  if (path == "/sockjs/info") {
    respond(SockJsInfo(request));
    return;
  }
  if (path == "/metrics" && metrics_) {
    if (!get) {
      HttpResponse r = Error(405, "method not allowed");
      r.headers.emplace_back("Allow", "GET, HEAD");
      respond(std::move(r));
      return;
    }
    respond(HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", metrics_(), {}});
    return;
  }
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
      respond(Readiness());
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
