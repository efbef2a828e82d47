#include "common/incremental_map.h"

#include <map>
#include <memory>
#include <random>
#include <string>

#include "gtest/gtest.h"

namespace ddp {
namespace {

std::string Key(uint64_t n) {
  std::string k = "k";
  k += std::to_string(n);
  return k;
}

// Random inserts, erases and lookups against std::map, through several
// moves to a larger table and back to a smaller one: every entry is found
// exactly once, in one of the two tables, whatever the move's progress.
TEST(IncrementalStringMapTest, MatchesAMapThroughGrowthAndShrinking) {
  std::mt19937_64 rng(7);
  IncrementalStringMap<std::unique_ptr<int>> map;  // move-only values move too
  std::map<std::string, int> model;
  int moves_seen = 0;
  bool was_moving = false;
  auto check_all = [&] {
    ASSERT_EQ(map.size(), model.size());
    size_t visited = 0;
    map.ForEach([&](const std::string& k, const std::unique_ptr<int>& v) {
      auto it = model.find(k);
      ASSERT_NE(it, model.end()) << k;
      EXPECT_EQ(*v, it->second) << k;
      ++visited;
    });
    EXPECT_EQ(visited, model.size());
  };
  // Grow to 60k entries, then erase most of them while inserting a few.
  for (int phase = 0; phase < 2; ++phase) {
    for (int i = 0; i < 60000; ++i) {
      const bool grow = phase == 0;
      const uint64_t r = rng();
      std::string key = Key(r % 100000);
      if (grow ? r % 10 < 8 : r % 10 < 2) {
        int value = static_cast<int>(r % 1000);
        auto [v, inserted] = map.Emplace(key, std::make_unique<int>(value));
        auto [it, model_inserted] = model.emplace(key, value);
        ASSERT_EQ(inserted, model_inserted) << key;
        ASSERT_EQ(**v, it->second) << key;
      } else {
        ASSERT_EQ(map.Erase(key), model.erase(key) > 0) << key;
      }
      std::string probe = Key(rng() % 100000);
      const std::unique_ptr<int>* found = map.Find(probe);
      auto it = model.find(probe);
      ASSERT_EQ(found != nullptr, it != model.end()) << probe;
      if (found != nullptr) {
        ASSERT_EQ(**found, it->second);
      }
      ASSERT_EQ(map.Contains(probe), it != model.end());
      if (map.moving() && !was_moving) ++moves_seen;
      was_moving = map.moving();
      if (map.moving() && i % 997 == 0) check_all();  // in the middle of a move
    }
    check_all();
  }
  // 60k entries start several moves (each at a capacity of 4k slots or more).
  EXPECT_GE(moves_seen, 3);
  // Emptied, then used again.
  for (const auto& [k, v] : std::map<std::string, int>(model)) {
    ASSERT_TRUE(map.Erase(k));
    model.erase(k);
  }
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.Find("k1"), nullptr);
  EXPECT_TRUE(map.Emplace("k1", std::make_unique<int>(1)).second);
  EXPECT_FALSE(map.Emplace("k1", std::make_unique<int>(2)).second);
  EXPECT_EQ(**map.Find("k1"), 1);
}

// Erasing the entry that is to move next (the old table's first entry in
// iteration order, which ForEach visits first) must not derail the move.
TEST(IncrementalStringMapTest, ErasingTheNextEntryToMoveKeepsTheMoveGoing) {
  IncrementalStringMap<std::string> map;
  std::map<std::string, std::string> model;
  uint64_t n = 0;
  while (!map.moving()) {
    std::string k = Key(n++);
    map.Emplace(k, k);
    model.emplace(k, k);
  }
  for (int round = 0; round < 200 && map.moving(); ++round) {
    std::string first;
    map.ForEach([&](const std::string& k, const std::string&) {
      if (first.empty()) first = k;
    });
    ASSERT_TRUE(map.Erase(first));
    model.erase(first);
    std::string k = Key(n++);
    map.Emplace(k, k);
    model.emplace(k, k);
  }
  ASSERT_EQ(map.size(), model.size());
  for (const auto& [k, v] : model) {
    const std::string* found = map.Find(k);
    ASSERT_NE(found, nullptr) << k;
    EXPECT_EQ(*found, v);
  }
}

}  // namespace
}  // namespace ddp
