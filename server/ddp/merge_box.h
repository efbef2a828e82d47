// MergeBox: what one DDP client currently sees, and which subscriptions put
// it there.
//
// DDP gives a client one view per collection. Several subscriptions may
// publish the same document, each with its own fields; the client must see
// the union, a field must keep the value of the subscription that published
// it first while that subscription holds it (Meteor's precedence rule), and a
// document disappears only when the last subscription holding it lets go.
// The merge box turns each subscription's added/changed/removed into the
// minimal messages for the client: never an empty `changed`, `cleared` for
// fields that vanish, nothing at all when the visible value did not change.
//
// Memory: a document one subscription published and has not changed since
// costs no copy of its fields when the caller hands them over shared (live
// queries do: one ChangeBatch for every subscriber of an evaluation), so N
// clients holding the same event cost one copy of it, not N. Otherwise a
// field held by one subscription costs its key and value only; other
// subscriptions' values for the same field are kept in a side list that is
// empty in the common case.
//
// Owned by one Session; not thread-safe (used on the session's strand).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "common/string_map.h"
#include "absl/status/status.h"
#include "protocol/value.h"

namespace ddp {

// A small integer naming one subscription within a session.
using SubHandle = uint32_t;

// Receives the messages the client must get. Implemented by the session
// (which encodes and queues them) and by tests.
class MergeSink {
 public:
  virtual ~MergeSink() = default;
  virtual void SendAdded(std::string_view collection, std::string_view id,
                         const Object& fields) = 0;
  virtual void SendChanged(std::string_view collection, std::string_view id,
                           const Object& fields, const std::vector<std::string>& cleared) = 0;
  virtual void SendRemoved(std::string_view collection, std::string_view id) = 0;
  // Ordered collections (DDP's addedBefore / movedBefore); `before` is the
  // id of the next document, nullopt for the end.
  virtual void SendAddedBefore(std::string_view collection, std::string_view id,
                               const Object& fields, const std::optional<std::string>& before) = 0;
  virtual void SendMovedBefore(std::string_view collection, std::string_view id,
                               const std::optional<std::string>& before) = 0;
  // The change exactly as the caller encoded it (the merge box forwards it
  // unchanged), so the sink can send these bytes as they are. The default
  // decodes the message and calls the method above that matches.
  virtual void SendEncoded(const std::shared_ptr<const std::string>& message);
};

// A change's message encoded in advance (see ChangeBatch), or null.
using EncodedChange = std::shared_ptr<const std::string>;

class MergeBox {
 public:
  // `sub` publishes document `id` with `fields`. The client gets `added` when
  // nobody held the document, else a `changed` with the fields that became
  // visible. FailedPrecondition when `sub` already holds the document.
  //
  // `encoded`, when given, is this change's message already encoded: the
  // sink gets it (SendEncoded) whenever the client's message would be
  // exactly that, as in the common case of a document held by one
  // subscription. Same for the methods below.
  //
  // `shared`, when given, points to `fields` (the same object) and stays
  // immutable: while `sub` is the document's only holder and has not
  // changed it, the box keeps this reference instead of a copy (it copies on
  // the first change or second holder). Same for AddedBefore.
  absl::Status Added(SubHandle sub, std::string_view collection, std::string_view id,
                     const Object& fields, MergeSink& sink, const EncodedChange& encoded = nullptr,
                     const std::shared_ptr<const Object>& shared = nullptr);

  // `sub` sets `fields` and clears `cleared` on a document it holds.
  // FailedPrecondition when it does not hold it.
  absl::Status Changed(SubHandle sub, std::string_view collection, std::string_view id,
                       const Object& fields, const std::vector<std::string>& cleared,
                       MergeSink& sink, const EncodedChange& encoded = nullptr);

  // `sub` stops holding the document. FailedPrecondition when it did not.
  absl::Status Removed(SubHandle sub, std::string_view collection, std::string_view id,
                       MergeSink& sink, const EncodedChange& encoded = nullptr);

  // An ordered subscription (DDP's addedBefore/movedBefore) owns its
  // collection's order: no other subscription of the session may publish to
  // that collection while it does (two orders cannot be merged), and it
  // cannot be mixed with plain `added`. Both are InvalidArgument.
  absl::Status AddedBefore(SubHandle sub, std::string_view collection, std::string_view id,
                           const Object& fields, const std::optional<std::string>& before,
                           MergeSink& sink, const EncodedChange& encoded = nullptr,
                           const std::shared_ptr<const Object>& shared = nullptr);
  absl::Status MovedBefore(SubHandle sub, std::string_view collection, std::string_view id,
                           const std::optional<std::string>& before, MergeSink& sink,
                           const EncodedChange& encoded = nullptr);

  // Retracts everything `sub` holds (unsub, subscription error or stop).
  void RemoveSubscription(SubHandle sub, MergeSink& sink);

  // Whether `sub` holds the document (for publications that need to know).
  bool Holds(SubHandle sub, std::string_view collection, std::string_view id) const;

  size_t document_count() const;
  // The fields the client currently sees for a document (tests, debugging);
  // nullopt when the client does not have it.
  std::optional<Object> ClientView(std::string_view collection, std::string_view id) const;

 private:
  struct Field {
    std::string key;
    SubHandle owner;  // whose value the client sees
    Value value;
    // Values of the same field from other subscriptions, in the order they
    // arrived; the first takes over when the owner lets go.
    std::vector<std::pair<SubHandle, Value>> others;
  };
  struct Document {
    absl::InlinedVector<SubHandle, 2> holders;  // in arrival order
    // The only holder's fields as it published them, shared with the
    // caller (see Added); `fields` is empty while this is set.
    std::shared_ptr<const Object> shared;
    std::vector<Field> fields;
    Field* FindField(std::string_view key);
  };
  using Collection = StringMap<Document>;

  // Records that `sub` published to `collection` (for RemoveSubscription).
  void Touch(SubHandle sub, std::string_view collection);
  // Makes `sub` the first holder of a new document with `fields` (shared
  // when `shared` is given).
  void Hold(Document& doc, SubHandle sub, std::string_view collection, const Object& fields,
            const std::shared_ptr<const Object>& shared);
  // Turns a shared document into per-field entries (owned by its only
  // holder) before anything edits it.
  static void Materialize(Document& doc);
  // Sets `key` to `value` from `sub`; returns true when the visible value changed.
  static bool SetField(Document& doc, SubHandle sub, std::string key, Value value);
  // Drops `sub`'s value of `key`; returns true when the visible value changed.
  // When the field vanishes entirely, `*vanished` is set.
  static bool ClearField(Document& doc, SubHandle sub, std::string_view key, bool* vanished);

  StringMap<Collection> collections_;
  StringMap<SubHandle> ordered_owner_;  // collection -> the ordered subscription
  // Per subscription, the collections it has published to. Retraction
  // scans those collections for the documents it holds: an unsub costs a
  // pass over the collections it touched, and every `added` saves a second
  // index entry (and a copy of the id) per client.
  absl::flat_hash_map<SubHandle, StringSet> touched_;
};

}  // namespace ddp
