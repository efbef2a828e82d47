// Limits of one connection and of one address, over real sockets: method
// and subscription rates (Meteor's too-many-requests with timeToReset),
// subscriptions per connection, connections per IP. Each is hit, then
// recovered from.
#include <filesystem>
#include <thread>

#include "common/strings.h"
#include "gtest/gtest.h"
#include "protocol/json.h"
#include "server/server.h"
#include "tests/server/test_jwt.h"
#include "tests/server/test_server_options.h"
#include "tests/server/test_registry.h"
#include "tests/support/ws_client.h"

namespace ddp::testing {
namespace {

class LimitsTest : public ::testing::Test {
 protected:
  void Start(const std::function<void(ServerOptions&)>& tweak) {
    if (server_) server_->Shutdown();
    server_.reset();  // its store closes before the directory is reused
    ServerOptions o =
        TestServerOptions(::testing::TempDir() + "/limits_test_" + std::to_string(getpid()));
    std::filesystem::remove_all(o.engine.store.path);
    tweak(o);
    server_ = std::make_unique<Server>(o, MakeTestRegistry());
    absl::Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }
  std::unique_ptr<WsClient> Client() {
    auto c = WsClient::Open(server_->port());
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) return nullptr;
    EXPECT_TRUE((*c)->DdpConnect().ok());
    return std::move(*c);
  }
  // Reads until the `result` of `id` (and its `updated`); returns the result.
  static Value ResultOf(WsClient& c, std::string_view id) {
    Value result;
    bool updated = false;
    while (result.is_null() || !updated) {
      absl::StatusOr<Value> m = c.ReadJson();
      EXPECT_TRUE(m.ok()) << m.status();
      if (!m.ok()) return Value();
      if (MsgOf(*m) == "result" && m->Find("id")->as_string() == id) result = *m;
      if (MsgOf(*m) == "updated") {
        for (const Value& v : m->Find("methods")->as_array()) updated |= v.as_string() == id;
      }
    }
    return result;
  }
  static std::string ErrorCode(const Value& m) {
    const Value* e = m.FindPath("error.error");
    return e == nullptr ? "" : ToJson(*e);
  }

  std::unique_ptr<Server> server_;
};

TEST_F(LimitsTest, MethodRateGivesTooManyRequestsThenRecovers) {
  Start([](ServerOptions& o) {
    o.net.session.method_rate = 5;
    o.net.session.method_burst = 3;
  });
  auto c = Client();
  // Five calls at once: the burst of three runs, the rest are refused.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c->Send(StrCat(R"({"msg":"method","id":"m)", i,
                               R"(","method":"add","params":[1,2]})"))
                    .ok());
  }
  int ok = 0, refused = 0;
  int64_t wait_ms = 0;
  for (int i = 0; i < 5; ++i) {
    Value r = ResultOf(*c, StrCat("m", i));
    if (r.Find("result") != nullptr) {
      EXPECT_EQ(ToJson(*r.Find("result")), "3");
      ++ok;
      continue;
    }
    ++refused;
    EXPECT_EQ(ErrorCode(r), R"("too-many-requests")") << ToJson(r);
    const Value* reason = r.FindPath("error.reason");
    ASSERT_NE(reason, nullptr);
    EXPECT_NE(reason->as_string().find("Please slow down. You must wait"), std::string::npos);
    const Value* ttr = r.FindPath("error.details.timeToReset");
    ASSERT_NE(ttr, nullptr) << ToJson(r);
    EXPECT_GT(ttr->as_int(), 0);
    wait_ms = std::max(wait_ms, ttr->as_int());
  }
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(refused, 2);
  // After timeToReset the connection may call again.
  std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  auto again = c->Call("add", "[2,2]");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(ToJson(*again->Find("result")), "4") << ToJson(*again);
  // Another connection has its own bucket.
  auto other = Client();
  EXPECT_EQ(ToJson(*other->Call("add", "[1,1]")->Find("result")), "2");
}

TEST_F(LimitsTest, SubscriptionRateAndCountGiveNosub) {
  Start([](ServerOptions& o) {
    o.net.session.sub_rate = 1000;
    o.net.session.sub_burst = 1000;
    o.net.session.max_subscriptions = 2;
  });
  auto c = Client();
  EXPECT_EQ(MsgOf(*c->Subscribe("a", "counter")), "ready");
  EXPECT_EQ(MsgOf(*c->Subscribe("b", "items", "[1]")), "ready");
  auto third = c->Subscribe("c", "items", "[2]");
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(MsgOf(*third), "nosub");
  EXPECT_EQ(ErrorCode(*third), R"("too-many-requests")");
  EXPECT_NE(third->FindPath("error.reason")->as_string().find("at most 2"), std::string::npos);
  // One fewer, and there is room again.
  ASSERT_TRUE(c->Send(R"({"msg":"unsub","id":"a"})").ok());
  ASSERT_TRUE(c->ReadUntil([](const Value& m) { return MsgOf(m) == "nosub"; }).ok());
  EXPECT_EQ(MsgOf(*c->Subscribe("c", "items", "[2]")), "ready");

  Start([](ServerOptions& o) {
    o.net.session.sub_rate = 2;
    o.net.session.sub_burst = 1;
  });
  auto d = Client();
  EXPECT_EQ(MsgOf(*d->Subscribe("x", "counter")), "ready");
  auto fast = d->Subscribe("y", "items", "[1]");
  ASSERT_TRUE(fast.ok());
  ASSERT_EQ(MsgOf(*fast), "nosub");
  EXPECT_EQ(ErrorCode(*fast), R"("too-many-requests")");
  const int64_t wait_ms = fast->FindPath("error.details.timeToReset")->as_int();
  EXPECT_GT(wait_ms, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  EXPECT_EQ(MsgOf(*d->Subscribe("y", "items", "[1]")), "ready");
}

TEST_F(LimitsTest, ConnectionsPerIpAreRefusedWith429ThenAdmitted) {
  Start([](ServerOptions& o) { o.net.max_connections_per_ip = 2; });
  auto a = Client();
  auto b = Client();
  auto refused = WsClient::Open(server_->port());
  EXPECT_FALSE(refused.ok()) << "a third connection from 127.0.0.1";
  EXPECT_EQ(server_->net().stats().connections_refused.load(), 1);
  // HTTP is not a WebSocket connection: it still works.
  auto health = HttpFetch(server_->port(), "GET", "/healthz");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
  // One goes, and another may come (once the server saw it go).
  a.reset();
  absl::StatusOr<std::unique_ptr<WsClient>> next = absl::UnavailableError("not tried");
  WaitUntil([&] {
    next = WsClient::Open(server_->port());
    return next.ok();
  });
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE((*next)->DdpConnect().ok());
  EXPECT_TRUE(b->Call("add", "[1,1]").ok());
}

}  // namespace
}  // namespace ddp::testing

namespace ddp::testing {
namespace {

// One user's subscriptions share one budget across its connections; other
// users and anonymous clients have their own.
TEST_F(LimitsTest, UserRatesSpanTheUsersConnections) {
  Start([](ServerOptions& o) {
    o.net.user_sub_rate = 2;
    o.net.user_sub_burst = 3;
    o.net.session.sub_rate = 0;  // only the per-user limit
    UseTestJwt(o);
  });
  auto login = [&](std::string_view sub) {
    auto c = Client();
    auto r = c->Call("login", StrCat(R"([{"jwt":")", Jwt(Claims(sub)), R"("}])"));
    EXPECT_TRUE(r.ok() && r->Find("error") == nullptr);
    return c;
  };
  auto a = login("u1"), b = login("u1"), other = login("u2");
  auto anonymous = Client();
  int n = 0;
  auto sub = [&](WsClient& c) {
    auto r = c.Subscribe(StrCat("s", ++n), "counter", "[]");
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : Value();
  };
  // Three at once across two connections, then the fourth is refused.
  EXPECT_EQ(MsgOf(sub(*a)), "ready");
  EXPECT_EQ(MsgOf(sub(*b)), "ready");
  EXPECT_EQ(MsgOf(sub(*a)), "ready");
  Value refused = sub(*b);
  EXPECT_EQ(MsgOf(refused), "nosub");
  EXPECT_EQ(ToJson(*refused.FindPath("error.error")), R"("too-many-requests")");
  const Value* reset = refused.FindPath("error.details.timeToReset");
  ASSERT_NE(reset, nullptr) << ToJson(refused);
  EXPECT_GT(reset->as_int(), 0);
  EXPECT_LE(reset->as_int(), 500);
  // Others are not held back by u1.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(MsgOf(sub(*other)), "ready");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(MsgOf(sub(*anonymous)), "ready");
  // u1 gets tokens back at its rate.
  std::this_thread::sleep_for(std::chrono::milliseconds(reset->as_int() + 20));
  EXPECT_EQ(MsgOf(sub(*b)), "ready");
}

}  // namespace
}  // namespace ddp::testing
