// Logging set-up for the binaries. Everything logs through spdlog's default
// logger; this only configures its level and format once at start-up.
//
// Every event is one line on stderr, in either format:
//   text  2026-12-04T01:02:03.456Z I [1234] message      (--log-format text)
//   json  {"ts":"2026-12-04T01:02:03.456Z","level":"info","thread":1234,"msg":"message"}
// Line breaks and control characters inside a message are escaped (\n, or
// JSON's escapes), so that a message never spans lines and a log shipper
// can split on newlines. Times are UTC.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace ddp {

enum class LogFormat { kText, kJson };

// Sets the global log level from a name: trace, debug, info, warn, error,
// critical, off. Unknown names give InvalidArgument and leave the level as is.
absl::Status SetLogLevel(std::string_view level);

// "text" or "json"; InvalidArgument otherwise.
absl::Status ParseLogFormat(std::string_view name, LogFormat* format);

// Installs the stderr logger. Thread-safe to log from anywhere afterwards.
void InitLogging(std::string_view level, LogFormat format = LogFormat::kText);

// The latest warnings and errors logged since InitLogging (at most
// kRecentProblems, oldest first), as text lines without the newline: the
// admin page's "recent errors". Empty before InitLogging. Thread-safe.
inline constexpr size_t kRecentProblems = 50;
std::vector<std::string> RecentProblems();

}  // namespace ddp
