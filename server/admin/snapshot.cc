// One refresh of the admin page's documents (admin.h lists them).
#include <algorithm>

#include "common/logging.h"
#include "common/strings.h"
#include "server/admin/admin.h"

namespace ddp::admin {
namespace {

double D(const std::atomic<int64_t>& v) { return static_cast<double>(v.load()); }

// The value of `field` in the previous refresh's document `id`, or
// `fallback` (no previous refresh: no rate yet).
double Previous(const Snapshot* previous, std::string_view id, std::string_view field,
                double fallback) {
  if (previous == nullptr) return fallback;
  for (const auto& [pid, doc] : *previous) {
    if (pid != id) continue;
    const Value* v = doc.Find(field);
    return v != nullptr && v->is_number() ? v->ToDouble() : fallback;
  }
  return fallback;
}

// Per second since the previous refresh, rounded to a tenth.
double Rate(double now, double before, double seconds) {
  if (seconds <= 0 || now < before) return 0;
  return static_cast<double>(static_cast<int64_t>((now - before) / seconds * 10 + 0.5)) / 10;
}

}  // namespace

Snapshot TakeSnapshot(const NetServer* net, const engine::Engine* engine, const Snapshot* previous,
                      double seconds, size_t max_rows) {
  Snapshot out;
  Object server;
  server.Set("kind", "server");
  auto counter = [&](const char* field, double value) {
    server.Set(field, value);
    server.Set(StrCat(field, "PerSec"),
               Rate(value, Previous(previous, "server", field, value), seconds));
  };
  if (net != nullptr) {
    const NetStats& s = net->stats();
    server.Set("connections", D(s.connections_open));
    server.Set("parkedSessions", static_cast<double>(net->parked_sessions()));
    counter("messagesIn", D(s.messages_in));
    counter("messagesOut", D(s.messages_out));
    counter("bytesOut", D(s.bytes_out));
    server.Set("slowConsumerCloses", D(s.slow_consumer_closes));
    server.Set("outboundQueuedBytes", static_cast<double>(net->outbound_queued_bytes()));
  }
  if (engine != nullptr) {
    const engine::EngineStats& e = engine->stats();
    const engine::LiveStats& l = engine->live_stats();
    counter("transactions", D(e.transactions));
    counter("documentsWritten", D(e.documents_written));
    server.Set("lastSeq", static_cast<double>(engine->last_seq()));
    server.Set("subscriptions", D(l.subscriptions));
    server.Set("evaluations", D(l.evaluations));
    server.Set("storageErrors", D(e.storage_errors));
    server.Set("logLag", static_cast<double>(engine->log_progress().lag));
    if (std::optional<uint64_t> v = engine->StoreIntProperty("rocksdb.cur-size-all-mem-tables")) {
      server.Set("memtableBytes", static_cast<double>(*v));
    }
    if (std::optional<uint64_t> v =
            engine->StoreIntProperty("rocksdb.estimate-pending-compaction-bytes")) {
      server.Set("pendingCompactionBytes", static_cast<double>(*v));
    }
  }
  out.emplace_back("server", std::move(server));

  if (engine != nullptr) {
    std::vector<engine::TopicInfo> topics = engine->Topics();
    std::sort(topics.begin(), topics.end(),
              [](const auto& a, const auto& b) { return a.writes > b.writes; });
    if (topics.size() > max_rows) topics.resize(max_rows);
    for (const engine::TopicInfo& t : topics) {
      std::string id = StrCat("topic:", t.name);
      const double writes = static_cast<double>(t.writes);
      Object doc;
      doc.Set("kind", "topic");
      doc.Set("name", t.name);
      doc.Set("documents", static_cast<double>(t.documents));
      doc.Set("writes", writes);
      doc.Set("writesPerSec", Rate(writes, Previous(previous, id, "writes", writes), seconds));
      out.emplace_back(std::move(id), std::move(doc));
    }
    size_t n = 0;
    for (engine::EvaluationInfo& e : engine->DescribeLive(max_rows)) {
      Object doc;
      doc.Set("kind", "evaluation");
      doc.Set("target", std::move(e.target));
      doc.Set("query", std::move(e.query));
      doc.Set("operatorKind", engine::kEvalKindNames[static_cast<size_t>(e.kind)]);
      Array ops;
      for (std::string& op : e.operators) ops.push_back(Value(std::move(op)));
      doc.Set("operators", Value(std::move(ops)));
      doc.Set("subscribers", static_cast<double>(e.subscribers));
      doc.Set("changesIn", static_cast<double>(e.changes_in));
      doc.Set("deltasOut", static_cast<double>(e.deltas_out));
      doc.Set("busyMs", static_cast<double>(e.busy_nanos / 1000) / 1000);
      // Ranked by cost: the row's id is its rank, so that the page's table
      // keeps that order.
      out.emplace_back(StrCat("eval:", n++), std::move(doc));
    }
  }
  if (net != nullptr) {
    size_t n = 0;
    for (ConnectionSummary& c : net->Connections(max_rows)) {
      Object doc;
      doc.Set("kind", "connection");
      doc.Set("remote", std::move(c.remote_address));
      doc.Set("transport", std::move(c.transport));
      doc.Set("queuedBytes", static_cast<double>(c.queued_bytes));
      out.emplace_back(StrCat("conn:", n++), std::move(doc));
    }
  }
  size_t n = 0;
  for (std::string& line : RecentProblems()) {
    Object doc;
    doc.Set("kind", "error");
    doc.Set("line", std::move(line));
    out.emplace_back(StrCat("error:", n++), std::move(doc));
  }
  return out;
}

}  // namespace ddp::admin
