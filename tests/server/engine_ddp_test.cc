// Topics over DDP and HTTP: the engine's methods and topic subscriptions
// through a real socket.
#include <filesystem>
#include <map>

#include "common/strings.h"
#include "gtest/gtest.h"
#include "protocol/digest.h"
#include "protocol/json.h"
#include "server/server.h"
#include "tests/support/ws_client.h"

namespace ddp::testing {
namespace {

class EngineDdpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/engine_ddp_" + std::to_string(getpid());
    std::filesystem::remove_all(dir_);
    ServerOptions o;
    o.net.bind = "127.0.0.1";
    o.net.port = 0;
    o.net.threads = 2;
    o.engine.store.path = dir_;
    server_ = std::make_unique<Server>(o);
    absl::Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }
  void TearDown() override {
    server_->Shutdown();
    server_.reset();  // closes the store before its files go
    std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<WsClient> Client() {
    auto c = WsClient::Open(server_->port());
    EXPECT_TRUE(c.ok());
    EXPECT_TRUE((*c)->DdpConnect().ok());
    return std::move(*c);
  }
  static std::string Result(const absl::StatusOr<Value>& r) {
    if (!r.ok()) return std::string(r.status().message());
    if (const Value* e = r->Find("error")) return "error " + ToJson(*e->Find("error"));
    const Value* v = r->Find("result");
    return v ? ToJson(*v) : "undefined";
  }
  std::string dir_;
  std::unique_ptr<Server> server_;
};

TEST_F(EngineDdpTest, MeteorCollectionMethods) {
  auto c = Client();
  EXPECT_EQ(Result(c->Call("/tasks/insert", R"([{"_id":"t1","text":"a","done":false}])")), R"("t1")");
  EXPECT_EQ(Result(c->Call("/tasks/insert", R"([{"_id":"t1"}])")), "error 409");
  EXPECT_EQ(Result(c->Call("/tasks/update", R"([{"_id":"t1"},{"$set":{"done":true}}])")), "1");
  EXPECT_EQ(Result(c->Call("/tasks/update", R"([{"_id":"t9"},{"$set":{"done":true}},{"upsert":true,"_returnObject":true}])")),
            R"({"numberAffected":1,"insertedId":"t9"})");
  EXPECT_EQ(Result(c->Call("/tasks/update", R"([{},{"$bad":{"x":1}}])")), "error 400");
  EXPECT_EQ(Result(c->Call("/tasks/remove", R"([{"done":true}])")), "2");
  EXPECT_EQ(Result(c->Call("/bad topic!/insert", R"([{}])")), "error 404");  // not a collection method
  EXPECT_EQ(Result(c->Call("/tasks/insert", R"([{"_id":1}])")), "error 400");
}

TEST_F(EngineDdpTest, PublishTxQueryHistory) {
  auto c = Client();
  auto pub = c->Call("publish", R"(["ev.a",[{"k":1},{"k":2}]])");
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->FindPath("result.ids")->as_array().size(), 2u);
  EXPECT_EQ(*pub->FindPath("result.seq"), Value(1));
  EXPECT_EQ(Result(c->Call("tx", R"([[{"op":"insert","topic":"acct","doc":{"_id":"a","b":5}},
                                      {"op":"expect","topic":"acct","id":"a","match":{"b":5}}],{"key":"once"}])")),
            R"({"seq":2,"results":["a",null]})");
  EXPECT_EQ(Result(c->Call("tx", R"([[{"op":"insert","topic":"acct","doc":{"_id":"a","b":5}},
                                      {"op":"expect","topic":"acct","id":"a","match":{"b":5}}],{"key":"once"}])")),
            R"({"seq":2,"results":["a",null]})");
  EXPECT_EQ(Result(c->Call("tx", R"([[{"op":"expect","topic":"acct","id":"a","exists":false}]])")),
            R"(error "conflict")");
  EXPECT_EQ(Result(c->Call("tx", R"([[]])")), "error 400");
  EXPECT_EQ(Result(c->Call("tx", R"(["nope"])")), "error 400");
  EXPECT_EQ(Result(c->Call("publish", R"(["bad topic",{}])")), "error 400");
  EXPECT_EQ(Result(c->Call("publish", R"(["t"])")), "error 400");
  EXPECT_EQ(Result(c->Call("query", R"(["ev.*",{"sort":{"k":-1},"fields":{"_id":0}}])")),
            R"([{"k":2,"_topic":"ev.a"},{"k":1,"_topic":"ev.a"}])");
  EXPECT_EQ(Result(c->Call("query", R"(["acct",{"filter":{"$nope":1}}])")), "error 400");
  EXPECT_EQ(Result(c->Call("query", R"([5])")), "error 400");
  auto h = c->Call("history", R"(["acct",{"fromSeq":0}])");
  ASSERT_TRUE(h.ok());
  const Array& entries = h->Find("result")->as_array();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(*entries[0].Find("seq"), Value(2));
  EXPECT_TRUE(entries[0].Find("t")->is_date());
  EXPECT_EQ(Result(c->Call("history", R"(["acct",{"limit":0}])")), "error 400");
}

TEST_F(EngineDdpTest, TopicSubscriptionSeesSnapshotThenChangesInOrder) {
  auto writer = Client();
  ASSERT_EQ(Result(writer->Call("/chat.r1/insert", R"([{"_id":"m1","text":"hi","n":1}])")), R"("m1")");
  auto reader = Client();
  std::vector<Value> data;
  auto ready = reader->Subscribe("s", "chat.r1", R"([{"filter":{"n":{"$gte":1}}}])", &data);
  ASSERT_EQ(MsgOf(*ready), "ready");
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(ToJson(data[0]), R"({"msg":"added","collection":"chat.r1","id":"m1","fields":{"text":"hi","n":1}})");
  ASSERT_EQ(Result(writer->Call("/chat.r1/update", R"([{"_id":"m1"},{"$set":{"text":"edited"},"$unset":{"n":1}}])")), "1");
  // The filter no longer matches: removed.
  auto m = reader->ReadJson();
  EXPECT_EQ(ToJson(*m), R"({"msg":"removed","collection":"chat.r1","id":"m1"})");
  ASSERT_EQ(Result(writer->Call("/chat.r1/update", R"([{"_id":"m1"},{"$set":{"n":2}}])")), "1");
  m = reader->ReadJson();
  EXPECT_EQ(ToJson(*m), R"({"msg":"added","collection":"chat.r1","id":"m1","fields":{"text":"edited","n":2}})");
  ASSERT_EQ(Result(writer->Call("/chat.r1/update", R"([{"_id":"m1"},{"$set":{"n":3,"extra":true}}])")), "1");
  m = reader->ReadJson();
  EXPECT_EQ(ToJson(*m), R"({"msg":"changed","collection":"chat.r1","id":"m1","fields":{"n":3,"extra":true}})");
}

// --publication-strategy 'events.>=no_merge_no_history': events reach the
// client as they are and nothing is retracted on unsub; other topics keep
// the merge box.
TEST_F(EngineDdpTest, NoMergeNoHistoryTopicsAreForwardedAndNotRetracted) {
  server_->Shutdown();
  ServerOptions o;
  o.net.bind = "127.0.0.1";
  o.net.port = 0;
  o.net.threads = 2;
  o.engine.store.path = dir_;
  o.api.strategies.push_back({"events.>", PublicationStrategy::kNoMergeNoHistory});
  server_ = std::make_unique<Server>(o);
  ASSERT_TRUE(server_->Start().ok());
  auto writer = Client();
  ASSERT_EQ(Result(writer->Call("/events.a/insert", R"([{"_id":"e1","kind":"login"}])")), R"("e1")");
  auto reader = Client();
  std::vector<Value> data;
  auto ready = reader->Subscribe("ev", "events.a", "[]", &data);
  ASSERT_EQ(MsgOf(*ready), "ready");
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(ToJson(data[0]), R"({"msg":"added","collection":"events.a","id":"e1","fields":{"kind":"login"}})");
  data.clear();
  ready = reader->Subscribe("chat", "chat.r1", "[]", &data);
  ASSERT_EQ(MsgOf(*ready), "ready");
  // Live changes are forwarded as they are.
  ASSERT_EQ(Result(writer->Call("publish", R"(["events.a",{"_id":"e2","kind":"logout"}])")),
            R"({"ids":["e2"],"seq":2})");
  auto m = reader->ReadJson();
  EXPECT_EQ(ToJson(*m), R"({"msg":"added","collection":"events.a","id":"e2","fields":{"kind":"logout"}})");
  ASSERT_EQ(Result(writer->Call("/events.a/update", R"([{"_id":"e2"},{"$set":{"kind":"timeout"}}])")), "1");
  m = reader->ReadJson();
  EXPECT_EQ(ToJson(*m), R"({"msg":"changed","collection":"events.a","id":"e2","fields":{"kind":"timeout"}})");
  // Unsub: `nosub`, and no `removed` for e1 or e2 (nothing was remembered).
  ASSERT_TRUE(reader->Send(R"({"msg":"unsub","id":"ev"})").ok());
  m = reader->ReadJson();
  EXPECT_EQ(ToJson(*m), R"({"msg":"nosub","id":"ev"})");
  ASSERT_EQ(Result(writer->Call("/chat.r1/insert", R"([{"_id":"c1","text":"hi"}])")), R"("c1")");
  m = reader->ReadJson();
  EXPECT_EQ(ToJson(*m), R"({"msg":"added","collection":"chat.r1","id":"c1","fields":{"text":"hi"}})");
  // The merged topic still retracts on unsub.
  ASSERT_TRUE(reader->Send(R"({"msg":"unsub","id":"chat"})").ok());
  m = reader->ReadJson();
  EXPECT_EQ(ToJson(*m), R"({"msg":"removed","collection":"chat.r1","id":"c1"})");
  m = reader->ReadJson();
  EXPECT_EQ(ToJson(*m), R"({"msg":"nosub","id":"chat"})");
}

TEST_F(EngineDdpTest, AWritersOwnUpdatedFollowsItsData) {
  auto c = Client();
  ASSERT_EQ(MsgOf(*c->Subscribe("s", "feed")), "ready");
  ASSERT_TRUE(c->Send(R"({"msg":"method","method":"tx","params":[[{"op":"insert","topic":"feed","doc":{"_id":"x"}},{"op":"insert","topic":"feed","doc":{"_id":"y"}}]],"id":"w"})").ok());
  std::vector<std::string> order;
  while (order.size() < 4) order.push_back(MsgOf(*c->ReadJson()));
  // Both documents of the transaction come together, before `updated`.
  EXPECT_EQ(order[0], "added");
  EXPECT_EQ(order[1], "added");
  EXPECT_EQ(std::count(order.begin(), order.end(), "result"), 1);
  EXPECT_EQ(order[3], "updated");
}

TEST_F(EngineDdpTest, PatternSubscriptionsUseEachDocumentsTopic) {
  auto c = Client();
  ASSERT_EQ(MsgOf(*c->Subscribe("p", "sensors.>")), "ready");
  ASSERT_EQ(MsgOf(*c->Subscribe("q", "sensors.*", R"([{"as":"flat"}])")), "ready");
  auto w = Client();
  ASSERT_TRUE(w->Call("publish", R"(["sensors.eu",{"_id":"a","t":20}])").ok());
  ASSERT_TRUE(w->Call("publish", R"(["sensors.eu.deep",{"_id":"b","t":21}])").ok());
  ASSERT_TRUE(w->Call("publish", R"(["other",{"_id":"c"}])").ok());
  std::vector<std::string> got;
  while (got.size() < 3) {
    auto m = c->ReadJson();
    ASSERT_TRUE(m.ok());
    got.push_back(m->Find("collection")->as_string() + "/" + m->Find("id")->as_string());
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"flat/a", "sensors.eu.deep/b", "sensors.eu/a"}));
  EXPECT_FALSE(c->ReadJson(std::chrono::milliseconds(100)).ok());  // nothing from "other"
}

TEST_F(EngineDdpTest, InvalidSubscriptionQueriesGetNosub400) {
  auto c = Client();
  for (const char* params : {R"([{"filter":{"$bad":1}}])", R"([{"fields":{"a":1,"b":0}}])",
                             R"([{"what":1}])", R"(["string"])", R"([{"ordered":"yes"}])",
                             R"([{"pipeline":[{"$group":{}}]}])", R"([{"pipeline":[{"$nope":1}]}])"}) {
    auto r = c->Subscribe("s", "topic", params);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(MsgOf(*r), "nosub") << params;
    EXPECT_EQ(*r->FindPath("error.error"), Value(400)) << params << " " << ToJson(*r);
  }
  auto bad_pattern = c->Subscribe("s", "a.>.b");
  EXPECT_EQ(*bad_pattern->FindPath("error.error"), Value(404));
}

TEST_F(EngineDdpTest, OrderedSortedLimitedSubscription) {
  auto w = Client();
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(w->Call("publish", StrCat(R"(["scores",{"_id":"p)", i, R"(","s":)", i * 10, "}]")).ok());
  }
  auto c = Client();
  std::vector<Value> data;
  ASSERT_EQ(MsgOf(*c->Subscribe("top", "scores", R"([{"sort":{"s":-1},"limit":2,"ordered":true}])", &data)), "ready");
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(ToJson(data[0]), R"({"msg":"addedBefore","collection":"scores","id":"p3","fields":{"s":30},"before":null})");
  EXPECT_EQ(ToJson(data[1]), R"({"msg":"addedBefore","collection":"scores","id":"p2","fields":{"s":20},"before":null})");
  // p1 jumps to the top: p2 leaves the window, p1 enters before p3.
  ASSERT_TRUE(w->Call("/scores/update", R"([{"_id":"p1"},{"$set":{"s":99}}])").ok());
  std::vector<std::string> msgs;
  for (int i = 0; i < 2; ++i) msgs.push_back(ToJson(*c->ReadJson()));
  EXPECT_EQ(msgs[0], R"({"msg":"removed","collection":"scores","id":"p2"})");
  EXPECT_EQ(msgs[1], R"({"msg":"addedBefore","collection":"scores","id":"p1","fields":{"s":99},"before":"p3"})");
  // An unordered subscription to the same collection on this session clashes.
  auto clash = c->Subscribe("all", "scores");
  EXPECT_EQ(MsgOf(*clash), "nosub");
  EXPECT_EQ(*clash->FindPath("error.error"), Value(400)) << ToJson(*clash);
}

TEST_F(EngineDdpTest, GroupedWindowedAndJoinedSubscriptions) {
  auto w = Client();
  auto c = Client();
  ASSERT_EQ(MsgOf(*c->Subscribe("g", "trades", R"([{"pipeline":[{"$group":{"_id":"$sym","vol":{"$sum":"$q"}}}],"as":"volumes"}])")), "ready");
  ASSERT_EQ(MsgOf(*c->Subscribe("w", "trades", R"([{"pipeline":[{"$window":{"on":"ts","tumbling":60000}},{"$group":{"_id":"$sym","n":{"$count":{}}}}],"as":"perMinute"}])")), "ready");
  ASSERT_EQ(MsgOf(*c->Subscribe("j", "trades", R"([{"pipeline":[{"$lookup":{"from":"symbols","localField":"sym","foreignField":"_id","as":"info"}}],"fields":{"info.name":1},"as":"joined"}])")), "ready");
  ASSERT_TRUE(w->Call("publish", R"(["symbols",{"_id":"ACME","name":"Acme Corp"}])").ok());
  ASSERT_TRUE(w->Call("publish", R"(["trades",{"_id":"t1","sym":"ACME","q":100,"ts":{"$date":120500}}])").ok());
  std::map<std::string, Value> last;  // collection/id -> last message
  std::vector<Value> seen;
  auto read = [&](int n) {
    for (int i = 0; i < n; ++i) {
      auto m = c->ReadJson();
      ASSERT_TRUE(m.ok());
      last[m->Find("collection")->as_string() + "/" + m->Find("id")->as_string()] = *m;
      seen.push_back(*m);
    }
  };
  read(3);
  EXPECT_EQ(ToJson(last["volumes/ACME"]), R"({"msg":"added","collection":"volumes","id":"ACME","fields":{"vol":100}})");
  ASSERT_EQ(last.count("joined/t1"), 1u);
  EXPECT_EQ(ToJson(*last["joined/t1"].Find("fields")), R"({"info":[{"name":"Acme Corp"}]})");
  bool windowed = false;
  for (auto& [k, m] : last) {
    if (k.rfind("perMinute/", 0) == 0) {
      windowed = true;
      EXPECT_EQ(ToJson(*m.FindPath("fields._key")), R"({"key":"ACME","start":{"$date":120000},"end":{"$date":180000}})");
      EXPECT_EQ(*m.FindPath("fields.n"), Value(1));
    }
  }
  EXPECT_TRUE(windowed);
  // A change on the joined side updates the joined document.
  ASSERT_TRUE(w->Call("/symbols/update", R"([{"_id":"ACME"},{"$set":{"name":"ACME Inc"}}])").ok());
  read(1);
  EXPECT_EQ(ToJson(last["joined/t1"]), R"({"msg":"changed","collection":"joined","id":"t1","fields":{"info":[{"name":"ACME Inc"}]}})");
  // A second trade changes the group.
  ASSERT_TRUE(w->Call("publish", R"(["trades",{"_id":"t2","sym":"ACME","q":50,"ts":{"$date":121000}}])").ok());
  read(3);
  EXPECT_EQ(ToJson(last["volumes/ACME"]), R"({"msg":"changed","collection":"volumes","id":"ACME","fields":{"vol":150}})");
}

TEST_F(EngineDdpTest, IdenticalSubscriptionsFromManyClientsShareOneEvaluation) {
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(Client());
    ASSERT_EQ(MsgOf(*clients.back()->Subscribe("s", "feed", R"([{"filter":{"lvl":"error"},"sort":{"t":-1},"limit":10}])")), "ready");
  }
  const auto& stats = server_->engine().live_stats();
  EXPECT_EQ(stats.subscriptions.load(), 5);
  EXPECT_EQ(stats.evaluations.load(), 1);
  auto w = Client();
  ASSERT_TRUE(w->Call("publish", R"(["feed",{"lvl":"error","t":1}])").ok());
  for (auto& c : clients) EXPECT_EQ(MsgOf(*c->ReadJson()), "added");
  // Clients that leave on purpose stop their subscriptions (dropped
  // connections would keep them for a reconnect: session_resumption_test).
  for (auto& c : clients) ASSERT_TRUE(c->Send(R"({"msg":"disconnect"})").ok());
  clients.clear();
  auto fence = Client();
  for (int i = 0; i < 100 && stats.evaluations.load() != 0; ++i) {
    ASSERT_TRUE(fence->Call("query", R"(["feed"])").ok());  // each call passes the engine queue
  }
  EXPECT_EQ(stats.evaluations.load(), 0);
  EXPECT_EQ(stats.subscriptions.load(), 0);
}

TEST_F(EngineDdpTest, HttpApi) {
  uint16_t port = server_->port();
  auto r = HttpFetch(port, "POST", "/api/v1/topics/web.events/publish", R"([{"a":1},{"a":2}])");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->body.find(R"("seq":1)"), std::string::npos) << r->body;
  r = HttpFetch(port, "POST", "/api/v1/tx",
                R"({"ops":[{"op":"insert","topic":"web.accts","doc":{"_id":"a"}}],"key":"h1"})");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"seq":2,"results":["a"]})");
  r = HttpFetch(port, "POST", "/api/v1/tx", R"({"ops":[{"op":"insert","topic":"web.accts","doc":{"_id":"a"}}]})");
  EXPECT_EQ(r->status, 409);
  EXPECT_EQ(r->body.find(R"({"error":409,"reason":")"), 0u) << r->body;
  r = HttpFetch(port, "POST", "/api/v1/tx", R"({"ops":[{"op":"expect","topic":"web.accts","id":"zz","exists":true}]})");
  EXPECT_EQ(r->status, 409);
  EXPECT_EQ(r->body.find(R"({"error":"conflict")"), 0u) << r->body;
  r = HttpFetch(port, "POST", "/api/v1/tx", "not json");
  EXPECT_EQ(r->status, 400);
  r = HttpFetch(port, "GET", "/api/v1/topics/web.events?q=%7B%22filter%22%3A%7B%22a%22%3A2%7D%2C%22fields%22%3A%7B%22_id%22%3A0%7D%7D");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"([{"a":2}])");
  r = HttpFetch(port, "GET", "/api/v1/topics/web.events?q=%7Bbad");
  EXPECT_EQ(r->status, 400);
  r = HttpFetch(port, "GET", "/api/v1/topics/bad%20name");
  EXPECT_EQ(r->status, 400);
  r = HttpFetch(port, "GET", "/api/v1/topics");
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find(R"({"name":"web.accts","documents":1,"writes":1})"), std::string::npos) << r->body;
  r = HttpFetch(port, "DELETE", "/api/v1/tx");
  EXPECT_EQ(r->status, 405);
  r = HttpFetch(port, "GET", "/api/v1/nope");
  EXPECT_EQ(r->status, 404);
}

}  // namespace
}  // namespace ddp::testing

namespace ddp::testing {
namespace {

// What a client shows, per collection and id, from DDP data messages (an
// `added` for a document it holds replaces it, as the SDK applies a resume).
using View = std::map<std::string, std::map<std::string, Object>>;
void ApplyData(const Value& m, View& view) {
  std::string kind = MsgOf(m);
  if (kind != "added" && kind != "changed" && kind != "removed") return;
  auto& docs = view[m.Find("collection")->as_string()];
  const std::string& id = m.Find("id")->as_string();
  const Value* fields = m.Find("fields");
  if (kind == "added") {
    docs[id] = fields ? fields->as_object() : Object();
  } else if (kind == "changed") {
    Object& d = docs[id];
    if (fields) {
      for (const Member& f : fields->as_object()) d.Set(f.key, f.value);
    }
    if (const Value* cleared = m.Find("cleared")) {
      for (const Value& k : cleared->as_array()) d.Erase(k.as_string());
    }
  } else {
    docs.erase(id);
  }
}

constexpr std::string_view kGroups =
    R"([{"pipeline":[{"$group":{"_id":"$g","total":{"$sum":"$n"}}}],"as":"totals"}])";

// Subscribes to the topic and its totals on `c`; the data messages until
// both are ready (and any the session sends right after) go into `view`.
size_t SubscribeBoth(WsClient& c, View& view) {
  std::vector<Value> data;
  EXPECT_EQ(MsgOf(*c.Subscribe("docs", "r", "[]", &data)), "ready");
  EXPECT_EQ(MsgOf(*c.Subscribe("totals", "r", kGroups, &data)), "ready");
  // A call's reply comes after everything queued before it.
  EXPECT_TRUE(c.Call("query", R"(["r",{"limit":1}])", &data).ok());
  size_t n = 0;
  for (const Value& m : data) {
    std::string k = MsgOf(m);
    if (k == "added" || k == "changed" || k == "removed") ++n;
    ApplyData(m, view);
  }
  return n;
}

TEST_F(EngineDdpTest, AResumedSessionSendsOnlyWhatDiffersFromWhatTheClientHolds) {
  auto w = Client();
  for (int i = 0; i < 60; ++i) {
    ASSERT_EQ(Result(w->Call("/r/insert", StrCat(R"([{"_id":"d)", i, R"(","g":)", i % 6,
                                                 R"(,"n":)", i, "}]"))),
              StrCat("\"d", i, "\""));
  }
  View held;
  size_t full = 0;
  {
    auto first = Client();
    full = SubscribeBoth(*first, held);
  }
  EXPECT_EQ(full, 66u);  // 60 documents and 6 totals
  // While the client is away: one changed, one removed, one added; three
  // totals move.
  EXPECT_EQ(Result(w->Call("/r/update", R"([{"_id":"d1"},{"$set":{"n":1000}}])")), "1");
  EXPECT_EQ(Result(w->Call("/r/remove", R"([{"_id":"d2"}])")), "1");
  EXPECT_EQ(Result(w->Call("/r/insert", R"([{"_id":"d60","g":0,"n":5}])")), R"("d60")");

  // Reconnect with a digest of every document held.
  Object claims;
  for (const auto& [collection, docs] : held) {
    Object ids;
    for (const auto& [id, fields] : docs) ids.Append(id, Value(DigestText(FieldsDigest(fields))));
    claims.Append(collection, Value(std::move(ids)));
  }
  auto again = WsClient::Open(server_->port());
  ASSERT_TRUE(again.ok());
  WsClient& c = **again;
  ASSERT_TRUE(c.Send(StrCat(R"({"msg":"connect","version":"1","support":["1"],"ddpd_resume":{"docs":)",
                            ToJson(Value(std::move(claims))),
                            R"(,"subs":["docs","totals"]}})"))
                  .ok());
  auto connected = c.ReadUntil([](const Value& m) { return MsgOf(m) == "connected"; });
  ASSERT_TRUE(connected.ok());
  ASSERT_NE(connected->Find("ddpd_resume"), nullptr);
  EXPECT_EQ(connected->Find("ddpd_resume")->as_string(), "diff");
  View resumed = held;
  size_t sent = SubscribeBoth(c, resumed);
  // d1 and d60 sent, d2 removed; the totals of groups 0, 1 and 2 sent
  // again: 6 messages instead of 66.
  EXPECT_EQ(sent, 6u);

  // What the client now shows is what a fresh subscription shows.
  View fresh;
  auto other = Client();
  EXPECT_EQ(SubscribeBoth(*other, fresh), 66u);
  EXPECT_EQ(resumed, fresh);
}

TEST_F(EngineDdpTest, AMalformedResumeIsServedInFull) {
  auto w = Client();
  ASSERT_EQ(Result(w->Call("/r/insert", R"([{"_id":"a","g":1,"n":1}])")), R"("a")");
  for (std::string_view bad : {R"("nope")", R"({"docs":{"r":{"a":"xyz"}}})",
                               R"({"docs":{"r":[1]}})", R"({"docs":5})"}) {
    auto c = WsClient::Open(server_->port());
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->Send(StrCat(R"({"msg":"connect","version":"1","support":["1"],"ddpd_resume":)",
                                  bad, "}"))
                    .ok());
    auto connected = (*c)->ReadUntil([](const Value& m) { return MsgOf(m) == "connected"; });
    ASSERT_TRUE(connected.ok()) << bad;
    EXPECT_EQ(connected->Find("ddpd_resume"), nullptr) << bad;
    View view;
    EXPECT_EQ(SubscribeBoth(**c, view), 2u) << bad;
  }
}

}  // namespace
}  // namespace ddp::testing

namespace ddp::testing {
namespace {

// A document deeper than 100 levels is refused when written (every node of
// a cluster must be able to read back what the log carries).
TEST_F(EngineDdpTest, WritesThatWouldNestTooDeepAreRefused) {
  auto c = Client();
  ASSERT_EQ(Result(c->Call("/deep/insert", R"([{"_id":"d"}])")), R"("d")");
  std::string path = "a";
  for (int i = 0; i < 150; ++i) path += ".a";
  EXPECT_EQ(Result(c->Call("/deep/update", StrCat(R"([{"_id":"d"},{"$set":{")", path, R"(":1}}])"))),
            "error 400");
  // (A document that deep cannot arrive in a message: the session's JSON
  // depth limit refuses the message first.)
  std::string shallow = "1";
  for (int i = 0; i < 50; ++i) shallow = StrCat(R"({"a":)", shallow, "}");
  EXPECT_EQ(Result(c->Call("/deep/update", StrCat(R"([{"_id":"d"},{"$set":{"x":)", shallow, "}}]"))),
            "1");
  auto h = c->Call("history", R"(["deep",{"fromSeq":0,"limit":10}])");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->Find("error"), nullptr) << ToJson(*h);
}

}  // namespace
}  // namespace ddp::testing
