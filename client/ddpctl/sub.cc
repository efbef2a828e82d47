// ddpctl sub: subscribe and print the live changes.
//
// Readable lines:  + coll id {fields} [before id]   ~ coll id {fields} -[cleared]
//                  - coll id            > coll id before <id|end>
//                  = ready
// --json: one object per line, {"event": "added"|"changed"|"removed"|
// "moved"|"ready", "collection", "id", "fields", "cleared", "before"}.
// Connection notes go to stderr. After a reconnect only what changed while
// the connection was down is printed (the SDK compares its cache).
#include <atomic>
#include <iostream>
#include <mutex>

#include "client/ddpctl/ddpctl.h"
#include "common/strings.h"
#include "protocol/json.h"

namespace ddp::ctl {

namespace {

std::string Readable(const CacheEvent& e) {
  switch (e.kind) {
    case CacheEvent::Kind::kAdded:
      return StrCat("+ ", e.collection, " ", e.id, " ", ToJson(Value(e.fields)),
                    e.before ? StrCat(" before ", *e.before) : "");
    case CacheEvent::Kind::kChanged: {
      std::string line = StrCat("~ ", e.collection, " ", e.id, " ", ToJson(Value(e.fields)));
      if (!e.cleared.empty()) {
        line += " -[";
        for (size_t i = 0; i < e.cleared.size(); ++i) {
          if (i) line += ",";
          line += e.cleared[i];
        }
        line += "]";
      }
      return line;
    }
    case CacheEvent::Kind::kRemoved:
      return StrCat("- ", e.collection, " ", e.id);
    case CacheEvent::Kind::kMoved:
      return StrCat("> ", e.collection, " ", e.id, " before ", e.before ? *e.before : "end");
  }
  return "";
}

std::string Json(const CacheEvent& e) {
  static constexpr const char* kNames[] = {"added", "changed", "removed", "moved"};
  Object o;
  o.Append("event", Value(kNames[static_cast<int>(e.kind)]));
  o.Append("collection", Value(e.collection));
  o.Append("id", Value(e.id));
  switch (e.kind) {
    case CacheEvent::Kind::kAdded:
      o.Append("fields", Value(e.fields));
      if (e.ordered) o.Append("before", e.before ? Value(*e.before) : Value());
      break;
    case CacheEvent::Kind::kChanged: {
      o.Append("fields", Value(e.fields));
      Array cleared;
      for (const std::string& c : e.cleared) cleared.push_back(Value(c));
      o.Append("cleared", Value(std::move(cleared)));
      break;
    }
    case CacheEvent::Kind::kRemoved:
      break;
    case CacheEvent::Kind::kMoved:
      o.Append("before", e.before ? Value(*e.before) : Value());
      break;
  }
  return ToJson(Value(std::move(o)));
}

}  // namespace

int RunSub(const Globals& g, const SubArgs& a) {
  Array params;
  if (!a.params.empty()) {
    absl::StatusOr<Value> p = ParseArg("--params", a.params);
    if (!p.ok()) return Fail("sub", p.status());
    if (!p->is_array()) return Fail("sub", absl::InvalidArgumentError("--params must be a JSON array"));
    params = p->as_array();
  }
  if (!a.query.empty()) {
    if (!params.empty()) {
      return Fail("sub", absl::InvalidArgumentError("give --query or --params, not both"));
    }
    absl::StatusOr<Value> q = ParseArg("--query", a.query);
    if (!q.ok()) return Fail("sub", q.status());
    if (!q->is_object()) return Fail("sub", absl::InvalidArgumentError("--query must be a JSON object"));
    params.push_back(std::move(*q));
  }

  ClientOptions o = g.ClientOpts();
  o.auto_reconnect = !a.no_reconnect;
  std::shared_ptr<Client> client = Client::Create(o);

  // Set from the client's thread; read by the waiting main thread.
  std::atomic<int> exit_code{-1};
  std::atomic<int64_t> events{0};
  std::atomic<bool> ever_connected{false};
  bool json = g.json;
  int64_t limit = a.count;
  auto finish = [&exit_code](int code) {
    int expected = -1;
    exit_code.compare_exchange_strong(expected, code);
  };

  client->OnConnectionChange([&](bool up, absl::Status why) {
    if (up) {
      if (ever_connected.exchange(true)) std::cerr << "ddpctl: reconnected\n";
      return;
    }
    if (!ever_connected.load() || a.no_reconnect || why.code() == absl::StatusCode::kUnauthenticated) {
      finish(Fail(ever_connected.load() ? "connection lost" : StrCat("cannot connect to ", g.url), why));
      return;
    }
    std::cerr << "ddpctl: disconnected (" << why.message() << "); reconnecting\n";
  });
  ObserveCallbacks cb;
  cb.event = [&](const CacheEvent& e) {
    if (exit_code.load() != -1) return;
    PrintLine(json ? Json(e) : Readable(e));
    if (limit > 0 && ++events >= limit) finish(kOk);
  };
  client->Observe("", std::move(cb));
  Client::SubscriptionCallbacks sc;
  sc.ready = [&] {
    if (exit_code.load() != -1) return;
    PrintLine(json ? R"({"event":"ready"})" : "= ready");
    if (a.until_ready) finish(kOk);
  };
  sc.stopped = [&](absl::Status s) {
    if (s.ok()) {
      std::cerr << "ddpctl: the server ended the subscription\n";
      finish(kOk);
    } else {
      finish(Fail(StrCat("subscription '", a.name, "'"), s));
    }
  };
  client->Subscribe(a.name, std::move(params), std::move(sc));
  client->Start();

  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (a.for_s > 0) {
    deadline = std::chrono::steady_clock::now() +
               std::chrono::milliseconds(static_cast<int64_t>(a.for_s * 1000));
  }
  WaitUntil([&] { return exit_code.load() != -1; }, deadline);
  finish(kOk);  // the deadline or a signal: a normal end
  client->Stop();
  return exit_code.load();
}

}  // namespace ddp::ctl
