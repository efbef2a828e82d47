// Executor: where a piece of work runs.
//
// Modules below server/net must not depend on Asio, yet every session has to
// be driven from its own strand. They see this interface; server/net
// implements it with an Asio strand, tests with a simple queue.
#pragma once

#include "absl/functional/any_invocable.h"

namespace ddp {

class Executor {
 public:
  virtual ~Executor() = default;
  // Runs `fn` later, never inline, in FIFO order with other posted work.
  // Thread-safe.
  virtual void Post(absl::AnyInvocable<void() &&> fn) = 0;
  // True when the calling thread is currently running work of this executor.
  virtual bool RunningInThisThread() const = 0;
};

}  // namespace ddp
