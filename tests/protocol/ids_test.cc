#include "protocol/ids.h"

#include <thread>

#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"

namespace ddp {
namespace {

TEST(IdsTest, RandomIdHasMeteorShape) {
  const std::string alphabet = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";
  absl::flat_hash_set<std::string> seen;
  absl::flat_hash_set<char> chars;
  for (int i = 0; i < 20000; ++i) {
    std::string id = RandomId();
    ASSERT_EQ(id.size(), 17u);
    for (char c : id) {
      ASSERT_NE(alphabet.find(c), std::string::npos) << id;
      chars.insert(c);
    }
    EXPECT_TRUE(seen.insert(id).second);
  }
  EXPECT_EQ(chars.size(), alphabet.size());  // every character shows up
}

TEST(IdsTest, EventIdsSortByTimeAndAreStrictlyIncreasing) {
  EventIdGenerator gen;
  std::string prev = gen.NextAt(1000);
  EXPECT_EQ(prev.size(), 26u);
  for (int i = 0; i < 1000; ++i) {
    std::string next = gen.NextAt(1000);  // same millisecond
    EXPECT_LT(prev, next);
    prev = next;
  }
  std::string later = gen.NextAt(1001);
  EXPECT_LT(prev, later);
  std::string back_in_time = gen.NextAt(5);  // clock went back: still increasing
  EXPECT_LT(later, back_in_time);
  // The time prefix sorts by time across generators (another process).
  EventIdGenerator other;
  EXPECT_LT(gen.NextAt(2000).substr(0, 10), other.NextAt(3000).substr(0, 10));
  EXPECT_LT(other.NextAt(3000), gen.NextAt(4000));
}

// Within one millisecond the random part grows by a random step of 1 to
// 2^32: the next id cannot be told from the last (inserts trust a
// generated id to be new, so nobody may plant a document under it).
TEST(IdsTest, EventIdsWithinAMillisecondStepByRandomAmounts) {
  const std::string crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  // The 80 random bits (the last 16 characters).
  auto random_part = [&](const std::string& id) {
    unsigned __int128 v = 0;
    for (size_t i = 10; i < 26; ++i) v = (v << 5) | crockford.find(id[i]);
    return v;
  };
  EventIdGenerator gen;
  unsigned __int128 prev = random_part(gen.NextAt(1000));
  int steps_of_one = 0;
  for (int i = 0; i < 1000; ++i) {
    unsigned __int128 next = random_part(gen.NextAt(1000));
    ASSERT_GT(next, prev);
    ASSERT_LE(next - prev, static_cast<unsigned __int128>(1) << 32);
    if (next - prev == 1) ++steps_of_one;
    prev = next;
  }
  EXPECT_LT(steps_of_one, 5);
}

TEST(IdsTest, EventIdsAreUniqueAcrossThreads) {
  EventIdGenerator gen;
  std::vector<std::vector<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& out : per_thread) {
    threads.emplace_back([&gen, &out] {
      for (int i = 0; i < 5000; ++i) out.push_back(gen.Next());
    });
  }
  for (auto& t : threads) t.join();
  absl::flat_hash_set<std::string> all;
  for (auto& out : per_thread) {
    for (size_t i = 1; i < out.size(); ++i) EXPECT_LT(out[i - 1], out[i]);
    for (auto& id : out) EXPECT_TRUE(all.insert(id).second);
  }
}

}  // namespace
}  // namespace ddp
