// The C++ SDK against the real server: ddpd's server library in-process on
// a real socket, restarted on the same port and data directory to test
// reconnects (wss:// against the real server's TLS: tls_test.cc).
#include "client/client.h"

#include <filesystem>
#include <map>
#include <thread>

#include "common/strings.h"
#include "gtest/gtest.h"
#include "protocol/ddp_message.h"
#include "protocol/json.h"
#include "auth/jwt.h"
#include "openssl/evp.h"
#include "openssl/hmac.h"
#include "server/server.h"
#include "tests/server/test_registry.h"
#include "tests/support/ws_client.h"

namespace ddp {
namespace {

using namespace std::chrono_literals;

Value J(std::string_view json) { return *ParseJson(json); }
Array A(std::string_view json) { return J(json).as_array(); }

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/client_test_" + std::to_string(getpid());
    std::filesystem::remove_all(dir_);
    StartServer(0);
  }
  void TearDown() override {
    // Destroyed, not only shut down: the store closes with the last
    // reference to the engine, and RocksDB's background jobs delete files
    // until then (remove_all failed with "No such file" racing them).
    if (server_) server_->Shutdown();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  void StartServer(uint16_t port) {
    ServerOptions o;
    o.net.bind = "127.0.0.1";
    o.net.port = port;
    o.net.threads = 2;
    o.engine.store.path = dir_;
    server_ = std::make_unique<Server>(o, testing::MakeTestRegistry());
    absl::Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started;
    port_ = server_->port();
  }
  void RestartServer(std::function<void()> while_down = nullptr) {
    server_->Shutdown();
    server_.reset();
    if (while_down) while_down();
    StartServer(port_);
  }
  ClientOptions Options() {
    ClientOptions o;
    o.url = StrCat("ws://127.0.0.1:", port_, "/websocket");
    o.reconnect_initial = 20ms;
    o.reconnect_max = 200ms;
    return o;
  }
  std::unique_ptr<SyncClient> Connect() {
    auto c = SyncClient::Connect(Options());
    EXPECT_TRUE(c.ok()) << c.status();
    return std::move(*c);
  }
  std::map<std::string, std::string> View(SyncClient& c, const std::string& collection) {
    std::map<std::string, std::string> out;
    for (auto& [id, doc] : c.Find(collection)) out[id] = ToCanonicalJson(Value(doc));
    return out;
  }
  std::map<std::string, std::string> Expected(SyncClient& c, std::string_view topic) {
    std::map<std::string, std::string> out;
    auto r = c.Call("query", A(StrCat(R"([")", topic, R"("])")));
    EXPECT_TRUE(r.ok()) << r.status();
    for (const Value& d : r->as_array()) {
      Object o = d.as_object();
      std::string id = o.Find("_id")->as_string();
      o.Erase("_id");
      out[id] = ToCanonicalJson(Value(o));
    }
    return out;
  }

  std::string dir_;
  uint16_t port_ = 0;
  std::unique_ptr<Server> server_;
};

TEST_F(ClientTest, CallsSubscriptionsCacheAndObservers) {
  auto c = Connect();
  EXPECT_EQ(*c->Call("add", A("[2,3]")), Value(5));
  EXPECT_TRUE(c->Call("nothing", A("[]"))->is_null());
  auto err = c->Call("fail", A("[]"));
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(ServerError(err.status()).has_value());
  EXPECT_EQ(ServerError(err.status())->reason, "nothing here");
  auto missing = c->Subscribe("no such publication", A("[]"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(ServerError(missing.status())->error, Value(404));

  std::vector<std::string> events;
  std::mutex mu;
  ObserveCallbacks cb;
  cb.added = [&](const std::string& id, const Object& f) {
    std::lock_guard<std::mutex> l(mu);
    events.push_back("+" + id + ToJson(Value(f)));
  };
  cb.changed = [&](const std::string& id, const Object& f, const std::vector<std::string>& cleared) {
    std::lock_guard<std::mutex> l(mu);
    events.push_back("~" + id + ToJson(Value(f)) + (cleared.empty() ? "" : "-" + cleared[0]));
  };
  cb.removed = [&](const std::string& id) {
    std::lock_guard<std::mutex> l(mu);
    events.push_back("-" + id);
  };
  c->client().Observe("notes", cb);
  ASSERT_TRUE(c->Subscribe("notes", A("[]")).ok());
  ASSERT_TRUE(c->Call("/notes/insert", A(R"([{"_id":"n1","t":"hi","x":1}])")).ok());
  // The call completes after `updated`: the data is already in the cache.
  EXPECT_EQ(View(*c, "notes")["n1"], R"({"t":"hi","x":1})");
  ASSERT_TRUE(c->Call("/notes/update", A(R"([{"_id":"n1"},{"$set":{"t":"yo"},"$unset":{"x":1}}])")).ok());
  ASSERT_TRUE(c->Call("/notes/remove", A(R"([{"_id":"n1"}])")).ok());
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(events, (std::vector<std::string>{R"(+n1{"t":"hi","x":1})", R"(~n1{"t":"yo"}-x)", "-n1"}));
}

TEST_F(ClientTest, StoppingSaysDisconnectSoTheSessionDoesNotWait) {
  auto c = Connect();
  ASSERT_TRUE(c->Subscribe("notes", A("[]")).ok());
  EXPECT_EQ(server_->engine().live_stats().subscriptions.load(), 1);
  c.reset();  // Stop(): `disconnect`, then the socket closes
  // A session the client left on purpose ends at once: it is not parked
  // for a reconnect, and its subscription stops.
  testing::WaitUntil([&] { return server_->engine().live_stats().subscriptions.load() == 0; });
  EXPECT_EQ(server_->engine().live_stats().subscriptions.load(), 0);
  EXPECT_EQ(server_->net().parked_sessions(), 0u);
}

// The SDK logs in with a JWT after every connect (ClientOptions::jwt);
// a token the server refuses fails the connection as Unauthenticated.
TEST(ClientLoginTest, LogsInWithAJwtAndRefusedTokensFailTheConnection) {
  const std::string secret = "the-sdk-test-secret-of-at-least-32-bytes";
  ServerOptions so;
  so.engine.store.path = ::testing::TempDir() + "/client_login_" + std::to_string(getpid());
  std::filesystem::remove_all(so.engine.store.path);
  so.net.bind = "127.0.0.1";
  so.net.port = 0;
  so.net.shutdown_grace = 100ms;
  so.net.session.allow_anonymous = false;
  so.jwt.emplace();
  so.jwt->hs256_secret = secret;
  Server server(so, testing::MakeTestRegistry());
  ASSERT_TRUE(server.Start().ok());
  auto jwt = [&](std::string_view claims, std::string_view key) {
    std::string u = StrCat(auth::Base64UrlEncode(R"({"alg":"HS256"})"), ".",
                           auth::Base64UrlEncode(claims));
    unsigned char mac[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(u.data()), u.size(), mac, &len);
    return StrCat(u, ".", auth::Base64UrlEncode(std::string(reinterpret_cast<char*>(mac), len)));
  };
  ClientOptions o;
  o.url = StrCat("ws://127.0.0.1:", server.port(), "/websocket");
  o.jwt = jwt(R"({"sub":"u9"})", secret);
  {
    auto c = SyncClient::Connect(o);
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE((*c)->Subscribe("whoami", A("[]")).ok()) << "anonymous clients are not served here";
    std::map<std::string, std::string> docs;
    for (auto& [id, doc] : (*c)->Find("whoami")) docs[id] = ToJson(Value(doc));
    EXPECT_EQ(docs["me"], R"({"user":"u9"})");
  }
  o.jwt = jwt(R"({"sub":"u9"})", "not-the-secret-not-the-secret-not-the");
  auto refused = SyncClient::Connect(o);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated) << refused.status();
  server.Shutdown();
  std::filesystem::remove_all(so.engine.store.path);
}

TEST_F(ClientTest, OrderedSubscriptionKeepsOrder) {
  auto c = Connect();
  ASSERT_TRUE(c->Call("publish", A(R"(["rank",[{"_id":"a","s":1},{"_id":"b","s":3},{"_id":"c","s":2}]])")).ok());
  ASSERT_TRUE(c->Subscribe("rank", A(R"([{"sort":{"s":-1},"ordered":true}])")).ok());
  auto ids = [&] {
    std::vector<std::string> out;
    for (auto& [id, d] : c->Find("rank")) out.push_back(id);
    return out;
  };
  EXPECT_EQ(ids(), (std::vector<std::string>{"b", "c", "a"}));
  ASSERT_TRUE(c->Call("/rank/update", A(R"([{"_id":"a"},{"$set":{"s":9}}])")).ok());
  EXPECT_EQ(ids(), (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(ClientTest, CacheConvergesAcrossAServerRestart) {
  auto writer_setup = Connect();
  ASSERT_TRUE(writer_setup->Call("publish", A(R"(["conv",[{"_id":"keep","v":1},{"_id":"change","v":1},{"_id":"gone","v":1}]])")).ok());
  writer_setup.reset();
  auto c = Connect();
  ASSERT_TRUE(c->Subscribe("conv", A("[]")).ok());
  std::atomic<int> added{0}, changed{0}, removed{0};
  ObserveCallbacks cb;
  cb.added = [&](const std::string&, const Object&) { added++; };
  cb.changed = [&](const std::string&, const Object&, const std::vector<std::string>&) { changed++; };
  cb.removed = [&](const std::string&) { removed++; };
  c->client().Observe("conv", cb);
  int64_t connects = c->client().connects();
  // While the server is down nothing can reach the client; the changes
  // happen right after it comes back, before the client reconnects.
  server_->Shutdown();
  server_.reset();
  StartServer(port_);
  {
    ClientOptions o = Options();
    auto w = SyncClient::Connect(o);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Call("/conv/update", A(R"([{"_id":"change"},{"$set":{"v":2}}])")).ok());
    ASSERT_TRUE((*w)->Call("/conv/remove", A(R"([{"_id":"gone"}])")).ok());
    ASSERT_TRUE((*w)->Call("/conv/insert", A(R"([{"_id":"new","v":3}])")).ok());
  }
  ASSERT_TRUE(c->WaitFor([&](const Cache& cache) {
                 const Collection* col = cache.Get("conv");
                 return col != nullptr && col->Find("new") != nullptr && col->Find("gone") == nullptr;
               }, 10s).ok());
  EXPECT_GT(c->client().connects(), connects);
  EXPECT_EQ(View(*c, "conv"), Expected(*c, "conv"));
  // Observers heard only the differences: not the unchanged document.
  EXPECT_EQ(added.load(), 1);
  EXPECT_EQ(changed.load(), 1);
  EXPECT_EQ(removed.load(), 1);
}

TEST_F(ClientTest, CallsInFlightAtADisconnectFailClearly) {
  auto c = Connect();
  int64_t before = server_->net().stats().messages_in.load();
  auto f = c->client().Call("slow", A("[2000]"));
  // Cut the connection once the server has the call.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (server_->net().stats().messages_in.load() == before) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::yield();
  }
  server_->Shutdown();
  auto r = f.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("may or may not have run"), std::string::npos) << r.status();
  server_.reset();
  StartServer(port_);
  // The client reconnects on its own and works again.
  auto again = c->Call("add", A("[2,2]"), 20s);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, Value(4));
}

TEST_F(ClientTest, ARetriedTxWithAKeyIsAppliedOnce) {
  auto c = Connect();
  CallOptions retry;
  retry.retry_on_reconnect = true;
  // Several rounds of: send, then cut the server right away. Whether the
  // first attempt committed or not, the key makes the retry harmless.
  for (int i = 0; i < 5; ++i) {
    std::string ops = StrCat(R"([[{"op":"update","topic":"once","selector":{"_id":"c"},"modifier":{"$inc":{"n":1}},"upsert":true}],{"key":"k)", i, R"("}])");
    auto f = c->client().Call("tx", A(ops), retry);
    RestartServer();
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.status();
  }
  auto q = c->Call("query", A(R"(["once"])"), 20s);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(ToJson(*q), R"([{"_id":"c","n":5}])");
}

TEST_F(ClientTest, BadUrlsAndUnreachableServersFailClearly) {
  ClientOptions o;
  o.url = "http://nope";
  auto c = SyncClient::Connect(o, 2s);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("ws://"), std::string::npos) << c.status();
  o.url = "ws://127.0.0.1:1/websocket";
  o.auto_reconnect = false;
  c = SyncClient::Connect(o, 2s);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnavailable) << c.status();
}

// Many clients on one shared IoThreads; a stream consumer that keeps no
// documents hears every event with its collection.
TEST_F(ClientTest, SharedIoThreadsAndAStreamConsumer) {
  auto io = std::make_shared<IoThreads>(2);
  std::vector<std::unique_ptr<SyncClient>> clients;
  std::atomic<int> events{0};
  std::mutex mu;
  std::vector<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    ClientOptions o = Options();
    o.io = io;
    o.store_documents = false;
    auto c = SyncClient::Connect(o);
    ASSERT_TRUE(c.ok()) << c.status();
    ObserveCallbacks cb;
    cb.event = [&, i](const CacheEvent& e) {
      events++;
      if (i != 0) return;
      std::lock_guard<std::mutex> l(mu);
      seen.push_back(StrCat(static_cast<int>(e.kind), " ", e.collection, " ", e.id, " ", ToJson(Value(e.fields))));
    };
    (*c)->client().Observe("", cb);
    ASSERT_TRUE((*c)->Subscribe("feed.>", A("[]")).ok());
    clients.push_back(std::move(*c));
  }
  ASSERT_TRUE(clients[0]->Call("publish", A(R"(["feed.a", {"_id":"e1","v":1}])")).ok());
  ASSERT_TRUE(clients[0]->Call("publish", A(R"(["feed.b", {"_id":"e2","v":2}])")).ok());
  ASSERT_TRUE(clients[0]->Call("/feed.a/remove", A(R"([{"_id":"e1"}])")).ok());
  // Every client hears 3 events; nothing is stored.
  for (int i = 0; i < 500 && events.load() < 60; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(events.load(), 60);
  EXPECT_TRUE(clients[5]->Find("feed.a").empty());
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{R"(0 feed.a e1 {"v":1})", R"(0 feed.b e2 {"v":2})",
                                            "2 feed.a e1 {}"}));
  clients.clear();  // stopped before the shared threads go
}

// ddpd has no accounts yet: `login` is an unknown method there, so a token
// is refused clearly instead of being ignored.
TEST_F(ClientTest, ARefusedLoginFailsTheConnection) {
  ClientOptions o = Options();
  o.resume_token = "not-a-token";
  auto c = SyncClient::Connect(o, 5s);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnauthenticated) << c.status();
  EXPECT_NE(c.status().message().find("login failed"), std::string::npos) << c.status();
}

}  // namespace
}  // namespace ddp
