// SessionDirectory: sessions whose connection went away without a goodbye,
// kept for a while so that their client can take them back (Meteor 3.5's
// session resumption, ddp-server's `disconnectGracePeriod`).
//
// A parked session keeps its subscriptions and the merge box; what it would
// have sent waits in the session (at most SessionOptions::
// max_parked_messages). A client that reconnects with
// `{"msg":"connect", "session": id, "receivedCount": n, ...}` within the
// grace period, having received exactly what the session sent before its
// connection went, gets the same session back: `connected` with the same
// id, then what waited, and its subscriptions go on. Anything else starts a
// new session, as before.
//
// Whoever takes a session out of the directory owns its end: either it
// resumes it, or it dismisses it (Dismiss below). The directory itself runs
// nothing; the connection layer sweeps expired entries (TakeExpired).
//
// Thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/string_map.h"

namespace ddp {

class Session;

class SessionDirectory {
 public:
  struct Parked {
    std::shared_ptr<Session> session;
    // Runs once the session has ended for good (on its strand), to release
    // what the connection layer kept for it (its strand).
    std::function<void()> release;
    SteadyTime expires{};
  };

  // At most `max_parked` sessions wait at once; beyond that a lost
  // connection ends its session at once, as without resumption.
  explicit SessionDirectory(size_t max_parked) : max_parked_(max_parked) {}

  // False when full or when the id is already parked; `parked` is left as
  // it was then.
  bool Park(const std::string& session_id, Parked&& parked);
  // Takes the session out (whoever gets it owns it); nullopt if no such
  // session waits, or if its grace period ended by `now` (the sweep ends
  // it then). The default `now` takes it whenever it is there.
  std::optional<Parked> Claim(std::string_view session_id, SteadyTime now = SteadyTime::min());
  // Takes out every session whose grace period ended by `now`.
  std::vector<Parked> TakeExpired(SteadyTime now);
  // Takes out everything; from then on nothing is parked (shutdown).
  std::vector<Parked> TakeAll();
  size_t size() const;

 private:
  const size_t max_parked_;
  mutable std::mutex mu_;
  StringMap<Parked> parked_;  // guarded by mu_
  bool closed_ = false;                               // guarded by mu_
};

// Ends a session taken out of the directory: on its strand, closes it (its
// subscriptions stop) and runs `release`.
void Dismiss(SessionDirectory::Parked parked);

}  // namespace ddp
