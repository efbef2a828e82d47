// Access rules (API.md §8): who may do what to which topics, and which
// documents and fields of them, from a rules file (`--rules FILE`).
//
//   {
//     "rolesClaim": "roles",
//     "rules": [
//       {"topics": "notes.>", "who": {"roles": ["admin"]}, "allow": ["read", "write"]},
//       {"topics": ["notes.>"], "who": "user", "allow": ["read", "insert", "update", "remove"],
//        "filter": {"ownerId": "$user.sub"}, "hide": ["internal"]},
//       {"topics": "public.>", "allow": ["sub", "query"]}
//     ]
//   }
//
// - `topics`: a topic name or pattern, or a list of them.
// - `who`: "anyone" (the default; anonymous clients too), "user" (logged
//   in), or {"roles": [...]}: a logged-in caller whose `rolesClaim` claim
//   (a string or an array of strings; default claim "roles") names one.
// - `allow`: actions: sub, query, history, insert, update, remove, publish,
//   tx; "read" is sub + query + history, "write" is insert + update +
//   remove + publish + tx. An op of a `tx` needs its own action and `tx`;
//   an upsert needs update and insert; a precondition (`expect`) needs query.
// - `filter`: a row filter, a selector in which a string "$user.<path>"
//   stands for the caller's claim at <path> ("$user.id" is the user id, and
//   so is "$user.sub" when the login had no `sub` claim). Reads see only
//   documents that pass it; a write may only touch documents that pass it,
//   and what it writes must pass it. A caller without the claim sees and
//   writes nothing under that rule.
// - `hide`: fields the caller neither sees nor writes (dotted paths; not
//   `_id`). A query or write that names one is refused.
//
// The first rule that matches the topic, admits the caller and allows the
// action decides, with its filter and hidden fields; with none, the action
// is denied (403). A pattern (a subscription to "notes.*") must lie wholly
// inside the first such rule's topics.
//
// Immutable once parsed; thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/value.h"
#include "server/ddp/registry.h"

namespace ddp::access {

enum class Action : uint8_t { kSub, kQuery, kHistory, kInsert, kUpdate, kRemove, kPublish, kTx };
std::string_view ActionName(Action a);

// Who asks. `user` null: anonymous. `service`: an HTTP API key, which its
// scopes govern instead of the rules.
struct Caller {
  const UserIdentity* user = nullptr;
  bool service = false;
};

struct Rule {
  std::vector<std::string> topics;
  enum class Who : uint8_t { kAnyone, kUser, kRoles } who = Who::kAnyone;
  std::vector<std::string> roles;
  uint32_t actions = 0;  // bit (1 << Action)
  std::optional<Value> filter;
  std::vector<std::string> hide;
  size_t index = 0;  // in the file, for messages
};

// What a rule lets one caller do to one topic (or pattern).
struct Grant {
  const Rule* rule = nullptr;  // null when there are no rules at all
  // The row filter with the caller's values in place; none: every document.
  std::optional<Value> filter;
  const std::vector<std::string>* hidden = nullptr;  // null or empty: none

  bool restricted() const { return filter.has_value() || (hidden && !hidden->empty()); }
};

class Rules {
 public:
  // InvalidArgument naming the rule and the part ("rules[2].filter: ...").
  static absl::StatusOr<std::shared_ptr<const Rules>> Parse(std::string_view json);
  static absl::StatusOr<std::shared_ptr<const Rules>> Load(const std::string& path);

  // PermissionDenied (403) with a reason that names the action and the
  // target, never anything about documents.
  absl::StatusOr<Grant> Decide(const Caller& caller, std::string_view target, Action a) const;

  const std::vector<Rule>& rules() const { return rules_; }

 private:
  bool Admits(const Rule& r, const Caller& caller) const;

  std::string roles_claim_ = "roles";
  std::vector<Rule> rules_;
};

// The row filter `filter` with "$user.<path>" strings replaced by the
// caller's values; a filter that matches nothing when one is missing.
Value ResolveFilter(const Value& filter, const UserIdentity* user);

// True when `a` and `b` are the same path or one lies under the other
// ("a" and "a.b"): a selector on one reads the other.
bool PathsMeet(std::string_view a, std::string_view b);

}  // namespace ddp::access
