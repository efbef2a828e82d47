#include "common/logging.h"

#include <chrono>
#include <ctime>
#include <memory>
#include <string>

#include "common/strings.h"
#include "spdlog/formatter.h"
#include "spdlog/sinks/ringbuffer_sink.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace ddp {
namespace {

// 2026-12-04T01:02:03.456Z
void AppendTime(spdlog::log_clock::time_point t, spdlog::memory_buf_t& out) {
  const auto since = t.time_since_epoch();
  const std::time_t secs = std::chrono::duration_cast<std::chrono::seconds>(since).count();
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 millis);
}

// Text: the message with line breaks and other control characters escaped.
void AppendEscapedText(std::string_view s, spdlog::memory_buf_t& out) {
  for (char c : s) {
    if (c == '\n') {
      out.append(std::string_view("\\n"));
    } else if (c == '\r') {
      out.append(std::string_view("\\r"));
    } else if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
      fmt::format_to(std::back_inserter(out), "\\x{:02x}", static_cast<unsigned char>(c));
    } else {
      out.push_back(c);
    }
  }
}

// JSON string contents (no quotes). Bytes above 0x7f pass as they are: a
// message that is not UTF-8 stays as the code wrote it.
void AppendEscapedJson(std::string_view s, spdlog::memory_buf_t& out) {
  for (char c : s) {
    switch (c) {
      case '"': out.append(std::string_view("\\\"")); break;
      case '\\': out.append(std::string_view("\\\\")); break;
      case '\n': out.append(std::string_view("\\n")); break;
      case '\r': out.append(std::string_view("\\r")); break;
      case '\t': out.append(std::string_view("\\t")); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned char>(c));
        } else {
          out.push_back(c);
        }
    }
  }
}

class LineFormatter final : public spdlog::formatter {
 public:
  explicit LineFormatter(LogFormat format) : format_(format) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    const spdlog::string_view_t level = spdlog::level::to_string_view(msg.level);
    if (format_ == LogFormat::kJson) {
      dest.append(std::string_view(R"({"ts":")"));
      AppendTime(msg.time, dest);
      dest.append(std::string_view(R"(","level":")"));
      dest.append(level.data(), level.data() + level.size());
      fmt::format_to(std::back_inserter(dest), R"(","thread":{},"msg":")", msg.thread_id);
      AppendEscapedJson(text, dest);
      dest.append(std::string_view("\"}\n"));
    } else {
      AppendTime(msg.time, dest);
      fmt::format_to(std::back_inserter(dest), " {} [{}] ",
                     spdlog::level::to_short_c_str(msg.level), msg.thread_id);
      AppendEscapedText(text, dest);
      dest.push_back('\n');
    }
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LineFormatter>(format_);
  }

 private:
  const LogFormat format_;
};

}  // namespace

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

absl::Status ParseLogFormat(std::string_view name, LogFormat* format) {
  if (name == "text") {
    *format = LogFormat::kText;
  } else if (name == "json") {
    *format = LogFormat::kJson;
  } else {
    return absl::InvalidArgumentError(StrCat("unknown log format '", name, "' (text, json)"));
  }
  return absl::OkStatus();
}

namespace {

// The warnings and errors sink (RecentProblems). Set once at start; never
// destroyed, so that logging during static destruction stays safe.
std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt>& Problems() {
  static auto* sink = new std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt>();
  return *sink;
}

}  // namespace

void InitLogging(std::string_view level, LogFormat format) {
  auto err = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  err->set_formatter(std::make_unique<LineFormatter>(format));
  auto problems = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(kRecentProblems);
  problems->set_formatter(std::make_unique<LineFormatter>(LogFormat::kText));
  problems->set_level(spdlog::level::warn);
  Problems() = problems;
  auto logger = std::make_shared<spdlog::logger>("ddpd", spdlog::sinks_init_list{err, problems});
  spdlog::set_default_logger(logger);
  (void)SetLogLevel(level);
}

std::vector<std::string> RecentProblems() {
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink = Problems();
  if (sink == nullptr) return {};
  std::vector<std::string> lines = sink->last_formatted();
  for (std::string& l : lines) {
    while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.pop_back();
  }
  return lines;
}


}  // namespace ddp
