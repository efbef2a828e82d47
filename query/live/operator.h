// Live-query operators (internal to query/live). Each turns a batch of
// input deltas into output deltas and keeps whatever state it needs to do
// that exactly, including retractions. One operator per file.
//
// Operators are single-threaded: an evaluation is driven by one thread (the
// engine's committer).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "protocol/value.h"
#include "query/expr.h"
#include "query/live/delta.h"
#include "query/projection.h"
#include "query/selector.h"
#include "query/sort.h"

namespace ddp::query {

struct LiveLimits {
  // Stages in a pipeline. Default: 32.
  size_t max_stages = 32;
  // $lookup stages in a pipeline. Default: 4.
  size_t max_lookups = 4;
  // Windows open at once in a $window stage. Default: 10000.
  size_t max_open_windows = 10000;
  // Groups a $group stage may hold. Default: 100000.
  size_t max_groups = 100000;
  // Documents in a live result. Default: 100000.
  size_t max_result = 100000;
};

class Operator {
 public:
  virtual ~Operator() = default;
  // Appends the output caused by `in` to `out`. ResourceExhausted when a
  // limit is exceeded (the evaluation then stops).
  virtual absl::Status Apply(const DocDeltas& in, DocDeltas* out) = 0;
};

// ---- stage descriptions (immutable, shared by every evaluation of a plan)

struct FilterStage {
  Selector selector;
};
struct PartitionStage {
  Expr by;
  int64_t count = 1;
  int64_t index = 0;
};
struct ProjectStage {
  // $project with expressions, or $addFields/$set (`add` = true).
  bool add = false;
  bool exclude = false;    // an exclusion projection
  bool has_plain = false;  // `plain` applies; else inclusion of computed fields only
  Projection plain;        // inclusion/exclusion of fields (with _id handling)
  std::vector<std::pair<std::string, Expr>> computed;  // path -> expression
  bool keep_id = true;     // inclusion of computed fields only: keep _id
};
struct SortLimitStage {
  Sort sort;
  int64_t skip = 0;
  int64_t limit = 0;  // 0: none
};
struct Accumulator {
  enum class Kind { kSum, kAvg, kMin, kMax, kCount, kFirst, kLast, kPush, kAddToSet };
  std::string field;
  Kind kind = Kind::kSum;
  Expr arg;
};
struct WindowStage;
struct GroupStage {
  Expr key;
  std::vector<Accumulator> accumulators;
  // Set when a $window stage precedes: the group key becomes
  // {key, start, end} of each window.
  bool windowed = false;
  // $first/$last/$push order: the sort of a preceding $sort, if any.
  std::optional<Sort> order;
};
struct WindowStage {
  enum class Kind { kTumbling, kHopping, kSession };
  Kind kind = Kind::kTumbling;
  std::string on;  // the time field (numbers or dates)
  int64_t size = 0;
  int64_t advance = 0;  // hopping
  int64_t gap = 0;      // session
  int64_t allowed_lateness = 0;
  bool emit_final = false;
  Expr session_key;  // the next $group's key, for sessions
};
struct LookupStage {
  std::string from;
  std::string local_field;
  std::string foreign_field;
  std::string as;
  // `pipeline`: what the `from` documents go through before they are
  // joined, in order: $match (a selector; a document that fails it is not
  // there) and $project (plain inclusion or exclusion). Access rules put a
  // topic's row filter and hidden fields here.
  struct ForeignStep {
    std::optional<Selector> match;
    std::optional<Projection> project;
  };
  std::vector<ForeignStep> foreign;
};

std::unique_ptr<Operator> MakeFilterOp(const FilterStage& s);
std::unique_ptr<Operator> MakePartitionOp(const PartitionStage& s);
std::unique_ptr<Operator> MakeProjectOp(const ProjectStage& s);
std::unique_ptr<Operator> MakeSortLimitOp(const SortLimitStage& s, const LiveLimits& limits);
std::unique_ptr<Operator> MakeGroupOp(const GroupStage& s, const LiveLimits& limits);
std::unique_ptr<Operator> MakeWindowOp(const WindowStage& s, const LiveLimits& limits);

// $lookup has a second input: changes to the `from` topic.
class LookupOperator : public Operator {
 public:
  virtual absl::Status ApplyForeign(const DocDeltas& foreign, DocDeltas* out) = 0;
};
std::unique_ptr<LookupOperator> MakeLookupOp(const LookupStage& s);

// Shared helper: the change `before` -> `after` of one key, or nothing when
// both are absent or equal.
void EmitChange(DocDeltas* out, const DocDelta& like, DocPtr before, DocPtr after);

}  // namespace ddp::query
