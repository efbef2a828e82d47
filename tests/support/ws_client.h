// A blocking WebSocket + DDP client for tests: a real socket to a real
// server, with deadlines on every wait (tests never sleep to wait for an
// event). Not thread-safe; one thread drives it.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/value.h"

namespace ddp::testing {

using std::chrono::milliseconds;
inline constexpr milliseconds kWait{5000};

struct CloseInfo {
  uint16_t code = 0;
  std::string reason;
};

class WsClient {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    uint16_t port = 0;
    std::string path = "/websocket";
    bool deflate = false;
    // Stop reading after each message until the test asks for more (to
    // simulate a slow consumer).
    bool manual_read = false;
  };

  static absl::StatusOr<std::unique_ptr<WsClient>> Open(Options options);
  static absl::StatusOr<std::unique_ptr<WsClient>> Open(uint16_t port) {
    Options o;
    o.port = port;
    return Open(o);
  }
  ~WsClient();

  absl::Status Send(std::string_view text);
  absl::Status SendBinary(std::string_view bytes);
  // A WebSocket ping (control frame); pongs() counts the pongs received.
  absl::Status Ping(std::string_view payload);
  int pongs() const;
  // Next text frame, or DeadlineExceeded; Unavailable once closed.
  absl::StatusOr<std::string> Read(milliseconds timeout = kWait);
  // Next frame parsed as JSON.
  absl::StatusOr<Value> ReadJson(milliseconds timeout = kWait);
  // Reads until a message satisfies `pred`; messages before it go to
  // `skipped` when given.
  absl::StatusOr<Value> ReadUntil(const std::function<bool(const Value&)>& pred,
                                  milliseconds timeout = kWait,
                                  std::vector<Value>* skipped = nullptr);
  // Waits for the server to close; the close code and reason it sent.
  absl::StatusOr<CloseInfo> WaitClosed(milliseconds timeout = kWait);
  bool closed() const { return closed_; }
  // Stop reading from the socket (its receive buffer fills up).
  void set_reading(bool on);

  // DDP: connect (version 1) and wait for `connected`; returns the session id.
  absl::StatusOr<std::string> DdpConnect(std::string_view version = "1");
  // Calls a method; returns the `result` message (which holds result or
  // error) after also seeing its `updated`. Data messages that arrive in
  // between go to `data` when given.
  absl::StatusOr<Value> Call(std::string_view method, std::string_view params_json = "[]",
                             std::vector<Value>* data = nullptr);
  // Subscribes and waits for `ready` (returns it) or `nosub` (returns it).
  absl::StatusOr<Value> Subscribe(std::string_view id, std::string_view name,
                                  std::string_view params_json = "[]",
                                  std::vector<Value>* data = nullptr);

 private:
  struct Impl;
  explicit WsClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  bool closed_ = false;
  int next_id_ = 1;
};

// The `msg` of a parsed message, or "".
std::string MsgOf(const Value& v);
// "<error> <reason>" of a `result` or `nosub` that carries an error
// ("403 Access denied: ..."), "" for one without.
std::string ErrorText(const Value& m);

// Polls `cond` every few milliseconds until it holds or `timeout` passes;
// returns its last answer (for state the server changes on its own time,
// such as a session parked or a subscription ended).
bool WaitUntil(const std::function<bool()>& cond, milliseconds timeout = milliseconds(10000));

}  // namespace ddp::testing

namespace ddp::testing {

struct HttpResult {
  int status = 0;
  std::string content_type;
  std::string body;
};

// One HTTP/1.1 request on a fresh connection.
absl::StatusOr<HttpResult> HttpFetch(uint16_t port, std::string_view method,
                                     std::string_view target, std::string_view body = "",
                                     std::string_view content_type = "application/json",
                                     std::string_view authorization = "");

}  // namespace ddp::testing
