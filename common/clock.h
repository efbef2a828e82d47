// Clocks. Timeouts and heartbeats use the monotonic clock; stored times
// (document versions, `$currentDate`) use the wall clock.
#pragma once

#include <chrono>
#include <cstdint>

namespace ddp {

using SteadyClock = std::chrono::steady_clock;
using SteadyTime = SteadyClock::time_point;
using Duration = std::chrono::nanoseconds;

inline int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace ddp
