// CommitLog: where the engine's committer makes a commit group durable, and
// where it learns of groups that other nodes committed.
//
// Two implementations:
//   - EmbeddedLog (the default, one node): the RocksDB store is the log;
//     Commit is Store::Commit and nobody else ever appends.
//   - JetStreamLog (jetstream/, cluster mode): a group is one record in a
//     replicated NATS JetStream stream, appended with optimistic
//     concurrency (the stream must still end where this node's state ends),
//     then written to the local store, which is a cache of the stream.
//
// The engine does not know which one runs: it prepares a group against its
// state, calls Commit, and before every group (and after a conflict) calls
// Poll and applies what other writers appended.
//
// Threading: Commit and Poll are called by the engine's committer only.
// The wake callback may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/store.h"

namespace ddp::commitlog {

// What a log knows about its own progress, for status pages and readiness.
struct LogStatus {
  std::string kind;       // "embedded" or "jetstream"
  bool connected = true;  // the log's service is reachable
  uint64_t end = 0;       // newest position known to exist in the log
  std::string detail;     // e.g. the server a node is connected to
};

// One node following a shared log, as it last announced itself.
struct NodeStatus {
  std::string node;
  uint64_t position = 0;   // the last record it applied
  uint64_t seq = 0;        // its last transaction seq
  int64_t age_millis = 0;  // since its announcement (0 for this node)
  bool self = false;
};

class CommitLog {
 public:
  virtual ~CommitLog() = default;

  // Starts following the log after `position` (the store's log_position()):
  // `wake` is called whenever Poll may have something new. Called once,
  // before any Commit or Poll.
  virtual absl::Status Start(uint64_t position, std::function<void()> wake) = 0;
  // Stops following; later calls fail with Unavailable. Idempotent.
  virtual void Stop() = 0;

  // Makes `batch` durable: in the log, then in `store` (setting
  // batch.log_position when the log has positions). The batch was prepared
  // against the state at store.log_position().
  //   Aborted            another writer appended first: nothing was
  //                      written; Poll, apply, prepare the group again.
  //   ResourceExhausted  the group is too large for one record: split it.
  //   Unavailable        the log could not be reached; for the JetStream
  //                      log the outcome may be unknown (see its header).
  //   else               the store's error (Store::Commit).
  virtual absl::Status Commit(storage::Store& store, storage::CommitBatch& batch) = 0;

  // Groups that other writers appended after `position`, in log order, at
  // most `max`, each with its log_position set. Empty when there is
  // nothing new (always, for the embedded log).
  virtual absl::StatusOr<std::vector<storage::CommitBatch>> Poll(uint64_t position, size_t max) = 0;

  // Whether other nodes append too. Then Commit can return Aborted (the
  // engine keeps a copy of a group's requests to prepare them again), and
  // the log, not the local store, is the durable copy of the data.
  virtual bool shared() const = 0;

  virtual LogStatus status() const = 0;

  // Snapshots, so that a new node does not replay the log from its start.
  // Bootstrap: before the store is opened, when its directory `dir` is
  // empty, fill it with a consistent copy of another node's store (whose
  // log_position says where to continue). NotFound when no node offers one
  // (the node then replays the whole log).
  virtual absl::Status Bootstrap(const std::string& dir) {
    return absl::NotFoundError("this log has no snapshots");
  }
  // Serve snapshots to joining nodes: `checkpoint(dir)` writes a copy of
  // this node's store into `dir`; copies are made under `scratch`.
  using CheckpointFn = std::function<absl::Status(const std::string& dir)>;
  virtual void ServeSnapshots(CheckpointFn checkpoint, std::string scratch) {}

  // Tells the other nodes where this one stands (called about once a
  // second by the engine); a no-op for the embedded log.
  virtual void Announce(uint64_t position, uint64_t seq) {}
  // The nodes heard from recently, this one included; empty for the
  // embedded log.
  virtual std::vector<NodeStatus> Nodes() const { return {}; }
};

}  // namespace ddp::commitlog
