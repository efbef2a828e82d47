#include "server/ddp/method_stats.h"

#include <cctype>

namespace ddp {
namespace {

// "PERMISSION_DENIED" -> "permission_denied".
std::string Outcome(absl::StatusCode code) {
  std::string s = absl::StatusCodeToString(code);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

MethodStats::Counters& MethodStats::For(std::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_name_.find(name);
  if (it != by_name_.end()) return *it->second;
  if (by_name_.size() >= kMaxNames) return other_;
  return *by_name_.emplace(std::string(name), std::make_unique<Counters>()).first->second;
}

std::vector<MethodStats::Row> MethodStats::Read() const {
  std::vector<Row> rows;
  auto add = [&rows](std::string_view method, const Counters& c) {
    for (size_t i = 0; i < Counters::kCodes; ++i) {
      const uint64_t n = c.by_code_[i].load(std::memory_order_relaxed);
      if (n > 0)
        rows.push_back(Row{std::string(method), Outcome(static_cast<absl::StatusCode>(i)), n});
    }
  };
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, c] : by_name_) add(name, *c);
  }
  add(kUnknown, unknown_);
  add(kOther, other_);
  return rows;
}

}  // namespace ddp
