// RerunBaseline: what the client held when its session's subscriptions
// started again under a new identity (login, logout: Meteor's
// _setUserId), so that it gets only the difference.
//
// While the re-run is on, every `added` the merge box sends for a document
// the client holds becomes a `changed` with what differs (nothing when
// nothing does), and the document is taken off the baseline; once every
// subscription that ran before is ready again (or stopped), what is left
// is retracted with `removed`. An ordered collection's `addedBefore` for a
// held document comes after its `removed` (ordered results are sent
// whole). A Meteor client never sees an `added` for a document it has.
//
// Owned by a Session; used on its strand.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/string_map.h"
#include "protocol/value.h"

namespace ddp {

class RerunBaseline {
 public:
  bool active() const { return active_; }
  // Starts a re-run: `view` is called with a function that records each
  // document the client holds; `awaited` are the subscriptions that must
  // be ready (or stopped) before the rest is retracted, `ready_before` the
  // ones whose `ready` the client has seen already.
  void Start(const std::function<void(const std::function<void(std::string_view, std::string_view,
                                                                const Object&)>&)>& view,
             std::vector<std::string> awaited, std::vector<std::string> ready_before);
  // An `added` of the re-run: returns false when it must not go out as it
  // is; then `changed` (when non-empty) holds what to send instead.
  struct Changed {
    Object fields;
    std::vector<std::string> cleared;
  };
  bool LetAddedThrough(std::string_view collection, std::string_view id, const Object& fields,
                       Changed* changed);
  // Whether the client held the document (taken off the baseline): an
  // ordered add sends `removed` first.
  bool Take(std::string_view collection, std::string_view id);
  // A subscription is ready or stopped; true when none is awaited any more.
  bool Settled(std::string_view sub_id);
  // Whether `ready` for this subscription must not be sent again (the
  // client saw it before the re-run); taken once.
  bool SuppressReady(std::string_view sub_id);
  // The subscription stopped: a new one with the same id sends `ready`.
  void Forget(std::string_view sub_id);
  // Ends the re-run: fn for every document left, then nothing is held.
  void RetractRest(const std::function<void(std::string_view collection, std::string_view id)>& fn);

 private:
  bool active_ = false;
  StringMap<StringMap<Object>> held_;  // collection -> id -> fields the client has
  StringSet awaited_;
  StringSet ready_before_;
};

}  // namespace ddp
