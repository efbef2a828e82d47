#include "common/histogram.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace ddp {
namespace {

TEST(HistogramTest, EmptyIsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(50), 0);
  EXPECT_EQ(h.max(), 0);
}

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram h;
  for (int v = 0; v < 64; ++v) h.Add(v);
  EXPECT_EQ(h.Percentile(0), 0);
  EXPECT_EQ(h.Percentile(100), 63);
  EXPECT_EQ(h.Percentile(50), 31);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 63);
  EXPECT_DOUBLE_EQ(h.mean(), 31.5);
}

// Percentiles agree with the exact ones (sorted samples) within the
// bucket's relative width, over several orders of magnitude.
TEST(HistogramTest, PercentilesWithinBoundedError) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(10.0, 2.0);  // ~ns to ~s
  std::vector<int64_t> samples;
  Histogram h;
  for (int i = 0; i < 200000; ++i) {
    auto v = static_cast<int64_t>(dist(rng));
    samples.push_back(v);
    h.Add(v);
  }
  std::sort(samples.begin(), samples.end());
  for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    size_t k = static_cast<size_t>(p / 100.0 * static_cast<double>(samples.size() - 1));
    double exact = static_cast<double>(samples[k]);
    double got = static_cast<double>(h.Percentile(p));
    EXPECT_LE(std::abs(got - exact), exact / 32.0 + 1) << "p" << p << " exact " << exact << " got " << got;
  }
  EXPECT_EQ(h.max(), samples.back());
  EXPECT_EQ(h.min(), samples.front());
}

TEST(HistogramTest, MergeEqualsAddingAll) {
  Histogram a, b, all;
  for (int i = 0; i < 1000; ++i) {
    a.Add(i * 37);
    all.Add(i * 37);
    b.Add(i * 1001);
    all.Add(i * 1001);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  for (double p : {0.0, 25.0, 50.0, 99.0, 100.0}) EXPECT_EQ(a.Percentile(p), all.Percentile(p));
  EXPECT_EQ(a.max(), all.max());
}

TEST(HistogramTest, HugeAndNegativeValuesDoNotOverflow) {
  Histogram h;
  h.Add(-5);  // clamped to 0
  h.Add(std::numeric_limits<int64_t>::max());
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.Percentile(100), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(h.Percentile(0), 0);
}

}  // namespace
}  // namespace ddp
