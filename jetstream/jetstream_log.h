// JetStreamLog: the cluster's commit log, one NATS JetStream stream.
//
// Each commit group is one record (commitlog/record.h) published to the
// stream's subject with the header Nats-Expected-Last-Sequence set to the
// stream position this node's state reflects. JetStream stores it only if
// no other record came in between (optimistic concurrency over the whole
// stream: transactions on different nodes are serializable, a
// precondition checked on a node's state holds when the record lands). It
// acknowledges once the record is on a majority of the stream's replicas;
// only then does the node write it to its local store and answer clients.
// Every node follows the stream with an ordered push consumer and applies
// the records it did not write itself, in stream order.
//
// Retries: a publish that times out or finds no leader (an election after
// a server died) is sent again with the same Nats-Msg-Id, so that a record
// that did land is acknowledged as a duplicate instead of stored twice
// (the dedupe check comes before the expected-sequence check in the
// server). If no acknowledgement arrives within publish_timeout, Commit
// reports Unavailable and the outcome is unknown: the record may still be
// stored, and then every node (this one included) applies it from the
// stream like any other. Clients that must know retry with an idempotency
// key (API.md §5).
//
// Threading: Commit and Poll on the engine's committer; the subscription's
// callback runs on a nats.c thread and hands records over through a
// bounded inbox (it waits while the inbox is full, and JetStream's flow
// control then holds the stream back).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "commitlog/commit_log.h"
#include "common/clock.h"

namespace ddp::jetstream {

struct JetStreamOptions {
  // NATS server URLs (nats://host:port); at least one. No default.
  std::vector<std::string> servers;
  // The stream's name; its subject is "ddpd.<stream>.log". Default: "ddpd".
  std::string stream = "ddpd";
  // Replicas of the stream when this node creates it (an existing stream
  // keeps its own). Default: 3.
  int replicas = 3;
  // Names this node in message ids and in the NATS connection. Default:
  // empty, a random one.
  std::string node_id;
  // How long Commit keeps retrying a publish without an acknowledgement
  // (leader elections take a few seconds). Default: 10 s.
  Duration publish_timeout = std::chrono::seconds(10);
  // One request to JetStream (a publish, a read). Default: 2 s.
  Duration request_timeout = std::chrono::seconds(2);
  // Records received and not yet applied, in bytes, before the consumer
  // waits. Default: 64 MiB.
  size_t inbox_bytes = size_t{64} << 20;
  // Retention of the stream: records older than max_age, or beyond
  // max_bytes in all, are removed by JetStream (oldest first). Applied when
  // this node creates the stream, and to an existing stream when set. A
  // node that falls further behind than the stream reaches back stops with
  // an error and must start again from a snapshot (an empty data
  // directory). Default: zero, meaning keep everything.
  Duration max_age{};
  int64_t max_bytes = 0;
};

class JetStreamLog final : public commitlog::CommitLog {
 public:
  explicit JetStreamLog(JetStreamOptions options);
  ~JetStreamLog() override;

  // Connects (Unavailable when no server answers), creates the stream if
  // it does not exist, and subscribes after `position`.
  absl::Status Start(uint64_t position, std::function<void()> wake) override;
  void Stop() override;
  absl::Status Commit(storage::Store& store, storage::CommitBatch& batch) override;
  absl::StatusOr<std::vector<storage::CommitBatch>> Poll(uint64_t position, size_t max) override;
  bool shared() const override { return true; }
  commitlog::LogStatus status() const override;
  // Snapshots over core NATS request/reply (snapshot.cc):
  //   ddpd.<stream>.snapshot.open           (queue group: one node answers)
  //     -> {"id","node","files":[{"name","size"}]}: a RocksDB checkpoint
  //   ddpd.<stream>.snapshot.<node>.read    {"id","file","offset"} -> bytes
  //   ddpd.<stream>.snapshot.<node>.close   {"id"}
  // A snapshot is deleted on close, or 10 minutes after its last read.
  absl::Status Bootstrap(const std::string& dir) override;
  void ServeSnapshots(CheckpointFn checkpoint, std::string scratch) override;
  // Core NATS (not the stream): ddpd.<stream>.nodes.<node id>, JSON
  // {"node","position","seq"}; nodes unheard of for 10 s are forgotten.
  void Announce(uint64_t position, uint64_t seq) override;
  std::vector<commitlog::NodeStatus> Nodes() const override;

  const JetStreamOptions& options() const { return options_; }

 private:
  struct Nats;  // nats.c handles, kept out of this header
  absl::Status Connect();  // idempotent
  void OnSnapshotRequest(std::string_view subject, std::string_view data, std::string reply);
  struct Received {
    uint64_t seq;
    std::string data;
  };
  static void OnMessage(void* self, uint64_t seq, uint64_t pending, std::string data);
  void NoteEnd(uint64_t end);
  // After JetStream stored our record at `seq`: into the local store.
  absl::Status Applied(storage::Store& store, storage::CommitBatch& batch, uint64_t seq);
  // Whether the record at `seq` carries our message id.
  absl::StatusOr<bool> IsOurs(uint64_t seq, const std::string& msg_id);
  // Reads the record at `seq` from the stream; nullopt when there is none.
  absl::StatusOr<std::optional<std::string>> Fetch(uint64_t seq);

  JetStreamOptions options_;
  std::string subject_;
  std::unique_ptr<Nats> nats_;
  std::function<void()> wake_;
  int64_t max_payload_ = 0;
  std::string msg_id_prefix_;  // node id + a random part, per process
  uint64_t next_msg_id_ = 0;
  std::atomic<uint64_t> end_{0};
  std::atomic<bool> connected_{false};

  struct Heard {
    commitlog::NodeStatus status;
    SteadyTime at;
  };
  // Snapshots this node serves (snapshot.cc).
  struct Served {
    std::string dir;
    SteadyTime last_used;
  };
  std::mutex snapshots_mu_;
  CheckpointFn checkpoint_;                 // guarded by snapshots_mu_
  std::string scratch_;                     // guarded by snapshots_mu_
  std::map<std::string, Served> served_;    // guarded by snapshots_mu_, by id
  uint64_t next_snapshot_ = 0;              // guarded by snapshots_mu_

  mutable std::mutex nodes_mu_;
  std::map<std::string, Heard> nodes_;  // guarded by nodes_mu_
  void OnAnnouncement(std::string_view data);

  std::mutex mu_;
  std::condition_variable room_;
  std::deque<Received> inbox_;  // guarded by mu_, increasing seq
  size_t inbox_size_ = 0;       // guarded by mu_
  bool stopping_ = false;       // guarded by mu_
  int in_callback_ = 0;         // guarded by mu_
  bool closed_ = false;         // guarded by mu_: the connection's closed callback ran
  // Async subscriptions whose handler may still run (see Track).
  int open_subs_ = 0;           // guarded by mu_
  void Track(void* sub);        // a natsSubscription*
  // Sets the retention options on the stream (a jsStreamInfo*) when they
  // differ from its own.
  absl::Status ApplyRetention(void* stream_info);
  // A conflict proved the stream is ahead of this node: Poll reads from
  // the stream until it finds the end, whatever the inbox holds.
  bool behind_ = false;  // committer only (Poll, Commit, Announce)
};

}  // namespace ddp::jetstream
