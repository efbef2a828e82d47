// A token bucket: `rate` tokens a second, at most `burst` saved up. Rate
// limits take one token per request (DDP methods and subscriptions of one
// connection). Not thread-safe; 16 bytes. Counts are floats: bursts up to
// 1e6 (the configuration's bound) are exact.
#pragma once

#include <algorithm>
#include <chrono>

#include "common/clock.h"

namespace ddp {

class TokenBucket {
 public:
  // Starts full.
  TokenBucket(double burst, SteadyTime now)
      : tokens_(static_cast<float>(burst)), last_(now) {}

  // Takes a token if one is there.
  bool TryTake(double rate, double burst, SteadyTime now) {
    Refill(rate, burst, now);
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }
  // How long until the next token (zero if there is one).
  Duration TimeToNext(double rate, SteadyTime now) const {
    const double missing = 1 - (tokens_ + Seconds(now - last_) * rate);
    if (missing <= 0 || rate <= 0) return Duration::zero();
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(missing / rate));
  }

 private:
  static double Seconds(Duration d) { return std::chrono::duration<double>(d).count(); }
  void Refill(double rate, double burst, SteadyTime now) {
    if (now <= last_) return;
    tokens_ = static_cast<float>(std::min(burst, tokens_ + Seconds(now - last_) * rate));
    last_ = now;
  }

  // The rate and burst live in the options, not in every bucket.
  float tokens_;
  SteadyTime last_;
};

}  // namespace ddp
