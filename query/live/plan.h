// A live query, compiled: the immutable description that identical
// subscriptions share, and the stateful evaluation that maintains its
// result incrementally.
//
// Query object (API.md §6): {filter, fields, sort, skip, limit, ordered, as,
// pipeline}. Order of application: filter, pipeline stages, sort/skip/limit,
// fields.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "query/live/delta.h"
#include "query/live/operator.h"

namespace ddp::query {

using Stage = std::variant<FilterStage, PartitionStage, ProjectStage, SortLimitStage, GroupStage,
                           WindowStage, LookupStage>;

struct LivePlan {
  std::string target;  // topic or pattern
  bool is_pattern = false;
  std::string as;      // collection override
  bool ordered = false;
  Selector filter;     // also the first stage unless it matches everything
  Projection fields;
  Sort order;          // the output order (by _id when nothing else applies)
  std::vector<Stage> stages;
  std::vector<std::string> lookup_topics;  // the `from` of each $lookup, in stage order
  bool derived = false;  // a $group (or $window) makes new documents
  LiveLimits limits;
  // Identical canonical forms share one evaluation.
  std::string canonical;

  // InvalidArgument naming the offending part ("pipeline[2] $group: ...").
  static absl::StatusOr<std::shared_ptr<const LivePlan>> Parse(std::string_view target,
                                                               const Value& query,
                                                               const LiveLimits& limits);
};

// The output collection of a document that came from `topic`.
std::string CollectionFor(const LivePlan& plan, std::string_view topic);

// Maintains one plan's result. Single-threaded.
class LiveEvaluation {
 public:
  explicit LiveEvaluation(std::shared_ptr<const LivePlan> plan);
  ~LiveEvaluation();

  const LivePlan& plan() const { return *plan_; }

  // Changes to documents of the target topic(s): (topic, id, before, after).
  // Appends what subscribers must be told. ResourceExhausted when a limit
  // is exceeded; the evaluation is then unusable.
  absl::Status ApplySource(std::string_view topic, const std::vector<DocDelta>& changes,
                           LiveDeltas* out);
  // Changes to the `from` topic of the $lookup stages.
  absl::Status ApplyForeign(std::string_view topic, const std::vector<DocDelta>& changes,
                            LiveDeltas* out);

  // The whole current result as `added` (or `addedBefore` when ordered)
  // messages, for a subscriber that joins now.
  LiveDeltas Snapshot() const;

  struct ResultDoc {
    std::string collection;
    std::string id;  // the DDP id
    Object doc;      // after `fields`, with its own `_id` (a group's key)
  };
  // The current result in the plan's order.
  std::vector<ResultDoc> Documents() const;
  size_t size() const;

 private:
  struct Impl;
  absl::Status EmitFinal(const std::vector<DocDelta>& final_changes, LiveDeltas* out);
  void ReleaseScratch();
  std::shared_ptr<const LivePlan> plan_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ddp::query
