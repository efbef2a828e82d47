// File systems for fault tests, used by Store when StoreOptions asks for
// them (never in a normal run). Internal to storage/: only RocksDB's
// FileSystem interface and std types appear here.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "rocksdb/file_system.h"
#include "storage/store.h"

namespace ddp::storage {

// Writes, syncs and file creations fail with "no space" while
// faults->fail_writes is set, as on a full disk.
std::shared_ptr<rocksdb::FileSystem> NewFullDiskFileSystem(
    std::shared_ptr<rocksdb::FileSystem> base, std::shared_ptr<FaultInjection> faults);

// Power loss across a SIGKILL. A SIGKILL keeps everything the process
// wrote (the page cache survives it); a power cut keeps only what was
// fsynced. This file system journals, for every file it writes, the length
// that a completed Sync/Fsync made durable (one line per sync, appended with
// write(2), which itself survives SIGKILL); ApplyPowerLoss, run before the
// next open, cuts every journaled file back to that length, dropping exactly
// what a power cut at the kill would have dropped from file contents.
// (Directory entries are not modelled: RocksDB fsyncs its directory after
// creating and renaming files, so the file contents are the part that
// --durability decides.)
std::shared_ptr<rocksdb::FileSystem> NewSyncJournalFileSystem(
    std::shared_ptr<rocksdb::FileSystem> base, const std::string& journal_path);

struct PowerLossReport {
  size_t files_cut = 0;
  uint64_t bytes_dropped = 0;
};
// Replays the journal, truncates the files, and empties the journal (what
// is on disk now is the durable starting point of the next run). A journal
// that does not exist yet is an empty one.
absl::StatusOr<PowerLossReport> ApplyPowerLoss(const std::string& journal_path);

}  // namespace ddp::storage
