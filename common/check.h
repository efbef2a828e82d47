// DDP_CHECK: invariants of our own code. User input must never reach one;
// bad input gets an absl::Status. A failed check logs and aborts.
#pragma once

namespace ddp::internal {
[[noreturn]] void CheckFailed(const char* expr, const char* file, int line);
}  // namespace ddp::internal

#define DDP_CHECK(cond)                                           \
  do {                                                            \
    if (__builtin_expect(!(cond), 0))                             \
      ::ddp::internal::CheckFailed(#cond, __FILE__, __LINE__);    \
  } while (0)
