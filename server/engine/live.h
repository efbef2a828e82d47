// Live topic subscriptions: the queries clients keep open, and the fan-out
// of committed transactions into `added` / `changed` / `removed` deltas.
//
// Owned by the Engine and used only on its committer thread, between
// commits, so that a subscription's initial snapshot and the stream after
// it meet exactly (nothing lost, nothing doubled).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "common/string_map.h"
#include "protocol/value.h"
#include "query/projection.h"
#include "query/selector.h"

namespace ddp::engine {

// One document's change within a transaction.
struct Change {
  std::string topic;
  std::string id;
  std::shared_ptr<const Object> before;  // nullptr: it did not exist
  std::shared_ptr<const Object> after;   // nullptr: it was removed
};

struct CommittedTx {
  uint64_t seq = 0;
  int64_t time_millis = 0;
  std::vector<Change> changes;
};

// What a subscriber receives.
struct Delta {
  enum class Kind { kAdded, kChanged, kRemoved };
  Kind kind = Kind::kAdded;
  std::string collection;
  std::string id;
  Object fields;                     // added: all fields; changed: the changed ones
  std::vector<std::string> cleared;  // changed: fields that disappeared
};

// Where a subscription's deltas go. Called on the committer thread; must
// not block (implementations post to the session's strand).
class LiveSink {
 public:
  virtual ~LiveSink() = default;
  // The deltas one transaction caused for this subscription, all at once,
  // so that no subscriber ever sees part of a transaction.
  virtual void Send(std::vector<Delta> deltas) = 0;
  // The initial result is complete.
  virtual void Ready() = 0;
};

struct LiveQuery {
  std::string target;  // a topic name or pattern
  bool is_pattern = false;
  query::Selector filter;
  query::Projection fields;
  std::string as;  // collection name override; empty: each document's topic
};

class LiveRegistry {
 public:
  using Id = uint64_t;

  Id Add(LiveQuery query, std::shared_ptr<LiveSink> sink);
  void Remove(Id id);
  // The delta for one document entering the result (initial snapshot), or
  // nullopt when the filter rejects it.
  std::optional<Delta> InitialDelta(Id id, const std::string& topic, const std::string& doc_id,
                                    const Object& doc) const;
  const LiveQuery* Find(Id id) const;
  std::shared_ptr<LiveSink> SinkOf(Id id) const;

  // Fans one committed transaction out to every subscription it affects.
  void OnCommit(const CommittedTx& tx);

  size_t size() const { return subs_.size(); }

 private:
  struct Sub {
    LiveQuery query;
    std::shared_ptr<LiveSink> sink;
  };
  std::optional<Delta> DeltaFor(const Sub& sub, const Change& c) const;

  Id next_id_ = 1;
  absl::flat_hash_map<Id, Sub> subs_;
  StringMap<std::vector<Id>> by_topic_;
  std::vector<Id> patterns_;
};

// The collection a document of `topic` appears in for `query`.
const std::string& CollectionFor(const LiveQuery& query, const std::string& topic);

// Top-level difference between two versions of a document, as a DDP
// `changed`: fields whose value differs, and fields that disappeared.
void DiffFields(const Object& before, const Object& after, Object* fields,
                std::vector<std::string>* cleared);

}  // namespace ddp::engine
