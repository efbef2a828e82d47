// Engine: the one place that orders writes, and the live queries they feed.
//
// A single committer thread takes tasks from a bounded queue in order:
// transactions, subscription registrations, reads. Consecutive transactions
// form a group: each is applied against the current state (reads,
// preconditions, modifiers) with an overlay of what earlier transactions of
// the group wrote, gets the next `seq`, and the whole group becomes one
// atomic, synced RocksDB write (group commit). Only after that write is
// durable are the group's changes fanned out to live queries, in seq order,
// and then the callers answered — so a method's `updated` can never be
// ahead of its data, and nothing a client sees is ahead of the disk.
//
// Why write batches and not RocksDB transactions: there is exactly one
// writer, so there are no conflicts to detect; the committer's overlay gives
// read-your-writes within a group, and one WriteBatch per group keeps the
// atomicity and gives group commit (one fsync for many transactions).
//
// Registrations and reads run on the same thread between groups, so a new
// subscription's snapshot and the stream after it meet exactly.
//
// Where a group becomes durable is a commitlog::CommitLog: the store itself
// on one node, or a JetStream stream shared by the nodes of a cluster, in
// which case the committer also applies the groups other nodes appended
// (see commit.cc). Nothing else in the engine differs between the two.
//
// Thread-safe: every public method may be called from any thread; callbacks
// run on the committer thread and must not block.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "commitlog/commit_log.h"
#include "common/bucket_histogram.h"
#include "query/live/plan.h"
#include "server/engine/live.h"
#include "server/engine/write.h"
#include "storage/store.h"

namespace ddp::engine {

struct TopicRetention {
  std::string pattern;     // topic name or pattern
  int64_t max_docs = 0;    // 0: no limit
  int64_t max_age_ms = 0;  // 0: no limit
};

struct EngineOptions {
  storage::StoreOptions store;
  // Create topics on their first write; when false, writes must target a
  // topic matching `declared_topics`. Default: true.
  bool create_topics_on_write = true;
  std::vector<std::string> declared_topics;
  // Most transactions in one group commit. Default: 1024.
  size_t max_group = 1024;
  // Tasks waiting for the committer before new ones are refused with
  // too-many-requests. Default: 100000.
  size_t max_queue = 100000;
  // How long a transaction's idempotency key is remembered. Default: 24 h.
  Duration idempotency_ttl = std::chrono::hours(24);
  // Document retention rules; the first matching rule applies.
  std::vector<TopicRetention> retention;
  // Change-log retention. 0: keep everything. Defaults: 0.
  int64_t log_max_entries = 0;
  int64_t log_max_age_ms = 0;
  // How often retention and expiry run. Default: 1 s.
  Duration maintenance_interval = std::chrono::seconds(1);
  // Most documents a query may return without an explicit limit.
  // Default: 10000.
  size_t max_query_results = 10000;
  // Limits of live queries (pipeline length, $lookups, windows, groups,
  // result size); see query/live/operator.h for the defaults.
  query::LiveLimits live_limits;
};

using PlanPtr = std::shared_ptr<const query::LivePlan>;

struct HistoryEntry {
  uint64_t seq = 0;
  int64_t time_millis = 0;
  Value changes;  // array of {topic, id, op, doc?}
};

struct TopicInfo {
  std::string name;
  int64_t documents = 0;
  int64_t writes = 0;  // document writes since start
};

struct EngineStats {
  std::atomic<int64_t> transactions{0};
  std::atomic<int64_t> groups{0};
  std::atomic<int64_t> documents_written{0};
  std::atomic<int64_t> conflicts{0};
  std::atomic<int64_t> storage_errors{0};
  // Shared log: groups prepared again after another node committed first,
  // and records of other nodes applied.
  std::atomic<int64_t> log_conflicts{0};
  std::atomic<int64_t> log_records_applied{0};
  // Transactions per group commit, and how long each group's durable write
  // took (the commit log's Commit: the WriteBatch and its sync, or the
  // JetStream publish and its ack), in seconds.
  BucketHistogram group_transactions{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
  BucketHistogram commit_seconds{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                 0.005,   0.01,   0.025,   0.05,   0.1,   0.25, 1};
};

// Where this node stands in its commit log.
struct LogProgress {
  commitlog::LogStatus log;
  uint64_t position = 0;   // the last record applied here (0 for the embedded log)
  uint64_t lag = 0;        // records known to exist and not yet applied
  bool caught_up = false;  // reached the log's end at least once since start
  std::string error;       // why this node stopped applying the log, if it did
  // The cluster's nodes as they last announced themselves (cluster mode).
  std::vector<commitlog::NodeStatus> nodes;
};

// LogProgress as JSON, the same in /readyz (under "log") and in the
// cluster.status method: kind, connected, detail, position, end, lag, seq
// (this node's last seq), caughtUp, error (when there is one), and nodes
// (each with node, position, seq, lag, ageMs, self).
Object LogProgressToObject(const LogProgress& progress, uint64_t last_seq);

class Engine {
 public:
  using TxCallback = absl::AnyInvocable<void(absl::StatusOr<TxResult>) &&>;
  using SubscribeCallback = absl::AnyInvocable<void(absl::StatusOr<LiveRegistry::Id>) &&>;
  using QueryCallback = absl::AnyInvocable<void(absl::StatusOr<Array>) &&>;
  using HistoryCallback = absl::AnyInvocable<void(absl::StatusOr<std::vector<HistoryEntry>>) &&>;

  // `log`: where groups become durable; nullptr for the embedded log (the
  // store). A shared log (cluster mode) is the durable copy, so the local
  // store is then written without fsync: after a crash the node reads what
  // it lost back from the log.
  static absl::StatusOr<std::unique_ptr<Engine>> Open(
      EngineOptions options, std::unique_ptr<commitlog::CommitLog> log = nullptr);
  ~Engine();  // Stop(), then closes the store

  // Finishes the queued work (every callback is called), stops the
  // committer and drops every live subscription. Later calls fail with
  // TooManyRequests/Unavailable. Idempotent; not from a callback.
  void Stop();

  // Applies a transaction; `done` gets the result once it is durable and
  // its changes were fanned out (or the error: InvalidArgument 400,
  // AlreadyExists 409, conflict 409, NotFound 404, Unavailable 503 when
  // storage fails, too-many-requests when the queue is full).
  void Submit(TxRequest tx, TxCallback done);

  // Registers a live query: the initial result goes to `sink` (then
  // Ready()), then every later change. Identical queries share one
  // evaluation. `done` gets the id for Unsubscribe.
  void Subscribe(PlanPtr plan, std::shared_ptr<LiveSink> sink, SubscribeCallback done);
  void Unsubscribe(LiveRegistry::Id id);

  // A read that sees every write submitted before it: what a fresh
  // subscription to `plan` would show, as documents (with their own _id;
  // `_topic` added for patterns).
  void Query(PlanPtr plan, QueryCallback done);
  void History(std::string topic, uint64_t after_seq, size_t limit, HistoryCallback done);

  uint64_t last_seq() const;
  LogProgress log_progress() const;
  std::vector<TopicInfo> Topics() const;
  const EngineStats& stats() const;
  const LiveStats& live_stats() const;
  size_t live_query_count() const;
  const EngineOptions& options() const;
  // The store's RocksDB integer property (Store::IntProperty).
  std::optional<uint64_t> StoreIntProperty(const std::string& name) const;

  // The live evaluations and their costs (the admin page), costliest
  // first, at most `max`. Asks the committer and waits for it.
  std::vector<EvaluationInfo> DescribeLive(size_t max) const;

  // Runs retention and expiry now (tests); returns when done.
  void RunMaintenanceForTest();

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Compiles a query object ({filter, fields, sort, skip, limit, ordered, as,
// pipeline}) over a topic or pattern. Errors name the offending part (400).
absl::StatusOr<PlanPtr> ParsePlan(std::string_view target, const Value& query,
                                  const query::LiveLimits& limits);

}  // namespace ddp::engine
