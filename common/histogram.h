// A latency histogram with fixed memory and bounded relative error, for
// load generators (ddpctl bench, bench/). Values are non-negative integers
// (nanoseconds, usually). Buckets are log-linear, as in HdrHistogram: exact
// below 64, then 32 buckets per power of two, so a reported percentile is
// within 1/32 (~3%) of the true value. Add() is O(1) and allocation free.
//
// Not thread-safe: keep one per thread and Merge().
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <limits>

namespace ddp {

class Histogram {
 public:
  void Add(int64_t v) {
    if (v < 0) v = 0;
    ++counts_[Bucket(static_cast<uint64_t>(v))];
    ++count_;
    sum_ += static_cast<double>(v);
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
  }

  void Merge(const Histogram& o) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    min_ = std::min(min_, o.min_);
    max_ = std::max(max_, o.max_);
  }

  // The value at percentile p (0..100): the middle of its bucket, clamped
  // to the observed min and max (exact at 0 and 100). 0 when empty.
  int64_t Percentile(double p) const {
    if (count_ == 0) return 0;
    p = std::clamp(p, 0.0, 100.0);
    uint64_t rank = static_cast<uint64_t>(p / 100.0 * static_cast<double>(count_ - 1)) + 1;
    if (rank >= count_) return max_;  // the extremes are known exactly
    if (rank == 1) return min_;
    uint64_t seen = 0;
    for (size_t b = 0; b < kBuckets; ++b) {
      seen += counts_[b];
      if (seen >= rank) {
        uint64_t lo = Lower(b), hi = Lower(b + 1);
        auto mid = static_cast<int64_t>(lo + (hi - lo) / 2);
        return std::clamp(mid, min_, max_);
      }
    }
    return max_;
  }

  uint64_t count() const { return count_; }
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return count_ ? max_ : 0; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0; }

 private:
  static constexpr int kSubBits = 6;  // 64 exact values, then 32 per octave
  static constexpr size_t kBuckets = (64 - kSubBits + 1) * 32 + 64;

  static size_t Bucket(uint64_t v) {
    if (v < (1u << kSubBits)) return static_cast<size_t>(v);
    int e = std::bit_width(v) - kSubBits;
    return static_cast<size_t>(e) * 32 + static_cast<size_t>(v >> e);
  }
  static uint64_t Lower(size_t b) {
    if (b < (1u << kSubBits)) return b;
    size_t e = b / 32 - 1;
    uint64_t sub = b - e * 32;
    if (e >= 64 - kSubBits + 1) return std::numeric_limits<uint64_t>::max();
    return sub << e;
  }

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  double sum_ = 0;
  int64_t min_ = std::numeric_limits<int64_t>::max();
  int64_t max_ = 0;
};

}  // namespace ddp
