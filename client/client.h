// ddp::Client — an asynchronous DDP client (any DDP server; ddpd included).
//
// Connects over ws:// or wss:// (TLS, certificate verified), negotiates the
// DDP version, answers and sends heartbeats, and reconnects with exponential
// backoff and jitter when the connection drops. Subscriptions are sent
// again after a reconnect; the local cache is rebuilt from the server's
// fresh data and observers hear only what actually changed. Method calls
// complete once both `result` and `updated` arrived (Meteor's rule: the
// data the method wrote is then in the cache); calls in flight when the
// connection drops fail with Unavailable unless they asked to be retried.
//
// Threading: a Client's I/O runs on its own thread, or on a shared
// IoThreads (ClientOptions::io). Every callback of one Client (connection,
// method, subscription, observer) runs on an I/O thread, one at a time, in
// order; do not block in them. All public methods are thread-safe and may be called from
// any thread, callbacks included. The cache may be read from any thread
// through ReadCache().
//
// Lifetime: create with Create(), call Start(), and Stop() before the last
// reference goes (the destructor stops too).
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/cache.h"
#include "protocol/ddp_error.h"
#include "protocol/value.h"

namespace ddp {

// Threads that run the I/O of one or more Clients. By default each Client
// makes its own one-thread IoThreads; a program with many connections (a
// load generator, a gateway) shares one among them. The IoThreads must
// outlive every Client using it.
class IoThreads {
 public:
  explicit IoThreads(int threads = 1);
  ~IoThreads();  // stops and joins the threads
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;

 private:
  friend class Client;
  void Shutdown();
  struct State;
  std::unique_ptr<State> state_;
};

struct ClientOptions {
  // ws://host:port/path or wss://host:port/path. Default: ddpd on localhost.
  std::string url = "ws://127.0.0.1:3000/websocket";
  // Several servers (the nodes of a ddpd cluster): when set, `url` is
  // ignored and every reconnect after a failed attempt or a drop goes to
  // the next one, round robin. Default: empty.
  std::vector<std::string> urls;
  // After a reconnect, tell the server what the cache holds (a digest per
  // document, `ddpd_resume` in `connect`), so that a ddpd node sends only
  // what differs instead of every document again; other servers ignore it
  // and send everything, as before. Default: true.
  bool resume = true;
  // DDP versions to offer, preferred first. Default: 1, pre2, pre1.
  std::vector<std::string> versions = {"1", "pre2", "pre1"};
  // Reconnect after a drop. Default: true.
  bool auto_reconnect = true;
  // Backoff between attempts: initial, doubled per failure up to max, each
  // delay randomized by +-jitter. Defaults: 100 ms, 10 s, 0.25.
  std::chrono::milliseconds reconnect_initial{100};
  std::chrono::milliseconds reconnect_max{10000};
  double reconnect_jitter = 0.25;
  // Time for TCP + TLS + WebSocket + DDP handshakes. Default: 10 s.
  std::chrono::milliseconds connect_timeout{10000};
  // Client ping after this much silence; drop the connection if nothing
  // arrives this long after it. Defaults: 15 s, 15 s.
  std::chrono::milliseconds heartbeat_interval{15000};
  std::chrono::milliseconds heartbeat_timeout{15000};
  // TLS: a PEM file of trusted CAs (empty: the system's), and whether to
  // verify the server's certificate and host name. Defaults: "", true.
  std::string ca_file;
  bool verify_peer = true;
  // Sent as `login` [{resume: token}] after each connect when non-empty,
  // before any subscription or call; a refused login fails the connection
  // with Unauthenticated and stops reconnecting.
  std::string resume_token;
  // The same with a JWT (`login` [{jwt: token}], ddpd's JWT logins), used
  // when resume_token is empty. The application renews it before it
  // expires (a reconnect logs in with whatever is set then).
  std::string jwt;
  // Keep the documents of subscriptions in the cache. false: observers
  // hear every data message as it arrives and nothing is stored (for
  // high-volume streams); after a reconnect the fresh data is heard again
  // as `added`. Default: true.
  bool store_documents = true;
  // The threads that run this client's I/O and callbacks. Default (null):
  // a thread of its own.
  std::shared_ptr<IoThreads> io;
};

struct CallOptions {
  // Send again after a reconnect instead of failing. Only safe for
  // idempotent methods (a `tx` with a `key` is). Default: false.
  bool retry_on_reconnect = false;
  // Complete on `result` alone, without waiting for `updated`.
  // Default: false.
  bool skip_updated = false;
};

// The error a server returned for a call or a subscription, if `status`
// carries one (method errors and nosub errors do; transport errors don't).
std::optional<DdpError> ServerError(const absl::Status& status);

class Client : public std::enable_shared_from_this<Client> {
 public:
  using CallCallback = std::function<void(absl::StatusOr<Value> result)>;
  struct SubscriptionCallbacks {
    std::function<void()> ready;                  // initial data is in the cache
    std::function<void(absl::Status)> stopped;    // nosub: OK, or the server's error
  };
  using SubscriptionId = std::string;

  static std::shared_ptr<Client> Create(ClientOptions options);
  ~Client();

  // Starts connecting in the background. Calls and subscriptions made
  // before the connection is up are sent once it is.
  void Start();
  // Closes the connection and stops the thread. Pending calls fail with
  // Cancelled. Idempotent. Must not be called from a callback.
  void Stop();

  bool connected() const;
  std::string session_id() const;
  // Told of every connect (OK), every disconnect and every failed connect
  // attempt (the reason).
  void OnConnectionChange(std::function<void(bool connected, absl::Status why)> fn);

  // Calls a method. The result is null when the method returned nothing.
  void Call(std::string method, Array params, CallCallback done, CallOptions options = {});
  std::future<absl::StatusOr<Value>> Call(std::string method, Array params,
                                          CallOptions options = {});

  SubscriptionId Subscribe(std::string name, Array params, SubscriptionCallbacks callbacks = {});
  void Unsubscribe(const SubscriptionId& id);

  uint64_t Observe(std::string collection, ObserveCallbacks callbacks);
  void Unobserve(uint64_t handle);
  // Runs `fn` with the cache, under the cache's lock (any thread).
  void ReadCache(const std::function<void(const Cache&)>& fn) const;

  // Counters, for tests and ddpctl.
  int64_t connects() const;
  // Data messages (added, changed, removed, addedBefore, movedBefore)
  // received since Start.
  int64_t data_messages() const;
  // Reconnects on which the server took the resume (sent only what differed).
  int64_t resumes() const;
  // The URL of the current (or last) connection.
  std::string current_url() const;

 private:
  struct Impl;
  explicit Client(ClientOptions options);
  // Declared first so that it is destroyed last: the Impl's sockets and
  // timers belong to its io_context.
  std::shared_ptr<IoThreads> io_;
  bool own_io_ = false;
  std::shared_ptr<Impl> impl_;
};

// A blocking facade for scripts and tests: every call waits, with a
// deadline. Not for use from a Client callback.
class SyncClient {
 public:
  static absl::StatusOr<std::unique_ptr<SyncClient>> Connect(
      ClientOptions options, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~SyncClient();

  absl::StatusOr<Value> Call(std::string method, Array params,
                             std::chrono::milliseconds timeout = std::chrono::seconds(30),
                             CallOptions options = {});
  // Subscribes and waits for `ready` (or the server's error).
  absl::StatusOr<Client::SubscriptionId> Subscribe(
      std::string name, Array params, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void Unsubscribe(const Client::SubscriptionId& id);
  // Documents of a collection (id -> fields), in order for ordered ones.
  std::vector<std::pair<std::string, Object>> Find(const std::string& collection) const;
  // Waits until `pred(cache)` holds.
  absl::Status WaitFor(const std::function<bool(const Cache&)>& pred,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));
  Client& client() { return *client_; }

 private:
  explicit SyncClient(std::shared_ptr<Client> c) : client_(std::move(c)) {}
  std::shared_ptr<Client> client_;
};

}  // namespace ddp
