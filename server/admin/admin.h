// The admin page (--admin): GET /admin serves a static page (page/, built
// into the binary), which is itself a DDP client of this server. It
// subscribes to the `ddpd.admin` publication, which publishes the server's
// state into the `ddpd_admin` collection and refreshes it every second
// with exact deltas (only what changed is sent):
//
//   server              connections, subscriptions, messages, rates, RocksDB
//   topic:<name>        documents, writes, writes per second
//   eval:<n>            a shared live evaluation: target, query, operators,
//                       subscribers, changes in, deltas out, time spent
//   conn:<n>            the connections with the most bytes queued (slow
//                       consumers first)
//   error:<n>           the latest warnings and errors of the log
//
// Who may subscribe: a logged-in user whose `roles` claim (a string or an
// array) names AdminOptions::role; anyone when the server has no logins
// at all (no JWT configured), which the log warns about at start.
// Otherwise `nosub` 403 (401 while anonymous).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "protocol/value.h"
#include "server/ddp/registry.h"
#include "server/ddp/session.h"
#include "server/engine/engine.h"
#include "server/net/net_server.h"

namespace ddp::admin {

struct AdminOptions {
  // The `roles` claim value that may see the page's data. Default: "admin".
  std::string role = "admin";
  // Anyone may subscribe (the server has no logins). Default: false.
  bool open = false;
  // Refresh period. Default: 1 s.
  Duration interval = std::chrono::seconds(1);
  // Rows at most per kind (evaluations, connections, topics). Default: 200.
  size_t max_rows = 200;
};

// The documents of one refresh, by id.
using Snapshot = std::vector<std::pair<std::string, Object>>;

// What the page shows, read from the server's parts (either may be null).
// `previous` and `seconds` give rates. Thread-safe.
Snapshot TakeSnapshot(const NetServer* net, const engine::Engine* engine, const Snapshot* previous,
                      double seconds, size_t max_rows);

class AdminFeed : public std::enable_shared_from_this<AdminFeed> {
 public:
  explicit AdminFeed(AdminOptions options);
  ~AdminFeed();

  // Before the first subscription; the parts outlive Stop().
  void SetSources(const NetServer* net, std::shared_ptr<const engine::Engine> engine);
  // Registers the `ddpd.admin` publication.
  absl::Status Register(Registry& registry);
  // Ends the refresh thread; subscriptions get nothing more. Idempotent.
  void Stop();

 private:
  struct Subscriber {
    std::shared_ptr<Subscription> sub;
    StringMap<Object> sent;  // what this subscriber holds
  };
  void Subscribe(std::shared_ptr<Subscription> sub);
  void Run();
  static void SendDiff(Subscriber& s, const Snapshot& snapshot);

  const AdminOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<Subscriber>> subscribers_;  // guarded by mu_
  bool stopping_ = false;                                 // guarded by mu_
  const NetServer* net_ = nullptr;
  std::shared_ptr<const engine::Engine> engine_;
  std::thread thread_;
};

// The page's files, built into the binary: "/admin" (HTML), "/admin/app.js",
// "/admin/app.css". Null for any other path.
struct PageFile {
  const char* content_type;
  std::string_view body;
};
const PageFile* FindPageFile(std::string_view path);

}  // namespace ddp::admin
