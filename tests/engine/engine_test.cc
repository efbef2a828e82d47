// The engine without sockets: transactions, preconditions, idempotency,
// retention, live subscriptions (through a recording sink) and the parsers'
// errors, on a real RocksDB in a temp directory.
#include "server/engine/engine.h"

#include <condition_variable>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <random>

#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "protocol/ddp_error.h"
#include "server/engine/topic_name.h"
#include "common/strings.h"
#include "protocol/json.h"

namespace ddp::engine {
namespace {

Value J(std::string_view json) {
  auto v = ParseJson(json);
  EXPECT_TRUE(v.ok()) << json;
  return v.ok() ? *v : Value();
}

// Records deltas; keeps the subscriber's view by applying them.
class RecordingSink : public LiveSink {
 public:
  void Send(ChangeBatchPtr batch) override {
    std::lock_guard<std::mutex> lock(mu_);
    batches_.push_back(batch->changes.size());
    for (const Delta& d : batch->changes) {
      auto& coll = view_[d.collection];
      switch (d.kind) {
        case Delta::Kind::kMovedBefore:
          break;
        case Delta::Kind::kAddedBefore:
        case Delta::Kind::kAdded:
          EXPECT_FALSE(coll.contains(d.id)) << "added twice: " << d.id;
          coll[d.id] = d.fields;
          break;
        case Delta::Kind::kChanged: {
          EXPECT_TRUE(coll.contains(d.id)) << "changed unknown: " << d.id;
          Object& doc = coll[d.id];
          for (const Member& m : d.fields) doc.Set(m.key, m.value);
          for (auto& k : d.cleared) doc.Erase(k);
          break;
        }
        case Delta::Kind::kRemoved:
          EXPECT_TRUE(coll.erase(d.id)) << "removed unknown: " << d.id;
          break;
      }
      log_.push_back(std::move(d));
    }
    cv_.notify_all();
  }
  void Ready() override {
    std::lock_guard<std::mutex> lock(mu_);
    ready_ = true;
    cv_.notify_all();
  }
  void Fail(absl::Status status) override {
    std::lock_guard<std::mutex> lock(mu_);
    failed_ = status;
    cv_.notify_all();
  }
  absl::Status failed() {
    std::lock_guard<std::mutex> lock(mu_);
    return failed_;
  }
  bool WaitFor(const std::function<bool()>& pred) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), pred);
  }
  std::map<std::string, std::map<std::string, Object>> view() {
    std::lock_guard<std::mutex> lock(mu_);
    return view_;
  }
  size_t delta_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_.size();
  }
  std::vector<Delta> log() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }
  std::vector<size_t> batches() {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_;
  }
  bool ready() {
    std::lock_guard<std::mutex> lock(mu_);
    return ready_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool ready_ = false;
  absl::Status failed_;
  std::vector<Delta> log_;
  std::vector<size_t> batches_;
  std::map<std::string, std::map<std::string, Object>> view_;
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("engine_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    options_.store.path = dir_.string();
    options_.maintenance_interval = std::chrono::hours(1);  // tests run it explicitly
  }
  void TearDown() override {
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    engine_.reset();
    auto e = Engine::Open(options_);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(*e);
  }
  absl::StatusOr<TxResult> Run(absl::StatusOr<TxRequest> tx) {
    if (!tx.ok()) return tx.status();
    std::promise<absl::StatusOr<TxResult>> p;
    auto f = p.get_future();
    engine_->Submit(std::move(*tx), [&p](absl::StatusOr<TxResult> r) { p.set_value(std::move(r)); });
    return f.get();
  }
  absl::StatusOr<TxResult> Tx(std::string_view ops, std::string_view options = "null") {
    return Run(ParseTx(J(ops), J(options)));
  }
  absl::StatusOr<Array> Query(std::string_view target, std::string_view query = "null") {
    absl::StatusOr<PlanPtr> spec = ParsePlan(target, J(query), options_.live_limits);
    if (!spec.ok()) return spec.status();
    std::promise<absl::StatusOr<Array>> p;
    auto f = p.get_future();
    engine_->Query(std::move(*spec), [&p](absl::StatusOr<Array> r) { p.set_value(std::move(r)); });
    return f.get();
  }
  std::string QueryJson(std::string_view target, std::string_view query = "null") {
    auto r = Query(target, query);
    return r.ok() ? ToJson(Value(*r)) : std::string(r.status().message());
  }
  LiveRegistry::Id Subscribe(std::string target, std::shared_ptr<RecordingSink> sink,
                             std::string_view filter = "{}") {
    return SubscribeQuery(target, sink, StrCat(R"({"filter":)", filter, "}"));
  }
  LiveRegistry::Id SubscribeQuery(std::string target, std::shared_ptr<RecordingSink> sink,
                                  std::string_view query) {
    auto plan = ParsePlan(target, J(query), options_.live_limits);
    EXPECT_TRUE(plan.ok()) << plan.status();
    std::promise<absl::StatusOr<LiveRegistry::Id>> p;
    auto f = p.get_future();
    engine_->Subscribe(std::move(*plan), sink, [&p](absl::StatusOr<LiveRegistry::Id> r) {
      p.set_value(std::move(r));
    });
    auto id = f.get();
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : 0;
  }

  std::filesystem::path dir_;
  EngineOptions options_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, InsertUpdateRemoveLikeMeteorCollections) {
  Open();
  auto id = Run(ParseInsert("c", {J(R"({"_id":"a","n":1})")}));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(ResultValue(*id, ResultShape::kInsert), Value("a"));
  EXPECT_EQ(id->seq, 1u);
  // A generated _id is a time-ordered 26-character ULID, placed first:
  // later inserts sort later.
  auto gen = Run(ParseInsert("c", {J(R"({"n":2})")}));
  ASSERT_TRUE(gen.ok());
  std::string gen_id = ResultValue(*gen, ResultShape::kInsert).as_string();
  EXPECT_EQ(gen_id.size(), 26u);
  auto gen2 = Run(ParseInsert("c", {J(R"({"n":3})")}));
  ASSERT_TRUE(gen2.ok());
  EXPECT_LT(gen_id, ResultValue(*gen2, ResultShape::kInsert).as_string());
  ASSERT_TRUE(Run(ParseRemove("c", {J(R"({"n":3})")})).ok());
  // Duplicate _id -> 409.
  auto dup = Run(ParseInsert("c", {J(R"({"_id":"a"})")}));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(DdpErrorFromStatus(dup.status()).error, Value(409));
  // Update: number affected; multi; upsert; _returnObject.
  // Not multi: only the first match (in _id order) changes.
  ASSERT_TRUE(Run(ParseInsert("c", {J(R"({"_id":"b","n":1})")})).ok());
  auto up = Run(ParseUpdate("c", {J(R"({"n":1})"), J(R"({"$inc":{"n":10}})")}));
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(ResultValue(*up, ResultShape::kUpdate), Value(1));
  EXPECT_EQ(QueryJson("c", R"({"filter":{"_id":"b"}})"), R"([{"_id":"b","n":1}])");
  ASSERT_TRUE(Run(ParseRemove("c", {J(R"({"_id":"b"})")})).ok());
  EXPECT_EQ(QueryJson("c", R"({"filter":{"_id":"a"}})"), R"([{"_id":"a","n":11}])");
  up = Run(ParseUpdate("c", {J(R"({})"), J(R"({"$set":{"seen":true}})"), J(R"({"multi":true})")}));
  EXPECT_EQ(ResultValue(*up, ResultShape::kUpdate), Value(2));
  up = Run(ParseUpdate("c", {J(R"({"_id":"z","k":"v"})"), J(R"({"$set":{"x":1}})"),
                             J(R"({"upsert":true,"_returnObject":true})")}));
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(ToJson(ResultValue(*up, ResultShape::kUpdate)), R"({"numberAffected":1,"insertedId":"z"})");
  EXPECT_EQ(QueryJson("c", R"({"filter":{"_id":"z"}})"), R"([{"_id":"z","k":"v","x":1}])");
  // Matching with no change is still "affected" (Meteor counts matches).
  up = Run(ParseUpdate("c", {J(R"({"_id":"z"})"), J(R"({"$set":{"x":1}})")}));
  EXPECT_EQ(ResultValue(*up, ResultShape::kUpdate), Value(1));
  uint64_t seq_before = engine_->last_seq();
  EXPECT_EQ(up->seq, seq_before);  // nothing written, no new seq
  // Remove.
  auto rm = Run(ParseRemove("c", {J(R"({"seen":true})")}));
  EXPECT_EQ(ResultValue(*rm, ResultShape::kRemove), Value(2));
  EXPECT_EQ(QueryJson("c"), R"([{"_id":"z","k":"v","x":1}])");
  // Bad modifiers and selectors name the operator (400).
  auto bad = Run(ParseUpdate("c", {J(R"({})"), J(R"({"$frob":{"a":1}})")}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("$frob"), std::string::npos);
  EXPECT_EQ(DdpErrorFromStatus(bad.status()).error, Value(400));
  bad = Run(ParseUpdate("c", {J(R"({"_id":"z"})"), J(R"({"$inc":{"k":1}})")}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(DdpErrorFromStatus(bad.status()).error, Value(400));
  EXPECT_NE(bad.status().message().find("non-numeric"), std::string::npos);
  bad = Run(ParseUpdate("c", {J(R"({"_id":"z"})"), J(R"({"$set":{"_id":"y"}})")}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("_id"), std::string::npos);
  bad = Run(ParseRemove("c", {J(R"({"a":{"$bogus":1}})")}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("$bogus"), std::string::npos);
}

TEST_F(EngineTest, InvalidInputIsA400) {
  Open();
  EXPECT_FALSE(ParseInsert("bad topic", {J("{}")}).ok());
  EXPECT_FALSE(ParseInsert("c", {}).ok());
  EXPECT_FALSE(ParseInsert("c", {J("[1]")}).ok());
  EXPECT_FALSE(ParseInsert("c", {J(R"({"_id":5})")}).ok());
  EXPECT_FALSE(ParseInsert("c", {J(R"({"$x":1})")}).ok());
  EXPECT_FALSE(ParseInsert("c", {J(R"({"a.b":1})")}).ok());
  EXPECT_FALSE(ParseUpdate("c", {J("{}")}).ok());
  EXPECT_FALSE(ParseUpdate("c", {J("{}"), J(R"({"$set":{"a":1},"b":2})")}).ok());
  EXPECT_FALSE(ParseUpdate("c", {J("{}"), J(R"({"$set":{}})"), J(R"({"multi":"yes"})")}).ok());
  EXPECT_FALSE(ParseRemove("c", {}).ok());
  EXPECT_FALSE(ParsePublish("c", J("[]")).ok());
  EXPECT_FALSE(ParsePublish("c.*", J("{}")).ok());
  EXPECT_FALSE(ParseTx(J("{}"), J("null")).ok());
  EXPECT_FALSE(ParseTx(J("[]"), J("null")).ok());
  EXPECT_FALSE(ParseTx(J(R"([{"op":"frob","topic":"c"}])"), J("null")).ok());
  EXPECT_FALSE(ParseTx(J(R"([{"op":"insert"}])"), J("null")).ok());
  EXPECT_FALSE(ParseTx(J(R"([{"op":"expect","topic":"c","id":"a"}])"), J("null")).ok());
  EXPECT_FALSE(ParseTx(J(R"([{"op":"insert","topic":"c","doc":{}}])"), J(R"({"key":5})")).ok());
  auto e = ParseTx(J(R"([{"op":"insert","topic":"c","doc":{}},{"op":"update","topic":"c"}])"), J("null"));
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("op 1"), std::string::npos) << e.status();
  query::LiveLimits limits;
  EXPECT_FALSE(ParsePlan("c", J(R"({"limit":-1})"), limits).ok());
  EXPECT_FALSE(ParsePlan("c", J(R"({"sort":{"a":2}})"), limits).ok());
  EXPECT_FALSE(ParsePlan("c", J(R"({"what":1})"), limits).ok());
  EXPECT_FALSE(ParsePlan("c", J(R"({"filter":{"$x":1}})"), limits).ok());
  EXPECT_FALSE(ParsePlan("bad topic", J("{}"), limits).ok());
}

TEST_F(EngineTest, TransactionsAreAllOrNothing) {
  Open();
  ASSERT_TRUE(Tx(R"([{"op":"insert","topic":"acct","doc":{"_id":"a","bal":100}},
                     {"op":"insert","topic":"acct","doc":{"_id":"b","bal":0}}])").ok());
  uint64_t seq = engine_->last_seq();
  // A transfer guarded by preconditions.
  auto r = Tx(R"([{"op":"expect","topic":"acct","id":"a","match":{"bal":{"$gte":30}}},
                  {"op":"update","topic":"acct","selector":{"_id":"a"},"modifier":{"$inc":{"bal":-30}}},
                  {"op":"update","topic":"acct","selector":{"_id":"b"},"modifier":{"$inc":{"bal":30}}}])");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->seq, seq + 1);
  EXPECT_EQ(ToJson(ResultValue(*r, ResultShape::kTx)),
            R"({"seq":)" + std::to_string(seq + 1) + R"(,"results":[null,1,1]})");
  // A failing precondition anywhere: 409 conflict, nothing applied.
  r = Tx(R"([{"op":"update","topic":"acct","selector":{"_id":"a"},"modifier":{"$inc":{"bal":-1000}}},
             {"op":"expect","topic":"acct","id":"a","match":{"bal":{"$gte":0}}}])");
  ASSERT_FALSE(r.ok());
  DdpError e = DdpErrorFromStatus(r.status());
  EXPECT_EQ(e.error, Value("conflict"));
  EXPECT_EQ(e.http_status, 409);
  // A failing op (duplicate insert) after successful ones: nothing applied.
  r = Tx(R"([{"op":"insert","topic":"acct","doc":{"_id":"c"}},
             {"op":"insert","topic":"acct","doc":{"_id":"a"}}])");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(QueryJson("acct", R"({"fields":{"bal":1}})"),
            R"([{"_id":"a","bal":70},{"_id":"b","bal":30}])");
  EXPECT_EQ(engine_->last_seq(), seq + 1);
  // exists / version preconditions.
  auto a = *Query("acct", R"({"filter":{"_id":"a"}})");
  ASSERT_TRUE(Tx(R"([{"op":"expect","topic":"acct","id":"a","version":)" +
                 std::to_string(seq + 1) + R"(}])").ok());
  EXPECT_FALSE(Tx(R"([{"op":"expect","topic":"acct","id":"a","version":1}])").ok());
  EXPECT_TRUE(Tx(R"([{"op":"expect","topic":"acct","id":"zz","exists":false}])").ok());
  EXPECT_FALSE(Tx(R"([{"op":"expect","topic":"acct","id":"zz","exists":true}])").ok());
  // Ops see earlier ops of the same transaction.
  r = Tx(R"([{"op":"insert","topic":"acct","doc":{"_id":"n","bal":1}},
             {"op":"update","topic":"acct","selector":{"_id":"n"},"modifier":{"$inc":{"bal":1}}},
             {"op":"expect","topic":"acct","id":"n","match":{"bal":2}}])");
  ASSERT_TRUE(r.ok()) << r.status();
}

TEST_F(EngineTest, IdempotencyKeysAnswerRetriesWithTheFirstResult) {
  Open();
  const char* ops = R"([{"op":"update","topic":"k","selector":{"_id":"x"},
                          "modifier":{"$inc":{"n":1}},"upsert":true}])";
  auto first = Tx(ops, R"({"key":"retry-1"})");
  ASSERT_TRUE(first.ok());
  auto again = Tx(ops, R"({"key":"retry-1"})");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->seq, first->seq);
  EXPECT_EQ(QueryJson("k"), R"([{"_id":"x","n":1}])");
  // Without a key, or with another key, it applies.
  ASSERT_TRUE(Tx(ops, R"({"key":"retry-2"})").ok());
  EXPECT_EQ(QueryJson("k"), R"([{"_id":"x","n":2}])");
  // Remembered across a restart.
  Open();
  again = Tx(ops, R"({"key":"retry-1"})");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(QueryJson("k"), R"([{"_id":"x","n":2}])");
  // Concurrent retries in one group: applied once.
  std::vector<std::future<absl::StatusOr<TxResult>>> fs;
  for (int i = 0; i < 10; ++i) {
    fs.push_back(std::async(std::launch::async, [&] { return Tx(ops, R"({"key":"burst"})"); }));
  }
  for (auto& f : fs) ASSERT_TRUE(f.get().ok());
  EXPECT_EQ(QueryJson("k"), R"([{"_id":"x","n":3}])");
}

TEST_F(EngineTest, IdempotencyKeysExpire) {
  options_.idempotency_ttl = std::chrono::milliseconds(1);
  Open();
  const char* ops = R"([{"op":"publish","topic":"e","doc":{"v":1}}])";
  ASSERT_TRUE(Tx(ops, R"({"key":"short"})").ok());
  // Expiry is by wall clock: wait past it without sleeping on an event.
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(5);
  while (std::chrono::steady_clock::now() < until) {
  }
  auto again = Tx(ops, R"({"key":"short"})");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->replayed);
  EXPECT_EQ(Query("e")->size(), 2u);
}

TEST_F(EngineTest, PublishGivesTimeOrderedIds) {
  Open();
  auto r = Run(ParsePublish("ev", J(R"([{"a":1},{"a":2},{"_id":"given","a":3}])")));
  ASSERT_TRUE(r.ok());
  Value v = ResultValue(*r, ResultShape::kPublish);
  const Array& ids = v.Find("ids")->as_array();
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0].as_string().size(), 26u);
  EXPECT_LT(ids[0].as_string(), ids[1].as_string());
  EXPECT_EQ(ids[2], Value("given"));
  EXPECT_EQ(*v.Find("seq"), Value(static_cast<int64_t>(r->seq)));
  // Publishing a known _id replaces the document.
  ASSERT_TRUE(Run(ParsePublish("ev", J(R"({"_id":"given","b":1})"))).ok());
  EXPECT_EQ(QueryJson("ev", R"({"filter":{"_id":"given"}})"), R"([{"_id":"given","b":1}])");
}

TEST_F(EngineTest, QueryFilterSortSkipLimitFieldsAndPatterns) {
  Open();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(Run(ParseInsert("s.a", {J(R"({"_id":"d)" + std::to_string(i) + R"(","n":)" +
                                          std::to_string(i % 4) + R"(,"x":1})")})).ok());
  }
  ASSERT_TRUE(Run(ParseInsert("s.b", {J(R"({"_id":"o","n":9})")})).ok());
  EXPECT_EQ(QueryJson("s.a", R"({"filter":{"n":{"$gte":2}},"sort":{"n":-1,"_id":1},"skip":1,"limit":3,"fields":{"n":1}})"),
            R"([{"_id":"d7","n":3},{"_id":"d2","n":2},{"_id":"d6","n":2}])");
  EXPECT_EQ(QueryJson("s.*", R"({"filter":{"n":{"$gte":3}},"sort":{"n":-1},"fields":{"x":0}})"),
            R"([{"_id":"o","n":9,"_topic":"s.b"},{"_id":"d3","n":3,"_topic":"s.a"},{"_id":"d7","n":3,"_topic":"s.a"}])");
  EXPECT_EQ(QueryJson("nothing.here"), "[]");
  options_.max_query_results = 5;
  Open();
  auto too_many = Query("s.a");
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.status().message().find("limit"), std::string::npos);
  EXPECT_EQ(Query("s.a", R"({"limit":5})")->size(), 5u);
}

TEST_F(EngineTest, LiveSubscriptionSeesSnapshotThenExactDeltas) {
  Open();
  ASSERT_TRUE(Run(ParseInsert("live", {J(R"({"_id":"a","n":1})")})).ok());
  ASSERT_TRUE(Run(ParseInsert("live", {J(R"({"_id":"b","n":5})")})).ok());
  auto sink = std::make_shared<RecordingSink>();
  Subscribe("live", sink, R"({"n":{"$gte":3}})");
  ASSERT_TRUE(sink->WaitFor([&] { return true; }));
  EXPECT_TRUE(sink->ready());
  EXPECT_EQ(sink->view()["live"].size(), 1u);
  // Enters, changes, leaves, is removed.
  ASSERT_TRUE(Run(ParseUpdate("live", {J(R"({"_id":"a"})"), J(R"({"$set":{"n":4}})")})).ok());
  ASSERT_TRUE(Run(ParseUpdate("live", {J(R"({"_id":"b"})"), J(R"({"$set":{"n":6,"t":"x"}})")})).ok());
  ASSERT_TRUE(Run(ParseUpdate("live", {J(R"({"_id":"b"})"), J(R"({"$unset":{"t":1}})")})).ok());
  ASSERT_TRUE(Run(ParseUpdate("live", {J(R"({"_id":"a"})"), J(R"({"$set":{"n":0}})")})).ok());
  ASSERT_TRUE(Run(ParseRemove("live", {J(R"({"_id":"b"})")})).ok());
  ASSERT_TRUE(Run(ParseInsert("live", {J(R"({"_id":"c","n":9})")})).ok());
  std::vector<Delta> log = sink->log();
  ASSERT_EQ(log.size(), 7u);
  EXPECT_EQ(log[0].kind, Delta::Kind::kAdded);  // b, initial
  EXPECT_EQ(log[1].kind, Delta::Kind::kAdded);  // a enters
  EXPECT_EQ(log[1].id, "a");
  EXPECT_EQ(ToJson(Value(log[1].fields)), R"({"n":4})");  // no _id in fields
  EXPECT_EQ(log[2].kind, Delta::Kind::kChanged);
  EXPECT_EQ(ToJson(Value(log[2].fields)), R"({"n":6,"t":"x"})");
  EXPECT_EQ(log[3].kind, Delta::Kind::kChanged);
  EXPECT_TRUE(log[3].fields.empty());
  EXPECT_EQ(log[3].cleared, std::vector<std::string>{"t"});
  EXPECT_EQ(log[4].kind, Delta::Kind::kRemoved);  // a leaves the filter
  EXPECT_EQ(log[4].id, "a");
  EXPECT_EQ(log[5].kind, Delta::Kind::kRemoved);  // b removed
  EXPECT_EQ(log[6].kind, Delta::Kind::kAdded);
  // An update that changes nothing sends nothing.
  ASSERT_TRUE(Run(ParseUpdate("live", {J(R"({"_id":"c"})"), J(R"({"$set":{"n":9}})")})).ok());
  engine_->Unsubscribe(0);  // unknown id: harmless
  EXPECT_EQ(sink->delta_count(), 7u);
}

TEST_F(EngineTest, ATransactionReachesASubscriberAsOneBatch) {
  Open();
  auto sink = std::make_shared<RecordingSink>();
  Subscribe("grp.>", sink);
  ASSERT_TRUE(Tx(R"([{"op":"insert","topic":"grp.a","doc":{"_id":"1"}},
                     {"op":"insert","topic":"grp.b.c","doc":{"_id":"2"}},
                     {"op":"insert","topic":"other","doc":{"_id":"3"}},
                     {"op":"insert","topic":"grp.a","doc":{"_id":"4"}}])").ok());
  EXPECT_EQ(sink->batches(), std::vector<size_t>{3});
  auto view = sink->view();
  EXPECT_EQ(view["grp.a"].size(), 2u);  // each document in its own topic's collection
  EXPECT_EQ(view["grp.b.c"].size(), 1u);
  EXPECT_FALSE(view.contains("other"));
}

TEST_F(EngineTest, UnsubscribeStopsDeltas) {
  Open();
  auto sink = std::make_shared<RecordingSink>();
  auto id = Subscribe("u", sink);
  ASSERT_TRUE(Run(ParseInsert("u", {J(R"({"_id":"a"})")})).ok());
  EXPECT_EQ(sink->delta_count(), 1u);
  EXPECT_EQ(engine_->live_query_count(), 1u);
  engine_->Unsubscribe(id);
  ASSERT_TRUE(Run(ParseInsert("u", {J(R"({"_id":"b"})")})).ok());
  EXPECT_EQ(sink->delta_count(), 1u);
  EXPECT_EQ(engine_->live_query_count(), 0u);
}

TEST_F(EngineTest, RetentionByCountAndAgeRetractsFromSubscribers) {
  options_.retention = {{"ret.count", 3, 0}, {"ret.age.*", 0, 1}};
  Open();
  auto sink = std::make_shared<RecordingSink>();
  Subscribe("ret.count", sink);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Run(ParsePublish("ret.count", J(R"({"_id":"e)" + std::to_string(i) + R"("})"))).ok());
  }
  // max_docs holds right after each write, without waiting for maintenance:
  // the oldest go one small removal at a time, not in a burst.
  EXPECT_EQ(QueryJson("ret.count"), R"([{"_id":"e2"},{"_id":"e3"},{"_id":"e4"}])");
  ASSERT_TRUE(Run(ParsePublish("ret.age.x", J(R"({"_id":"old"})"))).ok());
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(5);
  while (std::chrono::steady_clock::now() < until) {
  }
  engine_->RunMaintenanceForTest();
  EXPECT_EQ(QueryJson("ret.count"), R"([{"_id":"e2"},{"_id":"e3"},{"_id":"e4"}])");
  EXPECT_EQ(QueryJson("ret.age.x"), "[]");
  auto view = sink->view();
  EXPECT_EQ(view["ret.count"].size(), 3u);
  EXPECT_FALSE(view["ret.count"].contains("e0"));
  // The removals are in the change log.
  std::promise<absl::StatusOr<std::vector<HistoryEntry>>> p;
  engine_->History("ret.count", 0, 100, [&](auto r) { p.set_value(std::move(r)); });
  auto h = p.get_future().get();
  ASSERT_TRUE(h.ok());
  // 5 publishes and 2 removals (of e0 after e3, of e1 after e4).
  ASSERT_EQ(h->size(), 7u);
  EXPECT_NE(ToJson((*h)[4].changes).find(R"("op":"remove")"), std::string::npos);
  EXPECT_NE(ToJson(h->back().changes).find(R"("op":"remove")"), std::string::npos);
}

// Topics without a retention rule keep no oldest-first index; a rule added
// at a restart applies to the documents written before it (the store
// builds the topic's index when it opens), oldest first.
TEST_F(EngineTest, ARetentionRuleAddedAtRestartCoversEarlierDocuments) {
  Open();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Run(ParsePublish("late", J(R"({"_id":"e)" + std::to_string(i) + R"("})"))).ok());
  }
  // e0 written again last: now the newest.
  ASSERT_TRUE(Run(ParsePublish("late", J(R"({"_id":"e0","again":true})"))).ok());
  options_.retention = {{"late", 3, 0}};
  Open();
  engine_->RunMaintenanceForTest();
  EXPECT_EQ(QueryJson("late"), R"([{"_id":"e0","again":true},{"_id":"e3"},{"_id":"e4"}])");
  // Kept from here on: the next write evicts the oldest at once.
  ASSERT_TRUE(Run(ParsePublish("late", J(R"({"_id":"e5"})"))).ok());
  EXPECT_EQ(QueryJson("late"), R"([{"_id":"e0","again":true},{"_id":"e4"},{"_id":"e5"}])");
}

TEST_F(EngineTest, ChangeLogRetentionAndHistory) {
  options_.log_max_entries = 3;
  Open();
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(Run(ParsePublish("h", J(R"({"i":)" + std::to_string(i) + "}"))).ok());
  ASSERT_TRUE(Run(ParsePublish("other", J("{}"))).ok());
  std::promise<absl::StatusOr<std::vector<HistoryEntry>>> p1;
  engine_->History("h", 2, 2, [&](auto r) { p1.set_value(std::move(r)); });
  auto h = p1.get_future().get();
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].seq, 3u);
  EXPECT_EQ((*h)[1].seq, 4u);
  engine_->RunMaintenanceForTest();
  std::promise<absl::StatusOr<std::vector<HistoryEntry>>> p2;
  engine_->History("h", 0, 100, [&](auto r) { p2.set_value(std::move(r)); });
  h = p2.get_future().get();
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);  // seqs 5, 6 remain of h (7 is "other")
  EXPECT_EQ((*h)[0].seq, 5u);
}

TEST_F(EngineTest, TopicsAreCreatedOnWriteUnlessConfiguredOtherwise) {
  options_.create_topics_on_write = false;
  options_.declared_topics = {"allowed", "fam.*"};
  Open();
  EXPECT_TRUE(Run(ParseInsert("allowed", {J("{}")})).ok());
  EXPECT_TRUE(Run(ParseInsert("fam.x", {J("{}")})).ok());
  auto r = Run(ParseInsert("elsewhere", {J("{}")}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(DdpErrorFromStatus(r.status()).error, Value(404));
}

TEST_F(EngineTest, IdenticalQueriesShareOneEvaluation) {
  Open();
  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  auto c = std::make_shared<RecordingSink>();
  auto id_a = SubscribeQuery("s", a, R"({"filter":{"k":1,"j":2},"limit":5,"sort":{"n":1}})");
  auto id_b = SubscribeQuery("s", b, R"({"sort":{"n":1},"limit":5,"filter":{"j":2,"k":1}})");
  SubscribeQuery("s", c, R"({"filter":{"k":2}})");
  EXPECT_EQ(engine_->live_stats().subscriptions.load(), 3);
  EXPECT_EQ(engine_->live_stats().evaluations.load(), 2);
  EXPECT_EQ(engine_->live_stats().shared_joins.load(), 1);
  ASSERT_TRUE(Run(ParseInsert("s", {J(R"({"_id":"x","k":1,"j":2,"n":1})")})).ok());
  EXPECT_EQ(a->delta_count(), 1u);
  EXPECT_EQ(b->delta_count(), 1u);
  EXPECT_EQ(c->delta_count(), 0u);
  engine_->Unsubscribe(id_a);
  ASSERT_TRUE(Run(ParseInsert("s", {J(R"({"_id":"y","k":1,"j":2,"n":0})")})).ok());
  EXPECT_EQ(b->delta_count(), 2u);
  EXPECT_EQ(engine_->live_stats().evaluations.load(), 2);  // b still uses it
  engine_->Unsubscribe(id_b);
  ASSERT_TRUE(Run(ParseInsert("s", {J("{}")})).ok());  // a fence for the unsubscribe
  EXPECT_EQ(engine_->live_stats().evaluations.load(), 1);  // freed with its last subscriber
  // A late joiner of a shared evaluation gets the current result.
  auto d = std::make_shared<RecordingSink>();
  SubscribeQuery("s", d, R"({"filter":{"k":2}})");
  EXPECT_TRUE(d->ready());
}

TEST_F(EngineTest, RoutingSkipsUnrelatedEvaluations) {
  Open();
  std::vector<std::shared_ptr<RecordingSink>> sinks;
  for (int room = 0; room < 50; ++room) {
    sinks.push_back(std::make_shared<RecordingSink>());
    Subscribe("chat", sinks.back(), StrCat(R"({"room":"r)", room, R"("})"));
  }
  auto all = std::make_shared<RecordingSink>();
  Subscribe("chat", all);
  int64_t routed0 = engine_->live_stats().changes_routed.load();
  ASSERT_TRUE(Run(ParseInsert("chat", {J(R"({"_id":"m1","room":"r7","text":"hi"})")})).ok());
  // Only r7's evaluation and the unfiltered one saw the change.
  EXPECT_EQ(engine_->live_stats().changes_routed.load() - routed0, 2);
  EXPECT_GE(engine_->live_stats().changes_skipped.load(), 49);
  EXPECT_EQ(sinks[7]->delta_count(), 1u);
  EXPECT_EQ(sinks[8]->delta_count(), 0u);
  EXPECT_EQ(all->delta_count(), 1u);
  // A move between rooms reaches both the old and the new room.
  ASSERT_TRUE(Run(ParseUpdate("chat", {J(R"({"_id":"m1"})"), J(R"({"$set":{"room":"r8"}})")})).ok());
  EXPECT_EQ(sinks[7]->delta_count(), 2u);  // removed
  EXPECT_EQ(sinks[8]->delta_count(), 1u);  // added
  // Equality on an array element routes too.
  ASSERT_TRUE(Run(ParseInsert("chat", {J(R"({"_id":"m2","room":["r1","r2"]})")})).ok());
  EXPECT_EQ(sinks[1]->delta_count(), 1u);
  EXPECT_EQ(sinks[2]->delta_count(), 1u);
}

TEST_F(EngineTest, LiveLimitsFailTheSubscriptionWith400) {
  options_.live_limits.max_groups = 3;
  Open();
  auto sink = std::make_shared<RecordingSink>();
  SubscribeQuery("g", sink, R"({"pipeline":[{"$group":{"_id":"$k","n":{"$count":{}}}}]})");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Run(ParseInsert("g", {J(StrCat(R"({"k":)", i, "}"))})).ok());
  }
  EXPECT_TRUE(sink->failed().ok());
  ASSERT_TRUE(Run(ParseInsert("g", {J(R"({"k":3})")})).ok());
  ASSERT_TRUE(sink->WaitFor([&] { return true; }));
  EXPECT_EQ(sink->failed().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(sink->failed().message().find("max_groups"), std::string::npos);
  EXPECT_EQ(engine_->live_stats().evaluations.load(), 0);
  // A query over too much from the start is refused at once.
  std::promise<absl::StatusOr<LiveRegistry::Id>> p;
  engine_->Subscribe(*ParsePlan("g", J(R"({"pipeline":[{"$group":{"_id":"$k"}}]})"), options_.live_limits),
                     std::make_shared<RecordingSink>(),
                     [&](absl::StatusOr<LiveRegistry::Id> r) { p.set_value(std::move(r)); });
  auto r = p.get_future().get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EngineTest, QueryAcceptsTheWholeLanguage) {
  Open();
  ASSERT_TRUE(Tx(R"([{"op":"insert","topic":"trades","doc":{"_id":"1","sym":"A","q":10}},
                     {"op":"insert","topic":"trades","doc":{"_id":"2","sym":"A","q":5}},
                     {"op":"insert","topic":"trades","doc":{"_id":"3","sym":"B","q":1}},
                     {"op":"insert","topic":"syms","doc":{"_id":"A","name":"Acme"}}])").ok());
  EXPECT_EQ(QueryJson("trades", R"({"pipeline":[{"$group":{"_id":"$sym","q":{"$sum":"$q"}}}],"sort":{"q":-1}})"),
            R"([{"_id":"A","q":15},{"_id":"B","q":1}])");
  EXPECT_EQ(QueryJson("trades", R"({"filter":{"sym":"A"},"pipeline":[{"$lookup":{"from":"syms","localField":"sym","foreignField":"_id","as":"s"}},{"$project":{"s.name":1}}],"limit":1})"),
            R"([{"_id":"1","s":[{"name":"Acme"}]}])");
}

TEST_F(EngineTest, SeqsAreContiguousAcrossRestarts) {
  Open();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Run(ParsePublish("s", J("{}"))).ok());
  Open();
  EXPECT_EQ(engine_->last_seq(), 5u);
  auto r = Run(ParsePublish("s", J("{}")));
  EXPECT_EQ(r->seq, 6u);
}

TEST_F(EngineTest, ConcurrentWritersAllCommitInOneOrder) {
  Open();
  constexpr int kThreads = 8, kEach = 50;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<uint64_t> seqs;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = Run(ParseUpdate("ctr", {J(R"({"_id":"c"})"), J(R"({"$inc":{"n":1}})"),
                                         J(R"({"upsert":true})")}));
        ASSERT_TRUE(r.ok()) << r.status();
        std::lock_guard<std::mutex> lock(mu);
        seqs.push_back(r->seq);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(QueryJson("ctr"), R"([{"_id":"c","n":)" + std::to_string(kThreads * kEach) + "}]");
  std::sort(seqs.begin(), seqs.end());
  for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], i + 1);
  EXPECT_LT(engine_->stats().groups.load(), kThreads * kEach);  // some grouping happened
}

// Transactions submitted together commit in one group, whose documents the
// engine reads from the store in one batch before applying any of them:
// each transaction must still see what the ones before it wrote, stored or
// not, and the batch must not hide a document stored by an earlier group.
TEST_F(EngineTest, TransactionsInFlightTogetherSeeEachOthersWrites) {
  Open();
  ASSERT_TRUE(Tx(R"([{"op":"insert","topic":"g","doc":{"_id":"old","n":1}}])").ok());
  for (int round = 0; round < 20; ++round) {
    const std::string id = "r" + std::to_string(round);
    std::vector<std::string> txs = {
        R"([{"op":"insert","topic":"g","doc":{"_id":"ID","n":1}}])",
        R"([{"op":"insert","topic":"g","doc":{"_id":"ID","n":99}}])",  // duplicate: 409
        R"([{"op":"update","topic":"g","selector":{"_id":"ID"},"modifier":{"$inc":{"n":1}}}])",
        R"([{"op":"expect","topic":"g","id":"ID","match":{"n":2}}])",
        R"([{"op":"insert","topic":"g","doc":{"_id":"old"}}])",  // stored long ago: 409
        R"([{"op":"update","topic":"g","selector":{"_id":"old"},"modifier":{"$inc":{"n":1}}}])",
        R"([{"op":"remove","topic":"g","selector":{"_id":"ID"}}])",
        R"([{"op":"expect","topic":"g","id":"ID","exists":false}])",
        R"([{"op":"publish","topic":"g","docs":[{"_id":"ID","n":7},{"_id":"old","n":0}]}])",
        R"([{"op":"expect","topic":"g","id":"old","match":{"n":0}}])",
    };
    std::vector<std::promise<absl::StatusOr<TxResult>>> done(txs.size());
    std::vector<std::future<absl::StatusOr<TxResult>>> results;
    for (size_t i = 0; i < txs.size(); ++i) {
      std::string ops = txs[i];
      for (size_t at; (at = ops.find("ID")) != std::string::npos;) ops.replace(at, 2, id);
      auto tx = ParseTx(J(ops), J("null"));
      ASSERT_TRUE(tx.ok()) << tx.status();
      results.push_back(done[i].get_future());
      engine_->Submit(std::move(*tx),
                      [&p = done[i]](absl::StatusOr<TxResult> r) { p.set_value(std::move(r)); });
    }
    std::vector<bool> ok;
    for (auto& f : results) ok.push_back(f.get().ok());
    EXPECT_EQ(ok, (std::vector<bool>{true, false, true, true, false, true, true, true, true, true}))
        << "round " << round;
    EXPECT_EQ(QueryJson("g", R"({"filter":{"_id":{"$in":[")" + id + R"(","old"]}}})"),
              R"([{"_id":"old","n":0},{"_id":")" + id + R"(","n":7}])");
  }
  EXPECT_LT(engine_->stats().groups.load(), 1 + 20 * 10);  // some transactions shared a group
}

// The change log names a written document by reference and saves it next
// to its record only when a later write replaces it (LogRecord in
// engine.cc). Random transactions in bursts (so that some share a commit
// group), a restart and log trimming in between: `history` must give every
// change exactly as its transaction wrote it, against a model of the
// documents.
TEST_F(EngineTest, HistoryGivesEveryDocumentAsItsTransactionWroteIt) {
  options_.log_max_entries = 60;
  Open();
  std::mt19937 rng(7);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const std::vector<std::string> topics = {"h.a", "h.b"};
  const std::vector<std::string> ids = {"a", "b", "c", "d", "e", "f"};
  // The model: topic -> id -> document JSON.
  std::map<std::string, std::map<std::string, std::string>> docs;
  // seq -> the change JSONs its record must give, in order.
  std::map<uint64_t, std::vector<std::string>> expected;
  uint64_t last_seq = 0, trimmed_before = 0;
  auto make_doc = [&](const std::string& id, int n, size_t len) {
    return StrCat(R"({"_id":")", id, R"(","n":)", n, R"(,"s":")", std::string(len, 'x'), R"("})");
  };
  for (int burst = 0; burst < 60; ++burst) {
    if (burst == 25) Open();  // restart: bodies and references survive
    if (burst % 10 == 9) {
      engine_->RunMaintenanceForTest();  // trims the log to the last 60 seqs
      trimmed_before = std::max(trimmed_before, last_seq + 1 > 60 ? last_seq + 1 - 60 : 0);
    }
    struct Planned {
      std::string ops;
      std::vector<std::string> changes;  // empty: writes nothing (or fails)
      bool ok = true;
    };
    std::vector<Planned> plans;
    const size_t n = 1 + pick(8);
    for (size_t k = 0; k < n; ++k) {
      Planned p;
      std::vector<std::string> ops;
      const size_t op_count = 1 + pick(2);
      // Documents this transaction touched, with their state before it.
      std::map<std::pair<std::string, std::string>, std::optional<std::string>> before;
      auto touch = [&](const std::string& t, const std::string& id) {
        auto key = std::make_pair(t, id);
        if (!before.contains(key)) {
          auto it = docs[t].find(id);
          before[key] = it == docs[t].end() ? std::nullopt : std::optional<std::string>(it->second);
        }
      };
      auto saved = docs;
      std::vector<std::pair<std::string, std::string>> order;
      auto remember = [&](const std::string& t, const std::string& id) {
        if (std::find(order.begin(), order.end(), std::make_pair(t, id)) == order.end()) {
          order.emplace_back(t, id);
        }
      };
      for (size_t o = 0; o < op_count && p.ok; ++o) {
        const std::string& t = topics[pick(2)];
        const std::string& id = ids[pick(ids.size())];
        const int v = static_cast<int>(pick(4));
        switch (pick(4)) {
          case 0: {  // publish 1-2 distinct documents
            std::string list;
            std::vector<std::string> two = {id};
            if (pick(2) == 0 && id != "f") two.push_back("f");
            for (const std::string& d : two) {
              std::string doc = make_doc(d, v, pick(3) == 0 ? 700 : pick(20));
              if (!list.empty()) list += ",";
              list += doc;
              touch(t, d);
              remember(t, d);
              docs[t][d] = doc;
            }
            ops.push_back(StrCat(R"({"op":"publish","topic":")", t, R"(","docs":[)", list, "]}"));
            break;
          }
          case 1: {  // insert: a duplicate fails the whole transaction
            std::string doc = make_doc(id, v, pick(30));
            ops.push_back(StrCat(R"({"op":"insert","topic":")", t, R"(","doc":)", doc, "}"));
            if (docs[t].contains(id)) {
              p.ok = false;
              break;
            }
            touch(t, id);
            remember(t, id);
            docs[t][id] = doc;
            break;
          }
          case 2: {  // $set n
            ops.push_back(StrCat(R"({"op":"update","topic":")", t, R"(","selector":{"_id":")", id,
                                 R"("},"modifier":{"$set":{"n":)", v, "}}}"));
            auto it = docs[t].find(id);
            if (it == docs[t].end()) break;
            touch(t, id);
            remember(t, id);
            Value d = J(it->second);
            d.as_object().Set("n", Value(static_cast<int64_t>(v)));
            it->second = ToJson(d);
            break;
          }
          default: {  // remove
            ops.push_back(StrCat(R"({"op":"remove","topic":")", t, R"(","selector":{"_id":")", id,
                                 R"("}})"));
            if (!docs[t].contains(id)) break;
            touch(t, id);
            remember(t, id);
            docs[t].erase(id);
            break;
          }
        }
      }
      p.ops = "[" + absl::StrJoin(ops, ",") + "]";
      if (!p.ok) {
        docs = saved;
      } else {
        for (const auto& [t, id] : order) {
          const auto& was = before[{t, id}];
          auto now = docs[t].find(id);
          const bool exists = now != docs[t].end();
          if (!was && !exists) continue;
          if (was && exists && J(*was) == J(now->second)) continue;
          std::string change = StrCat(R"({"topic":")", t, R"(","id":")", id, R"(","op":")",
                                      !was ? "insert" : !exists ? "remove" : "update", "\"");
          if (exists) change += R"(,"doc":)" + now->second;
          p.changes.push_back(change + "}");
        }
      }
      plans.push_back(std::move(p));
    }
    std::vector<std::promise<absl::StatusOr<TxResult>>> done(plans.size());
    std::vector<std::future<absl::StatusOr<TxResult>>> futures;
    for (size_t k = 0; k < plans.size(); ++k) {
      auto tx = ParseTx(J(plans[k].ops), J("null"));
      ASSERT_TRUE(tx.ok()) << plans[k].ops << ": " << tx.status();
      futures.push_back(done[k].get_future());
      engine_->Submit(std::move(*tx),
                      [&p = done[k]](absl::StatusOr<TxResult> r) { p.set_value(std::move(r)); });
    }
    for (size_t k = 0; k < plans.size(); ++k) {
      absl::StatusOr<TxResult> r = futures[k].get();
      ASSERT_EQ(r.ok(), plans[k].ok) << plans[k].ops << ": " << r.status();
      if (!r.ok() || plans[k].changes.empty()) continue;
      ASSERT_EQ(r->seq, last_seq + 1) << plans[k].ops;
      last_seq = r->seq;
      expected[r->seq] = plans[k].changes;
    }
  }
  ASSERT_GT(last_seq, 100u);
  for (uint64_t from : {trimmed_before, last_seq - 40}) {
    std::promise<absl::StatusOr<std::vector<HistoryEntry>>> p;
    engine_->History("h.*", from, 1000, [&](auto r) { p.set_value(std::move(r)); });
    auto h = p.get_future().get();
    ASSERT_TRUE(h.ok()) << h.status();
    std::map<uint64_t, std::vector<std::string>> got;
    for (const HistoryEntry& e : *h) {
      for (const Value& c : e.changes.as_array()) got[e.seq].push_back(ToJson(c));
    }
    std::map<uint64_t, std::vector<std::string>> want(expected.upper_bound(from), expected.end());
    EXPECT_EQ(got, want) << "from " << from;
  }
}

}  // namespace
}  // namespace ddp::engine
