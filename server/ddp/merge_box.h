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
// One subscription alone: while a single subscription publishes into a
// collection, and hands over whole shared documents as it does (live
// queries: the document with each `added`, the document after each
// `changed`), the client's view of that collection is exactly what the
// subscription sent. The box then keeps no index for it, only the list of
// documents added (8 bytes each, appended: no hashing, no table to grow)
// and, by id, the few changed or removed since; each message goes out as
// sent. A subscription that hands documents over this way vouches for its
// deltas (it never adds a document it holds, nor changes or removes one
// it does not): the box does not check them. The list becomes an index
// (below) the moment a second subscription publishes into the collection,
// an ordered one needs it, or a change comes without its document; and
// when the changed documents pile up (a quarter of the list), since
// documents that keep changing are better served by the index. Removed
// ones only make the list rewrite itself.
//
// Memory: a client's index holds 16 bytes per document in the common case
// (one subscription holds it as published): a reference to the published
// document, which every client holding it shares when the caller hands it
// over (live queries do: one ChangeBatch for every subscriber of an
// evaluation), the subscription, and the id's hash. A document several
// subscriptions hold, or that changed since it was published, gets the
// client's own copy with per-field owners; other subscriptions' values for
// the same field are kept in a side list that is empty in the common case.
//
// Owned by one Session; not thread-safe (used on the session's strand).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "common/string_map.h"
#include "absl/status/status.h"
#include "protocol/data_change.h"
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
  // `shared`, when given, is the document `id` with `fields` (its fields()
  // are `fields`): while `sub` is the document's only holder and has not
  // changed it, the box keeps this reference instead of a copy (it copies on
  // the first change or second holder). Same for AddedBefore.
  absl::Status Added(SubHandle sub, std::string_view collection, std::string_view id,
                     const Object& fields, MergeSink& sink, const EncodedChange& encoded = nullptr,
                     const SharedDocumentRef& shared = nullptr);

  // `sub` sets `fields` and clears `cleared` on a document it holds.
  // FailedPrecondition when it does not hold it. `after`, when given, is the
  // whole document as `sub` publishes it after this change (DataChange::
  // after): while `sub` is its only holder and the box keeps the shared
  // form, the box takes this reference instead of making a copy.
  absl::Status Changed(SubHandle sub, std::string_view collection, std::string_view id,
                       const Object& fields, const std::vector<std::string>& cleared,
                       MergeSink& sink, const EncodedChange& encoded = nullptr,
                       const SharedDocumentRef& after = nullptr);

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
                           const SharedDocumentRef& shared = nullptr);
  absl::Status MovedBefore(SubHandle sub, std::string_view collection, std::string_view id,
                           const std::optional<std::string>& before, MergeSink& sink,
                           const EncodedChange& encoded = nullptr);

  // Starts loading the index memory that a change to document `id` (whose
  // SharedDocument::HashId is `id_hash`) will touch. A client's index is
  // far larger than the caches once it holds many documents, so each
  // change's lookup waits for memory; a batch's changes are independent,
  // and prefetching a few ahead overlaps those waits.
  void Prefetch(std::string_view collection, std::string_view id, uint32_t id_hash) const;

  // Retracts everything `sub` holds (unsub, subscription error or stop).
  void RemoveSubscription(SubHandle sub, MergeSink& sink);

  // Whether `sub` holds the document (for publications that need to know).
  bool Holds(SubHandle sub, std::string_view collection, std::string_view id) const;

  size_t document_count() const;
  // The fields the client currently sees for a document (tests, debugging);
  // nullopt when the client does not have it.
  std::optional<Object> ClientView(std::string_view collection, std::string_view id) const;
  // Every document the client holds, with the fields it sees (a re-run of
  // the session's subscriptions compares with it). A full pass.
  void ForEachDocument(const std::function<void(std::string_view collection, std::string_view id,
                                                const Object& fields)>& fn) const;

 private:
  struct Field {
    std::string key;
    SubHandle owner;  // whose value the client sees
    Value value;
    // Values of the same field from other subscriptions, in the order they
    // arrived; the first takes over when the owner lets go.
    std::vector<std::pair<SubHandle, Value>> others;
  };
  // The client's own copy of a document that several subscriptions hold or
  // whose fields changed since it was published: per-field owners
  // (Meteor's precedence rule).
  struct Merged {
    std::string id;
    absl::InlinedVector<SubHandle, 2> holders;  // in arrival order
    std::vector<Field> fields;
    Field* FindField(std::string_view key);
  };
  // One document the client sees, 16 bytes: the shared document and its
  // only holder, or (tagged) the client's Merged copy. The id's hash lives
  // in the entry so that growing the table reads no document. Entries sit
  // in a hash set, whose elements are const: the parts that change are
  // mutable (the id and its hash never do).
  class Entry {
   public:
    Entry(SharedDocumentRef doc, SubHandle holder);
    Entry(Entry&& other) noexcept;
    Entry& operator=(Entry&& other) noexcept;
    ~Entry();

    uint32_t hash() const { return hash_; }
    std::string_view id() const;
    bool HeldBy(SubHandle sub) const;
    // The shared form: the document as its only holder published it.
    const SharedDocument* shared() const;
    SubHandle only_holder() const { return holder_; }
    // The client's own copy, made from the shared form on first use.
    Merged& Materialize() const;
    // The shared form's document becomes `doc` (same id).
    void Replace(SharedDocumentRef doc) const;

    // The client's own copy; the entry must not be in the shared form.
    Merged& merged() const;

   private:
    void Reset();
    mutable uintptr_t bits_;  // const SharedDocument*, or Merged* | 1
    uint32_t hash_;
    mutable SubHandle holder_;  // the shared form's holder
  };
  struct IdKey {
    std::string_view id;
    uint32_t hash;
  };
  struct EntryHash {
    using is_transparent = void;
    size_t operator()(const Entry& e) const { return e.hash(); }
    size_t operator()(const IdKey& k) const { return k.hash; }
  };
  struct EntryEq {
    using is_transparent = void;
    bool operator()(const Entry& a, const Entry& b) const {
      return a.hash() == b.hash() && a.id() == b.id();
    }
    bool operator()(const Entry& a, const IdKey& b) const {
      return a.hash() == b.hash && a.id() == b.id;
    }
    bool operator()(const IdKey& a, const Entry& b) const { return (*this)(b, a); }
  };
  // The documents of a collection that one subscription alone publishes
  // into: every document added, in order, and for the ids changed or
  // removed since their add, the current document (null when removed).
  struct SoleLog {
    SubHandle holder;
    std::deque<SharedDocumentRef> added;
    StringMap<SharedDocumentRef> later;
    size_t present = 0;  // documents the client holds
    // Calls fn(const SharedDocumentRef&) for each document the client holds.
    template <typename Fn>
    void ForEach(Fn&& fn) const;
    // `added` becomes the documents held, `later` empty.
    void Compact();
  };
  // A client's index of one collection: a flat hash set that doubles a
  // little early, at a random point in the last quarter before its maximum
  // load. Every subscriber of a busy topic fills its table at the same
  // pace, so tables that doubled exactly when full all rehashed in the same
  // turn and stalled every delivery behind them; spread over many turns,
  // the same work leaves no such stall. (Derived to keep the set's whole
  // interface with two fields beside it; never deleted through the base.)
  struct Collection : absl::flat_hash_set<Entry, EntryHash, EntryEq> {
    size_t grow_at = 0;         // doubles when an insert finds this many entries
    size_t grow_capacity = 0;   // the capacity grow_at was drawn for
    // Set while one subscription alone publishes here (the set is empty
    // then); see "One subscription alone" above.
    std::unique_ptr<SoleLog> sole;
    bool has_documents() const;
  };

  static IdKey Key(std::string_view id) { return IdKey{id, SharedDocument::HashId(id)}; }
  // The entry of a document in `collection`, or nullptr (not for a
  // collection with a sole-subscription list).
  const Entry* Find(std::string_view collection, std::string_view id) const;
  // The document `id` in a sole-subscription list, or nullptr. A scan:
  // for tests and rare paths.
  static const SharedDocument* FindSole(const SoleLog& log, std::string_view id);
  // The collection named `name` (nullptr / created when absent). Changes
  // come in runs to one collection: the last one found is remembered,
  // which saves hashing its name for every change.
  Collection* FindCollection(std::string_view name) const;
  Collection& GetCollection(std::string_view name);
  void EraseCollection(std::string_view name);
  // Starts the sole-subscription list for a new document of `sub` in the
  // empty `coll`, or appends to it; false when the list does not apply
  // (the caller takes the indexed path).
  bool AddSole(Collection& coll, SubHandle sub, std::string_view collection,
               const SharedDocumentRef& shared);
  // Turns the sole-subscription list of `coll` into index entries.
  static void Index(Collection& coll);
  // Doubles `coll` ahead of time when it reached its drawn point, and
  // draws the next point after a change of capacity.
  static void MaybeGrow(Collection& coll);
  // Records that `sub` published to `collection` (`coll`), for
  // RemoveSubscription; a repeat of the last pair costs two comparisons.
  void Touch(SubHandle sub, std::string_view collection, const Collection* coll);
  // Makes `sub` the first holder of a new document: an entry in `coll`
  // with `shared`, or with a document made from `id` and `fields`.
  // Returns false when the collection already has the document.
  bool Hold(Collection& coll, SubHandle sub, std::string_view collection, std::string_view id,
            const Object& fields, const SharedDocumentRef& shared);
  // Sets `key` to `value` from `sub`; returns true when the visible value changed.
  static bool SetField(Merged& doc, SubHandle sub, std::string key, Value value);
  // Drops `sub`'s value of `key`; returns true when the visible value changed.
  // When the field vanishes entirely, `*vanished` is set.
  static bool ClearField(Merged& doc, SubHandle sub, std::string_view key, bool* vanished);

  // Node-based: the remembered collection's address stays valid while
  // others are added.
  absl::node_hash_map<std::string, Collection, StringViewHash, StringViewEq> collections_;
  mutable std::string_view cached_name_;  // the key of *cached_ in collections_
  mutable Collection* cached_ = nullptr;
  StringMap<SubHandle> ordered_owner_;  // collection -> the ordered subscription
  // Per subscription, the collections it has published to. Retraction
  // scans those collections for the documents it holds: an unsub costs a
  // pass over the collections it touched, and every `added` saves a second
  // index entry (and a copy of the id) per client.
  absl::flat_hash_map<SubHandle, StringSet> touched_;
  SubHandle touched_sub_ = 0;  // the last pair Touch recorded
  const Collection* touched_coll_ = nullptr;
};

}  // namespace ddp
