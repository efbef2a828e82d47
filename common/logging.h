// Logging set-up for the binaries. Everything logs through spdlog's default
// logger; this only configures its level and format once at start-up.
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace ddp {

// Sets the global log level from a name: trace, debug, info, warn, error,
// critical, off. Unknown names give InvalidArgument and leave the level as is.
absl::Status SetLogLevel(std::string_view level);

// Installs a stderr logger with timestamps and thread ids. Thread-safe to log
// from anywhere afterwards.
void InitLogging(std::string_view level);

}  // namespace ddp
