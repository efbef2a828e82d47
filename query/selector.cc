#include "query/selector.h"

#include <cmath>
#include <functional>

#include "common/status_macros.h"
#include "common/strings.h"
#include "query/path.h"
#include "query/regex.h"

namespace ddp::query {
namespace internal {

class DocMatcher {
 public:
  virtual ~DocMatcher() = default;
  virtual bool Matches(const Object& doc) const = 0;
};

}  // namespace internal

namespace {

using internal::DocMatcher;
using ElementFn = std::function<bool(const Value*)>;  // nullptr: missing

// A matcher over the branches of one path.
class BranchedMatcher {
 public:
  virtual ~BranchedMatcher() = default;
  virtual bool Matches(const Branches& branches) const = 0;
};
using BranchedPtr = std::unique_ptr<BranchedMatcher>;

// How an element test sees arrays at the end of a path.
enum class Expand {
  kArrayAndElements,  // the array itself and each element (most operators)
  kElementsOnly,      // only the elements
  kNone,              // only the values reached ($size, $elemMatch)
};

class ElementMatcher : public BranchedMatcher {
 public:
  ElementMatcher(ElementFn fn, Expand mode) : fn_(std::move(fn)), mode_(mode) {}
  bool Matches(const Branches& branches) const override {
    if (mode_ == Expand::kNone) {
      for (const Branch& b : branches) {
        if (fn_(b.value)) return true;
      }
      return false;
    }
    // The usual case, one branch that is not an array, needs no expansion.
    if (branches.size() == 1 &&
        (branches[0].value == nullptr || !branches[0].value->is_array())) {
      return fn_(branches[0].value);
    }
    Branches expanded;
    ExpandArrays(branches, mode_ == Expand::kElementsOnly, &expanded);
    for (const Branch& b : expanded) {
      if (fn_(b.value)) return true;
    }
    return false;
  }

 private:
  ElementFn fn_;
  Expand mode_;
};

class NotMatcher : public BranchedMatcher {
 public:
  explicit NotMatcher(BranchedPtr inner) : inner_(std::move(inner)) {}
  bool Matches(const Branches& branches) const override { return !inner_->Matches(branches); }

 private:
  BranchedPtr inner_;
};

class AllOfMatcher : public BranchedMatcher {
 public:
  explicit AllOfMatcher(std::vector<BranchedPtr> parts) : parts_(std::move(parts)) {}
  bool Matches(const Branches& branches) const override {
    for (const auto& p : parts_) {
      if (!p->Matches(branches)) return false;
    }
    return true;
  }

 private:
  std::vector<BranchedPtr> parts_;
};

class NeverMatcher : public BranchedMatcher {
 public:
  bool Matches(const Branches&) const override { return false; }
};

class FieldMatcher : public DocMatcher {
 public:
  FieldMatcher(Path path, BranchedPtr m) : path_(std::move(path)), m_(std::move(m)) {}
  bool Matches(const Object& doc) const override {
    Branches branches;
    LookupBranches(doc, path_, &branches);
    return m_->Matches(branches);
  }

 private:
  Path path_;
  BranchedPtr m_;
};

class LogicalMatcher : public DocMatcher {
 public:
  enum class Kind { kAnd, kOr, kNor };
  LogicalMatcher(Kind kind, std::vector<std::unique_ptr<DocMatcher>> parts)
      : kind_(kind), parts_(std::move(parts)) {}
  bool Matches(const Object& doc) const override {
    switch (kind_) {
      case Kind::kAnd:
        for (const auto& p : parts_) {
          if (!p->Matches(doc)) return false;
        }
        return true;
      case Kind::kOr:
        for (const auto& p : parts_) {
          if (p->Matches(doc)) return true;
        }
        return false;
      case Kind::kNor:
        for (const auto& p : parts_) {
          if (p->Matches(doc)) return false;
        }
        return true;
    }
    return false;
  }

 private:
  Kind kind_;
  std::vector<std::unique_ptr<DocMatcher>> parts_;
};

class TrueMatcher : public DocMatcher {
 public:
  bool Matches(const Object&) const override { return true; }
};

// Matches documents that are arrays' elements for $elemMatch with a
// document selector.
class ElementDocMatcher : public BranchedMatcher {
 public:
  ElementDocMatcher(std::shared_ptr<DocMatcher> doc, BranchedPtr value, bool is_doc)
      : doc_(std::move(doc)), value_(std::move(value)), is_doc_(is_doc) {}
  bool Matches(const Branches& branches) const override {
    for (const Branch& b : branches) {
      if (b.value == nullptr || !b.value->is_array()) continue;
      for (const Value& element : b.value->as_array()) {
        if (is_doc_) {
          if (element.is_object() && doc_->Matches(element.as_object())) return true;
          // An array element is a document with keys "0", "1", ... to
          // MongoDB, so numeric paths reach into it.
          if (element.is_array()) {
            Object as_doc;
            const Array& a = element.as_array();
            for (size_t i = 0; i < a.size(); ++i) as_doc.Append(std::to_string(i), a[i]);
            if (doc_->Matches(as_doc)) return true;
          }
        } else {
          Branches one{Branch{&element, true}};
          if (value_->Matches(one)) return true;
        }
      }
    }
    return false;
  }

 private:
  std::shared_ptr<DocMatcher> doc_;
  BranchedPtr value_;
  bool is_doc_;
};

// ------------------------------------------------------------------ helpers

absl::Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(StrCat("invalid selector: ", what));
}

bool IsOperatorObject(const Value& v) {
  return v.is_object() && !v.as_object().empty() && !v.as_object().at(0).key.empty() &&
         v.as_object().at(0).key[0] == '$';
}

bool Equal(const Value& a, const Value& b) { return Compare(a, b) == 0; }

// Equality as a query operand: null matches missing; a regex operand
// matches strings (implicit equality, $in, $all) or, with `literal_regex`
// ($eq, $ne), only an equal regular expression, as MongoDB documents;
// otherwise MongoDB equality.
absl::StatusOr<ElementFn> EqualityFn(const Value& operand, bool literal_regex = false) {
  if (operand.is_null()) return ElementFn([](const Value* v) { return v == nullptr || v->is_null(); });
  if (operand.is_regex() && !literal_regex) {
    absl::StatusOr<std::shared_ptr<const CompiledRegex>> re = CompileRegex(operand.as_regex().pattern,
                                                                     operand.as_regex().flags);
    if (!re.ok()) return re.status();
    Value copy = operand;
    return ElementFn([re = *re, copy](const Value* v) {
      if (v == nullptr) return false;
      if (v->is_regex()) return *v == copy;
      return v->is_string() && re->Matches(v->as_string());
    });
  }
  Value copy = operand;
  return ElementFn([copy](const Value* v) { return v != nullptr && Equal(*v, copy); });
}

// Range comparison within a type bracket (missing counts as null).
ElementFn InequalityFn(const Value& operand, std::function<bool(int)> accept) {
  if (operand.is_array()) return [](const Value*) { return false; };
  Value copy = operand;
  int bracket = CanonicalTypeRank(operand.type());
  bool operand_nan = operand.is_double() && std::isnan(operand.as_double());
  return [copy, bracket, accept, operand_nan](const Value* v) {
    static const Value kNull;
    const Value& value = v == nullptr ? kNull : *v;
    if (CanonicalTypeRank(value.type()) != bracket) return false;
    // NaN is only equal to NaN and neither less nor greater than anything.
    bool value_nan = value.is_double() && std::isnan(value.as_double());
    if (operand_nan || value_nan) return operand_nan && value_nan && accept(0);
    return accept(Compare(value, copy));
  };
}

// MongoDB type codes of a value (an int64 is "int" when it fits 32 bits,
// else "long").
bool HasTypeCode(const Value& v, int code) {
  switch (v.type()) {
    case Value::Type::kDouble:
      return code == 1;
    case Value::Type::kInt: {
      bool small = v.as_int() >= INT32_MIN && v.as_int() <= INT32_MAX;
      return code == (small ? 16 : 18);
    }
    case Value::Type::kString:
      return code == 2;
    case Value::Type::kObject:
      return code == 3;
    case Value::Type::kArray:
      return code == 4;
    case Value::Type::kBinary:
      return code == 5;
    case Value::Type::kObjectId:
      return code == 7;
    case Value::Type::kBool:
      return code == 8;
    case Value::Type::kDate:
      return code == 9;
    case Value::Type::kNull:
      return code == 10;
    case Value::Type::kRegex:
      return code == 11;
    case Value::Type::kCustom:
      return false;
  }
  return false;
}

constexpr int kNumberCode = -1000;  // the "number" alias

absl::StatusOr<int> TypeCode(const Value& v) {
  if (v.is_number()) {
    double d = v.ToDouble();
    int code = static_cast<int>(d);
    if (static_cast<double>(code) != d) return Bad("$type needs an integer type code or a name");
    static const int kValid[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                 16, 17, 18, 19, -1, 127};
    for (int k : kValid) {
      if (k == code) return code;
    }
    return Bad(StrCat("unknown $type code ", code));
  }
  if (!v.is_string()) return Bad("$type needs a type code or name");
  static const std::pair<const char*, int> kNames[] = {
      {"double", 1},  {"string", 2},     {"object", 3},  {"array", 4},    {"binData", 5},
      {"undefined", 6}, {"objectId", 7}, {"bool", 8},    {"date", 9},     {"null", 10},
      {"regex", 11},  {"javascript", 13}, {"int", 16},   {"timestamp", 17}, {"long", 18},
      {"decimal", 19}, {"minKey", -1},   {"maxKey", 127}, {"number", kNumberCode}};
  for (const auto& [name, code] : kNames) {
    if (v.as_string() == name) return code;
  }
  return Bad(StrCat("unknown $type name '", v.as_string(), "'"));
}

class TypeMatcher : public BranchedMatcher {
 public:
  explicit TypeMatcher(std::vector<int> codes) : codes_(std::move(codes)) {}
  bool Matches(const Branches& branches) const override {
    bool wants_array = false;
    for (int c : codes_) wants_array |= c == 4;
    // An array field is of type "array"; its elements are candidates for
    // every type too.
    if (wants_array) {
      for (const Branch& b : branches) {
        if (b.value != nullptr && b.value->is_array()) return true;
      }
    }
    Branches expanded;
    ExpandArrays(branches, /*skip_arrays=*/true, &expanded);
    for (const Branch& b : expanded) {
      if (b.value == nullptr) continue;
      for (int c : codes_) {
        if (c == kNumberCode ? b.value->is_number() : HasTypeCode(*b.value, c)) return true;
      }
    }
    return false;
  }

 private:
  std::vector<int> codes_;
};

absl::StatusOr<std::unique_ptr<DocMatcher>> CompileDoc(const Value& selector, int depth);
absl::StatusOr<BranchedPtr> CompileValueSelector(const Value& operand, int depth);

constexpr int kMaxDepth = 100;

absl::StatusOr<BranchedPtr> CompileOperator(const std::string& op, const Value& operand,
                                            const Object& all, int depth) {
  auto element = [](ElementFn fn, Expand mode = Expand::kArrayAndElements) -> BranchedPtr {
    return std::make_unique<ElementMatcher>(std::move(fn), mode);
  };
  if (op == "$eq" || op == "$ne") {
    ASSIGN_OR_RETURN(ElementFn fn, EqualityFn(operand, /*literal_regex=*/true));
    BranchedPtr eq = element(std::move(fn));
    if (op == "$ne") return BranchedPtr(std::make_unique<NotMatcher>(std::move(eq)));
    return eq;
  }
  if (op == "$gt") return element(InequalityFn(operand, [](int c) { return c > 0; }));
  if (op == "$gte") return element(InequalityFn(operand, [](int c) { return c >= 0; }));
  if (op == "$lt") return element(InequalityFn(operand, [](int c) { return c < 0; }));
  if (op == "$lte") return element(InequalityFn(operand, [](int c) { return c <= 0; }));
  if (op == "$in" || op == "$nin") {
    if (!operand.is_array()) return Bad(StrCat(op, " needs an array"));
    std::vector<ElementFn> fns;
    for (const Value& v : operand.as_array()) {
      if (IsOperatorObject(v)) return Bad(StrCat("cannot nest $ operators under ", op));
      ASSIGN_OR_RETURN(ElementFn fn, EqualityFn(v));
      fns.push_back(std::move(fn));
    }
    BranchedPtr in = element([fns = std::move(fns)](const Value* v) {
      for (const auto& f : fns) {
        if (f(v)) return true;
      }
      return false;
    });
    if (op == "$nin") return BranchedPtr(std::make_unique<NotMatcher>(std::move(in)));
    return in;
  }
  if (op == "$exists") {
    bool want = !(operand.is_bool() && !operand.as_bool()) &&
                !(operand.is_number() && operand.ToDouble() == 0) && !operand.is_null();
    BranchedPtr exists = element([](const Value* v) { return v != nullptr; });
    if (!want) return BranchedPtr(std::make_unique<NotMatcher>(std::move(exists)));
    return exists;
  }
  if (op == "$type") {
    std::vector<int> codes;
    if (operand.is_array()) {
      for (const Value& v : operand.as_array()) {
        ASSIGN_OR_RETURN(int c, TypeCode(v));
        codes.push_back(c);
      }
    } else {
      ASSIGN_OR_RETURN(int c, TypeCode(operand));
      codes.push_back(c);
    }
    return BranchedPtr(std::make_unique<TypeMatcher>(std::move(codes)));
  }
  if (op == "$regex") {
    std::string pattern, flags;
    if (operand.is_regex()) {
      pattern = operand.as_regex().pattern;
      flags = operand.as_regex().flags;
    } else if (operand.is_string()) {
      pattern = operand.as_string();
    } else {
      return Bad("$regex needs a string or a regular expression");
    }
    if (const Value* options = all.Find("$options")) {
      if (!options->is_string()) return Bad("$options needs a string");
      flags = options->as_string();
    }
    ASSIGN_OR_RETURN(std::shared_ptr<const CompiledRegex> re, CompileRegex(pattern, flags));
    return element([re](const Value* v) {
      return v != nullptr && v->is_string() && re->Matches(v->as_string());
    });
  }
  if (op == "$options") {
    if (!all.Contains("$regex")) return Bad("$options needs a $regex");
    return BranchedPtr(nullptr);  // consumed by $regex
  }
  if (op == "$mod") {
    if (!operand.is_array() || operand.as_array().size() != 2 ||
        !operand.as_array()[0].is_number() || !operand.as_array()[1].is_number()) {
      return Bad("$mod needs an array of two numbers [divisor, remainder]");
    }
    double d = std::trunc(operand.as_array()[0].ToDouble());
    double r = std::trunc(operand.as_array()[1].ToDouble());
    if (d == 0) return Bad("$mod divisor cannot be 0");
    if (!std::isfinite(d) || !std::isfinite(r) || std::fabs(d) > 9e18 || std::fabs(r) > 9e18) {
      return Bad("$mod needs finite integers");
    }
    int64_t divisor = static_cast<int64_t>(d), remainder = static_cast<int64_t>(r);
    return element([divisor, remainder](const Value* v) {
      if (v == nullptr || !v->is_number()) return false;
      double x = v->is_int() ? 0 : v->as_double();
      if (v->is_double() && (!std::isfinite(x) || std::fabs(x) > 9e18)) return false;
      int64_t n = v->is_int() ? v->as_int() : static_cast<int64_t>(std::trunc(x));
      if (divisor == -1) return remainder == 0;  // avoid INT64_MIN % -1
      return n % divisor == remainder;
    });
  }
  if (op == "$size") {
    if (!operand.is_number() || operand.ToDouble() < 0 ||
        std::trunc(operand.ToDouble()) != operand.ToDouble()) {
      return Bad("$size needs a non-negative integer");
    }
    size_t n = static_cast<size_t>(operand.ToDouble());
    return element([n](const Value* v) { return v != nullptr && v->is_array() && v->as_array().size() == n; },
                   Expand::kNone);
  }
  if (op == "$all") {
    if (!operand.is_array()) return Bad("$all needs an array");
    if (operand.as_array().empty()) return BranchedPtr(std::make_unique<NeverMatcher>());
    std::vector<BranchedPtr> parts;
    for (const Value& v : operand.as_array()) {
      if (IsOperatorObject(v)) {
        if (v.as_object().size() != 1 || v.as_object().at(0).key != "$elemMatch") {
          return Bad("$all accepts values or {$elemMatch: ...} only");
        }
        ASSIGN_OR_RETURN(BranchedPtr m,
                         CompileOperator("$elemMatch", v.as_object().at(0).value, v.as_object(), depth + 1));
        parts.push_back(std::move(m));
      } else {
        ASSIGN_OR_RETURN(ElementFn fn, EqualityFn(v));
        parts.push_back(element(std::move(fn)));
      }
    }
    return BranchedPtr(std::make_unique<AllOfMatcher>(std::move(parts)));
  }
  if (op == "$elemMatch") {
    if (!operand.is_object()) return Bad("$elemMatch needs an object");
    // Operators only ($gt, ...): a condition on the elements themselves;
    // otherwise a selector over elements that are documents.
    bool value_selector = IsOperatorObject(operand) && operand.as_object().at(0).key != "$and" &&
                          operand.as_object().at(0).key != "$or" &&
                          operand.as_object().at(0).key != "$nor";
    if (value_selector) {
      ASSIGN_OR_RETURN(BranchedPtr inner, CompileValueSelector(operand, depth + 1));
      return BranchedPtr(std::make_unique<ElementDocMatcher>(nullptr, std::move(inner), false));
    }
    ASSIGN_OR_RETURN(std::unique_ptr<DocMatcher> doc, CompileDoc(operand, depth + 1));
    return BranchedPtr(std::make_unique<ElementDocMatcher>(std::shared_ptr<DocMatcher>(std::move(doc)),
                                                           nullptr, true));
  }
  if (op == "$not") {
    if (operand.is_regex()) {
      ASSIGN_OR_RETURN(ElementFn fn, EqualityFn(operand));
      return BranchedPtr(std::make_unique<NotMatcher>(element(std::move(fn))));
    }
    if (!IsOperatorObject(operand)) return Bad("$not needs an operator object or a regular expression");
    ASSIGN_OR_RETURN(BranchedPtr inner, CompileValueSelector(operand, depth + 1));
    return BranchedPtr(std::make_unique<NotMatcher>(std::move(inner)));
  }
  if (op == "$near" || op == "$geoWithin" || op == "$geoIntersects" || op == "$bitsAllSet" ||
      op == "$bitsAnySet" || op == "$bitsAllClear" || op == "$bitsAnyClear") {
    return Bad(StrCat("unsupported operator: ", op));
  }
  return Bad(StrCat("unknown operator: ", op));
}

// An operator object ({$gt: 1, $lt: 5}) or a literal (equality).
absl::StatusOr<BranchedPtr> CompileValueSelector(const Value& operand, int depth) {
  if (depth > kMaxDepth) return Bad("nested too deeply");
  if (!IsOperatorObject(operand)) {
    ASSIGN_OR_RETURN(ElementFn fn, EqualityFn(operand));
    return BranchedPtr(std::make_unique<ElementMatcher>(std::move(fn), Expand::kArrayAndElements));
  }
  std::vector<BranchedPtr> parts;
  for (const Member& m : operand.as_object()) {
    if (m.key.empty() || m.key[0] != '$') {
      return Bad(StrCat("unknown operator: ", m.key, " (operators and fields cannot be mixed)"));
    }
    ASSIGN_OR_RETURN(BranchedPtr p, CompileOperator(m.key, m.value, operand.as_object(), depth));
    if (p) parts.push_back(std::move(p));
  }
  if (parts.size() == 1) return std::move(parts[0]);
  return BranchedPtr(std::make_unique<AllOfMatcher>(std::move(parts)));
}

absl::StatusOr<std::unique_ptr<DocMatcher>> CompileLogical(const std::string& op,
                                                           const Value& operand, int depth) {
  if (!operand.is_array() || operand.as_array().empty()) {
    return Bad(StrCat(op, " needs a non-empty array"));
  }
  std::vector<std::unique_ptr<DocMatcher>> parts;
  for (const Value& s : operand.as_array()) {
    if (!s.is_object()) return Bad(StrCat(op, " entries must be objects"));
    ASSIGN_OR_RETURN(std::unique_ptr<DocMatcher> p, CompileDoc(s, depth + 1));
    parts.push_back(std::move(p));
  }
  LogicalMatcher::Kind kind = op == "$and"  ? LogicalMatcher::Kind::kAnd
                              : op == "$or" ? LogicalMatcher::Kind::kOr
                                            : LogicalMatcher::Kind::kNor;
  return std::unique_ptr<DocMatcher>(std::make_unique<LogicalMatcher>(kind, std::move(parts)));
}

absl::StatusOr<std::unique_ptr<DocMatcher>> CompileDoc(const Value& selector, int depth) {
  if (depth > kMaxDepth) return Bad("nested too deeply");
  if (!selector.is_object()) return Bad("a selector must be an object");
  std::vector<std::unique_ptr<DocMatcher>> parts;
  for (const Member& m : selector.as_object()) {
    const std::string& key = m.key;
    if (!key.empty() && key[0] == '$') {
      if (key == "$and" || key == "$or" || key == "$nor") {
        ASSIGN_OR_RETURN(std::unique_ptr<DocMatcher> p, CompileLogical(key, m.value, depth));
        parts.push_back(std::move(p));
      } else if (key == "$comment") {
        continue;
      } else if (key == "$where" || key == "$text" || key == "$expr" || key == "$jsonSchema") {
        return Bad(StrCat("unsupported operator: ", key));
      } else {
        return Bad(StrCat("unknown top level operator: ", key));
      }
      continue;
    }
    if (key.empty()) return Bad("empty field name");
    ASSIGN_OR_RETURN(BranchedPtr m2, CompileValueSelector(m.value, depth + 1));
    parts.push_back(std::make_unique<FieldMatcher>(Path(key), std::move(m2)));
  }
  if (parts.empty()) return std::unique_ptr<DocMatcher>(std::make_unique<TrueMatcher>());
  if (parts.size() == 1) return std::move(parts[0]);
  return std::unique_ptr<DocMatcher>(
      std::make_unique<LogicalMatcher>(LogicalMatcher::Kind::kAnd, std::move(parts)));
}

// Equality conjuncts of a selector: top-level {path: literal}, {path:
// {$eq: literal}}, and the same inside $and.
void CollectEqualities(const Value& selector, std::vector<std::pair<std::string, Value>>* out) {
  if (!selector.is_object()) return;
  for (const Member& m : selector.as_object()) {
    if (m.key == "$and" && m.value.is_array()) {
      for (const Value& s : m.value.as_array()) CollectEqualities(s, out);
      continue;
    }
    if (m.key.empty() || m.key[0] == '$') continue;
    if (IsOperatorObject(m.value)) {
      for (const Member& op : m.value.as_object()) {
        if (op.key == "$eq" && !op.value.is_regex()) out->emplace_back(m.key, op.value);
      }
    } else if (!m.value.is_regex()) {
      out->emplace_back(m.key, m.value);
    }
  }
}

void CollectPaths(const Value& selector, std::vector<std::string>* out) {
  if (!selector.is_object()) return;
  for (const Member& m : selector.as_object()) {
    if ((m.key == "$and" || m.key == "$or" || m.key == "$nor") && m.value.is_array()) {
      for (const Value& s : m.value.as_array()) CollectPaths(s, out);
      continue;
    }
    if (m.key.empty() || m.key[0] == '$') continue;
    out->push_back(m.key);
  }
}

}  // namespace

Selector::Selector() : root_(std::make_shared<TrueMatcher>()) {}

absl::StatusOr<Selector> Selector::Compile(const Value& selector) {
  Value normalized;
  const Value* s = &selector;
  if (selector.is_string()) {
    normalized = Value(Object{{"_id", selector}});
    s = &normalized;
  } else if (selector.is_null()) {
    return Selector();
  }
  ASSIGN_OR_RETURN(std::unique_ptr<DocMatcher> root, CompileDoc(*s, 0));
  Selector out;
  out.root_ = std::move(root);
  out.matches_all_ = s->as_object().empty();
  CollectEqualities(*s, &out.equalities_);
  CollectPaths(*s, &out.paths_);
  for (const auto& [path, value] : out.equalities_) {
    if (path == "_id" && value.is_string()) {
      out.id_ = value.as_string();
      break;
    }
  }
  return out;
}

bool Selector::Matches(const Value& doc) const {
  return doc.is_object() && root_->Matches(doc.as_object());
}

bool Selector::Matches(const Object& doc) const { return root_->Matches(doc); }

}  // namespace ddp::query
