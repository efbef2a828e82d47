// The DDP server over real sockets: the server library in-process on an
// ephemeral port, a Beast client from tests/support.
#include "server/server.h"

#include <filesystem>
#include <thread>

#include "common/strings.h"
#include "gtest/gtest.h"
#include "protocol/json.h"
#include "tests/server/test_registry.h"
#include "tests/support/ws_client.h"

namespace ddp::testing {
namespace {

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(std::function<void(ServerOptions&)> tweak = nullptr) {
    ServerOptions o;
    // A data directory per test process: ctest runs tests in parallel.
    o.engine.store.path = ::testing::TempDir() + "/server_test_" + std::to_string(getpid());
    std::filesystem::remove_all(o.engine.store.path);
    o.net.bind = "127.0.0.1";
    o.net.port = 0;
    o.net.threads = 2;
    if (tweak) tweak(o);
    server_ = std::make_unique<Server>(o, MakeTestRegistry());
    absl::Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }
  void SetUp() override { StartServer(); }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }
  std::unique_ptr<WsClient> Client(bool connect = true) {
    auto c = WsClient::Open(server_->port());
    EXPECT_TRUE(c.ok()) << c.status();
    if (connect) {
      EXPECT_TRUE((*c)->DdpConnect().ok());
    }
    return std::move(*c);
  }
  void Restart(std::function<void(ServerOptions&)> tweak) {
    server_->Shutdown();
    server_.reset();
    StartServer(std::move(tweak));
  }

  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, ConnectOnBothPathsAndRejectOthers) {
  for (std::string path : {"/websocket", "/sockjs/websocket", "/websocket?x=1"}) {
    WsClient::Options o;
    o.port = server_->port();
    o.path = path;
    auto c = WsClient::Open(o);
    ASSERT_TRUE(c.ok()) << path;
    auto session = (*c)->DdpConnect();
    ASSERT_TRUE(session.ok()) << session.status();
    EXPECT_EQ(session->size(), 17u);
  }
  WsClient::Options o;
  o.port = server_->port();
  o.path = "/other";
  EXPECT_FALSE(WsClient::Open(o).ok());
}

TEST_F(ServerTest, VersionNegotiationOverTheWire) {
  auto c = Client(false);
  ASSERT_TRUE(c->Send(R"({"msg":"connect","version":"pre1","support":["1","pre1"]})").ok());
  auto failed = c->ReadJson();
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(ToJson(*failed), R"({"msg":"failed","version":"1"})");
  auto closed = c->WaitClosed();
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(closed->code, 1000);
  auto pre1 = Client(false);
  EXPECT_TRUE(pre1->DdpConnect("pre1").ok());
  auto pre2 = Client(false);
  EXPECT_TRUE(pre2->DdpConnect("pre2").ok());
}

TEST_F(ServerTest, PingPongAndErrorsKeepTheSession) {
  auto c = Client();
  ASSERT_TRUE(c->Send(R"({"msg":"ping","id":"42"})").ok());
  EXPECT_EQ(ToJson(*c->ReadJson()), R"({"msg":"pong","id":"42"})");
  ASSERT_TRUE(c->Send("garbage").ok());
  EXPECT_EQ(ToJson(*c->ReadJson()), R"({"msg":"error","reason":"Parse error"})");
  ASSERT_TRUE(c->Send(R"({"msg":"sub","id":7})").ok());
  EXPECT_EQ(MsgOf(*c->ReadJson()), "error");
  ASSERT_TRUE(c->Send(R"({"msg":"ping"})").ok());
  EXPECT_EQ(ToJson(*c->ReadJson()), R"({"msg":"pong"})");
}

TEST_F(ServerTest, MethodsOverTheWire) {
  auto c = Client();
  auto r = c->Call("add", "[2,40]");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r->Find("result"), Value(42));
  r = c->Call("nothing");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Find("result"), nullptr);
  r = c->Call("fail");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->FindPath("error.error"), Value(404));
  r = c->Call("throw");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->FindPath("error.error"), Value(500));
  EXPECT_EQ(ToJson(*r).find("secret"), std::string::npos);
  r = c->Call("missing.method");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->FindPath("error.reason")->as_string(), "Method 'missing.method' not found");
  r = c->Call("slow", "[30]");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->Find("result"), Value("slow done"));
}

// `updated` comes after the data messages the method caused.
TEST_F(ServerTest, UpdatedFollowsTheMethodsDataMessages) {
  auto c = Client();
  ASSERT_EQ(MsgOf(*c->Subscribe("s", "counter")), "ready");
  ASSERT_TRUE(c->Send(R"({"msg":"method","method":"counter.inc","params":[],"id":"inc"})").ok());
  std::vector<std::string> order;
  while (order.size() < 3) {
    auto v = c->ReadJson();
    ASSERT_TRUE(v.ok()) << v.status();
    order.push_back(MsgOf(*v));
  }
  auto changed = std::find(order.begin(), order.end(), "changed");
  auto updated = std::find(order.begin(), order.end(), "updated");
  auto result = std::find(order.begin(), order.end(), "result");
  ASSERT_NE(changed, order.end());
  ASSERT_NE(updated, order.end());
  ASSERT_NE(result, order.end());
  EXPECT_LT(changed, updated);
  EXPECT_LT(result, updated);
}

TEST_F(ServerTest, MergeBoxOverTheWire) {
  auto c = Client();
  std::vector<Value> data;
  ASSERT_EQ(MsgOf(*c->Subscribe("a", "items", "[2]", &data)), "ready");
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(ToJson(data[0]), R"({"msg":"added","collection":"items","id":"i0","fields":{"n":0,"shared":"a"}})");
  data.clear();
  ASSERT_EQ(MsgOf(*c->Subscribe("b", "items-b", "[2]", &data)), "ready");
  ASSERT_EQ(data.size(), 2u);
  // Only the new field: `shared` keeps the first subscription's value.
  EXPECT_EQ(ToJson(data[0]), R"({"msg":"changed","collection":"items","id":"i0","fields":{"label":"b0"}})");
  ASSERT_TRUE(c->Send(R"({"msg":"unsub","id":"a"})").ok());
  data.clear();
  auto nosub = c->ReadUntil([](const Value& m) { return MsgOf(m) == "nosub"; }, kWait, &data);
  ASSERT_TRUE(nosub.ok());
  ASSERT_EQ(data.size(), 2u);
  // Retraction order across documents is unspecified.
  auto by_id = [](const Value& a, const Value& b) {
    return a.Find("id")->as_string() < b.Find("id")->as_string();
  };
  std::sort(data.begin(), data.end(), by_id);
  EXPECT_EQ(ToJson(data[0]), R"({"msg":"changed","collection":"items","id":"i0","fields":{"shared":"b"},"cleared":["n"]})");
  ASSERT_TRUE(c->Send(R"({"msg":"unsub","id":"b"})").ok());
  data.clear();
  ASSERT_TRUE(c->ReadUntil([](const Value& m) { return MsgOf(m) == "nosub"; }, kWait, &data).ok());
  ASSERT_EQ(data.size(), 2u);
  std::sort(data.begin(), data.end(), by_id);
  EXPECT_EQ(ToJson(data[0]), R"({"msg":"removed","collection":"items","id":"i0"})");
  EXPECT_EQ(ToJson(data[1]), R"({"msg":"removed","collection":"items","id":"i1"})");
}

TEST_F(ServerTest, PublicationErrorsAndSelfStop) {
  auto c = Client();
  auto nosub = c->Subscribe("d", "denied");
  ASSERT_TRUE(nosub.ok());
  EXPECT_EQ(*nosub->FindPath("error.error"), Value(403));
  // Any valid topic name is a subscribable topic; other names are unknown.
  nosub = c->Subscribe("u", "no such publication");
  EXPECT_EQ(*nosub->FindPath("error.error"), Value(404));
  nosub = c->Subscribe("t", "throws");
  EXPECT_EQ(*nosub->FindPath("error.error"), Value(500));
  std::vector<Value> data;
  ASSERT_TRUE(c->Send(R"({"msg":"sub","id":"ss","name":"self-stop"})").ok());
  ASSERT_TRUE(c->ReadUntil([](const Value& m) { return MsgOf(m) == "nosub"; }, kWait, &data).ok());
  ASSERT_EQ(data.size(), 3u);
  EXPECT_EQ(MsgOf(data[0]), "added");
  EXPECT_EQ(MsgOf(data[1]), "ready");
  EXPECT_EQ(MsgOf(data[2]), "removed");
}

TEST_F(ServerTest, BinaryFramesCloseWith1003) {
  auto c = Client();
  ASSERT_TRUE(c->SendBinary("\x01\x02").ok());
  auto closed = c->WaitClosed();
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_EQ(closed->code, 1003);
}

TEST_F(ServerTest, InvalidUtf8ClosesWith1007) {
  auto c = Client();
  ASSERT_TRUE(c->Send("{\"msg\":\"ping\",\"id\":\"\xff\xfe\"}").ok());
  auto closed = c->WaitClosed();
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_EQ(closed->code, 1007);
}

TEST_F(ServerTest, OversizedMessagesCloseWith1009) {
  Restart([](ServerOptions& o) { o.net.max_message_bytes = 1024; });
  auto c = Client();
  std::string big = R"({"msg":"method","method":"echo","id":"1","params":[")" +
                    std::string(2000, 'x') + R"("]})";
  ASSERT_TRUE(c->Send(big).ok());
  auto closed = c->WaitClosed();
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_EQ(closed->code, 1009);
  // Just under the limit is fine.
  auto ok = Client();
  auto r = ok->Call("echo", "[\"" + std::string(900, 'y') + "\"]");
  ASSERT_TRUE(r.ok()) << r.status();
}

TEST_F(ServerTest, NoConnectWithinTheTimeoutCloses) {
  Restart([](ServerOptions& o) { o.net.session.connect_timeout = std::chrono::milliseconds(200); });
  auto c = Client(false);
  auto closed = c->WaitClosed();
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(closed->code, 4002);
}

TEST_F(ServerTest, HeartbeatsPingAndCloseSilentClients) {
  Restart([](ServerOptions& o) {
    o.net.session.heartbeat_interval = std::chrono::milliseconds(100);
    o.net.session.heartbeat_timeout = std::chrono::milliseconds(100);
  });
  auto c = Client();
  auto ping = c->ReadJson(std::chrono::milliseconds(2000));
  ASSERT_TRUE(ping.ok());
  EXPECT_EQ(ToJson(*ping), R"({"msg":"ping"})");
  // A client that answers stays connected through several rounds.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c->Send(R"({"msg":"pong"})").ok());
    auto again = c->ReadJson(std::chrono::milliseconds(2000));
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(ToJson(*again), R"({"msg":"ping"})");
  }
  // Then silence: closed with 4000.
  auto closed = c->WaitClosed(std::chrono::milliseconds(3000));
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(closed->code, 4000);
}

TEST_F(ServerTest, SlowConsumerIsClosedOthersAreFine) {
  Restart([](ServerOptions& o) { o.net.outbound_queue_bytes = 256 * 1024; });
  WsClient::Options slow_opts;
  slow_opts.port = server_->port();
  auto slow = WsClient::Open(slow_opts);
  ASSERT_TRUE(slow.ok());
  ASSERT_TRUE((*slow)->DdpConnect().ok());
  (*slow)->set_reading(false);
  // 64 MiB of documents: far beyond the socket buffers and the queue limit.
  ASSERT_TRUE((*slow)->Send(R"({"msg":"sub","id":"f","name":"flood","params":[256,262144]})").ok());
  auto other = Client();
  for (int i = 0; i < 20; ++i) {
    auto r = other->Call("add", "[1,1]");
    ASSERT_TRUE(r.ok()) << r.status();
  }
  (*slow)->set_reading(true);
  auto closed = (*slow)->WaitClosed(std::chrono::milliseconds(20000));
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_EQ(closed->code, 4001);
  EXPECT_EQ(closed->reason, "slow consumer");
  EXPECT_GE(server_->net().stats().slow_consumer_closes.load(), 1);
  auto r = other->Call("add", "[2,2]");
  ASSERT_TRUE(r.ok());
}

// A client that stops reading while one document changes thousands of
// times: above the soft limit its pending changes are merged, so its queue
// stays bounded and it is not closed (24 MB of changes against a 4 MiB
// hard limit); it ends with the latest state, having received far fewer
// messages. The clients that read end at the same state; they are merged
// only if they fall a whole soft limit behind (1 MiB here, the default).
TEST_F(ServerTest, ASlowConsumersPendingChangesAreMergedNotPiledUp) {
  Restart([](ServerOptions& o) {
    o.net.outbound_queue_bytes = 4 << 20;
    o.net.outbound_soft_bytes = 1 << 20;
  });
  constexpr int kTicks = 3000;
  const std::string pad(8000, 'x');
  WsClient::Options slow_opts;
  slow_opts.port = server_->port();
  auto slow = WsClient::Open(slow_opts);
  ASSERT_TRUE(slow.ok());
  ASSERT_TRUE((*slow)->DdpConnect().ok());
  ASSERT_EQ(MsgOf(*(*slow)->Subscribe("t", "ticker")), "ready");
  (*slow)->set_reading(false);

  // Fast clients read on their own threads until the last tick.
  std::vector<std::unique_ptr<WsClient>> fast;
  for (int i = 0; i < 3; ++i) {
    fast.push_back(Client());
    ASSERT_EQ(MsgOf(*fast.back()->Subscribe("t", "ticker")), "ready");
  }
  std::vector<int> fast_changes(fast.size(), 0);
  std::vector<std::thread> readers;
  for (size_t i = 0; i < fast.size(); ++i) {
    readers.emplace_back([&, i] {
      while (true) {
        auto m = fast[i]->ReadJson(std::chrono::milliseconds(20000));
        if (!m.ok()) return;
        if (MsgOf(*m) != "changed") continue;
        ++fast_changes[i];
        if (m->FindPath("fields.v.i")->as_int() == kTicks - 1) return;
      }
    });
  }
  // In batches of 100 (800 KB), each waited for: the reading clients keep
  // up, the one that does not read falls further behind with each batch.
  auto writer = Client();
  for (int k = 0; k < kTicks;) {
    const int batch_end = std::min(kTicks, k + 100);
    for (int j = k; j < batch_end; ++j) {
      ASSERT_TRUE(writer->Send(StrCat(R"({"msg":"method","id":"k)", j,
                                      R"(","method":"ticker.tick","params":[{"i":)", j,
                                      R"(,"pad":")", pad, R"("}]})"))
                      .ok());
    }
    for (int results = 0; results < batch_end - k;) {
      auto m = writer->ReadJson(std::chrono::milliseconds(20000));
      ASSERT_TRUE(m.ok()) << m.status();
      results += MsgOf(*m) == "result";
    }
    k = batch_end;
  }
  for (auto& t : readers) t.join();

  (*slow)->set_reading(true);
  int received = 0;
  int64_t last = -1;
  while (last != kTicks - 1) {
    auto m = (*slow)->ReadJson(std::chrono::milliseconds(20000));
    ASSERT_TRUE(m.ok()) << m.status() << " after " << received << " changes";
    if (MsgOf(*m) != "changed") continue;
    ++received;
    const int64_t i = m->FindPath("fields.v.i")->as_int();
    EXPECT_GT(i, last) << "changes stay in order";
    last = i;
  }
  EXPECT_FALSE((*slow)->closed());
  EXPECT_LT(received, kTicks / 2) << "pending changes were merged";
  for (int n : fast_changes) {
    EXPECT_GT(n, received) << "a reading client hears more of the steps";
    EXPECT_LE(n, kTicks);
  }
  std::printf("slow consumer: %d of %d changes; reading clients: %d, %d, %d\n", received,
              kTicks, fast_changes[0], fast_changes[1], fast_changes[2]);
  EXPECT_GT(server_->net().stats().messages_conflated.load(), kTicks / 2);
  EXPECT_EQ(server_->net().stats().slow_consumer_closes.load(), 0);
}

TEST_F(ServerTest, GracefulShutdownFlushesThenCloses1001) {
  auto c = Client();
  ASSERT_EQ(MsgOf(*c->Subscribe("s", "ticker")), "ready");
  std::thread stopper([&] { server_->Shutdown(); });
  auto closed = c->WaitClosed(std::chrono::milliseconds(10000));
  stopper.join();
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_EQ(closed->code, 1001);
  EXPECT_FALSE(WsClient::Open(server_->port()).ok());  // no longer accepting
}

TEST_F(ServerTest, PermessageDeflateWhenTheClientOffersIt) {
  WsClient::Options o;
  o.port = server_->port();
  o.deflate = true;
  auto c = WsClient::Open(o);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->DdpConnect().ok());
  // Above the 256-byte threshold, so both directions are compressed.
  std::string big(5000, 'z');
  auto r = (*c)->Call("echo", "[\"" + big + "\"]");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->FindPath("result.0")->as_string(), big);
}

// The server writes many messages per syscall with its own framing, while
// Beast answers client pings on its own: frames must never interleave. A
// burst of large messages with pings sent in the middle of it, plain and
// with permessage-deflate.
TEST_F(ServerTest, PingsDuringGatheredWritesKeepTheStreamIntact) {
  for (bool deflate : {false, true}) {
    WsClient::Options o;
    o.port = server_->port();
    o.deflate = deflate;
    auto c = WsClient::Open(o);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->DdpConnect().ok());
    // The client stops reading so that the server's socket fills up and its
    // gathered write stays half done; the pings arrive then.
    (*c)->set_reading(false);
    ASSERT_TRUE((*c)->Send(R"({"msg":"sub","id":"f","name":"flood","params":[12000,1000]})").ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    for (int i = 0; i < 40; ++i) ASSERT_TRUE((*c)->Ping(StrCat("p", i)).ok()) << i;
    (*c)->set_reading(true);
    int added = 0;
    while (true) {
      auto m = (*c)->ReadJson(std::chrono::milliseconds(10000));
      ASSERT_TRUE(m.ok()) << m.status() << " after " << added << " (deflate " << deflate << ")";
      std::string msg = MsgOf(*m);
      if (msg == "added") {
        EXPECT_EQ(m->FindPath("fields.p")->as_string().size(), 1000u);
        ++added;
      }
      if (msg == "ready") break;
    }
    EXPECT_EQ(added, 12000);
    // Every ping got its pong (they may trail the data).
    auto echo = (*c)->Call("echo", "[1]");
    ASSERT_TRUE(echo.ok()) << echo.status();
    EXPECT_EQ((*c)->pongs(), 40) << "deflate " << deflate;
  }
}

// Many small messages queued at once go out in gathered writes of hundreds
// of frames (one sendmsg, beyond asio's 64 buffers per call) that the
// kernel takes in part when the client is slow: every message arrives
// whole, once, in order — read at once, and after the client stopped
// reading long enough for the socket to fill.
// A write gathers up to 256 frames; small ones are copied into one buffer
// for the kernel, large ones (every 7th here, in the second round) stay
// where they are, and a write the socket takes only partly continues from
// the queue: every message must arrive whole and in order.
TEST_F(ServerTest, GatheredWritesKeepEveryMessageInOrder) {
  for (int round = 0; round < 4; ++round) {
    const bool pause = round % 2 == 1;
    const int large_every = round < 2 ? 0 : 7;
    // Within the 16 MiB outbound limit while the client does not read.
    const int count = large_every > 0 ? 15000 : 30000;
    auto c = Client();
    if (pause) c->set_reading(false);
    ASSERT_TRUE(c->Send(StrCat(R"({"msg":"sub","id":"f","name":"flood","params":[)", count,
                               ",37,", large_every, "]}"))
                    .ok());
    if (pause) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      c->set_reading(true);
    }
    int next = 0;
    while (true) {
      auto m = c->ReadJson(std::chrono::milliseconds(10000));
      ASSERT_TRUE(m.ok()) << m.status() << " after " << next << " (round " << round << ")";
      std::string msg = MsgOf(*m);
      if (msg == "ready") break;
      ASSERT_EQ(msg, "added");
      ASSERT_EQ(m->Find("id")->as_string(), StrCat("f", next)) << "round " << round;
      const bool big = large_every > 0 && next % large_every == 0;
      ASSERT_EQ(m->FindPath("fields.p")->as_string(),
                big ? std::string(5000, 'y') : std::string(37, 'x'))
          << "message " << next << " (round " << round << ")";
      ++next;
    }
    EXPECT_EQ(next, count);
  }
}

// Shutdown while a connection's gathered write is stuck (the client stopped
// reading) and Beast's pong waits behind it: destroying the io_context must
// release the connection, its session and through them the engine, so the
// same data directory opens again at once (it failed with "lock hold by
// current process" when the waiting writes kept the connection alive).
TEST_F(ServerTest, ShutdownWithAWriteInFlightReleasesEverything) {
  Restart([](ServerOptions& o) {
    o.net.shutdown_grace = std::chrono::milliseconds(100);
    o.net.close_timeout = std::chrono::milliseconds(100);
  });
  auto c = Client();
  c->set_reading(false);
  ASSERT_TRUE(c->Send(R"({"msg":"sub","id":"f","name":"flood","params":[8000,1000]})").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(c->Ping(StrCat("p", i)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // Restart reopens the same data directory right after the shutdown.
  Restart(nullptr);
  ASSERT_FALSE(HasFatalFailure());
  auto again = Client();
  auto r = again->Call("add", "[1,2]");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r->Find("result"), Value(3));
}

TEST_F(ServerTest, HttpHealthAndErrors) {
  auto h = HttpFetch(server_->port(), "GET", "/healthz");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->body, R"({"status":"ok"})");
  auto r = HttpFetch(server_->port(), "GET", "/readyz");
  EXPECT_EQ(r->status, 200);
  auto root = HttpFetch(server_->port(), "GET", "/");
  EXPECT_NE(root->body.find("ddpd"), std::string::npos);
  auto missing = HttpFetch(server_->port(), "GET", "/nope");
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find(R"("error":404)"), std::string::npos);
  auto post = HttpFetch(server_->port(), "POST", "/healthz", "{}");
  EXPECT_EQ(post->status, 405);
}

TEST_F(ServerTest, ManyClientsAtOnce) {
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < 50; ++i) {
    clients.push_back(Client());
    ASSERT_EQ(MsgOf(*clients.back()->Subscribe("t", "ticker")), "ready");
  }
  auto caller = Client();
  ASSERT_TRUE(caller->Call("ticker.tick", "[7]").ok());
  for (auto& c : clients) {
    auto v = c->ReadJson();
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(ToJson(*v), R"({"msg":"changed","collection":"ticker","id":"t","fields":{"v":7}})");
  }
}

}  // namespace
}  // namespace ddp::testing
