// Field projection ({a: 1, "b.c": 1} or {a: 0}), MongoDB semantics:
// inclusion or exclusion (never both, except for `_id`, which is included
// unless excluded with `_id: 0`); dotted paths reach into sub-documents and
// into the documents inside arrays.
//
// Immutable and thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "protocol/value.h"

namespace ddp::query {

class Projection {
 public:
  // Keeps everything.
  Projection() = default;
  // InvalidArgument for mixed inclusion/exclusion, non-numeric/boolean
  // values, bad paths.
  static absl::StatusOr<Projection> Compile(const Value& fields);

  bool keeps_all() const { return tree_ == nullptr; }
  Object Apply(const Object& doc) const;

  struct Node {
    bool leaf = false;
    std::map<std::string, Node, std::less<>> children;
  };

 private:
  std::shared_ptr<const Node> tree_;
  bool include_ = true;
  bool include_id_ = true;
};

}  // namespace ddp::query
