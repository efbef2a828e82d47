#include "storage/fault_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"

namespace ddp::storage {
namespace {

// ---- full disk -------------------------------------------------------------

rocksdb::IOStatus NoSpace() { return rocksdb::IOStatus::NoSpace("injected: no space left"); }

class FullDiskFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FullDiskFile(std::unique_ptr<rocksdb::FSWritableFile> file, std::shared_ptr<FaultInjection> faults)
      : FSWritableFileOwnerWrapper(std::move(file)), faults_(std::move(faults)) {}
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (faults_->fail_writes.load()) return NoSpace();
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (faults_->fail_writes.load()) return NoSpace();
    return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (faults_->fail_writes.load()) return NoSpace();
    return FSWritableFileOwnerWrapper::Sync(options, dbg);
  }

 private:
  std::shared_ptr<FaultInjection> faults_;
};

class FullDiskFileSystem : public rocksdb::FileSystemWrapper {
 public:
  FullDiskFileSystem(std::shared_ptr<rocksdb::FileSystem> base, std::shared_ptr<FaultInjection> faults)
      : FileSystemWrapper(std::move(base)), faults_(std::move(faults)) {}
  const char* Name() const override { return "DdpdFullDiskFileSystem"; }
  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    if (faults_->fail_writes.load()) return NoSpace();
    rocksdb::IOStatus s = FileSystemWrapper::NewWritableFile(fname, opts, result, dbg);
    if (s.ok()) *result = std::make_unique<FullDiskFile>(std::move(*result), faults_);
    return s;
  }

 private:
  std::shared_ptr<FaultInjection> faults_;
};

// ---- power loss ------------------------------------------------------------

// Journal lines: "S\t<durable length>\t<path>", "R\t<from>\t<to>", "D\t<path>".
class SyncJournal {
 public:
  explicit SyncJournal(int fd) : fd_(fd) {}
  ~SyncJournal() { ::close(fd_); }
  void Synced(const std::string& path, uint64_t length) {
    Write(StrCat("S\t", length, "\t", path, "\n"));
  }
  void Renamed(const std::string& from, const std::string& to) {
    Write(StrCat("R\t", from, "\t", to, "\n"));
  }
  void Deleted(const std::string& path) { Write(StrCat("D\t", path, "\n")); }

 private:
  void Write(const std::string& line) {
    // One write(2) per line under the lock: lines never interleave, and a
    // SIGKILL leaves whole lines (a torn last one is ignored on replay).
    std::lock_guard<std::mutex> lock(mu_);
    size_t done = 0;
    while (done < line.size()) {
      ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // the test's journal disk failed: nothing to do
      done += static_cast<size_t>(n);
    }
  }
  int fd_;
  std::mutex mu_;
};

class SyncTrackingFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  SyncTrackingFile(std::unique_ptr<rocksdb::FSWritableFile> file, std::string path,
                   uint64_t length, std::shared_ptr<SyncJournal> journal)
      : FSWritableFileOwnerWrapper(std::move(file)),
        path_(std::move(path)),
        length_(length),
        journal_(std::move(journal)) {}
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = FSWritableFileOwnerWrapper::Append(data, options, dbg);
    if (s.ok()) length_ += data.size();
    return s;
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
    if (s.ok()) length_ += data.size();
    return s;
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options, dbg);
    if (s.ok()) Grow(offset + data.size());
    return s;
  }
  rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = FSWritableFileOwnerWrapper::Truncate(size, options, dbg);
    if (s.ok()) length_ = size;
    return s;
  }
  // RocksDB may sync a log from another thread while appending to it
  // (IsSyncThreadSafe): what is durable is what was appended before the
  // sync started, so the length is read first.
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    uint64_t length = length_.load();
    rocksdb::IOStatus s = FSWritableFileOwnerWrapper::Sync(options, dbg);
    if (s.ok()) journal_->Synced(path_, length);
    return s;
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    uint64_t length = length_.load();
    rocksdb::IOStatus s = FSWritableFileOwnerWrapper::Fsync(options, dbg);
    if (s.ok()) journal_->Synced(path_, length);
    return s;
  }

 private:
  void Grow(uint64_t end) {
    uint64_t cur = length_.load();
    while (end > cur && !length_.compare_exchange_weak(cur, end)) {
    }
  }

  std::string path_;
  std::atomic<uint64_t> length_;
  std::shared_ptr<SyncJournal> journal_;
};

uint64_t FileLength(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

class SyncJournalFileSystem : public rocksdb::FileSystemWrapper {
 public:
  SyncJournalFileSystem(std::shared_ptr<rocksdb::FileSystem> base, std::shared_ptr<SyncJournal> j)
      : FileSystemWrapper(std::move(base)), journal_(std::move(j)) {}
  const char* Name() const override { return "DdpdSyncJournalFileSystem"; }
  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = FileSystemWrapper::NewWritableFile(fname, opts, result, dbg);
    if (!s.ok()) return s;
    // A new (or truncated) file: nothing of it is durable yet.
    journal_->Synced(fname, 0);
    *result = std::make_unique<SyncTrackingFile>(std::move(*result), fname, 0, journal_);
    return s;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override {
    // What is there was durable when this run began or was synced since;
    // the journal already says which.
    uint64_t length = FileLength(fname);
    rocksdb::IOStatus s = FileSystemWrapper::ReopenWritableFile(fname, opts, result, dbg);
    if (!s.ok()) return s;
    *result = std::make_unique<SyncTrackingFile>(std::move(*result), fname, length, journal_);
    return s;
  }
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& target,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = FileSystemWrapper::RenameFile(src, target, options, dbg);
    if (s.ok()) journal_->Renamed(src, target);
    return s;
  }
  rocksdb::IOStatus DeleteFile(const std::string& fname, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = FileSystemWrapper::DeleteFile(fname, options, dbg);
    if (s.ok()) journal_->Deleted(fname);
    return s;
  }

 private:
  std::shared_ptr<SyncJournal> journal_;
};

}  // namespace

std::shared_ptr<rocksdb::FileSystem> NewFullDiskFileSystem(std::shared_ptr<rocksdb::FileSystem> base,
                                                           std::shared_ptr<FaultInjection> faults) {
  return std::make_shared<FullDiskFileSystem>(std::move(base), std::move(faults));
}

std::shared_ptr<rocksdb::FileSystem> NewSyncJournalFileSystem(
    std::shared_ptr<rocksdb::FileSystem> base, const std::string& journal_path) {
  int fd = ::open(journal_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return nullptr;
  return std::make_shared<SyncJournalFileSystem>(std::move(base), std::make_shared<SyncJournal>(fd));
}

absl::StatusOr<PowerLossReport> ApplyPowerLoss(const std::string& journal_path) {
  absl::flat_hash_map<std::string, uint64_t> durable;
  {
    std::ifstream in(journal_path);
    std::string line;
    // A line without its newline is the one a kill cut: ignored (the sync
    // it records may not have completed either).
    while (std::getline(in, line)) {
      if (in.eof()) break;
      std::vector<std::string> f = absl::StrSplit(line, '\t');
      if (f.size() == 3 && f[0] == "S") {
        uint64_t n = 0;
        if (!absl::SimpleAtoi(f[1], &n)) continue;
        durable[f[2]] = n;
      } else if (f.size() == 3 && f[0] == "R") {
        auto it = durable.find(f[1]);
        if (it == durable.end()) continue;
        uint64_t n = it->second;
        durable.erase(it);
        durable[f[2]] = n;
      } else if (f.size() == 2 && f[0] == "D") {
        durable.erase(f[1]);
      }
    }
  }
  PowerLossReport report;
  for (const auto& [path, length] : durable) {
    uint64_t now = FileLength(path);
    if (now <= length) continue;
    if (::truncate(path.c_str(), static_cast<off_t>(length)) != 0) {
      return absl::InternalError(
          StrCat("power-loss test: cannot truncate ", path, ": ", std::strerror(errno)));
    }
    report.files_cut++;
    report.bytes_dropped += now - length;
  }
  int fd = ::open(journal_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InternalError(
        StrCat("power-loss test: cannot reset ", journal_path, ": ", std::strerror(errno)));
  }
  ::close(fd);
  return report;
}

}  // namespace ddp::storage
