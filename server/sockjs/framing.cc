#include "server/sockjs/framing.h"

#include "common/strings.h"

namespace ddp::sockjs {
namespace {

bool ValidId(std::string_view id) {
  return !id.empty() && id.size() <= 128 && id.find_first_of("./") == std::string_view::npos;
}

}  // namespace

std::optional<Route> ParseRoute(std::string_view path) {
  constexpr std::string_view kPrefix = "/sockjs/";
  if (path.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view rest = path.substr(kPrefix.size());
  Route r;
  for (std::string_view* part : {&r.server, &r.session}) {
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    *part = rest.substr(0, slash);
    if (!ValidId(*part)) return std::nullopt;
    rest = rest.substr(slash + 1);
  }
  if (rest.empty() || rest.find('/') != std::string_view::npos) return std::nullopt;
  r.transport = rest;
  return r;
}

bool IsFramedWebSocket(std::string_view path) {
  std::optional<Route> r = ParseRoute(path);
  return r && r->transport == "websocket";
}

std::string InfoBody(uint32_t entropy) {
  return StrCat(R"({"websocket":true,"origins":["*:*"],"cookie_needed":false,"entropy":)", entropy,
                "}");
}

std::vector<std::pair<std::string, std::string>> CorsHeaders(std::string_view origin) {
  return {
      {"Cache-Control", "no-store, no-cache, no-transform, must-revalidate, max-age=0"},
      {"Access-Control-Allow-Origin",
       origin.empty() || origin == "null" ? std::string("*") : std::string(origin)},
      {"Access-Control-Allow-Credentials", "true"},
      {"Vary", "Origin"},
  };
}

std::string MessageFrame(std::string_view message) {
  std::string frame;
  frame.reserve(message.size() + message.size() / 8 + 8);
  frame.append("a[");
  AppendJsonString(message, &frame);
  frame.push_back(']');
  return frame;
}

std::string CloseFrame(int code, std::string_view reason) {
  std::string frame = StrCat("c[", code, ",");
  AppendJsonString(reason, &frame);
  frame.push_back(']');
  return frame;
}

absl::StatusOr<std::vector<std::string>> DecodeClientFrame(std::string_view frame,
                                                           const JsonLimits& limits) {
  absl::StatusOr<Value> v = ParseJson(frame, limits);
  if (!v.ok())
    return absl::InvalidArgumentError(StrCat("broken SockJS frame: ", ToStd(v.status().message())));
  std::vector<std::string> messages;
  if (v->is_string()) {
    messages.push_back(std::move(v->as_string()));
    return messages;
  }
  if (!v->is_array()) {
    return absl::InvalidArgumentError("broken SockJS frame: not an array of strings");
  }
  messages.reserve(v->as_array().size());
  for (Value& m : v->as_array()) {
    if (!m.is_string()) {
      return absl::InvalidArgumentError("broken SockJS frame: not an array of strings");
    }
    messages.push_back(std::move(m.as_string()));
  }
  return messages;
}

}  // namespace ddp::sockjs
