#include "server/net/io_loop.h"

#include <vector>

namespace ddp::net_internal {
namespace {

// The connections that asked during this thread's current turn; null on
// threads that run no loop.
thread_local std::vector<std::shared_ptr<TurnFlushable>>* turn_flushes = nullptr;

}  // namespace

void RunIoLoop(asio::io_context& ioc) {
  std::vector<std::shared_ptr<TurnFlushable>> asked;
  turn_flushes = &asked;
  while (true) {
    size_t ran = 0;
    while (ran < kMaxHandlersPerTurn && ioc.poll_one() > 0) ++ran;
    if (ioc.stopped()) break;
    if (!asked.empty()) {
      // The flushes run as one handler (on whichever thread takes it), so
      // that each gets onto its connection's strand without a post of its
      // own: dispatch from inside a handler runs at once when the strand
      // is free. It runs in the next turn, after what became ready
      // meanwhile.
      asio::post(ioc, [flushing = std::move(asked)] {
        for (const auto& c : flushing) c->FlushAtTurnEnd();
      });
      asked.clear();
      continue;
    }
    if (ran == 0 && ioc.run_one() == 0) break;
  }
  turn_flushes = nullptr;
}

bool FlushAtEndOfTurn(std::shared_ptr<TurnFlushable> c) {
  if (turn_flushes == nullptr) return false;
  turn_flushes->push_back(std::move(c));
  return true;
}

}  // namespace ddp::net_internal
