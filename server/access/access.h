// Access: the access rules applied to what callers ask of the engine.
//
// Reads are rewritten, not re-checked: a rule's row filter is ANDed into
// the query's filter before the plan is compiled and canonicalized, so
// subscribers with the same filter value share one evaluation and the
// routing index sees the filter's equality ({ownerId: "u1"}); nothing is
// checked per subscriber per change. Hidden fields are cut by a $project
// ahead of the query's pipeline (sort, fields and stages never see them),
// and a filter that names one is refused. A $lookup needs the same right on
// its `from` topic, and that topic's row filter and hidden fields apply to
// the joined documents.
//
// Writes get a WriteGuard (server/engine/write.h) that the committer
// enforces against the state it applies to: documents outside the row
// filter are absent for the write, and what it writes must pass the filter.
//
// Without rules (no --rules) every call is allowed as it is and nothing is
// copied. The rules can be swapped at any time (SIGHUP); each call uses one
// set throughout. Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/string_map.h"
#include "query/projection.h"
#include "server/access/rules.h"
#include "server/engine/engine.h"

namespace ddp::access {

class Access {
 public:
  Access() = default;
  explicit Access(std::shared_ptr<const Rules> rules) { SetRules(std::move(rules)); }

  void SetRules(std::shared_ptr<const Rules> rules);
  std::shared_ptr<const Rules> rules() const;

  // The query (`{filter, fields, ..., pipeline}` or null) as `caller` may
  // run it against `target` (a topic or pattern) for `a` (kSub or kQuery):
  // nullopt to run it unchanged. PermissionDenied (403) when it may not.
  absl::StatusOr<std::optional<Value>> RewriteQuery(const Caller& caller, std::string_view target,
                                                    const Value& query, Action a) const;

  // Checks every op of `tx` for `caller` and sets the guards its rules ask
  // for. `via_tx`: the `tx` method or route (each op needs `tx` too).
  absl::Status AuthorizeTx(const Caller& caller, engine::TxRequest& tx, bool via_tx) const;

  // The fields to cut from `history` entries of `target`; PermissionDenied
  // when the caller may not read its history, or when a row filter applies
  // (a removal in the log does not carry the document it removed, so it
  // cannot be told whose it was).
  // nullopt: nothing to cut.
  absl::StatusOr<std::optional<query::Projection>> ForHistory(const Caller& caller,
                                                              std::string_view target) const;

  // For the topic listing: whether `caller` may read `topic` (sub or query)
  // at all, and whether it sees all of it (document counts are shown only
  // then).
  struct Visibility {
    bool visible = false;
    bool whole = false;
  };
  Visibility TopicVisibility(const Caller& caller, std::string_view topic) const;

 private:
  std::atomic<bool> enabled_{false};  // rules_ != nullptr, read without the lock
  // The guard of a rule for one filter value, compiled once: a write's
  // cost under a row filter is then a lookup, not a selector compile.
  std::shared_ptr<const engine::WriteGuard> GuardFor(const Rules& rules, const Grant& g) const;

  mutable std::mutex mu_;
  std::shared_ptr<const Rules> rules_;  // guarded by mu_; null: no rules
  // (rules generation, rule index, filter JSON) -> guard; cleared when the
  // rules change or when it holds kMaxGuards. Guarded by mu_.
  mutable StringMap<std::shared_ptr<const engine::WriteGuard>> guards_;
  static constexpr size_t kMaxGuards = 16384;
};

}  // namespace ddp::access
