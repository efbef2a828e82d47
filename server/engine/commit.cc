// The commit path: prepare a group of transactions against the current
// state, make it durable through the commit log, fan it out, answer.
//
// With a shared log (cluster mode) other nodes append too. Before each
// group the committer applies what they appended (CatchUp), so a group is
// prepared against the newest state this node knows; if another record
// still got in first, the log refuses ours (Aborted), nothing was written,
// and the group is prepared again from a copy of its requests, against the
// state that now includes the other record. Preconditions, idempotency
// keys, upserts and updates thus always see the state their record follows
// in the log: two nodes racing on one document serialize, and no update
// is lost.
#include <span>

#include "common/clock.h"
#include "common/executor.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "protocol/ddp_error.h"
#include "protocol/json.h"
#include "server/engine/apply.h"
#include "server/engine/engine_impl.h"
#include "spdlog/spdlog.h"

namespace ddp::engine {
namespace {

// How often a group is prepared again after losing the race for the
// shared log. Each loss means another node committed, so running out
// takes sustained contention; the group then fails with Unavailable.
constexpr int kMaxLogAttempts = 64;
// Records applied from the shared log per Poll.
constexpr size_t kPollBatch = 256;
// Deepest document a write may leave (MongoDB's limit). Every node parses
// what the log carries, so a document none can read must not be written.
constexpr int kMaxDocumentDepth = 100;
// What a node accepts when it parses the log's documents: above anything
// a write may leave, so that a record never fails on depth.
constexpr JsonLimits kLogJsonLimits{1000, SIZE_MAX, SIZE_MAX};

int Depth(const Value& v, int limit) {
  if (limit <= 0) return 1;
  int deepest = 0;
  if (v.is_object()) {
    for (const Member& m : v.as_object()) deepest = std::max(deepest, Depth(m.value, limit - 1));
  } else if (v.is_array()) {
    for (const Value& e : v.as_array()) deepest = std::max(deepest, Depth(e, limit - 1));
  } else {
    return 0;
  }
  return 1 + deepest;
}

bool TooDeep(const Object& doc) {
  int deepest = 0;
  for (const Member& m : doc) deepest = std::max(deepest, Depth(m.value, kMaxDocumentDepth));
  return 1 + deepest > kMaxDocumentDepth;
}

const char* OpName(const Change& c) {
  if (c.before == nullptr) return "insert";
  if (c.after == nullptr) return "remove";
  return "update";
}

// The change-log record of a transaction: {"seq","t","changes":[{"topic",
// "id","op"}]}. A change that leaves a document behind names it by
// reference ("ref":1) instead of carrying it: that document is stored
// anyway, with version == seq, until a later write replaces or removes it,
// and that write saves it next to this record (storage::LogBody). Writing
// each document once instead of twice is 25-30% of the server's CPU for
// 1 KB inserts (memtable, write-ahead log, flush and compaction bytes).
// Records from before this layout carry "doc" inline; readers take both.
std::string LogRecord(const CommittedTx& tx) {
  std::string r;
  r.reserve(64 + tx.changes.size() * 64);
  StrAppend(&r, R"({"seq":)", tx.seq, R"(,"t":)", tx.time_millis, R"(,"changes":[)");
  for (size_t i = 0; i < tx.changes.size(); ++i) {
    const Change& c = tx.changes[i];
    if (i) r.push_back(',');
    r.append(R"({"topic":)");
    AppendJsonString(c.topic, &r);
    r.append(R"(,"id":)");
    AppendJsonString(c.id, &r);
    StrAppend(&r, R"(,"op":")", OpName(c), "\"");
    if (c.after != nullptr) r.append(R"(,"ref":1)");
    r.push_back('}');
  }
  r.append("]}");
  return r;
}

// A document's JSON, encoded once and shared by the store's write, the
// group overlay and a later LogBody.
std::shared_ptr<const std::string> SharedJson(const Object& doc) {
  auto json = std::make_shared<std::string>();
  AppendJsonObject(doc, json.get());
  return json;
}

std::string ResultRecord(const TxResult& r) {
  std::string out = StrCat(R"({"seq":)", r.seq, R"(,"results":)");
  AppendJson(Value(Array(r.results)), &out);
  out.push_back('}');
  return out;
}

absl::StatusOr<TxResult> ParseResultRecord(std::string_view record) {
  ASSIGN_OR_RETURN(Value v, ParseJson(record));
  TxResult r;
  const Value* seq = v.Find("seq");
  const Value* results = v.Find("results");
  if (seq == nullptr || !seq->is_int() || results == nullptr || !results->is_array()) {
    return absl::DataLossError("storage: unreadable idempotency record");
  }
  r.seq = static_cast<uint64_t>(seq->as_int());
  r.results = results->as_array();
  r.replayed = true;
  return r;
}

}  // namespace

Engine::Impl::Prepared Engine::Impl::Prepare(std::vector<TxTask>& group) {
  int64_t now = UnixMillis();
  Overlay overlay;
  Prepared p;
  storage::CommitBatch& batch = p.batch;
  batch.time_millis = now;
  batch.idempotency_expires_millis =
      now + std::chrono::duration_cast<std::chrono::milliseconds>(options.idempotency_ttl).count();
  std::vector<CommittedTx>& committed = p.committed;
  std::vector<absl::StatusOr<TxResult>>& results = p.results;
  results.assign(group.size(), absl::UnknownError("not run"));
  StringMap<size_t> keys_in_group;  // idempotency key -> index of its transaction
  uint64_t seq = next_seq;
  StoreReads reads;
  for (const TxTask& t : group) reads.Add(t.tx);
  reads.Read(*store);

  for (size_t i = 0; i < group.size(); ++i) {
    TxRequest& tx = group[i].tx;
    if (!tx.key.empty()) {
      if (auto k = keys_in_group.find(tx.key); k != keys_in_group.end()) {
        results[i] = results[k->second];
        if (results[i].ok()) results[i]->replayed = true;
        continue;
      }
      absl::StatusOr<std::optional<std::string>> prior = store->GetIdempotent(tx.key, now);
      if (!prior.ok()) {
        results[i] = prior.status();
        continue;
      }
      if (prior->has_value()) {
        results[i] = ParseResultRecord(**prior);
        continue;
      }
    }
    TxApplier applier(*store, overlay, &reads, options, now);
    std::vector<Value> values;
    absl::Status s = applier.Apply(tx, &values);
    if (!s.ok()) {
      if (s.code() == absl::StatusCode::kFailedPrecondition) stats.conflicts++;
      results[i] = s;
      continue;
    }
    std::vector<TxApplier::Written> writes = applier.TakeWrites();
    bool too_deep = false;
    for (const TxApplier::Written& w : writes) too_deep |= w.change.after && TooDeep(*w.change.after);
    if (too_deep) {
      results[i] = absl::InvalidArgumentError(StrCat(
          "a document would be nested deeper than ", kMaxDocumentDepth, " levels"));
      continue;
    }
    TxResult r;
    r.results = std::move(values);
    if (writes.empty()) {
      r.seq = seq - 1;  // nothing written: the state it saw
    } else {
      CommittedTx c;
      c.seq = seq++;
      c.time_millis = now;
      for (TxApplier::Written& w : writes) {
        storage::DocWrite& dw = batch.writes.emplace_back();
        dw.topic = w.change.topic;
        dw.id = w.change.id;
        if (w.change.after) dw.json = SharedJson(*w.change.after);
        dw.version = c.seq;
        dw.prev_version = w.prev_version;
        if (w.prev_version >= log_first_kept && w.prev_version > 0 && w.change.before) {
          // The record that wrote the version replaced here named it by
          // reference: keep it for the change log.
          storage::LogBody& b = batch.log_bodies.emplace_back();
          b.seq = w.prev_version;
          b.topic = w.change.topic;
          b.id = w.change.id;
          b.json = w.before_json ? std::move(w.before_json) : SharedJson(*w.change.before);
        }
        overlay.Put(w.change.topic, w.change.id,
                    DocState{w.change.after, w.change.after ? c.seq : 0, dw.json});
        c.changes.push_back(std::move(w.change));
      }
      batch.log.emplace_back(c.seq, LogRecord(c));
      r.seq = c.seq;
      committed.push_back(std::move(c));
    }
    if (!tx.key.empty()) {
      batch.idempotency.emplace_back(tx.key, ResultRecord(r));
      keys_in_group.emplace(tx.key, i);
    }
    results[i] = std::move(r);
  }

  batch.last_seq = seq - 1;
  p.next_seq = seq;
  return p;
}

void Engine::Impl::CommitGroup(std::vector<TxTask>& group) {
  // Preparing moves documents out of the requests; with a shared log a
  // conflict prepares them again, from this copy.
  std::vector<TxRequest> originals;
  if (log->shared()) {
    originals.reserve(group.size());
    for (const TxTask& t : group) originals.push_back(t.tx);
  }
  for (int attempt = 1;; ++attempt) {
    if (log->shared()) (void)CatchUp();
    Prepared p = Prepare(group);
    absl::Status s = replica_error;
    if (s.ok() && (!p.batch.log.empty() || !p.batch.idempotency.empty())) {
      const SteadyTime start = SteadyClock::now();
      s = log->Commit(*store, p.batch);
      stats.commit_seconds.Observe(
          std::chrono::duration<double>(SteadyClock::now() - start).count());
    }
    const bool shared = log->shared();
    if (shared && s.code() == absl::StatusCode::kAborted && attempt < kMaxLogAttempts) {
      stats.log_conflicts++;
      for (size_t i = 0; i < group.size(); ++i) group[i].tx = originals[i];
      continue;
    }
    if (shared && s.code() == absl::StatusCode::kResourceExhausted && group.size() > 1) {
      // Too large for one record: two smaller groups, in order.
      for (size_t i = 0; i < group.size(); ++i) group[i].tx = std::move(originals[i]);
      std::vector<TxTask> second(std::make_move_iterator(group.begin() + group.size() / 2),
                                 std::make_move_iterator(group.end()));
      group.resize(group.size() / 2);
      CommitGroup(group);
      CommitGroup(second);
      return;
    }
    if (!s.ok()) {
      // Nothing of the group is durable: every transaction that wrote fails.
      if (shared && s.code() == absl::StatusCode::kDataLoss) {
        // In the log but not in this node's store: this node cannot go on.
        SetReplicaError(s);
        spdlog::error("{}; this node stops writing", ToStd(s.message()));
        stats.storage_errors++;
        s = absl::UnavailableError(s.message());
      } else if (shared && s.code() == absl::StatusCode::kAborted) {
        s = absl::UnavailableError("the cluster is too busy with conflicting writes; retry");
      } else if (shared && s.code() == absl::StatusCode::kResourceExhausted) {
        s = absl::InvalidArgumentError(s.message());
      } else {
        stats.storage_errors++;
      }
      p.next_seq = next_seq;
      p.committed.clear();
      for (auto& r : p.results) {
        if (r.ok()) r = s;
      }
    }
    Finish(group, p);
    return;
  }
}

void Engine::Impl::Finish(std::vector<TxTask>& group, Prepared& p) {
  next_seq = p.next_seq;
  stats.groups++;
  stats.group_transactions.Observe(static_cast<double>(group.size()));
  Publish(p.committed, /*local=*/true);
  for (size_t i = 0; i < group.size(); ++i) std::move(group[i].done)(std::move(p.results[i]));
}

void Engine::Impl::Publish(std::vector<CommittedTx>& committed, bool local) {
  live.OnCommit(std::span<const CommittedTx>(committed));
  for (const CommittedTx& c : committed) {
    // max_docs is enforced by the node that wrote (one cleanup per write,
    // not one per node).
    if (has_max_docs && local) {
      for (const Change& ch : c.changes) {
        if (ch.after != nullptr && !written_topics.contains(ch.topic))
          written_topics.insert(ch.topic);
      }
    }
    stats.transactions++;
    stats.documents_written += static_cast<int64_t>(c.changes.size());
    std::lock_guard<std::mutex> lock(topic_writes_mu);
    for (const Change& ch : c.changes) topic_writes[ch.topic]++;
  }
}

absl::Status Engine::Impl::CatchUp() {
  if (!replica_error.ok()) return replica_error;
  while (true) {
    absl::StatusOr<std::vector<storage::CommitBatch>> batches =
        log->Poll(store->log_position(), kPollBatch);
    if (!batches.ok()) {
      if (batches.status().code() == absl::StatusCode::kDataLoss) {
        SetReplicaError(batches.status());
        spdlog::error("{}; this node stops writing", ToStd(replica_error.message()));
      }
      return batches.status();
    }
    if (batches->empty()) {
      if (store->log_position() >= log->status().end) caught_up = true;
      return absl::OkStatus();
    }
    for (storage::CommitBatch& b : *batches) {
      absl::Status s = ApplyFromLog(b);
      if (!s.ok()) {
        SetReplicaError(s);
        spdlog::error("cannot apply the cluster log's record {}: {}; this node stops writing",
                      b.log_position, ToStd(s.message()));
        return s;
      }
    }
  }
}

// A record another node appended: its writes replace documents this node
// holds in the same state (the record follows this node's last position),
// which are read here for the subscribers' deltas and the change log.
absl::Status Engine::Impl::ApplyFromLog(storage::CommitBatch& batch) {
  auto diverged = [&](std::string_view what) {
    return absl::DataLossError(StrCat("the cluster log's record at ", batch.log_position,
                                      " does not follow this node's state: ", what));
  };
  if (!batch.log.empty() && batch.log.front().first != next_seq) {
    return diverged(
        StrCat("it starts at seq ", batch.log.front().first, ", this node is at ", next_seq - 1));
  }
  Overlay overlay;  // earlier writes of the same record
  std::vector<CommittedTx> committed;
  for (storage::DocWrite& w : batch.writes) {
    DocState before;
    if (const DocState* o = overlay.Find(w.topic, w.id)) {
      before = *o;
    } else {
      ASSIGN_OR_RETURN(std::optional<storage::StoredDoc> d, store->Get(w.topic, w.id));
      if (d) {
        before.version = d->version;
        before.doc = std::make_shared<const Object>(std::move(d->doc));
      }
    }
    if (before.version != w.prev_version) {
      return diverged(StrCat("it replaces version ", w.prev_version, " of '", w.topic, "' '", w.id,
                             "', this node has version ", before.version));
    }
    std::shared_ptr<const Object> after;
    if (w.json) {
      absl::StatusOr<Value> v = ParseJson(*w.json, kLogJsonLimits);
      if (!v.ok() || !v->is_object()) return diverged("a document in it is not readable");
      after = std::make_shared<const Object>(std::move(v->as_object()));
    }
    if (before.doc && w.prev_version >= log_first_kept) {
      // As a local commit does: the record that wrote the version replaced
      // here named it by reference.
      storage::LogBody& b = batch.log_bodies.emplace_back();
      b.seq = w.prev_version;
      b.topic = w.topic;
      b.id = w.id;
      b.json = before.json ? before.json : SharedJson(*before.doc);
    }
    if (committed.empty() || committed.back().seq != w.version) {
      CommittedTx& c = committed.emplace_back();
      c.seq = w.version;
      c.time_millis = batch.time_millis;
    }
    overlay.Put(w.topic, w.id, DocState{after, after ? w.version : 0, w.json});
    committed.back().changes.push_back(Change{w.topic, w.id, std::move(before.doc), after});
  }
  if (committed.size() != batch.log.size()) {
    return diverged(StrCat(batch.log.size(), " transactions, writes of ", committed.size()));
  }
  if (batch.log.empty()) batch.last_seq = next_seq - 1;  // keys only, or not ddpd's
  absl::Status s = store->Commit(batch);
  if (!s.ok()) {
    stats.storage_errors++;
    return s;
  }
  if (!batch.log.empty()) next_seq = batch.last_seq + 1;
  stats.groups++;
  stats.log_records_applied++;
  Publish(committed, /*local=*/false);
  return absl::OkStatus();
}

}  // namespace ddp::engine
