// JSON and EJSON text <-> Value.
//
// Parsing is RapidJSON's SAX reader (iterative, so deep input cannot
// overflow the stack; UTF-8 validated) feeding a Value builder, followed by
// the EJSON interpretation of `$date`, `$binary`, `$type`/`$value`,
// `$regexp`/`$flags`, `$InfNaN` and `$escape` objects when the text held any
// `$` key. Serialization writes the EJSON wire form, escaping plain objects
// that would otherwise read back as an EJSON type.
//
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "protocol/value.h"

namespace ddp {

struct JsonLimits {
  // Deepest nesting of objects and arrays accepted. Default: 100 (MongoDB's
  // document nesting limit).
  int max_depth = 100;
  // Longest single string or key, in bytes. Default: 1 MiB.
  size_t max_string_bytes = size_t{1} << 20;
  // Longest text accepted at all, in bytes. Default: 16 MiB (transports cut
  // messages earlier; see the server's max message size).
  size_t max_text_bytes = size_t{16} << 20;
};

// Parses one JSON text (exactly one value; surrounding whitespace allowed)
// into a Value, interpreting EJSON. Errors are InvalidArgument with a
// message naming the problem and the byte offset: invalid JSON, invalid
// UTF-8, nesting, string or text beyond the limits, numbers beyond double
// range, malformed EJSON objects. Integers that fit int64 stay integers;
// larger ones become doubles.
absl::StatusOr<Value> ParseJson(std::string_view text, const JsonLimits& limits = {});

// ParseJson for texts whose top level should be an object (DDP messages):
// the members land in *out, whose capacity is reused from call to call, and
// the top-level object is never allocated on its own. Returns false, with
// *out empty, when the text is valid but its top level is not an object
// (after EJSON interpretation: `{"$date": 1}` is a date). Same errors as
// ParseJson.
absl::StatusOr<bool> ParseJsonObject(std::string_view text, Object* out,
                                     const JsonLimits& limits = {});

// Appends the EJSON text of `v` (members in their order) to `out`.
void AppendJson(const Value& v, std::string* out);
std::string ToJson(const Value& v);
// Same as AppendJson(Value(o), out) without the copy.
void AppendJsonObject(const Object& o, std::string* out);

// Like ToJson but with object members sorted by key at every level: the
// canonical form used for identity (query sharing) and hashing.
void AppendCanonicalJson(const Value& v, std::string* out);
std::string ToCanonicalJson(const Value& v);

// Writes ToJson(v); lets tests and logs print values.
std::ostream& operator<<(std::ostream& os, const Value& v);

// Appends `s` as a quoted JSON string literal.
void AppendJsonString(std::string_view s, std::string* out);

}  // namespace ddp
