#include "common/bucket_histogram.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ddp {
namespace {

TEST(BucketHistogramTest, CountsAtOrBelowEachBoundCumulatively) {
  BucketHistogram h{1, 2, 4};
  for (double v : {0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 100.0}) h.Observe(v);
  BucketHistogram::Snapshot s = h.Read();
  EXPECT_EQ(s.bounds, (std::vector<double>{1, 2, 4}));
  // le=1: 0.5, 1; le=2: + 1.5, 2; le=4: + 3, 4; +Inf: + 5, 100.
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{2, 4, 6, 8}));
  EXPECT_DOUBLE_EQ(s.sum, 0.5 + 1 + 1.5 + 2 + 3 + 4 + 5 + 100);
}

TEST(BucketHistogramTest, EmptyReadsZeros) {
  BucketHistogram h{0.1, 1};
  BucketHistogram::Snapshot s = h.Read();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{0, 0, 0}));
  EXPECT_EQ(s.sum, 0);
}

TEST(BucketHistogramTest, ObservationsFromManyThreadsAreAllCounted) {
  BucketHistogram h{10, 100};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h] {
      for (int i = 0; i < 10000; ++i) h.Observe(i % 200);
    });
  }
  for (auto& t : threads) t.join();
  BucketHistogram::Snapshot s = h.Read();
  EXPECT_EQ(s.cumulative.back(), 40000u);
  // 0..10 of every 200 values (11 of them) fall at or below 10.
  EXPECT_EQ(s.cumulative[0], 4u * 50 * 11);
  EXPECT_DOUBLE_EQ(s.sum, 4.0 * 50 * (199.0 * 200 / 2));
}

}  // namespace
}  // namespace ddp
