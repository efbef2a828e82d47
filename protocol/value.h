// EJSON values: the data model of DDP and of every ddpd document.
//
// A Value is one of: null, bool, int64, double, string, object (members in
// insertion order), array, and the EJSON types binary, ObjectID, date,
// regular expression and custom `$type`/`$value` pairs. Integers and doubles
// stay apart so that a JSON text round-trips exactly (`1` stays `1`, `1.0`
// stays `1.0`).
//
// Values are plain value types: copyable, movable, no sharing, not
// thread-safe to mutate concurrently (const access from many threads is fine).
// The JSON codec lives in json.h; the MongoDB total order in Compare().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace ddp {

class Value;
struct Member;

// A copyable owning pointer: lets a variant alternative hold a Value (or a
// large struct) without making every Value as big as its largest case.
template <typename T>
class Box {
 public:
  Box() : ptr_(std::make_unique<T>()) {}
  explicit Box(T v) : ptr_(std::make_unique<T>(std::move(v))) {}
  Box(const Box& o) : ptr_(std::make_unique<T>(*o.ptr_)) {}
  Box(Box&&) noexcept = default;
  Box& operator=(const Box& o) {
    if (this != &o) ptr_ = std::make_unique<T>(*o.ptr_);
    return *this;
  }
  Box& operator=(Box&&) noexcept = default;
  T& operator*() { return *ptr_; }
  const T& operator*() const { return *ptr_; }
  T* operator->() { return ptr_.get(); }
  const T* operator->() const { return ptr_.get(); }

 private:
  std::unique_ptr<T> ptr_;
};

using Array = std::vector<Value>;

// An object with members in insertion order. Lookups are linear: documents
// and DDP messages are small, and the order must survive a round trip.
class Object {
 public:
  using iterator = std::vector<Member>::iterator;
  using const_iterator = std::vector<Member>::const_iterator;

  // Special members are defined below, once Member is complete (clang needs
  // that for the vector of an incomplete type).
  Object();
  Object(std::initializer_list<Member> members);
  Object(const Object&);
  Object(Object&&) noexcept;
  Object& operator=(const Object&);
  Object& operator=(Object&&) noexcept;
  ~Object();

  // (Defined below, once Member is complete.)
  size_t size() const;
  bool empty() const;
  void reserve(size_t n);
  void clear();
  iterator begin();
  iterator end();
  const_iterator begin() const;
  const_iterator end() const;
  Member& at(size_t i);
  const Member& at(size_t i) const;

  // nullptr when absent.
  const Value* Find(std::string_view key) const;
  Value* Find(std::string_view key);
  bool Contains(std::string_view key) const { return Find(key) != nullptr; }

  // Replaces the value of an existing key in place, or appends.
  Value& Set(std::string_view key, Value value);
  // Appends without looking for an existing key: the caller knows it is new.
  Value& Append(std::string key, Value value);
  // Returns whether the key was present.
  bool Erase(std::string_view key);

  std::vector<Member>& members() { return members_; }
  const std::vector<Member>& members() const { return members_; }

 private:
  std::vector<Member> members_;
};

// EJSON `{"$binary": base64}`.
struct Binary {
  std::string bytes;
};
// EJSON `{"$type": "oid", "$value": hex}`: Meteor's Mongo.ObjectID. `hex` is
// 24 lowercase hex digits.
struct ObjectId {
  std::string hex;
};
// EJSON `{"$date": milliseconds since the epoch}`.
struct Date {
  int64_t millis = 0;
};
// EJSON `{"$regexp": pattern, "$flags": flags}`.
struct Regex {
  std::string pattern;
  std::string flags;
};
// EJSON custom type `{"$type": name, "$value": json}` other than `oid`. The
// value is kept as plain JSON (no EJSON interpretation), like Meteor does.
struct Custom {
  std::string type;
  Box<Value> value;
};

class Value {
 public:
  // The order of these matches the variant alternatives below.
  enum class Type : uint8_t {
    kNull,
    kBool,
    kInt,
    kDouble,
    kString,
    kObject,
    kArray,
    kBinary,
    kObjectId,
    kDate,
    kRegex,
    kCustom,
  };

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : v_(b) {}
  Value(int i) : v_(int64_t{i}) {}
  Value(int64_t i) : v_(i) {}
  Value(uint32_t i) : v_(int64_t{i}) {}
  Value(long long i) : v_(static_cast<int64_t>(i)) {}
  // Sizes and counts; values beyond int64 become doubles.
  Value(unsigned long i) {
    if (i > static_cast<unsigned long>(INT64_MAX)) {
      v_ = static_cast<double>(i);
    } else {
      v_ = static_cast<int64_t>(i);
    }
  }
  Value(double d) : v_(d) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(Object o) : v_(std::move(o)) {}
  Value(Array a) : v_(std::move(a)) {}
  Value(Binary b) : v_(std::move(b)) {}
  Value(ObjectId o) : v_(std::move(o)) {}
  Value(Date d) : v_(d) {}
  Value(Regex r) : v_(Box<Regex>(std::move(r))) {}
  Value(Custom c) : v_(std::move(c)) {}

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return type() == Type::kNull; }
  bool is_bool() const { return type() == Type::kBool; }
  bool is_int() const { return type() == Type::kInt; }
  bool is_double() const { return type() == Type::kDouble; }
  bool is_number() const { return is_int() || is_double(); }
  bool is_string() const { return type() == Type::kString; }
  bool is_object() const { return type() == Type::kObject; }
  bool is_array() const { return type() == Type::kArray; }
  bool is_binary() const { return type() == Type::kBinary; }
  bool is_object_id() const { return type() == Type::kObjectId; }
  bool is_date() const { return type() == Type::kDate; }
  bool is_regex() const { return type() == Type::kRegex; }
  bool is_custom() const { return type() == Type::kCustom; }

  // Accessors require the matching type (checked by std::get).
  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_double() const { return std::get<double>(v_); }
  // An int or a double as a double.
  double ToDouble() const { return is_int() ? static_cast<double>(as_int()) : as_double(); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  std::string& as_string() { return std::get<std::string>(v_); }
  const Object& as_object() const { return std::get<Object>(v_); }
  Object& as_object() { return std::get<Object>(v_); }
  const Array& as_array() const { return std::get<Array>(v_); }
  Array& as_array() { return std::get<Array>(v_); }
  const Binary& as_binary() const { return std::get<Binary>(v_); }
  const ObjectId& as_object_id() const { return std::get<ObjectId>(v_); }
  Date as_date() const { return std::get<Date>(v_); }
  const Regex& as_regex() const { return *std::get<Box<Regex>>(v_); }
  const Custom& as_custom() const { return std::get<Custom>(v_); }
  Custom& as_custom() { return std::get<Custom>(v_); }

  // Object member lookup; nullptr when this is not an object or the key is absent.
  const Value* Find(std::string_view key) const;
  Value* Find(std::string_view key);

  // Dotted-path access: object members by name, array elements by decimal
  // index ("a.0.b"). No implicit traversal of arrays (that is a query
  // semantic, see query/). nullptr when any step is missing.
  const Value* FindPath(std::string_view dotted) const;

  // Strict structural equality: same types (1 != 1.0), same members in the
  // same order, doubles compared bit for bit except that every NaN equals
  // every NaN (so 0.0 != -0.0 but NaN == NaN).
  // This is "would serialize to the same JSON"; for MongoDB's equality use
  // Compare(a, b) == 0.
  friend bool operator==(const Value& a, const Value& b);
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

  template <typename H>
  friend H AbslHashValue(H h, const Value& v) {
    return H::combine(std::move(h), v.Hash());
  }
  // A hash consistent with operator==.
  size_t Hash() const;

  // Type name for error messages ("string", "object", "date", ...).
  std::string_view TypeName() const;

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string, Object, Array, Binary,
               ObjectId, Date, Box<Regex>, Custom>
      v_;
};

struct Member {
  std::string key;
  Value value;
};

// Strict equality of members in order (see Value's operator==).
bool operator==(const Object& a, const Object& b);
inline bool operator!=(const Object& a, const Object& b) { return !(a == b); }

inline Object::Object() = default;
inline Object::Object(const Object&) = default;
inline Object::Object(Object&&) noexcept = default;
inline Object& Object::operator=(const Object&) = default;
inline Object& Object::operator=(Object&&) noexcept = default;
inline Object::~Object() = default;
inline size_t Object::size() const { return members_.size(); }
inline bool Object::empty() const { return members_.empty(); }
inline void Object::reserve(size_t n) { members_.reserve(n); }
inline void Object::clear() { members_.clear(); }
inline Object::iterator Object::begin() { return members_.begin(); }
inline Object::iterator Object::end() { return members_.end(); }
inline Object::const_iterator Object::begin() const { return members_.begin(); }
inline Object::const_iterator Object::end() const { return members_.end(); }
inline Member& Object::at(size_t i) { return members_[i]; }
inline const Member& Object::at(size_t i) const { return members_[i]; }

std::string_view TypeName(Value::Type t);

// MongoDB's total order across types, used for sort and range comparison:
// null < numbers < strings < objects < arrays < binary < ObjectId < bool <
// date < regex < custom. Numbers compare by value across int/double (NaN
// sorts below every other number and equals itself); strings bytewise;
// objects member by member (type, then name, then value); arrays element by
// element; the shorter prefix first. Returns <0, 0 or >0.
int Compare(const Value& a, const Value& b);

// The bracket of a type in that order (numbers share one), for `$type`-free
// range operators that only compare within a bracket.
int CanonicalTypeRank(Value::Type t);

// MongoDB equality: Compare(a, b) == 0 (so 1 equals 1.0).
inline bool Equivalent(const Value& a, const Value& b) { return Compare(a, b) == 0; }

}  // namespace ddp
