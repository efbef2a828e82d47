#include "server/access/rules.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "protocol/json.h"
#include "query/path.h"
#include "query/selector.h"
#include "server/engine/topic_name.h"

namespace ddp::access {
namespace {

constexpr uint32_t Bit(Action a) { return 1u << static_cast<uint32_t>(a); }
constexpr uint32_t kRead = Bit(Action::kSub) | Bit(Action::kQuery) | Bit(Action::kHistory);
constexpr uint32_t kWrite = Bit(Action::kInsert) | Bit(Action::kUpdate) | Bit(Action::kRemove) |
                            Bit(Action::kPublish) | Bit(Action::kTx);
constexpr std::string_view kUserPrefix = "$user.";

std::optional<uint32_t> ActionBits(std::string_view name) {
  if (name == "read") return kRead;
  if (name == "write") return kWrite;
  for (uint8_t i = 0; i <= static_cast<uint8_t>(Action::kTx); ++i) {
    if (ActionName(static_cast<Action>(i)) == name) return Bit(static_cast<Action>(i));
  }
  return std::nullopt;
}

absl::Status Bad(size_t index, std::string_view part, std::string_view what) {
  return absl::InvalidArgumentError(
      StrCat("rules[", index, "]", part.empty() ? "" : ".", part, ": ", what));
}

// A list of strings, or one string.
absl::StatusOr<std::vector<std::string>> Strings(const Value& v, size_t index,
                                                 std::string_view part) {
  std::vector<std::string> out;
  if (v.is_string()) {
    out.push_back(v.as_string());
    return out;
  }
  if (!v.is_array()) return Bad(index, part, "expected a string or an array of strings");
  for (const Value& e : v.as_array()) {
    if (!e.is_string()) return Bad(index, part, "expected a string or an array of strings");
    out.push_back(e.as_string());
  }
  return out;
}

// The filter with every "$user." string replaced by `with` (for checking
// that it compiles).
Value Substitute(const Value& v, const Value& with) {
  if (v.is_string() && absl::StartsWith(ToAbsl(v.as_string()), ToAbsl(kUserPrefix))) return with;
  if (v.is_array()) {
    Array out;
    for (const Value& e : v.as_array()) out.push_back(Substitute(e, with));
    return Value(std::move(out));
  }
  if (v.is_object()) {
    Object out;
    for (const Member& m : v.as_object()) out.Append(m.key, Substitute(m.value, with));
    return Value(std::move(out));
  }
  return v;
}

// The caller's value at "$user.<path>", or null when there is none.
const Value* UserValue(std::string_view path, const UserIdentity& user, Value* scratch) {
  if (path == "id") {
    *scratch = Value(user.id);
    return scratch;
  }
  query::Branches branches;
  query::LookupBranches(user.claims, query::Path(path), &branches);
  if (branches.size() == 1 && branches[0].value != nullptr) return branches[0].value;
  if (path == "sub" && !user.id.empty()) {
    *scratch = Value(user.id);
    return scratch;
  }
  return nullptr;
}

bool Resolve(const Value& v, const UserIdentity* user, Value* out) {
  if (v.is_string() && absl::StartsWith(ToAbsl(v.as_string()), ToAbsl(kUserPrefix))) {
    if (user == nullptr) return false;
    Value scratch;
    const Value* found =
        UserValue(std::string_view(v.as_string()).substr(kUserPrefix.size()), *user, &scratch);
    if (found == nullptr) return false;
    *out = *found;
    return true;
  }
  if (v.is_array()) {
    Array a;
    for (const Value& e : v.as_array()) {
      Value r;
      if (!Resolve(e, user, &r)) return false;
      a.push_back(std::move(r));
    }
    *out = Value(std::move(a));
    return true;
  }
  if (v.is_object()) {
    Object o;
    for (const Member& m : v.as_object()) {
      Value r;
      if (!Resolve(m.value, user, &r)) return false;
      o.Append(m.key, std::move(r));
    }
    *out = Value(std::move(o));
    return true;
  }
  *out = v;
  return true;
}

absl::StatusOr<Rule> ParseRule(const Value& v, size_t index) {
  if (!v.is_object()) return Bad(index, "", "a rule must be an object");
  Rule r;
  r.index = index;
  for (const Member& m : v.as_object()) {
    if (m.key == "topics") {
      ASSIGN_OR_RETURN(r.topics, Strings(m.value, index, "topics"));
      for (const std::string& t : r.topics) {
        absl::Status valid =
            engine::IsPattern(t) ? engine::ValidateTopicPattern(t) : engine::ValidateTopicName(t);
        if (!valid.ok()) return Bad(index, "topics", ToStd(valid.message()));
      }
    } else if (m.key == "who") {
      if (m.value.is_string() && m.value.as_string() == "anyone") {
        r.who = Rule::Who::kAnyone;
      } else if (m.value.is_string() && m.value.as_string() == "user") {
        r.who = Rule::Who::kUser;
      } else if (m.value.is_object() && m.value.as_object().size() == 1 &&
                 m.value.Find("roles") != nullptr) {
        r.who = Rule::Who::kRoles;
        ASSIGN_OR_RETURN(r.roles, Strings(*m.value.Find("roles"), index, "who.roles"));
        if (r.roles.empty()) return Bad(index, "who.roles", "names no role");
      } else {
        return Bad(index, "who", "expected \"anyone\", \"user\" or {\"roles\": [...]}");
      }
    } else if (m.key == "allow") {
      ASSIGN_OR_RETURN(std::vector<std::string> names, Strings(m.value, index, "allow"));
      for (const std::string& n : names) {
        std::optional<uint32_t> bits = ActionBits(n);
        if (!bits) {
          return Bad(index, "allow",
                     StrCat("unknown action '", n,
                            "' (sub query history insert update remove publish tx read write)"));
        }
        r.actions |= *bits;
      }
    } else if (m.key == "filter") {
      if (!m.value.is_object()) return Bad(index, "filter", "must be a selector object");
      // The claims' types are known only at login: the filter must compile
      // with the placeholders as strings, arrays or numbers (all alike).
      absl::Status first;
      bool compiles = false;
      for (const Value& as : {Value("x"), Value(Array{Value("x")}), Value(int64_t{1})}) {
        absl::StatusOr<query::Selector> s = query::Selector::Compile(Substitute(m.value, as));
        if (s.ok()) {
          compiles = true;
          break;
        }
        if (first.ok()) first = s.status();
      }
      if (!compiles) return Bad(index, "filter", ToStd(first.message()));
      r.filter = m.value;
    } else if (m.key == "hide") {
      ASSIGN_OR_RETURN(r.hide, Strings(m.value, index, "hide"));
      for (const std::string& f : r.hide) {
        if (f.empty() || f[0] == '$' || f.front() == '.' || f.back() == '.' ||
            f.find("..") != std::string::npos) {
          return Bad(index, "hide", StrCat("'", f, "' is not a field path"));
        }
        if (PathsMeet(f, "_id")) return Bad(index, "hide", "_id cannot be hidden");
      }
    } else {
      return Bad(index, "", StrCat("unknown key '", m.key, "' (topics, who, allow, filter, hide)"));
    }
  }
  if (r.topics.empty()) return Bad(index, "topics", "required");
  if (r.actions == 0) return Bad(index, "allow", "required (the actions the rule allows)");
  return r;
}

std::string WhoText(const Caller& c) {
  if (c.user == nullptr) return "anonymous clients";
  return StrCat("user '", c.user->id, "'");
}

}  // namespace

std::string_view ActionName(Action a) {
  switch (a) {
    case Action::kSub:
      return "sub";
    case Action::kQuery:
      return "query";
    case Action::kHistory:
      return "history";
    case Action::kInsert:
      return "insert";
    case Action::kUpdate:
      return "update";
    case Action::kRemove:
      return "remove";
    case Action::kPublish:
      return "publish";
    case Action::kTx:
      return "tx";
  }
  return "?";
}

bool PathsMeet(std::string_view a, std::string_view b) {
  if (a.size() > b.size()) std::swap(a, b);
  return b.substr(0, a.size()) == a && (b.size() == a.size() || b[a.size()] == '.');
}

Value ResolveFilter(const Value& filter, const UserIdentity* user) {
  Value out;
  if (Resolve(filter, user, &out)) return out;
  // Nothing is the caller's: match no document.
  return Value(Object{{"_id", Value(Object{{"$in", Value(Array())}})}});
}

absl::StatusOr<std::shared_ptr<const Rules>> Rules::Parse(std::string_view json) {
  absl::StatusOr<Value> v = ParseJson(json);
  if (!v.ok()) return absl::InvalidArgumentError(StrCat("rules: ", v.status().message()));
  if (!v->is_object()) return absl::InvalidArgumentError("rules: expected a JSON object");
  auto out = std::shared_ptr<Rules>(new Rules());
  bool have_rules = false;
  for (const Member& m : v->as_object()) {
    if (m.key == "rolesClaim") {
      if (!m.value.is_string() || m.value.as_string().empty()) {
        return absl::InvalidArgumentError("rules: rolesClaim must be a claim name");
      }
      out->roles_claim_ = m.value.as_string();
    } else if (m.key == "rules") {
      if (!m.value.is_array()) return absl::InvalidArgumentError("rules: rules must be an array");
      have_rules = true;
      for (const Value& r : m.value.as_array()) {
        ASSIGN_OR_RETURN(Rule rule, ParseRule(r, out->rules_.size()));
        out->rules_.push_back(std::move(rule));
      }
    } else {
      return absl::InvalidArgumentError(
          StrCat("rules: unknown key '", m.key, "' (rolesClaim, rules)"));
    }
  }
  if (!have_rules) return absl::InvalidArgumentError("rules: a \"rules\" array is required");
  return std::shared_ptr<const Rules>(std::move(out));
}

absl::StatusOr<std::shared_ptr<const Rules>> Rules::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("cannot read rules file '", path, "'"));
  std::stringstream ss;
  ss << in.rdbuf();
  absl::StatusOr<std::shared_ptr<const Rules>> r = Parse(ss.str());
  if (!r.ok()) return absl::InvalidArgumentError(StrCat(path, ": ", r.status().message()));
  return r;
}

bool Rules::Admits(const Rule& r, const Caller& caller) const {
  switch (r.who) {
    case Rule::Who::kAnyone:
      return true;
    case Rule::Who::kUser:
      return caller.user != nullptr;
    case Rule::Who::kRoles: {
      if (caller.user == nullptr) return false;
      const Value* claim = caller.user->claims.Find(roles_claim_);
      if (claim == nullptr) return false;
      for (const std::string& role : r.roles) {
        if (claim->is_string() && claim->as_string() == role) return true;
        if (claim->is_array()) {
          for (const Value& e : claim->as_array()) {
            if (e.is_string() && e.as_string() == role) return true;
          }
        }
      }
      return false;
    }
  }
  return false;
}

absl::StatusOr<Grant> Rules::Decide(const Caller& caller, std::string_view target, Action a) const {
  for (const Rule& r : rules_) {
    if ((r.actions & Bit(a)) == 0 || !Admits(r, caller)) continue;
    for (const std::string& t : r.topics) {
      if (engine::PatternCovers(t, target)) {
        Grant g;
        g.rule = &r;
        if (r.filter) g.filter = ResolveFilter(*r.filter, caller.user);
        g.hidden = &r.hide;
        return g;
      }
      if (engine::PatternsOverlap(t, target)) {
        return absl::PermissionDeniedError(StrCat("Access denied: '", target,
                                                  "' spans topics under different access rules (",
                                                  ActionName(a), " each part on its own)"));
      }
    }
  }
  return absl::PermissionDeniedError(StrCat("Access denied: no rule lets ", WhoText(caller), " ",
                                            ActionName(a), " '", target, "'"));
}

}  // namespace ddp::access
