// The client's local copy of the documents its subscriptions publish, kept
// from DDP data messages, with observers.
//
// One Collection per DDP collection name: documents by id (fields without
// `_id`) and, for collections fed by ordered subscriptions, their order.
// Observers are told every change after it is applied.
//
// Not thread-safe by itself: the Client guards it (see client.h).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/ddp_message.h"
#include "protocol/value.h"

namespace ddp {

// One change, as an observer of many collections sees it.
struct CacheEvent {
  enum class Kind { kAdded, kChanged, kRemoved, kMoved };
  Kind kind;
  const std::string& collection;
  const std::string& id;
  const Object& fields;                      // added: all; changed: the new values
  const std::vector<std::string>& cleared;   // changed: removed fields
  const std::optional<std::string>& before;  // moved, ordered added: nullopt = at the end
  bool ordered = false;  // from addedBefore / movedBefore
};

struct ObserveCallbacks {
  std::function<void(const std::string& id, const Object& fields)> added;
  // `fields` holds the new values of changed fields; `cleared` the removed ones.
  std::function<void(const std::string& id, const Object& fields,
                     const std::vector<std::string>& cleared)>
      changed;
  std::function<void(const std::string& id)> removed;
  // Ordered collections: where the document now is (nullopt: at the end).
  // Also called right after `added` for documents of ordered collections.
  std::function<void(const std::string& id, const std::optional<std::string>& before)> moved;
  // Every change with its collection, after the callbacks above; an
  // ordered `added` is one event (with `before`), not added + moved.
  std::function<void(const CacheEvent&)> event;
};

class Collection {
 public:
  const std::map<std::string, Object>& documents() const { return docs_; }
  // Ids in order, for collections fed by ordered subscriptions.
  const std::vector<std::string>& order() const { return order_; }
  const Object* Find(const std::string& id) const;
  size_t size() const { return docs_.size(); }

 private:
  friend class Cache;
  std::map<std::string, Object> docs_;
  std::vector<std::string> order_;
};

class Cache {
 public:
  // store_documents=false keeps no documents: observers hear each data
  // message as it comes (for consumers of high-volume streams that do not
  // need the current state). Get() then finds nothing, and ReplaceWith()
  // has nothing to compare.
  explicit Cache(bool store_documents = true) : store_(store_documents) {}
  bool stores_documents() const { return store_; }

  // Applies a data message (added, changed, removed, addedBefore,
  // movedBefore); returns false for anything else. Malformed sequences
  // (changed for an unknown id...) are applied leniently, as Meteor does.
  // An `added` for a document already held replaces it, and observers hear
  // what changed (ddpd's resume sends that for a document that changed
  // while the client was away).
  bool Apply(const Message& m);

  const Collection* Get(const std::string& collection) const;
  std::vector<std::string> CollectionNames() const;

  // Observers of one collection ("" for every collection); returns a
  // handle for Unobserve.
  uint64_t Observe(const std::string& collection, ObserveCallbacks callbacks);
  void Unobserve(uint64_t handle);

  // What a reconnecting client tells ddpd it holds (server/ddp/resume.h):
  // {"docs": {collection: {id: digest}}, "subs": [...]}. nullopt when there
  // is nothing to claim or more than `max_docs` documents.
  // `subs`: the ids of the subscriptions the client sends again.
  std::optional<Value> ResumeClaims(size_t max_docs, const std::vector<std::string>& subs) const;
  // Replaces the whole content with `fresh` (after a reconnect), telling
  // observers only what differs.
  void ReplaceWith(Cache fresh);
  void Clear();

 private:
  void NotifyAdded(const std::string& c, const std::string& id, const Object& fields,
                   const std::optional<std::string>* before = nullptr);
  void NotifyChanged(const std::string& c, const std::string& id, const Object& fields,
                     const std::vector<std::string>& cleared);
  void NotifyRemoved(const std::string& c, const std::string& id);
  void NotifyMoved(const std::string& c, const std::string& id,
                   const std::optional<std::string>& before);

  void Notify(const CacheEvent& e);

  bool store_ = true;
  std::map<std::string, Collection> collections_;
  uint64_t next_observer_ = 1;
  std::map<uint64_t, std::pair<std::string, ObserveCallbacks>> observers_;
};

}  // namespace ddp
