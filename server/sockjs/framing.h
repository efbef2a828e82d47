// SockJS (the protocol of Meteor's browser client and of sockjs-client):
// its URLs and its framing, without sockets. server/net speaks it over
// WebSocket at /sockjs/<server>/<session>/websocket; GET /sockjs/info is an
// HTTP route (server/http).
//
// Server to client, one frame per WebSocket message:
//   o                      the session is open (the first frame)
//   h                      heartbeat
//   a["msg1","msg2"]       messages: a JSON array of JSON strings
//   c[3000,"Go away!"]     closed, with a code and a reason (the last frame)
// Client to server: a JSON array of strings (["msg1","msg2"]), or a single
// JSON string, each string one DDP message.
//
// The raw endpoint /sockjs/websocket (no framing) stays as it is: it is
// what Meteor's client uses with DISABLE_SOCKJS.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/json.h"

namespace ddp::sockjs {

// /sockjs/<server>/<session>/<transport>: the ids are chosen by the client
// (non-empty, no dots, no slashes, as the SockJS protocol says).
struct Route {
  std::string_view server;
  std::string_view session;
  std::string_view transport;  // "websocket", "xhr", "xhr_send", ...
};
// The route of `path` (no query string), or nullopt when it is none.
std::optional<Route> ParseRoute(std::string_view path);
// Whether `path` is a SockJS WebSocket endpoint with framing.
bool IsFramedWebSocket(std::string_view path);

// GET /sockjs/info: WebSocket available, any origin, no cookie needed.
// `entropy` is a random number the client may use for its ids.
std::string InfoBody(uint32_t entropy);

// The headers of every SockJS answer: not cached, and cross-origin for the
// request's `Origin` (the page may come from elsewhere; "*" without one).
std::vector<std::pair<std::string, std::string>> CorsHeaders(std::string_view origin);

inline constexpr std::string_view kOpenFrame = "o";
inline constexpr std::string_view kHeartbeatFrame = "h";
// a["<message>"]: one message in a frame.
std::string MessageFrame(std::string_view message);
// c[<code>,"<reason>"]
std::string CloseFrame(int code, std::string_view reason);

// The messages of a client frame. InvalidArgument when it is not a JSON
// array of strings or one JSON string; `limits` bound the parse as for a
// DDP message.
absl::StatusOr<std::vector<std::string>> DecodeClientFrame(std::string_view frame,
                                                           const JsonLimits& limits);

}  // namespace ddp::sockjs
