// Meteor 3.5's session resumption over a real socket: a client whose
// connection dropped reconnects with `session` + `receivedCount` and gets
// the same session back with what was sent meanwhile; every way it must not
// (a lost message, `disconnect`, the grace period over, too much waiting)
// gives a new session.
#include <filesystem>
#include <thread>

#include "common/strings.h"
#include "gtest/gtest.h"
#include "protocol/json.h"
#include "server/ddp/session.h"
#include "server/net/net_server.h"
#include "server/server.h"
#include "tests/support/ws_client.h"

namespace ddp::testing {
namespace {

// A client that counts what it receives as Meteor 3.5's does (every
// message but ping and pong) and answers pings.
struct MeteorClient {
  std::unique_ptr<WsClient> ws;
  std::string session;
  uint64_t received = 0;
  int pings = 0;

  absl::StatusOr<Value> Next(milliseconds timeout = kWait) {
    while (true) {
      absl::StatusOr<Value> m = ws->ReadJson(timeout);
      if (!m.ok()) return m;
      const std::string msg = MsgOf(*m);
      if (msg == "ping") {
        ++pings;
        absl::Status sent = ws->Send(R"({"msg":"pong"})");
        if (!sent.ok()) return sent;
        continue;
      }
      if (msg == "pong") continue;
      ++received;
      return m;
    }
  }
  // Messages until one with `msg` == `until` (included).
  absl::StatusOr<std::vector<Value>> NextUntil(std::string_view until) {
    std::vector<Value> out;
    while (true) {
      absl::StatusOr<Value> m = Next();
      if (!m.ok()) return m.status();
      out.push_back(*m);
      if (MsgOf(*m) == until) return out;
    }
  }
};

class SessionResumptionTest : public ::testing::Test {
 protected:
  void Start(const std::function<void(ServerOptions&)>& tweak = nullptr) {
    dir_ = ::testing::TempDir() + "/resumption_" + std::to_string(getpid());
    std::filesystem::remove_all(dir_);
    ServerOptions o;
    o.net.bind = "127.0.0.1";
    o.net.port = 0;
    o.net.threads = 2;
    o.engine.store.path = dir_;
    if (tweak) tweak(o);
    server_ = std::make_unique<Server>(o);
    absl::Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }
  void TearDown() override {
    if (server_ == nullptr) return;
    server_->Shutdown();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Connects; with `resume`, names the old session and its count.
  MeteorClient Connect(const MeteorClient* resume = nullptr, int64_t count_offset = 0) {
    MeteorClient c;
    auto ws = WsClient::Open(server_->port());
    EXPECT_TRUE(ws.ok()) << ws.status();
    c.ws = std::move(*ws);
    std::string connect = R"({"msg":"connect","version":"1","support":["1","pre2","pre1"])";
    if (resume != nullptr) {
      connect = StrCat(R"({"msg":"connect","version":"1","support":["1"],"session":")",
                       resume->session, R"(","receivedCount":)",
                       static_cast<int64_t>(resume->received) + count_offset, "}");
    } else {
      connect += "}";
    }
    EXPECT_TRUE(c.ws->Send(connect).ok());
    absl::StatusOr<Value> connected = c.Next();
    EXPECT_TRUE(connected.ok()) << connected.status();
    if (connected.ok()) {
      EXPECT_EQ(MsgOf(*connected), "connected") << ToJson(*connected);
      if (const Value* s = connected->Find("session")) c.session = s->as_string();
    }
    return c;
  }

  std::unique_ptr<WsClient> Writer() {
    auto c = WsClient::Open(server_->port());
    EXPECT_TRUE(c.ok());
    EXPECT_TRUE((*c)->DdpConnect().ok());
    return std::move(*c);
  }

  static void Insert(WsClient& w, std::string_view id, int n) {
    auto r = w.Call("/tasks/insert", StrCat(R"([{"_id":")", id, R"(","n":)", n, "}]"));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->Find("error"), nullptr) << ToJson(*r);
  }

  // Waits (with a deadline) until `n` sessions are parked.
  void WaitParked(size_t n) {
    WaitUntil([&] { return server_->net().parked_sessions() == n; });
    ASSERT_EQ(server_->net().parked_sessions(), n);
  }

  // Subscribes to the whole topic; returns the messages up to `ready`.
  static std::vector<Value> SubscribeAll(MeteorClient& c, std::string_view sub_id) {
    EXPECT_TRUE(
        c.ws->Send(StrCat(R"({"msg":"sub","id":")", sub_id, R"(","name":"tasks","params":[]})"))
            .ok());
    absl::StatusOr<std::vector<Value>> got = c.NextUntil("ready");
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : std::vector<Value>();
  }

  static size_t CountMsg(const std::vector<Value>& v, std::string_view msg) {
    size_t n = 0;
    for (const Value& m : v) n += MsgOf(m) == msg;
    return n;
  }

  std::string dir_;
  std::unique_ptr<Server> server_;
};

TEST_F(SessionResumptionTest, TheSameSessionComesBackWithWhatWasSentMeanwhile) {
  Start();
  auto writer = Writer();
  Insert(*writer, "a", 1);
  Insert(*writer, "b", 2);

  MeteorClient c = Connect();
  ASSERT_FALSE(c.session.empty());
  std::vector<Value> initial = SubscribeAll(c, "s1");
  EXPECT_EQ(CountMsg(initial, "added"), 2u);

  // The connection drops without `disconnect`.
  c.ws.reset();
  WaitParked(1);
  Insert(*writer, "c", 3);
  Insert(*writer, "d", 4);
  auto upd = writer->Call("/tasks/update", R"([{"_id":"a"},{"$set":{"n":10}}])");
  ASSERT_TRUE(upd.ok());
  auto del = writer->Call("/tasks/remove", R"([{"_id":"b"}])");
  ASSERT_TRUE(del.ok());

  MeteorClient back = Connect(&c);
  EXPECT_EQ(back.session, c.session) << "a resumed session keeps its id";
  back.received += c.received;  // the count goes on from the old connection
  EXPECT_EQ(server_->net().stats().sessions_resumed.load(), 1);
  EXPECT_EQ(server_->net().parked_sessions(), 0u);

  // Exactly the changes made meanwhile, in order, and nothing again.
  std::vector<Value> gap;
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<Value> m = back.Next();
    ASSERT_TRUE(m.ok()) << m.status();
    gap.push_back(*m);
  }
  ASSERT_EQ(MsgOf(gap[0]), "added");
  EXPECT_EQ(gap[0].Find("id")->as_string(), "c");
  ASSERT_EQ(MsgOf(gap[1]), "added");
  EXPECT_EQ(gap[1].Find("id")->as_string(), "d");
  ASSERT_EQ(MsgOf(gap[2]), "changed");
  EXPECT_EQ(ToJson(*gap[2].Find("fields")), R"({"n":10})");
  ASSERT_EQ(MsgOf(gap[3]), "removed");
  EXPECT_EQ(gap[3].Find("id")->as_string(), "b");
  EXPECT_FALSE(back.ws->ReadJson(milliseconds(200)).ok()) << "nothing more was due";

  // The session goes on: live changes, methods, the subscription it had.
  Insert(*writer, "e", 5);
  absl::StatusOr<Value> live = back.Next();
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ(MsgOf(*live), "added");
  EXPECT_EQ(live->Find("id")->as_string(), "e");
  ASSERT_TRUE(back.ws->Send(R"({"msg":"method","id":"m1","method":"/tasks/insert","params":[{"_id":"f","n":6}]})").ok());
  absl::StatusOr<std::vector<Value>> call = back.NextUntil("updated");
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(CountMsg(*call, "result"), 1u);
  EXPECT_EQ(CountMsg(*call, "added"), 1u);
  ASSERT_TRUE(back.ws->Send(R"({"msg":"sub","id":"s1","name":"tasks","params":[]})").ok());
  // A duplicate live sub id is ignored: the subscription is still the old
  // one, and unsub retracts its documents.
  ASSERT_TRUE(back.ws->Send(R"({"msg":"unsub","id":"s1"})").ok());
  absl::StatusOr<std::vector<Value>> gone = back.NextUntil("nosub");
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_EQ(CountMsg(*gone, "removed"), 5u);  // a, c, d, e, f
}

TEST_F(SessionResumptionTest, ItResumesAgainAndKeepsItsHeartbeat) {
  Start([](ServerOptions& o) {
    o.net.session.heartbeat_interval = std::chrono::milliseconds(100);
    o.net.session.heartbeat_timeout = std::chrono::seconds(5);
  });
  auto writer = Writer();
  MeteorClient c = Connect();
  SubscribeAll(c, "s1");
  uint64_t total = c.received;
  std::string session = c.session;
  for (int round = 0; round < 3; ++round) {
    c.ws.reset();
    WaitParked(1);
    Insert(*writer, StrCat("r", round), round);
    c.received = total;
    MeteorClient back = Connect(&c);
    ASSERT_EQ(back.session, session) << "round " << round;
    absl::StatusOr<Value> m = back.Next();
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(MsgOf(*m), "added");
    EXPECT_EQ(m->Find("id")->as_string(), StrCat("r", round));
    // Server pings reach a resumed session's client (its timer runs on
    // the session's strand, not the new connection's).
    while (back.pings == 0) {
      absl::StatusOr<Value> more = back.ws->ReadJson(milliseconds(2000));
      ASSERT_TRUE(more.ok()) << more.status();
      if (MsgOf(*more) == "ping") {
        ++back.pings;
        ASSERT_TRUE(back.ws->Send(R"({"msg":"pong"})").ok());
      }
    }
    total += back.received;
    c = std::move(back);
  }
  EXPECT_EQ(server_->net().stats().sessions_resumed.load(), 3);
}

TEST_F(SessionResumptionTest, AMessageLostOnTheWayGivesANewSession) {
  Start();
  auto writer = Writer();
  Insert(*writer, "a", 1);
  MeteorClient c = Connect();
  SubscribeAll(c, "s1");
  c.ws.reset();
  WaitParked(1);
  // The client claims one message fewer than the server sent: it would
  // miss it, so it gets a new session (and the old one ends).
  MeteorClient fresh = Connect(&c, -1);
  EXPECT_NE(fresh.session, c.session);
  EXPECT_EQ(server_->net().parked_sessions(), 0u);
  EXPECT_EQ(server_->net().stats().sessions_resumed.load(), 0);
  // A new session as any other: it subscribes and gets everything.
  EXPECT_EQ(CountMsg(SubscribeAll(fresh, "s1"), "added"), 1u);
  // Claiming more than was sent is no better.
  fresh.ws.reset();
  WaitParked(1);
  MeteorClient again = Connect(&fresh, +1);
  EXPECT_NE(again.session, fresh.session);
}

TEST_F(SessionResumptionTest, DisconnectEndsTheSessionAtOnce) {
  Start();
  MeteorClient c = Connect();
  SubscribeAll(c, "s1");
  ASSERT_TRUE(c.ws->Send(R"({"msg":"disconnect"})").ok());
  absl::StatusOr<CloseInfo> closed = c.ws->WaitClosed();
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_EQ(closed->code, 1000);
  EXPECT_EQ(server_->net().parked_sessions(), 0u);
  MeteorClient fresh = Connect(&c);
  EXPECT_NE(fresh.session, c.session);
}

TEST_F(SessionResumptionTest, TheGracePeriodEnds) {
  Start([](ServerOptions& o) {
    o.net.session.disconnect_grace_period = std::chrono::milliseconds(200);
  });
  MeteorClient c = Connect();
  SubscribeAll(c, "s1");
  c.ws.reset();
  WaitParked(1);
  EXPECT_EQ(server_->engine().live_stats().subscriptions.load(), 1);
  WaitParked(0);  // the sweep ends it within a second of its grace period
  // Its subscription ended with it.
  WaitUntil([&] { return server_->engine().live_stats().subscriptions.load() == 0; });
  EXPECT_EQ(server_->engine().live_stats().subscriptions.load(), 0);
  MeteorClient fresh = Connect(&c);
  EXPECT_NE(fresh.session, c.session);
}

TEST_F(SessionResumptionTest, TooMuchWaitingEndsTheSession) {
  Start([](ServerOptions& o) { o.net.session.max_parked_messages = 3; });
  auto writer = Writer();
  MeteorClient c = Connect();
  SubscribeAll(c, "s1");
  c.ws.reset();
  WaitParked(1);
  for (int i = 0; i < 4; ++i) Insert(*writer, StrCat("x", i), i);
  WaitParked(0);
  MeteorClient fresh = Connect(&c);
  EXPECT_NE(fresh.session, c.session);
  EXPECT_EQ(CountMsg(SubscribeAll(fresh, "s1"), "added"), 4u);
}

TEST_F(SessionResumptionTest, OffWhenTheGracePeriodIsZero) {
  Start([](ServerOptions& o) { o.net.session.disconnect_grace_period = Duration::zero(); });
  MeteorClient c = Connect();
  SubscribeAll(c, "s1");
  c.ws.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(server_->net().parked_sessions(), 0u);
  MeteorClient fresh = Connect(&c);
  EXPECT_NE(fresh.session, c.session);
}

TEST_F(SessionResumptionTest, ShutdownEndsParkedSessions) {
  Start();
  auto writer = Writer();
  std::vector<MeteorClient> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(Connect());
    SubscribeAll(clients.back(), "s1");
  }
  clients.clear();
  WaitParked(20);
  // Parked sessions keep their subscriptions, and changes still reach them
  // while the server goes down; the sanitizers see that nothing leaks.
  EXPECT_EQ(server_->engine().live_stats().subscriptions.load(), 20);
  for (int i = 0; i < 5; ++i) Insert(*writer, StrCat("y", i), i);
  writer.reset();
  server_->Shutdown();
}

TEST_F(SessionResumptionTest, MessagesRightBehindTheConnectGoToTheResumedSession) {
  Start();
  auto writer = Writer();
  Insert(*writer, "a", 1);
  MeteorClient c = Connect();
  SubscribeAll(c, "s1");
  c.ws.reset();
  WaitParked(1);
  Insert(*writer, "b", 2);
  // A client that does not wait for `connected`: connect and a method go
  // out together; the method is the resumed session's.
  auto ws = WsClient::Open(server_->port());
  ASSERT_TRUE(ws.ok());
  MeteorClient back;
  back.ws = std::move(*ws);
  ASSERT_TRUE(back.ws->Send(StrCat(R"({"msg":"connect","version":"1","support":["1"],"session":")",
                                   c.session, R"(","receivedCount":)", c.received, "}"))
                  .ok());
  ASSERT_TRUE(back.ws->Send(R"({"msg":"method","id":"m1","method":"/tasks/insert","params":[{"_id":"c","n":3}]})").ok());
  absl::StatusOr<std::vector<Value>> got = back.NextUntil("updated");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_GE(got->size(), 4u);
  EXPECT_EQ(MsgOf((*got)[0]), "connected");
  EXPECT_EQ((*got)[0].Find("session")->as_string(), c.session);
  EXPECT_EQ(MsgOf((*got)[1]), "added");  // b, held while it waited
  EXPECT_EQ((*got)[1].Find("id")->as_string(), "b");
  EXPECT_EQ(CountMsg(*got, "result"), 1u);
  EXPECT_EQ(CountMsg(*got, "added"), 2u);  // b, then c from the method
}

// ddpd's own resume (ddpd_resume) sends `added` for a document the client
// holds in another version; if a slow consumer's queue then merges it with
// a `removed` of that document, the removal must still go out (the client
// would keep its stale copy otherwise), where for a document the client
// never had both would be dropped.
TEST_F(SessionResumptionTest, AReplacingAddedIsNotCancelledInASlowConsumersQueue) {
  Start([](ServerOptions& o) {
    o.net.outbound_soft_bytes = 1;  // merge whatever waits
    o.net.outbound_queue_bytes = size_t{64} << 20;
  });
  auto writer = Writer();
  const std::string pad(100 * 1024, 'x');
  // Big documents first (in id order ahead of d1): the socket buffers fill
  // before d1's `added` is sent, so it waits in the queue.
  for (int i = 0; i < 200; ++i) {
    auto r = writer->Call("/tasks/insert",
                          StrCat(R"([{"_id":"big)", 100 + i, R"(","pad":")", pad, R"("}])"));
    ASSERT_TRUE(r.ok() && r->Find("error") == nullptr);
  }
  Insert(*writer, "d1", 1);
  WsClient::Options opts;
  opts.port = server_->port();
  auto c = WsClient::Open(opts);
  ASSERT_TRUE(c.ok());
  // It claims d1 in another version than the server's.
  ASSERT_TRUE((*c)->Send(R"({"msg":"connect","version":"1","support":["1"],"ddpd_resume":{"docs":{"tasks":{"d1":"0000000000000001"}},"subs":["s1"]}})").ok());
  auto connected = (*c)->ReadJson();
  ASSERT_TRUE(connected.ok());
  ASSERT_EQ(connected->Find("ddpd_resume")->as_string(), "diff");
  (*c)->set_reading(false);
  ASSERT_TRUE((*c)->Send(R"({"msg":"sub","id":"s1","name":"tasks","params":[]})").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the initial result is queued
  auto removed = writer->Call("/tasks/remove", R"([{"_id":"d1"}])");
  ASSERT_TRUE(removed.ok());
  (*c)->set_reading(true);
  bool held = true;  // the client's copy of d1
  bool ready = false;
  while (!(ready && !held)) {
    auto m = (*c)->ReadJson(std::chrono::milliseconds(20000));
    ASSERT_TRUE(m.ok()) << m.status() << (ready ? " after ready, d1 still held" : "");
    const std::string kind = MsgOf(*m);
    ready |= kind == "ready";
    const Value* id = m->Find("id");
    if (id == nullptr || !id->is_string() || id->as_string() != "d1") continue;
    if (kind == "added") held = true;
    if (kind == "removed") held = false;
  }
  EXPECT_FALSE(held);
}

// At the level of the network layer alone, so that what happens after its
// shutdown can be seen: every subscription of every session ends, parked
// ones and resumed ones too (the sanitizers check that nothing is left).
TEST(SessionResumptionShutdown, EverySessionEndsParkedOrResumed) {
  auto stopped = std::make_shared<std::atomic<int>>(0);
  auto registry = std::make_shared<Registry>();
  ASSERT_TRUE(registry
                  ->AddPublication("watched",
                                   [stopped](std::shared_ptr<Subscription> sub) {
                                     sub->OnStop([stopped] { stopped->fetch_add(1); });
                                     sub->Added("w", sub->connection().session_id, Object());
                                     sub->Ready();
                                   })
                  .ok());
  NetOptions o;
  o.bind = "127.0.0.1";
  o.port = 0;
  o.threads = 2;
  o.shutdown_grace = std::chrono::milliseconds(100);  // the clients do not answer closes
  o.close_timeout = std::chrono::milliseconds(100);
  NetServer net(o, registry, [](HttpRequest, HttpRespond respond) {
    respond(HttpResponse{404, "text/plain", "", {}});
  });
  ASSERT_TRUE(net.Start().ok());
  auto open = [&](const std::string& connect) {
    auto ws = WsClient::Open(net.port());
    EXPECT_TRUE(ws.ok());
    MeteorClient c;
    c.ws = std::move(*ws);
    EXPECT_TRUE(c.ws->Send(connect).ok());
    absl::StatusOr<Value> m = c.Next();
    EXPECT_TRUE(m.ok());
    if (m.ok()) c.session = m->Find("session")->as_string();
    return c;
  };
  auto subscribe = [](MeteorClient& c) {
    EXPECT_TRUE(c.ws->Send(R"({"msg":"sub","id":"s","name":"watched","params":[]})").ok());
    EXPECT_TRUE(c.NextUntil("ready").ok());
  };
  const std::string plain = R"({"msg":"connect","version":"1","support":["1"]})";
  std::vector<MeteorClient> kept;
  for (int i = 0; i < 6; ++i) {
    MeteorClient c = open(plain);
    subscribe(c);
    kept.push_back(std::move(c));
  }
  // Four drop (parked); two of those come back (resumed, each on a new
  // connection); two stay connected as they were.
  std::vector<MeteorClient> resumed;
  for (int i = 0; i < 4; ++i) kept[i].ws.reset();
  WaitUntil([&] { return net.parked_sessions() == 4; });
  ASSERT_EQ(net.parked_sessions(), 4u);
  for (int i = 0; i < 2; ++i) {
    MeteorClient back = open(StrCat(R"({"msg":"connect","version":"1","support":["1"],"session":")",
                                    kept[i].session, R"(","receivedCount":)", kept[i].received,
                                    "}"));
    EXPECT_EQ(back.session, kept[i].session);
    resumed.push_back(std::move(back));
  }
  EXPECT_EQ(net.parked_sessions(), 2u);
  EXPECT_EQ(stopped->load(), 0) << "parked and resumed sessions keep their subscriptions";
  net.Shutdown();
  EXPECT_EQ(stopped->load(), 6);
}

}  // namespace
}  // namespace ddp::testing
