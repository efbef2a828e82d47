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
