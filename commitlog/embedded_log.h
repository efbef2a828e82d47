// EmbeddedLog: the single-node commit log, which is the RocksDB store
// itself (its change-log column family). Nobody else appends, so Commit
// never conflicts and Poll never finds anything.
#pragma once

#include "commitlog/commit_log.h"

namespace ddp::commitlog {

class EmbeddedLog final : public CommitLog {
 public:
  absl::Status Start(uint64_t, std::function<void()>) override { return absl::OkStatus(); }
  void Stop() override {}
  absl::Status Commit(storage::Store& store, storage::CommitBatch& batch) override {
    return store.Commit(batch);
  }
  absl::StatusOr<std::vector<storage::CommitBatch>> Poll(uint64_t, size_t) override {
    return std::vector<storage::CommitBatch>{};
  }
  bool shared() const override { return false; }
  LogStatus status() const override { return LogStatus{"embedded", true, 0, ""}; }
};

}  // namespace ddp::commitlog
