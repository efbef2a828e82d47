// A change to one document as a DDP client sees it (one data message), and
// a batch of them that every subscriber of a live query shares.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ref_counted.h"
#include "protocol/value.h"

namespace ddp {

// A document as a subscription published it (its id, the id's hash and its
// fields), immutable once made. A client's merge box keeps a reference to
// it instead of a copy, so N clients holding the same unchanged document
// cost one copy of it; the reference is 8 bytes and the hash is computed
// once for all of them.
class SharedDocument : public RefCounted<SharedDocument> {
 public:
  // The hash every merge box indexes ids by.
  static uint32_t HashId(std::string_view id);

  SharedDocument(std::string id, Object fields)
      : id_(std::move(id)), hash_(HashId(id_)), fields_(std::move(fields)) {}

  const std::string& id() const { return id_; }
  uint32_t id_hash() const { return hash_; }
  const Object& fields() const { return fields_; }

 private:
  const std::string id_;
  const uint32_t hash_;
  const Object fields_;
};
using SharedDocumentRef = RefPtr<const SharedDocument>;

struct DataChange {
  enum class Kind { kAdded, kChanged, kRemoved, kAddedBefore, kMovedBefore };
  Kind kind = Kind::kAdded;
  std::string collection;
  std::string id;
  Object fields;                      // added / addedBefore: all; changed: the changed ones
  std::vector<std::string> cleared;   // changed: fields that disappeared
  std::optional<std::string> before;  // addedBefore / movedBefore: the next id; nullopt: the end
  // changed, optional: the whole document as the client sees it after the
  // change (live queries know it). A merge box holding the document as its
  // only subscription published it swaps its reference to this one instead
  // of making the client its own copy.
  SharedDocumentRef after;
};

// The DDP message of `c` (added, changed, removed, addedBefore, movedBefore).
std::string EncodeDataChange(const DataChange& c);

// One transaction's changes for one live query, built once, read-only, and
// shared by all of its subscribers, with each change's message encoded once
// (`encoded[i]` for `changes[i]`; empty when not encoded). A session whose
// merge box forwards a change as it is sends these bytes instead of
// encoding the same message again: a message to N clients is serialized
// once, not N times.
//
// `documents[i]`, for an added / addedBefore change, is a separately owned
// immutable copy of its id and fields, and for a changed one its `after`:
// a client's merge box keeps a reference to it instead of a copy per
// client, and it outlives the batch without keeping the rest of the batch
// in memory.
struct ChangeBatch {
  std::vector<DataChange> changes;
  std::vector<std::shared_ptr<const std::string>> encoded;
  std::vector<SharedDocumentRef> documents;

  // Fills `encoded` and `documents`.
  void Encode();
  // Fills `documents` alone (a batch for one subscriber, which the session
  // encodes as its merge box sends it).
  void ShareDocuments();
};
using ChangeBatchPtr = std::shared_ptr<const ChangeBatch>;

}  // namespace ddp
