// Applying one transaction during a group commit (internal to the engine).
//
// Reads go through three layers: what this transaction wrote so far, what
// earlier transactions of the same group wrote (not yet on disk), then the
// store. A failed transaction leaves no trace: its layer is dropped.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/string_map.h"
#include "server/engine/engine.h"
#include "server/engine/live.h"
#include "storage/store.h"

namespace ddp::engine {

struct DocState {
  std::shared_ptr<const Object> doc;  // nullptr: absent
  uint64_t version = 0;               // 0 when absent (or written in this tx)
  // `doc` as JSON when it is at hand (written earlier in the group).
  std::shared_ptr<const std::string> json;
};

// `topic \0 id` in a buffer of the caller's, reused so that lookups do
// not allocate.
std::string_view DocKeyIn(std::string& buf, std::string_view topic, std::string_view id);

// Writes of a group (or of one transaction) not yet in the store: one hash
// table by topic \0 id (a lookup or insert per document written; the
// per-topic view that a scan needs is rare and filters it).
class Overlay {
 public:
  const DocState* Find(std::string_view topic, std::string_view id) const;
  void Put(std::string_view topic, std::string_view id, DocState state);
  // Calls fn(id, state) for each document of `topic` here, in no order.
  void ForEachOfTopic(std::string_view topic,
                      const std::function<void(std::string_view id, const DocState&)>& fn) const;
  void Clear() { docs_.clear(); }

 private:
  StringMap<DocState> docs_;  // key: topic \0 id
  mutable std::string key_;
};

// The stored state of the documents a group's transactions name by _id
// (inserts and publishes with an _id, updates and removes by _id,
// preconditions), read in one batch before the group is applied: the store
// does not change until the group commits. A batched read costs a fraction
// of one read per document (7-9% of the server's CPU publishing 10
// documents per call). Anything else is read on demand.
class StoreReads {
 public:
  void Add(const TxRequest& tx);
  // Reads every added key; a key whose read fails is left out (the on-demand
  // read reports the error to its transaction).
  void Read(const storage::Store& store);
  const DocState* Find(std::string_view topic, std::string_view id) const;

 private:
  std::vector<std::pair<std::string_view, std::string_view>> keys_;
  StringMap<DocState> states_;  // key: topic \0 id
  mutable std::string key_;
};

class TxApplier {
 public:
  // `reads` may be null.
  TxApplier(const storage::Store& store, const Overlay& group, const StoreReads* reads,
            const EngineOptions& options, int64_t now_millis);

  // Applies the ops in order. On error nothing of this transaction counts.
  // The documents of inserts and publishes are moved out of `tx` (a group
  // applies each transaction once; copying them was 1.5% of the server's
  // CPU publishing 10 documents per call).
  absl::Status Apply(TxRequest& tx, std::vector<Value>* results);

  // The net effect per document (first-touch order), with the versions the
  // documents had before.
  struct Written {
    Change change;
    uint64_t prev_version = 0;
    std::shared_ptr<const std::string> before_json;  // change.before as JSON, when at hand
  };
  std::vector<Written> TakeWrites();

 private:
  absl::StatusOr<DocState> Get(const std::string& topic, const std::string& id);
  // `prior`, when the caller already knows the document's state before this
  // transaction (it just read it, or the id was generated here and cannot
  // exist), saves reading it again.
  void Put(const std::string& topic, const std::string& id, std::shared_ptr<const Object> doc,
           const DocState* prior = nullptr);
  // Matching documents in id order (one when the selector names an _id).
  // `guard` (may be null): documents it does not let the caller see are
  // not candidates.
  absl::Status Candidates(const std::string& topic, const query::Selector& selector, bool multi,
                          const WriteGuard* guard,
                          std::vector<std::pair<std::string, DocState>>* out);
  absl::Status CheckTopic(const std::string& topic) const;

  absl::StatusOr<Value> Insert(WriteOp& op);
  absl::StatusOr<Value> Publish(WriteOp& op);
  absl::StatusOr<Value> Update(const WriteOp& op);
  absl::StatusOr<Value> Remove(const WriteOp& op);
  absl::Status Expect(const WriteOp& op);

  const storage::Store& store_;
  const Overlay& group_;
  const StoreReads* reads_;
  const EngineOptions& options_;
  const int64_t now_millis_;
  Overlay mine_;
  // First-touch order and the state before this transaction.
  std::vector<std::pair<std::string, std::string>> order_;
  StringMap<DocState> before_;  // key: topic \0 id
  std::string key_;
};

std::string OverlayKey(std::string_view topic, std::string_view id);

}  // namespace ddp::engine
