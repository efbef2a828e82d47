#include "common/lazy_deque.h"

#include <deque>
#include <memory>
#include <random>
#include <string>

#include "gtest/gtest.h"

namespace ddp {
namespace {

// Random pushes and pops against std::deque as the reference.
TEST(LazyDequeTest, BehavesLikeADeque) {
  std::mt19937 rng(7);
  LazyDeque<std::string> queue;
  std::deque<std::string> ref;
  for (int step = 0; step < 20000; ++step) {
    int op = std::uniform_int_distribution<int>(0, 9)(rng);
    if (op < 5) {
      std::string v = std::to_string(step);
      queue.push_back(v);
      ref.push_back(v);
    } else if (op < 9 && !ref.empty()) {
      ASSERT_EQ(queue.front(), ref.front());
      queue.pop_front();
      ref.pop_front();
    } else if (!ref.empty()) {
      ASSERT_EQ(queue.back(), ref.back());
      queue.pop_back();
      ref.pop_back();
    }
    ASSERT_EQ(queue.size(), ref.size());
    ASSERT_EQ(queue.empty(), ref.empty());
    ASSERT_TRUE(std::equal(queue.begin(), queue.end(), ref.begin(), ref.end())) << step;
  }
}

// A popped element is released at once, not when the queue drains.
TEST(LazyDequeTest, PopReleasesTheElement) {
  LazyDeque<std::shared_ptr<int>> queue;
  auto a = std::make_shared<int>(1);
  queue.push_back(a);
  queue.push_back(std::make_shared<int>(2));
  EXPECT_EQ(a.use_count(), 2);
  queue.pop_front();
  EXPECT_EQ(a.use_count(), 1);
  EXPECT_EQ(*queue.front(), 2);
  queue.clear();
  EXPECT_TRUE(queue.empty());
}

// The connection's write buffers point into queued elements: pushing more
// must not move them.
TEST(LazyDequeTest, QueuedElementsKeepTheirAddresses) {
  LazyDeque<std::string> queue;
  const std::string* first = &queue.emplace_back("first");
  for (int i = 0; i < 10000; ++i) queue.push_back(std::to_string(i));
  EXPECT_EQ(first, &queue.front());
  EXPECT_EQ(*first, "first");
}

}  // namespace
}  // namespace ddp
