#include "query/live/plan.h"

#include <algorithm>

#include "common/status_macros.h"
#include "common/strings.h"
#include "protocol/json.h"

namespace ddp::query {
namespace {

absl::Status Bad(std::string_view where, std::string_view what) {
  return absl::InvalidArgumentError(StrCat("invalid query: ", where, ": ", what));
}

// Status messages from other compilers, prefixed with where they came from.
absl::Status Wrap(std::string_view where, const absl::Status& s) {
  return absl::InvalidArgumentError(StrCat("invalid query: ", where, ": ", s.message()));
}

bool IsTopicName(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  bool prev_dot = true;
  for (char c : s) {
    if (c == '.') {
      if (prev_dot) return false;
      prev_dot = true;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-')) {
      return false;
    }
    prev_dot = false;
  }
  return !prev_dot;
}

absl::StatusOr<int64_t> PositiveInt(std::string_view where, std::string_view name, const Value* v,
                                    bool allow_zero) {
  if (v == nullptr) return Bad(where, StrCat(name, " is required"));
  if (!v->is_number() || std::trunc(v->ToDouble()) != v->ToDouble() || v->ToDouble() < 0 ||
      (!allow_zero && v->ToDouble() == 0) || v->ToDouble() > 9e15) {
    return Bad(where, StrCat(name, " must be a ", allow_zero ? "non-negative" : "positive",
                             " integer"));
  }
  return static_cast<int64_t>(v->ToDouble());
}

absl::Status CheckFieldName(std::string_view where, std::string_view name) {
  if (name.empty() || name[0] == '$') return Bad(where, StrCat("invalid field name '", name, "'"));
  return absl::OkStatus();
}

absl::StatusOr<ProjectStage> ParseProject(std::string_view where, const Value& spec, bool add) {
  if (!spec.is_object() || spec.as_object().empty()) {
    return Bad(where, "needs a non-empty object");
  }
  ProjectStage p;
  p.add = add;
  Object plain;
  int mode = -1;  // 1 include, 0 exclude
  for (const Member& m : spec.as_object()) {
    RETURN_IF_ERROR(CheckFieldName(where, m.key));
    bool flag = !add && (m.value.is_bool() || (m.value.is_number() &&
                                               (m.value.ToDouble() == 0 || m.value.ToDouble() == 1)));
    if (flag) {
      bool on = m.value.is_bool() ? m.value.as_bool() : m.value.ToDouble() != 0;
      if (m.key == "_id") {
        p.keep_id = on;
        continue;
      }
      int this_mode = on ? 1 : 0;
      if (mode != -1 && mode != this_mode) {
        return Bad(where, "cannot mix inclusion and exclusion (except for _id)");
      }
      mode = this_mode;
      plain.Append(m.key, Value(on ? 1 : 0));
      continue;
    }
    absl::StatusOr<Expr> e = Expr::Compile(m.value);
    if (!e.ok()) return Wrap(StrCat(where, " field '", m.key, "'"), e.status());
    p.computed.emplace_back(m.key, std::move(*e));
  }
  if (!add) {
    if (mode == 0 && !p.computed.empty()) {
      return Bad(where, "an exclusion projection cannot compute fields");
    }
    if (mode == -1 && p.computed.empty()) {
      // Only _id was named: {_id: 0} excludes it, {_id: 1} keeps only it.
      p.exclude = !p.keep_id;
      p.has_plain = true;
      plain.Append("_id", Value(p.keep_id ? 1 : 0));
    } else {
      p.exclude = mode == 0;
      p.has_plain = mode != -1;
      if (p.exclude ? !p.keep_id : p.has_plain) plain.Append("_id", Value(p.keep_id ? 1 : 0));
    }
    if (p.has_plain) {
      absl::StatusOr<Projection> proj = Projection::Compile(Value(std::move(plain)));
      if (!proj.ok()) return Wrap(where, proj.status());
      p.plain = std::move(*proj);
    }
  }
  return p;
}

absl::StatusOr<GroupStage> ParseGroup(std::string_view where, const Value& spec) {
  if (!spec.is_object()) return Bad(where, "needs an object");
  const Value* id = spec.Find("_id");
  if (id == nullptr) return Bad(where, "needs an _id (the group key; null for one group)");
  GroupStage g;
  absl::StatusOr<Expr> key = Expr::Compile(*id);
  if (!key.ok()) return Wrap(StrCat(where, " _id"), key.status());
  g.key = std::move(*key);
  for (const Member& m : spec.as_object()) {
    if (m.key == "_id") continue;
    RETURN_IF_ERROR(CheckFieldName(where, m.key));
    if (m.key.find('.') != std::string::npos) {
      return Bad(where, StrCat("field '", m.key, "' must not contain '.'"));
    }
    if (!m.value.is_object() || m.value.as_object().size() != 1) {
      return Bad(where, StrCat("field '", m.key, "' needs {<accumulator>: <expression>}"));
    }
    const Member& acc = m.value.as_object().at(0);
    static const std::pair<const char*, Accumulator::Kind> kKinds[] = {
        {"$sum", Accumulator::Kind::kSum},     {"$avg", Accumulator::Kind::kAvg},
        {"$min", Accumulator::Kind::kMin},     {"$max", Accumulator::Kind::kMax},
        {"$count", Accumulator::Kind::kCount}, {"$first", Accumulator::Kind::kFirst},
        {"$last", Accumulator::Kind::kLast},   {"$push", Accumulator::Kind::kPush},
        {"$addToSet", Accumulator::Kind::kAddToSet}};
    Accumulator a;
    a.field = m.key;
    bool known = false;
    for (const auto& [name, kind] : kKinds) {
      if (acc.key == name) {
        a.kind = kind;
        known = true;
      }
    }
    if (!known) return Bad(where, StrCat("unknown accumulator ", acc.key, " for '", m.key, "'"));
    if (a.kind == Accumulator::Kind::kCount) {
      if (!acc.value.is_object() || !acc.value.as_object().empty()) {
        return Bad(where, "$count takes {}");
      }
    } else {
      absl::StatusOr<Expr> arg = Expr::Compile(acc.value);
      if (!arg.ok()) return Wrap(StrCat(where, " ", acc.key), arg.status());
      a.arg = std::move(*arg);
    }
    g.accumulators.push_back(std::move(a));
  }
  return g;
}

absl::StatusOr<WindowStage> ParseWindow(std::string_view where, const Value& spec) {
  if (!spec.is_object()) return Bad(where, "needs an object");
  WindowStage w;
  int kinds = 0;
  for (const Member& m : spec.as_object()) {
    if (m.key == "on") {
      if (!m.value.is_string() || m.value.as_string().empty() || m.value.as_string()[0] == '$') {
        return Bad(where, "on must be a field name");
      }
      w.on = m.value.as_string();
    } else if (m.key == "tumbling") {
      ++kinds;
      w.kind = WindowStage::Kind::kTumbling;
      ASSIGN_OR_RETURN(w.size, PositiveInt(where, "tumbling", &m.value, false));
    } else if (m.key == "hopping") {
      ++kinds;
      w.kind = WindowStage::Kind::kHopping;
      if (!m.value.is_object()) return Bad(where, "hopping needs {size, advance}");
      ASSIGN_OR_RETURN(w.size, PositiveInt(where, "hopping.size", m.value.Find("size"), false));
      ASSIGN_OR_RETURN(w.advance,
                       PositiveInt(where, "hopping.advance", m.value.Find("advance"), false));
      if (w.size / w.advance > 1000) return Bad(where, "hopping: size/advance above 1000");
    } else if (m.key == "session") {
      ++kinds;
      w.kind = WindowStage::Kind::kSession;
      if (!m.value.is_object()) return Bad(where, "session needs {gap}");
      ASSIGN_OR_RETURN(w.gap, PositiveInt(where, "session.gap", m.value.Find("gap"), false));
    } else if (m.key == "allowedLateness") {
      ASSIGN_OR_RETURN(w.allowed_lateness, PositiveInt(where, "allowedLateness", &m.value, true));
    } else if (m.key == "emit") {
      if (!m.value.is_string() || (m.value.as_string() != "changes" && m.value.as_string() != "final")) {
        return Bad(where, "emit must be \"changes\" or \"final\"");
      }
      w.emit_final = m.value.as_string() == "final";
    } else {
      return Bad(where, StrCat("unknown option '", m.key, "'"));
    }
  }
  if (w.on.empty()) return Bad(where, "needs on (the time field)");
  if (kinds != 1) return Bad(where, "needs exactly one of tumbling, hopping, session");
  return w;
}

}  // namespace

std::string CollectionFor(const LivePlan& plan, std::string_view topic) {
  if (!plan.as.empty()) return plan.as;
  if (plan.derived || topic.empty()) return plan.target;
  return std::string(topic);
}

absl::StatusOr<std::shared_ptr<const LivePlan>> LivePlan::Parse(std::string_view target,
                                                                const Value& query,
                                                                const LiveLimits& limits) {
  auto plan = std::make_shared<LivePlan>();
  plan->target = std::string(target);
  plan->limits = limits;
  plan->is_pattern = target.find('*') != std::string_view::npos ||
                     (target.size() >= 1 && target.back() == '>');
  static const Object kEmpty;
  if (!query.is_null() && !query.is_object()) return Bad("query", "must be an object");
  const Object& q = query.is_null() ? kEmpty : query.as_object();
  static const char* kKeys[] = {"filter", "fields", "sort", "skip", "limit", "ordered", "as",
                                "pipeline"};
  for (const Member& m : q) {
    if (std::none_of(std::begin(kKeys), std::end(kKeys), [&](const char* k) { return m.key == k; })) {
      return Bad(StrCat("'", m.key, "'"),
                 "unknown key (filter, fields, sort, skip, limit, ordered, as, pipeline)");
    }
  }
  if (const Value* f = q.Find("filter")) {
    absl::StatusOr<Selector> s = Selector::Compile(*f);
    if (!s.ok()) return Wrap("filter", s.status());
    plan->filter = std::move(*s);
  }
  if (!plan->filter.matches_all()) plan->stages.push_back(FilterStage{plan->filter});
  if (const Value* o = q.Find("ordered")) {
    if (!o->is_bool()) return Bad("ordered", "must be a boolean");
    plan->ordered = o->as_bool();
  }
  if (const Value* as = q.Find("as")) {
    if (!as->is_string() || as->as_string().empty()) return Bad("as", "must be a non-empty string");
    plan->as = as->as_string();
  }
  std::optional<Sort> order;  // the order the stream is in, for $first/$last and the output
  if (const Value* p = q.Find("pipeline")) {
    if (!p->is_array()) return Bad("pipeline", "must be an array of stages");
    const Array& stages = p->as_array();
    if (stages.size() > limits.max_stages) {
      return Bad("pipeline", StrCat("more than ", limits.max_stages, " stages (max_stages)"));
    }
    size_t lookups = 0;
    for (size_t i = 0; i < stages.size(); ++i) {
      const Value& st = stages[i];
      if (!st.is_object() || st.as_object().size() != 1) {
        return Bad(StrCat("pipeline[", i, "]"), "a stage is an object with one $ key");
      }
      const std::string& name = st.as_object().at(0).key;
      const Value& spec = st.as_object().at(0).value;
      std::string where = StrCat("pipeline[", i, "] ", name);
      if (name == "$match") {
        absl::StatusOr<Selector> s = Selector::Compile(spec);
        if (!s.ok()) return Wrap(where, s.status());
        plan->stages.push_back(FilterStage{std::move(*s)});
      } else if (name == "$project" || name == "$addFields" || name == "$set") {
        ASSIGN_OR_RETURN(ProjectStage ps, ParseProject(where, spec, name != "$project"));
        plan->stages.push_back(std::move(ps));
      } else if (name == "$sort" || name == "$skip" || name == "$limit") {
        SortLimitStage sl;
        size_t j = i;
        if (name == "$sort") {
          absl::StatusOr<Sort> s = Sort::Compile(spec);
          if (!s.ok()) return Wrap(where, s.status());
          if (s->empty()) return Bad(where, "needs at least one field");
          sl.sort = std::move(*s);
          order = sl.sort;
          ++j;
        }
        // $skip and $limit right after (or on their own) form one window.
        for (; j < stages.size(); ++j) {
          const Value& next = stages[j];
          if (!next.is_object() || next.as_object().size() != 1) break;
          const std::string& nn = next.as_object().at(0).key;
          std::string w2 = StrCat("pipeline[", j, "] ", nn);
          if (nn == "$skip" && sl.limit == 0) {
            ASSIGN_OR_RETURN(int64_t n, PositiveInt(w2, "$skip", &next.as_object().at(0).value, true));
            sl.skip += n;
          } else if (nn == "$limit" && sl.limit == 0) {
            ASSIGN_OR_RETURN(sl.limit, PositiveInt(w2, "$limit", &next.as_object().at(0).value, false));
          } else {
            break;
          }
        }
        if (sl.skip > 0 || sl.limit > 0) plan->stages.push_back(std::move(sl));
        i = j - 1;
      } else if (name == "$group") {
        ASSIGN_OR_RETURN(GroupStage g, ParseGroup(where, spec));
        g.order = order;
        if (i > 0 && stages[i - 1].is_object() && stages[i - 1].as_object().size() == 1 &&
            stages[i - 1].as_object().at(0).key == "$window") {
          g.windowed = true;
          std::get<WindowStage>(plan->stages.back()).session_key = g.key;
        }
        plan->stages.push_back(std::move(g));
        plan->derived = true;
        order.reset();  // groups come out in key order
      } else if (name == "$window") {
        ASSIGN_OR_RETURN(WindowStage w, ParseWindow(where, spec));
        bool group_next = i + 1 < stages.size() && stages[i + 1].is_object() &&
                          stages[i + 1].as_object().size() == 1 &&
                          stages[i + 1].as_object().at(0).key == "$group";
        if (!group_next) return Bad(where, "must be followed by a $group");
        plan->stages.push_back(std::move(w));
      } else if (name == "$lookup") {
        if (++lookups > limits.max_lookups) {
          return Bad(where, StrCat("more than ", limits.max_lookups, " $lookup stages (max_lookups)"));
        }
        if (!spec.is_object()) return Bad(where, "needs {from, localField, foreignField, as}");
        LookupStage l;
        if (const Value* fp = spec.Find("pipeline")) {
          if (!fp->is_array()) return Bad(where, "pipeline must be an array of $match/$project stages");
          for (size_t j = 0; j < fp->as_array().size(); ++j) {
            const Value& st = fp->as_array()[j];
            std::string at = StrCat("pipeline[", j, "]");
            if (!st.is_object() || st.as_object().size() != 1) {
              return Bad(where, StrCat(at, " must be {$match: ...} or {$project: ...}"));
            }
            const Member& m = st.as_object().at(0);
            LookupStage::ForeignStep step;
            if (m.key == "$match") {
              absl::StatusOr<Selector> sel = Selector::Compile(m.value);
              if (!sel.ok()) return Bad(where, StrCat(at, " $match: ", ToStd(sel.status().message())));
              step.match = std::move(*sel);
            } else if (m.key == "$project") {
              absl::StatusOr<Projection> pr = Projection::Compile(m.value);
              if (!pr.ok()) return Bad(where, StrCat(at, " $project: ", ToStd(pr.status().message())));
              step.project = std::move(*pr);
            } else {
              return Bad(where, StrCat(at, ": only $match and $project may run on the from side"));
            }
            l.foreign.push_back(std::move(step));
          }
        }
        for (const char* k : {"from", "localField", "foreignField", "as"}) {
          const Value* v = spec.Find(k);
          if (v == nullptr || !v->is_string() || v->as_string().empty()) {
            return Bad(where, StrCat(k, " must be a non-empty string"));
          }
        }
        for (const Member& m : spec.as_object()) {
          if (m.key != "from" && m.key != "localField" && m.key != "foreignField" && m.key != "as" &&
              m.key != "pipeline") {
            return Bad(where, StrCat("unsupported option '", m.key, "'"));
          }
        }
        l.from = spec.Find("from")->as_string();
        l.local_field = spec.Find("localField")->as_string();
        l.foreign_field = spec.Find("foreignField")->as_string();
        l.as = spec.Find("as")->as_string();
        if (!IsTopicName(l.from)) return Bad(where, StrCat("from '", l.from, "' is not a topic name"));
        if (l.as.find('.') != std::string::npos || l.as[0] == '$') {
          return Bad(where, "as must be a plain field name");
        }
        plan->lookup_topics.push_back(l.from);
        plan->stages.push_back(std::move(l));
      } else if (name == "$partition") {
        if (!spec.is_object()) return Bad(where, "needs {by, count, index}");
        PartitionStage p;
        const Value* by = spec.Find("by");
        if (by == nullptr || !by->is_string() || by->as_string().empty()) {
          return Bad(where, "by must be a field name or expression string");
        }
        std::string expr = by->as_string()[0] == '$' ? by->as_string() : "$" + by->as_string();
        absl::StatusOr<Expr> e = Expr::Compile(Value(expr));
        if (!e.ok()) return Wrap(where, e.status());
        p.by = std::move(*e);
        ASSIGN_OR_RETURN(p.count, PositiveInt(where, "count", spec.Find("count"), false));
        ASSIGN_OR_RETURN(p.index, PositiveInt(where, "index", spec.Find("index"), true));
        if (p.index >= p.count) return Bad(where, "index must be below count");
        for (const Member& m : spec.as_object()) {
          if (m.key != "by" && m.key != "count" && m.key != "index") {
            return Bad(where, StrCat("unknown option '", m.key, "'"));
          }
        }
        plan->stages.push_back(std::move(p));
      } else {
        return Bad(where, "unknown stage (supported: $match $project $addFields $set $sort $skip "
                          "$limit $group $window $lookup $partition)");
      }
    }
  }
  // Top-level sort/skip/limit apply after the pipeline.
  SortLimitStage top;
  if (const Value* s = q.Find("sort")) {
    absl::StatusOr<Sort> sort = Sort::Compile(*s);
    if (!sort.ok()) return Wrap("sort", sort.status());
    top.sort = std::move(*sort);
    order = top.sort;
  }
  if (const Value* s = q.Find("skip")) {
    ASSIGN_OR_RETURN(top.skip, PositiveInt("skip", "skip", s, true));
  }
  if (const Value* l = q.Find("limit")) {
    ASSIGN_OR_RETURN(top.limit, PositiveInt("limit", "limit", l, true));
  }
  if (top.limit > static_cast<int64_t>(limits.max_result)) {
    return Bad("limit", StrCat("above the result limit of ", limits.max_result, " (max_result)"));
  }
  if (top.skip > 0 || top.limit > 0) {
    if (!order) order = top.sort;  // by _id
    top.sort = *order;
    plan->stages.push_back(std::move(top));
  }
  if (const Value* f = q.Find("fields")) {
    absl::StatusOr<Projection> p = Projection::Compile(*f);
    if (!p.ok()) return Wrap("fields", p.status());
    plan->fields = std::move(*p);
  }
  plan->order = order.value_or(Sort());
  // Canonical form: top-level keys and the filter's top-level keys sorted
  // (their order carries no meaning); everything deeper as given, because
  // object equality in MongoDB is order-sensitive.
  Object canon;
  std::vector<const Member*> members;
  for (const Member& m : q) members.push_back(&m);
  std::sort(members.begin(), members.end(),
            [](const Member* a, const Member* b) { return a->key < b->key; });
  for (const Member* m : members) {
    if (m->key == "filter" && m->value.is_object()) {
      std::vector<const Member*> fm;
      for (const Member& x : m->value.as_object()) fm.push_back(&x);
      std::sort(fm.begin(), fm.end(), [](const Member* a, const Member* b) { return a->key < b->key; });
      Object sorted;
      for (const Member* x : fm) sorted.Append(x->key, x->value);
      canon.Append(m->key, Value(std::move(sorted)));
    } else {
      canon.Append(m->key, m->value);
    }
  }
  plan->canonical = StrCat(target, "\n", ToJson(Value(std::move(canon))));
  return std::shared_ptr<const LivePlan>(std::move(plan));
}

}  // namespace ddp::query
