#include "protocol/json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <span>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "common/strings.h"
#include "rapidjson/error/en.h"
#include "rapidjson/internal/dtoa.h"
#include "rapidjson/internal/itoa.h"
#include "rapidjson/reader.h"

namespace ddp {
namespace {

// ---------------------------------------------------------------- parsing

absl::Status EjsonError(std::string_view what) {
  return absl::InvalidArgumentError(StrCat("invalid EJSON: ", what));
}

bool IsHex24(std::string_view s) {
  if (s.size() != 24) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isxdigit(c); });
}

// Linear lookup over a span of members (an Object's, or the builder's
// scratch before the object exists).
Value* FindMember(std::span<Member> ms, std::string_view key) {
  for (Member& m : ms) {
    if (m.key == key) return &m.value;
  }
  return nullptr;
}

// When the members `o` are one of the EJSON forms other than `$escape`
// ($date, $binary, $InfNaN, $type/$value, $regexp/$flags), stores the typed
// value in *out and returns true; returns false for a plain object; an error
// for a malformed form. Values inside the form must already be interpreted.
absl::StatusOr<bool> ConvertForm(std::span<Member> o, Value* out) {
  if (o.size() == 1) {
    std::string_view key = o[0].key;
    Value& x = o[0].value;
    if (key == "$date") {
      if (x.is_int()) {
        *out = Value(Date{x.as_int()});
        return true;
      }
      if (x.is_double() && std::isfinite(x.as_double()) && std::fabs(x.as_double()) < 9.2e18) {
        *out = Value(Date{static_cast<int64_t>(std::trunc(x.as_double()))});
        return true;
      }
      return EjsonError("$date needs a finite number of milliseconds");
    }
    if (key == "$binary") {
      std::string bytes;
      if (!x.is_string() || !absl::Base64Unescape(x.as_string(), &bytes)) {
        return EjsonError("$binary needs a base64 string");
      }
      *out = Value(Binary{std::move(bytes)});
      return true;
    }
    if (key == "$InfNaN") {
      if (!x.is_number()) return EjsonError("$InfNaN needs a number");
      double sign = x.ToDouble();
      *out = Value(sign > 0   ? std::numeric_limits<double>::infinity()
                   : sign < 0 ? -std::numeric_limits<double>::infinity()
                              : std::numeric_limits<double>::quiet_NaN());
      return true;
    }
  } else if (o.size() == 2) {
    Value* type = FindMember(o, "$type");
    Value* value = FindMember(o, "$value");
    if (type != nullptr && value != nullptr) {
      if (!type->is_string()) return EjsonError("$type needs a string");
      if (std::string_view(type->as_string()) == "oid") {
        if (!value->is_string() || !IsHex24(value->as_string())) {
          return EjsonError("ObjectID $value needs 24 hex digits");
        }
        *out = Value(ObjectId{absl::AsciiStrToLower(value->as_string())});
        return true;
      }
      *out = Value(Custom{std::move(type->as_string()), Box<Value>(std::move(*value))});
      return true;
    }
    Value* pattern = FindMember(o, "$regexp");
    Value* flags = FindMember(o, "$flags");
    if (pattern != nullptr && flags != nullptr) {
      if (!pattern->is_string() || !flags->is_string()) {
        return EjsonError("$regexp and $flags need strings");
      }
      *out = Value(Regex{std::move(pattern->as_string()), std::move(flags->as_string())});
      return true;
    }
  }
  return false;
}

// Whether a decimal number text that from_chars found out of range is too
// large (rather than too small): its exponent, adjusted by the digits before
// the point, is positive.
bool IsHugeMagnitude(const char* s, const char* end) {
  if (*s == '-') ++s;
  long exp10 = 0;
  const char* e = std::find_if(s, end, [](char c) { return c == 'e' || c == 'E'; });
  if (e != end) {
    const char* p = e + 1;
    if (p != end && *p == '+') ++p;
    auto [ptr, ec] = std::from_chars(p, end, exp10);
    if (ec == std::errc::result_out_of_range) return *p != '-';
  }
  // Position of the first non-zero digit relative to the decimal point.
  const char* dot = std::find(s, e, '.');
  long int_digits = dot - s;
  const char* first = std::find_if(s, e, [](char c) { return c >= '1' && c <= '9'; });
  if (first == e) return false;  // all zeros
  long magnitude = first < dot ? int_digits - (first - s) : -(first - dot - 1);
  return exp10 + magnitude > 0;
}

// Builds a plain JSON Value from RapidJSON SAX events. EJSON interpretation
// happens afterwards, top-down, which keeps `$escape` simple.
//
// Members and elements of open containers wait on two scratch stacks and
// move into an exactly sized vector when their container closes (RapidJSON
// reports the count), so building costs one allocation per container.
class Builder {
 public:
  explicit Builder(const JsonLimits& limits)
      : limits_(limits),
        open_(scratch_.open),
        keys_(scratch_.keys),
        members_(scratch_.members),
        elements_(scratch_.elements) {
    open_.clear();
    keys_.clear();
    members_.clear();
    elements_.clear();
  }

  bool Null() { return Add(Value()); }
  bool Bool(bool b) { return Add(Value(b)); }
  // Numbers arrive as text (kParseNumbersAsStringsFlag, after RapidJSON
  // checked their syntax) and are converted with std::from_chars, which
  // rounds correctly. RapidJSON 1.1.0's own full-precision conversion
  // crashes on some inputs (e.g. "0." followed by hundreds of zeros).
  bool Int(int) { return false; }
  bool Uint(unsigned) { return false; }
  bool Int64(int64_t) { return false; }
  bool Uint64(uint64_t) { return false; }
  bool Double(double) { return false; }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    const char* end = s + n;
    // Fast path for the usual short integer: at most 18 digits cannot
    // overflow int64 (RapidJSON has checked the syntax already).
    const char* digits = s + (*s == '-' ? 1 : 0);
    if (end - digits <= 18) {
      uint64_t acc = 0;
      const char* p = digits;
      for (; p < end; ++p) {
        unsigned d = static_cast<unsigned>(*p - '0');
        if (d > 9) break;
        acc = acc * 10 + d;
      }
      if (p == end) {
        int64_t i = static_cast<int64_t>(acc);
        return Add(Value(digits != s ? -i : i));
      }
    }
    bool integral = std::find_if(s, end, [](char c) {
                      return c == '.' || c == 'e' || c == 'E';
                    }) == end;
    if (integral) {
      int64_t i;
      auto [ptr, ec] = std::from_chars(s, end, i);
      if (ec == std::errc() && ptr == end) return Add(Value(i));
      // Beyond int64: fall through to a double, as JavaScript would.
    }
    double d;
    auto [ptr, ec] = std::from_chars(s, end, d);
    if (ec == std::errc() && ptr == end) return Add(Value(d));
    if (ec == std::errc::result_out_of_range && !IsHugeMagnitude(s, end)) {
      // Underflow: the nearest double is zero, as in JavaScript.
      return Add(Value(s[0] == '-' ? -0.0 : 0.0));
    }
    error_ = StrCat("number ", std::string_view(s, n), " is beyond the range of a double");
    return false;
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    if (!CheckString(s, n)) return false;
    return Add(Value(std::string(s, n)));
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    if (!CheckString(s, n)) return false;
    if (n == 7 && std::memcmp(s, "$escape", 7) == 0) saw_escape_ = true;
    pending_key_ = std::string_view(s, n);
    return true;
  }
  // A member's key waits in pending_key_ until its value is complete; a
  // nested container parks it on the key stack meanwhile. The key is a view
  // of the in-situ buffer, which outlives the parse: its std::string is made
  // once, in its member.
  bool StartObject() { return Push(true); }
  bool EndObject(rapidjson::SizeType n) {
    Pop();
    // Duplicates, forms and the root are dealt with while the members still
    // sit on the scratch stack, so that an object that becomes a typed value
    // (`{"$date": ...}`) or the root of ParseJsonObject is never allocated.
    auto first = RemoveDuplicateKeys(members_.end() - static_cast<ptrdiff_t>(n));
    size_t count = static_cast<size_t>(members_.end() - first);
    // EJSON forms become typed values right away, except directly under an
    // `$escape` key, whose object stays literal (the top-down pass decides,
    // once the enclosing object is complete).
    if ((count == 1 || count == 2) && !first->key.empty() && first->key[0] == '$' &&
        !(!open_.empty() && open_.back() && pending_key_ == std::string_view("$escape"))) {
      Value converted;
      absl::StatusOr<bool> is_form = ConvertForm(std::span<Member>(&*first, count), &converted);
      if (!is_form.ok()) {
        error_ = std::string(is_form.status().message());
        return false;
      }
      if (*is_form) {
        members_.erase(first, members_.end());
        return Add(std::move(converted));
      }
    }
    if (open_.empty() && root_object_ != nullptr) {
      root_object_->members().assign(std::make_move_iterator(first),
                                     std::make_move_iterator(members_.end()));
      members_.erase(first, members_.end());
      root_is_object_ = true;
      return true;
    }
    Object o;
    o.members().assign(std::make_move_iterator(first), std::make_move_iterator(members_.end()));
    members_.erase(first, members_.end());
    return Add(Value(std::move(o)));
  }
  bool StartArray() { return Push(false); }
  bool EndArray(rapidjson::SizeType n) {
    Pop();
    auto first = elements_.end() - static_cast<ptrdiff_t>(n);
    Array a(std::make_move_iterator(first), std::make_move_iterator(elements_.end()));
    elements_.erase(first, elements_.end());
    return Add(Value(std::move(a)));
  }

  // Makes a root object land in *out (reusing its capacity) instead of in
  // the root Value; see ParseJsonObject.
  void SetRootObject(Object* out) { root_object_ = out; }
  bool root_is_object() const { return root_is_object_; }
  Value TakeRoot() { return std::move(root_); }
  bool saw_escape() const { return saw_escape_; }
  const std::string& error() const { return error_; }

 private:
  bool CheckString(const char* s, size_t n) {
    if (n > limits_.max_string_bytes) {
      error_ = StrCat("string of ", n, " bytes exceeds the limit of ", limits_.max_string_bytes);
      return false;
    }
    // Debian's RapidJSON (1.1.0) decodes a lone low-surrogate escape
    // ("\udc00") into the UTF-8 bytes of U+DC00 (ED B0 80), which are not
    // UTF-8: re-encoded, they would reach other clients as invalid text. Any
    // surrogate code point in the decoded string starts ED A0..BF; raw input
    // bytes like that are already refused by encoding validation, so what
    // is found here came from an escape. 0xED is rare, so memchr keeps the
    // common string at one fast scan.
    const char* end = s + n;
    for (const char* p = s; (p = static_cast<const char*>(std::memchr(p, 0xED, end - p))) != nullptr;
         ++p) {
      if (p + 1 < end && (static_cast<unsigned char>(p[1]) & 0xE0) == 0xA0) {
        error_ = "invalid JSON: \\u escape of an unpaired UTF-16 surrogate";
        return false;
      }
    }
    return true;
  }

  bool Push(bool is_object) {
    if (static_cast<int>(open_.size()) >= limits_.max_depth) {
      error_ = StrCat("nesting deeper than ", limits_.max_depth, " levels");
      return false;
    }
    if (!open_.empty() && open_.back()) keys_.push_back(pending_key_);
    open_.push_back(is_object);
    return true;
  }

  void Pop() {
    open_.pop_back();
    if (!open_.empty() && open_.back()) {
      pending_key_ = keys_.back();
      keys_.pop_back();
    }
  }

  bool Add(Value v) {
    if (open_.empty()) {
      root_ = std::move(v);
    } else if (open_.back()) {
      members_.push_back(Member{std::string(pending_key_), std::move(v)});
    } else {
      elements_.push_back(std::move(v));
    }
    return true;
  }

  // JSON allows repeated keys; like JavaScript's JSON.parse, the last value
  // wins and keeps the position of the first occurrence. Works on the
  // members from `first` to the end of the scratch stack; returns where they
  // now begin.
  std::vector<Member>::iterator RemoveDuplicateKeys(std::vector<Member>::iterator first) {
    const ptrdiff_t start = first - members_.begin();
    for (size_t i = static_cast<size_t>(start) + 1; i < members_.size(); ++i) {
      for (size_t j = static_cast<size_t>(start); j < i; ++j) {
        if (members_[j].key == members_[i].key) {
          members_[j].value = std::move(members_[i].value);
          members_.erase(members_.begin() + static_cast<ptrdiff_t>(i));
          --i;
          break;
        }
      }
    }
    return members_.begin() + start;
  }

  // The scratch stacks live per thread so that their capacity is reused
  // from one parse to the next.
  struct Scratch {
    std::vector<bool> open;  // kinds of the open containers: true = object
    std::vector<std::string_view> keys;
    std::vector<Member> members;
    std::vector<Value> elements;
  };
  static thread_local Scratch scratch_;

  const JsonLimits& limits_;
  std::vector<bool>& open_;
  std::vector<std::string_view>& keys_;
  std::string_view pending_key_;
  std::vector<Member>& members_;
  std::vector<Value>& elements_;
  Value root_;
  Object* root_object_ = nullptr;
  bool root_is_object_ = false;
  bool saw_escape_ = false;
  std::string error_;
};

thread_local Builder::Scratch Builder::scratch_;

// Top-down EJSON interpretation, in place. Needed only when the text held an
// `$escape` key: everything else the builder converts as containers close.
absl::Status Interpret(Value& v) {
  if (v.is_array()) {
    for (Value& e : v.as_array()) {
      absl::Status s = Interpret(e);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  if (v.is_custom()) return Interpret(*v.as_custom().value);
  if (!v.is_object()) return absl::OkStatus();
  Object& o = v.as_object();
  if (o.size() == 1 && o.at(0).key == "$escape") {
    // The escaped object's keys are literal; its values are still EJSON.
    if (!o.at(0).value.is_object()) return EjsonError("$escape needs an object");
    Value inner = std::move(o.at(0).value);
    for (Member& m : inner.as_object()) {
      absl::Status s = Interpret(m.value);
      if (!s.ok()) return s;
    }
    v = std::move(inner);
    return absl::OkStatus();
  }
  for (Member& m : o) {
    absl::Status s = Interpret(m.value);
    if (!s.ok()) return s;
  }
  Value converted;
  absl::StatusOr<bool> is_form = ConvertForm(std::span<Member>(o.members()), &converted);
  if (!is_form.ok()) return is_form.status();
  if (*is_form) v = std::move(converted);
  return absl::OkStatus();
}

// ---------------------------------------------------------------- writing

// True when a plain object would read back as an EJSON type and must be
// written inside `$escape` (Meteor's rule: 1 or 2 keys matching a form).
bool NeedsEscape(const Object& o) {
  if (o.size() == 1) {
    const std::string& k = o.at(0).key;
    return k == "$date" || k == "$binary" || k == "$InfNaN" || k == "$escape";
  }
  if (o.size() == 2) {
    return (o.Contains("$type") && o.Contains("$value")) ||
           (o.Contains("$regexp") && o.Contains("$flags"));
  }
  return false;
}

void AppendInt(int64_t i, std::string* out) {
  char buf[24];
  char* end = rapidjson::internal::i64toa(i, buf);
  out->append(buf, end);
}

void AppendDouble(double d, std::string* out) {
  if (!std::isfinite(d)) {
    out->append("{\"$InfNaN\":");
    out->append(std::isnan(d) ? "0" : (d > 0 ? "1" : "-1"));
    out->push_back('}');
    return;
  }
  char buf[32];
  char* end = rapidjson::internal::dtoa(d, buf);
  out->append(buf, end);
}

template <bool kCanonical>
void Write(const Value& v, std::string* out);

template <bool kCanonical>
void WriteMembers(const Object& o, std::string* out) {
  out->push_back('{');
  if constexpr (kCanonical) {
    std::vector<const Member*> sorted;
    sorted.reserve(o.size());
    for (const Member& m : o) sorted.push_back(&m);
    std::sort(sorted.begin(), sorted.end(),
              [](const Member* a, const Member* b) { return a->key < b->key; });
    bool first = true;
    for (const Member* m : sorted) {
      if (!first) out->push_back(',');
      first = false;
      AppendJsonString(m->key, out);
      out->push_back(':');
      Write<kCanonical>(m->value, out);
    }
  } else {
    bool first = true;
    for (const Member& m : o) {
      if (!first) out->push_back(',');
      first = false;
      AppendJsonString(m.key, out);
      out->push_back(':');
      Write<kCanonical>(m.value, out);
    }
  }
  out->push_back('}');
}

template <bool kCanonical>
void Write(const Value& v, std::string* out) {
  switch (v.type()) {
    case Value::Type::kNull:
      out->append("null");
      return;
    case Value::Type::kBool:
      out->append(v.as_bool() ? "true" : "false");
      return;
    case Value::Type::kInt:
      AppendInt(v.as_int(), out);
      return;
    case Value::Type::kDouble:
      AppendDouble(v.as_double(), out);
      return;
    case Value::Type::kString:
      AppendJsonString(v.as_string(), out);
      return;
    case Value::Type::kObject: {
      const Object& o = v.as_object();
      if (NeedsEscape(o)) {
        out->append("{\"$escape\":");
        WriteMembers<kCanonical>(o, out);
        out->push_back('}');
      } else {
        WriteMembers<kCanonical>(o, out);
      }
      return;
    }
    case Value::Type::kArray: {
      out->push_back('[');
      bool first = true;
      for (const Value& e : v.as_array()) {
        if (!first) out->push_back(',');
        first = false;
        Write<kCanonical>(e, out);
      }
      out->push_back(']');
      return;
    }
    case Value::Type::kBinary:
      out->append("{\"$binary\":\"");
      out->append(absl::Base64Escape(v.as_binary().bytes));
      out->append("\"}");
      return;
    case Value::Type::kObjectId:
      out->append("{\"$type\":\"oid\",\"$value\":\"");
      out->append(v.as_object_id().hex);
      out->append("\"}");
      return;
    case Value::Type::kDate:
      out->append("{\"$date\":");
      AppendInt(v.as_date().millis, out);
      out->push_back('}');
      return;
    case Value::Type::kRegex:
      out->append("{\"$regexp\":");
      AppendJsonString(v.as_regex().pattern, out);
      out->append(",\"$flags\":");
      AppendJsonString(v.as_regex().flags, out);
      out->push_back('}');
      return;
    case Value::Type::kCustom:
      out->append("{\"$type\":");
      AppendJsonString(v.as_custom().type, out);
      out->append(",\"$value\":");
      Write<kCanonical>(*v.as_custom().value, out);
      out->push_back('}');
      return;
  }
}

bool IsAscii(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t acc = 0;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    acc |= w;
  }
  for (; n > 0; ++p, --n) acc |= static_cast<unsigned char>(*p);
  return (acc & 0x8080808080808080ULL) == 0;
}

}  // namespace

namespace {

// Runs the SAX parse of `text` into `builder`.
absl::Status RunParse(std::string_view text, const JsonLimits& limits, Builder& builder) {
  if (text.size() > limits.max_text_bytes) {
    return absl::InvalidArgumentError(StrCat("text of ", text.size(),
                                                   " bytes exceeds the limit of ",
                                                   limits.max_text_bytes));
  }
  // The text is copied into a per-thread NUL-terminated buffer and parsed in
  // situ: RapidJSON then decodes strings in place instead of through its own
  // stack. UTF-8 validation is only needed when a byte is not ASCII, which
  // one pass of word-wide checks tells. Recursive (not iterative) parsing is
  // faster, and safe: the builder stops the parse at max_depth.
  thread_local std::string scratch;
  scratch.assign(text.data(), text.size());
  // RapidJSON's SSE2 scanner loads aligned 16-byte blocks, which may reach
  // up to 15 bytes past the terminating NUL: keep them inside the buffer.
  scratch.append(16, '\0');
  rapidjson::InsituStringStream is(scratch.data());
  rapidjson::Reader reader;
  constexpr unsigned kFlags = rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag;
  rapidjson::ParseResult r =
      IsAscii(text) ? reader.Parse<kFlags>(is, builder)
                    : reader.Parse<kFlags | rapidjson::kParseValidateEncodingFlag>(is, builder);
  if (!r) {
    if (!builder.error().empty()) {
      return absl::InvalidArgumentError(StrCat(builder.error(), " at offset ", r.Offset()));
    }
    return absl::InvalidArgumentError(StrCat("invalid JSON: ", rapidjson::GetParseError_En(r.Code()),
                                             " at offset ", r.Offset()));
  }
  // The stream reports NUL as the end of input; a NUL byte outside a string
  // would otherwise silently truncate the text.
  if (is.Tell() != text.size()) {
    return absl::InvalidArgumentError(
        StrCat("invalid JSON: unexpected NUL byte at offset ", is.Tell()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Value> ParseJson(std::string_view text, const JsonLimits& limits) {
  Builder builder(limits);
  if (absl::Status s = RunParse(text, limits, builder); !s.ok()) return s;
  Value v = builder.TakeRoot();
  if (builder.saw_escape()) {
    absl::Status s = Interpret(v);
    if (!s.ok()) return s;
  }
  return v;
}

absl::StatusOr<bool> ParseJsonObject(std::string_view text, Object* out,
                                     const JsonLimits& limits) {
  out->clear();
  Builder builder(limits);
  builder.SetRootObject(out);
  if (absl::Status s = RunParse(text, limits, builder); !s.ok()) {
    out->clear();
    return s;
  }
  if (!builder.root_is_object()) return false;
  if (builder.saw_escape()) {
    // Rare: interpret the whole object the slow way, which may even turn
    // the root into something else (`{"$escape": ...}` stays an object).
    Value v(std::move(*out));
    absl::Status s = Interpret(v);
    out->clear();
    if (!s.ok()) return s;
    if (!v.is_object()) return false;
    *out = std::move(v.as_object());
  }
  return true;
}

namespace {

// Whether any of the eight bytes of `w` is a control character, '"' or '\\'.
// Classic SWAR tests: such a byte sets its top bit in the result; bytes
// above a true hit may be flagged too, never a block without one.
bool BlockNeedsEscape(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  uint64_t q = w ^ (kOnes * '"');
  uint64_t b = w ^ (kOnes * '\\');
  return ((((w - kOnes * 0x20) & ~w) | ((q - kOnes) & ~q) | ((b - kOnes) & ~b)) & kHigh) != 0;
}

bool ByteNeedsEscape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->reserve(out->size() + s.size() + 2);
  out->push_back('"');
  const size_t n = s.size();
  size_t run = 0;  // start of the pending run of bytes that need no escape
  size_t i = 0;
  for (;;) {
    // Eight bytes at a time over the usual case (keys, ids, text), then
    // byte by byte to the one that needs an escape.
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (BlockNeedsEscape(w)) break;
    }
    while (i < n && !ByteNeedsEscape(static_cast<unsigned char>(s[i]))) ++i;
    if (i == n) break;
    unsigned char c = static_cast<unsigned char>(s[i]);
    out->append(s.data() + run, i - run);
    run = ++i;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default: {
        char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out->append(esc, 6);
      }
    }
  }
  out->append(s.data() + run, n - run);
  out->push_back('"');
}

void AppendJson(const Value& v, std::string* out) { Write<false>(v, out); }

void AppendJsonObject(const Object& o, std::string* out) {
  if (NeedsEscape(o)) {
    out->append("{\"$escape\":");
    WriteMembers<false>(o, out);
    out->push_back('}');
  } else {
    WriteMembers<false>(o, out);
  }
}

std::ostream& operator<<(std::ostream& os, const Value& v) { return os << ToJson(v); }

std::string ToJson(const Value& v) {
  std::string out;
  AppendJson(v, &out);
  return out;
}

void AppendCanonicalJson(const Value& v, std::string* out) { Write<true>(v, out); }

std::string ToCanonicalJson(const Value& v) {
  std::string out;
  AppendCanonicalJson(v, &out);
  return out;
}

}  // namespace ddp
