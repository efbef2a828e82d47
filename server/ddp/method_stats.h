// DDP method calls counted by name and outcome, for GET /metrics
// (ddpd_method_calls_total{method, outcome}).
//
// A name is counted under itself for the first kMaxNames distinct names
// and under "(other)" after that, and a method nobody registered under
// "(unknown)": a client chooses the names it calls, and must not be able to
// grow the table (or a Prometheus server's series) without bound. The
// outcome is the reply's status code in snake case ("ok",
// "invalid_argument", "permission_denied", "resource_exhausted" for a rate
// limit, "unauthenticated", "not_found", "internal", ...). Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/string_map.h"

namespace ddp {

class MethodStats {
 public:
  static constexpr size_t kMaxNames = 256;
  static constexpr std::string_view kUnknown = "(unknown)";
  static constexpr std::string_view kOther = "(other)";

  // One method's counters, by status code. Stable for the life of the
  // MethodStats; counting through it takes no lock.
  class Counters {
   public:
    void Count(absl::StatusCode code) {
      const auto i = static_cast<size_t>(code);
      by_code_[i < kCodes ? i : static_cast<size_t>(absl::StatusCode::kUnknown)].fetch_add(
          1, std::memory_order_relaxed);
    }

   private:
    friend class MethodStats;
    static constexpr size_t kCodes = 17;  // absl's canonical codes 0..16
    std::array<std::atomic<uint64_t>, kCodes> by_code_{};
  };

  // The counters of `name` (a registered method), of "(other)" once the
  // table is full.
  Counters& For(std::string_view name);
  // The counters of calls to methods that do not exist.
  Counters& Unknown() { return unknown_; }

  struct Row {
    std::string method;
    std::string outcome;
    uint64_t calls = 0;
  };
  // Every (method, outcome) counted at least once.
  std::vector<Row> Read() const;

 private:
  mutable std::mutex mu_;
  StringMap<std::unique_ptr<Counters>> by_name_;  // guarded by mu_
  Counters unknown_;
  Counters other_;
};

}  // namespace ddp
