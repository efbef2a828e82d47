// What the ddpctl subcommands share: options, errors, output, waiting.
#include <signal.h>

#include <atomic>
#include <iostream>

#include "client/ddpctl/ddpctl.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/strings.h"
#include "protocol/json.h"

namespace ddp::ctl {

std::vector<std::string> Globals::Urls() const {
  std::vector<std::string> out;
  for (absl::string_view u : absl::StrSplit(url, ',', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripAsciiWhitespace(u));
  }
  if (out.empty()) out.push_back(url);
  return out;
}

ClientOptions Globals::ClientOpts() const {
  ClientOptions o;
  std::vector<std::string> all = Urls();
  o.url = all[0];
  if (all.size() > 1) o.urls = all;
  o.resume_token = token;
  o.jwt = jwt;
  o.ca_file = ca_file;
  o.verify_peer = !insecure;
  o.connect_timeout = timeout();
  return o;
}

std::chrono::milliseconds Globals::timeout() const {
  return std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
}

int ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return kOk;
  if (ServerError(status).has_value()) return kServerError;
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kFailedPrecondition:
      return kServerError;
    case absl::StatusCode::kInvalidArgument:
      return kUsage;
    case absl::StatusCode::kDeadlineExceeded:
      return kTimeout;
    default:
      return kConnection;
  }
}

int Fail(const std::string& what, const absl::Status& status) {
  std::string msg(status.message());
  if (status.code() == absl::StatusCode::kUnavailable && msg.find("connect") != std::string::npos &&
      msg.find("refused") != std::string::npos) {
    msg += " (is ddpd running? see --url)";
  }
  std::cerr << "ddpctl: " << what << ": " << msg << "\n";
  return ExitCodeFor(status);
}

absl::StatusOr<Value> ParseArg(const std::string& name, const std::string& text) {
  absl::StatusOr<Value> v = ParseJson(text);
  if (!v.ok()) {
    std::string hint;
    if (!text.empty() && text[0] != '{' && text[0] != '[' && text[0] != '"') {
      hint = StrCat(" (strings must be JSON: '\"", text, "\"')");
    }
    return absl::InvalidArgumentError(StrCat(name, " is not valid JSON: ", v.status().message(), hint));
  }
  return v;
}

namespace {

void Pretty(const Value& v, int indent, std::string* out) {
  auto pad = [&](int n) { out->append(static_cast<size_t>(n) * 2, ' '); };
  if (v.is_object() && !v.as_object().empty()) {
    out->append("{\n");
    bool first = true;
    for (const Member& m : v.as_object()) {
      if (!first) out->append(",\n");
      first = false;
      pad(indent + 1);
      AppendJsonString(m.key, out);
      out->append(": ");
      Pretty(m.value, indent + 1, out);
    }
    out->append("\n");
    pad(indent);
    out->append("}");
    return;
  }
  if (v.is_array() && !v.as_array().empty()) {
    out->append("[\n");
    bool first = true;
    for (const Value& e : v.as_array()) {
      if (!first) out->append(",\n");
      first = false;
      pad(indent + 1);
      Pretty(e, indent + 1, out);
    }
    out->append("\n");
    pad(indent);
    out->append("]");
    return;
  }
  AppendJson(v, out);  // scalars and EJSON forms, empty containers
}

std::atomic<bool> g_interrupted{false};

}  // namespace

std::string PrettyJson(const Value& v) {
  std::string out;
  Pretty(v, 0, &out);
  return out;
}

void PrintValue(const Value& v, bool json) { PrintLine(json ? ToJson(v) : PrettyJson(v)); }

void PrintLine(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

bool Interrupted() { return g_interrupted.load(); }

bool WaitUntil(const std::function<bool()>& done,
               std::optional<std::chrono::steady_clock::time_point> deadline) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  while (!done()) {
    if (deadline && std::chrono::steady_clock::now() >= *deadline) return false;
    timespec step{0, 20 * 1000 * 1000};  // 20 ms
    if (sigtimedwait(&set, nullptr, &step) > 0) {
      g_interrupted = true;
      return false;
    }
  }
  return true;
}

}  // namespace ddp::ctl
