// NetServer: HTTP and DDP-over-WebSocket on one port (Boost.Beast).
//
// WebSocket upgrades at /websocket and /sockjs/websocket become DDP
// sessions (server/ddp); every other request goes to the HttpHandler.
// Each connection runs on its own strand; `threads` I/O threads share the
// connections. Outbound frames wait in a per-connection queue bounded in
// bytes, with one write in flight; a client that lets the queue pass the
// limit is closed as a slow consumer (close code 4001) so that memory stays
// bounded and other clients are unaffected.
//
// Thread-safe: Start/Shutdown from one controlling thread; the counters
// from anywhere.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/clock.h"
#include "server/ddp/registry.h"
#include "server/ddp/session.h"
#include "server/net/http_types.h"

namespace ddp {

struct NetOptions {
  // Address to listen on. Default: "0.0.0.0".
  std::string bind = "0.0.0.0";
  // Port; 0 picks an ephemeral one (see NetServer::port()). Default: 3000.
  uint16_t port = 3000;
  // I/O threads. Default: 0, meaning one per hardware thread.
  int threads = 0;
  // Largest WebSocket message accepted; a larger one closes the connection
  // with 1009. Default: 1 MiB.
  size_t max_message_bytes = size_t{1} << 20;
  // Largest HTTP request body. Default: 1 MiB.
  size_t max_http_body_bytes = size_t{1} << 20;
  // Outbound bytes queued for one connection before it is closed as a slow
  // consumer (4001). Default: 16 MiB.
  size_t outbound_queue_bytes = size_t{16} << 20;
  // Outbound bytes queued for one connection above which pending data
  // messages about the same document are merged (conflate.h): a client
  // that cannot keep up gets each document's latest state, not every step.
  // Zero: never. Default: 1 MiB.
  size_t outbound_soft_bytes = size_t{1} << 20;
  // Negotiate permessage-deflate when the client offers it. Default: true.
  bool permessage_deflate = true;
  // At shutdown, how long sessions get to flush their queues before they
  // are closed anyway. Default: 5 s.
  Duration shutdown_grace = std::chrono::seconds(5);
  // How long a WebSocket close handshake may take before the socket is cut.
  // Default: 5 s.
  Duration close_timeout = std::chrono::seconds(5);
  // Idle timeout for HTTP (non-WebSocket) keep-alive connections.
  // Default: 30 s.
  Duration http_idle_timeout = std::chrono::seconds(30);
  // Sessions that wait for their client at once (session resumption); a
  // lost connection beyond that ends its session at once. Default: 10000.
  size_t max_parked_sessions = 10000;
  // WebSocket connections from one IP address at once; one more is refused
  // at the upgrade with HTTP 429. Zero: no limit. Default: 0, because
  // behind a reverse proxy every client has the proxy's address; set it
  // when ddpd faces its clients directly.
  size_t max_connections_per_ip = 0;
  // Rate limits per logged-in user across its connections (token buckets,
  // Meteor's too-many-requests): calls and subscriptions a second and how
  // many at once. Zero rate: no limit. Defaults: methods unlimited (as per
  // connection), subscriptions 1000/s with a burst of 1000.
  double user_method_rate = 0;
  double user_method_burst = 1000;
  double user_sub_rate = 1000;
  double user_sub_burst = 1000;
  // TLS on the port (wss://, https://): PEM certificate chain and private
  // key files. Empty: plain. NetServer::ReloadTls reads them again.
  std::string tls_cert_file;
  std::string tls_key_file;
  // With TLS, also serve plain connections on the same port (each
  // connection's first bytes tell which it is). Default: false, a plain
  // request gets 400 "this port speaks TLS".
  bool tls_allow_plain = false;
  SessionOptions session;
};

struct NetStats {
  std::atomic<int64_t> connections_open{0};  // WebSocket sessions now
  std::atomic<int64_t> sessions_total{0};
  std::atomic<int64_t> messages_in{0};
  std::atomic<int64_t> messages_out{0};
  std::atomic<int64_t> bytes_out{0};
  // Received: the frames as read on the plain path, the (inflated)
  // messages with permessage-deflate, the bodies of SockJS xhr_send.
  std::atomic<int64_t> bytes_in{0};
  std::atomic<int64_t> slow_consumer_closes{0};
  std::atomic<int64_t> messages_conflated{0};  // merged into a pending one (or cancelled)
  std::atomic<int64_t> sessions_resumed{0};  // Meteor session resumptions
  std::atomic<int64_t> connections_refused{0};  // beyond max_connections_per_ip
  std::atomic<int64_t> http_requests{0};
};

// One connection as the admin page lists it.
struct ConnectionSummary {
  std::string remote_address;
  std::string transport;  // "websocket", "sockjs-websocket", "sockjs-xhr"
  size_t queued_bytes = 0;
};

class NetServer {
 public:
  NetServer(NetOptions options, std::shared_ptr<const Registry> registry, HttpHandler http);
  ~NetServer();  // shuts down if still running

  // Binds, listens and starts the I/O threads. Errors: the address cannot be
  // bound (Unavailable) or parsed (InvalidArgument).
  absl::Status Start();
  // The bound port (after Start).
  uint16_t port() const;
  // Stops accepting, lets sessions flush for up to shutdown_grace, closes
  // them with 1001 "server shutting down", then stops the threads. Idempotent.
  void Shutdown();

  const NetStats& stats() const;
  // Reads the TLS certificate and key again (SIGHUP): new connections get
  // them, open ones keep theirs. A bad pair changes nothing.
  absl::Status ReloadTls();
  // Runs every session's subscriptions again, each on its strand, so that
  // they follow access rules that changed (SIGHUP). Thread-safe.
  void RerunAll();
  // Sessions now waiting for their client to come back.
  size_t parked_sessions() const;
  // Bytes waiting in every connection's outbound queue. Walks the
  // connections (a scrape, not the hot path).
  size_t outbound_queued_bytes() const;
  // The `max` connections with the most bytes queued, most first.
  std::vector<ConnectionSummary> Connections(size_t max) const;
  // DDP method calls by name and outcome.
  const MethodStats& method_stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ddp
