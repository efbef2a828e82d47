// Engine internals shared by its files (engine.cc: the committer's loop,
// reads, retention; commit.cc: the commit path). Committer-thread state is
// marked; the rest is guarded as noted.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <variant>

#include "commitlog/commit_log.h"
#include "common/string_map.h"
#include "server/engine/engine.h"

namespace ddp::engine {

struct TxTask {
  TxRequest tx;
  Engine::TxCallback done;
};
struct SubscribeTask {
  PlanPtr plan;
  std::shared_ptr<LiveSink> sink;
  Engine::SubscribeCallback done;
};
struct UnsubscribeTask {
  LiveRegistry::Id id;
};
struct QueryTask {
  PlanPtr plan;
  Engine::QueryCallback done;
};
struct HistoryTask {
  std::string topic;
  uint64_t after_seq;
  size_t limit;
  Engine::HistoryCallback done;
};
struct MaintenanceTask {
  std::shared_ptr<std::promise<void>> done;
};
struct DescribeTask {
  size_t max = 0;
  std::shared_ptr<std::promise<std::vector<EvaluationInfo>>> done;
};
using Task = std::variant<TxTask, SubscribeTask, UnsubscribeTask, QueryTask, HistoryTask,
                          MaintenanceTask, DescribeTask>;

struct Engine::Impl {
  EngineOptions options;
  std::unique_ptr<storage::Store> store;
  // Where groups become durable (commitlog/commit_log.h).
  std::unique_ptr<commitlog::CommitLog> log;
  LiveRegistry live;
  EngineStats stats;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<Task> queue;  // guarded by mu
  bool stopping = false;   // guarded by mu
  // The log may hold records of other writers (set by its wake callback).
  bool log_pending = true;  // guarded by mu
  std::thread thread;

  // Committer-thread state.
  uint64_t next_seq = 1;
  // Set when a record from the shared log could not be applied (the
  // replica diverged or its store failed): every later write fails with it.
  absl::Status replica_error;
  mutable std::mutex replica_error_mu;
  std::string replica_error_text;  // guarded by replica_error_mu, for status pages
  void SetReplicaError(absl::Status s) {
    replica_error = s;
    std::lock_guard<std::mutex> lock(replica_error_mu);
    replica_error_text = std::string(s.message());
  }
  std::atomic<bool> caught_up{false};
  // Log records before this seq are trimmed: a write replacing a document
  // they wrote needs to save no LogBody for them.
  uint64_t log_first_kept = 0;
  SteadyTime next_maintenance;
  // Topics written since the last EnforceMaxDocs (committer thread only),
  // tracked only when some retention rule has max_docs.
  StringSet written_topics;
  bool has_max_docs = false;
  std::atomic<size_t> live_count{0};
  mutable std::mutex topic_writes_mu;
  StringMap<int64_t> topic_writes;  // guarded by topic_writes_mu

  // OK, or why the task was not queued (`full` says what to tell the
  // caller when the queue is full).
  absl::Status Push(Task t, std::string_view full) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) return absl::UnavailableError("the server is shutting down");
      if (queue.size() >= options.max_queue) return TooManyRequestsError(full);
      queue.push_back(std::move(t));
    }
    cv.notify_one();
    return absl::OkStatus();
  }

  void Run();
  void Wake() {
    {
      std::lock_guard<std::mutex> lock(mu);
      log_pending = true;
    }
    cv.notify_one();
  }
  // The commit path (commit.cc): a group is prepared against the current
  // state (Prepare), made durable through the log (CommitGroup, which
  // prepares it again after a conflict with another writer), and then
  // fanned out and answered (Finish).
  struct Prepared {
    storage::CommitBatch batch;
    std::vector<CommittedTx> committed;
    std::vector<absl::StatusOr<TxResult>> results;
    uint64_t next_seq = 0;
  };
  void CommitGroup(std::vector<TxTask>& group);
  Prepared Prepare(std::vector<TxTask>& group);
  void Finish(std::vector<TxTask>& group, Prepared& p);
  // Applies what other writers appended to the shared log (no-op for the
  // embedded one).
  absl::Status CatchUp();
  absl::Status ApplyFromLog(storage::CommitBatch& batch);
  // Fan-out and counters of committed transactions (local or from the log).
  void Publish(std::vector<CommittedTx>& committed, bool local);
  LiveRegistry::Loader Loader();
  void RunSubscribe(SubscribeTask& t);
  void RunQuery(QueryTask& t);
  void RunHistory(HistoryTask& t);
  absl::Status ResolveLogRef(uint64_t seq, Object& change);
  void Maintenance();
  // Retention (see Maintenance and EnforceMaxDocs).
  void RetentionOps(const std::string& topic, int64_t count, int64_t now, bool with_age,
                    std::vector<WriteOp>& ops);
  void CommitCleanup(TxRequest cleanup);
  // max_docs right after commits, for the topics they wrote: a topic over
  // its limit loses its oldest documents at once, one small removal per
  // batch of writes, rather than a burst of removals once per maintenance
  // interval (which subscribers would get all at once).
  void EnforceMaxDocs();
  absl::Status ScanTarget(const std::string& target, bool is_pattern,
                          const std::function<void(const std::string& topic, std::string_view id,
                                                   storage::StoredDoc&& doc)>& fn);
};

}  // namespace ddp::engine
