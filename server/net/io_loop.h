// The I/O threads' loop, and the end-of-turn flush it gives connections.
//
// An I/O thread runs the handlers that are ready — a turn of at most
// kMaxHandlersPerTurn — and only then lets the connections that queued
// frames during the turn write them, as Redis does before it sleeps
// (handleClientsWithPendingWrites in beforeSleep). Under load a turn holds
// many change batches for the same connection and one write carries them
// all: a write per batch per subscriber was most of what fan-out cost.
// When the server is idle a turn is a single handler, and the write
// follows it at once.
#pragma once

#include <memory>

#include "server/net/internal.h"

namespace ddp::net_internal {

// A connection that can be flushed at the end of a turn.
class TurnFlushable {
 public:
  virtual ~TurnFlushable() = default;
  // Called on the I/O thread after the turn in which the connection asked
  // (outside its strand: it must get onto the strand itself).
  virtual void FlushAtTurnEnd() = 0;
};

// Handlers per turn at most, so that a connection's frames wait for at
// most this many other handlers under sustained load.
inline constexpr size_t kMaxHandlersPerTurn = 256;

// Runs `ioc` on this thread until it is stopped or runs out of work.
void RunIoLoop(asio::io_context& ioc);

// Asks for c->FlushAtTurnEnd() after the current turn of this thread's
// loop. False when this thread runs no loop (the caller must flush some
// other way).
bool FlushAtEndOfTurn(std::shared_ptr<TurnFlushable> c);

}  // namespace ddp::net_internal
