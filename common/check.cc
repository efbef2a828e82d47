#include "common/check.h"

#include <cstdio>
#include <cstdlib>

#include "spdlog/spdlog.h"

namespace ddp::internal {

void CheckFailed(const char* expr, const char* file, int line) {
  spdlog::critical("check failed: {} at {}:{}", expr, file, line);
  spdlog::shutdown();
  std::fprintf(stderr, "check failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}

}  // namespace ddp::internal
