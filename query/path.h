// Dotted paths over documents with MongoDB's array semantics.
//
// Looking up "a.b" in {a: [{b: 1}, {b: 2}]} yields two branches (1 and 2):
// a path step over an array visits every element that is an object, and a
// numeric step indexes into the array. A query operator then matches when
// any branch (or, for most operators, any element of an array at the end of
// a branch) matches. This follows minimongo's lookup, which follows MongoDB.
//
// Pure functions over const documents; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "protocol/value.h"

namespace ddp::query {

// A compiled dotted path.
class Path {
 public:
  Path() = default;
  explicit Path(std::string_view dotted);

  const std::string& dotted() const { return dotted_; }
  const std::vector<std::string>& parts() const { return parts_; }
  bool empty() const { return parts_.empty(); }

 private:
  std::string dotted_;
  std::vector<std::string> parts_;
};

// One result of a lookup. `value` is nullptr when the path is missing on
// this branch. `dont_iterate` marks an array reached by indexing into an
// array (its elements are not candidates themselves).
struct Branch {
  const Value* value = nullptr;
  bool dont_iterate = false;
};
using Branches = absl::InlinedVector<Branch, 4>;

// All branches of `path` in `doc` (an object, or an array for $elemMatch
// over arrays of arrays).
void LookupBranches(const Value& doc, const Path& path, Branches* out);
void LookupBranches(const Object& doc, const Path& path, Branches* out);

// The branches plus, for each branch that is an array (and may be
// iterated), its elements. With `skip_arrays`, such arrays themselves are
// left out and only their elements remain.
void ExpandArrays(const Branches& in, bool skip_arrays, Branches* out);

// Every value a document presents at `path` for equality matching, as
// KeyStrings (query/expr.h): the values reached, the elements of arrays
// reached (and the arrays themselves), and null when a branch is missing.
// Two documents can be equal-matched on a path iff their key sets meet.
std::vector<std::string> EqualityKeys(const Object& doc, const Path& path);

// "0", "17": a non-negative decimal integer without sign or leading zeros
// beyond "0".
bool IsNumericKey(std::string_view s);

}  // namespace ddp::query
