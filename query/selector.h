// MongoDB query selectors ("filters"), compiled once and matched against
// documents many times.
//
// Supported (API.md §6): field equality (also against arrays and elements,
// with null matching missing fields), $eq $ne $gt $gte $lt $lte $in $nin,
// $and $or $nor $not, $exists $type, $regex (+$options: i m s), $mod,
// $size, $all, $elemMatch, dotted paths with MongoDB's array traversal,
// type brackets for range comparisons (a string is never $gt a number),
// int/double compared by value, $comment (ignored).
//
// Regular expressions run on RE2 (linear time; no backreferences or
// look-around: such patterns are rejected with a clear error).
//
// A compiled Selector is immutable, thread-safe and cheap to copy.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/value.h"

namespace ddp::query {

namespace internal {
class DocMatcher;
}

class Selector {
 public:
  // Matches every document ({}).
  Selector();

  // Compiles a selector object. A string selector means {_id: string}
  // (Meteor's shorthand). Errors are InvalidArgument and name the offending
  // operator or part, e.g. "unknown operator: $foo", "$in needs an array".
  static absl::StatusOr<Selector> Compile(const Value& selector);

  // False for anything but an object.
  bool Matches(const Value& doc) const;
  bool Matches(const Object& doc) const;

  // True for {} (no conditions).
  bool matches_all() const { return matches_all_; }
  // The id when the selector is {_id: "<string>"} (optionally with more
  // conditions), so that writes can fetch one document instead of scanning.
  const std::optional<std::string>& id() const { return id_; }
  // The equality conditions every matching document must satisfy, from the
  // top level and from $and: (dotted path, value). Used to seed upserts and
  // to route changes to live queries. Regex equalities are not included.
  const std::vector<std::pair<std::string, Value>>& equalities() const { return equalities_; }
  // Every field path the selector reads: the keys of its top level and of
  // its $and/$or/$nor branches (what $elemMatch reads lies under them).
  // Access rules refuse selectors that read a hidden field.
  const std::vector<std::string>& paths() const { return paths_; }

 private:
  std::shared_ptr<const internal::DocMatcher> root_;
  bool matches_all_ = true;
  std::optional<std::string> id_;
  std::vector<std::pair<std::string, Value>> equalities_;
  std::vector<std::string> paths_;
};

}  // namespace ddp::query
