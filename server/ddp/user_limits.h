// Rate limits per user, across all of the user's connections to this node
// (SessionOptions::user_*): one user with many tabs, or one stolen token
// used from many sockets, gets one budget. Token buckets by user id, in
// shards so that sessions on different threads rarely share a lock.
//
// A user's buckets are forgotten once idle long enough to have refilled, so
// the table holds only recently active users. Thread-safe.
#pragma once

#include <array>
#include <mutex>
#include <optional>
#include <string_view>

#include "common/clock.h"
#include "common/string_map.h"
#include "common/token_bucket.h"

namespace ddp {

class UserRateLimits {
 public:
  struct Rate {
    double rate = 0;  // a second; zero: no limit
    double burst = 1;
  };
  enum class Kind { kMethod, kSub };

  UserRateLimits(Rate methods, Rate subs) : rates_{methods, subs} {}

  // Zero when `user` may go ahead (a token is taken), else how long until
  // its next token.
  Duration Take(std::string_view user, Kind kind, SteadyTime now);

  size_t size() const;  // users tracked now

 private:
  struct Buckets {
    std::optional<TokenBucket> of[2];
    SteadyTime last_used{};
  };
  struct Shard {
    mutable std::mutex mu;
    StringMap<Buckets> users;  // guarded by mu
    SteadyTime next_sweep{};   // guarded by mu
  };
  static constexpr size_t kShards = 16;

  const Rate rates_[2];
  std::array<Shard, kShards> shards_;
};

}  // namespace ddp
