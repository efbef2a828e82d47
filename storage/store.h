// Store: ddpd's durable state in embedded RocksDB. Nothing outside
// storage/ sees RocksDB.
//
// Layout (one column family each):
//   docs   topic \0 id            -> version(8) | written millis(8) | JSON
//   byseq  topic \0 version(8) id -> ""        (oldest-first, for retention;
//                                               indexed topics only)
//   log    seq(8)                 -> the transaction's change record (opaque)
//          seq(8) topic \0 id     -> the JSON of a document that record seq
//                                    wrote by reference and a later write
//                                    replaced (see LogBody)
//   meta   "last_seq"             -> seq(8); "count:" topic -> int64(8);
//          "log_position"         -> the position in an external commit
//                                    log (JetStream) this state reflects;
//          "byseq:" topic         -> "" while the topic's byseq index is
//                                    complete and maintained;
//          "byseq_layout"         -> "1" (byseq only for indexed topics)
//   idem   key                    -> expires millis(8) | result JSON
// Integers are big-endian so that keys sort numerically.
//
// Writes: Commit() applies a group of transactions (documents, their index
// entries, log records, the last seq, idempotency keys, counts) as one
// atomic RocksDB WriteBatch, synced according to the durability mode. The
// last seq is in the same batch as the log, so recovery after a crash finds
// a consistent prefix of transactions.
//
// Threading: Commit is called by one writer (the engine's committer).
// Reads and snapshots are safe from any thread, concurrently with Commit.
//
// Errors: RocksDB statuses map to Unavailable (I/O error, no space: "storage
// unavailable: ..."), DataLoss (corruption), Aborted (busy / try again),
// Internal (anything else). A failed Commit wrote nothing that readers see;
// after an I/O error RocksDB may refuse further writes until restarted, and
// every later Commit reports that.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "protocol/value.h"

namespace ddp::storage {

enum class Durability {
  kSync,   // fsync the write-ahead log before every Commit returns
  kBatch,  // fsync every batch_sync_interval; a power loss may drop that window
  kNone,   // never fsync; survives a process crash, not a power loss
};

// Test hook: makes the file system fail writes as a full disk would.
struct FaultInjection {
  std::atomic<bool> fail_writes{false};
};

struct StoreOptions {
  // Directory of the database. Default: "./data".
  std::string path = "./data";
  // Default: kSync.
  Durability durability = Durability::kSync;
  // In kBatch mode, how often the log is synced. Default: 10 ms.
  Duration batch_sync_interval = std::chrono::milliseconds(10);
  // Free space the data directory's file system must keep: below it, Commit
  // fails with Unavailable (reads go on) until space returns. RocksDB needs
  // room to flush and compact, and a full disk under its log is an error
  // only a restart clears (Store::Impl::CheckRoom). 0: no reserve.
  // Default: 64 MiB.
  uint64_t min_free_bytes = uint64_t{64} << 20;
  // After a failed write (a full disk), how often a commit retries
  // recovering the database; in between, commits fail at once with
  // Unavailable. Default: 1 s.
  Duration write_retry_interval = std::chrono::seconds(1);
  // RocksDB block cache. Default: 64 MiB.
  size_t block_cache_bytes = size_t{64} << 20;
  // Which topics keep the oldest-first index (ScanOldest): those with a
  // retention rule. The index is a second key per document write, so
  // topics without one skip it. Open() reconciles the stored index with
  // this (a topic that gained a rule is indexed from its documents, one
  // that lost it drops its index); ScanOldest of a topic not indexed finds
  // nothing. Default (unset): every topic.
  std::function<bool(std::string_view topic)> index_by_seq;
  // Tests only: a switch that turns file writes into "no space" errors.
  std::shared_ptr<FaultInjection> faults;
  // Tests only (ddpd --test-power-loss-journal): journal what each sync made
  // durable in this file, and on Open first cut every file back to it, so
  // that a SIGKILL loses what a power cut would (storage/fault_fs.h).
  // Default: off.
  std::string power_loss_journal;
};

struct StoredDoc {
  uint64_t version = 0;        // seq of the transaction that last wrote it
  int64_t written_millis = 0;  // wall clock of that write
  Object doc;                  // with its `_id`
};

// One document write of a commit.
struct DocWrite {
  std::string topic;
  std::string id;
  // The document (with its `_id`) as JSON, encoded once by the caller
  // (shared: a later write of the group replacing it saves the same bytes
  // as a LogBody); nullptr: delete.
  std::shared_ptr<const std::string> json;
  uint64_t version = 0;       // the seq writing it
  uint64_t prev_version = 0;  // the version it replaces, 0 when new
};

// The document a log record wrote by reference (its body was the
// document's own, with version == seq), saved next to the record when a
// later write replaces or removes that version.
struct LogBody {
  uint64_t seq = 0;
  std::string topic;
  std::string id;
  std::shared_ptr<const std::string> json;
};

// A group of transactions committed atomically.
struct CommitBatch {
  std::vector<DocWrite> writes;
  // (seq, record) per transaction, seqs increasing and contiguous.
  std::vector<std::pair<uint64_t, std::string>> log;
  std::vector<LogBody> log_bodies;
  uint64_t last_seq = 0;
  int64_t time_millis = 0;
  // The position of this group in an external commit log (cluster mode:
  // the JetStream stream sequence of its record), stored in the same
  // atomic write; 0: no external log (the position is left as it was).
  uint64_t log_position = 0;
  // Idempotency keys: (key, result JSON), kept until expires_millis.
  std::vector<std::pair<std::string, std::string>> idempotency;
  int64_t idempotency_expires_millis = 0;
};

class Snapshot {
 public:
  virtual ~Snapshot() = default;
  // The seq of the last transaction this snapshot contains.
  virtual uint64_t seq() const = 0;
};

class Store {
 public:
  // Opens (creating if needed) and recovers. Unavailable when the directory
  // cannot be used or is locked by another process; DataLoss on corruption.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();

  // The seq of the last committed transaction (0 for an empty store).
  uint64_t last_seq() const;
  // The external commit-log position of the last batch that had one (0
  // when none did): where a node resumes reading the cluster's log.
  uint64_t log_position() const;

  // Atomic, durable per the durability mode when it returns OK.
  absl::Status Commit(const CommitBatch& batch);

  // A consistent view of everything committed so far.
  std::unique_ptr<Snapshot> GetSnapshot() const;

  // nullopt when absent.
  absl::StatusOr<std::optional<StoredDoc>> Get(std::string_view topic, std::string_view id,
                                               const Snapshot* snapshot = nullptr) const;
  // Several documents at once, keys as (topic, id): one result per key, in
  // order. One batched read costs less per key than Get (the memtable's and
  // the files' bloom filters are probed for all keys together).
  std::vector<absl::StatusOr<std::optional<StoredDoc>>> GetMany(
      std::span<const std::pair<std::string_view, std::string_view>> keys) const;
  // Documents of a topic in id order; `fn` returns false to stop.
  absl::Status Scan(std::string_view topic,
                    const std::function<bool(std::string_view id, StoredDoc&& doc)>& fn,
                    const Snapshot* snapshot = nullptr) const;
  // Documents of a topic from the oldest write on: (id, version); nothing
  // for a topic StoreOptions::index_by_seq does not index.
  absl::Status ScanOldest(std::string_view topic,
                          const std::function<bool(std::string_view id, uint64_t version)>& fn)
      const;
  // Every topic with at least one document ever counted, with its count.
  std::vector<std::pair<std::string, int64_t>> Topics() const;
  int64_t Count(std::string_view topic) const;

  // Log records with seq > after_seq, in order; `fn` returns false to stop.
  absl::Status ReadLog(uint64_t after_seq,
                       const std::function<bool(uint64_t seq, std::string_view record)>& fn) const;
  // The LogBody saved for (seq, topic, id), nullopt when there is none.
  absl::StatusOr<std::optional<std::string>> GetLogBody(uint64_t seq, std::string_view topic,
                                                        std::string_view id) const;
  // The first seq still in the log (0 when empty).
  uint64_t first_log_seq() const;
  // Drops log records (and their bodies) with seq < keep_from.
  absl::Status TrimLog(uint64_t keep_from);

  // The stored result for an idempotency key, if it has not expired.
  absl::StatusOr<std::optional<std::string>> GetIdempotent(std::string_view key,
                                                           int64_t now_millis) const;
  // Drops expired idempotency keys; returns how many.
  absl::StatusOr<size_t> PurgeIdempotent(int64_t now_millis);

  // A consistent copy of the whole database in `dir` (which must not
  // exist), made of hard links where the file system allows: what a new
  // cluster node starts from instead of replaying the log from the start.
  // The copy's log_position() says where it continues.
  absl::Status Checkpoint(const std::string& dir) const;

  const StoreOptions& options() const;
  // A RocksDB integer property summed over the column families
  // ("rocksdb.cur-size-all-mem-tables", ...); nullopt when unknown.
  // Thread-safe.
  std::optional<uint64_t> IntProperty(const std::string& name) const;

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ddp::storage
