#include "tests/server/test_registry.h"

#include <mutex>
#include <thread>

#include "common/strings.h"
#include "server/ddp/session.h"

namespace ddp::testing {
namespace {

// Subscribers of a publication that methods change (thread-safe).
class Hub {
 public:
  void Add(const std::shared_ptr<Subscription>& sub) {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(subs_, [](const std::weak_ptr<Subscription>& w) {
      auto s = w.lock();
      return !s || s->stopped();
    });
    subs_.push_back(sub);
  }
  template <typename F>
  void ForEach(F&& f) {
    std::vector<std::shared_ptr<Subscription>> live;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& w : subs_) {
        if (auto s = w.lock(); s && !s->stopped()) live.push_back(std::move(s));
      }
    }
    for (auto& s : live) f(*s);
  }
  int Count() {
    int n = 0;
    ForEach([&](Subscription&) { ++n; });
    return n;
  }

 private:
  std::mutex mu_;
  std::vector<std::weak_ptr<Subscription>> subs_;
};

int64_t IntParam(const Array& params, size_t i, int64_t fallback) {
  if (i < params.size() && params[i].is_number()) {
    return static_cast<int64_t>(params[i].ToDouble());
  }
  return fallback;
}

}  // namespace

std::shared_ptr<Registry> MakeTestRegistry() {
  auto r = std::make_shared<Registry>();
  auto counter_hub = std::make_shared<Hub>();
  auto ticker_hub = std::make_shared<Hub>();
  auto counter = std::make_shared<std::atomic<int64_t>>(0);

  (void)r->AddSyncMethod("echo", [](const MethodCall& c) -> MethodResult {
    return std::optional<Value>(Value(c.params));
  });
  (void)r->AddSyncMethod("add", [](const MethodCall& c) -> MethodResult {
    if (c.params.size() != 2 || !c.params[0].is_number() || !c.params[1].is_number()) {
      return absl::InvalidArgumentError("add needs two numbers");
    }
    if (c.params[0].is_int() && c.params[1].is_int()) {
      return std::optional<Value>(Value(c.params[0].as_int() + c.params[1].as_int()));
    }
    return std::optional<Value>(Value(c.params[0].ToDouble() + c.params[1].ToDouble()));
  });
  (void)r->AddSyncMethod("fail", [](const MethodCall&) -> MethodResult {
    return absl::NotFoundError("nothing here");
  });
  (void)r->AddSyncMethod("throw", [](const MethodCall&) -> MethodResult {
    throw std::runtime_error("secret internal detail");
  });
  (void)r->AddSyncMethod("nothing",
                         [](const MethodCall&) -> MethodResult { return std::optional<Value>(); });
  (void)r->AddMethod("slow", [](MethodCall c, MethodReply reply) {
    int64_t ms = IntParam(c.params, 0, 50);
    std::thread([ms, reply] {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      reply(std::optional<Value>(Value("slow done")));
    }).detach();
  });
  (void)r->AddSyncMethod("counter.inc", [counter, counter_hub](const MethodCall&) -> MethodResult {
    int64_t v = ++*counter;
    // The data message is queued to the caller's session before the reply,
    // so the client sees it before `updated`.
    counter_hub->ForEach([v](Subscription& s) {
      s.Changed("counters", "c", Object{{"value", Value(v)}});
    });
    return std::optional<Value>(Value(v));
  });
  (void)r->AddSyncMethod("ticker.tick", [ticker_hub](const MethodCall& c) -> MethodResult {
    Value v = c.params.empty() ? Value() : c.params[0];
    ticker_hub->ForEach([&](Subscription& s) { s.Changed("ticker", "t", Object{{"v", v}}); });
    return std::optional<Value>();
  });
  (void)r->AddSyncMethod("subs.count", [ticker_hub](const MethodCall&) -> MethodResult {
    return std::optional<Value>(Value(ticker_hub->Count()));
  });

  (void)r->AddPublication("items", [](std::shared_ptr<Subscription> sub) {
    int64_t n = IntParam(sub->params(), 0, 3);
    for (int64_t i = 0; i < n; ++i) {
      sub->Added("items", StrCat("i", i), Object{{"n", Value(i)}, {"shared", Value("a")}});
    }
    sub->Ready();
  });
  (void)r->AddPublication("items-b", [](std::shared_ptr<Subscription> sub) {
    int64_t n = IntParam(sub->params(), 0, 3);
    for (int64_t i = 0; i < n; ++i) {
      sub->Added("items", StrCat("i", i),
                 Object{{"label", Value(StrCat("b", i))}, {"shared", Value("b")}});
    }
    sub->Ready();
  });
  (void)r->AddPublication("counter", [counter, counter_hub](std::shared_ptr<Subscription> sub) {
    counter_hub->Add(sub);
    sub->Added("counters", "c", Object{{"value", Value(counter->load())}});
    sub->Ready();
  });
  (void)r->AddPublication("ticker", [ticker_hub](std::shared_ptr<Subscription> sub) {
    ticker_hub->Add(sub);
    sub->Added("ticker", "t", Object{{"v", Value(0)}});
    sub->Ready();
  });
  // Depends on who the client is: runs again on login and logout.
  (void)r->AddPublication("whoami", [](std::shared_ptr<Subscription> sub) {
    const ConnectionInfo& c = sub->connection();
    Object me{{"user", Value(c.user_id.empty() ? std::string("anonymous") : c.user_id)}};
    if (c.user != nullptr) {
      if (const Value* role = c.user->claims.Find("role")) me.Append("role", *role);
    }
    sub->Added("whoami", "me", std::move(me));
    sub->Added("whoami", "shared", Object{{"v", Value(1)}});
    if (c.user_id == "u1") sub->Added("whoami", "secret", Object{{"for", Value("u1")}});
    sub->Ready();
  });
  // Never ready: one document named after the user.
  (void)r->AddPublication("pending", [](std::shared_ptr<Subscription> sub) {
    const std::string& user = sub->connection().user_id;
    sub->Added("pending", "p-" + (user.empty() ? std::string("anonymous") : user), Object());
  });
  (void)r->AddPublication("denied", [](std::shared_ptr<Subscription> sub) {
    sub->Error(absl::PermissionDeniedError("you may not"));
  });
  (void)r->AddPublication("throws", [](std::shared_ptr<Subscription>) {
    throw std::runtime_error("secret publication detail");
  });
  (void)r->AddPublication("flood", [](std::shared_ptr<Subscription> sub) {
    int64_t count = IntParam(sub->params(), 0, 100);
    int64_t bytes = IntParam(sub->params(), 1, 1024);
    // params[2] > 0: every that-many-th document is 5,000 bytes instead
    // (mixed sizes for the connection's gathered writes).
    int64_t large_every = IntParam(sub->params(), 2, 0);
    std::string payload(static_cast<size_t>(bytes), 'x');
    std::string large(5000, 'y');
    for (int64_t i = 0; i < count; ++i) {
      const bool big = large_every > 0 && i % large_every == 0;
      sub->Added("flood", StrCat("f", i), Object{{"p", Value(big ? large : payload)}});
    }
    sub->Ready();
  });
  (void)r->AddPublication("self-stop", [](std::shared_ptr<Subscription> sub) {
    sub->Added("items", "gone", Object{{"x", Value(1)}});
    sub->Ready();
    sub->Stop();
  });
  return r;
}

}  // namespace ddp::testing
