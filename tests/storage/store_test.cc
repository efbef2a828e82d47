#include "storage/store.h"

#include <filesystem>
#include <thread>

#include "gtest/gtest.h"
#include "protocol/json.h"

namespace ddp::storage {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("store_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
            "_" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    options_.path = dir_.string();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    store_.reset();
    auto s = Store::Open(options_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  static LogBody Body(uint64_t seq, std::string topic, std::string id, std::string json) {
    return LogBody{seq, std::move(topic), std::move(id),
                   std::make_shared<const std::string>(std::move(json))};
  }
  static Object Doc(std::string_view json) { return ParseJson(json)->as_object(); }
  static DocWrite Put(std::string topic, std::string id, std::string_view json, uint64_t version,
                      uint64_t prev = 0) {
    std::string canonical;
    AppendJsonObject(Doc(json), &canonical);
    return DocWrite{std::move(topic), std::move(id),
                    std::make_shared<const std::string>(std::move(canonical)), version, prev};
  }

  std::filesystem::path dir_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, CommitGetScanAndRecover) {
  Open();
  EXPECT_EQ(store_->last_seq(), 0u);
  CommitBatch b;
  b.writes.push_back(Put("t", "b", R"({"_id":"b","n":2})", 1));
  b.writes.push_back(Put("t", "a", R"({"_id":"a","n":1,"d":{"$date":5}})", 1));
  b.writes.push_back(Put("u", "x", R"({"_id":"x"})", 2));
  b.log = {{1, "one"}, {2, "two"}};
  b.last_seq = 2;
  b.time_millis = 1234;
  ASSERT_TRUE(store_->Commit(b).ok());
  EXPECT_EQ(store_->last_seq(), 2u);
  auto a = store_->Get("t", "a");
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ((*a)->version, 1u);
  EXPECT_EQ((*a)->written_millis, 1234);
  EXPECT_EQ(ToJson(Value((*a)->doc)), R"({"_id":"a","n":1,"d":{"$date":5}})");
  EXPECT_FALSE(store_->Get("t", "zz")->has_value());
  EXPECT_FALSE(store_->Get("tt", "a")->has_value());  // topic prefixes do not leak
  std::vector<std::string> ids;
  ASSERT_TRUE(store_->Scan("t", [&](std::string_view id, StoredDoc&&) {
                      ids.emplace_back(id);
                      return true;
                    }).ok());
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(store_->Count("t"), 2);
  EXPECT_EQ(store_->Count("u"), 1);
  // Everything survives a reopen.
  Open();
  EXPECT_EQ(store_->last_seq(), 2u);
  EXPECT_EQ(store_->Count("t"), 2);
  EXPECT_TRUE(store_->Get("u", "x")->has_value());
  std::vector<std::pair<uint64_t, std::string>> log;
  ASSERT_TRUE(store_->ReadLog(0, [&](uint64_t seq, std::string_view r) {
                      log.emplace_back(seq, std::string(r));
                      return true;
                    }).ok());
  EXPECT_EQ(log, (std::vector<std::pair<uint64_t, std::string>>{{1, "one"}, {2, "two"}}));
}

TEST_F(StoreTest, GetManyReadsSeveralDocumentsInOneCall) {
  Open();
  CommitBatch b;
  b.writes.push_back(Put("t", "a", R"({"_id":"a","n":1})", 1));
  b.writes.push_back(Put("t", "b", R"({"_id":"b","n":2})", 1));
  b.writes.push_back(Put("u", "a", R"({"_id":"a","n":3})", 1));
  b.log = {{1, "one"}};
  b.last_seq = 1;
  ASSERT_TRUE(store_->Commit(b).ok());
  std::vector<std::pair<std::string_view, std::string_view>> keys = {
      {"t", "b"}, {"t", "zz"}, {"u", "a"}, {"tt", "a"}, {"t", "a"}, {"t", "b"}};
  auto got = store_->GetMany(keys);
  ASSERT_EQ(got.size(), keys.size());
  std::vector<std::string> seen;
  for (auto& r : got) {
    ASSERT_TRUE(r.ok()) << r.status();
    seen.push_back(r->has_value() ? ToJson(Value((*r)->doc)) : "absent");
  }
  EXPECT_EQ(seen, (std::vector<std::string>{R"({"_id":"b","n":2})", "absent", R"({"_id":"a","n":3})",
                                            "absent", R"({"_id":"a","n":1})",
                                            R"({"_id":"b","n":2})"}));
  EXPECT_EQ((*got[0])->version, 1u);
  EXPECT_TRUE(store_->GetMany({}).empty());
}

TEST_F(StoreTest, UpdatesDeletesCountsAndOldestOrder) {
  Open();
  CommitBatch b1;
  b1.writes = {Put("t", "a", R"({"_id":"a"})", 1), Put("t", "b", R"({"_id":"b"})", 1),
               Put("t", "c", R"({"_id":"c"})", 1)};
  b1.log = {{1, "r1"}};
  b1.last_seq = 1;
  ASSERT_TRUE(store_->Commit(b1).ok());
  CommitBatch b2;
  b2.writes = {Put("t", "a", R"({"_id":"a","v":2})", 2, 1), DocWrite{"t", "b", nullptr, 2, 1}};
  b2.log = {{2, "r2"}};
  b2.last_seq = 2;
  ASSERT_TRUE(store_->Commit(b2).ok());
  EXPECT_EQ(store_->Count("t"), 2);
  EXPECT_FALSE(store_->Get("t", "b")->has_value());
  EXPECT_EQ((*store_->Get("t", "a"))->version, 2u);
  std::vector<std::pair<std::string, uint64_t>> oldest;
  ASSERT_TRUE(store_->ScanOldest("t", [&](std::string_view id, uint64_t v) {
                      oldest.emplace_back(std::string(id), v);
                      return true;
                    }).ok());
  EXPECT_EQ(oldest, (std::vector<std::pair<std::string, uint64_t>>{{"c", 1}, {"a", 2}}));
  auto topics = store_->Topics();
  ASSERT_EQ(topics.size(), 1u);
  EXPECT_EQ(topics[0], (std::pair<std::string, int64_t>{"t", 2}));
}

// The oldest-first index is kept only for topics StoreOptions::index_by_seq
// names (those with a retention rule). A topic that gains a rule between
// runs is indexed from its documents when the store opens; one that loses
// it drops its index, and indexing it again later rebuilds from the
// documents as they are then, not from what was left behind.
TEST_F(StoreTest, OldestFirstIndexFollowsTheIndexedTopics) {
  auto only = [](std::string prefix) {
    return [prefix](std::string_view topic) { return topic.substr(0, prefix.size()) == prefix; };
  };
  auto oldest = [&](std::string_view topic) {
    std::vector<std::pair<std::string, uint64_t>> out;
    EXPECT_TRUE(store_->ScanOldest(topic, [&](std::string_view id, uint64_t v) {
                        out.emplace_back(std::string(id), v);
                        return true;
                      }).ok());
    return out;
  };
  using Order = std::vector<std::pair<std::string, uint64_t>>;
  options_.index_by_seq = only("r.");
  Open();
  CommitBatch b1;
  b1.writes = {Put("r.a", "x", R"({"_id":"x"})", 1), Put("r.a", "y", R"({"_id":"y"})", 1),
               Put("plain", "p", R"({"_id":"p"})", 1), Put("plain", "q", R"({"_id":"q"})", 1)};
  b1.log = {{1, "r1"}};
  b1.last_seq = 1;
  ASSERT_TRUE(store_->Commit(b1).ok());
  CommitBatch b2;
  b2.writes = {Put("r.a", "x", R"({"_id":"x","v":2})", 2, 1),
               Put("plain", "p", R"({"_id":"p","v":2})", 2, 1)};
  b2.log = {{2, "r2"}};
  b2.last_seq = 2;
  ASSERT_TRUE(store_->Commit(b2).ok());
  EXPECT_EQ(oldest("r.a"), (Order{{"y", 1}, {"x", 2}}));
  EXPECT_TRUE(oldest("plain").empty());

  // "plain" gains a rule: built from its documents at open.
  options_.index_by_seq = nullptr;  // every topic
  Open();
  EXPECT_EQ(oldest("plain"), (Order{{"q", 1}, {"p", 2}}));
  EXPECT_EQ(oldest("r.a"), (Order{{"y", 1}, {"x", 2}}));

  // "r.a" loses its rule, changes while it has none, then gets it back.
  options_.index_by_seq = only("plain");
  Open();
  EXPECT_TRUE(oldest("r.a").empty());
  CommitBatch b3;
  b3.writes = {Put("r.a", "y", R"({"_id":"y","v":3})", 3, 1), DocWrite{"r.a", "x", nullptr, 3, 2},
               Put("r.a", "z", R"({"_id":"z"})", 3)};
  b3.log = {{3, "r3"}};
  b3.last_seq = 3;
  ASSERT_TRUE(store_->Commit(b3).ok());
  EXPECT_TRUE(oldest("r.a").empty());
  EXPECT_EQ(oldest("plain"), (Order{{"q", 1}, {"p", 2}}));
  options_.index_by_seq = only("r.");
  Open();
  EXPECT_EQ(oldest("r.a"), (Order{{"y", 3}, {"z", 3}}));
  EXPECT_TRUE(oldest("plain").empty());
  // And the index is maintained from here on.
  CommitBatch b4;
  b4.writes = {Put("r.a", "y", R"({"_id":"y","v":4})", 4, 3)};
  b4.log = {{4, "r4"}};
  b4.last_seq = 4;
  ASSERT_TRUE(store_->Commit(b4).ok());
  EXPECT_EQ(oldest("r.a"), (Order{{"z", 3}, {"y", 4}}));
  Open();  // same rules: nothing rebuilt or lost
  EXPECT_EQ(oldest("r.a"), (Order{{"z", 3}, {"y", 4}}));
  EXPECT_EQ(store_->Count("r.a"), 2);
}

TEST_F(StoreTest, SnapshotsSeeAConsistentPast) {
  Open();
  CommitBatch b1;
  b1.writes = {Put("t", "a", R"({"_id":"a","v":1})", 1)};
  b1.log = {{1, "r1"}};
  b1.last_seq = 1;
  ASSERT_TRUE(store_->Commit(b1).ok());
  auto snap = store_->GetSnapshot();
  EXPECT_EQ(snap->seq(), 1u);
  CommitBatch b2;
  b2.writes = {Put("t", "a", R"({"_id":"a","v":2})", 2, 1), Put("t", "b", R"({"_id":"b"})", 2)};
  b2.log = {{2, "r2"}};
  b2.last_seq = 2;
  ASSERT_TRUE(store_->Commit(b2).ok());
  EXPECT_EQ(ToJson(Value((*store_->Get("t", "a", snap.get()))->doc)), R"({"_id":"a","v":1})");
  int n = 0;
  ASSERT_TRUE(store_->Scan("t", [&](std::string_view, StoredDoc&&) { return ++n, true; }, snap.get()).ok());
  EXPECT_EQ(n, 1);
  EXPECT_EQ(store_->GetSnapshot()->seq(), 2u);
}

TEST_F(StoreTest, LogTrimAndIdempotencyExpiry) {
  Open();
  for (uint64_t s = 1; s <= 5; ++s) {
    CommitBatch b;
    b.log = {{s, "r" + std::to_string(s)}};
    b.last_seq = s;
    if (s == 3) {
      b.idempotency = {{"key-3", R"({"seq":3})"}};
      b.idempotency_expires_millis = 1000;
    }
    ASSERT_TRUE(store_->Commit(b).ok());
  }
  EXPECT_EQ(store_->first_log_seq(), 1u);
  ASSERT_TRUE(store_->TrimLog(4).ok());
  EXPECT_EQ(store_->first_log_seq(), 4u);
  std::vector<uint64_t> seqs;
  ASSERT_TRUE(store_->ReadLog(0, [&](uint64_t s, std::string_view) { return seqs.push_back(s), true; }).ok());
  EXPECT_EQ(seqs, (std::vector<uint64_t>{4, 5}));
  EXPECT_EQ(**store_->GetIdempotent("key-3", 999), R"({"seq":3})");
  EXPECT_FALSE(store_->GetIdempotent("key-3", 1001)->has_value());
  EXPECT_FALSE(store_->GetIdempotent("other", 0)->has_value());
  EXPECT_EQ(*store_->PurgeIdempotent(2000), 1u);
  EXPECT_FALSE(store_->GetIdempotent("key-3", 0)->has_value());
}

TEST_F(StoreTest, LogBodiesSitBesideTheirRecordsAndGoWithThem) {
  Open();
  for (uint64_t s = 1; s <= 5; ++s) {
    CommitBatch b;
    b.log = {{s, "r" + std::to_string(s)}};
    b.last_seq = s;
    // The body of what record s-1 wrote, saved by record s's commit.
    if (s >= 2) b.log_bodies.push_back(Body(s - 1, "t", "x", "body" + std::to_string(s - 1)));
    if (s == 5) b.log_bodies.push_back(Body(1, "t.long", "y", "late body of 1"));
    ASSERT_TRUE(store_->Commit(b).ok());
  }
  std::vector<std::pair<uint64_t, std::string>> records;
  ASSERT_TRUE(store_->ReadLog(0, [&](uint64_t s, std::string_view r) {
                      records.emplace_back(s, std::string(r));
                      return true;
                    }).ok());
  EXPECT_EQ(records, (std::vector<std::pair<uint64_t, std::string>>{
                         {1, "r1"}, {2, "r2"}, {3, "r3"}, {4, "r4"}, {5, "r5"}}));
  EXPECT_EQ(**store_->GetLogBody(3, "t", "x"), "body3");
  EXPECT_EQ(**store_->GetLogBody(1, "t.long", "y"), "late body of 1");
  EXPECT_FALSE(store_->GetLogBody(5, "t", "x")->has_value());
  EXPECT_FALSE(store_->GetLogBody(3, "t", "xx")->has_value());
  EXPECT_FALSE(store_->GetLogBody(3, "", "t")->has_value());
  // Trimming drops the bodies of the trimmed records and nothing else.
  ASSERT_TRUE(store_->TrimLog(3).ok());
  EXPECT_EQ(store_->first_log_seq(), 3u);
  EXPECT_FALSE(store_->GetLogBody(1, "t.long", "y")->has_value());
  EXPECT_FALSE(store_->GetLogBody(2, "t", "x")->has_value());
  EXPECT_EQ(**store_->GetLogBody(3, "t", "x"), "body3");
  records.clear();
  ASSERT_TRUE(store_->ReadLog(3, [&](uint64_t s, std::string_view r) {
                      records.emplace_back(s, std::string(r));
                      return true;
                    }).ok());
  EXPECT_EQ(records, (std::vector<std::pair<uint64_t, std::string>>{{4, "r4"}, {5, "r5"}}));
  // A body whose record is gone does not pass for the first record.
  CommitBatch orphan;
  orphan.log_bodies.push_back(Body(1, "t", "z", "orphan"));
  orphan.log = {{6, "r6"}};
  orphan.last_seq = 6;
  ASSERT_TRUE(store_->Commit(orphan).ok());
  EXPECT_EQ(store_->first_log_seq(), 3u);
}

TEST_F(StoreTest, EveryDurabilityModeCommitsAndRecovers) {
  for (Durability d : {Durability::kSync, Durability::kBatch, Durability::kNone}) {
    options_.durability = d;
    std::filesystem::remove_all(dir_);
    Open();
    for (uint64_t s = 1; s <= 20; ++s) {
      CommitBatch b;
      b.writes = {Put("t", std::to_string(s), R"({"x":1})", s)};
      b.log = {{s, "r"}};
      b.last_seq = s;
      ASSERT_TRUE(store_->Commit(b).ok());
    }
    Open();
    EXPECT_EQ(store_->last_seq(), 20u);
    EXPECT_EQ(store_->Count("t"), 20);
  }
}

TEST_F(StoreTest, AFullDiskIsAClearErrorNotACrash) {
  options_.faults = std::make_shared<FaultInjection>();
  options_.write_retry_interval = std::chrono::milliseconds(10);
  Open();
  CommitBatch ok;
  ok.writes = {Put("t", "a", R"({"_id":"a"})", 1)};
  ok.log = {{1, "r1"}};
  ok.last_seq = 1;
  ASSERT_TRUE(store_->Commit(ok).ok());
  options_.faults->fail_writes = true;
  CommitBatch fails;
  fails.writes = {Put("t", "b", R"({"_id":"b"})", 2)};
  fails.log = {{2, "r2"}};
  fails.last_seq = 2;
  absl::Status s = store_->Commit(fails);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_NE(s.message().find("storage unavailable"), std::string::npos) << s;
  EXPECT_EQ(store_->last_seq(), 1u);
  // Reads keep working, and the failed write is not visible.
  EXPECT_FALSE(store_->Get("t", "b")->has_value());
  EXPECT_TRUE(store_->Get("t", "a")->has_value());
  // Once the disk has room, later commits either succeed (RocksDB's own
  // recovery or DB::Resume cleared the error) or keep failing with an
  // answer that says a restart is needed (an error RocksDB counts as
  // fatal); never a crash, never an unclear answer. (ddpd's free-space
  // reserve keeps a real disk from getting here:
  // ReserveRefusesWritesBeforeTheDiskIsFull.)
  options_.faults->fail_writes = false;
  bool resumed = false, restart = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!resumed && !restart && std::chrono::steady_clock::now() < deadline) {
    absl::Status again = store_->Commit(fails);
    resumed = again.ok();
    if (resumed) break;
    EXPECT_EQ(again.code(), absl::StatusCode::kUnavailable) << again;
    EXPECT_NE(again.message().find("storage unavailable"), std::string::npos) << again;
    restart = again.message().find("restart ddpd") != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // a client's backoff
  }
  ASSERT_TRUE(resumed || restart) << "neither resumed nor asked for a restart in 30 s";
  EXPECT_TRUE(store_->Get("t", "a")->has_value());
  // After a restart the store is whole: the write is there once if it was
  // acknowledged, not at all if it was not.
  Open();
  EXPECT_EQ(store_->last_seq(), resumed ? 2u : 1u);
  EXPECT_TRUE(store_->Get("t", "a")->has_value());
  EXPECT_EQ(store_->Get("t", "b")->has_value(), resumed);
  if (restart) ASSERT_TRUE(store_->Commit(fails).ok());
}

TEST_F(StoreTest, ReserveRefusesWritesBeforeTheDiskIsFull) {
  Open();
  CommitBatch ok;
  ok.writes = {Put("t", "a", R"({"_id":"a"})", 1)};
  ok.log = {{1, "r1"}};
  ok.last_seq = 1;
  ASSERT_TRUE(store_->Commit(ok).ok());
  // A reserve larger than any disk: every commit is refused, clearly.
  options_.min_free_bytes = uint64_t{1} << 62;
  Open();
  CommitBatch next;
  next.writes = {Put("t", "b", R"({"_id":"b"})", 2)};
  next.log = {{2, "r2"}};
  next.last_seq = 2;
  absl::Status s = store_->Commit(next);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_NE(s.message().find("almost full"), std::string::npos) << s;
  EXPECT_NE(s.message().find("resume by themselves"), std::string::npos) << s;
  EXPECT_EQ(store_->last_seq(), 1u);
  EXPECT_TRUE(store_->Get("t", "a")->has_value());  // reads go on
  // With no reserve the same store writes.
  options_.min_free_bytes = 0;
  Open();
  ASSERT_TRUE(store_->Commit(next).ok());
}

TEST_F(StoreTest, ALockedDirectoryIsAClearError) {
  Open();
  auto second = Store::Open(options_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("in use by another process"), std::string::npos)
      << second.status();
}

// A damaged write-ahead log (not just a torn last record, which a crash can
// leave) must be reported, not silently cut short.
TEST_F(StoreTest, CorruptionIsReportedAsDataLoss) {
  Open();
  for (uint64_t s = 1; s <= 200; ++s) {
    CommitBatch b;
    b.writes = {Put("t", std::to_string(s), R"({"payload":"0123456789012345678901234567890123456789"})", s)};
    b.log = {{s, "record"}};
    b.last_seq = s;
    ASSERT_TRUE(store_->Commit(b).ok());
  }
  store_.reset();
  bool damaged = false;
  for (auto& entry : std::filesystem::directory_iterator(dir_)) {
    std::string name = entry.path().filename().string();
    if (name.size() < 4 || name.substr(name.size() - 4) != ".log") continue;
    auto size = std::filesystem::file_size(entry.path());
    if (size < 4096) continue;
    FILE* f = std::fopen(entry.path().c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fseek(f, static_cast<long>(size / 4), SEEK_SET);
    std::string junk(64, '\xA5');
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
    damaged = true;
  }
  ASSERT_TRUE(damaged);
  auto reopened = Store::Open(options_);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kDataLoss) << reopened.status();
}

}  // namespace
}  // namespace ddp::storage
