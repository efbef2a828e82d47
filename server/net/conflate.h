// Conflation of a slow consumer's pending data messages (API.md §8): when
// a connection's outbound queue is above its soft limit, a data message
// about a document that already has one waiting (not yet on the wire) is
// merged into it, so that a client that cannot keep up gets the latest
// state of each document instead of every step.
//
//   added   + changed -> added with the changes applied
//   changed + changed -> one changed (later values win; a field set again
//                        is no longer cleared, a field cleared is dropped)
//   changed + removed -> removed (in the place of the changed)
//   added   + removed -> nothing (the client never had the document)
//
// Anything else is not merged: `removed` + `added` stays two messages (the
// document is replaced whole), and ordered messages (`addedBefore`,
// `movedBefore`) are never merged, nor is anything merged across them,
// since their position matters. The order of the documents' first
// messages, and of `ready`, `updated`, `nosub` and results relative to
// them, is kept: a merge only changes a message already waiting, which is
// ahead of everything that came after it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ddp::net_internal {

// What a data message is about, when it is one that may be merged.
struct DocKey {
  enum class Kind : uint8_t { kAdded, kChanged, kRemoved, kOrdered };
  Kind kind;
  std::string key;  // collection '\0' id
};
std::optional<DocKey> KeyOf(std::string_view message);

// The outcome of merging `next` into `pending` (both about the same
// document, `pending` an added or changed).
struct Merged {
  enum class Kind : uint8_t { kNone, kReplace, kDropBoth };
  Kind kind = Kind::kNone;
  std::shared_ptr<const std::string> message;  // kReplace: what `pending` becomes
};
Merged Merge(std::string_view pending, std::string_view next);

}  // namespace ddp::net_internal
