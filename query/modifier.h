// MongoDB update modifiers, compiled once and applied to documents.
//
// Operators (API.md §5): $set, $unset, $inc, $mul, $min, $max, $rename,
// $push (with $each, $slice, $position, $sort), $pull, $pullAll,
// $addToSet (with $each), $pop, $currentDate, $setOnInsert; or a
// replacement document (no operators), which keeps the `_id`.
//
// MongoDB's rules and errors (all InvalidArgument, i.e. 400):
// - operators and plain fields cannot be mixed; unknown operators are named;
// - two operations on the same or overlapping paths conflict
//   ("Updating the path 'a.b' would create a conflict at 'a'");
// - `_id` cannot change;
// - $inc/$mul need numbers, and a numeric field to act on;
// - $push/$addToSet/$pop/$pull need an array (or a missing field);
// - a path cannot go through a scalar ("Cannot create field 'b' in element
//   {a: 5}"); numeric steps index arrays ($set pads with nulls).
//
// A compiled Modifier is immutable and thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/value.h"

namespace ddp::query {

class Modifier {
 public:
  static absl::StatusOr<Modifier> Compile(const Value& modifier);

  bool is_replacement() const { return replacement_.has_value(); }
  // The replacement document, or null.
  const Object* replacement() const { return replacement_ ? &*replacement_ : nullptr; }
  // The paths an operator modifier writes or reads ($rename's source and
  // destination); empty for a replacement (its fields are its keys).
  const std::vector<std::string>& paths() const;

  // The document after the update. `doc` is the stored document (with its
  // `_id`); `now_millis` is what $currentDate writes.
  absl::StatusOr<Object> Apply(const Object& doc, int64_t now_millis) const;

  // The document an upsert inserts: `seed` holds the selector's equality
  // fields (and the `_id`), then the modifier applies with $setOnInsert.
  absl::StatusOr<Object> ApplyForInsert(const Object& seed, int64_t now_millis) const;

  struct Op;

 private:
  absl::StatusOr<Object> Run(Value doc, int64_t now_millis, bool inserting) const;

  std::optional<Object> replacement_;
  std::shared_ptr<const std::vector<Op>> ops_;
  std::shared_ptr<const std::vector<std::string>> paths_;
};

// Checks a document that is about to be stored: an object whose field names
// do not start with '$' or contain '.', at any depth (Meteor's and
// MongoDB's rule), and whose `_id`, when present, is a string.
absl::Status ValidateDocument(const Value& doc);

// Sets a (dotted) path in a document, creating objects on the way; used to
// seed upserts from selector equalities.
absl::Status SetPath(Value& doc, std::string_view dotted, Value value);

}  // namespace ddp::query
