// Sort specifications ({ts: -1, name: 1}) with MongoDB's order: values
// compare across types by the canonical type order; a missing field sorts
// as null; an array field sorts by its smallest element ascending and its
// largest descending. Ties fall back to `_id` ascending so that results
// and live windows are deterministic.
//
// Immutable and thread-safe.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/value.h"
#include "query/path.h"

namespace ddp::query {

class Sort {
 public:
  Sort() = default;  // by _id
  // InvalidArgument unless every value is 1 or -1.
  static absl::StatusOr<Sort> Compile(const Value& spec);

  // <0, 0, >0.
  int Compare(const Value& a, const Value& b) const;
  int Compare(const Object& a, const Object& b) const;
  bool Less(const Value& a, const Value& b) const { return Compare(a, b) < 0; }
  bool empty() const { return keys_.empty(); }

  // A document's precomputed sort key, for containers that compare often.
  struct Key {
    std::vector<std::pair<bool, Value>> fields;  // (empty array, value) per sort field
    Value id;
  };
  Key KeyFor(const Object& doc) const;
  int Compare(const Key& a, const Key& b) const;

  // The sort key of one field of a document (for indexes over windows).
  Value KeyOf(const Value& doc, size_t field) const;
  size_t size() const { return keys_.size(); }

 private:
  template <typename Doc>
  Value KeyOfImpl(const Doc& doc, size_t field) const;
  template <typename Doc>
  bool IsEmptyArrayKey(const Doc& doc, size_t field) const;
  std::vector<std::pair<Path, int>> keys_;  // path, direction
};

}  // namespace ddp::query
