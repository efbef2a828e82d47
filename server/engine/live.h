// Live queries in the engine: shared evaluations, routing of committed
// changes, and fan-out of deltas to subscribers.
//
// Sharing: a query is compiled into a LivePlan whose canonical form names
// it; subscriptions with the same canonical form share one LiveEvaluation
// (its operator state and result), which is freed with its last subscriber.
//
// Routing: per topic, evaluations whose filter has an equality condition
// (`{room: "r42"}`) are indexed by that field and value, so a change is
// offered only to evaluations whose equality its old or new document can
// satisfy, plus the ones without such a condition. The cost of a change
// therefore does not grow with unrelated subscriptions.
//
// Owned by the Engine and used only on its committer thread, between
// commits, so that a new evaluation's initial load and the stream after it
// meet exactly.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "common/string_map.h"
#include "protocol/value.h"
#include "query/live/plan.h"

namespace ddp::engine {

// One document's change within a transaction.
struct Change {
  std::string topic;
  std::string id;
  std::shared_ptr<const Object> before;  // nullptr: it did not exist
  std::shared_ptr<const Object> after;   // nullptr: it was removed
};

struct CommittedTx {
  uint64_t seq = 0;
  int64_t time_millis = 0;
  std::vector<Change> changes;
};

using Delta = query::LiveDelta;

// Where a subscription's deltas go. Called on the committer thread; must
// not block (implementations post to the session's strand).
class LiveSink {
 public:
  virtual ~LiveSink() = default;
  // The deltas one transaction caused for this subscription, all at once,
  // so that no subscriber ever sees part of a transaction. The batch is
  // shared, read-only, with the query's other subscribers.
  virtual void Send(ChangeBatchPtr deltas) = 0;
  // The initial result is complete.
  virtual void Ready() = 0;
  // The query stopped (a limit was exceeded); no more calls follow.
  virtual void Fail(absl::Status status) = 0;
};

// What an evaluation mostly does, for GET /metrics: its costliest
// operator, in the order of the names below (a filter-only or projecting
// query is "filter"). Exclusive: the counts add up to `evaluations`.
enum class EvalKind : uint8_t { kFilter, kSortLimit, kPartition, kLookup, kGroup, kWindow };
inline constexpr size_t kEvalKinds = 6;
inline constexpr const char* kEvalKindNames[kEvalKinds] = {"filter", "sort_limit", "partition",
                                                           "lookup", "group",      "window"};
EvalKind KindOf(const query::LivePlan& plan);

struct LiveStats {
  std::atomic<int64_t> evaluations{0};       // alive now
  std::array<std::atomic<int64_t>, kEvalKinds> evaluations_by_kind{};  // alive now
  std::atomic<int64_t> subscriptions{0};     // alive now
  std::atomic<int64_t> evaluations_created{0};
  std::atomic<int64_t> shared_joins{0};      // subscriptions that joined an existing evaluation
  std::atomic<int64_t> changes_routed{0};    // (change, evaluation) pairs evaluated
  std::atomic<int64_t> changes_skipped{0};   // pairs the routing index avoided
};

// One shared evaluation as the admin page shows it (LiveRegistry::Describe).
struct EvaluationInfo {
  std::string target;    // topic or pattern
  std::string query;     // the canonical query, as JSON
  EvalKind kind = EvalKind::kFilter;
  std::vector<std::string> operators;  // its stages in order ("$match", "$sort/$limit", ...)
  size_t subscribers = 0;
  uint64_t changes_in = 0;   // changes it evaluated
  uint64_t deltas_out = 0;   // deltas it produced for its subscribers
  int64_t busy_nanos = 0;    // time spent evaluating changes
};

class LiveRegistry {
 public:
  using Id = uint64_t;
  // Scans a topic or pattern: fn(topic, id, doc) for every document.
  using Loader = std::function<absl::Status(
      const std::string& target, bool is_pattern,
      const std::function<void(const std::string& topic, const std::string& id, Object doc)>& fn)>;

  // Subscribes `sink` to `plan`: joins the evaluation with the same
  // canonical form, or creates and loads one. Sends the initial result and
  // Ready() before returning.
  absl::StatusOr<Id> Add(std::shared_ptr<const query::LivePlan> plan,
                         std::shared_ptr<LiveSink> sink, const Loader& load);
  void Remove(Id id);
  // Drops every subscription and evaluation (the sinks with them), without
  // telling the sinks: for shutdown.
  void Clear();

  // Fans one committed transaction out.
  void OnCommit(const CommittedTx& tx);
  // Fans a commit group out: every subscriber gets the group's changes
  // (whole transactions, in order) as one batch.
  void OnCommit(std::span<const CommittedTx> group);

  // Every evaluation, costliest (busy_nanos) first, at most `max`.
  std::vector<EvaluationInfo> Describe(size_t max) const;

  size_t subscription_count() const { return subs_.size(); }
  size_t evaluation_count() const { return evals_.size(); }
  const LiveStats& stats() const { return stats_; }

 private:
  struct Evaluation {
    std::shared_ptr<const query::LivePlan> plan;
    std::unique_ptr<query::LiveEvaluation> eval;
    std::vector<Id> subscribers;
    // Routing registration (non-pattern targets with an equality).
    std::string routed_field;  // empty: unindexed
    std::string routed_key;
    // Its cost, for Describe.
    uint64_t changes_in = 0;
    uint64_t deltas_out = 0;
    int64_t busy_nanos = 0;
  };
  struct TopicRouting {
    // field -> KeyString(value) -> evaluations
    StringMap<StringMap<std::vector<uint64_t>>> by_field;
    std::vector<uint64_t> unindexed;
    size_t indexed = 0;  // evaluations in by_field
    size_t size() const { return indexed + unindexed.size(); }
  };

  // Changes per evaluation collected over a commit group, not yet sent.
  struct Pending {
    absl::flat_hash_map<uint64_t, std::vector<query::LiveDelta>> out;
    std::vector<uint64_t> order;  // evaluations in first-output order
  };
  void Evaluate(const CommittedTx& tx, Pending& pending);
  void Deliver(uint64_t eval_id, Pending& pending);

  void Register(uint64_t eval_id, Evaluation& e);
  void Unregister(uint64_t eval_id, Evaluation& e);
  void Fail(uint64_t eval_id, const absl::Status& status);

  Id next_sub_ = 1;
  uint64_t next_eval_ = 1;
  absl::flat_hash_map<Id, std::pair<uint64_t, std::shared_ptr<LiveSink>>> subs_;
  absl::flat_hash_map<uint64_t, Evaluation> evals_;
  StringMap<uint64_t> by_canonical_;
  StringMap<TopicRouting> routing_;       // primary topic -> routing
  std::vector<uint64_t> patterns_;        // evaluations over a pattern
  StringMap<std::vector<uint64_t>> lookups_;  // $lookup `from` topic -> evaluations
  LiveStats stats_;
};

}  // namespace ddp::engine
