#include "common/logging.h"

#include <string>

#include "common/strings.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace ddp {

absl::Status SetLogLevel(std::string_view level) {
  auto parsed = spdlog::level::from_str(std::string(level));
  // from_str maps unknown names to `off`; only accept `off` when asked for.
  if (parsed == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError(StrCat(
        "unknown log level '", level, "' (trace, debug, info, warn, error, critical, off)"));
  }
  spdlog::set_level(parsed);
  return absl::OkStatus();
}

void InitLogging(std::string_view level) {
  auto logger = spdlog::stderr_color_mt("ddpd");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%L%$ [%t] %v");
  (void)SetLogLevel(level);
}

}  // namespace ddp
