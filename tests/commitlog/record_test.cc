// The record a commit group becomes in a shared log: what a node encodes,
// every other node decodes to the same batch; a damaged record is an error.
#include "commitlog/record.h"

#include <random>

#include "gtest/gtest.h"

namespace ddp::commitlog {
namespace {

storage::CommitBatch Sample() {
  storage::CommitBatch b;
  b.last_seq = 301;
  b.time_millis = 1764750000123;
  b.idempotency_expires_millis = 1764836400123;
  storage::DocWrite w1;
  w1.topic = "chat.room1";
  w1.id = "m1";
  w1.json = std::make_shared<const std::string>(R"({"_id":"m1","text":"hi \u00e9"})");
  w1.version = 300;
  storage::DocWrite w2 = w1;
  w2.version = 301;
  w2.prev_version = 300;
  w2.json = nullptr;  // removed by the next transaction
  storage::DocWrite w3;
  w3.topic = "t";
  w3.id = std::string("bin\0id", 6);
  w3.json = std::make_shared<const std::string>(std::string(300, 'x'));
  w3.version = 301;
  w3.prev_version = 1ull << 40;
  b.writes = {w1, w2, w3};
  b.log = {{300, R"({"seq":300})"}, {301, R"({"seq":301})"}};
  b.idempotency = {{"key-1", R"({"seq":301,"results":[1]})"}};
  return b;
}

TEST(RecordTest, DecodesToWhatWasEncoded) {
  storage::CommitBatch b = Sample();
  absl::StatusOr<storage::CommitBatch> d = DecodeGroup(EncodeGroup(b));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->last_seq, b.last_seq);
  EXPECT_EQ(d->time_millis, b.time_millis);
  EXPECT_EQ(d->idempotency_expires_millis, b.idempotency_expires_millis);
  ASSERT_EQ(d->writes.size(), b.writes.size());
  for (size_t i = 0; i < b.writes.size(); ++i) {
    EXPECT_EQ(d->writes[i].topic, b.writes[i].topic);
    EXPECT_EQ(d->writes[i].id, b.writes[i].id);
    EXPECT_EQ(d->writes[i].version, b.writes[i].version);
    EXPECT_EQ(d->writes[i].prev_version, b.writes[i].prev_version);
    ASSERT_EQ(d->writes[i].json == nullptr, b.writes[i].json == nullptr);
    if (b.writes[i].json) {
      EXPECT_EQ(*d->writes[i].json, *b.writes[i].json);
    }
  }
  EXPECT_EQ(d->log, b.log);
  EXPECT_EQ(d->idempotency, b.idempotency);
  EXPECT_EQ(d->log_position, 0u);  // set by the log that read it
}

TEST(RecordTest, AnEmptyGroupWithOnlyKeysRoundTrips) {
  storage::CommitBatch b;
  b.last_seq = 7;
  b.idempotency = {{"k", "{}"}};
  auto d = DecodeGroup(EncodeGroup(b));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->writes.empty());
  EXPECT_EQ(d->idempotency, b.idempotency);
}

TEST(RecordTest, EveryTruncationAndCorruptionIsAnErrorNotACrash) {
  std::string good = EncodeGroup(Sample());
  for (size_t n = 0; n < good.size(); ++n) {
    auto d = DecodeGroup(std::string_view(good).substr(0, n));
    EXPECT_FALSE(d.ok()) << "a record cut at " << n << " bytes decoded";
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss);
    }
  }
  EXPECT_FALSE(DecodeGroup(good + "x").ok());
  std::string other_version = good;
  other_version[1] = 2;
  auto v = DecodeGroup(other_version);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("version 2"), std::string::npos) << v.status();
  // Random damage: decodes or fails, never reads out of bounds (ASan).
  std::mt19937 rng(42);
  for (int i = 0; i < 20000; ++i) {
    std::string bad = good;
    int flips = 1 + rng() % 4;
    for (int f = 0; f < flips; ++f) bad[rng() % bad.size()] = static_cast<char>(rng());
    (void)DecodeGroup(bad);
  }
}

TEST(RecordTest, SeqsMustBeContiguousAndEndAtTheLastSeq) {
  storage::CommitBatch b = Sample();
  b.log = {{300, "a"}, {302, "b"}};
  b.last_seq = 302;
  EXPECT_FALSE(DecodeGroup(EncodeGroup(b)).ok());
  b = Sample();
  b.last_seq = 999;
  EXPECT_FALSE(DecodeGroup(EncodeGroup(b)).ok());
}

}  // namespace
}  // namespace ddp::commitlog
