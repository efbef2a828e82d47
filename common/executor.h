// Executor: where a piece of work runs.
//
// Modules below server/net must not depend on Asio, yet every session has to
// be driven from its own strand. They see this interface; server/net
// implements it with an Asio strand, tests with a simple queue.
#pragma once

#include <memory>
#include <utility>
#include <vector>

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

// The threads behind a family of executors (server/net: the io_context
// behind every connection's strand), which take a PostBatch's posts at
// once.
class PostTarget {
 public:
  virtual ~PostTarget() = default;
  // Runs every fn, in order, on one of the target's threads. Each fn moves
  // its work on to the executor it was posted to. Thread-safe.
  virtual void PostAll(std::vector<absl::AnyInvocable<void() &&>> fns) = 0;
};

// While a PostBatch is alive on a thread, posts that thread makes to
// executors that support batching are held, and handed to their targets
// when the batch ends: one hand-over per target, each in posting order (so
// every executor still runs its work in FIFO order).
//
// Why: the committer delivers a commit group to every subscriber and
// replies to every writer, one post per connection. Each post to an idle
// I/O thread wakes it, and on a shared core the woken thread preempts the
// committer: two context switches and a contended scheduler lock per
// connection. Batched, the I/O threads wake once per group and fan the
// work out to the strands themselves.
//
// Batches nest: an inner one joins the outermost, which hands over.
class PostBatch {
 public:
  PostBatch();
  ~PostBatch();
  PostBatch(const PostBatch&) = delete;
  PostBatch& operator=(const PostBatch&) = delete;

  // For Executor implementations: whether a batch is alive on this thread,
  // and holding `fn` for `target` in it (only while one is).
  static bool Active();
  static void Hold(std::shared_ptr<PostTarget> target, absl::AnyInvocable<void() &&> fn);

 private:
  PostBatch* outer_;
  std::vector<std::pair<std::shared_ptr<PostTarget>, absl::AnyInvocable<void() &&>>> held_;
};

}  // namespace ddp
