#include "server/ddp/user_limits.h"

#include <algorithm>
#include <functional>

namespace ddp {

Duration UserRateLimits::Take(std::string_view user, Kind kind, SteadyTime now) {
  const Rate& r = rates_[static_cast<int>(kind)];
  if (r.rate <= 0) return Duration::zero();
  const double burst = std::max(r.burst, 1.0);
  Shard& shard = shards_[std::hash<std::string_view>()(user) % kShards];
  std::lock_guard<std::mutex> lock(shard.mu);
  // Every few seconds, forget users idle long enough for every bucket to be
  // full again (they would start full anyway).
  if (now >= shard.next_sweep) {
    const double slowest = std::min(rates_[0].rate > 0 ? rates_[0].rate : 1e9,
                                    rates_[1].rate > 0 ? rates_[1].rate : 1e9);
    const double burst_max = std::max(std::max(rates_[0].burst, rates_[1].burst), 1.0);
    const Duration refill =
        std::chrono::duration_cast<Duration>(std::chrono::duration<double>(burst_max / slowest));
    for (auto it = shard.users.begin(); it != shard.users.end();) {
      if (now - it->second.last_used > refill) {
        shard.users.erase(it++);
      } else {
        ++it;
      }
    }
    shard.next_sweep = now + std::chrono::seconds(5);
  }
  Buckets& b = shard.users[user];
  b.last_used = now;
  std::optional<TokenBucket>& bucket = b.of[static_cast<int>(kind)];
  if (!bucket) bucket.emplace(burst, now);
  if (bucket->TryTake(r.rate, burst, now)) return Duration::zero();
  return std::max<Duration>(bucket->TimeToNext(r.rate, now), std::chrono::milliseconds(1));
}

size_t UserRateLimits::size() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    n += s.users.size();
  }
  return n;
}

}  // namespace ddp
