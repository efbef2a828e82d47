#include "server/access/access.h"

#include "common/status_macros.h"
#include "common/strings.h"
#include "protocol/json.h"
#include "query/path.h"
#include "query/selector.h"

namespace ddp::access {
namespace {

absl::Status HiddenField(std::string_view field, std::string_view topic) {
  return absl::PermissionDeniedError(
      StrCat("Access denied: field '", field, "' of '", topic, "' is hidden"));
}

// PermissionDenied when one of `paths` reads or writes a hidden field.
absl::Status CheckPaths(const std::vector<std::string>& paths, const Grant& g,
                        std::string_view topic) {
  if (g.hidden == nullptr) return absl::OkStatus();
  for (const std::string& h : *g.hidden) {
    for (const std::string& p : paths) {
      if (PathsMeet(p, h)) return HiddenField(h, topic);
    }
  }
  return absl::OkStatus();
}

// PermissionDenied when the document holds a hidden field.
absl::Status CheckDoc(const Object& doc, const Grant& g, std::string_view topic) {
  if (g.hidden == nullptr) return absl::OkStatus();
  for (const std::string& h : *g.hidden) {
    query::Branches branches;
    query::LookupBranches(doc, query::Path(h), &branches);
    for (const query::Branch& b : branches) {
      if (b.value != nullptr) return HiddenField(h, topic);
    }
  }
  return absl::OkStatus();
}

Value ExcludeHidden(const std::vector<std::string>& hidden) {
  Object fields;
  for (const std::string& h : hidden) fields.Append(h, Value(int64_t{0}));
  return Value(std::move(fields));
}

// `filter` ANDed with the caller's own (absent, null or {}: just `filter`).
// Always the same shape for the same two, so that the canonical form of
// equal queries is equal.
Value AndFilter(const Value& row, const Value* own) {
  if (own == nullptr || own->is_null() || (own->is_object() && own->as_object().empty())) {
    return row;
  }
  Value mine = own->is_string() ? Value(Object{{"_id", *own}}) : *own;
  return Value(Object{{"$and", Value(Array{row, std::move(mine)})}});
}

bool HasLookup(const Value& query) {
  const Value* p = query.is_object() ? query.Find("pipeline") : nullptr;
  if (p == nullptr || !p->is_array()) return false;
  for (const Value& st : p->as_array()) {
    if (st.is_object() && st.Find("$lookup") != nullptr) return true;
  }
  return false;
}

// A $lookup stage with the `from` topic's rule applied to what it joins.
absl::StatusOr<Value> GuardLookup(const Rules& rules, const Caller& caller, const Value& stage,
                                  Action a) {
  const Value& spec = *stage.Find("$lookup");
  const Value* from = spec.is_object() ? spec.Find("from") : nullptr;
  if (from == nullptr || !from->is_string()) return stage;  // the parser says what is wrong
  ASSIGN_OR_RETURN(Grant g, rules.Decide(caller, from->as_string(), a));
  if (!g.restricted()) return stage;
  Array foreign;
  if (g.filter) foreign.push_back(Value(Object{{"$match", *g.filter}}));
  if (g.hidden != nullptr && !g.hidden->empty()) {
    foreign.push_back(Value(Object{{"$project", ExcludeHidden(*g.hidden)}}));
  }
  Object out = spec.as_object();
  if (const Value* own = spec.Find("pipeline"); own != nullptr) {
    if (!own->is_array()) return stage;
    for (const Value& st : own->as_array()) foreign.push_back(st);
  }
  out.Set("pipeline", Value(std::move(foreign)));
  return Value(Object{{"$lookup", Value(std::move(out))}});
}

std::vector<Action> ActionsOf(const engine::WriteOp& op, bool via_tx) {
  std::vector<Action> need;
  switch (op.kind) {
    case engine::WriteOp::Kind::kInsert:
      need.push_back(Action::kInsert);
      break;
    case engine::WriteOp::Kind::kUpdate:
      need.push_back(Action::kUpdate);
      if (op.upsert) need.push_back(Action::kInsert);
      break;
    case engine::WriteOp::Kind::kRemove:
      need.push_back(Action::kRemove);
      break;
    case engine::WriteOp::Kind::kPublish:
      need.push_back(Action::kPublish);
      break;
    case engine::WriteOp::Kind::kExpect:
      need.push_back(Action::kQuery);
      break;
  }
  if (via_tx) need.push_back(Action::kTx);
  return need;
}

}  // namespace

void Access::SetRules(std::shared_ptr<const Rules> rules) {
  std::lock_guard<std::mutex> lock(mu_);
  enabled_.store(rules != nullptr);
  rules_ = std::move(rules);
  guards_.clear();
}

std::shared_ptr<const engine::WriteGuard> Access::GuardFor(const Rules& rules,
                                                           const Grant& g) const {
  // The rules object's address tells generations apart: the cache is
  // cleared whenever they are replaced, and this call holds `rules` alive.
  std::string key = StrCat(reinterpret_cast<uintptr_t>(&rules), "/", g.rule->index, "/",
                           g.filter ? ToJson(*g.filter) : std::string());
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = guards_.find(key);
    if (it != guards_.end()) return it->second;
  }
  auto guard = std::make_shared<engine::WriteGuard>();
  if (g.filter) {
    absl::StatusOr<query::Selector> s = query::Selector::Compile(*g.filter);
    if (!s.ok()) return nullptr;  // the rules file was checked: cannot happen
    guard->filter = std::move(*s);
  }
  if (g.hidden != nullptr) guard->hidden = *g.hidden;
  std::lock_guard<std::mutex> lock(mu_);
  if (rules_.get() != &rules) return guard;  // replaced meanwhile: do not keep it
  if (guards_.size() >= kMaxGuards) guards_.clear();
  guards_.emplace(std::move(key), guard);
  return guard;
}

std::shared_ptr<const Rules> Access::rules() const {
  if (!enabled_.load(std::memory_order_relaxed)) return nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  return rules_;
}

absl::StatusOr<std::optional<Value>> Access::RewriteQuery(const Caller& caller,
                                                          std::string_view target,
                                                          const Value& query, Action a) const {
  std::shared_ptr<const Rules> rules = this->rules();
  if (rules == nullptr || caller.service) return std::nullopt;
  ASSIGN_OR_RETURN(Grant g, rules->Decide(caller, target, a));
  if (!g.restricted() && !HasLookup(query)) return std::nullopt;
  if (!query.is_null() && !query.is_object()) return std::nullopt;  // the parser says why
  Object q = query.is_object() ? query.as_object() : Object();
  const Value* own = q.Find("filter");
  const bool hides = g.hidden != nullptr && !g.hidden->empty();
  if (hides && own != nullptr) {
    absl::StatusOr<query::Selector> s = query::Selector::Compile(*own);
    if (s.ok()) RETURN_IF_ERROR(CheckPaths(s->paths(), g, target));
  }
  if (g.filter) q.Set("filter", AndFilter(*g.filter, own));
  const Value* stages = q.Find("pipeline");
  if (stages != nullptr && !stages->is_array()) return Value(std::move(q));  // the parser says why
  if (hides || stages != nullptr) {
    Array pipeline;
    if (hides) pipeline.push_back(Value(Object{{"$project", ExcludeHidden(*g.hidden)}}));
    if (stages != nullptr) {
      for (const Value& st : stages->as_array()) {
        if (st.is_object() && st.as_object().size() == 1 && st.Find("$lookup") != nullptr) {
          ASSIGN_OR_RETURN(Value guarded, GuardLookup(*rules, caller, st, a));
          pipeline.push_back(std::move(guarded));
        } else {
          pipeline.push_back(st);
        }
      }
    }
    q.Set("pipeline", Value(std::move(pipeline)));
  }
  return Value(std::move(q));
}

absl::Status Access::AuthorizeTx(const Caller& caller, engine::TxRequest& tx, bool via_tx) const {
  std::shared_ptr<const Rules> rules = this->rules();
  if (rules == nullptr || caller.service) return absl::OkStatus();
  for (engine::WriteOp& op : tx.ops) {
    std::vector<Action> need = ActionsOf(op, via_tx);
    // The first action's rule sets the guard; the others must be allowed.
    ASSIGN_OR_RETURN(Grant g, rules->Decide(caller, op.topic, need[0]));
    for (size_t i = 1; i < need.size(); ++i) {
      RETURN_IF_ERROR(rules->Decide(caller, op.topic, need[i]).status());
    }
    if (!g.restricted()) continue;
    switch (op.kind) {
      case engine::WriteOp::Kind::kInsert:
      case engine::WriteOp::Kind::kPublish:
        for (const Object& doc : op.docs) RETURN_IF_ERROR(CheckDoc(doc, g, op.topic));
        break;
      case engine::WriteOp::Kind::kUpdate:
        RETURN_IF_ERROR(CheckPaths(op.selector.paths(), g, op.topic));
        RETURN_IF_ERROR(CheckPaths(op.modifier.paths(), g, op.topic));
        if (const Object* r = op.modifier.replacement()) RETURN_IF_ERROR(CheckDoc(*r, g, op.topic));
        break;
      case engine::WriteOp::Kind::kRemove:
        RETURN_IF_ERROR(CheckPaths(op.selector.paths(), g, op.topic));
        break;
      case engine::WriteOp::Kind::kExpect:
        if (op.match) RETURN_IF_ERROR(CheckPaths(op.match->paths(), g, op.topic));
        break;
    }
    op.guard = GuardFor(*rules, g);
    if (op.guard == nullptr) return absl::InternalError("row filter: does not compile");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<query::Projection>> Access::ForHistory(const Caller& caller,
                                                                    std::string_view target) const {
  std::shared_ptr<const Rules> rules = this->rules();
  if (rules == nullptr || caller.service) return std::nullopt;
  ASSIGN_OR_RETURN(Grant g, rules->Decide(caller, target, Action::kHistory));
  if (g.filter) {
    return absl::PermissionDeniedError(
        StrCat("Access denied: the history of '", target, "' is not available under a row filter"));
  }
  if (g.hidden == nullptr || g.hidden->empty()) return std::nullopt;
  absl::StatusOr<query::Projection> p = query::Projection::Compile(ExcludeHidden(*g.hidden));
  if (!p.ok()) return absl::InternalError(StrCat("hidden fields: ", p.status().message()));
  return std::optional<query::Projection>(std::move(*p));
}

Access::Visibility Access::TopicVisibility(const Caller& caller, std::string_view topic) const {
  std::shared_ptr<const Rules> rules = this->rules();
  if (rules == nullptr || caller.service) return {true, true};
  for (Action a : {Action::kQuery, Action::kSub}) {
    absl::StatusOr<Grant> g = rules->Decide(caller, topic, a);
    if (g.ok()) return {true, !g->filter.has_value()};
  }
  return {false, false};
}

}  // namespace ddp::access
