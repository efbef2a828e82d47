#include "common/fifo.h"

#include <deque>
#include <memory>
#include <random>
#include <string>

#include "gtest/gtest.h"

namespace ddp {
namespace {

// Random pushes and pops against std::deque as the reference.
TEST(FifoTest, BehavesLikeADeque) {
  std::mt19937 rng(7);
  Fifo<std::string> fifo;
  std::deque<std::string> ref;
  for (int step = 0; step < 20000; ++step) {
    int op = std::uniform_int_distribution<int>(0, 9)(rng);
    if (op < 5) {
      std::string v = std::to_string(step);
      fifo.push_back(v);
      ref.push_back(v);
    } else if (op < 9 && !ref.empty()) {
      ASSERT_EQ(fifo.front(), ref.front());
      fifo.pop_front();
      ref.pop_front();
    } else if (!ref.empty()) {
      ASSERT_EQ(fifo.back(), ref.back());
      fifo.pop_back();
      ref.pop_back();
    }
    ASSERT_EQ(fifo.size(), ref.size());
    ASSERT_EQ(fifo.empty(), ref.empty());
    ASSERT_TRUE(std::equal(fifo.begin(), fifo.end(), ref.begin(), ref.end())) << step;
  }
}

// A popped element is released at once, not when the queue drains.
TEST(FifoTest, PopReleasesTheElement) {
  Fifo<std::shared_ptr<int>> fifo;
  auto a = std::make_shared<int>(1);
  fifo.push_back(a);
  fifo.push_back(std::make_shared<int>(2));
  EXPECT_EQ(a.use_count(), 2);
  fifo.pop_front();
  EXPECT_EQ(a.use_count(), 1);
  EXPECT_EQ(*fifo.front(), 2);
  fifo.clear();
  EXPECT_TRUE(fifo.empty());
}

}  // namespace
}  // namespace ddp
