#include "server/metrics/metrics.h"

#include <limits>
#include <sstream>
#include <utility>
#include <vector>

#include "prometheus/metric_family.h"
#include "prometheus/text_serializer.h"

namespace ddp {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

class Families {
 public:
  void Counter(std::string name, std::string help, double value) {
    Add(std::move(name), std::move(help), MetricType::Counter, value);
  }
  void Gauge(std::string name, std::string help, double value) {
    Add(std::move(name), std::move(help), MetricType::Gauge, value);
  }
  // One family, one series per row: `labels` name the columns of `rows`.
  void Labeled(MetricType type, std::string name, std::string help,
               std::vector<std::string> labels,
               const std::vector<std::pair<std::vector<std::string>, double>>& rows) {
    MetricFamily f;
    f.name = std::move(name);
    f.help = std::move(help);
    f.type = type;
    for (const auto& [values, value] : rows) {
      prometheus::ClientMetric& c = f.metric.emplace_back();
      for (size_t i = 0; i < labels.size() && i < values.size(); ++i) {
        c.label.push_back({labels[i], values[i]});
      }
      (type == MetricType::Counter ? c.counter.value : c.gauge.value) = value;
    }
    families_.push_back(std::move(f));
  }
  void Histogram(std::string name, std::string help, const BucketHistogram& h) {
    const BucketHistogram::Snapshot snap = h.Read();
    MetricFamily f;
    f.name = std::move(name);
    f.help = std::move(help);
    f.type = MetricType::Histogram;
    prometheus::ClientMetric& c = f.metric.emplace_back();
    for (size_t i = 0; i < snap.bounds.size(); ++i) {
      c.histogram.bucket.push_back({snap.cumulative[i], snap.bounds[i]});
    }
    c.histogram.bucket.push_back(
        {snap.cumulative.back(), std::numeric_limits<double>::infinity()});
    c.histogram.sample_count = snap.cumulative.back();
    c.histogram.sample_sum = snap.sum;
    families_.push_back(std::move(f));
  }
  std::string Text() const {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, families_);
    return out.str();
  }

 private:
  void Add(std::string name, std::string help, MetricType type, double value) {
    MetricFamily f;
    f.name = std::move(name);
    f.help = std::move(help);
    f.type = type;
    f.metric.emplace_back();
    if (type == MetricType::Counter) {
      f.metric.back().counter.value = value;
    } else {
      f.metric.back().gauge.value = value;
    }
    families_.push_back(std::move(f));
  }
  std::vector<MetricFamily> families_;
};

double D(const std::atomic<int64_t>& v) { return static_cast<double>(v.load()); }

}  // namespace

std::string RenderMetrics(const NetServer* net, const engine::Engine* engine) {
  Families m;
  if (net != nullptr) {
    const NetStats& s = net->stats();
    m.Gauge("ddpd_websocket_connections", "WebSocket (DDP) connections open now",
            D(s.connections_open));
    m.Counter("ddpd_sessions_total", "DDP sessions started", D(s.sessions_total));
    m.Counter("ddpd_sessions_resumed_total", "DDP sessions resumed (Meteor 3.5)",
              D(s.sessions_resumed));
    m.Gauge("ddpd_parked_sessions", "Sessions waiting for their client to come back",
            static_cast<double>(net->parked_sessions()));
    m.Counter("ddpd_messages_received_total", "DDP messages received", D(s.messages_in));
    m.Counter("ddpd_messages_sent_total", "DDP messages sent", D(s.messages_out));
    m.Counter("ddpd_bytes_sent_total", "Bytes written to DDP connections", D(s.bytes_out));
    m.Counter("ddpd_bytes_received_total",
              "Bytes received on DDP connections (frames; inflated messages with "
              "permessage-deflate; SockJS xhr_send bodies)",
              D(s.bytes_in));
    m.Counter("ddpd_slow_consumer_closes_total",
              "Connections closed because their outbound queue passed the hard limit (4001)",
              D(s.slow_consumer_closes));
    m.Counter("ddpd_messages_conflated_total",
              "Pending messages merged into another for a slow consumer", D(s.messages_conflated));
    m.Counter("ddpd_connections_refused_total", "WebSocket upgrades refused (connections per IP)",
              D(s.connections_refused));
    m.Counter("ddpd_http_requests_total", "HTTP requests served (not WebSocket)",
              D(s.http_requests));
    m.Gauge("ddpd_outbound_queued_bytes", "Bytes waiting in the connections' outbound queues",
            static_cast<double>(net->outbound_queued_bytes()));
    std::vector<std::pair<std::vector<std::string>, double>> calls;
    for (MethodStats::Row& r : net->method_stats().Read()) {
      calls.push_back({{std::move(r.method), std::move(r.outcome)}, static_cast<double>(r.calls)});
    }
    m.Labeled(MetricType::Counter, "ddpd_method_calls_total",
                     "DDP method calls by method and outcome (the reply's status code)",
                     {"method", "outcome"}, calls);
  }
  if (engine != nullptr) {
    const engine::EngineStats& e = engine->stats();
    m.Counter("ddpd_transactions_total", "Transactions committed", D(e.transactions));
    m.Counter("ddpd_commit_groups_total", "Group commits (one durable write each)", D(e.groups));
    m.Counter("ddpd_documents_written_total", "Document writes committed", D(e.documents_written));
    m.Counter("ddpd_conflicts_total", "Transactions refused by a failed precondition",
              D(e.conflicts));
    m.Counter("ddpd_storage_errors_total", "Writes that failed in storage", D(e.storage_errors));
    m.Counter("ddpd_log_conflicts_total",
              "Commit groups prepared again after another node committed first",
              D(e.log_conflicts));
    m.Counter("ddpd_log_records_applied_total", "Commit log records of other nodes applied",
              D(e.log_records_applied));
    m.Histogram("ddpd_commit_group_transactions", "Transactions per group commit",
                e.group_transactions);
    m.Histogram("ddpd_commit_seconds",
                "Time of a group commit's durable write (RocksDB WriteBatch and sync, or the "
                "JetStream publish and ack)",
                e.commit_seconds);
    const engine::LiveStats& l = engine->live_stats();
    m.Gauge("ddpd_live_evaluations", "Live query evaluations (shared by identical queries)",
            D(l.evaluations));
    std::vector<std::pair<std::vector<std::string>, double>> kinds;
    for (size_t k = 0; k < engine::kEvalKinds; ++k) {
      kinds.push_back({{engine::kEvalKindNames[k]}, D(l.evaluations_by_kind[k])});
    }
    m.Labeled(MetricType::Gauge, "ddpd_live_evaluations_by_kind",
              "Live query evaluations by their costliest operator", {"kind"}, kinds);
    m.Gauge("ddpd_live_subscriptions", "Subscriptions to live queries", D(l.subscriptions));
    m.Counter("ddpd_live_evaluations_created_total", "Live query evaluations created",
              D(l.evaluations_created));
    m.Counter("ddpd_live_shared_joins_total", "Subscriptions that joined an existing evaluation",
              D(l.shared_joins));
    m.Counter("ddpd_live_changes_routed_total", "(change, evaluation) pairs evaluated",
              D(l.changes_routed));
    m.Counter("ddpd_live_changes_skipped_total",
              "(change, evaluation) pairs the routing index avoided", D(l.changes_skipped));
    m.Gauge("ddpd_last_seq", "The last committed transaction seq",
            static_cast<double>(engine->last_seq()));
    const engine::LogProgress p = engine->log_progress();
    m.Gauge("ddpd_log_lag", "Commit log records known and not yet applied here (cluster)",
            static_cast<double>(p.lag));
    struct Property {
      const char* name;
      const char* help;
      const char* rocksdb;
    };
    for (const Property& prop : {
             Property{"ddpd_rocksdb_memtable_bytes", "RocksDB memtables' size",
                      "rocksdb.cur-size-all-mem-tables"},
             Property{"ddpd_rocksdb_pending_compaction_bytes",
                      "RocksDB's estimate of bytes compaction must rewrite",
                      "rocksdb.estimate-pending-compaction-bytes"},
             Property{"ddpd_rocksdb_live_sst_bytes", "RocksDB SST files in use",
                      "rocksdb.live-sst-files-size"},
             Property{"ddpd_rocksdb_write_stopped", "1 while RocksDB stops writes (a write stall)",
                      "rocksdb.is-write-stopped"},
             Property{"ddpd_rocksdb_delayed_write_rate",
                      "RocksDB's delayed write rate (bytes/s; 0: not delayed)",
                      "rocksdb.actual-delayed-write-rate"},
         }) {
      if (std::optional<uint64_t> v = engine->StoreIntProperty(prop.rocksdb)) {
        m.Gauge(prop.name, prop.help, static_cast<double>(*v));
      }
    }
  }
  return m.Text();
}

}  // namespace ddp
