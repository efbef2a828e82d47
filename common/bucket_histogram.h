// A histogram with fixed bucket bounds for metrics (GET /metrics): counts
// per "less than or equal to" bound, their sum and count, as Prometheus'
// histogram type wants them. Observe() is a few relaxed atomic adds, safe
// from any thread; a scrape reads a snapshot that may be a few
// observations apart between buckets, which Prometheus tolerates.
//
// common/histogram.h is the other kind: percentiles for load generators,
// one per thread, not thread-safe.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

namespace ddp {

class BucketHistogram {
 public:
  // `bounds`: ascending upper bounds; one more bucket (+Inf) is implied.
  explicit BucketHistogram(std::initializer_list<double> bounds)
      : bounds_(bounds), counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

  void Observe(double v) {
    size_t i =
        static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    double sum = sum_.load(std::memory_order_relaxed);
    while (!sum_.compare_exchange_weak(sum, sum + v, std::memory_order_relaxed)) {
    }
  }

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (the count)
    double sum = 0;
  };
  Snapshot Read() const {
    Snapshot s;
    s.bounds = bounds_;
    s.cumulative.reserve(bounds_.size() + 1);
    uint64_t total = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      total += counts_[i].load(std::memory_order_relaxed);
      s.cumulative.push_back(total);
    }
    s.sum = sum_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

}  // namespace ddp
