#include "server/engine/engine.h"

#include <sched.h>

#include <condition_variable>
#include <filesystem>
#include <deque>
#include <future>
#include <mutex>
#include <span>
#include <thread>
#include <variant>

#include "common/executor.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "protocol/ddp_error.h"
#include "protocol/json.h"
#include "commitlog/embedded_log.h"
#include "server/engine/apply.h"
#include "server/engine/engine_impl.h"
#include "server/engine/topic_name.h"
#include "spdlog/spdlog.h"

namespace ddp::engine {

void Engine::Impl::Run() {
  next_maintenance = SteadyClock::now() + options.maintenance_interval;
  for (const TopicRetention& r : options.retention) has_max_docs |= r.max_docs > 0;
  while (true) {
    std::deque<Task> batch;
    bool pending_log = false;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_until(lock, next_maintenance,
                    [&] { return stopping || !queue.empty() || log_pending; });
      if (queue.empty() && stopping) break;
      batch.swap(queue);
      pending_log = log_pending;
      log_pending = false;
    }
    if (pending_log && log->shared()) {
      // Other nodes' records, before this turn's tasks.
      PostBatch posts;
      (void)CatchUp();
    }
    // Tasks run in order; consecutive transactions commit as one group.
    // What each task sends to connections (deltas to every subscriber,
    // replies to every writer) is handed to the I/O threads at once when
    // the task ends: a PostBatch per task.
    std::vector<TxTask> group;
    auto flush = [&] {
      if (!group.empty()) {
        PostBatch posts;
        CommitGroup(group);
      }
      group.clear();
    };
    for (Task& t : batch) {
      if (auto* tx = std::get_if<TxTask>(&t)) {
        group.push_back(std::move(*tx));
        if (group.size() >= options.max_group) flush();
        continue;
      }
      flush();
      PostBatch posts;
      std::visit(
          [&](auto& task) {
            using T = std::decay_t<decltype(task)>;
            if constexpr (std::is_same_v<T, SubscribeTask>) {
              RunSubscribe(task);
            } else if constexpr (std::is_same_v<T, UnsubscribeTask>) {
              live.Remove(task.id);
              live_count = live.subscription_count();
            } else if constexpr (std::is_same_v<T, QueryTask>) {
              RunQuery(task);
            } else if constexpr (std::is_same_v<T, HistoryTask>) {
              RunHistory(task);
            } else if constexpr (std::is_same_v<T, MaintenanceTask>) {
              Maintenance();
              task.done->set_value();
            } else if constexpr (std::is_same_v<T, DescribeTask>) {
              task.done->set_value(live.Describe(task.max));
            }
          },
          t);
    }
    flush();
    PostBatch posts;
    EnforceMaxDocs();
    if (SteadyClock::now() >= next_maintenance) {
      log->Announce(store->log_position(), store->last_seq());
      if (log->shared()) {
        // Announce may have found the stream ahead with nothing delivered
        // (a stalled consumer): read it directly.
        PostBatch posts;
        (void)CatchUp();
      }
      Maintenance();
      next_maintenance = SteadyClock::now() + options.maintenance_interval;
    }
  }
}

absl::Status Engine::Impl::ScanTarget(
    const std::string& target, bool is_pattern,
    const std::function<void(const std::string& topic, std::string_view id,
                             storage::StoredDoc&& doc)>& fn) {
  std::vector<std::string> topics;
  if (is_pattern) {
    for (auto& [name, count] : store->Topics()) {
      if (count > 0 && TopicMatches(target, name)) topics.push_back(name);
    }
  } else {
    topics.push_back(target);
  }
  for (const std::string& topic : topics) {
    RETURN_IF_ERROR(store->Scan(topic, [&](std::string_view id, storage::StoredDoc&& d) {
      fn(topic, id, std::move(d));
      return true;
    }));
  }
  return absl::OkStatus();
}

LiveRegistry::Loader Engine::Impl::Loader() {
  return [this](const std::string& target, bool is_pattern,
                const std::function<void(const std::string&, const std::string&, Object)>& fn) {
    return ScanTarget(target, is_pattern,
                      [&](const std::string& topic, std::string_view id, storage::StoredDoc&& d) {
                        fn(topic, std::string(id), std::move(d.doc));
                      });
  };
}

void Engine::Impl::RunSubscribe(SubscribeTask& t) {
  // On this thread nothing commits between the initial load and the next
  // group, so the initial result and the later deltas meet exactly.
  absl::StatusOr<LiveRegistry::Id> id = live.Add(std::move(t.plan), t.sink, Loader());
  live_count = live.subscription_count();
  std::move(t.done)(id);
}

void Engine::Impl::RunQuery(QueryTask& t) {
  // A one-off evaluation of the same plan a subscription would use.
  query::LiveEvaluation eval(t.plan);
  std::vector<query::LiveDelta> ignored;
  absl::Status failed;
  LiveRegistry::Loader load = Loader();
  for (const std::string& from : t.plan->lookup_topics) {
    std::vector<query::DocDelta> batch;
    absl::Status s = load(from, false, [&](const std::string& topic, const std::string& id, Object doc) {
      batch.push_back(query::DocDelta{id, id, topic, nullptr, std::make_shared<const Object>(std::move(doc))});
    });
    if (s.ok() && !batch.empty()) s = eval.ApplyForeign(from, batch, &ignored);
    if (!s.ok()) {
      std::move(t.done)(s.code() == absl::StatusCode::kResourceExhausted
                            ? absl::InvalidArgumentError(s.message())
                            : s);
      return;
    }
  }
  StringMap<std::vector<query::DocDelta>> by_topic;
  absl::Status s = load(t.plan->target, t.plan->is_pattern,
                        [&](const std::string& topic, const std::string& id, Object doc) {
                          by_topic[topic].push_back(query::DocDelta{
                              id, id, topic, nullptr, std::make_shared<const Object>(std::move(doc))});
                        });
  for (auto& [topic, batch] : by_topic) {
    if (s.ok()) s = eval.ApplySource(topic, batch, &ignored);
  }
  if (!s.ok()) {
    std::move(t.done)(s.code() == absl::StatusCode::kResourceExhausted
                          ? absl::InvalidArgumentError(s.message())
                          : s);
    return;
  }
  std::vector<query::LiveEvaluation::ResultDoc> docs = eval.Documents();
  if (docs.size() > options.max_query_results) {
    std::move(t.done)(absl::InvalidArgumentError(
        StrCat("query matches ", docs.size(), " documents, more than the limit of ",
               options.max_query_results, " without an explicit limit")));
    return;
  }
  Array out;
  out.reserve(docs.size());
  for (query::LiveEvaluation::ResultDoc& d : docs) {
    // For a pattern, each document says which topic it came from.
    if (t.plan->is_pattern && !t.plan->derived) d.doc.Set("_topic", Value(d.collection));
    out.push_back(Value(std::move(d.doc)));
  }
  std::move(t.done)(std::move(out));
}

// Replaces a change's "ref" (see LogRecord) with the document it wrote:
// the one saved next to the record when a later write replaced it, or else
// the stored document, whose version is then the record's seq.
absl::Status Engine::Impl::ResolveLogRef(uint64_t seq, Object& change) {
  const Value* topic = change.Find("topic");
  const Value* id = change.Find("id");
  if (topic == nullptr || !topic->is_string() || id == nullptr || !id->is_string()) {
    return absl::DataLossError(StrCat("change-log record ", seq, " names no document"));
  }
  Value doc;
  ASSIGN_OR_RETURN(std::optional<std::string> body,
                   store->GetLogBody(seq, topic->as_string(), id->as_string()));
  if (body) {
    absl::StatusOr<Value> parsed = ParseJson(*body, JsonLimits{1000, SIZE_MAX, SIZE_MAX});
    if (!parsed.ok()) return absl::DataLossError(StrCat("unreadable change-log document at ", seq));
    doc = std::move(*parsed);
  } else {
    ASSIGN_OR_RETURN(std::optional<storage::StoredDoc> stored,
                     store->Get(topic->as_string(), id->as_string()));
    if (!stored || stored->version != seq) {
      return absl::DataLossError(StrCat("change-log record ", seq, ": the document '",
                                        id->as_string(), "' it wrote is missing"));
    }
    doc = Value(std::move(stored->doc));
  }
  change.Erase("ref");
  change.Append("doc", std::move(doc));
  return absl::OkStatus();
}

void Engine::Impl::RunHistory(HistoryTask& t) {
  std::vector<HistoryEntry> entries;
  absl::Status parse_error;
  absl::Status s = store->ReadLog(t.after_seq, [&](uint64_t seq, std::string_view record) {
    absl::StatusOr<Value> v = ParseJson(record, JsonLimits{100, SIZE_MAX, SIZE_MAX});
    if (!v.ok()) {
      parse_error = absl::DataLossError(StrCat("unreadable change-log record ", seq));
      return false;
    }
    Array mine;
    if (Value* changes = v->Find("changes"); changes != nullptr && changes->is_array()) {
      for (Value& c : changes->as_array()) {
        const Value* topic = c.Find("topic");
        if (topic != nullptr && topic->is_string() &&
            (topic->as_string() == t.topic || (IsPattern(t.topic) && TopicMatches(t.topic, topic->as_string())))) {
          if (c.is_object() && c.Find("ref") != nullptr) {
            absl::Status resolved = ResolveLogRef(seq, c.as_object());
            if (!resolved.ok()) {
              parse_error = resolved;
              return false;
            }
          }
          mine.push_back(std::move(c));
        }
      }
    }
    if (!mine.empty()) {
      HistoryEntry e;
      e.seq = seq;
      const Value* time = v->Find("t");
      e.time_millis = time != nullptr && time->is_int() ? time->as_int() : 0;
      e.changes = Value(std::move(mine));
      entries.push_back(std::move(e));
    }
    return entries.size() < t.limit;
  });
  if (!s.ok()) {
    std::move(t.done)(s);
  } else if (!parse_error.ok()) {
    std::move(t.done)(parse_error);
  } else {
    std::move(t.done)(std::move(entries));
  }
}

namespace {
// The first retention rule whose pattern covers `topic`, or nullptr.
const TopicRetention* RetentionOf(const std::vector<TopicRetention>& rules,
                                  std::string_view topic) {
  for (const TopicRetention& r : rules) {
    if (r.pattern == topic || (IsPattern(r.pattern) && TopicMatches(r.pattern, topic))) return &r;
  }
  return nullptr;
}
}  // namespace

// Retention of one topic: the oldest documents beyond max_docs, and (when
// `with_age`) those older than max_age, as remove ops.
void Engine::Impl::RetentionOps(const std::string& topic, int64_t count, int64_t now,
                                bool with_age, std::vector<WriteOp>& ops) {
  const TopicRetention* rule = RetentionOf(options.retention, topic);
  if (rule == nullptr || count == 0) return;
  if (!with_age && (rule->max_docs <= 0 || count <= rule->max_docs)) return;
  int64_t excess = rule->max_docs > 0 ? count - rule->max_docs : 0;
  std::vector<std::string> victims;
  absl::Status s = store->ScanOldest(topic, [&](std::string_view id, uint64_t) {
    if (excess > 0) {
      victims.emplace_back(id);
      --excess;
      return true;
    }
    if (with_age && rule->max_age_ms > 0) {
      absl::StatusOr<std::optional<storage::StoredDoc>> d = store->Get(topic, id);
      if (d.ok() && d->has_value() && (*d)->written_millis < now - rule->max_age_ms) {
        victims.emplace_back(id);
        return true;
      }
    }
    return false;
  });
  if (!s.ok()) {
    spdlog::warn("retention scan of '{}' failed: {}", topic, ToStd(s.message()));
    return;
  }
  for (const std::string& id : victims) {
    WriteOp op;
    op.kind = WriteOp::Kind::kRemove;
    op.topic = topic;
    op.selector = *query::Selector::Compile(Value(id));
    ops.push_back(std::move(op));
  }
}

void Engine::Impl::CommitCleanup(TxRequest cleanup) {
  if (cleanup.ops.empty()) return;
  std::vector<TxTask> group;
  group.push_back(TxTask{std::move(cleanup), [](absl::StatusOr<TxResult> r) {
                           if (!r.ok()) {
                             spdlog::warn("retention cleanup failed: {}",
                                          ToStd(r.status().message()));
                           }
                         }});
  CommitGroup(group);
}

void Engine::Impl::EnforceMaxDocs() {
  // Filled only when a rule has max_docs, and only by writes that leave a
  // document behind (the cleanup's own removals add nothing).
  if (written_topics.empty()) return;
  StringSet topics;
  topics.swap(written_topics);
  TxRequest cleanup;
  for (const std::string& topic : topics) {
    RetentionOps(topic, store->Count(topic), 0, /*with_age=*/false, cleanup.ops);
  }
  CommitCleanup(std::move(cleanup));
}

void Engine::Impl::Maintenance() {
  int64_t now = UnixMillis();
  // Document retention: the oldest documents beyond max_docs or older than
  // max_age are removed in an ordinary transaction, so subscribers see the
  // removals and the change log records them. (max_docs is also enforced
  // right after each batch of commits, see EnforceMaxDocs.)
  TxRequest cleanup;
  for (auto& [topic, count] : store->Topics()) {
    RetentionOps(topic, count, now, /*with_age=*/true, cleanup.ops);
  }
  CommitCleanup(std::move(cleanup));
  // Change-log retention.
  uint64_t keep_from = 0;
  if (options.log_max_entries > 0 && next_seq > static_cast<uint64_t>(options.log_max_entries)) {
    keep_from = next_seq - static_cast<uint64_t>(options.log_max_entries);
  }
  if (options.log_max_age_ms > 0) {
    int64_t cutoff = now - options.log_max_age_ms;
    uint64_t first_young = 0;
    const uint64_t first = store->first_log_seq();
    (void)store->ReadLog(first > 0 ? first - 1 : 0,
                         [&](uint64_t seq, std::string_view record) {
                           // Records start {"seq":N,"t":T,...}: read T without a full parse.
                           size_t at = record.find(R"("t":)");
                           int64_t t = at == std::string_view::npos
                                           ? 0
                                           : std::strtoll(record.data() + at + 4, nullptr, 10);
                           if (t >= cutoff) {
                             first_young = seq;
                             return false;
                           }
                           first_young = seq + 1;
                           return true;
                         });
    keep_from = std::max(keep_from, first_young);
  }
  if (keep_from > 0) {
    absl::Status s = store->TrimLog(keep_from);
    if (s.ok()) {
      log_first_kept = std::max(log_first_kept, keep_from);
    } else {
      spdlog::warn("change-log trim failed: {}", ToStd(s.message()));
    }
  }
  absl::StatusOr<size_t> purged = store->PurgeIdempotent(now);
  if (!purged.ok()) spdlog::warn("idempotency purge failed: {}", ToStd(purged.status().message()));
}

// ------------------------------------------------------------------ Engine

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(
    EngineOptions options, std::unique_ptr<commitlog::CommitLog> log) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->log = log ? std::move(log) : std::make_unique<commitlog::EmbeddedLog>();
  if (impl->log->shared()) impl->options.store.durability = storage::Durability::kNone;
  for (const std::string& t : impl->options.declared_topics) {
    RETURN_IF_ERROR(ValidateTopicPattern(t));
  }
  for (const TopicRetention& r : impl->options.retention) {
    RETURN_IF_ERROR(ValidateTopicPattern(r.pattern));
  }
  // Only topics with a retention rule need their documents oldest-first
  // (the store's second key per document write).
  impl->options.store.index_by_seq = [rules = impl->options.retention](std::string_view topic) {
    return RetentionOf(rules, topic) != nullptr;
  };
  if (impl->log->shared()) {
    // A node without data starts from another node's snapshot rather than
    // from the start of the log.
    std::error_code ec;
    const std::string& dir = impl->options.store.path;
    if (!std::filesystem::exists(dir, ec) || std::filesystem::is_empty(dir, ec)) {
      absl::Status b = impl->log->Bootstrap(dir);
      if (b.ok()) {
        spdlog::info("joined from a snapshot; reading the log from where it ends");
      } else {
        spdlog::info("no snapshot ({}); reading the log from its start", ToStd(b.message()));
      }
    }
  }
  ASSIGN_OR_RETURN(impl->store, storage::Store::Open(impl->options.store));
  impl->next_seq = impl->store->last_seq() + 1;
  // An empty log with commits behind it was trimmed to nothing.
  const uint64_t first_log_seq = impl->store->first_log_seq();
  impl->log_first_kept = first_log_seq > 0 ? first_log_seq : impl->next_seq;
  Impl* raw = impl.get();
  if (absl::Status started = impl->log->Start(impl->store->log_position(), [raw] { raw->Wake(); });
      !started.ok()) {
    impl->log->Stop();  // its callbacks reach into Impl
    return started;
  }
  impl->log->ServeSnapshots(
      [raw](const std::string& dir) { return raw->store->Checkpoint(dir); },
      raw->options.store.path + ".snapshots");
  impl->thread = std::thread([raw] {
    // The committer works in batches: what queued while it waited is one
    // commit group and one change batch per subscriber. As SCHED_BATCH
    // (Linux) it is not woken ahead of an I/O thread sharing its CPU in
    // the middle of that thread's turn, so the turn's writes arrive as one
    // group and its fan-out reaches the connections as one batch: on one
    // shared core, S2's p99 at 50% load fell from 5-15 ms to 3-4 ms and
    // context switches by ten times. With a free CPU it changes nothing.
    // A committer that waits for a shared log's acknowledgements is woken
    // by the network, not by its queue: SCHED_BATCH's wake-up penalty
    // would be on every commit's path, so it stays an ordinary thread.
    if (!raw->log->shared()) {
      sched_param none{};
      (void)sched_setscheduler(0, SCHED_BATCH, &none);
    }
    raw->Run();
  });
  spdlog::info("storage at '{}' recovered: last seq {}", raw->options.store.path,
               raw->store->last_seq());
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Engine::~Engine() { Stop(); }

void Engine::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->log->Stop();
  // Every subscription goes with its sink: sinks and callbacks hold the
  // executors of connections, which must not outlive the network layer.
  impl_->live.Clear();
}

void Engine::Submit(TxRequest tx, TxCallback done) {
  // The callback is moved into the queue only on success; keep a way back.
  auto shared = std::make_shared<TxCallback>(std::move(done));
  absl::Status queued = impl_->Push(TxTask{std::move(tx), [shared](absl::StatusOr<TxResult> r) mutable {
                                     std::move (*shared)(std::move(r));
                                   }},
                                   "the write queue is full; retry later");
  if (!queued.ok()) std::move(*shared)(std::move(queued));
}

void Engine::Subscribe(PlanPtr plan, std::shared_ptr<LiveSink> sink, SubscribeCallback done) {
  auto shared = std::make_shared<SubscribeCallback>(std::move(done));
  absl::Status queued = impl_->Push(SubscribeTask{std::move(plan), std::move(sink),
                                          [shared](absl::StatusOr<LiveRegistry::Id> r) mutable {
                                            std::move (*shared)(std::move(r));
                                          }},
                                   "the server is busy; retry later");
  if (!queued.ok()) std::move(*shared)(std::move(queued));
}

void Engine::Unsubscribe(LiveRegistry::Id id) {
  // Must not be dropped, or the sink would keep receiving: wait for room.
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->queue.push_back(UnsubscribeTask{id});
  }
  impl_->cv.notify_one();
}

void Engine::Query(PlanPtr plan, QueryCallback done) {
  auto shared = std::make_shared<QueryCallback>(std::move(done));
  absl::Status queued = impl_->Push(QueryTask{std::move(plan), [shared](absl::StatusOr<Array> r) mutable {
                                        std::move (*shared)(std::move(r));
                                      }},
                                   "the server is busy; retry later");
  if (!queued.ok()) std::move(*shared)(std::move(queued));
}

void Engine::History(std::string topic, uint64_t after_seq, size_t limit, HistoryCallback done) {
  auto shared = std::make_shared<HistoryCallback>(std::move(done));
  absl::Status queued = impl_->Push(
      HistoryTask{std::move(topic), after_seq, limit,
                  [shared](absl::StatusOr<std::vector<HistoryEntry>> r) mutable {
                    std::move (*shared)(std::move(r));
                  }},
      "the server is busy; retry later");
  if (!queued.ok()) std::move(*shared)(std::move(queued));
}

uint64_t Engine::last_seq() const { return impl_->store->last_seq(); }

LogProgress Engine::log_progress() const {
  LogProgress p;
  p.log = impl_->log->status();
  p.position = impl_->store->log_position();
  p.lag = p.log.end > p.position ? p.log.end - p.position : 0;
  // Ready once caught up since start, and while not far behind since.
  constexpr uint64_t kMaxReadyLag = 10000;
  p.caught_up = !impl_->log->shared() || (impl_->caught_up.load() && p.lag <= kMaxReadyLag);
  p.nodes = impl_->log->Nodes();
  std::lock_guard<std::mutex> lock(impl_->replica_error_mu);
  p.error = impl_->replica_error_text;
  return p;
}

std::vector<TopicInfo> Engine::Topics() const {
  std::vector<TopicInfo> out;
  std::lock_guard<std::mutex> lock(impl_->topic_writes_mu);
  for (auto& [name, count] : impl_->store->Topics()) {
    TopicInfo t;
    t.name = name;
    t.documents = count;
    auto w = impl_->topic_writes.find(name);
    t.writes = w == impl_->topic_writes.end() ? 0 : w->second;
    out.push_back(std::move(t));
  }
  return out;
}

const EngineStats& Engine::stats() const { return impl_->stats; }
const LiveStats& Engine::live_stats() const { return impl_->live.stats(); }
const EngineOptions& Engine::options() const { return impl_->options; }
std::optional<uint64_t> Engine::StoreIntProperty(const std::string& name) const {
  return impl_->store->IntProperty(name);
}
size_t Engine::live_query_count() const { return impl_->live_count.load(); }

std::vector<EvaluationInfo> Engine::DescribeLive(size_t max) const {
  auto done = std::make_shared<std::promise<std::vector<EvaluationInfo>>>();
  std::future<std::vector<EvaluationInfo>> f = done->get_future();
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopping) return {};
    impl_->queue.push_back(DescribeTask{max, done});
  }
  impl_->cv.notify_one();
  // A committer that stops first drops the task (a broken promise).
  if (f.wait_for(std::chrono::seconds(5)) != std::future_status::ready) return {};
  try {
    return f.get();
  } catch (const std::future_error&) {
    return {};
  }
}

void Engine::RunMaintenanceForTest() {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> f = done->get_future();
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->queue.push_back(MaintenanceTask{done});
  }
  impl_->cv.notify_one();
  f.wait();
}

// ------------------------------------------------------------------ queries

absl::StatusOr<PlanPtr> ParsePlan(std::string_view target, const Value& query,
                                  const query::LiveLimits& limits) {
  RETURN_IF_ERROR(IsPattern(target) ? ValidateTopicPattern(target) : ValidateTopicName(target));
  return query::LivePlan::Parse(target, query, limits);
}

}  // namespace ddp::engine
