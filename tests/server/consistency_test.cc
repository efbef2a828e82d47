// Subscription consistency under concurrency: random writes from several
// clients while other clients subscribe with random filters, unsubscribe
// and subscribe again. Each subscriber's view is built only from the
// messages it received (so replaying the deltas gives the view); at the end
// it must equal a fresh `query` with the same filter and fields, and the
// message stream must be well-formed throughout (no `changed` or `removed`
// for an unknown document, no `added` twice, empty after `nosub`).
#include <atomic>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "common/strings.h"
#include "gtest/gtest.h"
#include "protocol/json.h"
#include "server/server.h"
#include "tests/support/ddp_view.h"
#include "tests/support/ws_client.h"

namespace ddp::testing {
namespace {

class ConsistencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) / ("consistency_" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    ServerOptions o;
    o.net.bind = "127.0.0.1";
    o.net.port = 0;
    o.net.threads = 2;
    o.engine.store.path = dir_.string();
    server_ = std::make_unique<Server>(o);
    absl::Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }
  void TearDown() override {
    server_->Shutdown();
    server_.reset();  // closes the store before its files go
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::unique_ptr<Server> server_;

  // Random writes while readers subscribe and unsubscribe. With
  // `overlapping`, each reader holds two subscriptions to the topic at a
  // time (the newest and the one before, which it then drops), so the
  // session's merge box merges them; at the end the view must be the
  // union of both queries.
  void RandomWritesAndSubscriptions(bool overlapping);
};

void ConsistencyTest::RandomWritesAndSubscriptions(bool overlapping) {
  const char* seed_env = std::getenv("DDP_RANDOM_SEED");
  uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 10) : std::random_device{}();
  SCOPED_TRACE(StrCat("seed ", seed));
  const int kWriters = 3, kReaders = 4, kWritesEach = 250;
  const std::vector<std::string> filters = {
      R"({})",
      R"({"n":{"$gte":5}})",
      R"({"color":"red"})",
      R"({"$or":[{"color":"blue"},{"n":{"$lt":2}}]})",
      R"({"tags":"x"})",
      R"({"n":{"$exists":false}})",
  };
  const std::vector<std::string> projections = {"null", R"({"n":1})", R"({"color":0})"};
  std::atomic<int> writers_done{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937_64 rng(seed + static_cast<uint64_t>(w));
      auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
      auto c = WsClient::Open(server_->port());
      ASSERT_TRUE(c.ok());
      ASSERT_TRUE((*c)->DdpConnect().ok());
      const char* colors[] = {"red", "blue", "green"};
      for (int i = 0; i < kWritesEach; ++i) {
        std::string id = StrCat("d", pick(25));
        std::string method, params;
        switch (pick(5)) {
          case 0:
            method = "/cons/insert";
            params = StrCat(R"([{"_id":")", id, R"(","n":)", pick(10), R"(,"color":")",
                            colors[pick(3)], R"("}])");
            break;
          case 1:
            method = "/cons/update";
            params = StrCat(R"([{"_id":")", id, R"("},{"$set":{"n":)", pick(10), R"(},"$unset":{"gone":1}}])");
            break;
          case 2:
            method = "/cons/update";
            params = StrCat(R"([{"_id":")", id, R"("},{"$set":{"color":")", colors[pick(3)],
                            R"(","tags":)", pick(2) ? R"(["x","y"])" : R"(["y"])", R"(},"$unset":{"n":1}},{"upsert":true}])");
            break;
          case 3:
            method = "/cons/remove";
            params = StrCat(R"([{"_id":")", id, R"("}])");
            break;
          default:
            method = "tx";
            params = StrCat(R"([[{"op":"update","topic":"cons","selector":{"color":")", colors[pick(3)],
                            R"("},"modifier":{"$inc":{"n":1}},"multi":true},{"op":"publish","topic":"cons","doc":{"_id":")",
                            id, R"(","n":)", pick(10), R"(,"gone":true}}]])");
            break;
        }
        auto r = (*c)->Call(method, params);
        ASSERT_TRUE(r.ok()) << r.status();
        // Duplicate inserts are expected (409); nothing else may fail.
        if (const Value* e = r->Find("error")) {
          ASSERT_EQ(*e->Find("error"), Value(409)) << ToJson(*r);
        }
      }
      writers_done++;
    });
  }
  std::atomic<int> violations{0};
  for (int rd = 0; rd < kReaders; ++rd) {
    threads.emplace_back([&, rd] {
      std::mt19937_64 rng(seed * 31 + static_cast<uint64_t>(rd));
      auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
      auto c = WsClient::Open(server_->port());
      ASSERT_TRUE(c.ok());
      ASSERT_TRUE((*c)->DdpConnect().ok());
      View view;
      auto consume = [&](const Value& m) {
        std::string v = Apply(view, m);
        if (!v.empty()) {
          ADD_FAILURE() << "reader " << rd << ": " << v;
          violations++;
        }
      };
      int sub = 0;
      std::string filter, fields;
      std::string prev_sid, prev_query;  // overlapping: the older subscription
      while (true) {
        bool final_round = writers_done == kWriters;
        filter = filters[pick(filters.size())];
        fields = projections[pick(projections.size())];
        std::string sid = StrCat("s", sub++);
        std::string query = fields == "null" ? StrCat(R"({"filter":)", filter, "}")
                                             : StrCat(R"({"filter":)", filter, R"(,"fields":)", fields, "}");
        std::vector<Value> data;
        auto ready = (*c)->Subscribe(sid, "cons", StrCat("[", query, "]"), &data);
        ASSERT_TRUE(ready.ok()) << ready.status();
        ASSERT_EQ(MsgOf(*ready), "ready") << ToJson(*ready);
        for (const Value& m : data) consume(m);
        // Let changes stream in for a while.
        for (int k = 0, n = static_cast<int>(pick(30)); k < n; ++k) {
          auto m = (*c)->ReadJson(std::chrono::milliseconds(20));
          if (m.ok()) consume(*m);
        }
        if (final_round) {
          // Every delta committed before this query reaches us before its
          // result (same engine queue, same session strand). No writes
          // commit any more, so both queries see the same state, and the
          // client sees the union of their documents and fields.
          View expected;
          for (const std::string* q_text : {&query, &prev_query}) {
            if (q_text->empty()) continue;
            std::vector<Value> more;
            auto q = (*c)->Call("query", StrCat(R"(["cons",)", *q_text, "]"), &more);
            ASSERT_TRUE(q.ok());
            for (const Value& m : more) consume(m);
            for (const Value& d : q->Find("result")->as_array()) {
              Object o = d.as_object();
              std::string id = o.Find("_id")->as_string();
              o.Erase("_id");
              Object& seen = expected[id];  // a document may have no field but _id
              for (const Member& f : o) seen.Set(f.key, f.value);
            }
          }
          EXPECT_EQ(Canonical(view), Canonical(expected))
              << "reader " << rd << " query " << query << " and " << prev_query;
          break;
        }
        const std::string drop = overlapping ? prev_sid : sid;
        if (overlapping) {
          prev_sid = sid;
          prev_query = query;
        }
        if (drop.empty()) continue;  // overlapping: the first subscription stays
        ASSERT_TRUE((*c)->Send(StrCat(R"({"msg":"unsub","id":")", drop, R"("})")).ok());
        std::vector<Value> tail;
        auto nosub = (*c)->ReadUntil(
            [&](const Value& m) { return MsgOf(m) == "nosub" && *m.Find("id") == Value(drop); },
            kWait, &tail);
        ASSERT_TRUE(nosub.ok());
        for (const Value& m : tail) consume(m);
        if (!overlapping) {
          EXPECT_TRUE(view.empty()) << "reader " << rd << " still holds " << view.size()
                                    << " documents after nosub";
          view.clear();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(violations.load(), 0);
}

TEST_F(ConsistencyTest, RandomWritesAndResubscriptions) { RandomWritesAndSubscriptions(false); }

// Two subscriptions to the same topic in one session: a collection that
// one subscription alone filled (no index) gets its index when the second
// arrives, and keeps serving the first after the second goes.
TEST_F(ConsistencyTest, RandomWritesAndOverlappingSubscriptions) {
  RandomWritesAndSubscriptions(true);
}

}  // namespace
}  // namespace ddp::testing
