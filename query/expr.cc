#include "query/expr.h"

#include <cmath>
#include <ctime>

#include "absl/strings/ascii.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "protocol/json.h"

namespace ddp::query {

struct Expr::Node {
  enum class Kind { kLiteral, kField, kObject, kArray, kOp };
  Kind kind = Kind::kLiteral;
  Value literal;
  std::vector<std::string> path;          // kField
  std::string dotted;                     // kField
  std::string op;                         // kOp
  // kObject: keys[i] names args[i]. (Two vectors rather than pairs: a
  // pair of the incomplete Node is not allowed, and clang refuses it.)
  std::vector<std::string> keys;
  std::vector<Node> args;                 // kArray, kOp, kObject
  Value options;                          // kOp extras ($dateTrunc unit...)
  bool reads_fields = false;
};

namespace {

using Node = Expr::Node;
using Opt = std::optional<Value>;

absl::Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(StrCat("invalid expression: ", what));
}

// --------------------------------------------------------------- field paths

// "$a.b" over documents and arrays of documents, like MongoDB: a path step
// over an array maps over its elements (dropping those without the field).
Opt Resolve(const Value& v, const std::vector<std::string>& path, size_t i) {
  if (i == path.size()) return v;
  if (v.is_object()) {
    const Value* next = v.as_object().Find(path[i]);
    if (next == nullptr) return std::nullopt;
    return Resolve(*next, path, i + 1);
  }
  if (v.is_array()) {
    Array out;
    for (const Value& e : v.as_array()) {
      if (!e.is_object() && !e.is_array()) continue;
      Opt r = Resolve(e, path, i);
      if (r) out.push_back(std::move(*r));
    }
    return Value(std::move(out));
  }
  return std::nullopt;
}

// --------------------------------------------------------------- compile

absl::StatusOr<Node> CompileNode(const Value& spec, int depth);

constexpr const char* kOps[] = {"$add",  "$subtract", "$multiply", "$divide",  "$mod",
                                "$concat", "$toLower", "$toUpper", "$cond",    "$ifNull",
                                "$eq",   "$ne",       "$gt",       "$gte",     "$lt",
                                "$lte",  "$cmp",      "$dateTrunc", "$literal"};

absl::StatusOr<Node> CompileOp(const std::string& op, const Value& arg, int depth) {
  Node n;
  n.kind = Node::Kind::kOp;
  n.op = op;
  bool known = false;
  for (const char* k : kOps) known |= op == k;
  if (!known) return Bad(StrCat("unknown operator ", op));
  if (op == "$literal") {
    n.kind = Node::Kind::kLiteral;
    n.literal = arg;
    return n;
  }
  if (op == "$cond" && arg.is_object()) {
    const Object& o = arg.as_object();
    const Value* i = o.Find("if");
    const Value* t = o.Find("then");
    const Value* e = o.Find("else");
    if (i == nullptr || t == nullptr || e == nullptr || o.size() != 3) {
      return Bad("$cond needs {if, then, else}");
    }
    for (const Value* part : {i, t, e}) {
      ASSIGN_OR_RETURN(Node c, CompileNode(*part, depth + 1));
      n.args.push_back(std::move(c));
    }
  } else if (op == "$dateTrunc") {
    if (!arg.is_object()) return Bad("$dateTrunc needs {date, unit, binSize?}");
    const Object& o = arg.as_object();
    const Value* date = o.Find("date");
    const Value* unit = o.Find("unit");
    if (date == nullptr || unit == nullptr || !unit->is_string()) {
      return Bad("$dateTrunc needs {date, unit, binSize?}");
    }
    static const char* kUnits[] = {"millisecond", "second", "minute", "hour",
                                   "day",         "week",   "month",  "quarter", "year"};
    bool ok = false;
    for (const char* u : kUnits) ok |= unit->as_string() == u;
    if (!ok) return Bad(StrCat("$dateTrunc: unknown unit '", unit->as_string(), "'"));
    for (const Member& m : o) {
      if (m.key != "date" && m.key != "unit" && m.key != "binSize" && m.key != "timezone" &&
          m.key != "startOfWeek") {
        return Bad(StrCat("$dateTrunc: unknown argument ", m.key));
      }
    }
    if (const Value* tz = o.Find("timezone"); tz != nullptr &&
                                              !(tz->is_string() && (tz->as_string() == "UTC" ||
                                                                    tz->as_string() == "GMT"))) {
      return Bad("$dateTrunc: only the UTC timezone is supported");
    }
    if (const Value* b = o.Find("binSize");
        b != nullptr && (!b->is_number() || b->ToDouble() < 1 ||
                         std::trunc(b->ToDouble()) != b->ToDouble())) {
      return Bad("$dateTrunc: binSize must be a positive integer");
    }
    ASSIGN_OR_RETURN(Node d, CompileNode(*date, depth + 1));
    n.args.push_back(std::move(d));
    n.options = arg;
  } else {
    Array list = arg.is_array() ? arg.as_array() : Array{arg};
    for (const Value& a : list) {
      ASSIGN_OR_RETURN(Node c, CompileNode(a, depth + 1));
      n.args.push_back(std::move(c));
    }
    size_t k = n.args.size();
    auto arity = [&](size_t lo, size_t hi) -> absl::Status {
      if (k < lo || k > hi) {
        return Bad(StrCat(op, " takes ", lo == hi ? StrCat(lo) : StrCat(lo, " to ", hi),
                          " arguments, not ", k));
      }
      return absl::OkStatus();
    };
    if (op == "$subtract" || op == "$divide" || op == "$mod" || op == "$eq" || op == "$ne" ||
        op == "$gt" || op == "$gte" || op == "$lt" || op == "$lte" || op == "$cmp") {
      RETURN_IF_ERROR(arity(2, 2));
    } else if (op == "$toLower" || op == "$toUpper") {
      RETURN_IF_ERROR(arity(1, 1));
    } else if (op == "$cond") {
      RETURN_IF_ERROR(arity(3, 3));
    } else if (op == "$ifNull") {
      RETURN_IF_ERROR(arity(2, 64));
    }
  }
  for (const Node& a : n.args) n.reads_fields |= a.reads_fields;
  return n;
}

absl::StatusOr<Node> CompileNode(const Value& spec, int depth) {
  if (depth > 64) return Bad("nested too deeply");
  Node n;
  if (spec.is_string() && !spec.as_string().empty() && spec.as_string()[0] == '$') {
    const std::string& s = spec.as_string();
    if (s.size() > 1 && s[1] == '$') return Bad(StrCat("variables like ", s, " are not supported"));
    if (s.size() == 1) return Bad("'$' is not a field path");
    n.kind = Node::Kind::kField;
    n.dotted = s.substr(1);
    size_t start = 0;
    while (true) {
      size_t dot = n.dotted.find('.', start);
      std::string part = n.dotted.substr(start, dot == std::string::npos ? dot : dot - start);
      if (part.empty()) return Bad(StrCat("bad field path ", s));
      n.path.push_back(std::move(part));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    n.reads_fields = true;
    return n;
  }
  if (spec.is_object()) {
    const Object& o = spec.as_object();
    if (o.size() == 1 && !o.at(0).key.empty() && o.at(0).key[0] == '$') {
      return CompileOp(o.at(0).key, o.at(0).value, depth);
    }
    n.kind = Node::Kind::kObject;
    for (const Member& m : o) {
      if (!m.key.empty() && m.key[0] == '$') {
        return Bad(StrCat("an object with ", m.key, " must have it as its only key"));
      }
      ASSIGN_OR_RETURN(Node c, CompileNode(m.value, depth + 1));
      n.reads_fields |= c.reads_fields;
      n.keys.push_back(m.key);
      n.args.push_back(std::move(c));
    }
    return n;
  }
  if (spec.is_array()) {
    n.kind = Node::Kind::kArray;
    for (const Value& e : spec.as_array()) {
      ASSIGN_OR_RETURN(Node c, CompileNode(e, depth + 1));
      n.reads_fields |= c.reads_fields;
      n.args.push_back(std::move(c));
    }
    return n;
  }
  n.literal = spec;
  return n;
}

// --------------------------------------------------------------- evaluate

Opt Eval(const Node& n, const Object& doc);

bool IsNullish(const Opt& v) { return !v || v->is_null(); }

Value Number(double d, bool all_int, int64_t i) { return all_int ? Value(i) : Value(d); }

Opt Arith(const Node& n, const Object& doc) {
  const std::string& op = n.op;
  if (op == "$add" || op == "$multiply") {
    bool all_int = true, any_date = false;
    int64_t iacc = op == "$add" ? 0 : 1;
    double dacc = op == "$add" ? 0 : 1;
    for (const Node& a : n.args) {
      Opt v = Eval(a, doc);
      if (IsNullish(v)) return Value();
      if (v->is_date() && op == "$add" && !any_date) {
        any_date = true;
        iacc += v->as_date().millis;
        dacc += static_cast<double>(v->as_date().millis);
        continue;
      }
      if (!v->is_number()) return Value();
      if (v->is_int() && all_int) {
        int64_t r;
        bool overflow = op == "$add" ? __builtin_add_overflow(iacc, v->as_int(), &r)
                                     : __builtin_mul_overflow(iacc, v->as_int(), &r);
        if (!overflow) {
          iacc = r;
          dacc = op == "$add" ? dacc + static_cast<double>(v->as_int())
                              : dacc * static_cast<double>(v->as_int());
          continue;
        }
      }
      all_int = false;
      dacc = op == "$add" ? dacc + v->ToDouble() : dacc * v->ToDouble();
    }
    if (any_date) return Value(Date{all_int ? iacc : static_cast<int64_t>(dacc)});
    return Number(dacc, all_int, iacc);
  }
  Opt a = Eval(n.args[0], doc), b = Eval(n.args[1], doc);
  if (IsNullish(a) || IsNullish(b)) return Value();
  if (op == "$subtract") {
    if (a->is_date() && b->is_date()) return Value(a->as_date().millis - b->as_date().millis);
    if (a->is_date() && b->is_number()) {
      return Value(Date{a->as_date().millis - static_cast<int64_t>(b->ToDouble())});
    }
    if (!a->is_number() || !b->is_number()) return Value();
    if (a->is_int() && b->is_int()) {
      int64_t r;
      if (!__builtin_sub_overflow(a->as_int(), b->as_int(), &r)) return Value(r);
    }
    return Value(a->ToDouble() - b->ToDouble());
  }
  if (!a->is_number() || !b->is_number()) return Value();
  if (op == "$divide") {
    if (b->ToDouble() == 0) return Value();
    return Value(a->ToDouble() / b->ToDouble());
  }
  // $mod
  if (b->ToDouble() == 0) return Value();
  if (a->is_int() && b->is_int()) {
    if (b->as_int() == -1) return Value(int64_t{0});
    return Value(a->as_int() % b->as_int());
  }
  return Value(std::fmod(a->ToDouble(), b->ToDouble()));
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

Opt DateTrunc(const Node& n, const Object& doc) {
  Opt d = Eval(n.args[0], doc);
  if (IsNullish(d) || !d->is_date()) return Value();
  int64_t ms = d->as_date().millis;
  const std::string& unit = n.options.Find("unit")->as_string();
  int64_t bin = 1;
  if (const Value* b = n.options.Find("binSize")) bin = static_cast<int64_t>(b->ToDouble());
  static const std::pair<const char*, int64_t> kFixed[] = {
      {"millisecond", 1}, {"second", 1000}, {"minute", 60000}, {"hour", 3600000},
      {"day", 86400000}};
  for (const auto& [name, len] : kFixed) {
    if (unit == name) return Value(Date{FloorDiv(ms, len * bin) * len * bin});
  }
  if (unit == "week") {
    // Weeks start on Sunday (MongoDB's default startOfWeek); 1970-01-04 was one.
    constexpr int64_t kWeek = 7 * 86400000LL, kSunday = 3 * 86400000LL;
    return Value(Date{FloorDiv(ms - kSunday, kWeek * bin) * kWeek * bin + kSunday});
  }
  // Calendar units: count months since 1970-01.
  std::time_t secs = static_cast<std::time_t>(FloorDiv(ms, 1000));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  int64_t months = (static_cast<int64_t>(tm.tm_year) - 70) * 12 + tm.tm_mon;
  int64_t step = unit == "month" ? bin : unit == "quarter" ? 3 * bin : 12 * bin;
  int64_t start = FloorDiv(months, step) * step;
  std::tm out{};
  out.tm_year = static_cast<int>(70 + FloorDiv(start, 12));
  out.tm_mon = static_cast<int>(start - FloorDiv(start, 12) * 12);
  out.tm_mday = 1;
  return Value(Date{static_cast<int64_t>(timegm(&out)) * 1000});
}

Opt Eval(const Node& n, const Object& doc) {
  switch (n.kind) {
    case Node::Kind::kLiteral:
      return n.literal;
    case Node::Kind::kField: {
      const Value* first = doc.Find(n.path[0]);
      if (first == nullptr) return std::nullopt;
      return Resolve(*first, n.path, 1);
    }
    case Node::Kind::kObject: {
      Object o;
      for (size_t i = 0; i < n.keys.size(); ++i) {
        Opt v = Eval(n.args[i], doc);
        if (v) o.Append(n.keys[i], std::move(*v));
      }
      return Value(std::move(o));
    }
    case Node::Kind::kArray: {
      Array a;
      for (const Node& c : n.args) {
        Opt v = Eval(c, doc);
        a.push_back(v ? std::move(*v) : Value());
      }
      return Value(std::move(a));
    }
    case Node::Kind::kOp:
      break;
  }
  const std::string& op = n.op;
  if (op == "$add" || op == "$subtract" || op == "$multiply" || op == "$divide" || op == "$mod") {
    return Arith(n, doc);
  }
  if (op == "$concat") {
    std::string out;
    for (const Node& a : n.args) {
      Opt v = Eval(a, doc);
      if (IsNullish(v) || !v->is_string()) return Value();
      out += v->as_string();
    }
    return Value(std::move(out));
  }
  if (op == "$toLower" || op == "$toUpper") {
    Opt v = Eval(n.args[0], doc);
    if (IsNullish(v)) return Value("");
    std::string s = v->is_string() ? v->as_string() : (v->is_number() ? ToJson(*v) : "");
    return Value(op == "$toLower" ? absl::AsciiStrToLower(s) : absl::AsciiStrToUpper(s));
  }
  if (op == "$cond") return Truthy(Eval(n.args[0], doc)) ? Eval(n.args[1], doc) : Eval(n.args[2], doc);
  if (op == "$ifNull") {
    for (size_t i = 0; i + 1 < n.args.size(); ++i) {
      Opt v = Eval(n.args[i], doc);
      if (!IsNullish(v)) return v;
    }
    return Eval(n.args.back(), doc);
  }
  if (op == "$dateTrunc") return DateTrunc(n, doc);
  // Comparisons: missing sorts below null, as in aggregation.
  Opt a = Eval(n.args[0], doc), b = Eval(n.args[1], doc);
  int c;
  if (!a || !b) {
    c = !a && !b ? 0 : (!a ? -1 : 1);
  } else {
    c = Compare(*a, *b);
  }
  if (op == "$cmp") return Value(int64_t{c < 0 ? -1 : (c > 0 ? 1 : 0)});
  if (op == "$eq") return Value(c == 0);
  if (op == "$ne") return Value(c != 0);
  if (op == "$gt") return Value(c > 0);
  if (op == "$gte") return Value(c >= 0);
  if (op == "$lt") return Value(c < 0);
  return Value(c <= 0);  // $lte
}

void AppendKey(const Value& v, std::string* out) {
  switch (v.type()) {
    case Value::Type::kInt:
      StrAppend(out, "n", v.as_int());
      return;
    case Value::Type::kDouble: {
      double d = v.as_double();
      if (std::isnan(d)) {
        out->append("nNaN");
      } else if (std::trunc(d) == d && std::fabs(d) < 9.2e18) {
        StrAppend(out, "n", static_cast<int64_t>(d));
      } else {
        out->push_back('n');
        AppendJson(v, out);
      }
      return;
    }
    case Value::Type::kArray:
      out->push_back('[');
      for (const Value& e : v.as_array()) {
        AppendKey(e, out);
        out->push_back(',');
      }
      out->push_back(']');
      return;
    case Value::Type::kObject:
      out->push_back('{');
      for (const Member& m : v.as_object()) {
        AppendJsonString(m.key, out);
        out->push_back(':');
        AppendKey(m.value, out);
        out->push_back(',');
      }
      out->push_back('}');
      return;
    default:
      // Type tag + the EJSON text: distinct types never collide.
      StrAppend(out, "t", static_cast<int>(v.type()), ":");
      AppendJson(v, out);
      return;
  }
}

}  // namespace

Expr::Expr() : root_(std::make_shared<Node>()) {}

absl::StatusOr<Expr> Expr::Compile(const Value& spec) {
  ASSIGN_OR_RETURN(Node n, CompileNode(spec, 0));
  Expr e;
  if (n.kind == Node::Kind::kField) e.field_path_ = n.dotted;
  e.root_ = std::make_shared<const Node>(std::move(n));
  return e;
}

std::optional<Value> Expr::Evaluate(const Object& doc) const { return Eval(*root_, doc); }

Value Expr::EvaluateOrNull(const Object& doc) const {
  Opt v = Eval(*root_, doc);
  return v ? std::move(*v) : Value();
}

bool Expr::reads_fields() const { return root_->reads_fields; }

const std::optional<std::string>& Expr::field_path() const { return field_path_; }

bool Truthy(const std::optional<Value>& v) {
  if (!v || v->is_null()) return false;
  if (v->is_bool()) return v->as_bool();
  if (v->is_number()) return v->ToDouble() != 0;
  return true;
}

std::string KeyString(const Value& v) {
  std::string out;
  AppendKey(v, &out);
  return out;
}

}  // namespace ddp::query
