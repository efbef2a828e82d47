#include "protocol/value.h"

#include <cmath>
#include <cstring>

#include "absl/hash/hash.h"
#include "absl/strings/numbers.h"
#include "common/strings.h"

namespace ddp {

Object::Object(std::initializer_list<Member> members) : members_(members) {}

namespace {

// Key equality for the linear lookups: most keys of an object differ in
// length or first byte, which is checked before calling memcmp.
inline bool SameKey(const std::string& a, std::string_view b) {
  return a.size() == b.size() && (b.empty() || (a[0] == b[0] && std::memcmp(a.data(), b.data(), b.size()) == 0));
}

}  // namespace

const Value* Object::Find(std::string_view key) const {
  for (const Member& m : members_) {
    if (SameKey(m.key, key)) return &m.value;
  }
  return nullptr;
}

Value* Object::Find(std::string_view key) {
  for (Member& m : members_) {
    if (SameKey(m.key, key)) return &m.value;
  }
  return nullptr;
}

Value& Object::Set(std::string_view key, Value value) {
  if (Value* existing = Find(key)) {
    *existing = std::move(value);
    return *existing;
  }
  return Append(std::string(key), std::move(value));
}

Value& Object::Append(std::string key, Value value) {
  members_.push_back(Member{std::move(key), std::move(value)});
  return members_.back().value;
}

bool Object::Erase(std::string_view key) {
  for (auto it = members_.begin(); it != members_.end(); ++it) {
    if (it->key == key) {
      members_.erase(it);
      return true;
    }
  }
  return false;
}

const Value* Value::Find(std::string_view key) const {
  return is_object() ? as_object().Find(key) : nullptr;
}

Value* Value::Find(std::string_view key) {
  return is_object() ? as_object().Find(key) : nullptr;
}

const Value* Value::FindPath(std::string_view dotted) const {
  const Value* cur = this;
  while (cur != nullptr) {
    size_t dot = dotted.find('.');
    std::string_view step = dotted.substr(0, dot);
    if (cur->is_object()) {
      cur = cur->as_object().Find(step);
    } else if (cur->is_array()) {
      size_t index;
      if (step.empty() || !absl::SimpleAtoi(ToAbsl(step), &index) || step[0] == '+' ||
          index >= cur->as_array().size()) {
        return nullptr;
      }
      cur = &cur->as_array()[index];
    } else {
      return nullptr;
    }
    if (dot == std::string_view::npos) return cur;
    dotted.remove_prefix(dot + 1);
  }
  return nullptr;
}

bool operator==(const Object& x, const Object& y) {
  if (x.size() != y.size()) return false;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x.at(i).key != y.at(i).key || x.at(i).value != y.at(i).value) return false;
  }
  return true;
}

bool operator==(const Value& a, const Value& b) {
  if (a.v_.index() != b.v_.index()) return false;
  switch (a.type()) {
    case Value::Type::kNull:
      return true;
    case Value::Type::kBool:
      return a.as_bool() == b.as_bool();
    case Value::Type::kInt:
      return a.as_int() == b.as_int();
    case Value::Type::kDouble: {
      double x = a.as_double(), y = b.as_double();
      if (std::isnan(x) || std::isnan(y)) return std::isnan(x) && std::isnan(y);
      return std::memcmp(&x, &y, sizeof x) == 0;
    }
    case Value::Type::kString:
      return a.as_string() == b.as_string();
    case Value::Type::kObject:
      return a.as_object() == b.as_object();
    case Value::Type::kArray:
      return a.as_array() == b.as_array();
    case Value::Type::kBinary:
      return a.as_binary().bytes == b.as_binary().bytes;
    case Value::Type::kObjectId:
      return a.as_object_id().hex == b.as_object_id().hex;
    case Value::Type::kDate:
      return a.as_date().millis == b.as_date().millis;
    case Value::Type::kRegex:
      return a.as_regex().pattern == b.as_regex().pattern &&
             a.as_regex().flags == b.as_regex().flags;
    case Value::Type::kCustom:
      return a.as_custom().type == b.as_custom().type &&
             *a.as_custom().value == *b.as_custom().value;
  }
  return false;
}

size_t Value::Hash() const {
  size_t h = absl::HashOf(static_cast<int>(type()));
  switch (type()) {
    case Type::kNull:
      return h;
    case Type::kBool:
      return absl::HashOf(h, as_bool());
    case Type::kInt:
      return absl::HashOf(h, as_int());
    case Type::kDouble: {
      double d = as_double();
      if (std::isnan(d)) return absl::HashOf(h, uint64_t{0x7ff8000000000000});
      uint64_t bits;
      std::memcpy(&bits, &d, sizeof bits);
      return absl::HashOf(h, bits);
    }
    case Type::kString:
      return absl::HashOf(h, as_string());
    case Type::kObject:
      for (const Member& m : as_object()) h = absl::HashOf(h, m.key, m.value.Hash());
      return h;
    case Type::kArray:
      for (const Value& v : as_array()) h = absl::HashOf(h, v.Hash());
      return absl::HashOf(h, as_array().size());
    case Type::kBinary:
      return absl::HashOf(h, as_binary().bytes);
    case Type::kObjectId:
      return absl::HashOf(h, as_object_id().hex);
    case Type::kDate:
      return absl::HashOf(h, as_date().millis);
    case Type::kRegex:
      return absl::HashOf(h, as_regex().pattern, as_regex().flags);
    case Type::kCustom:
      return absl::HashOf(h, as_custom().type, as_custom().value->Hash());
  }
  return h;
}

std::string_view TypeName(Value::Type t) {
  switch (t) {
    case Value::Type::kNull:
      return "null";
    case Value::Type::kBool:
      return "bool";
    case Value::Type::kInt:
      return "int";
    case Value::Type::kDouble:
      return "double";
    case Value::Type::kString:
      return "string";
    case Value::Type::kObject:
      return "object";
    case Value::Type::kArray:
      return "array";
    case Value::Type::kBinary:
      return "binary";
    case Value::Type::kObjectId:
      return "objectId";
    case Value::Type::kDate:
      return "date";
    case Value::Type::kRegex:
      return "regex";
    case Value::Type::kCustom:
      return "custom";
  }
  return "unknown";
}

std::string_view Value::TypeName() const { return ddp::TypeName(type()); }

int CanonicalTypeRank(Value::Type t) {
  switch (t) {
    case Value::Type::kNull:
      return 1;
    case Value::Type::kInt:
    case Value::Type::kDouble:
      return 2;
    case Value::Type::kString:
      return 3;
    case Value::Type::kObject:
      return 4;
    case Value::Type::kArray:
      return 5;
    case Value::Type::kBinary:
      return 6;
    case Value::Type::kObjectId:
      return 7;
    case Value::Type::kBool:
      return 8;
    case Value::Type::kDate:
      return 9;
    case Value::Type::kRegex:
      return 11;
    case Value::Type::kCustom:
      return 12;
  }
  return 0;
}

namespace {

template <typename T>
int Cmp3(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

int CompareStrings(const std::string& a, const std::string& b) {
  int c = a.compare(b);  // char_traits<char>::compare is unsigned, like memcmp
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

// Exact comparison of an int64 with a double (no rounding of the int).
int CompareIntDouble(int64_t i, double d) {
  if (std::isnan(d)) return 1;  // NaN sorts below every number
  // 2^63 is exactly representable; anything at or above it exceeds every int64.
  constexpr double kTwo63 = 9223372036854775808.0;
  if (d >= kTwo63) return -1;
  if (d < -kTwo63) return 1;
  double whole = std::trunc(d);
  int64_t t = static_cast<int64_t>(whole);
  if (i != t) return i < t ? -1 : 1;
  double frac = d - whole;
  return frac > 0 ? -1 : (frac < 0 ? 1 : 0);
}

int CompareNumbers(const Value& a, const Value& b) {
  if (a.is_int() && b.is_int()) return Cmp3(a.as_int(), b.as_int());
  if (a.is_int()) return CompareIntDouble(a.as_int(), b.as_double());
  if (b.is_int()) return -CompareIntDouble(b.as_int(), a.as_double());
  double x = a.as_double(), y = b.as_double();
  bool xn = std::isnan(x), yn = std::isnan(y);
  if (xn || yn) return xn && yn ? 0 : (xn ? -1 : 1);
  return Cmp3(x, y);
}

}  // namespace

int Compare(const Value& a, const Value& b) {
  int ra = CanonicalTypeRank(a.type()), rb = CanonicalTypeRank(b.type());
  if (ra != rb) return ra < rb ? -1 : 1;
  switch (a.type()) {
    case Value::Type::kNull:
      return 0;
    case Value::Type::kInt:
    case Value::Type::kDouble:
      return CompareNumbers(a, b);
    case Value::Type::kString:
      return CompareStrings(a.as_string(), b.as_string());
    case Value::Type::kObject: {
      const Object& x = a.as_object();
      const Object& y = b.as_object();
      size_t n = std::min(x.size(), y.size());
      for (size_t i = 0; i < n; ++i) {
        const Member& mx = x.at(i);
        const Member& my = y.at(i);
        int tx = CanonicalTypeRank(mx.value.type()), ty = CanonicalTypeRank(my.value.type());
        if (tx != ty) return tx < ty ? -1 : 1;
        if (int c = CompareStrings(mx.key, my.key)) return c;
        if (int c = Compare(mx.value, my.value)) return c;
      }
      return Cmp3(x.size(), y.size());
    }
    case Value::Type::kArray: {
      const Array& x = a.as_array();
      const Array& y = b.as_array();
      size_t n = std::min(x.size(), y.size());
      for (size_t i = 0; i < n; ++i) {
        if (int c = Compare(x[i], y[i])) return c;
      }
      return Cmp3(x.size(), y.size());
    }
    case Value::Type::kBinary: {
      const std::string& x = a.as_binary().bytes;
      const std::string& y = b.as_binary().bytes;
      if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
      return CompareStrings(x, y);
    }
    case Value::Type::kObjectId:
      return CompareStrings(a.as_object_id().hex, b.as_object_id().hex);
    case Value::Type::kBool:
      return Cmp3(a.as_bool(), b.as_bool());
    case Value::Type::kDate:
      return Cmp3(a.as_date().millis, b.as_date().millis);
    case Value::Type::kRegex: {
      if (int c = CompareStrings(a.as_regex().pattern, b.as_regex().pattern)) return c;
      return CompareStrings(a.as_regex().flags, b.as_regex().flags);
    }
    case Value::Type::kCustom: {
      if (int c = CompareStrings(a.as_custom().type, b.as_custom().type)) return c;
      return Compare(*a.as_custom().value, *b.as_custom().value);
    }
  }
  return 0;
}

}  // namespace ddp
