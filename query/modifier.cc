#include "query/modifier.h"

#include <algorithm>
#include <cmath>

#include "common/status_macros.h"
#include "common/strings.h"
#include "protocol/json.h"
#include "query/path.h"
#include "query/selector.h"

namespace ddp::query {

struct Modifier::Op {
  enum class Kind {
    kSet,
    kSetOnInsert,
    kUnset,
    kInc,
    kMul,
    kMin,
    kMax,
    kRename,
    kPush,
    kAddToSet,
    kPop,
    kPull,
    kPullAll,
    kCurrentDate,
  };
  Kind kind;
  std::string name;  // "$set", for messages
  Path path;
  Value operand;
  Path dest;  // $rename
  // $push / $addToSet
  Array each;
  std::optional<int64_t> position;
  std::optional<int64_t> slice;
  std::optional<Value> sort;
  // $pull with a condition
  std::shared_ptr<const Selector> pull_selector;
  bool pull_documents = false;  // the selector is over document elements, else over {"v": element}
};

namespace {

using Op = Modifier::Op;

absl::Status Bad(std::string_view what) { return absl::InvalidArgumentError(std::string(what)); }

std::string Short(const Value& v) {
  std::string s = ToJson(v);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

absl::StatusOr<Op::Kind> KindOf(std::string_view name) {
  static const std::pair<const char*, Op::Kind> kKinds[] = {
      {"$set", Op::Kind::kSet},           {"$setOnInsert", Op::Kind::kSetOnInsert},
      {"$unset", Op::Kind::kUnset},       {"$inc", Op::Kind::kInc},
      {"$mul", Op::Kind::kMul},           {"$min", Op::Kind::kMin},
      {"$max", Op::Kind::kMax},           {"$rename", Op::Kind::kRename},
      {"$push", Op::Kind::kPush},         {"$addToSet", Op::Kind::kAddToSet},
      {"$pop", Op::Kind::kPop},           {"$pull", Op::Kind::kPull},
      {"$pullAll", Op::Kind::kPullAll},   {"$currentDate", Op::Kind::kCurrentDate},
  };
  for (const auto& [n, k] : kKinds) {
    if (name == n) return k;
  }
  if (name == "$bit" || name == "$pushAll") return Bad(StrCat("unsupported modifier ", name));
  return Bad(StrCat("unknown modifier ", name));
}

absl::Status CheckPath(std::string_view op, std::string_view dotted) {
  if (dotted.empty()) return Bad(StrCat(op, ": an empty field name is not allowed"));
  Path p(dotted);
  for (const std::string& part : p.parts()) {
    if (part.empty()) return Bad(StrCat(op, ": the field '", dotted, "' has an empty part"));
    if (part == "$" || part.rfind("$[", 0) == 0) {
      return Bad(StrCat(op, ": the positional operator in '", dotted, "' is not supported"));
    }
    if (part[0] == '$') {
      return Bad(StrCat(op, ": the field '", dotted, "' must not start with '$'"));
    }
  }
  return absl::OkStatus();
}

// `a` is `b` or an ancestor of it, at a segment boundary.
bool IsPrefixPath(const std::string& a, const std::string& b) {
  return b.size() >= a.size() && b.compare(0, a.size(), a) == 0 &&
         (b.size() == a.size() || b[a.size()] == '.');
}

absl::StatusOr<int64_t> IntOperand(std::string_view what, const Value& v) {
  if (!v.is_number() || std::trunc(v.ToDouble()) != v.ToDouble() || std::fabs(v.ToDouble()) > 9e15) {
    return Bad(StrCat(what, " needs an integer"));
  }
  return static_cast<int64_t>(v.ToDouble());
}

absl::Status CompileEach(Op& op) {
  const Value& v = op.operand;
  bool has_each = v.is_object() && v.as_object().Contains("$each");
  if (!has_each) {
    op.each = Array{v};
    return absl::OkStatus();
  }
  for (const Member& m : v.as_object()) {
    if (m.key == "$each") {
      if (!m.value.is_array()) return Bad(StrCat(op.name, ": $each needs an array"));
      op.each = m.value.as_array();
    } else if (op.kind == Op::Kind::kPush && m.key == "$position") {
      ASSIGN_OR_RETURN(int64_t p, IntOperand("$position", m.value));
      op.position = p;
    } else if (op.kind == Op::Kind::kPush && m.key == "$slice") {
      ASSIGN_OR_RETURN(int64_t s, IntOperand("$slice", m.value));
      op.slice = s;
    } else if (op.kind == Op::Kind::kPush && m.key == "$sort") {
      if (!(m.value.is_number() && std::fabs(m.value.ToDouble()) == 1) && !m.value.is_object()) {
        return Bad("$push: $sort needs 1, -1 or an object of fields");
      }
      op.sort = m.value;
    } else {
      return Bad(StrCat(op.name, ": unrecognized clause ", m.key, " with $each"));
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- paths

Value* Child(Value& container, const std::string& key) {
  if (container.is_object()) return container.as_object().Find(key);
  if (container.is_array() && IsNumericKey(key)) {
    size_t i = static_cast<size_t>(std::stoull(key));
    if (i < container.as_array().size()) return &container.as_array()[i];
  }
  return nullptr;
}

// The container that holds the last part of `parts`. With `create`,
// missing objects are made on the way and scalars in the way are errors;
// without, nullptr means "nothing to do".
absl::StatusOr<Value*> Parent(Value& doc, const std::vector<std::string>& parts, bool create,
                              std::string_view op) {
  Value* cur = &doc;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const std::string& part = parts[i];
    if (cur->is_array() && !IsNumericKey(part)) {
      if (!create) return nullptr;
      return Bad(StrCat(op, ": Cannot create field '", part, "' in array element ",
                        Short(*cur)));
    }
    Value* next = Child(*cur, part);
    if (next == nullptr) {
      if (!create) return nullptr;
      if (cur->is_object()) {
        next = &cur->as_object().Append(part, Value(Object()));
      } else {
        Array& a = cur->as_array();
        size_t index = static_cast<size_t>(std::stoull(part));
        if (index > a.size() + 1000000) return Bad(StrCat(op, ": array index ", part, " too large"));
        a.resize(index + 1);
        a[index] = Value(Object());
        next = &a[index];
      }
    } else if (!next->is_object() && !next->is_array()) {
      if (!create) return nullptr;
      return Bad(StrCat(op, ": Cannot create field '", parts[i + 1], "' in element {", part,
                        ": ", Short(*next), "}"));
    }
    cur = next;
  }
  return cur;
}

absl::Status SetIn(Value& parent, const std::string& key, Value v, std::string_view op) {
  if (parent.is_object()) {
    parent.as_object().Set(key, std::move(v));
    return absl::OkStatus();
  }
  if (!IsNumericKey(key)) {
    return Bad(StrCat(op, ": Cannot create field '", key, "' in array ", Short(parent)));
  }
  Array& a = parent.as_array();
  size_t index = static_cast<size_t>(std::stoull(key));
  if (index > a.size() + 1000000) return Bad(StrCat(op, ": array index ", key, " too large"));
  if (index >= a.size()) a.resize(index + 1);  // pads with null, like MongoDB
  a[index] = std::move(v);
  return absl::OkStatus();
}

// ---------------------------------------------------------------- arithmetic

absl::StatusOr<Value> Arith(const Op& op, const Value* current, const Value& doc_id) {
  const Value& operand = op.operand;
  bool inc = op.kind == Op::Kind::kInc;
  if (current == nullptr) {
    if (inc) return operand;
    return operand.is_int() ? Value(int64_t{0}) : Value(0.0);
  }
  if (!current->is_number()) {
    return Bad(StrCat("Cannot apply ", op.name, " to a value of non-numeric type. {_id: ",
                      Short(doc_id), "} has the field '", op.path.dotted(), "' of non-numeric type ",
                      current->TypeName()));
  }
  if (current->is_int() && operand.is_int()) {
    int64_t r;
    bool overflow = inc ? __builtin_add_overflow(current->as_int(), operand.as_int(), &r)
                        : __builtin_mul_overflow(current->as_int(), operand.as_int(), &r);
    if (overflow) {
      // MongoDB refuses rather than silently losing precision.
      return Bad(StrCat("Failed to apply ", op.name, " to the field '", op.path.dotted(),
                        "': the 64-bit integer result would overflow"));
    }
    return Value(r);
  }
  double a = current->ToDouble(), b = operand.ToDouble();
  return Value(inc ? a + b : a * b);
}

int SortCompare(const Value& a, const Value& b, const Value& spec) {
  if (spec.is_number()) return spec.ToDouble() > 0 ? Compare(a, b) : -Compare(a, b);
  for (const Member& m : spec.as_object()) {
    static const Value kNull;
    const Value* x = a.FindPath(m.key);
    const Value* y = b.FindPath(m.key);
    int c = Compare(x ? *x : kNull, y ? *y : kNull);
    if (m.value.is_number() && m.value.ToDouble() < 0) c = -c;
    if (c != 0) return c;
  }
  return 0;
}

absl::Status ApplyPushLike(const Op& op, Value& parent, const std::string& key, const Value& id) {
  Value* current = Child(parent, key);
  if (current != nullptr && !current->is_array()) {
    return Bad(StrCat("The field '", op.path.dotted(), "' must be an array but is of type ",
                      current->TypeName(), " in document {_id: ", Short(id), "}"));
  }
  Array a = current != nullptr ? current->as_array() : Array();
  if (op.kind == Op::Kind::kAddToSet) {
    for (const Value& v : op.each) {
      bool present = std::any_of(a.begin(), a.end(), [&](const Value& e) { return Compare(e, v) == 0; });
      if (!present) a.push_back(v);
    }
  } else {
    size_t at = a.size();
    if (op.position) {
      int64_t p = *op.position;
      if (p < 0) p = std::max<int64_t>(0, static_cast<int64_t>(a.size()) + p);
      at = std::min<size_t>(static_cast<size_t>(p), a.size());
    }
    a.insert(a.begin() + static_cast<ptrdiff_t>(at), op.each.begin(), op.each.end());
    if (op.sort) {
      std::stable_sort(a.begin(), a.end(), [&](const Value& x, const Value& y) {
        return SortCompare(x, y, *op.sort) < 0;
      });
    }
    if (op.slice) {
      int64_t s = *op.slice;
      if (s >= 0) {
        if (static_cast<size_t>(s) < a.size()) a.resize(static_cast<size_t>(s));
      } else if (static_cast<size_t>(-s) < a.size()) {
        a.erase(a.begin(), a.end() - static_cast<ptrdiff_t>(-s));
      }
    }
  }
  return SetIn(parent, key, Value(std::move(a)), op.name);
}

absl::Status ApplyOp(const Op& op, Value& doc, int64_t now_millis, const Value& id) {
  const auto& parts = op.path.parts();
  const std::string& last = parts.back();
  switch (op.kind) {
    case Op::Kind::kSet:
    case Op::Kind::kSetOnInsert: {
      ASSIGN_OR_RETURN(Value * parent, Parent(doc, parts, true, op.name));
      return SetIn(*parent, last, op.operand, op.name);
    }
    case Op::Kind::kCurrentDate: {
      ASSIGN_OR_RETURN(Value * parent, Parent(doc, parts, true, op.name));
      return SetIn(*parent, last, Value(Date{now_millis}), op.name);
    }
    case Op::Kind::kUnset: {
      ASSIGN_OR_RETURN(Value * parent, Parent(doc, parts, false, op.name));
      if (parent == nullptr) return absl::OkStatus();
      if (parent->is_object()) {
        parent->as_object().Erase(last);
      } else if (parent->is_array()) {
        // MongoDB leaves a null in the array rather than shifting elements.
        if (Value* e = Child(*parent, last)) *e = Value();
      }
      return absl::OkStatus();
    }
    case Op::Kind::kInc:
    case Op::Kind::kMul: {
      ASSIGN_OR_RETURN(Value * parent, Parent(doc, parts, true, op.name));
      ASSIGN_OR_RETURN(Value v, Arith(op, Child(*parent, last), id));
      return SetIn(*parent, last, std::move(v), op.name);
    }
    case Op::Kind::kMin:
    case Op::Kind::kMax: {
      ASSIGN_OR_RETURN(Value * parent, Parent(doc, parts, true, op.name));
      const Value* current = Child(*parent, last);
      int c = current == nullptr ? 0 : Compare(op.operand, *current);
      bool replace = current == nullptr || (op.kind == Op::Kind::kMin ? c < 0 : c > 0);
      if (replace) return SetIn(*parent, last, op.operand, op.name);
      return absl::OkStatus();
    }
    case Op::Kind::kRename: {
      ASSIGN_OR_RETURN(Value * parent, Parent(doc, parts, false, op.name));
      if (parent == nullptr) return absl::OkStatus();
      if (parent->is_array()) return Bad("$rename: the source field cannot be an array element");
      Value* current = parent->as_object().Find(last);
      if (current == nullptr) return absl::OkStatus();
      Value moved = std::move(*current);
      parent->as_object().Erase(last);
      ASSIGN_OR_RETURN(Value * dest_parent, Parent(doc, op.dest.parts(), true, op.name));
      if (dest_parent->is_array()) return Bad("$rename: the target field cannot be an array element");
      return SetIn(*dest_parent, op.dest.parts().back(), std::move(moved), op.name);
    }
    case Op::Kind::kPush:
    case Op::Kind::kAddToSet: {
      ASSIGN_OR_RETURN(Value * parent, Parent(doc, parts, true, op.name));
      return ApplyPushLike(op, *parent, last, id);
    }
    case Op::Kind::kPop:
    case Op::Kind::kPull:
    case Op::Kind::kPullAll: {
      ASSIGN_OR_RETURN(Value * parent, Parent(doc, parts, false, op.name));
      if (parent == nullptr) return absl::OkStatus();
      Value* current = Child(*parent, last);
      if (current == nullptr) return absl::OkStatus();
      if (!current->is_array()) {
        return Bad(StrCat("The field '", op.path.dotted(), "' must be an array but is of type ",
                          current->TypeName(), " in document {_id: ", Short(id), "}"));
      }
      Array& a = current->as_array();
      if (op.kind == Op::Kind::kPop) {
        if (!a.empty()) {
          if (op.operand.ToDouble() > 0) {
            a.pop_back();
          } else {
            a.erase(a.begin());
          }
        }
      } else if (op.kind == Op::Kind::kPullAll) {
        std::erase_if(a, [&](const Value& e) {
          return std::any_of(op.each.begin(), op.each.end(),
                             [&](const Value& v) { return Compare(e, v) == 0; });
        });
      } else if (op.pull_documents) {
        // Only documents can match a document condition.
        std::erase_if(a, [&](const Value& e) {
          return e.is_object() && op.pull_selector->Matches(e.as_object());
        });
      } else if (op.pull_selector) {
        std::erase_if(a, [&](const Value& e) {
          return op.pull_selector->Matches(Object{{"v", e}});
        });
      } else {
        std::erase_if(a, [&](const Value& e) { return Compare(e, op.operand) == 0; });
      }
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

bool IsOperatorObject(const Value& v) {
  return v.is_object() && !v.as_object().empty() && !v.as_object().at(0).key.empty() &&
         v.as_object().at(0).key[0] == '$';
}

// {$gte: 6}: a condition on a value; {score: 8} or {$or: [...]} are
// queries over documents.
bool IsValueCondition(const Value& v) {
  if (!v.is_object() || v.as_object().empty()) return false;
  for (const Member& m : v.as_object()) {
    if (m.key.empty() || m.key[0] != '$' || m.key == "$and" || m.key == "$or" ||
        m.key == "$nor" || m.key == "$comment") {
      return false;
    }
  }
  return true;
}

absl::Status ValidateNames(const Value& v, int depth) {
  if (depth > 100) return Bad("document nested too deeply");
  if (v.is_object()) {
    for (const Member& m : v.as_object()) {
      if (!m.key.empty() && m.key[0] == '$') {
        return Bad(StrCat("invalid field name '", m.key, "': field names must not start with '$'"));
      }
      if (m.key.find('.') != std::string::npos) {
        return Bad(StrCat("invalid field name '", m.key, "': field names must not contain '.'"));
      }
      RETURN_IF_ERROR(ValidateNames(m.value, depth + 1));
    }
  } else if (v.is_array()) {
    for (const Value& e : v.as_array()) RETURN_IF_ERROR(ValidateNames(e, depth + 1));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateDocument(const Value& doc) {
  if (!doc.is_object()) return Bad("a document must be an object");
  if (const Value* id = doc.Find("_id"); id != nullptr && !id->is_string()) {
    return Bad(StrCat("_id must be a string, not ", id->TypeName()));
  }
  return ValidateNames(doc, 0);
}

absl::Status SetPath(Value& doc, std::string_view dotted, Value value) {
  Path path(dotted);
  ASSIGN_OR_RETURN(Value * parent, Parent(doc, path.parts(), true, "upsert"));
  return SetIn(*parent, path.parts().back(), std::move(value), "upsert");
}

const std::vector<std::string>& Modifier::paths() const {
  static const std::vector<std::string> kNone;
  return paths_ != nullptr ? *paths_ : kNone;
}

absl::StatusOr<Modifier> Modifier::Compile(const Value& modifier) {
  if (!modifier.is_object()) return Bad("a modifier must be an object");
  Modifier out;
  const Object& o = modifier.as_object();
  bool any_operator = false, any_field = false;
  for (const Member& m : o) {
    (!m.key.empty() && m.key[0] == '$' ? any_operator : any_field) = true;
  }
  if (any_operator && any_field) {
    return Bad("a modifier cannot mix update operators and plain fields");
  }
  if (!any_operator) {
    RETURN_IF_ERROR(ValidateNames(modifier, 0));
    out.replacement_ = o;
    return out;
  }
  auto ops = std::make_shared<std::vector<Op>>();
  std::vector<std::string> touched;
  for (const Member& m : o) {
    ASSIGN_OR_RETURN(Op::Kind kind, KindOf(m.key));
    if (!m.value.is_object()) return Bad(StrCat("modifier ", m.key, " needs an object"));
    for (const Member& f : m.value.as_object()) {
      RETURN_IF_ERROR(CheckPath(m.key, f.key));
      Op op;
      op.kind = kind;
      op.name = m.key;
      op.path = Path(f.key);
      op.operand = f.value;
      switch (kind) {
        case Op::Kind::kInc:
        case Op::Kind::kMul:
          if (!f.value.is_number()) {
            return Bad(StrCat("Cannot ", kind == Op::Kind::kInc ? "increment" : "multiply",
                              " with non-numeric argument: {", f.key, ": ", Short(f.value), "}"));
          }
          break;
        case Op::Kind::kRename:
          if (!f.value.is_string()) return Bad("$rename needs a string target");
          RETURN_IF_ERROR(CheckPath("$rename", f.value.as_string()));
          if (f.value.as_string() == f.key) return Bad("$rename: the source and target must differ");
          op.dest = Path(f.value.as_string());
          touched.push_back(f.value.as_string());
          break;
        case Op::Kind::kPush:
        case Op::Kind::kAddToSet:
          RETURN_IF_ERROR(CompileEach(op));
          for (const Value& v : op.each) RETURN_IF_ERROR(ValidateNames(v, 0));
          break;
        case Op::Kind::kPop:
          if (!f.value.is_number() || std::fabs(f.value.ToDouble()) != 1) {
            return Bad("$pop needs 1 or -1");
          }
          break;
        case Op::Kind::kPullAll:
          if (!f.value.is_array()) return Bad("$pullAll needs an array");
          op.each = f.value.as_array();
          break;
        case Op::Kind::kPull:
          if (IsValueCondition(f.value) || f.value.is_regex()) {
            // A condition on the elements themselves ({$gte: 6}, /re/):
            // matched as the value of a field.
            absl::StatusOr<Selector> sel = Selector::Compile(Value(Object{{"v", f.value}}));
            if (!sel.ok()) return Bad(StrCat("$pull: ", sel.status().message()));
            op.pull_selector = std::make_shared<Selector>(std::move(*sel));
          } else if (f.value.is_object()) {
            // A query over elements that are documents ({score: 8}).
            absl::StatusOr<Selector> sel = Selector::Compile(f.value);
            if (!sel.ok()) return Bad(StrCat("$pull: ", sel.status().message()));
            op.pull_selector = std::make_shared<Selector>(std::move(*sel));
            op.pull_documents = true;
          }
          break;
        case Op::Kind::kCurrentDate:
          if (!(f.value.is_bool() && f.value.as_bool()) &&
              !(f.value.is_object() && f.value.as_object().size() == 1 &&
                f.value.as_object().Find("$type") != nullptr &&
                f.value.as_object().Find("$type")->is_string() &&
                (f.value.as_object().Find("$type")->as_string() == "date" ||
                 f.value.as_object().Find("$type")->as_string() == "timestamp"))) {
            return Bad("$currentDate needs true or {$type: \"date\"}");
          }
          break;
        case Op::Kind::kSet:
        case Op::Kind::kSetOnInsert:
          RETURN_IF_ERROR(ValidateNames(f.value, 0));
          break;
        default:
          break;
      }
      touched.push_back(f.key);
      ops->push_back(std::move(op));
    }
  }
  // Overlapping paths in one modifier are ambiguous: MongoDB refuses them.
  for (size_t i = 0; i < touched.size(); ++i) {
    for (size_t j = 0; j < touched.size(); ++j) {
      if (i == j) continue;
      if (IsPrefixPath(touched[i], touched[j]) && (touched[i] != touched[j] || i < j)) {
        return Bad(StrCat("Updating the path '", touched[j], "' would create a conflict at '",
                          touched[i], "'"));
      }
    }
  }
  out.ops_ = std::move(ops);
  out.paths_ = std::make_shared<const std::vector<std::string>>(std::move(touched));
  return out;
}

absl::StatusOr<Object> Modifier::Run(Value doc, int64_t now_millis, bool inserting) const {
  Value original_id = doc.Find("_id") != nullptr ? *doc.Find("_id") : Value();
  if (replacement_) {
    const Value* new_id = replacement_->Find("_id");
    if (new_id != nullptr && !original_id.is_null() && *new_id != original_id) {
      return Bad("the (immutable) field '_id' was found to have been altered");
    }
    Object out;
    out.reserve(replacement_->size() + 1);
    if (!original_id.is_null()) out.Append("_id", original_id);
    for (const Member& m : *replacement_) {
      if (m.key != "_id") out.Append(m.key, m.value);
    }
    if (original_id.is_null() && new_id != nullptr) {
      // _id leads, as MongoDB stores it.
      Object with_id;
      with_id.reserve(out.size() + 1);
      with_id.Append("_id", *new_id);
      for (Member& m : out) with_id.Append(std::move(m.key), std::move(m.value));
      return with_id;
    }
    return out;
  }
  for (const Op& op : *ops_) {
    if (op.kind == Op::Kind::kSetOnInsert && !inserting) continue;
    RETURN_IF_ERROR(ApplyOp(op, doc, now_millis, original_id));
  }
  const Value* id_after = doc.Find("_id");
  if (!original_id.is_null() && (id_after == nullptr || *id_after != original_id)) {
    return Bad("Performing an update on the path '_id' would modify the immutable field '_id'");
  }
  return std::move(doc.as_object());
}

absl::StatusOr<Object> Modifier::Apply(const Object& doc, int64_t now_millis) const {
  return Run(Value(doc), now_millis, false);
}

absl::StatusOr<Object> Modifier::ApplyForInsert(const Object& seed, int64_t now_millis) const {
  return Run(Value(seed), now_millis, true);
}

}  // namespace ddp::query
