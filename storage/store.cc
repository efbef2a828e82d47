#include "storage/store.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "common/string_map.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "protocol/json.h"
#include "storage/fault_fs.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/utilities/options_util.h"
#include "rocksdb/write_batch.h"
#include "spdlog/spdlog.h"

namespace ddp::storage {
namespace {

constexpr char kLastSeqKey[] = "last_seq";
constexpr char kLogPositionKey[] = "log_position";
constexpr char kCountPrefix[] = "count:";
constexpr char kIndexedPrefix[] = "byseq:";
constexpr char kLayoutKey[] = "byseq_layout";
// Rebuilding a topic's index writes this many entries per batch.
constexpr size_t kRebuildBatch = 10000;

enum Cf { kDefault = 0, kDocs, kBySeq, kLog, kMeta, kIdem, kNumCf };
const char* const kCfNames[kNumCf] = {"default", "docs", "byseq", "log", "meta", "idem"};

void PutBe64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (i * 8)) & 0xff));
}

uint64_t GetBe64(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

void AppendDocKey(std::string_view topic, std::string_view id, std::string* k) {
  k->reserve(k->size() + topic.size() + 1 + id.size());
  k->append(topic);
  k->push_back('\0');
  k->append(id);
}

std::string DocKey(std::string_view topic, std::string_view id) {
  std::string k;
  AppendDocKey(topic, id, &k);
  return k;
}

std::string BySeqKey(std::string_view topic, uint64_t version, std::string_view id) {
  std::string k;
  k.reserve(topic.size() + 9 + id.size());
  k.append(topic);
  k.push_back('\0');
  PutBe64(&k, version);
  k.append(id);
  return k;
}

std::string SeqKey(uint64_t seq) {
  std::string k;
  PutBe64(&k, seq);
  return k;
}

// Sorts right after the record's own key, before the next record's.
std::string LogBodyKey(uint64_t seq, std::string_view topic, std::string_view id) {
  std::string k = SeqKey(seq);
  AppendDocKey(topic, id, &k);
  return k;
}

// In the log column family: a record's key is its seq alone; anything
// longer is a LogBody.
bool IsLogRecordKey(const rocksdb::Slice& key) { return key.size() == 8; }

rocksdb::Slice S(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view V(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = StrCat("storage ", what, ": ", s.ToString());
  if (s.IsIOError() || s.IsNoSpace() || s.IsIOFenced()) {
    return absl::UnavailableError(StrCat("storage unavailable: ", what, ": ", s.ToString()));
  }
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut()) return absl::AbortedError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  return absl::InternalError(msg);
}

absl::StatusOr<StoredDoc> DecodeDoc(std::string_view value) {
  if (value.size() < 16) return absl::DataLossError("storage: short document record");
  StoredDoc d;
  d.version = GetBe64(value.substr(0, 8));
  d.written_millis = static_cast<int64_t>(GetBe64(value.substr(8, 8)));
  JsonLimits limits;
  limits.max_text_bytes = SIZE_MAX;
  limits.max_string_bytes = SIZE_MAX;
  absl::StatusOr<Value> v = ParseJson(value.substr(16), limits);
  if (!v.ok() || !v->is_object()) {
    return absl::DataLossError(StrCat("storage: unreadable document: ", v.status().message()));
  }
  d.doc = std::move(v->as_object());
  return d;
}

// RocksDB's own messages go to ddpd's log rather than to a LOG file in the
// data directory: operators find them where everything else is (text or
// JSON), and a full disk cannot break the logger. (Debian's RocksDB is
// built with assertions: after one failed write to its LOG file, the next
// message aborts the process, as tests/faults/full_disk_test found.)
class RocksLogger : public rocksdb::Logger {
 public:
  explicit RocksLogger(rocksdb::InfoLogLevel level) : Logger(level) {}
  using Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char buf[1024];
    int n = std::vsnprintf(buf, sizeof buf, format, ap);
    if (n < 0) return;
    std::string_view text(buf, std::min(static_cast<size_t>(n), sizeof buf - 1));
    switch (level) {
      case rocksdb::InfoLogLevel::DEBUG_LEVEL:
        spdlog::debug("rocksdb: {}", text);
        break;
      case rocksdb::InfoLogLevel::INFO_LEVEL:
      case rocksdb::InfoLogLevel::HEADER_LEVEL:
        spdlog::info("rocksdb: {}", text);
        break;
      case rocksdb::InfoLogLevel::WARN_LEVEL:
        spdlog::warn("rocksdb: {}", text);
        break;
      default:
        spdlog::error("rocksdb: {}", text);
        break;
    }
  }
};

class RocksSnapshot : public Snapshot {
 public:
  RocksSnapshot(rocksdb::DB* db, const rocksdb::Snapshot* snap, uint64_t seq)
      : db_(db), snap_(snap), seq_(seq) {}
  ~RocksSnapshot() override { db_->ReleaseSnapshot(snap_); }
  uint64_t seq() const override { return seq_; }
  const rocksdb::Snapshot* get() const { return snap_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snap_;
  uint64_t seq_;
};

}  // namespace

struct Store::Impl {
  StoreOptions options;
  std::unique_ptr<rocksdb::Env> env;  // when a custom file system is used
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> cf;
  std::atomic<uint64_t> last_seq{0};
  std::atomic<uint64_t> log_position{0};
  // Set after a failed write: RocksDB's log writer must not be touched
  // again (Debian's RocksDB is built with assertions that abort otherwise)
  // until DB::Resume() has cleared the error, which flushes the memtables
  // and starts a new log (TryResume).
  std::atomic<bool> write_failed{false};
  std::mutex resume_mu;
  SteadyTime next_resume{};  // guarded by resume_mu
  std::atomic<bool> needs_reopen{false};  // Resume refused: only a restart helps

  // After a failed write: at most once per write_retry_interval, asks
  // RocksDB to recover (it needs room for a flush, so on a still-full disk
  // this fails again, cheaply). True when writes may go on.
  bool TryResume() {
    std::lock_guard<std::mutex> lock(resume_mu);
    if (!write_failed) return true;
    SteadyTime now = SteadyClock::now();
    if (now < next_resume) return false;
    next_resume = now + options.write_retry_interval;
    rocksdb::Status s = db->Resume();
    if (!s.ok()) {
      if (s.severity() >= rocksdb::Status::Severity::kFatalError && !needs_reopen) {
        needs_reopen = true;
        spdlog::error("storage: RocksDB cannot recover from this write error while open "
                      "({}): restart ddpd once the disk is fixed",
                      s.ToString());
      }
      spdlog::debug("storage: writes still failing: {}", s.ToString());
      return false;
    }
    write_failed = false;
    spdlog::warn("storage: writes resumed (the disk has room again)");
    return true;
  }

  // The free-space reserve (options.min_free_bytes). Debian's RocksDB treats
  // "no space" while appending to its write-ahead log as a fatal error that
  // only a reopen clears, so ddpd refuses writes before the disk is full:
  // RocksDB then never meets ENOSPC on the log, and its flushes and
  // compactions (whose "no space" errors DB::Resume can clear) have room.
  // statvfs is asked at most every kFreeSpaceCheck, so the reserve must
  // exceed what can be written in that time (64 MiB in 20 ms is 3 GB/s).
  static constexpr Duration kFreeSpaceCheck = std::chrono::milliseconds(20);
  std::mutex space_mu;
  SteadyTime next_space_check{};  // guarded by space_mu
  uint64_t free_bytes = UINT64_MAX;  // guarded by space_mu; last statvfs answer

  // OK, or Unavailable naming the free space and the reserve.
  absl::Status CheckRoom() {
    if (options.min_free_bytes == 0) return absl::OkStatus();
    std::lock_guard<std::mutex> lock(space_mu);
    SteadyTime now = SteadyClock::now();
    if (now >= next_space_check) {
      next_space_check = now + kFreeSpaceCheck;
      struct statvfs st;
      if (::statvfs(options.path.c_str(), &st) == 0) {
        bool was_full = free_bytes < options.min_free_bytes;
        free_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
        bool full = free_bytes < options.min_free_bytes;
        if (full && !was_full) {
          spdlog::error("storage: the disk of {} is almost full ({} MiB free, the reserve is {} MiB): "
                        "writes are refused until space returns",
                        options.path, free_bytes >> 20, options.min_free_bytes >> 20);
        } else if (was_full && !full) {
          spdlog::warn("storage: the disk of {} has room again ({} MiB free): writes resume",
                       options.path, free_bytes >> 20);
        }
      }
    }
    if (free_bytes >= options.min_free_bytes) return absl::OkStatus();
    return absl::UnavailableError(
        StrCat("storage unavailable: the disk is almost full (", free_bytes >> 20,
               " MiB free, below the reserve of ", options.min_free_bytes >> 20,
               " MiB): writes resume by themselves when space returns; reads go on"));
  }

  mutable std::mutex counts_mu;
  StringMap<int64_t> counts;  // guarded by counts_mu

  // The byseq index (committer thread only, after Open): whether a topic is
  // indexed (options.index_by_seq, decided once per topic) and the indexed
  // topics whose marker is stored or in the batch being built.
  StringMap<bool> indexed;
  StringSet marked;

  bool WantsIndex(std::string_view topic) const {
    return !options.index_by_seq || options.index_by_seq(topic);
  }
  // Whether writes to `topic` maintain its byseq index; the topic's first
  // indexed write also stores its marker (in `wb`).
  bool Indexed(std::string_view topic, rocksdb::WriteBatch& wb) {
    auto it = indexed.find(topic);
    if (it == indexed.end()) it = indexed.emplace(topic, WantsIndex(topic)).first;
    if (it->second && !marked.contains(topic)) {
      wb.Put(cf[kMeta], StrCat(kIndexedPrefix, topic), rocksdb::Slice());
      marked.emplace(topic);
    }
    return it->second;
  }
  absl::Status ReconcileIndex();

  // kBatch: a thread that syncs the WAL periodically.
  std::thread syncer;
  std::mutex sync_mu;
  std::condition_variable sync_cv;
  bool stopping = false;

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(sync_mu);
      stopping = true;
    }
    sync_cv.notify_all();
    if (syncer.joinable()) syncer.join();
    if (db) {
      if (options.durability != Durability::kNone && !write_failed) (void)db->SyncWAL();
      for (auto* h : cf) {
        if (h != nullptr) (void)db->DestroyColumnFamilyHandle(h);
      }
      (void)db->Close();
      db.reset();
    }
  }

  rocksdb::ReadOptions Read(const Snapshot* snapshot) const {
    rocksdb::ReadOptions ro;
    if (snapshot != nullptr) ro.snapshot = static_cast<const RocksSnapshot*>(snapshot)->get();
    return ro;
  }
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  // RocksDB creates a missing directory too, but reports the missing one as
  // an error in its log first; failures here are RocksDB's to report.
  std::error_code ignored;
  std::filesystem::create_directories(options.path, ignored);

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.info_log_level = rocksdb::WARN_LEVEL;
  db_options.info_log = std::make_shared<RocksLogger>(rocksdb::WARN_LEVEL);
  db_options.keep_log_file_num = 3;
  // The metadata column family takes a few bytes per commit and would never
  // fill its memtable, so it would keep every write-ahead log file alive
  // until RocksDB's default cap (4x all write buffers, ~1.5 GB here): 1.3 GB
  // of logs after 10 s of 1 KB inserts, replayed on every restart. Past
  // this total, RocksDB flushes the column families holding the oldest log.
  db_options.max_total_wal_size = 128 << 20;
  // A torn last record is what a crash leaves behind (that write was never
  // acknowledged in sync mode); anything else damaged in the log is
  // corruption and must stop the open rather than silently drop
  // acknowledged writes after it.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  std::shared_ptr<rocksdb::FileSystem> fs = rocksdb::FileSystem::Default();
  if (!options.power_loss_journal.empty()) {
    ASSIGN_OR_RETURN(PowerLossReport cut, ApplyPowerLoss(options.power_loss_journal));
    spdlog::warn("storage: power-loss test mode: dropped {} unsynced bytes from {} files",
                 cut.bytes_dropped, cut.files_cut);
    fs = NewSyncJournalFileSystem(fs, options.power_loss_journal);
    if (fs == nullptr) {
      return absl::InvalidArgumentError(
          StrCat("storage: cannot open the power-loss journal '", options.power_loss_journal, "'"));
    }
  }
  if (options.faults) fs = NewFullDiskFileSystem(fs, options.faults);
  if (fs != rocksdb::FileSystem::Default()) {
    impl->env = rocksdb::NewCompositeEnv(fs);
    db_options.env = impl->env.get();
  }

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.whole_key_filtering = true;
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_options.write_buffer_size = 32 << 20;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : kCfNames) descriptors.emplace_back(name, cf_options);
  // The log and the oldest-first index are read in ranges (and the log's
  // bodies by key in `history`, where seq-ordered keys put each key in one
  // file per level): a bloom filter there would be built at every flush for
  // next to nothing.
  rocksdb::BlockBasedTableOptions range_table = table;
  range_table.filter_policy.reset();
  for (Cf c : {kLog, kBySeq}) {
    descriptors[c].options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(range_table));
  }
  // Documents are read before they are written (a write's prior state, an
  // insert's duplicate check), and a new document's key is in no memtable:
  // without a filter that miss walked the skiplist (15% of the server's
  // CPU publishing new documents in batches of 10, 3% with the filter). A
  // whole-key bloom filter in the memtable answers it at once; 2% of the
  // write buffer holds ~10 bits per key for 128-byte documents.
  descriptors[kDocs].options.memtable_prefix_bloom_size_ratio = 0.02;
  descriptors[kDocs].options.memtable_whole_key_filtering = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, options.path, descriptors, &impl->cf, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return absl::UnavailableError(StrCat("storage: the data directory '", options.path,
                                           "' is in use by another process: ", s.ToString()));
    }
    return FromRocks(s, StrCat("open '", options.path, "'"));
  }
  impl->db.reset(raw);

  // Recover the last seq and the per-topic counts.
  std::string v;
  s = raw->Get(rocksdb::ReadOptions(), impl->cf[kMeta], kLastSeqKey, &v);
  if (s.ok()) {
    impl->last_seq = GetBe64(v);
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "read last seq");
  }
  s = raw->Get(rocksdb::ReadOptions(), impl->cf[kMeta], kLogPositionKey, &v);
  if (s.ok()) {
    impl->log_position = GetBe64(v);
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "read log position");
  }
  std::unique_ptr<rocksdb::Iterator> it(raw->NewIterator(rocksdb::ReadOptions(), impl->cf[kMeta]));
  for (it->Seek(kCountPrefix); it->Valid() && it->key().starts_with(kCountPrefix); it->Next()) {
    std::string topic(it->key().data() + sizeof(kCountPrefix) - 1,
                      it->key().size() - (sizeof(kCountPrefix) - 1));
    impl->counts[topic] = static_cast<int64_t>(GetBe64(V(it->value())));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "read topic counts");
  RETURN_IF_ERROR(impl->ReconcileIndex());

  if (options.durability == Durability::kBatch) {
    Impl* p = impl.get();
    impl->syncer = std::thread([p] {
      std::unique_lock<std::mutex> lock(p->sync_mu);
      while (!p->stopping) {
        p->sync_cv.wait_for(lock, p->options.batch_sync_interval);
        if (p->stopping) break;
        if (p->write_failed) continue;  // Commit's TryResume recovers
        lock.unlock();
        rocksdb::Status st = p->db->SyncWAL();
        if (!st.ok()) {
          p->write_failed = true;
          spdlog::error("storage: periodic WAL sync failed: {}", st.ToString());
        }
        lock.lock();
      }
    });
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

// Brings the byseq index in line with options.index_by_seq: a topic whose
// marker is stored has a complete index. A topic that should be indexed
// and is not gets one built from its documents (marker last, so a crash
// midway rebuilds again); one that should not drops its index. A store
// from before this layout maintained every topic's index.
absl::Status Store::Impl::ReconcileIndex() {
  rocksdb::ReadOptions ro;
  std::string layout;
  rocksdb::Status s = db->Get(ro, cf[kMeta], kLayoutKey, &layout);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "read index layout");
  const bool legacy = s.IsNotFound();
  StringSet markers;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, cf[kMeta]));
  for (it->Seek(kIndexedPrefix); it->Valid() && it->key().starts_with(kIndexedPrefix); it->Next()) {
    markers.emplace(V(it->key()).substr(sizeof(kIndexedPrefix) - 1));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "read index markers");
  StringSet topics = markers;
  for (const auto& [topic, count] : counts) topics.insert(topic);

  rocksdb::WriteOptions wo;
  wo.sync = options.durability != Durability::kNone;
  rocksdb::WriteBatch wb;
  auto flush = [&]() -> absl::Status {
    if (wb.Count() == 0) return absl::OkStatus();
    rocksdb::Status w = db->Write(wo, &wb);
    wb.Clear();
    return FromRocks(w, "rebuild the oldest-first index");
  };
  for (const std::string& topic : topics) {
    const bool want = WantsIndex(topic);
    const bool has = legacy ? counts.contains(topic) : markers.contains(topic);
    indexed[topic] = want;
    if (want == has) {
      if (want) {
        marked.insert(topic);
        if (legacy) wb.Put(cf[kMeta], StrCat(kIndexedPrefix, topic), rocksdb::Slice());
      }
      continue;
    }
    // Dropped, or rebuilt: either way from nothing (a rebuild a crash cut
    // short left entries but no marker).
    const std::string from = DocKey(topic, "");
    std::string to = from;
    to.back() = '\x01';
    wb.DeleteRange(cf[kBySeq], from, to);
    wb.Delete(cf[kMeta], StrCat(kIndexedPrefix, topic));
    if (!want) continue;
    spdlog::info("storage: building the oldest-first index of topic '{}' (it has a retention rule now)",
                 topic);
    rocksdb::ReadOptions scan;
    rocksdb::Slice upper(to);
    scan.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> docs(db->NewIterator(scan, cf[kDocs]));
    for (docs->Seek(from); docs->Valid(); docs->Next()) {
      std::string_view id = V(docs->key()).substr(from.size());
      uint64_t version = GetBe64(V(docs->value()));
      wb.Put(cf[kBySeq], BySeqKey(topic, version, id), rocksdb::Slice());
      if (wb.Count() >= kRebuildBatch) RETURN_IF_ERROR(flush());
    }
    if (!docs->status().ok()) return FromRocks(docs->status(), "scan for the index");
    wb.Put(cf[kMeta], StrCat(kIndexedPrefix, topic), rocksdb::Slice());
    marked.insert(topic);
  }
  wb.Put(cf[kMeta], kLayoutKey, "1");
  return flush();
}

uint64_t Store::last_seq() const { return impl_->last_seq.load(std::memory_order_acquire); }
absl::Status Store::Checkpoint(const std::string& dir) const {
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(impl_->db.get(), &raw);
  if (!s.ok()) return FromRocks(s, "checkpoint");
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // 0: flush the memtables first, so that the copy needs no WAL replay.
  s = checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0);
  return s.ok() ? absl::OkStatus() : FromRocks(s, StrCat("checkpoint into '", dir, "'"));
}

uint64_t Store::log_position() const {
  return impl_->log_position.load(std::memory_order_acquire);
}

absl::Status Store::Commit(const CommitBatch& batch) {
  RETURN_IF_ERROR(impl_->CheckRoom());
  if (impl_->write_failed && !impl_->TryResume()) {
    if (impl_->needs_reopen) {
      return absl::UnavailableError(
          "storage unavailable: a write failed (disk full or I/O error) in a way RocksDB "
          "recovers from only at a restart: restart ddpd once the disk is fixed");
    }
    return absl::UnavailableError(
        "storage unavailable: writes fail (disk full or I/O error); they resume by themselves "
        "once the disk has room");
  }
  rocksdb::WriteBatch wb;
  absl::flat_hash_map<std::string, int64_t> deltas;
  std::string value;
  const std::string* last_topic = nullptr;
  bool by_seq = false;
  for (const DocWrite& w : batch.writes) {
    std::string key = DocKey(w.topic, w.id);
    if (last_topic == nullptr || *last_topic != w.topic) {
      last_topic = &w.topic;
      by_seq = impl_->Indexed(w.topic, wb);
    }
    if (by_seq && w.prev_version != 0) {
      wb.Delete(impl_->cf[kBySeq], BySeqKey(w.topic, w.prev_version, w.id));
    }
    if (w.json) {
      value.clear();
      value.reserve(16 + w.json->size());
      PutBe64(&value, w.version);
      PutBe64(&value, static_cast<uint64_t>(batch.time_millis));
      value.append(*w.json);
      wb.Put(impl_->cf[kDocs], key, value);
      if (by_seq) wb.Put(impl_->cf[kBySeq], BySeqKey(w.topic, w.version, w.id), rocksdb::Slice());
      if (w.prev_version == 0) deltas[w.topic] += 1;
    } else {
      wb.Delete(impl_->cf[kDocs], key);
      if (w.prev_version != 0) deltas[w.topic] -= 1;
    }
  }
  // Records and bodies in key order: each lands next to the one before in
  // the memtable (a body out of order searched the whole skiplist).
  std::vector<std::pair<std::string, const std::string*>> bodies;
  bodies.reserve(batch.log_bodies.size());
  for (const LogBody& b : batch.log_bodies) {
    bodies.emplace_back(LogBodyKey(b.seq, b.topic, b.id), b.json.get());
  }
  std::sort(bodies.begin(), bodies.end());
  auto body = bodies.begin();
  for (const auto& [seq, record] : batch.log) {
    std::string key = SeqKey(seq);
    for (; body != bodies.end() && body->first < key; ++body) {
      wb.Put(impl_->cf[kLog], body->first, *body->second);
    }
    wb.Put(impl_->cf[kLog], key, record);
  }
  for (; body != bodies.end(); ++body) wb.Put(impl_->cf[kLog], body->first, *body->second);
  std::string seq_value;
  PutBe64(&seq_value, batch.last_seq);
  wb.Put(impl_->cf[kMeta], kLastSeqKey, seq_value);
  if (batch.log_position != 0) {
    std::string position;
    PutBe64(&position, batch.log_position);
    wb.Put(impl_->cf[kMeta], kLogPositionKey, position);
  }
  for (const auto& [key, result] : batch.idempotency) {
    std::string v;
    PutBe64(&v, static_cast<uint64_t>(batch.idempotency_expires_millis));
    v.append(result);
    wb.Put(impl_->cf[kIdem], key, v);
  }
  std::vector<std::pair<std::string, int64_t>> new_counts;
  {
    std::lock_guard<std::mutex> lock(impl_->counts_mu);
    for (const auto& [topic, delta] : deltas) {
      if (delta == 0) continue;
      int64_t n = impl_->counts[topic] + delta;
      new_counts.emplace_back(topic, n);
      std::string v;
      PutBe64(&v, static_cast<uint64_t>(n));
      wb.Put(impl_->cf[kMeta], StrCat(kCountPrefix, topic), v);
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = impl_->options.durability == Durability::kSync;
  rocksdb::Status s = impl_->db->Write(wo, &wb);
  if (!s.ok()) {
    impl_->write_failed = true;
    absl::Status status = FromRocks(s, "commit");
    spdlog::error("{}", ToStd(status.message()));
    return status;
  }
  {
    std::lock_guard<std::mutex> lock(impl_->counts_mu);
    for (auto& [topic, n] : new_counts) impl_->counts[topic] = n;
  }
  impl_->last_seq.store(batch.last_seq, std::memory_order_release);
  if (batch.log_position != 0) {
    impl_->log_position.store(batch.log_position, std::memory_order_release);
  }
  return absl::OkStatus();
}

std::unique_ptr<Snapshot> Store::GetSnapshot() const {
  const rocksdb::Snapshot* snap = impl_->db->GetSnapshot();
  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  std::string v;
  uint64_t seq = 0;
  if (impl_->db->Get(ro, impl_->cf[kMeta], kLastSeqKey, &v).ok()) seq = GetBe64(v);
  return std::make_unique<RocksSnapshot>(impl_->db.get(), snap, seq);
}

absl::StatusOr<std::optional<StoredDoc>> Store::Get(std::string_view topic, std::string_view id,
                                                    const Snapshot* snapshot) const {
  rocksdb::PinnableSlice v;
  rocksdb::Status s =
      impl_->db->Get(impl_->Read(snapshot), impl_->cf[kDocs], DocKey(topic, id), &v);
  if (s.IsNotFound()) return std::optional<StoredDoc>();
  if (!s.ok()) return FromRocks(s, "get");
  absl::StatusOr<StoredDoc> d = DecodeDoc(V(v));
  if (!d.ok()) return d.status();
  return std::optional<StoredDoc>(std::move(*d));
}

std::vector<absl::StatusOr<std::optional<StoredDoc>>> Store::GetMany(
    std::span<const std::pair<std::string_view, std::string_view>> keys) const {
  std::vector<absl::StatusOr<std::optional<StoredDoc>>> out;
  out.reserve(keys.size());
  std::vector<std::string> key_bytes;
  key_bytes.reserve(keys.size());
  for (const auto& [topic, id] : keys) key_bytes.push_back(DocKey(topic, id));
  std::vector<rocksdb::Slice> slices(key_bytes.begin(), key_bytes.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  impl_->db->MultiGet(rocksdb::ReadOptions(), impl_->cf[kDocs], slices.size(), slices.data(),
                      values.data(), statuses.data());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) {
      out.emplace_back(std::optional<StoredDoc>());
    } else if (!statuses[i].ok()) {
      out.emplace_back(FromRocks(statuses[i], "get"));
    } else if (absl::StatusOr<StoredDoc> d = DecodeDoc(V(values[i])); d.ok()) {
      out.emplace_back(std::optional<StoredDoc>(std::move(*d)));
    } else {
      out.emplace_back(d.status());
    }
  }
  return out;
}

absl::Status Store::Scan(std::string_view topic,
                         const std::function<bool(std::string_view id, StoredDoc&& doc)>& fn,
                         const Snapshot* snapshot) const {
  std::string prefix = DocKey(topic, "");
  rocksdb::ReadOptions ro = impl_->Read(snapshot);
  std::string upper = prefix;
  upper.back() = '\x01';
  rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->cf[kDocs]));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    std::string_view key = V(it->key());
    absl::StatusOr<StoredDoc> d = DecodeDoc(V(it->value()));
    if (!d.ok()) return d.status();
    if (!fn(key.substr(prefix.size()), std::move(*d))) break;
  }
  return FromRocks(it->status(), "scan");
}

absl::Status Store::ScanOldest(
    std::string_view topic,
    const std::function<bool(std::string_view id, uint64_t version)>& fn) const {
  std::string prefix = DocKey(topic, "");
  rocksdb::ReadOptions ro;
  std::string upper = prefix;
  upper.back() = '\x01';
  rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->cf[kBySeq]));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    std::string_view key = V(it->key());
    if (key.size() < prefix.size() + 8) continue;
    uint64_t version = GetBe64(key.substr(prefix.size(), 8));
    if (!fn(key.substr(prefix.size() + 8), version)) break;
  }
  return FromRocks(it->status(), "scan oldest");
}

std::vector<std::pair<std::string, int64_t>> Store::Topics() const {
  std::lock_guard<std::mutex> lock(impl_->counts_mu);
  std::vector<std::pair<std::string, int64_t>> out(impl_->counts.begin(), impl_->counts.end());
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<uint64_t> Store::IntProperty(const std::string& name) const {
  uint64_t value = 0;
  if (!impl_->db->GetAggregatedIntProperty(name, &value)) return std::nullopt;
  return value;
}

int64_t Store::Count(std::string_view topic) const {
  std::lock_guard<std::mutex> lock(impl_->counts_mu);
  auto it = impl_->counts.find(topic);
  return it == impl_->counts.end() ? 0 : it->second;
}

absl::Status Store::ReadLog(
    uint64_t after_seq, const std::function<bool(uint64_t seq, std::string_view record)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf[kLog]));
  for (it->Seek(SeqKey(after_seq + 1)); it->Valid(); it->Next()) {
    if (!IsLogRecordKey(it->key())) continue;
    if (!fn(GetBe64(V(it->key())), V(it->value()))) break;
  }
  return FromRocks(it->status(), "read log");
}

absl::StatusOr<std::optional<std::string>> Store::GetLogBody(uint64_t seq, std::string_view topic,
                                                             std::string_view id) const {
  std::string v;
  rocksdb::Status s =
      impl_->db->Get(rocksdb::ReadOptions(), impl_->cf[kLog], LogBodyKey(seq, topic, id), &v);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "read log body");
  return std::optional<std::string>(std::move(v));
}

uint64_t Store::first_log_seq() const {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf[kLog]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (IsLogRecordKey(it->key())) return GetBe64(V(it->key()));
  }
  return 0;
}

absl::Status Store::TrimLog(uint64_t keep_from) {
  if (keep_from <= 1 || impl_->write_failed) return absl::OkStatus();
  rocksdb::WriteOptions wo;
  return FromRocks(
      impl_->db->DeleteRange(wo, impl_->cf[kLog], SeqKey(0), SeqKey(keep_from)), "trim log");
}

absl::StatusOr<std::optional<std::string>> Store::GetIdempotent(std::string_view key,
                                                                int64_t now_millis) const {
  std::string v;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->cf[kIdem], S(key), &v);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "read idempotency key");
  if (v.size() < 8 || static_cast<int64_t>(GetBe64(v)) < now_millis) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(v.substr(8));
}

absl::StatusOr<size_t> Store::PurgeIdempotent(int64_t now_millis) {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf[kIdem]));
  rocksdb::WriteBatch wb;
  size_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (static_cast<int64_t>(GetBe64(V(it->value()))) < now_millis) {
      wb.Delete(impl_->cf[kIdem], it->key());
      ++n;
    }
  }
  if (!it->status().ok()) return FromRocks(it->status(), "purge idempotency keys");
  if (n == 0 || impl_->write_failed) return n;
  rocksdb::Status s = impl_->db->Write(rocksdb::WriteOptions(), &wb);
  if (!s.ok()) return FromRocks(s, "purge idempotency keys");
  return n;
}

const StoreOptions& Store::options() const { return impl_->options; }

}  // namespace ddp::storage
